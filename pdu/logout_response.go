package pdu

import (
	"strconv"
)

// LogoutResponseCode is the Response field of a Logout Response
// (RFC 7143 §11.15.1).
type LogoutResponseCode uint8

// Logout responses, RFC 7143 §11.15.1.
const (
	LogoutClosedSuccessfully   LogoutResponseCode = 0
	LogoutCIDNotFound          LogoutResponseCode = 1
	LogoutRecoveryNotSupported LogoutResponseCode = 2
	LogoutCleanupFailed        LogoutResponseCode = 3
)

// String returns the description of RFC 7143 §11.15.1.
func (r LogoutResponseCode) String() string {
	switch r {
	case LogoutClosedSuccessfully:
		return "connection or session closed successfully"
	case LogoutCIDNotFound:
		return "CID not found"
	case LogoutRecoveryNotSupported:
		return "connection recovery is not supported"
	case LogoutCleanupFailed:
		return "cleanup failed for various reasons"
	}
	return "LogoutResponseCode(" + strconv.Itoa(int(r)) + ")"
}

// LogoutResponse is a view of the BHS of a Logout Response PDU
// (RFC 7143 §11.15).
type LogoutResponse BHS

// BHS returns p as its Basic Header Segment.
func (p *LogoutResponse) BHS() *BHS { return (*BHS)(p) }

// Init zeroes the header and sets the opcode and the bit fixed at 1
// (RFC 7143 §11.15).
func (p *LogoutResponse) Init() {
	*p = LogoutResponse{}
	p[0] = byte(OpLogoutResponse)
	p[1] = 0x80
}

// Response returns the outcome of the logout (RFC 7143 §11.15.1).
func (p *LogoutResponse) Response() LogoutResponseCode { return LogoutResponseCode(p[2]) }

// SetResponse sets Response (RFC 7143 §11.15.1).
func (p *LogoutResponse) SetResponse(v LogoutResponseCode) { p[2] = byte(v) }

// InitiatorTaskTag returns the tag of the logout request (RFC 7143 §11.15).
func (p *LogoutResponse) InitiatorTaskTag() uint32 { return p.BHS().u32(16) }

// SetInitiatorTaskTag sets InitiatorTaskTag (RFC 7143 §11.15).
func (p *LogoutResponse) SetInitiatorTaskTag(v uint32) { p.BHS().setU32(16, v) }

// StatSN returns the status sequence number (RFC 7143 §11.15).
func (p *LogoutResponse) StatSN() uint32 { return p.BHS().u32(24) }

// SetStatSN sets StatSN (RFC 7143 §11.15).
func (p *LogoutResponse) SetStatSN(v uint32) { p.BHS().setU32(24, v) }

// ExpCmdSN returns the next expected CmdSN (RFC 7143 §11.15).
func (p *LogoutResponse) ExpCmdSN() uint32 { return p.BHS().u32(28) }

// SetExpCmdSN sets ExpCmdSN (RFC 7143 §11.15).
func (p *LogoutResponse) SetExpCmdSN(v uint32) { p.BHS().setU32(28, v) }

// MaxCmdSN returns the maximum CmdSN the target accepts (RFC 7143 §11.15).
func (p *LogoutResponse) MaxCmdSN() uint32 { return p.BHS().u32(32) }

// SetMaxCmdSN sets MaxCmdSN (RFC 7143 §11.15).
func (p *LogoutResponse) SetMaxCmdSN(v uint32) { p.BHS().setU32(32, v) }

// Time2Wait returns the minimum number of seconds to wait before
// attempting task reassignment (Response 0 at ErrorRecoveryLevel 2) or a
// new logout (Response 2 or 3) (RFC 7143 §11.15.3).
func (p *LogoutResponse) Time2Wait() uint16 { return p.BHS().u16(40) }

// SetTime2Wait sets Time2Wait (RFC 7143 §11.15.3).
func (p *LogoutResponse) SetTime2Wait(v uint16) { p.BHS().setU16(40, v) }

// Time2Retain returns the maximum number of seconds after Time2Wait that the
// target keeps the connection state for recovery (RFC 7143 §11.15.4).
func (p *LogoutResponse) Time2Retain() uint16 { return p.BHS().u16(42) }

// SetTime2Retain sets Time2Retain (RFC 7143 §11.15.4).
func (p *LogoutResponse) SetTime2Retain(v uint16) { p.BHS().setU16(42, v) }

var logoutResponseReserved = fields(rsvByte0Target, []field{{1, 0x7f}, {3, 0xff}}, span(8, 16), span(20, 24), span(36, 40), span(44, 48))

// Validate checks the opcode, the fixed bit, that reserved fields are zero,
// that TotalAHSLength and DataSegmentLength are 0 (RFC 7143 §11.15.2), and
// that the response code is defined (RFC 7143 §11.15.1).
func (p *LogoutResponse) Validate() error {
	h := p.BHS()
	if err := h.checkHeader(OpLogoutResponse, logoutResponseReserved, oneFinal); err != nil {
		return err
	}
	if h[4] != 0 || h.DataSegmentLength() != 0 {
		return h.invalid(4, h.u32(4), "TotalAHSLength and DataSegmentLength must be 0 (RFC 7143 §11.15.2)")
	}
	if r := h[2]; r > byte(LogoutCleanupFailed) {
		return h.protocolViolation(2, uint32(r), "reserved logout response code")
	}
	return nil
}
