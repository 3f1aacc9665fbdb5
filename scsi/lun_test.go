package scsi

import (
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestEncodeLUN(t *testing.T) {
	tests := []struct {
		n    uint16
		want LUN
		str  string
	}{
		{0, LUN{}, "0"},
		{1, LUN{0, 1}, "1"},
		{255, LUN{0, 0xff}, "255"},
		{256, LUN{0x41, 0x00}, "256"},
		{0x3fff, LUN{0x7f, 0xff}, "16383"},
	}
	for _, tt := range tests {
		got, err := EncodeLUN(tt.n)
		if err != nil {
			t.Fatal(err)
		}
		if got != tt.want {
			t.Errorf("EncodeLUN(%d) = % x, want % x", tt.n, got, tt.want)
		}
		n, err := got.Number()
		if err != nil || n != tt.n {
			t.Errorf("Number() = %d, %v; want %d", n, err, tt.n)
		}
		if got.String() != tt.str {
			t.Errorf("String() = %q, want %q", got.String(), tt.str)
		}
		if LUNFromUint64(got.Uint64()) != got {
			t.Errorf("Uint64 round trip of % x", got)
		}
	}
	if _, err := EncodeLUN(0x4000); !errors.Is(err, ErrFieldRange) {
		t.Errorf("EncodeLUN(0x4000): %v", err)
	}
}

func TestLUNDecode(t *testing.T) {
	tests := []struct {
		name   string
		lun    LUN
		method AddressMethod
		err    error
		str    string
	}{
		{"peripheral with bus", LUN{0x01, 0x02}, AddressPeripheral, ErrLUNAddressing, "0x0102000000000000"},
		{"second level", LUN{0, 1, 0, 1}, AddressPeripheral, ErrLUNAddressing, "0x0001000100000000"},
		{"logical unit addressing", LUN{0x81, 0x23}, AddressLogicalUnit, ErrLUNAddressing, "0x8123000000000000"},
		{"well-known REPORT LUNS", WellKnownLUN(WellKnownReportLUNs), AddressExtended, ErrLUNAddressing, "W-LUN 0x01"},
	}
	for _, tt := range tests {
		if m := tt.lun.AddressMethod(); m != tt.method {
			t.Errorf("%s: AddressMethod = %d, want %d", tt.name, m, tt.method)
		}
		if _, err := tt.lun.Number(); !errors.Is(err, tt.err) {
			t.Errorf("%s: Number err = %v, want %v", tt.name, err, tt.err)
		}
		if s := tt.lun.String(); s != tt.str {
			t.Errorf("%s: String = %q, want %q", tt.name, s, tt.str)
		}
	}
	if w, ok := WellKnownLUN(WellKnownReportLUNs).WellKnown(); !ok || w != 1 {
		t.Errorf("WellKnown = %d, %v", w, ok)
	}
	if _, ok := (LUN{0xc1, 1, 0, 0, 0, 0, 0, 1}).WellKnown(); ok {
		t.Error("a LUN with a second level is not well known")
	}
	if l, err := ParseLUN([]byte{0, 5, 0, 0, 0, 0, 0, 0, 9}); err != nil || l != (LUN{0, 5}) {
		t.Errorf("ParseLUN = % x, %v", l, err)
	}
	if _, err := ParseLUN(make([]byte, 7)); !errors.Is(err, ErrShortData) {
		t.Errorf("ParseLUN short: %v", err)
	}
}

func TestReportLUNsData(t *testing.T) {
	l300, _ := EncodeLUN(300)
	luns := []LUN{{}, {0, 1}, l300}
	b := AppendReportLUNsData(nil, luns)
	want := []byte{0, 0, 0, 24, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0x41, 0x2c, 0, 0, 0, 0, 0, 0}
	if diff := cmp.Diff(want, b); diff != "" {
		t.Fatalf("(-want +got):\n%s", diff)
	}
	d, err := ParseReportLUNsData(b)
	if err != nil {
		t.Fatal(err)
	}
	var got []LUN
	for i := range d.Len() {
		got = append(got, d.At(i))
	}
	if diff := cmp.Diff(luns, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	// Cut by a 16-byte allocation length: one LUN, the full list length.
	d, err = ParseReportLUNsData(b[:16])
	if err != nil || d.Len() != 1 || d.ListLength != 24 {
		t.Errorf("cut: %+v, %v", d, err)
	}
	if _, err := ParseReportLUNsData(b[:7]); !errors.Is(err, ErrShortData) {
		t.Errorf("short: %v", err)
	}
	if _, err := ParseReportLUNsData([]byte{0, 0, 0, 7, 0, 0, 0, 0}); !errors.Is(err, ErrMalformed) {
		t.Errorf("length 7: %v", err)
	}
}
