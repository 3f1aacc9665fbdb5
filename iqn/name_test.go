package iqn

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// parts is what a test expects to read back from a Name.
type parts struct {
	String    string
	Type      Type
	Year      int
	Month     time.Month
	Authority string
	Domain    string
	Unique    string
	HasUnique bool
	EUI64     uint64
	NAA64     uint64
	NAAHi     uint64
	NAALo     uint64
	NAAField  uint8
	Bytes     []byte
}

func partsOf(n Name) parts {
	y, m := n.Date()
	p := parts{
		String: n.String(), Type: n.Type(), Year: y, Month: m,
		Authority: n.NamingAuthority(), Domain: n.Domain(),
		Unique: n.Unique(), HasUnique: n.HasUnique(),
		NAAField: n.NAAField(), Bytes: n.Bytes(),
	}
	p.EUI64, _ = n.EUI64()
	p.NAA64, _ = n.NAA64()
	p.NAAHi, p.NAALo, _ = n.NAA128()
	return p
}

func TestParse(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want parts
	}{
		// RFC 7143 §4.2.7.4 examples.
		{"RFC 7143 storage:diskarrays", "iqn.2001-04.com.example:storage:diskarrays-sn-a8675309", parts{
			String: "iqn.2001-04.com.example:storage:diskarrays-sn-a8675309", Type: IQN, Year: 2001, Month: time.April,
			Authority: "com.example", Domain: "example.com", Unique: "storage:diskarrays-sn-a8675309", HasUnique: true,
		}},
		{"RFC 7143 no unique part", "iqn.2001-04.com.example", parts{
			String: "iqn.2001-04.com.example", Type: IQN, Year: 2001, Month: time.April,
			Authority: "com.example", Domain: "example.com",
		}},
		{"RFC 7143 tape", "iqn.2001-04.com.example:storage.tape1.sys1.xyz", parts{
			String: "iqn.2001-04.com.example:storage.tape1.sys1.xyz", Type: IQN, Year: 2001, Month: time.April,
			Authority: "com.example", Domain: "example.com", Unique: "storage.tape1.sys1.xyz", HasUnique: true,
		}},
		{"RFC 7143 disk", "iqn.2001-04.com.example:storage.disk2.sys1.xyz", parts{
			String: "iqn.2001-04.com.example:storage.disk2.sys1.xyz", Type: IQN, Year: 2001, Month: time.April,
			Authority: "com.example", Domain: "example.com", Unique: "storage.disk2.sys1.xyz", HasUnique: true,
		}},
		// RFC 7143 §4.2.7.5.
		{"RFC 7143 eui", "eui.02004567A425678D", parts{
			String: "eui.02004567a425678d", Type: EUI, EUI64: 0x02004567A425678D,
			Bytes: []byte{0x02, 0x00, 0x45, 0x67, 0xa4, 0x25, 0x67, 0x8d},
		}},
		// RFC 7143 §4.2.7.6 and RFC 3980 §4.1.
		{"RFC 3980 naa 64-bit", "naa.52004567BA64678D", parts{
			String: "naa.52004567ba64678d", Type: NAA, NAA64: 0x52004567BA64678D, NAAField: 5,
			Bytes: []byte{0x52, 0x00, 0x45, 0x67, 0xba, 0x64, 0x67, 0x8d},
		}},
		{"RFC 3980 naa 128-bit", "naa.62004567BA64678D0123456789ABCDEF", parts{
			String: "naa.62004567ba64678d0123456789abcdef", Type: NAA, NAAHi: 0x62004567BA64678D, NAALo: 0x0123456789ABCDEF, NAAField: 6,
			Bytes: []byte{0x62, 0x00, 0x45, 0x67, 0xba, 0x64, 0x67, 0x8d, 0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef},
		}},
		// The project's own example name: case folded.
		{"gentoo mixed case", "iqn.2001-04.org.gentoo:iSCSI.test.disk1", parts{
			String: "iqn.2001-04.org.gentoo:iscsi.test.disk1", Type: IQN, Year: 2001, Month: time.April,
			Authority: "org.gentoo", Domain: "gentoo.org", Unique: "iscsi.test.disk1", HasUnique: true,
		}},
		{"upper-case type designator", "IQN.1994-05.COM.RedHat:Host", parts{
			String: "iqn.1994-05.com.redhat:host", Type: IQN, Year: 1994, Month: time.May,
			Authority: "com.redhat", Domain: "redhat.com", Unique: "host", HasUnique: true,
		}},
		{"empty unique part", "iqn.2001-04.com.example:", parts{
			String: "iqn.2001-04.com.example:", Type: IQN, Year: 2001, Month: time.April,
			Authority: "com.example", Domain: "example.com", HasUnique: true,
		}},
		{"single-label authority, December", "iqn.1999-12.localhost:x", parts{
			String: "iqn.1999-12.localhost:x", Type: IQN, Year: 1999, Month: time.December,
			Authority: "localhost", Domain: "localhost", Unique: "x", HasUnique: true,
		}},
		{"hyphens and digits in authority", "iqn.2003-01.org.linux-iscsi.host.x8664:sn.abc", parts{
			String: "iqn.2003-01.org.linux-iscsi.host.x8664:sn.abc", Type: IQN, Year: 2003, Month: time.January,
			Authority: "org.linux-iscsi.host.x8664", Domain: "x8664.host.linux-iscsi.org", Unique: "sn.abc", HasUnique: true,
		}},
		// RFC 3722 §4, §5: mapping and NFKC.
		{"sharp s folds to ss", "iqn.2001-04.com.example:Straße", parts{
			String: "iqn.2001-04.com.example:strasse", Type: IQN, Year: 2001, Month: time.April,
			Authority: "com.example", Domain: "example.com", Unique: "strasse", HasUnique: true,
		}},
		{"fullwidth letters", "iqn.2001-04.com.example:\uff24\uff49\uff53\uff4b", parts{
			String: "iqn.2001-04.com.example:disk", Type: IQN, Year: 2001, Month: time.April,
			Authority: "com.example", Domain: "example.com", Unique: "disk", HasUnique: true,
		}},
		{"soft hyphen and zero width space removed", "iqn.2001-04.com.exa\u00adm\u200bple:d\u2060isk", parts{
			String: "iqn.2001-04.com.example:disk", Type: IQN, Year: 2001, Month: time.April,
			Authority: "com.example", Domain: "example.com", Unique: "disk", HasUnique: true,
		}},
		{"30 combining marks", "iqn.2001-04.com.example:" + strings.Repeat("\u0301", 30), parts{
			String: "iqn.2001-04.com.example:" + strings.Repeat("\u0301", 30), Type: IQN, Year: 2001, Month: time.April,
			Authority: "com.example", Domain: "example.com", Unique: strings.Repeat("\u0301", 30), HasUnique: true,
		}},
		{"internationalized authority", "iqn.2001-04.de.B\u00dcCHER:\u2160\u2161", parts{
			String: "iqn.2001-04.de.b\u00fccher:iii", Type: IQN, Year: 2001, Month: time.April,
			Authority: "de.b\u00fccher", Domain: "b\u00fccher.de", Unique: "iii", HasUnique: true,
		}},
		{"combining sequence composes", "iqn.2001-04.de.bu\u0308cher", parts{
			String: "iqn.2001-04.de.b\u00fccher", Type: IQN, Year: 2001, Month: time.April,
			Authority: "de.b\u00fccher", Domain: "b\u00fccher.de",
		}},
		{"fullwidth full stop is a dot", "iqn.2001-04.com\uff0eexample", parts{
			String: "iqn.2001-04.com.example", Type: IQN, Year: 2001, Month: time.April,
			Authority: "com.example", Domain: "example.com",
		}},
		{"NAA IEEE Extended", "naa.2000001b32a6c7c8", parts{
			String: "naa.2000001b32a6c7c8", Type: NAA, NAA64: 0x2000001b32a6c7c8, NAAField: 2,
			Bytes: []byte{0x20, 0x00, 0x00, 0x1b, 0x32, 0xa6, 0xc7, 0xc8},
		}},
		{"223 bytes", "iqn.2001-04.com.example:" + strings.Repeat("a", MaxLen-24), parts{
			String: "iqn.2001-04.com.example:" + strings.Repeat("a", MaxLen-24), Type: IQN, Year: 2001, Month: time.April,
			Authority: "com.example", Domain: "example.com", Unique: strings.Repeat("a", MaxLen-24), HasUnique: true,
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			n, err := Parse(tc.in)
			if err != nil {
				t.Fatalf("Parse(%q): %v", tc.in, err)
			}
			if diff := cmp.Diff(tc.want, partsOf(n)); diff != "" {
				t.Errorf("Parse(%q) (-want +got):\n%s", tc.in, diff)
			}
			again, err := Parse(n.String())
			if err != nil || again != n {
				t.Errorf("Parse(String()) = %v, %v; want the same Name", again, err)
			}
			if got := IsCanonical(tc.in); got != (tc.in == tc.want.String) {
				t.Errorf("IsCanonical(%q) = %v", tc.in, got)
			}
		})
	}
}

