package digest

import (
	"bytes"
	"errors"
	stdcrc32 "hash/crc32"
	"testing"
)

// FuzzUpdate compares Update with hash/crc32 (Castagnoli) for arbitrary
// input, initial register value and start offset, on the input repeated
// rep+1 times so that short inputs also reach the lengths at which the
// AVX-512 VPCLMULQDQ routine runs, and again with that routine switched
// off. A split point cuts the input in two for Update chaining.
func FuzzUpdate(f *testing.F) {
	f.Add([]byte{}, uint32(0), uint16(0), uint8(0), uint16(0))
	f.Add([]byte("abcdefgh"), uint32(0xffffffff), uint16(40), uint8(3), uint16(100))
	f.Add(bytes.Repeat([]byte{0xff}, 64), uint32(0x12345678), uint16(300), uint8(0), uint16(1))
	f.Fuzz(func(t *testing.T, in []byte, crc uint32, rep uint16, off uint8, split uint16) {
		p := in
		if len(in) > 0 {
			p = bytes.Repeat(in, int(rep%8192)+1)
			if len(p) > 1<<20 {
				p = p[:1<<20]
			}
		}
		p = p[int(off)%(len(p)+1):]
		s := int(split) % (len(p) + 1)
		want := stdcrc32.Update(crc, stdCastagnoli, p)
		saved := useAVX512
		defer func() { useAVX512 = saved }()
		for _, avx := range []bool{saved, false} {
			useAVX512 = avx
			if got := Update(crc, p); got != want {
				t.Fatalf("len %d (AVX-512 %v): Update(%#08x) = %#08x, hash/crc32 %#08x", len(p), avx, crc, got, want)
			}
			if got := Update(Update(crc, p[:s]), p[s:]); got != want {
				t.Fatalf("len %d split at %d (AVX-512 %v): %#08x, hash/crc32 %#08x", len(p), s, avx, got, want)
			}
		}
	})
}

// FuzzDigest checks, for arbitrary input and split point, that summing in
// two pieces equals summing in one (Update and Digest), that Data equals the
// CRC32C of the input explicitly padded to a multiple of 4 with zeros, and
// that the wire bytes round-trip.
func FuzzDigest(f *testing.F) {
	for _, v := range rfcVectors {
		f.Add(v.in, uint(len(v.in)/2))
	}
	f.Add([]byte{}, uint(0))
	f.Add([]byte("abcde"), uint(3))
	f.Fuzz(func(t *testing.T, in []byte, split uint) {
		s := int(split % uint(len(in)+1))
		want := Checksum(in)
		if got := Update(Update(0, in[:s]), in[s:]); got != want {
			t.Fatalf("Update split at %d = %#08x, one-shot %#08x", s, got, want)
		}
		var d Digest
		d.Write(in[:s])
		d.Write(in[s:])
		if d.Sum32() != want {
			t.Fatalf("Digest split at %d = %#08x, one-shot %#08x", s, d.Sum32(), want)
		}
		padded := append(bytes.Clone(in), make([]byte, PaddingLen(len(in)))...)
		if len(padded)%4 != 0 || len(padded) != Pad(len(in)) {
			t.Fatalf("len %d: padded to %d, Pad says %d", len(in), len(padded), Pad(len(in)))
		}
		wantData := Checksum(padded)
		if got := Data(in); got != wantData {
			t.Fatalf("Data = %#08x, Checksum(padded) = %#08x", got, wantData)
		}
		if got := d.PaddedSum32(); got != wantData {
			t.Fatalf("PaddedSum32 = %#08x, Checksum(padded) = %#08x", got, wantData)
		}
		if err := VerifyData(in, wantData); err != nil {
			t.Fatal(err)
		}
		if err := VerifyHeader(in, want); err != nil {
			t.Fatal(err)
		}
		back, err := FromBytes(AppendDigest(nil, want))
		if err != nil || back != want {
			t.Fatalf("FromBytes(AppendDigest(%#08x)) = %#08x, %v", want, back, err)
		}
		// A digest one bit off is a typed mismatch of the right kind.
		var me *MismatchError
		if err := VerifyData(in, wantData^1<<(split%32)); !errors.As(err, &me) || !errors.Is(err, ErrMismatch) || me.Kind != DataDigest || me.Got != wantData {
			t.Fatalf("VerifyData with a wrong digest: %v", err)
		}
		if err := VerifyHeader(in, want^1<<(split%32)); !errors.As(err, &me) || me.Kind != HeaderDigest || me.Got != want {
			t.Fatalf("VerifyHeader with a wrong digest: %v", err)
		}
		// The input itself, read as wire bytes: short is a typed error,
		// otherwise its first 4 bytes little-endian.
		if v, err := FromBytes(in); len(in) < Size {
			if !errors.Is(err, ErrShortDigest) {
				t.Fatalf("FromBytes of %d bytes: %v", len(in), err)
			}
		} else if err != nil || !bytes.Equal(AppendDigest(nil, v), in[:Size]) {
			t.Fatalf("FromBytes(% x) = %#08x, %v", in[:Size], v, err)
		}
	})
}
