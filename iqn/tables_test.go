package iqn

import (
	"testing"
	"unicode"
)

// TestTablesWellFormed checks the generated tables: ranges sorted and
// disjoint (unicode.Is relies on it), Table B.2 sorted without duplicates.
func TestTablesWellFormed(t *testing.T) {
	all := map[string]*unicode.RangeTable{
		"A.1": tableA1, "B.1": tableB1, "C.1.1": tableC11, "C.1.2": tableC12,
		"C.2.1": tableC21, "C.2.2": tableC22, "C.3": tableC3, "C.4": tableC4,
		"C.5": tableC5, "C.6": tableC6, "C.7": tableC7, "C.8": tableC8,
		"C.9": tableC9, "D.1": tableD1, "D.2": tableD2,
	}
	for name, rt := range all {
		prev := int64(-1)
		latin := 0
		for _, r := range rt.R16 {
			if int64(r.Lo) <= prev || r.Hi < r.Lo || r.Stride != 1 {
				t.Errorf("table %s: bad or unsorted range %+v", name, r)
			}
			if r.Hi <= unicode.MaxLatin1 {
				latin++
			}
			prev = int64(r.Hi)
		}
		for _, r := range rt.R32 {
			if int64(r.Lo) <= prev || r.Hi < r.Lo || r.Stride != 1 {
				t.Errorf("table %s: bad or unsorted range %+v", name, r)
			}
			prev = int64(r.Hi)
		}
		if rt.LatinOffset != latin {
			t.Errorf("table %s: LatinOffset %d, want %d", name, rt.LatinOffset, latin)
		}
	}
	for i := 1; i < len(tableB2); i++ {
		if tableB2[i-1].from >= tableB2[i].from {
			t.Fatalf("table B.2 unsorted at %d: %#x, %#x", i, tableB2[i-1].from, tableB2[i].from)
		}
	}
}

// TestTableSamples checks entries of each table against RFC 3454.
func TestTableSamples(t *testing.T) {
	tests := []struct {
		table string
		rt    *unicode.RangeTable
		in    []rune
		out   []rune
	}{
		{"A.1", tableA1, []rune{0x0221, 0x0234, 0x024f, 0x1d800, 0xe0000, 0xe0002, 0xefffd}, []rune{'a', 0x0220, 0x0250, 0xe0001, 0x4e00}},
		{"B.1", tableB1, []rune{0x00ad, 0x034f, 0x200b, 0xfe0f, 0xfeff}, []rune{'a', 0x200e}},
		{"C.1.1", tableC11, []rune{' '}, []rune{'a', 0x00a0}},
		{"C.1.2", tableC12, []rune{0x00a0, 0x1680, 0x2000, 0x200b, 0x3000}, []rune{' '}},
		{"C.2.1", tableC21, []rune{0, 0x1f, 0x7f}, []rune{' ', 0x80}},
		{"C.2.2", tableC22, []rune{0x80, 0x9f, 0x06dd, 0xfeff, 0x1d173}, []rune{0x7f, 0xa0}},
		{"C.3", tableC3, []rune{0xe000, 0xf8ff, 0xf0000, 0x10fffd}, []rune{0xf900}},
		{"C.4", tableC4, []rune{0xfdd0, 0xfdef, 0xfffe, 0xffff, 0x1fffe, 0x10ffff}, []rune{0xfdcf}},
		{"C.5", tableC5, []rune{0xd800, 0xdfff}, []rune{0xe000}},
		{"C.6", tableC6, []rune{0xfff9, 0xfffd}, []rune{0xfffe}},
		{"C.7", tableC7, []rune{0x2ff0, 0x2ffb}, []rune{0x2ffc}},
		{"C.8", tableC8, []rune{0x0340, 0x200e, 0x202e, 0x206f}, []rune{0x0300}},
		{"C.9", tableC9, []rune{0xe0001, 0xe0020, 0xe007f}, []rune{0xe0002}},
		{"D.1", tableD1, []rune{0x05be, 0x05d0, 0x0627, 0xfb1d, 0xfefc}, []rune{'a', 0x0300}},
		{"D.2", tableD2, []rune{'A', 'z', 0x00aa, 0x4e00, 0x20000}, []rune{'0', '-', 0x05d0}},
	}
	for _, tc := range tests {
		for _, r := range tc.in {
			if !unicode.Is(tc.rt, r) {
				t.Errorf("table %s: U+%04X missing", tc.table, r)
			}
		}
		for _, r := range tc.out {
			if unicode.Is(tc.rt, r) {
				t.Errorf("table %s: U+%04X should not be in it", tc.table, r)
			}
		}
	}
	for r, want := range map[rune]string{'A': "a", 0x00df: "ss", 0x0130: "i\u0307", 0x1fb7: "\u03b1\u0342\u03b9", 0x3371: "hpa", 0x1d7bb: "\u03c3"} {
		if got, ok := foldB2(r); !ok || got != want {
			t.Errorf("B.2 of U+%04X = %+q, %v; want %+q", r, got, ok, want)
		}
	}
	for _, r := range []rune{'a', '0', 0x00e0, 0x4e00} {
		if got, ok := foldB2(r); ok {
			t.Errorf("B.2 maps U+%04X to %+q; it should not", r, got)
		}
	}
}