func TestParseErrors(t *testing.T) {
	long := "iqn.2001-04.com.example:" + strings.Repeat("a", MaxLen-23)
	tests := []struct {
		name   string
		in     string
		kind   error
		offset int
	}{
		{"empty", "", ErrEmpty, -1},
		{"only mapped-to-nothing characters", "\u00ad\u200b", ErrEmpty, -1},
		{"224 bytes", long, ErrTooLong, -1},
		{"224 bytes after NFKC", "iqn.2001-04.com.example:" + strings.Repeat("a", MaxLen-25) + "\ufb01", ErrTooLong, -1},
		{"no type", "2001-04.com.example", ErrBadType, 0},
		{"unknown type", "iqx.2001-04.com.example", ErrBadType, 0},
		{"type without dot", "iqn", ErrBadType, 0},
		{"iqn. alone", "iqn.", ErrBadDate, 4},
		{"month 00", "iqn.2001-00.com.example", ErrBadDate, 9},
		{"month 13", "iqn.2001-13.com.example", ErrBadDate, 9},
		{"year 1899", "iqn.1899-04.com.example", ErrBadDate, 4},
		{"year 0000", "iqn.0000-04.com.example", ErrBadDate, 4},
		{"3-digit year", "iqn.201-04.com.example", ErrBadDate, 7},
		{"5-digit year", "iqn.20011-04.com.example", ErrBadDate, 8},
		{"1-digit month", "iqn.2001-4.com.example", ErrBadDate, 10},
		{"3-digit month", "iqn.2001-041.com.example", ErrBadDate, 11},
		{"slash in date", "iqn.2001/04.com.example", ErrProhibitedChar, 8},
		{"letter in year", "iqn.2oo1-04.com.example", ErrBadDate, 5},
		{"date only", "iqn.2001-04", ErrBadNamingAuthority, 11},
		{"date and dot", "iqn.2001-04.", ErrBadNamingAuthority, 12},
		{"colon after date", "iqn.2001-04:com.example", ErrBadNamingAuthority, 11},
		{"empty label", "iqn.2001-04..com", ErrBadNamingAuthority, 12},
		{"empty middle label", "iqn.2001-04.com..example", ErrBadNamingAuthority, 16},
		{"trailing dot", "iqn.2001-04.com.example.", ErrBadNamingAuthority, 23},
		{"trailing dot before colon", "iqn.2001-04.com.example.:disk", ErrBadNamingAuthority, 23},
		{"empty authority before colon", "iqn.2001-04.:disk", ErrBadNamingAuthority, 12},
		{"symbol in authority", "iqn.2001-04.com.ex\u00a9mple", ErrBadNamingAuthority, 18},
		{"space", "iqn.2001-04.com.example:a b", ErrProhibitedChar, 25},
		{"tab", "iqn.2001-04.com.example:a\tb", ErrProhibitedChar, 25},
		{"NUL", "iqn.2001-04.com.example:\x00", ErrProhibitedChar, 24},
		{"DEL", "iqn.2001-04.com.example:\x7f", ErrProhibitedChar, 24},
		{"underscore", "iqn.2001-04.com.exa_mple", ErrProhibitedChar, 19},
		{"slash", "iqn.2001-04.com.example:a/b", ErrProhibitedChar, 25},
		{"at sign", "iqn.2001-04.com.example:a@b", ErrProhibitedChar, 25},
		{"no-break space", "iqn.2001-04.com.example:a\u00a0b", ErrProhibitedChar, 25},
		{"ideographic space", "iqn.2001-04.com.example:\u3000", ErrProhibitedChar, 24},
		{"C1 control", "iqn.2001-04.com.example:\u0085", ErrProhibitedChar, 24},
		{"private use", "iqn.2001-04.com.example:\ue000", ErrProhibitedChar, 24},
		{"non-character", "iqn.2001-04.com.example:\ufdd0", ErrProhibitedChar, 24},
		{"replacement character", "iqn.2001-04.com.example:\ufffd", ErrProhibitedChar, 24},
		{"ideographic description", "iqn.2001-04.com.example:\u2ff0", ErrProhibitedChar, 24},
		{"left-to-right mark", "iqn.2001-04.com.example:\u200e", ErrProhibitedChar, 24},
		{"language tag", "iqn.2001-04.com.example:\U000e0001", ErrProhibitedChar, 24},
		{"ideographic full stop", "iqn.2001-04.com\u3002example", ErrProhibitedChar, 15},
		{"halfwidth ideographic full stop", "iqn.2001-04.com\uff61example", ErrProhibitedChar, 15},
		{"small number sign folds to #", "iqn.2001-04.com.example:\ufe5f", ErrProhibitedChar, 24},
		{"unassigned in Unicode 3.2", "iqn.2001-04.com.example:\u0221", ErrUnassigned, 24},
		{"emoji unassigned in Unicode 3.2", "iqn.2001-04.com.example:\U0001F600", ErrUnassigned, 24},
		{"31 combining marks", "iqn.2001-04.com.example:a" + strings.Repeat("\u0301", 31), ErrProhibitedChar, -1},
		{"invalid UTF-8", "iqn.2001-04.com.example:\xff", ErrInvalidUTF8, 24},
		{"truncated UTF-8", "iqn.2001-04.com.example:\xc3", ErrInvalidUTF8, 24},
		{"UTF-8 surrogate", "iqn.2001-04.com.example:\xed\xa0\x80", ErrInvalidUTF8, 24},
		{"Hebrew after Latin", "iqn.2001-04.com.example:\u05d0\u05d1", ErrBidi, 24},
		{"Arabic authority", "iqn.2001-04.\u0645\u062b\u0627\u0644", ErrBidi, 12},
		{"RTL string ending with a digit", "\u05d0\u05d11", ErrBidi, -1},
		{"eui short", "eui.02004567A425678", ErrBadHexLength, 4},
		{"eui long", "eui.02004567A425678D0", ErrBadHexLength, 4},
		{"eui empty", "eui.", ErrBadHexLength, 4},
		{"eui non-hex", "eui.02004567A425678G", ErrBadHex, 19},
		{"eui colon", "eui.02:00:45:67:A4:25:67:8D", ErrBadHex, 6},
		{"naa 20 digits", "naa.52004567BA64678D0123", ErrBadHexLength, 4},
		{"naa 33 digits", "naa.62004567BA64678D0123456789ABCDEF0", ErrBadHexLength, 4},
		{"naa non-hex", "naa.5200456xBA64678D", ErrBadHex, 11},
		{"naa 64-bit field 6", "naa.62004567BA64678D", ErrBadNAA, 4},
		{"naa 64-bit field 1", "naa.10000000c9a1b2c3", ErrBadNAA, 4},
		{"naa 128-bit field 5", "naa.52004567BA64678D0123456789ABCDEF", ErrBadNAA, 4},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			n, err := Parse(tc.in)
			if err == nil {
				t.Fatalf("Parse(%q) = %q, want error %v", tc.in, n, tc.kind)
			}
			if !n.IsZero() {
				t.Errorf("Parse(%q) returned non-zero Name %q with error", tc.in, n)
			}
			if !errors.Is(err, tc.kind) {
				t.Errorf("Parse(%q) = %v, want errors.Is %v", tc.in, err, tc.kind)
			}
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("Parse(%q) error %T is not *Error", tc.in, err)
			}
			if e.Offset != tc.offset {
				t.Errorf("Parse(%q) offset = %d, want %d (%v)", tc.in, e.Offset, tc.offset, err)
			}
			if e.Offset > len(e.Input) {
				t.Errorf("offset %d beyond input %q", e.Offset, e.Input)
			}
		})
	}
}

