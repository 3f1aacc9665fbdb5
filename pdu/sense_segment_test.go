package pdu

import (
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestParseSenseSegment(t *testing.T) {
	fixed := []byte{0x70, 0, 0x05, 0, 0, 0, 0, 10, 0, 0, 0, 0, 0x24, 0, 0, 0, 0, 0}
	tests := []struct {
		name        string
		seg         []byte
		sense, rest []byte
		err         *SenseSegmentError
	}{
		{"empty", nil, nil, nil, nil},
		{"sense", append([]byte{0, 18}, fixed...), fixed, []byte{}, nil},
		{"sense and response data", append(append([]byte{0, 18}, fixed...), 0xde, 0xad), fixed, []byte{0xde, 0xad}, nil},
		{"zero SenseLength", []byte{0, 0, 1, 2}, []byte{}, []byte{1, 2}, nil},
		{"one byte", []byte{0}, nil, nil, &SenseSegmentError{SenseLength: -1, SegmentLength: 1}},
		{"SenseLength beyond the segment", []byte{0, 3, 1, 2}, nil, nil, &SenseSegmentError{SenseLength: 3, SegmentLength: 4}},
	}
	for _, tt := range tests {
		sense, rest, err := ParseSenseSegment(tt.seg)
		if tt.err != nil {
			var se *SenseSegmentError
			if !errors.Is(err, ErrSenseSegment) || !errors.As(err, &se) {
				t.Errorf("%s: err %v, want a *SenseSegmentError", tt.name, err)
				continue
			}
			if diff := cmp.Diff(tt.err, se); diff != "" {
				t.Errorf("%s: error (-want +got):\n%s", tt.name, diff)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", tt.name, err)
			continue
		}
		if diff := cmp.Diff(tt.sense, sense); diff != "" {
			t.Errorf("%s: sense (-want +got):\n%s", tt.name, diff)
		}
		if diff := cmp.Diff(tt.rest, rest); diff != "" {
			t.Errorf("%s: rest (-want +got):\n%s", tt.name, diff)
		}
	}
}

func TestAppendSenseSegment(t *testing.T) {
	long := make([]byte, 0x10000)
	tests := []struct {
		name  string
		sense []byte
		want  []byte
	}{
		{"none", nil, []byte{0xaa}},
		{"three bytes", []byte{1, 2, 3}, []byte{0xaa, 0, 3, 1, 2, 3}},
		{"cut to 65535", long, append([]byte{0xaa, 0xff, 0xff}, long[:0xffff]...)},
	}
	for _, tt := range tests {
		got := AppendSenseSegment([]byte{0xaa}, tt.sense)
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("%s: (-want +got):\n%s", tt.name, diff)
		}
		sense, _, err := ParseSenseSegment(got[1:])
		if err != nil || len(sense) != min(len(tt.sense), 0xffff) {
			t.Errorf("%s: parsed back %d bytes, %v", tt.name, len(sense), err)
		}
	}
}
