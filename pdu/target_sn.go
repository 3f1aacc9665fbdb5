package pdu

// Every PDU a target sends carries StatSN, ExpCmdSN and MaxCmdSN at bytes
// 24, 28 and 32 (RFC 7143 §11.4.9-11, §11.6, §11.7, §11.8, §11.9, §11.11,
// §11.13, §11.15, §11.17, §11.19). An initiator updates its command window
// from every one of them (§4.2.2.1) and acknowledges StatSN (§4.2.2.2)
// whatever the opcode; these accessors read the fields from any header
// without a switch on the opcode.

// carriesSNs reports whether op is a target opcode that carries StatSN,
// ExpCmdSN and MaxCmdSN.
func carriesSNs(op Opcode) bool {
	switch op {
	case OpNOPIn, OpSCSIResponse, OpTaskManagementResponse, OpLoginResponse,
		OpTextResponse, OpSCSIDataIn, OpLogoutResponse, OpR2T,
		OpAsyncMessage, OpReject:
		return true
	}
	return false
}

// StatSN returns bytes 24-27 of a PDU a target sent, its StatSN, and true;
// it returns false for an initiator opcode or a vendor-specific one, and
// for a SCSI Data-In without the S bit, whose StatSN is reserved (RFC 7143
// §11.7.4). An R2T's StatSN is the next StatSN and does not advance it
// (§11.8), nor does a NOP-In's when its Initiator Task Tag is 0xffffffff
// (§11.19), but each is the value to acknowledge.
func (h *BHS) StatSN() (uint32, bool) {
	op := h.Opcode()
	if !carriesSNs(op) || op == OpSCSIDataIn && h[1]&0x01 == 0 {
		return 0, false
	}
	return h.u32(24), true
}

// ExpCmdSN returns bytes 28-31 of a PDU a target sent, the next CmdSN the
// target expects (RFC 7143 §4.2.2.1), and true; false for an initiator
// opcode or a vendor-specific one.
func (h *BHS) ExpCmdSN() (uint32, bool) {
	if !carriesSNs(h.Opcode()) {
		return 0, false
	}
	return h.u32(28), true
}

// MaxCmdSN returns bytes 32-35 of a PDU a target sent, the largest CmdSN
// the target accepts (RFC 7143 §4.2.2.1), and true; false for an
// initiator opcode or a vendor-specific one.
func (h *BHS) MaxCmdSN() (uint32, bool) {
	if !carriesSNs(h.Opcode()) {
		return 0, false
	}
	return h.u32(32), true
}
