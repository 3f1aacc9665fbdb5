package pdu

import "strconv"

// Opcode is the 6-bit operation code in byte 0 of every Basic Header
// Segment. RFC 7143 §11.2.1.2: opcodes 0x00-0x1f are sent by the initiator,
// 0x20-0x3f by the target.
type Opcode uint8

// Initiator opcodes, RFC 7143 §11.2.1.2.
const (
	OpNOPOut                Opcode = 0x00 // RFC 7143 §11.18: NOP-Out
	OpSCSICommand           Opcode = 0x01 // RFC 7143 §11.3: SCSI Command
	OpTaskManagementRequest Opcode = 0x02 // RFC 7143 §11.5: SCSI Task Management Function Request
	OpLoginRequest          Opcode = 0x03 // RFC 7143 §11.12: Login Request
	OpTextRequest           Opcode = 0x04 // RFC 7143 §11.10: Text Request
	OpSCSIDataOut           Opcode = 0x05 // RFC 7143 §11.7: SCSI Data-Out (write)
	OpLogoutRequest         Opcode = 0x06 // RFC 7143 §11.14: Logout Request
	OpSNACKRequest          Opcode = 0x10 // RFC 7143 §11.16: SNACK Request
)

// Target opcodes, RFC 7143 §11.2.1.2.
const (
	OpNOPIn                  Opcode = 0x20 // RFC 7143 §11.19: NOP-In
	OpSCSIResponse           Opcode = 0x21 // RFC 7143 §11.4: SCSI Response
	OpTaskManagementResponse Opcode = 0x22 // RFC 7143 §11.6: SCSI Task Management Function Response
	OpLoginResponse          Opcode = 0x23 // RFC 7143 §11.13: Login Response
	OpTextResponse           Opcode = 0x24 // RFC 7143 §11.11: Text Response
	OpSCSIDataIn             Opcode = 0x25 // RFC 7143 §11.7: SCSI Data-In (read)
	OpLogoutResponse         Opcode = 0x26 // RFC 7143 §11.15: Logout Response
	OpR2T                    Opcode = 0x31 // RFC 7143 §11.8: Ready To Transfer (R2T)
	OpAsyncMessage           Opcode = 0x32 // RFC 7143 §11.9: Asynchronous Message
	OpReject                 Opcode = 0x3f // RFC 7143 §11.17: Reject
)

// Vendor-specific opcode ranges, RFC 7143 §11.2.1.2: 0x1c-0x1e from the
// initiator and 0x3c-0x3e from the target.
const (
	OpVendorInitiatorFirst Opcode = 0x1c
	OpVendorInitiatorLast  Opcode = 0x1e
	OpVendorTargetFirst    Opcode = 0x3c
	OpVendorTargetLast     Opcode = 0x3e
)

// FromInitiator reports whether op is in the initiator range 0x00-0x1f
// (RFC 7143 §11.2.1.2). Opcodes with bit 0x40 or 0x80 set are not opcodes.
func (op Opcode) FromInitiator() bool { return op < 0x20 }

// FromTarget reports whether op is in the target range 0x20-0x3f
// (RFC 7143 §11.2.1.2).
func (op Opcode) FromTarget() bool { return op >= 0x20 && op <= 0x3f }

// VendorSpecific reports whether op is in one of the vendor-specific ranges
// of RFC 7143 §11.2.1.2 (0x1c-0x1e, 0x3c-0x3e).
func (op Opcode) VendorSpecific() bool {
	return (op >= OpVendorInitiatorFirst && op <= OpVendorInitiatorLast) ||
		(op >= OpVendorTargetFirst && op <= OpVendorTargetLast)
}

// Known reports whether op is one of the opcodes RFC 7143 §11.2.1.2 defines
// (vendor-specific ranges excluded).
func (op Opcode) Known() bool {
	switch op {
	case OpNOPOut, OpSCSICommand, OpTaskManagementRequest, OpLoginRequest,
		OpTextRequest, OpSCSIDataOut, OpLogoutRequest, OpSNACKRequest,
		OpNOPIn, OpSCSIResponse, OpTaskManagementResponse, OpLoginResponse,
		OpTextResponse, OpSCSIDataIn, OpLogoutResponse, OpR2T,
		OpAsyncMessage, OpReject:
		return true
	}
	return false
}

// String returns the PDU name as RFC 7143 §11.2.1.2 spells it, or
// "VendorSpecific(0x1c)" / "Opcode(0x3b)" for others.
func (op Opcode) String() string {
	switch op {
	case OpNOPOut:
		return "NOP-Out"
	case OpSCSICommand:
		return "SCSI Command"
	case OpTaskManagementRequest:
		return "Task Management Function Request"
	case OpLoginRequest:
		return "Login Request"
	case OpTextRequest:
		return "Text Request"
	case OpSCSIDataOut:
		return "SCSI Data-Out"
	case OpLogoutRequest:
		return "Logout Request"
	case OpSNACKRequest:
		return "SNACK Request"
	case OpNOPIn:
		return "NOP-In"
	case OpSCSIResponse:
		return "SCSI Response"
	case OpTaskManagementResponse:
		return "Task Management Function Response"
	case OpLoginResponse:
		return "Login Response"
	case OpTextResponse:
		return "Text Response"
	case OpSCSIDataIn:
		return "SCSI Data-In"
	case OpLogoutResponse:
		return "Logout Response"
	case OpR2T:
		return "Ready To Transfer"
	case OpAsyncMessage:
		return "Asynchronous Message"
	case OpReject:
		return "Reject"
	}
	if op.VendorSpecific() {
		return "VendorSpecific(0x" + strconv.FormatUint(uint64(op), 16) + ")"
	}
	return "Opcode(0x" + strconv.FormatUint(uint64(op), 16) + ")"
}
