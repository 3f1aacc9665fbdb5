package digest

import (
	"bytes"
	"errors"
	"testing"
)

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
