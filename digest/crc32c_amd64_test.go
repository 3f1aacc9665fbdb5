//go:build amd64 && !purego

package digest

import (
	"math/rand/v2"
	"testing"

	"golang.org/x/sys/cpu"
)

// TestVPCLMULUsed makes sure that the comparisons with hash/crc32 cover
// the assembly on a CPU that has what it needs, rather than silently
// testing klauspost/crc32 twice.
func TestVPCLMULUsed(t *testing.T) {
	has := cpu.X86.HasAVX512F && cpu.X86.HasAVX512VL && cpu.X86.HasAVX512VPCLMULQDQ && cpu.X86.HasPCLMULQDQ && cpu.X86.HasSSE42
	if useAVX512 != has {
		t.Fatalf("useAVX512 = %v, CPU features say %v", useAVX512, has)
	}
	if !has {
		t.Skip("no AVX-512 VPCLMULQDQ on this CPU")
	}
	t.Logf("AVX-512 VPCLMULQDQ routine in use from %d bytes", avx512Min)
}

// TestVPCLMULDirect calls the assembly itself on every length it accepts
// up to 16 KiB and compares it with hash/crc32.
func TestVPCLMULDirect(t *testing.T) {
	if !useAVX512 {
		t.Skip("no AVX-512 VPCLMULQDQ on this CPU")
	}
	r := rand.New(rand.NewPCG(9, 10))
	buf := randBytes(r, 16384+63)
	for n := 64; n <= 16384; n += 64 {
		for _, off := range []int{0, 1, 8, 63} {
			p := buf[off : off+n]
			c := r.Uint32()
			if got, want := castagnoliVPCLMUL(c, p), stdSum(c, p); got != want {
				t.Fatalf("len %d at offset %d from %#08x: %#08x, hash/crc32 %#08x", n, off, c, got, want)
			}
		}
	}
}
