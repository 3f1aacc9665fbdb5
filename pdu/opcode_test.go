package pdu

import "testing"

func TestOpcodeString(t *testing.T) {
	testStrings(t, map[Opcode]string{
		OpNOPOut: "NOP-Out", OpSCSICommand: "SCSI Command", OpTaskManagementRequest: "Task Management Function Request",
		OpLoginRequest: "Login Request", OpTextRequest: "Text Request", OpSCSIDataOut: "SCSI Data-Out",
		OpLogoutRequest: "Logout Request", OpSNACKRequest: "SNACK Request", OpNOPIn: "NOP-In",
		OpSCSIResponse: "SCSI Response", OpTaskManagementResponse: "Task Management Function Response",
		OpLoginResponse: "Login Response", OpTextResponse: "Text Response", OpSCSIDataIn: "SCSI Data-In",
		OpLogoutResponse: "Logout Response", OpR2T: "Ready To Transfer", OpAsyncMessage: "Asynchronous Message",
		OpReject: "Reject", 0x1c: "VendorSpecific(0x1c)", 0x3e: "VendorSpecific(0x3e)", 0x07: "Opcode(0x7)",
	})
}

func TestOpcodeClasses(t *testing.T) {
	tests := []struct {
		op                               Opcode
		initiator, target, vendor, known bool
	}{
		{OpNOPOut, true, false, false, true},
		{OpSNACKRequest, true, false, false, true},
		{0x1d, true, false, true, false},
		{0x07, true, false, false, false},
		{OpNOPIn, false, true, false, true},
		{OpReject, false, true, false, true},
		{0x3c, false, true, true, false},
		{0x40, false, false, false, false},
	}
	for _, tt := range tests {
		if tt.op.FromInitiator() != tt.initiator || tt.op.FromTarget() != tt.target ||
			tt.op.VendorSpecific() != tt.vendor || tt.op.Known() != tt.known {
			t.Errorf("%v: initiator %v target %v vendor %v known %v", tt.op,
				tt.op.FromInitiator(), tt.op.FromTarget(), tt.op.VendorSpecific(), tt.op.Known())
		}
	}
}
