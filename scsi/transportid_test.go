package scsi

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestTransportID(t *testing.T) {
	tests := []struct {
		id   TransportID
		want []byte
	}{
		{TransportID{Name: "iqn.a"}, append([]byte{0x05, 0, 0, 8}, "iqn.a\x00\x00\x00"...)},
		{TransportID{Name: "iqn.abc"}, append([]byte{0x05, 0, 0, 8}, "iqn.abc\x00"...)},
		{TransportID{Name: "iqn.a", HasISID: true, ISID: [6]byte{0x40, 0, 1, 0x37, 0, 0}},
			append([]byte{0x45, 0, 0, 24}, "iqn.a,i,0x400001370000\x00\x00"...)},
	}
	for _, tt := range tests {
		b, err := tt.id.Append(nil)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(tt.want, b); diff != "" {
			t.Errorf("%+v (-want +got):\n%s", tt.id, diff)
		}
		if tt.id.Len() != len(b) {
			t.Errorf("Len = %d, appended %d", tt.id.Len(), len(b))
		}
		got, n, err := ParseTransportID(append(b, 0xff))
		if err != nil || n != len(b) {
			t.Fatalf("ParseTransportID: %d, %v", n, err)
		}
		if diff := cmp.Diff(tt.id, got); diff != "" {
			t.Errorf("round trip (-want +got):\n%s", diff)
		}
	}
	var list []byte
	for _, tt := range tests {
		list, _ = tt.id.Append(list)
	}
	i := 0
	for id, err := range TransportIDs(list) {
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(tests[i].id, id); diff != "" {
			t.Errorf("TransportIDs[%d] (-want +got):\n%s", i, diff)
		}
		i++
	}
	if i != len(tests) {
		t.Errorf("TransportIDs yielded %d", i)
	}
}

func TestTransportIDErrors(t *testing.T) {
	tests := []struct {
		name string
		b    []byte
		want error
	}{
		{"short", []byte{5, 0, 0}, ErrShortData},
		{"FC protocol", []byte{0x00, 0, 0, 4, 'a', 0, 0, 0}, ErrMalformed},
		{"format 2", []byte{0x85, 0, 0, 4, 'a', 0, 0, 0}, ErrMalformed},
		{"reserved bits", []byte{0x15, 0, 0, 4, 'a', 0, 0, 0}, ErrMalformed},
		{"overrun", []byte{0x05, 0, 0, 8, 'a', 0, 0, 0}, ErrShortData},
		{"no terminator", []byte{0x05, 0, 0, 4, 'a', 'b', 'c', 'd'}, ErrMalformed},
		{"no separator", append([]byte{0x45, 0, 0, 8}, "iqn.a\x00\x00\x00"...), ErrMalformed},
		{"bad ISID", append([]byte{0x45, 0, 0, 24}, "iqn.a,i,0x40000137000g\x00\x00"...), ErrMalformed},
	}
	for _, tt := range tests {
		if _, _, err := ParseTransportID(tt.b); !errors.Is(err, tt.want) {
			t.Errorf("%s: %v, want %v", tt.name, err, tt.want)
		}
	}
	for _, id := range []TransportID{{Name: "a\x00b"}, {Name: strings.Repeat("a", 0xffff)}} {
		if _, err := id.Append(nil); !errors.Is(err, ErrFieldRange) {
			t.Errorf("Append(%.10q): %v", id.Name, err)
		}
	}
	n := 0
	for _, err := range TransportIDs([]byte{0x05, 0, 0, 4, 'a', 0, 0, 0, 0x01}) {
		n++
		if n == 2 && err == nil {
			t.Error("second TransportID should fail")
		}
	}
	if n != 2 {
		t.Errorf("walk yielded %d, want 2", n)
	}
}

func TestTransportIDOfPort(t *testing.T) {
	tests := []struct {
		port string
		want TransportID
	}{
		{"iqn.2026-11.org.example:host,i,0x801234560001",
			TransportID{Name: "iqn.2026-11.org.example:host", HasISID: true, ISID: [6]byte{0x80, 0x12, 0x34, 0x56, 0x00, 0x01}}},
		{"iqn.x,I,0X00000000000A", TransportID{Name: "iqn.x", HasISID: true, ISID: [6]byte{5: 0x0a}}},
		{"iqn.2026-11.org.example:host", TransportID{Name: "iqn.2026-11.org.example:host"}},
		{"iqn.x,i,0x8012", TransportID{Name: "iqn.x,i,0x8012"}},
		{"iqn.x,i,0x80123456000g", TransportID{Name: "iqn.x,i,0x80123456000g"}},
		{"", TransportID{}},
	}
	for _, tt := range tests {
		if diff := cmp.Diff(tt.want, TransportIDOfPort(tt.port)); diff != "" {
			t.Errorf("TransportIDOfPort(%q) (-want +got):\n%s", tt.port, diff)
		}
	}
	// The inverse of ISCSIInitiatorPortName.
	isid := [6]byte{0x40, 1, 2, 3, 4, 5}
	if got := TransportIDOfPort(ISCSIInitiatorPortName("iqn.y", isid)); got != (TransportID{Name: "iqn.y", HasISID: true, ISID: isid}) {
		t.Errorf("round trip: %+v", got)
	}
}
