package pdu

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestISID(t *testing.T) {
	tests := []struct {
		t    ISIDType
		a    uint8
		b    uint16
		c    uint8
		d    uint16
		wire ISID
		str  string
	}{
		// libiscsi's default: Random type, qualifier in D.
		{ISIDRandom, 0, 0x1234, 0x56, 0x789a, ISID{0x80, 0x12, 0x34, 0x56, 0x78, 0x9a}, "80123456789a"},
		{ISIDOUI, 0x3f, 0xffff, 0xff, 0xffff, ISID{0x3f, 0xff, 0xff, 0xff, 0xff, 0xff}, "3fffffffffff"},
		{ISIDEN, 0, 0x0001, 0x37, 0x0000, ISID{0x40, 0x00, 0x01, 0x37, 0, 0}, "400001370000"},
		{ISIDReserved, 1, 2, 3, 4, ISID{0xc1, 0, 2, 3, 0, 4}, "c10002030004"},
	}
	for _, tt := range tests {
		i := NewISID(tt.t, tt.a, tt.b, tt.c, tt.d)
		if i != tt.wire {
			t.Errorf("NewISID(%v, ...) = % x, want % x", tt.t, i[:], tt.wire[:])
		}
		if i.Type() != tt.t || i.A() != tt.a || i.B() != tt.b || i.C() != tt.c || i.D() != tt.d {
			t.Errorf("%v: fields %v %d %d %d %d", tt.str, i.Type(), i.A(), i.B(), i.C(), i.D())
		}
		if i.String() != tt.str {
			t.Errorf("String = %q, want %q", i.String(), tt.str)
		}
	}
	if got := (ISID{1, 2, 3, 4, 5, 6}).Uint64(); got != 0x010203040506 {
		t.Errorf("Uint64 = %#x", got)
	}
	testStrings(t, map[ISIDType]string{ISIDOUI: "OUI-Format", ISIDEN: "EN-Format", ISIDRandom: "Random", ISIDReserved: "Reserved"})
}

func TestRandomISID(t *testing.T) {
	a, b := RandomISID(), RandomISID()
	if a.Type() != ISIDRandom || b.Type() != ISIDRandom {
		t.Errorf("RandomISID types %v, %v, want %v", a.Type(), b.Type(), ISIDRandom)
	}
	if a.A() != 0 {
		t.Errorf("RandomISID A = %d, want 0 (reserved)", a.A())
	}
	if a == b {
		t.Errorf("two RandomISIDs are both %v", a)
	}
}

func TestISIDFormats(t *testing.T) {
	type fields struct {
		Type      ISIDType
		A         uint8
		B         uint16
		C         uint8
		D         uint16
		Qualifier uint32
	}
	tests := []struct {
		name string
		isid ISID
		wire string
		want fields
	}{
		// open-iscsi's default ISID: OUI 00:02:3D, qualifier 1.
		{"OUI", NewOUIISID(0x00023d, 1), "00023d000001", fields{ISIDOUI, 0, 0x023d, 0, 1, 1}},
		{"OUI 22 bits", NewOUIISID(0xffffffff, 0x123456), "3fffff123456", fields{ISIDOUI, 0x3f, 0xffff, 0x12, 0x3456, 0x123456}},
		{"OUI qualifier 24 bits", NewOUIISID(0, 0xff123456), "000000123456", fields{ISIDOUI, 0, 0, 0x12, 0x3456, 0x123456}},
		// IANA Enterprise Number 311, qualifier 7.
		{"EN", NewENISID(311, 7), "400001370007", fields{ISIDEN, 0, 0x0001, 0x37, 7, 7}},
		{"EN 24 bits", NewENISID(0xff123456, 0xabcd), "40123456abcd", fields{ISIDEN, 0, 0x1234, 0x56, 0xabcd, 0xabcd}},
		{"Random", NewISID(ISIDRandom, 0, 0x1234, 0x56, 9), "801234560009", fields{ISIDRandom, 0, 0x1234, 0x56, 9, 9}},
	}
	for _, tt := range tests {
		got := fields{tt.isid.Type(), tt.isid.A(), tt.isid.B(), tt.isid.C(), tt.isid.D(), tt.isid.Qualifier()}
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("%s: fields (-want +got):\n%s", tt.name, diff)
		}
		if tt.isid.String() != tt.wire {
			t.Errorf("%s: %v, want %s", tt.name, tt.isid, tt.wire)
		}
	}
	// RFC 7143 §11.12.5: T 10b puts the first byte in 0x80-0xbf.
	if r := RandomISID(); r[0]&0xc0 != 0x80 || r[0] != 0x80 {
		t.Errorf("RandomISID first byte %#x, want 0x80 (T 10b, A reserved)", r[0])
	}
}
