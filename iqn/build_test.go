package iqn

import (
	"errors"
	"testing"
)

func TestBuilders(t *testing.T) {
	mustNAA := func(n Name, err error) Name {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	tests := []struct {
		name string
		got  func() (Name, error)
		want string
	}{
		{"NewIQN", func() (Name, error) { return NewIQN(2001, 4, "com.example", "storage:diskarrays-sn-a8675309") }, "iqn.2001-04.com.example:storage:diskarrays-sn-a8675309"},
		{"NewIQN without unique", func() (Name, error) { return NewIQN(2001, 4, "com.example", "") }, "iqn.2001-04.com.example"},
		{"NewIQN normalizes", func() (Name, error) { return NewIQN(2001, 4, "org.Gentoo", "iSCSI.test.disk1") }, "iqn.2001-04.org.gentoo:iscsi.test.disk1"},
		{"NewIQN pads the date", func() (Name, error) { return NewIQN(1994, 5, "com.redhat", "x") }, "iqn.1994-05.com.redhat:x"},
		{"FromDomain", func() (Name, error) { return FromDomain(2001, 4, "example.com", "disk2") }, "iqn.2001-04.com.example:disk2"},
		{"FromDomain deep", func() (Name, error) { return FromDomain(2003, 1, "host.linux-iscsi.org", "") }, "iqn.2003-01.org.linux-iscsi.host"},
		{"NewEUI", func() (Name, error) { return NewEUI(0x02004567A425678D), nil }, "eui.02004567a425678d"},
		{"NewEUI zero", func() (Name, error) { return NewEUI(0), nil }, "eui.0000000000000000"},
		{"NewNAA64", func() (Name, error) { return NewNAA64(0x52004567BA64678D) }, "naa.52004567ba64678d"},
		{"NewNAA128", func() (Name, error) { return NewNAA128(0x62004567BA64678D, 0x0123456789ABCDEF) }, "naa.62004567ba64678d0123456789abcdef"},
		{"NewNAA 8 bytes", func() (Name, error) { return NewNAA([]byte{0x30, 1, 2, 3, 4, 5, 6, 7}) }, "naa.3001020304050607"},
		{"NewNAA 16 bytes", func() (Name, error) {
			return NewNAA(mustNAA(Parse("naa.62004567BA64678D0123456789ABCDEF")).Bytes())
		}, "naa.62004567ba64678d0123456789abcdef"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			n, err := tc.got()
			if err != nil {
				t.Fatal(err)
			}
			if n.String() != tc.want {
				t.Errorf("got %q, want %q", n, tc.want)
			}
			// A built Name is the very Name Parse gives.
			p, err := Parse(tc.want)
			if err != nil || p != n {
				t.Errorf("Parse(%q) = %#v, %v; built %#v", tc.want, p, err, n)
			}
		})
	}
}

func TestBuilderErrors(t *testing.T) {
	tests := []struct {
		name string
		err  func() error
		kind error
	}{
		{"year 1899", func() error { _, err := NewIQN(1899, 1, "com.example", ""); return err }, ErrBadDate},
		{"year 10000", func() error { _, err := NewIQN(10000, 1, "com.example", ""); return err }, ErrBadDate},
		{"negative year", func() error { _, err := NewIQN(-2001, 1, "com.example", ""); return err }, ErrBadDate},
		{"month 0", func() error { _, err := NewIQN(2001, 0, "com.example", ""); return err }, ErrBadDate},
		{"month 13", func() error { _, err := NewIQN(2001, 13, "com.example", ""); return err }, ErrBadDate},
		{"empty authority", func() error { _, err := NewIQN(2001, 4, "", "x"); return err }, ErrBadNamingAuthority},
		{"authority with colon", func() error { _, err := NewIQN(2001, 4, "com:example", ""); return err }, ErrBadNamingAuthority},
		{"bad unique", func() error { _, err := NewIQN(2001, 4, "com.example", "a b"); return err }, ErrProhibitedChar},
		{"too long", func() error { _, err := NewIQN(2001, 4, "com.example", string(make([]byte, 200))); return err }, ErrProhibitedChar},
		{"FromDomain trailing dot", func() error { _, err := FromDomain(2001, 4, "example.com.", ""); return err }, ErrBadNamingAuthority},
		{"NAA64 field 6", func() error { _, err := NewNAA64(0x62004567BA64678D); return err }, ErrBadNAA},
		{"NAA64 field 0", func() error { _, err := NewNAA64(0); return err }, ErrBadNAA},
		{"NAA128 field 5", func() error { _, err := NewNAA128(0x52004567BA64678D, 0); return err }, ErrBadNAA},
		{"NAA 9 bytes", func() error { _, err := NewNAA(make([]byte, 9)); return err }, ErrBadHexLength},
		{"NAA nil", func() error { _, err := NewNAA(nil); return err }, ErrBadHexLength},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.err()
			if !errors.Is(err, tc.kind) {
				t.Errorf("got %v, want %v", err, tc.kind)
			}
			var e *Error
			if !errors.As(err, &e) {
				t.Errorf("%T is not *Error", err)
			}
		})
	}
}
