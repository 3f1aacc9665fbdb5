package iqn

import (
	"errors"
	"testing"
	"unicode/utf8"
)

var errorKinds = []error{
	ErrEmpty, ErrTooLong, ErrInvalidUTF8, ErrUnassigned, ErrProhibitedChar,
	ErrBidi, ErrBadType, ErrBadDate, ErrBadNamingAuthority, ErrBadHex,
	ErrBadHexLength, ErrBadNAA, ErrNotCanonical,
}

// checkError checks that err is an *Error of a known kind whose Offset
// lies within its Input.
func checkError(t *testing.T, in string, err error) {
	t.Helper()
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("%+q: error %T (%v) is not *Error", in, err, err)
	}
	known := false
	for _, k := range errorKinds {
		known = known || errors.Is(err, k)
	}
	if !known {
		t.Fatalf("%+q: error %v has unknown kind %v", in, err, e.Kind)
	}
	if e.Offset < -1 || e.Offset > len(e.Input) {
		t.Fatalf("%+q: offset %d outside input of %d bytes (%v)", in, e.Offset, len(e.Input), err)
	}
	_ = err.Error()
}

// FuzzParse checks that Parse never panics, that every error is a
// well-formed *Error, that a parsed name round-trips through String, and
// that normalization is idempotent.
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"iqn.2001-04.com.example:storage:diskarrays-sn-a8675309",
		"iqn.2001-04.com.example",
		"iqn.2001-04.org.gentoo:iSCSI.test.disk1",
		"eui.02004567A425678D",
		"naa.52004567BA64678D",
		"naa.62004567BA64678D0123456789ABCDEF",
		"iqn.2001-04.de.bu\u0308cher:\u2160",
		"iqn.2001-04.com.example:Stra\u00dfe\u00ad",
		"iqn.2001-13.com.example",
		"iqn.2001-04..com",
		"iqn.2001-04.com.example:\u05d0",
		"iqn.2001-04.com.example:\xff",
		"",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		norm, nerr := Normalize(s)
		if nerr != nil {
			checkError(t, s, nerr)
		} else {
			if !utf8.ValidString(norm) || len(norm) == 0 || len(norm) > MaxLen {
				t.Fatalf("Normalize(%+q) = %+q: invalid result", s, norm)
			}
			again, err := Normalize(norm)
			if err != nil || again != norm {
				t.Fatalf("Normalize not idempotent: %+q -> %+q -> %+q, %v", s, norm, again, err)
			}
		}
		n, err := Parse(s)
		if err != nil {
			checkError(t, s, err)
			if !n.IsZero() {
				t.Fatalf("Parse(%+q) returned %q with error %v", s, n, err)
			}
			if IsCanonical(s) {
				t.Fatalf("IsCanonical(%+q) is true, but Parse failed: %v", s, err)
			}
			return
		}
		if nerr != nil || n.String() != norm {
			t.Fatalf("Parse(%+q) = %+q, but Normalize = %+q, %v", s, n, norm, nerr)
		}
		back, err := Parse(n.String())
		if err != nil || back != n {
			t.Fatalf("Parse(String()) of %+q = %#v, %v; want %#v", n, back, err, n)
		}
		if !IsCanonical(n.String()) {
			t.Fatalf("IsCanonical(%+q) is false", n)
		}
		if _, err := ParseStrict(n.String()); err != nil {
			t.Fatalf("ParseStrict(%+q): %v", n, err)
		}
		if IsCanonical(s) != (s == n.String()) {
			t.Fatalf("IsCanonical(%+q) = %v, normalized %+q", s, IsCanonical(s), n)
		}
		switch n.Type() {
		case IQN:
			y, m := n.Date()
			if y < minYear || m < 1 || m > 12 || n.NamingAuthority() == "" {
				t.Fatalf("%+q: date %d-%d, authority %q", n, y, m, n.NamingAuthority())
			}
			rebuilt, err := NewIQN(y, int(m), n.NamingAuthority(), n.Unique())
			if err != nil {
				t.Fatalf("NewIQN from the parts of %+q: %v", n, err)
			}
			if n.Unique() != "" && rebuilt != n {
				t.Fatalf("NewIQN from the parts of %+q = %+q", n, rebuilt)
			}
		case EUI:
			v, _ := n.EUI64()
			if NewEUI(v) != n {
				t.Fatalf("NewEUI(%#x) = %+q, parsed %+q", v, NewEUI(v), n)
			}
		case NAA:
			if b, err := NewNAA(n.Bytes()); err != nil || b != n {
				t.Fatalf("NewNAA(Bytes()) of %+q = %+q, %v", n, b, err)
			}
		default:
			t.Fatalf("%+q: type %v", n, n.Type())
		}
	})
}
