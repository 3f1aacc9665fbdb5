package session

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/go-iscsi/iscsi/iqn"
	"github.com/go-iscsi/iscsi/scsi"
)

func TestParseURL(t *testing.T) {
	const tgt = "iqn.2026-01.org.example:disk"
	tests := []struct {
		in   string
		want *URL
		part string // URLError.Part when ParseURL must fail
	}{
		{in: "iscsi://127.0.0.1/" + tgt + "/1", want: &URL{Host: "127.0.0.1", Target: tgt, LUN: 1}},
		{in: "iscsi://127.0.0.1:3261/" + tgt + "/0", want: &URL{Host: "127.0.0.1", Port: 3261, Target: tgt}},
		{in: "iscsi://bob@host.example/" + tgt + "/2", want: &URL{User: "bob", Host: "host.example", Target: tgt, LUN: 2}},
		{in: "iscsi://bob%s3cret@h:1/" + tgt + "/3", want: &URL{User: "bob", Password: "s3cret", Host: "h", Port: 1, Target: tgt, LUN: 3}},
		{in: "iscsi://bob%a%25b%40c%2Fd@h/" + tgt + "/0", want: &URL{User: "bob", Password: "a%b@c/d", Host: "h", Target: tgt}},
		{in: "iscsi://bob%p@ss@h/" + tgt + "/0", want: &URL{User: "bob", Password: "p@ss", Host: "h", Target: tgt}},
		{in: "iscsi://[::1]:3260/" + tgt + "/16383", want: &URL{Host: "::1", Port: 3260, Target: tgt, LUN: 16383}},
		{in: "iscsi://[2001:DB8::1]/" + tgt + "/7", want: &URL{Host: "2001:db8::1", Target: tgt, LUN: 7}},
		{in: "iscsi://h/IQN.2026-01.org.Example:Disk/1", want: &URL{Host: "h", Target: tgt, LUN: 1}},
		{in: "iscsi://h/iqn.2026-01.org.example%3Adisk/1", want: &URL{Host: "h", Target: tgt, LUN: 1}},
		{in: "iscsi://h/eui.02004567A425678D/0", want: &URL{Host: "h", Target: "eui.02004567a425678d"}},
		{in: "iscsi://h", want: &URL{Host: "h"}},
		{in: "iscsi://h:3260/", want: &URL{Host: "h", Port: 3260}},
		{in: "iscsi://u%p@[::1]", want: &URL{User: "u", Password: "p", Host: "::1"}},
		{in: "10.0.0.1", want: &URL{Host: "10.0.0.1"}},
		{in: "10.0.0.1:860", want: &URL{Host: "10.0.0.1", Port: 860}},
		{in: "[fe80::2]:3260", want: &URL{Host: "fe80::2", Port: 3260}},
		{in: "fe80::2", want: &URL{Host: "fe80::2"}},
		{in: "storage_1.example", want: &URL{Host: "storage_1.example"}},

		{in: "", part: "host"},
		{in: "http://h/" + tgt + "/1", part: "scheme"},
		{in: "iscsi:/h/" + tgt + "/1", part: "host"},
		{in: "iscsi://", part: "host"},
		{in: "iscsi://@h/" + tgt + "/1", part: "user"},
		{in: "iscsi://u%@h/" + tgt + "/1", part: "password"},
		{in: "iscsi://u%a%zz@h/" + tgt + "/1", part: "password"},
		{in: "iscsi://u%a%4@h/" + tgt + "/1", part: "password"},
		{in: "iscsi://h:/" + tgt + "/1", part: "port"},
		{in: "iscsi://h:0/" + tgt + "/1", part: "port"},
		{in: "iscsi://h:65536/" + tgt + "/1", part: "port"},
		{in: "iscsi://h:99999999999999999999/" + tgt + "/1", part: "port"},
		{in: "iscsi://h:+80/" + tgt + "/1", part: "port"},
		{in: "iscsi://h:-1/" + tgt + "/1", part: "port"},
		{in: "iscsi://::1/" + tgt + "/1", part: "host"},
		{in: "iscsi://[::1/" + tgt + "/1", part: "host"},
		{in: "iscsi://[10.0.0.1]/" + tgt + "/1", part: "host"},
		{in: "iscsi://[fe80::1%25eth0]/" + tgt + "/1", part: "host"},
		{in: "iscsi://[::1]x/" + tgt + "/1", part: "host"},
		{in: "iscsi://h..example/" + tgt + "/1", part: "host"},
		{in: "iscsi://h\xffx/" + tgt + "/1", part: "host"},
		{in: "iscsi://h/" + tgt, part: "lun"},
		{in: "iscsi://h/" + tgt + "/", part: "lun"},
		{in: "iscsi://h/" + tgt + "/16384", part: "lun"},
		{in: "iscsi://h/" + tgt + "/0x1", part: "lun"},
		{in: "iscsi://h/" + tgt + "/1/2", part: "lun"},
		{in: "iscsi://h/" + tgt + "/-0", part: "lun"},
		{in: "iscsi://h//1", part: "target"},
		{in: "iscsi://h/not-a-name/1", part: "target"},
		{in: "iscsi://h/iqn.2026-13.org.example/1", part: "target"},
		{in: "iscsi://h/iqn.2026-01.org.example%zz/1", part: "target"},
		{in: "iscsi://h/iqn.2026-01.org.example%00/1", part: "target"},
		{in: "iscsi://h/" + tgt + "/1?header_digest=crc32c", part: "path"},
		{in: "iscsi://h/" + tgt + "/1#frag", part: "path"},
		{in: "iscsi://h /" + tgt + "/1", part: "path"},
		{in: "iscsi://h/" + tgt + "/1\n", part: "path"},
		{in: "h/" + tgt + "/1", part: "host"},
		{in: "u@h", part: "host"},
		{in: "h:", part: "port"},
	}
	for _, tt := range tests {
		got, err := ParseURL(tt.in)
		if tt.part != "" {
			var ue *URLError
			if !errors.As(err, &ue) {
				t.Errorf("ParseURL(%q) = %+v, %v; want a *URLError for %s", tt.in, got, err, tt.part)
				continue
			}
			if ue.Part != tt.part {
				t.Errorf("ParseURL(%q): error %q names part %q, want %q", tt.in, err, ue.Part, tt.part)
			}
			continue
		}
		if err != nil {
			t.Errorf("ParseURL(%q): %v", tt.in, err)
			continue
		}
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("ParseURL(%q) mismatch (-want +got):\n%s", tt.in, diff)
		}
		again, err := ParseURL(got.String())
		if err != nil {
			t.Errorf("ParseURL(%q) of String of %q: %v", got.String(), tt.in, err)
		} else if diff := cmp.Diff(got, again); diff != "" {
			t.Errorf("String %q does not round-trip (-first +second):\n%s", got.String(), diff)
		}
	}
}

