//go:build amd64 && !purego

package digest

import (
	"math/bits"
	"testing"
)

// castagnoliPoly is the CRC32C generator 0x11EDC6F41 of RFC 7143 §13.1
// without its x^32 term, in normal (not reflected) bit order.
const castagnoliPoly = 0x1EDC6F41

// xPowMod returns x^k mod P as a polynomial of degree < 32, bit i the
// coefficient of x^i.
func xPowMod(k int) uint32 {
	r := uint32(1)
	for range k {
		carry := r&(1<<31) != 0
		r <<= 1
		if carry {
			r ^= castagnoliPoly
		}
	}
	return r
}

// foldPair returns the two constants that fold a 128-bit lane of reflected
// data forward by d bits. A lane whose quadwords are L (the earlier bytes)
// and H stands for L(x)·x^64 + H(x) with the bits of each quadword reversed;
// a carry-less product of two such 64-bit values is the polynomial product
// times x. With a constant c in the low 32 bits standing for x^32·q(x),
// clmul(L, c1) ^ clmul(H, c2) ≡ (L·x^64 + H)·x^d needs x^33·q1 = x^(64+d)
// and x^33·q2 = x^d, so q1 = x^(d+31), q2 = x^(d-33), both mod P.
func foldPair(d int) (lo, hi uint64) {
	return uint64(bits.Reverse32(xPowMod(d + 31))), uint64(bits.Reverse32(xPowMod(d - 33)))
}

// TestFoldConstants recomputes foldK from the polynomial.
func TestFoldConstants(t *testing.T) {
	var want [len(foldK)]uint64
	for i, bytes := range []int{256, 192, 128, 64, 32, 16} {
		want[2*i], want[2*i+1] = foldPair(8 * bytes)
	}
	if want != foldK {
		for i := 0; i < len(want); i += 2 {
			t.Logf("%#016x, %#016x,", want[i], want[i+1])
		}
		t.Fatalf("foldK = %#016x\nwant    %#016x", foldK, want)
	}
}
