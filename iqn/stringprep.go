package iqn

import (
	"fmt"
	"sort"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// MaxLen is the longest an iSCSI name may be: 223 bytes of UTF-8, after
// normalization (RFC 7143 §4.2.7.2).
const MaxLen = 223

// caseFold is one row of RFC 3454 Table B.2.
type caseFold struct {
	from rune
	to   string
}

// prohibitedTables are the tables of RFC 3454 appendix C that RFC 3722 §6
// prohibits in the output, with the names used in error messages.
var prohibitedTables = [...]struct {
	table *unicode.RangeTable
	name  string
}{
	{tableC11, "ASCII space, RFC 3454 table C.1.1"},
	{tableC12, "non-ASCII space, RFC 3454 table C.1.2"},
	{tableC21, "ASCII control, RFC 3454 table C.2.1"},
	{tableC22, "non-ASCII control, RFC 3454 table C.2.2"},
	{tableC3, "private use, RFC 3454 table C.3"},
	{tableC4, "non-character code point, RFC 3454 table C.4"},
	{tableC5, "surrogate code, RFC 3454 table C.5"},
	{tableC6, "inappropriate for plain text, RFC 3454 table C.6"},
	{tableC7, "inappropriate for canonical representation, RFC 3454 table C.7"},
	{tableC8, "changes display properties, RFC 3454 table C.8"},
	{tableC9, "tagging character, RFC 3454 table C.9"},
}

// asciiAllowed reports whether c may appear in a normalized iSCSI name:
// RFC 3722 §6.2 prohibits U+0000-002C, U+002F, U+003B-0040, U+005B-0060
// and U+007B-007F, which leaves '-', '.', ':', digits and letters, and the
// letters are lower case after RFC 3722 §4 case folding.
func asciiAllowed(c byte) bool {
	return 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '.' || c == ':'
}

// prohibitedReason returns why RFC 3722 §6 prohibits r in a normalized
// name, or "" if it does not.
func prohibitedReason(r rune) string {
	if r < utf8.RuneSelf {
		if asciiAllowed(byte(r)) {
			return ""
		}
		switch {
		case r == ' ':
			return "ASCII space, RFC 3454 table C.1.1"
		case r < ' ' || r == 0x7f:
			return "ASCII control, RFC 3454 table C.2.1"
		}
		return "ASCII punctuation, RFC 3722 §6.2"
	}
	// RFC 3722 §6.1 prohibits U+3002 IDEOGRAPHIC FULL STOP, which
	// input methods produce in place of '.'.
	if r == 0x3002 {
		return "ideographic full stop, RFC 3722 §6.1"
	}
	for _, t := range prohibitedTables {
		if unicode.Is(t.table, r) {
			return t.name
		}
	}
	return ""
}

// foldB2 returns the RFC 3454 Table B.2 mapping of r, if it has one.
func foldB2(r rune) (string, bool) {
	i := sort.Search(len(tableB2), func(i int) bool { return tableB2[i].from >= r })
	if i < len(tableB2) && tableB2[i].from == r {
		return tableB2[i].to, true
	}
	return "", false
}

// Normalize prepares s with the "iSCSI" stringprep profile of RFC 3722 and
// returns the result, the form in which iSCSI names are compared and sent:
//
//   - code points unassigned in Unicode 3.2 are rejected (RFC 3722 §8,
//     RFC 3454 Table A.1), as are invalid UTF-8 and the empty string;
//   - characters of RFC 3454 Table B.1 are removed and the rest are case
//     folded with Table B.2 (RFC 3722 §4);
//   - the result is put in Unicode normalization form KC (RFC 3722 §5);
//   - characters of RFC 3454 Tables C.1.1 to C.9 are rejected, as are all
//     ASCII characters but '-', '.', ':', digits and letters, and U+3002
//     (RFC 3722 §6, §6.1, §6.2);
//   - the bidirectional rules of RFC 3454 §6 are checked (RFC 3722 §7);
//   - the result may be at most [MaxLen] bytes long (RFC 7143 §4.2.7.2).
//
// A run of more than 30 combining marks, which no written language needs,
// is rejected with [ErrProhibitedChar]: the normalizer marks such runs in a
// way that is not NFKC (UAX #15 Stream-Safe Text Format).
//
// Normalize checks only the characters of s, not that it is a well-formed
// name; [Parse] does both. A string of lower-case ASCII letters, digits,
// '-', '.' and ':' is returned as it is, without allocating.
//
// The tables are those of RFC 3454 (Unicode 3.2); normalization form KC is
// computed by golang.org/x/text/unicode/norm, which follows a later Unicode
// version. Unicode's stability policy makes the two agree on the code
// points assigned in Unicode 3.2, the only ones admitted, except for the
// handful of mappings and pathological sequences that Unicode Corrigenda
// #4 and #5 corrected; for those this package gives the corrected result.
func Normalize(s string) (string, error) {
	if s == "" {
		return "", errorf(ErrEmpty, s, -1, "empty name")
	}
	// Fast path: ASCII needs only lower-casing (RFC 3454 Table B.2 maps
	// A-Z to a-z; no other ASCII character is mapped, and NFKC leaves
	// ASCII unchanged).
	upper := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= utf8.RuneSelf {
			return normalizeUnicode(s)
		}
		if 'A' <= c && c <= 'Z' {
			upper = true
			continue
		}
		if !asciiAllowed(c) {
			return "", prohibitedError(s, i, rune(c), rune(c))
		}
	}
	if len(s) > MaxLen {
		return "", errorf(ErrTooLong, s, -1, "name is %d bytes long, more than %d", len(s), MaxLen)
	}
	if upper {
		s = strings.ToLower(s)
	}
	return s, nil
}

