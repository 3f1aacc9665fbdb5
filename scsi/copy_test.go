package scsi

import (
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestExtendedCopyParameters(t *testing.T) {
	cscd := make([]byte, 32)
	cscd[0] = 0xe4 // identification descriptor CSCD
	seg := make([]byte, 28)
	seg[0] = 0x02 // block device to block device
	tests := []struct {
		name string
		sa   ServiceAction
		p    ExtendedCopyParameters
		head []byte
	}{
		{"LID1", ExtendedCopyLID1,
			ExtendedCopyParameters{ListIdentifier: 9, STR: true, ListIDUsage: 3, Priority: 1, CSCDDescriptors: cscd, SegmentDescriptors: seg, InlineData: []byte{1, 2, 3, 4}},
			[]byte{9, 0x39, 0, 32, 0, 0, 0, 0, 0, 0, 0, 28, 0, 0, 0, 4}},
		{"LID4", ExtendedCopyLID4,
			ExtendedCopyParameters{LID4: true, ListIdentifier: 0x01020304, ListIDUsage: 2, GSense: true, Immed: true, CSCDDescriptors: cscd, SegmentDescriptors: seg},
			[]byte{0x01, 0x10, 0, 0x20, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x03, 0xff, 0, 0, 0, 1, 2, 3, 4}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := tt.p.Append(nil)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.head, b[:len(tt.head)]); diff != "" {
				t.Errorf("header (-want +got):\n%s", diff)
			}
			got, err := ParseExtendedCopyParameters(tt.sa, b)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.p, got, cmpEmpty); diff != "" {
				t.Errorf("round trip (-want +got):\n%s", diff)
			}
			if _, err := ParseExtendedCopyParameters(tt.sa, b[:len(b)-1]); !errors.Is(err, ErrInvalidParameterList) {
				t.Errorf("cut list: %v", err)
			}
		})
	}
	lid4, _ := ExtendedCopyParameters{LID4: true}.Append(nil)
	for name, mod := range map[string]func([]byte){
		"format":      func(b []byte) { b[0] = 2 },
		"header len":  func(b []byte) { b[3] = 0x10 },
		"header type": func(b []byte) { b[16] = 0xe4 },
		"reserved":    func(b []byte) { b[1] = 0x80 },
	} {
		b := append([]byte(nil), lid4...)
		mod(b)
		if _, err := ParseExtendedCopyParameters(ExtendedCopyLID4, b); !errors.Is(err, ErrInvalidParameterList) {
			t.Errorf("%s: %v", name, err)
		}
	}
	if _, err := ParseExtendedCopyParameters(ExtendedCopyLID1, make([]byte, 15)); !errors.Is(err, ErrInvalidParameterList) {
		t.Errorf("short LID1: %v", err)
	}
	for _, p := range []ExtendedCopyParameters{{ListIDUsage: 4}, {Priority: 8}, {ListIdentifier: 256}, {GSense: true},
		{CSCDDescriptors: make([]byte, 0x10000)}, {LID4: true, InlineData: make([]byte, 0x10000)}} {
		if _, err := p.Append(nil); !errors.Is(err, ErrInvalidParameterList) {
			t.Errorf("Append(%v): %v", p.ListIdentifier, err)
		}
	}
}
