package scsi

import (
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestReadCapacity10Data(t *testing.T) {
	tests := []struct {
		last uint64
		want []byte
	}{
		{0x1ffff, []byte{0, 1, 0xff, 0xff, 0, 0, 2, 0}},
		{0xffffffff, []byte{0xff, 0xff, 0xff, 0xff, 0, 0, 2, 0}},
		{1 << 40, []byte{0xff, 0xff, 0xff, 0xff, 0, 0, 2, 0}},
	}
	for _, tt := range tests {
		d := NewReadCapacity10Data(tt.last, 512)
		b := d.Append(nil)
		if diff := cmp.Diff(tt.want, b); diff != "" {
			t.Errorf("last LBA %#x (-want +got):\n%s", tt.last, diff)
		}
		got, err := ParseReadCapacity10Data(b)
		if err != nil || got != d {
			t.Errorf("ParseReadCapacity10Data = %+v, %v", got, err)
		}
	}
	if _, err := ParseReadCapacity10Data(make([]byte, 7)); !errors.Is(err, ErrShortData) {
		t.Errorf("short: %v", err)
	}
}

func TestReadCapacity16Data(t *testing.T) {
	d := ReadCapacity16Data{LastLBA: 1<<40 - 1, BlockLength: 4096, RCBasis: 1, PType: 1, ProtEn: true, PIExponent: 2, LBPPBE: 3, LBPME: true, LBPRZ: true, LowestAlignedLBA: 0x3fff}
	b, err := d.Append(nil)
	if err != nil {
		t.Fatal(err)
	}
	want := []byte{0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0, 0, 0x10, 0, 0x13, 0x23, 0xff, 0xff}
	if diff := cmp.Diff(want, b[:16]); diff != "" || len(b) != ReadCapacity16DataLength {
		t.Errorf("(-want +got):\n%s", diff)
	}
	got, err := ParseReadCapacity16Data(b)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(d, got); diff != "" {
		t.Errorf("round trip (-want +got):\n%s", diff)
	}
	if _, err := ParseReadCapacity16Data(b[:15]); !errors.Is(err, ErrShortData) {
		t.Errorf("short: %v", err)
	}
	for _, bad := range []ReadCapacity16Data{{PType: 8}, {RCBasis: 4}, {PIExponent: 16}, {LBPPBE: 16}, {LowestAlignedLBA: 0x4000}} {
		if _, err := bad.Append(nil); !errors.Is(err, ErrFieldRange) {
			t.Errorf("Append(%+v) = %v, want ErrFieldRange", bad, err)
		}
	}
}

func TestLBAStatus(t *testing.T) {
	descs := []LBAStatusDescriptor{
		{LBA: 0, NumberOfBlocks: 8, ProvisioningStatus: LBAMapped},
		{LBA: 8, NumberOfBlocks: 1 << 20, ProvisioningStatus: LBADeallocated, AdditionalStatus: 1},
		{LBA: 1<<20 + 8, NumberOfBlocks: 1, ProvisioningStatus: LBAAnchored},
	}
	b := AppendLBAStatus(nil, descs)
	if diff := cmp.Diff([]byte{0, 0, 0, 52, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 8, 0, 0, 0, 0}, b[:24]); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	s, err := ParseLBAStatus(b)
	if err != nil {
		t.Fatal(err)
	}
	var got []LBAStatusDescriptor
	for i, d := range s.All() {
		if i != len(got) {
			t.Fatalf("index %d", i)
		}
		got = append(got, d)
	}
	if diff := cmp.Diff(descs, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	// Cut by the allocation length inside the second descriptor.
	s, err = ParseLBAStatus(b[:8+16+10])
	if err != nil || s.Len() != 1 || s.ParameterDataLength != 52 {
		t.Errorf("cut: %+v, %v", s, err)
	}
	if _, err := ParseLBAStatus(b[:7]); !errors.Is(err, ErrShortData) {
		t.Errorf("short: %v", err)
	}
	if _, err := ParseLBAStatus([]byte{0, 0, 0, 3, 0, 0, 0, 0}); !errors.Is(err, ErrMalformed) {
		t.Errorf("length 3: %v", err)
	}
}
