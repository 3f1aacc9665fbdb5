package pdu

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

type sns struct {
	StatSN, ExpCmdSN, MaxCmdSN        uint32
	HasStat, HasExpCmdSN, HasMaxCmdSN bool
}

func TestBHSTargetSequenceNumbers(t *testing.T) {
	all := sns{StatSN: 0x11223344, ExpCmdSN: 0x55667788, MaxCmdSN: 0x99aabbcc, HasStat: true, HasExpCmdSN: true, HasMaxCmdSN: true}
	window := sns{ExpCmdSN: 0x55667788, MaxCmdSN: 0x99aabbcc, HasExpCmdSN: true, HasMaxCmdSN: true}
	tests := []struct {
		name  string
		op    Opcode
		flags byte // byte 1
		want  sns
	}{
		{"NOP-In", OpNOPIn, 0x80, all},
		{"SCSI Response", OpSCSIResponse, 0x80, all},
		{"Task Management Response", OpTaskManagementResponse, 0x80, all},
		{"Login Response", OpLoginResponse, 0x80, all},
		{"Text Response", OpTextResponse, 0x80, all},
		{"Data-In with S", OpSCSIDataIn, 0x81, all},
		{"Data-In without S", OpSCSIDataIn, 0x80, window},
		{"Logout Response", OpLogoutResponse, 0x80, all},
		{"R2T", OpR2T, 0x80, all},
		{"Asynchronous Message", OpAsyncMessage, 0x80, all},
		{"Reject", OpReject, 0x80, all},
		{"NOP-Out", OpNOPOut, 0x80, sns{}},
		{"SCSI Command", OpSCSICommand, 0x80, sns{}},
		{"Login Request", OpLoginRequest, 0x80, sns{}},
		{"vendor-specific target opcode", OpVendorTargetFirst, 0x80, sns{}},
	}
	for _, tt := range tests {
		var h BHS
		h.SetOpcode(tt.op)
		h[1] = tt.flags
		h.setU32(24, all.StatSN)
		h.setU32(28, all.ExpCmdSN)
		h.setU32(32, all.MaxCmdSN)
		var got sns
		got.StatSN, got.HasStat = h.StatSN()
		got.ExpCmdSN, got.HasExpCmdSN = h.ExpCmdSN()
		got.MaxCmdSN, got.HasMaxCmdSN = h.MaxCmdSN()
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("%s: (-want +got):\n%s", tt.name, diff)
		}
	}
}

// The BHS accessors read what the views of each target PDU wrote.
func TestBHSTargetSequenceNumbersMatchViews(t *testing.T) {
	var h BHS
	r := h.R2T()
	r.Init()
	r.SetStatSN(7)
	r.SetExpCmdSN(8)
	r.SetMaxCmdSN(9)
	s, _ := h.StatSN()
	e, _ := h.ExpCmdSN()
	m, _ := h.MaxCmdSN()
	if s != r.StatSN() || e != r.ExpCmdSN() || m != r.MaxCmdSN() {
		t.Errorf("BHS (%d, %d, %d), R2T view (%d, %d, %d)", s, e, m, r.StatSN(), r.ExpCmdSN(), r.MaxCmdSN())
	}
}
