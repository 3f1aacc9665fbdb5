package scsi

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestAppendDefectDataHeader(t *testing.T) {
	tests := []struct {
		op   OpCode
		want []byte
	}{
		{OpReadDefectData10, []byte{0, 0x1b, 0, 8}},
		{OpReadDefectData12, []byte{0, 0x1b, 0, 5, 0, 0, 0, 8}},
	}
	for _, tt := range tests {
		got := AppendDefectDataHeader(nil, tt.op, true, true, DefectFormatLongBlock, 5, 8)
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("%v (-want +got):\n%s", tt.op, diff)
		}
	}
	if got := AppendDefectDataHeader(nil, OpReadDefectData10, false, false, 0, 0, 1<<20); got[2] != 0xff || got[3] != 0xff {
		t.Errorf("10-byte header does not clamp the list length: % x", got)
	}
}
