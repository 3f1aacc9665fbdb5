package digest

import (
	"bytes"
	stdcrc32 "hash/crc32"
	"math/rand/v2"
	"testing"
)

// paths runs f once with the AVX-512 VPCLMULQDQ routine allowed (if this
// machine has it) and once with it switched off, so that both paths of
// update are checked here.
func paths(t *testing.T, f func(t *testing.T)) {
	t.Helper()
	saved := useAVX512
	t.Cleanup(func() { useAVX512 = saved })
	t.Run("vpclmul", func(t *testing.T) {
		if !saved {
			t.Skip("no AVX-512 VPCLMULQDQ routine on this CPU or build")
		}
		useAVX512 = true
		f(t)
	})
	t.Run("fallback", func(t *testing.T) {
		useAVX512 = false
		f(t)
		useAVX512 = saved
	})
}

// stdSum is the reference: the standard library's CRC32C.
func stdSum(crc uint32, p []byte) uint32 { return stdcrc32.Update(crc, stdCastagnoli, p) }

// largeLens are lengths above the exhaustive range: around the block sizes
// of the routine (64 and 256 bytes) and up to 1 MiB, odd ones included.
var largeLens = []int{
	4097, 4159, 4160, 4351, 4352, 5000, 8191, 8192, 8193, 8255, 12345,
	16384 + 63, 32768 + 1, 65535, 65536, 65536 + 255, 99999, 131072,
	131072 + 3, 262143, 262144, 262144 + 64, 524287, 1<<20 - 1, 1 << 20,
}

func randBytes(r *rand.Rand, n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

// TestChecksumMatchesStdlib compares Checksum and Update with a random
// initial value against hash/crc32 for every length 0..4096 and for
// largeLens.
func TestChecksumMatchesStdlib(t *testing.T) {
	paths(t, func(t *testing.T) {
		r := rand.New(rand.NewPCG(1, 2))
		buf := randBytes(r, 1<<20)
		lens := make([]int, 0, 4097+len(largeLens))
		for n := 0; n <= 4096; n++ {
			lens = append(lens, n)
		}
		lens = append(lens, largeLens...)
		for _, n := range lens {
			p := buf[:n]
			if got, want := Checksum(p), stdSum(0, p); got != want {
				t.Fatalf("len %d: Checksum = %#08x, hash/crc32 %#08x", n, got, want)
			}
			c := r.Uint32()
			if got, want := Update(c, p), stdSum(c, p); got != want {
				t.Fatalf("len %d: Update(%#08x) = %#08x, hash/crc32 %#08x", n, c, got, want)
			}
		}
	})
}

// TestChecksumAlignment checks every start offset 0..63 of the buffer, so
// that the routine's unaligned 64-byte loads meet every alignment.
func TestChecksumAlignment(t *testing.T) {
	paths(t, func(t *testing.T) {
		r := rand.New(rand.NewPCG(3, 4))
		buf := randBytes(r, 1<<20+64)
		for _, n := range []int{255, 256, 257, 319, 320, 511, 512, 1000, 1023, 1024, 1025, 2047, 4096, 8193, 65536 + 17, 262144, 1<<20 - 1} {
			for off := range 64 {
				p := buf[off : off+n]
				c := r.Uint32()
				if got, want := Update(c, p), stdSum(c, p); got != want {
					t.Fatalf("len %d at offset %d: Update(%#08x) = %#08x, hash/crc32 %#08x", n, off, c, got, want)
				}
			}
		}
	})
}

// TestUpdateChaining checks Update(Update(0, a), b) == Checksum(a+b) for
// random inputs cut at random points, each piece long or short.
func TestUpdateChaining(t *testing.T) {
	paths(t, func(t *testing.T) {
		r := rand.New(rand.NewPCG(5, 6))
		buf := randBytes(r, 1<<20)
		for range 2000 {
			n := r.IntN(16384)
			if r.IntN(20) == 0 {
				n = r.IntN(len(buf))
			}
			off := r.IntN(len(buf) - n + 1)
			p := buf[off : off+n]
			s := r.IntN(n + 1)
			want := stdSum(0, p)
			if got := Update(Update(0, p[:s]), p[s:]); got != want {
				t.Fatalf("len %d split at %d: Update(Update(0, a), b) = %#08x, hash/crc32 %#08x", n, s, got, want)
			}
			if got := Checksum(p); got != want {
				t.Fatalf("len %d: Checksum = %#08x, hash/crc32 %#08x", n, got, want)
			}
			// Three pieces, starting from a random register value.
			c := r.Uint32()
			s1, s2 := r.IntN(n+1), r.IntN(n+1)
			s1, s2 = min(s1, s2), max(s1, s2)
			if got, want := Update(Update(Update(c, p[:s1]), p[s1:s2]), p[s2:]), stdSum(c, p); got != want {
				t.Fatalf("len %d split at %d, %d from %#08x: %#08x, hash/crc32 %#08x", n, s1, s2, c, got, want)
			}
		}
	})
}

// TestChecksumConstantInputs checks all-zero and all-0xFF inputs: a fold
// constant or a register value dropped at a step shows where random data
// could hide it by chance.
func TestChecksumConstantInputs(t *testing.T) {
	paths(t, func(t *testing.T) {
		for _, fill := range []byte{0x00, 0xff} {
			buf := bytes.Repeat([]byte{fill}, 1<<20)
			for _, n := range append([]int{0, 1, 32, 63, 64, 255, 256, 257, 320, 1023, 1024, 1088, 2048, 4095, 4096}, largeLens...) {
				p := buf[:n]
				for _, c := range []uint32{0, 0xffffffff, 0x12345678} {
					if got, want := Update(c, p), stdSum(c, p); got != want {
						t.Fatalf("%d bytes of %#02x from %#08x: Update = %#08x, hash/crc32 %#08x", n, fill, c, got, want)
					}
				}
			}
		}
		// RFC 7143 Appendix A.4: 32 bytes of zeros, repeated, stay known.
		if got, want := Data(make([]byte, 8192)), stdSum(0, make([]byte, 8192)); got != want {
			t.Fatalf("Data(8192 zeros) = %#08x, hash/crc32 %#08x", got, want)
		}
	})
}

// TestDataLargeOddLengths checks the data digest, with its zero padding,
// of large segments whose length is not a multiple of 4.
func TestDataLargeOddLengths(t *testing.T) {
	paths(t, func(t *testing.T) {
		r := rand.New(rand.NewPCG(7, 8))
		buf := randBytes(r, 1<<20+4)
		for _, n := range []int{1021, 1022, 1023, 4097, 8191, 131071, 1<<20 - 3} {
			padded := append(bytes.Clone(buf[:n]), make([]byte, padLen(n))...)
			if got, want := Data(buf[:n]), stdSum(0, padded); got != want {
				t.Fatalf("Data of %d bytes = %#08x, hash/crc32 of the padded segment %#08x", n, got, want)
			}
		}
	})
}
