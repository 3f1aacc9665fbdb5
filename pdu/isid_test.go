package pdu

import "testing"

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
