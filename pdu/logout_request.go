package pdu

import (
	"strconv"
)

// LogoutReason is the Reason Code of a Logout Request (RFC 7143 §11.14.1).
type LogoutReason uint8

// Logout reason codes, RFC 7143 §11.14.1.
const (
	LogoutCloseSession                LogoutReason = 0
	LogoutCloseConnection             LogoutReason = 1
	LogoutRemoveConnectionForRecovery LogoutReason = 2
)

// String returns the reason as RFC 7143 §11.14.1 words it.
func (r LogoutReason) String() string {
	switch r {
	case LogoutCloseSession:
		return "close the session"
	case LogoutCloseConnection:
		return "close the connection"
	case LogoutRemoveConnectionForRecovery:
		return "remove the connection for recovery"
	}
	return "LogoutReason(" + strconv.Itoa(int(r)) + ")"
}

// LogoutRequest is a view of the BHS of a Logout Request PDU
// (RFC 7143 §11.14).
type LogoutRequest BHS

// BHS returns p as its Basic Header Segment.
func (p *LogoutRequest) BHS() *BHS { return (*BHS)(p) }

// Init zeroes the header and sets the opcode and the bit fixed at 1
// (RFC 7143 §11.14).
func (p *LogoutRequest) Init() {
	*p = LogoutRequest{}
	p[0] = byte(OpLogoutRequest)
	p[1] = 0x80
}

// Immediate returns the I bit: the request is for immediate delivery
// (RFC 7143 §11.2.1.1).
func (p *LogoutRequest) Immediate() bool { return p[0]&0x40 != 0 }

// SetImmediate sets Immediate (RFC 7143 §11.2.1.1).
func (p *LogoutRequest) SetImmediate(v bool) { setBit(&p[0], 0x40, v) }

// ReasonCode returns what to log out (RFC 7143 §11.14.1).
func (p *LogoutRequest) ReasonCode() LogoutReason { return LogoutReason(p[1] >> 0 & 0x7f) }

// SetReasonCode sets ReasonCode (RFC 7143 §11.14.1).
func (p *LogoutRequest) SetReasonCode(v LogoutReason) { p[1] = p[1]&^(0x7f<<0) | byte(v)&0x7f<<0 }

// InitiatorTaskTag returns the tag of the logout task (RFC 7143 §11.14).
func (p *LogoutRequest) InitiatorTaskTag() uint32 { return p.BHS().u32(16) }

// SetInitiatorTaskTag sets InitiatorTaskTag (RFC 7143 §11.14).
func (p *LogoutRequest) SetInitiatorTaskTag(v uint32) { p.BHS().setU32(16, v) }

// CID returns the connection to close when ReasonCode is close connection or
// remove connection for recovery, else reserved (RFC 7143 §11.14.3).
func (p *LogoutRequest) CID() uint16 { return p.BHS().u16(20) }

// SetCID sets CID (RFC 7143 §11.14.3).
func (p *LogoutRequest) SetCID(v uint16) { p.BHS().setU16(20, v) }

// CmdSN returns the command sequence number (RFC 7143 §11.14).
func (p *LogoutRequest) CmdSN() uint32 { return p.BHS().u32(24) }

// SetCmdSN sets CmdSN (RFC 7143 §11.14).
func (p *LogoutRequest) SetCmdSN(v uint32) { p.BHS().setU32(24, v) }

// ExpStatSN returns the last StatSN plus one the initiator received on the
// connection (RFC 7143 §11.14.4).
func (p *LogoutRequest) ExpStatSN() uint32 { return p.BHS().u32(28) }

// SetExpStatSN sets ExpStatSN (RFC 7143 §11.14.4).
func (p *LogoutRequest) SetExpStatSN(v uint32) { p.BHS().setU32(28, v) }

var logoutRequestReserved = fields(rsvByte0Initiator, []field{{2, 0xff}, {3, 0xff}}, span(8, 16), span(22, 24), span(32, 48))

// Validate checks the opcode, the fixed bit, that reserved fields are zero,
// that TotalAHSLength and DataSegmentLength are 0 (RFC 7143 §11.14.2), and
// that the reason code is defined (RFC 7143 §11.14.1).
func (p *LogoutRequest) Validate() error {
	h := p.BHS()
	if err := h.checkHeader(OpLogoutRequest, logoutRequestReserved, oneFinal); err != nil {
		return err
	}
	if h[4] != 0 || h.DataSegmentLength() != 0 {
		return h.invalid(4, h.u32(4), "TotalAHSLength and DataSegmentLength must be 0 (RFC 7143 §11.14.2)")
	}
	if r := h[1] & 0x7f; r > byte(LogoutRemoveConnectionForRecovery) {
		return h.protocolViolation(1, uint32(r), "reserved logout reason code")
	}
	return nil
}
