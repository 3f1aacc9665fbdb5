package pdu

import "strconv"

// RejectReason is the Reason code of a Reject PDU (RFC 7143 §11.17.1).
type RejectReason uint8

// Reject reasons, RFC 7143 §11.17.1.
const (
	RejectReserved               RejectReason = 0x01 // reserved
	RejectDataDigestError        RejectReason = 0x02 // Data (payload) Digest Error
	RejectSNACKReject            RejectReason = 0x03 // SNACK Reject
	RejectProtocolError          RejectReason = 0x04 // Protocol Error
	RejectCommandNotSupported    RejectReason = 0x05 // Command not supported
	RejectImmediateCommandReject RejectReason = 0x06 // Immediate command reject: too many immediate commands
	RejectTaskInProgress         RejectReason = 0x07 // Task in progress
	RejectInvalidDataAck         RejectReason = 0x08 // Invalid data ack
	RejectInvalidPDUField        RejectReason = 0x09 // Invalid PDU field
	RejectLongOperationReject    RejectReason = 0x0a // Long op reject: can't generate Target Transfer Tag, out of resources
	RejectDeprecated             RejectReason = 0x0b // deprecated (Negotiation Reset in RFC 3720)
	RejectWaitingForLogout       RejectReason = 0x0c // Waiting for Logout
)

// String returns the explanation of RFC 7143 §11.17.1's table.
func (r RejectReason) String() string {
	switch r {
	case RejectReserved:
		return "Reserved"
	case RejectDataDigestError:
		return "Data (payload) Digest Error"
	case RejectSNACKReject:
		return "SNACK Reject"
	case RejectProtocolError:
		return "Protocol Error"
	case RejectCommandNotSupported:
		return "Command not supported"
	case RejectImmediateCommandReject:
		return "Immediate command reject - too many immediate commands"
	case RejectTaskInProgress:
		return "Task in progress"
	case RejectInvalidDataAck:
		return "Invalid data ack"
	case RejectInvalidPDUField:
		return "Invalid PDU field"
	case RejectLongOperationReject:
		return "Long op reject - Can't generate Target Transfer Tag - out of resources"
	case RejectDeprecated:
		return "Deprecated; MUST NOT be used"
	case RejectWaitingForLogout:
		return "Waiting for Logout"
	}
	return "RejectReason(0x" + strconv.FormatUint(uint64(r), 16) + ")"
}

// Reject is a view of the BHS of a Reject PDU (RFC 7143 §11.17). Its data
// segment is the complete header of the rejected PDU.
type Reject BHS

// BHS returns p as its Basic Header Segment.
func (p *Reject) BHS() *BHS { return (*BHS)(p) }

// Init zeroes the header, sets the opcode, the bit RFC 7143 §11.17 fixes at
// 1, and the Initiator Task Tag field to 0xffffffff.
func (p *Reject) Init() {
	*p = Reject{}
	p[0] = byte(OpReject)
	p[1] = 0x80
	p.BHS().setU32(16, ReservedTag)
}

// Reason returns the reject reason (RFC 7143 §11.17.1).
func (p *Reject) Reason() RejectReason { return RejectReason(p[2]) }

// SetReason sets the reject reason (RFC 7143 §11.17.1).
func (p *Reject) SetReason(r RejectReason) { p[2] = byte(r) }

// StatSN returns the status sequence number (RFC 7143 §11.17).
func (p *Reject) StatSN() uint32 { return p.BHS().u32(24) }

// SetStatSN sets StatSN (RFC 7143 §11.17).
func (p *Reject) SetStatSN(v uint32) { p.BHS().setU32(24, v) }

// ExpCmdSN returns the next expected CmdSN (RFC 7143 §11.17).
func (p *Reject) ExpCmdSN() uint32 { return p.BHS().u32(28) }

// SetExpCmdSN sets ExpCmdSN (RFC 7143 §11.17).
func (p *Reject) SetExpCmdSN(v uint32) { p.BHS().setU32(28, v) }

// MaxCmdSN returns the maximum CmdSN the target accepts (RFC 7143 §11.17).
func (p *Reject) MaxCmdSN() uint32 { return p.BHS().u32(32) }

// SetMaxCmdSN sets MaxCmdSN (RFC 7143 §11.17).
func (p *Reject) SetMaxCmdSN(v uint32) { p.BHS().setU32(32, v) }

// DataSN returns the DataSN or R2TSN field: when a Data/R2T SNACK is
// rejected with reason Protocol Error, the next DataSN or R2TSN the target
// would send for the task; otherwise reserved (RFC 7143 §11.17.2).
func (p *Reject) DataSN() uint32 { return p.BHS().u32(36) }

// SetDataSN sets the DataSN/R2TSN field (RFC 7143 §11.17.2).
func (p *Reject) SetDataSN(v uint32) { p.BHS().setU32(36, v) }

var rejectReserved = fields(rsvByte0Target, []field{{1, 0x7f}, {3, 0xff}}, span(8, 16), span(20, 24), span(40, 48))

// Validate checks the opcode, the fixed bit, that reserved fields are zero,
// and that the Initiator Task Tag field is 0xffffffff (RFC 7143 §11.17).
func (p *Reject) Validate() error {
	h := p.BHS()
	if err := h.checkHeader(OpReject, rejectReserved, oneFinal); err != nil {
		return err
	}
	if v := h.u32(16); v != ReservedTag {
		return h.invalid(16, v, "Initiator Task Tag field is not 0xffffffff")
	}
	return nil
}
