package iqn

import (
	"testing"
	"unicode/utf8"
)

// TestEveryCodePoint puts every Unicode scalar value, alone and after a
// letter, in the unique part of a name, and checks that Parse either
// accepts it with an idempotent, canonical result or rejects it with a
// well-formed *Error. Under the race detector it samples every 17th code
// point.
func TestEveryCodePoint(t *testing.T) {
	if testing.Short() {
		t.Skip("1.1 million code points")
	}
	const prefix = "iqn.2001-04.com.example:"
	buf := make([]byte, 0, 64)
	accepted := 0
	step := rune(1)
	if raceEnabled {
		step = 17
	}
	for r := rune(0); r <= utf8.MaxRune; r += step {
		if !utf8.ValidRune(r) {
			continue
		}
		for _, before := range []string{"", "a"} {
			buf = append(append(append(buf[:0], prefix...), before...), string(r)...)
			s := string(buf)
			n, err := Parse(s)
			if err != nil {
				checkError(t, s, err)
				continue
			}
			accepted++
			if again, err := Parse(n.String()); err != nil || again != n {
				t.Fatalf("U+%04X: Parse(%+q) = %+q, %v; want %+q", r, n, again, err, n)
			}
			if !IsCanonical(n.String()) {
				t.Fatalf("U+%04X: %+q not canonical", r, n)
			}
		}
	}
	t.Logf("%d of the names accepted", accepted)
}