func prohibitedError(input string, off int, in, out rune) *Error {
	reason := prohibitedReason(out)
	if off < 0 {
		return errorf(ErrProhibitedChar, input, off, "prohibited character %s after normalization (%s)", describe(out), reason)
	}
	if in == out {
		return errorf(ErrProhibitedChar, input, off, "prohibited character %s (%s)", describe(in), reason)
	}
	return errorf(ErrProhibitedChar, input, off, "character %s normalizes to prohibited %s (%s)", describe(in), describe(out), reason)
}

// describe names a rune for an error message: U+XXXX and, if printable,
// the character quoted.
func describe(r rune) string {
	if unicode.IsPrint(r) && r != utf8.RuneError {
		return fmt.Sprintf("U+%04X %q", r, r)
	}
	return fmt.Sprintf("U+%04X", r)
}

// mapRune applies RFC 3722 §4 to one code point: nothing for RFC 3454
// Table B.1, the Table B.2 folding, or r itself.
func mapRune(dst []byte, r rune) []byte {
	if unicode.Is(tableB1, r) {
		return dst
	}
	if f, ok := foldB2(r); ok {
		return append(dst, f...)
	}
	return utf8.AppendRune(dst, r)
}

func normalizeUnicode(s string) (string, error) {
	// RFC 3722 §8 and §4: reject unassigned code points, then map.
	mapped := make([]byte, 0, len(s)+8)
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && n <= 1 {
			return "", errorf(ErrInvalidUTF8, s, i, "invalid UTF-8 byte %#02x", s[i])
		}
		if unicode.Is(tableA1, r) {
			return "", errorf(ErrUnassigned, s, i, "code point U+%04X unassigned in Unicode 3.2 (RFC 3454 table A.1)", r)
		}
		mapped = mapRune(mapped, r)
		i += n
	}
	if len(mapped) == 0 {
		return "", errorf(ErrEmpty, s, -1, "nothing left of the name after mapping (RFC 3454 table B.1)")
	}
	// RFC 3722 §5: normalization form KC.
	out := norm.NFKC.String(string(mapped))
	// Table B.1 removed every U+034F COMBINING GRAPHEME JOINER, so one in
	// the output was inserted by x/text/unicode/norm, which follows the
	// Stream-Safe Text Format of UAX #15 and breaks runs of more than 30
	// combining marks with it. No written language needs such runs; they
	// are rejected rather than given a form that differs from NFKC.
	if strings.ContainsRune(out, 0x034f) {
		return "", errorf(ErrProhibitedChar, s, -1, "more than 30 combining marks in a row")
	}

	// RFC 3722 §6: prohibited output. RFC 3454 §6: bidirectional rules.
	hasRAL, hasL := false, false
	for _, r := range out {
		if prohibitedReason(r) != "" {
			in, off := locate(s, func(o rune) bool { return o == r })
			return "", prohibitedError(s, off, in, r)
		}
		if unicode.Is(tableD1, r) {
			hasRAL = true
		} else if unicode.Is(tableD2, r) {
			hasL = true
		}
	}
	if hasRAL {
		if hasL {
			// RFC 3454 §6 rule 2: no LCat character with a RandALCat one.
			in, off := locate(s, func(o rune) bool { return unicode.Is(tableD1, o) })
			if off < 0 {
				return "", errorf(ErrBidi, s, off, "right-to-left and left-to-right characters mixed (RFC 3454 §6)")
			}
			return "", errorf(ErrBidi, s, off, "right-to-left character %s in a name with left-to-right characters (RFC 3454 §6)", describe(in))
		}
		// RFC 3454 §6 rule 3: a RandALCat string begins and ends with a
		// RandALCat character.
		first, _ := utf8.DecodeRuneInString(out)
		last, _ := utf8.DecodeLastRuneInString(out)
		if !unicode.Is(tableD1, first) || !unicode.Is(tableD1, last) {
			return "", errorf(ErrBidi, s, -1, "a name with right-to-left characters must begin and end with one (RFC 3454 §6)")
		}
	}
	if len(out) > MaxLen {
		return "", errorf(ErrTooLong, s, -1, "name is %d bytes long after normalization, more than %d", len(out), MaxLen)
	}
	return out, nil
}

// locate finds the first code point of s whose own mapping and
// normalization yields a code point for which match is true, and returns
// it with its byte offset; it returns (utf8.RuneError, -1) if there is
// none, as when the code point arises only from normalizing several
// together.
func locate(s string, match func(rune) bool) (rune, int) {
	var buf []byte
	for i, r := range s {
		buf = mapRune(buf[:0], r)
		for _, o := range norm.NFKC.String(string(buf)) {
			if match(o) {
				return r, i
			}
		}
	}
	return utf8.RuneError, -1
}
