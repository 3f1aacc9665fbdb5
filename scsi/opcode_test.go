package scsi

import "testing"

func TestOpCodeCDBLength(t *testing.T) {
	tests := []struct {
		op   OpCode
		want int
	}{
		{OpTestUnitReady, 6}, {OpRead6, 6}, {OpRead10, 10}, {OpPersistentReserveOut, 10},
		{OpVariableLength, 0}, {OpRead16, 16}, {OpServiceActionIn16, 16}, {OpReportLUNs, 12},
		{OpRead12, 12}, {0xc0, 0}, {0xff, 0},
	}
	for _, tt := range tests {
		if got := tt.op.CDBLength(); got != tt.want {
			t.Errorf("%v.CDBLength() = %d, want %d", tt.op, got, tt.want)
		}
	}
	for op := range 256 {
		if o := OpCode(op); o.Known() && o.String() == "" {
			t.Errorf("0x%02x has no name", op)
		}
	}
}