func TestErrorText(t *testing.T) {
	tests := []struct {
		in, want string
	}{
		{"iqn.2001-13.com.example", `iqn: invalid month "13" at offset 9 in "iqn.2001-13.com.example"`},
		{"IQN.2001-00.com.example", `iqn: invalid month "00" at offset 9 in "iqn.2001-00.com.example"`},
		{"", `iqn: empty name in ""`},
		{"iqn.2001-04.com.example:a b", `iqn: prohibited character U+0020 ' ' (ASCII space, RFC 3454 table C.1.1) at offset 25 in "iqn.2001-04.com.example:a b"`},
		{"eui.0123", `iqn: EUI-64 has 4 hexadecimal digits, want 16 at offset 4 in "eui.0123"`},
		{"naa.1000000000000000", `iqn: NAA field 1 with a 64-bit identifier, want 2, 3 or 5 at offset 4 in "naa.1000000000000000"`},
		{"iqn.2001-04.com.example:\uff61", `iqn: character U+FF61 '｡' normalizes to prohibited U+3002 '。' (ideographic full stop, RFC 3722 §6.1) at offset 24 in "iqn.2001-04.com.example:｡"`},
	}
	for _, tc := range tests {
		_, err := Parse(tc.in)
		if err == nil {
			t.Errorf("Parse(%q) succeeded", tc.in)
			continue
		}
		if got := err.Error(); !strings.HasPrefix(got, tc.want) {
			t.Errorf("Parse(%q) error\n got %s\nwant %s", tc.in, got, tc.want)
		}
	}
	// A long input is quoted only in part.
	_, err := Parse(strings.Repeat("Q", 1000))
	if got := err.Error(); len(got) > maxQuoted+100 || !strings.Contains(got, "...") {
		t.Errorf("error for 1000-byte input is %d bytes: %s", len(got), got)
	}
}