func TestURLErrorHidesSecret(t *testing.T) {
	_, err := ParseURL("iscsi://bob%topsecret@h:0/iqn.2026-01.org.example:d/1")
	if err == nil {
		t.Fatal("port 0 accepted")
	}
	if strings.Contains(err.Error(), "topsecret") {
		t.Errorf("error %q shows the CHAP secret", err)
	}
}

func TestURLTargetError(t *testing.T) {
	_, err := ParseURL("iscsi://h/iqn.2026-13.org.example/1")
	if !errors.Is(err, iqn.ErrBadDate) {
		t.Errorf("ParseURL error %v does not match iqn.ErrBadDate", err)
	}
}

func TestURLString(t *testing.T) {
	tests := []struct {
		u    URL
		want string
	}{
		{URL{Host: "h"}, "iscsi://h"},
		{URL{Host: "::1", Port: 3260, Target: "iqn.2026-01.org.example:d", LUN: 300}, "iscsi://[::1]:3260/iqn.2026-01.org.example:d/300"},
		{URL{User: "u", Password: "a b%c@d/e", Host: "h", Target: "iqn.2026-01.org.example", LUN: 0}, "iscsi://u%a%20b%25c%40d%2Fe@h/iqn.2026-01.org.example/0"},
	}
	for _, tt := range tests {
		if got := tt.u.String(); got != tt.want {
			t.Errorf("String() = %q, want %q", got, tt.want)
		}
	}
}

func TestURLAddrAndLUN(t *testing.T) {
	u, err := ParseURL("iscsi://[::1]/iqn.2026-01.org.example:d/300")
	if err != nil {
		t.Fatal(err)
	}
	if got, want := u.Addr(), "[::1]:3260"; got != want {
		t.Errorf("Addr() = %q, want %q", got, want)
	}
	lun, err := u.SCSILUN()
	if err != nil {
		t.Fatal(err)
	}
	if want := (scsi.LUN{0x41, 0x2c}); lun != want {
		t.Errorf("SCSILUN() = %v, want %v", lun, want)
	}
	u.LUN = 20000
	if _, err := u.SCSILUN(); err == nil {
		t.Error("SCSILUN accepted LUN 20000")
	}
}

func FuzzParseURL(f *testing.F) {
	f.Add("iscsi://bob%s3cret@[::1]:3260/iqn.2026-01.org.example:disk/1")
	f.Add("iscsi://h/iqn.2026-01.org.example%3Adisk/16383")
	f.Add("10.0.0.1:3260")
	f.Fuzz(func(t *testing.T, s string) {
		u, err := ParseURL(s)
		if err != nil {
			var ue *URLError
			if !errors.As(err, &ue) {
				t.Fatalf("ParseURL(%q): error %T is not a *URLError", s, err)
			}
			return
		}
		again, err := ParseURL(u.String())
		if err != nil {
			t.Fatalf("ParseURL(%q) = %+v, whose String %q does not parse: %v", s, u, u.String(), err)
		}
		if diff := cmp.Diff(u, again); diff != "" {
			t.Fatalf("String %q of ParseURL(%q) does not round-trip:\n%s", u.String(), s, diff)
		}
	})
}

func ExampleParseURL() {
	u, err := ParseURL("iscsi://bob%s3cret@[::1]:3261/iqn.2026-01.org.example:disk/1")
	if err != nil {
		panic(err)
	}
	fmt.Println(u.Addr(), u.Target, u.LUN, u.User)
	// Output: [::1]:3261 iqn.2026-01.org.example:disk 1 bob
}