func TestNormalize(t *testing.T) {
	tests := []struct {
		in, want string
		kind     error
	}{
		{in: "iqn.2001-04.com.example", want: "iqn.2001-04.com.example"},
		{in: "ABC", want: "abc"},
		{in: "\u212b", want: "\u00e5"},             // ANGSTROM SIGN: B.2 then NFKC
		{in: "\ufb01", want: "fi"},                 // ligature, NFKC
		{in: "\u2168", want: "ix"},                 // ROMAN NUMERAL NINE, B.2 additional folding
		{in: "\u00b5", want: "\u03bc"},             // MICRO SIGN folds to mu
		{in: "\u0130", want: "i\u0307"},            // capital I with dot above
		{in: "\u33c6", want: "c\u2215kg"},          // SQUARE C OVER KG, B.2 additional folding
		{in: "\u0041\u030a", want: "\u00e5"},       // A + ring composes
		{in: "a\u180bb\ufe0fc\ufeff", want: "abc"}, // B.1 variation selectors, BOM
		{in: "\u05d0\u05d1", want: "\u05d0\u05d1"}, // RTL only: allowed by RFC 3454 §6
		{in: "\u05d0a", kind: ErrBidi},
		{in: "1\u05d0", kind: ErrBidi},
		{in: "a\u0340", want: "\u00e0"}, // C.8 is checked after NFKC maps U+0340 to U+0300
		{in: "a,b", kind: ErrProhibitedChar},
		{in: "a;b", kind: ErrProhibitedChar},
		{in: "[x]", kind: ErrProhibitedChar},
		{in: "{x}", kind: ErrProhibitedChar},
		{in: "\u3002", kind: ErrProhibitedChar},
		{in: "\U0001d400", want: "a"}, // MATHEMATICAL BOLD CAPITAL A
		{in: "\U000f0000", kind: ErrProhibitedChar},
		{in: strings.Repeat("a", MaxLen), want: strings.Repeat("a", MaxLen)},
		{in: strings.Repeat("A", MaxLen+1), kind: ErrTooLong},
		{in: strings.Repeat("a\u00ad", MaxLen), want: strings.Repeat("a", MaxLen)},
	}
	for _, tc := range tests {
		got, err := Normalize(tc.in)
		if tc.kind != nil {
			if !errors.Is(err, tc.kind) {
				t.Errorf("Normalize(%+q) = %+q, %v; want error %v", tc.in, got, err, tc.kind)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("Normalize(%+q) = %+q, %v; want %+q", tc.in, got, err, tc.want)
			continue
		}
		if again, err := Normalize(got); err != nil || again != got {
			t.Errorf("Normalize not idempotent on %+q: %+q, %v", got, again, err)
		}
	}
}

func TestParseStrict(t *testing.T) {
	if _, err := ParseStrict("iqn.2001-04.com.example:disk"); err != nil {
		t.Errorf("ParseStrict(canonical): %v", err)
	}
	_, err := ParseStrict("iqn.2001-04.org.gentoo:iSCSI.test.disk1")
	var e *Error
	if !errors.Is(err, ErrNotCanonical) || !errors.As(err, &e) || e.Offset != 24 {
		t.Errorf("ParseStrict(mixed case) = %v, want ErrNotCanonical at offset 24", err)
	}
	if _, err := ParseStrict("eui.02004567A425678D"); !errors.Is(err, ErrNotCanonical) {
		t.Errorf("ParseStrict(upper-case eui) = %v, want ErrNotCanonical", err)
	}
	if _, err := ParseStrict("iqn.2001-13.com.example"); !errors.Is(err, ErrBadDate) {
		t.Errorf("ParseStrict(bad month) = %v, want ErrBadDate", err)
	}
	for s, want := range map[string]bool{
		"iqn.2001-04.com.example":     true,
		"eui.02004567a425678d":        true,
		"eui.02004567A425678D":        false,
		"iqn.2001-04.com.example:a b": false,
		"":                            false,
		"iqn.2001-04.de.bu\u0308cher": false,
		"iqn.2001-04.de.b\u00fccher":  true,
	} {
		if got := IsCanonical(s); got != want {
			t.Errorf("IsCanonical(%+q) = %v, want %v", s, got, want)
		}
	}
}

func TestEqualCompare(t *testing.T) {
	a := MustParse("iqn.2001-04.org.gentoo:iSCSI.test.disk1")
	b := MustParse("IQN.2001-04.ORG.GENTOO:iscsi.TEST.disk1")
	c := MustParse("iqn.2001-04.org.gentoo:iscsi.test.disk2")
	if !Equal(a, b) || !a.Equal(b) || a != b || Compare(a, b) != 0 {
		t.Errorf("%q and %q should be equal", a, b)
	}
	if Equal(a, c) || a.Compare(c) != -1 || Compare(c, a) != 1 {
		t.Errorf("%q and %q: Equal %v, Compare %d", a, c, Equal(a, c), a.Compare(c))
	}
	if Equal(MustParse("eui.02004567A425678D"), NewEUI(0x02004567A425678D)) != true {
		t.Error("eui. name parsed and built differ")
	}
	if a.Equal(Name{}) || !(Name{}).Equal(Name{}) {
		t.Error("zero Name comparisons wrong")
	}
}

func TestMustParsePanics(t *testing.T) {
	defer func() {
		if r := recover(); r == nil {
			t.Error("MustParse of an invalid name did not panic")
		} else if err, ok := r.(error); !ok || !errors.Is(err, ErrBadDate) {
			t.Errorf("MustParse panicked with %v, want ErrBadDate", r)
		}
	}()
	MustParse("iqn.2001-13.com.example")
}

func TestTypeString(t *testing.T) {
	for typ, want := range map[Type]string{IQN: "iqn", EUI: "eui", NAA: "naa", 0: "Type(0)", 7: "Type(7)"} {
		if got := typ.String(); got != want {
			t.Errorf("Type(%d).String() = %q, want %q", uint8(typ), got, want)
		}
	}
}

func TestText(t *testing.T) {
	var n Name
	if err := n.UnmarshalText([]byte("IQN.2001-04.com.example:X")); err != nil {
		t.Fatal(err)
	}
	b, err := n.MarshalText()
	if err != nil || string(b) != "iqn.2001-04.com.example:x" {
		t.Errorf("MarshalText = %q, %v", b, err)
	}
	if err := n.UnmarshalText([]byte("bogus")); !errors.Is(err, ErrBadType) {
		t.Errorf("UnmarshalText(bogus) = %v, want ErrBadType", err)
	}
	if n.String() != "iqn.2001-04.com.example:x" {
		t.Errorf("failed UnmarshalText changed the Name to %q", n)
	}
	if _, err := (Name{}).MarshalText(); !errors.Is(err, ErrEmpty) {
		t.Errorf("MarshalText of zero Name = %v, want ErrEmpty", err)
	}
}

func TestZeroName(t *testing.T) {
	var n Name
	want := parts{}
	if diff := cmp.Diff(want, partsOf(n)); diff != "" {
		t.Errorf("zero Name (-want +got):\n%s", diff)
	}
	if !n.IsZero() {
		t.Error("zero Name: IsZero false")
	}
}

func TestParseAllocs(t *testing.T) {
	const s = "iqn.2001-04.com.example:storage:diskarrays-sn-a8675309"
	var sink Name
	if n := testing.AllocsPerRun(100, func() { sink, _ = Parse(s) }); n != 0 {
		t.Errorf("Parse of a canonical ASCII name: %v allocs, want 0", n)
	}
	if n := testing.AllocsPerRun(100, func() { _ = IsCanonical(s) }); n != 0 {
		t.Errorf("IsCanonical: %v allocs, want 0", n)
	}
	_ = sink
}
