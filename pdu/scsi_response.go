package pdu

import (
	"strconv"
)

// ResponseCode is the Response field of a SCSI Response PDU
// (RFC 7143 §11.4.3). Codes 0x80-0xff are vendor specific; the rest are
// reserved.
type ResponseCode uint8

// Response codes, RFC 7143 §11.4.3.
const (
	ResponseCommandCompleted ResponseCode = 0x00 // Command Completed at Target
	ResponseTargetFailure    ResponseCode = 0x01 // Target Failure
)

// String returns the name of RFC 7143 §11.4.3's table.
func (r ResponseCode) String() string {
	switch r {
	case ResponseCommandCompleted:
		return "Command Completed at Target"
	case ResponseTargetFailure:
		return "Target Failure"
	}
	if r >= 0x80 {
		return "VendorSpecific(0x" + strconv.FormatUint(uint64(r), 16) + ")"
	}
	return "ResponseCode(0x" + strconv.FormatUint(uint64(r), 16) + ")"
}

// SCSIResponse is a view of the BHS of a SCSI Response PDU (RFC 7143 §11.4).
// Its data segment holds sense data or response data (§11.4.7).
type SCSIResponse BHS

// BHS returns p as its Basic Header Segment.
func (p *SCSIResponse) BHS() *BHS { return (*BHS)(p) }

// Init zeroes the header and sets the opcode and the bit fixed at 1
// (RFC 7143 §11.4).
func (p *SCSIResponse) Init() {
	*p = SCSIResponse{}
	p[0] = byte(OpSCSIResponse)
	p[1] = 0x80
}

// BidirectionalReadResidualOverflow returns the o bit: the Read part of a
// bidirectional command had more data than the initiator expected
// (RFC 7143 §11.4.1).
func (p *SCSIResponse) BidirectionalReadResidualOverflow() bool { return p[1]&0x10 != 0 }

// SetBidirectionalReadResidualOverflow sets
// BidirectionalReadResidualOverflow (RFC 7143 §11.4.1).
func (p *SCSIResponse) SetBidirectionalReadResidualOverflow(v bool) { setBit(&p[1], 0x10, v) }

// BidirectionalReadResidualUnderflow returns the u bit: the Read part of a
// bidirectional command had less data than expected (RFC 7143 §11.4.1).
func (p *SCSIResponse) BidirectionalReadResidualUnderflow() bool { return p[1]&0x08 != 0 }

// SetBidirectionalReadResidualUnderflow sets
// BidirectionalReadResidualUnderflow (RFC 7143 §11.4.1).
func (p *SCSIResponse) SetBidirectionalReadResidualUnderflow(v bool) { setBit(&p[1], 0x08, v) }

// ResidualOverflow returns the O bit: some data was not transferred because
// the Expected Data Transfer Length was too small (RFC 7143 §11.4.1).
func (p *SCSIResponse) ResidualOverflow() bool { return p[1]&0x04 != 0 }

// SetResidualOverflow sets ResidualOverflow (RFC 7143 §11.4.1).
func (p *SCSIResponse) SetResidualOverflow(v bool) { setBit(&p[1], 0x04, v) }

// ResidualUnderflow returns the U bit: less data was transferred than the
// Expected Data Transfer Length (RFC 7143 §11.4.1).
func (p *SCSIResponse) ResidualUnderflow() bool { return p[1]&0x02 != 0 }

// SetResidualUnderflow sets ResidualUnderflow (RFC 7143 §11.4.1).
func (p *SCSIResponse) SetResidualUnderflow(v bool) { setBit(&p[1], 0x02, v) }

// Response returns the iSCSI service response (RFC 7143 §11.4.3).
func (p *SCSIResponse) Response() ResponseCode { return ResponseCode(p[2]) }

// SetResponse sets Response (RFC 7143 §11.4.3).
func (p *SCSIResponse) SetResponse(v ResponseCode) { p[2] = byte(v) }

// Status returns the SCSI status byte, valid when Response is
// [ResponseCommandCompleted] (RFC 7143 §11.4.2).
func (p *SCSIResponse) Status() uint8 { return p[3] }

// SetStatus sets Status (RFC 7143 §11.4.2).
func (p *SCSIResponse) SetStatus(v uint8) { p[3] = v }

// InitiatorTaskTag returns the tag of the task (RFC 7143 §11.4).
func (p *SCSIResponse) InitiatorTaskTag() uint32 { return p.BHS().u32(16) }

// SetInitiatorTaskTag sets InitiatorTaskTag (RFC 7143 §11.4).
func (p *SCSIResponse) SetInitiatorTaskTag(v uint32) { p.BHS().setU32(16, v) }

// SNACKTag returns the tag of the R-Data SNACK this response answers, or
// reserved (RFC 7143 §11.4.4).
func (p *SCSIResponse) SNACKTag() uint32 { return p.BHS().u32(20) }

// SetSNACKTag sets SNACKTag (RFC 7143 §11.4.4).
func (p *SCSIResponse) SetSNACKTag(v uint32) { p.BHS().setU32(20, v) }

// StatSN returns the status sequence number (RFC 7143 §11.4.9).
func (p *SCSIResponse) StatSN() uint32 { return p.BHS().u32(24) }

// SetStatSN sets StatSN (RFC 7143 §11.4.9).
func (p *SCSIResponse) SetStatSN(v uint32) { p.BHS().setU32(24, v) }

// ExpCmdSN returns the next expected CmdSN (RFC 7143 §11.4.10).
func (p *SCSIResponse) ExpCmdSN() uint32 { return p.BHS().u32(28) }

// SetExpCmdSN sets ExpCmdSN (RFC 7143 §11.4.10).
func (p *SCSIResponse) SetExpCmdSN(v uint32) { p.BHS().setU32(28, v) }

// MaxCmdSN returns the maximum CmdSN the target accepts (RFC 7143 §11.4.11).
func (p *SCSIResponse) MaxCmdSN() uint32 { return p.BHS().u32(32) }

// SetMaxCmdSN sets MaxCmdSN (RFC 7143 §11.4.11).
func (p *SCSIResponse) SetMaxCmdSN(v uint32) { p.BHS().setU32(32, v) }

// ExpDataSN returns the number of Data-In (read) PDUs the target sent for
// the command, or reserved (RFC 7143 §11.4.8).
func (p *SCSIResponse) ExpDataSN() uint32 { return p.BHS().u32(36) }

// SetExpDataSN sets ExpDataSN (RFC 7143 §11.4.8).
func (p *SCSIResponse) SetExpDataSN(v uint32) { p.BHS().setU32(36, v) }

// BidirectionalReadResidualCount returns the residual of the Read part of a
// bidirectional command when o or u is set (RFC 7143 §11.4.6).
func (p *SCSIResponse) BidirectionalReadResidualCount() uint32 { return p.BHS().u32(40) }

// SetBidirectionalReadResidualCount sets BidirectionalReadResidualCount
// (RFC 7143 §11.4.6).
func (p *SCSIResponse) SetBidirectionalReadResidualCount(v uint32) { p.BHS().setU32(40, v) }

// ResidualCount returns the residual count when O or U is set
// (RFC 7143 §11.4.5).
func (p *SCSIResponse) ResidualCount() uint32 { return p.BHS().u32(44) }

// SetResidualCount sets ResidualCount (RFC 7143 §11.4.5).
func (p *SCSIResponse) SetResidualCount(v uint32) { p.BHS().setU32(44, v) }

var scsiResponseReserved = fields(rsvByte0Target, []field{{1, 0x61}}, span(8, 16))

// Validate checks the opcode, the fixed bit, that reserved fields are zero,
// that o and u, and O and U, are not both 1 (RFC 7143 §11.4.1), and that
// Response is not a reserved code (RFC 7143 §11.4.3).
func (p *SCSIResponse) Validate() error {
	h := p.BHS()
	if err := h.checkHeader(OpSCSIResponse, scsiResponseReserved, oneFinal); err != nil {
		return err
	}
	if h[1]&0x18 == 0x18 {
		return h.protocolViolation(1, uint32(h[1]), "o and u bits both set")
	}
	if h[1]&0x06 == 0x06 {
		return h.protocolViolation(1, uint32(h[1]), "O and U bits both set")
	}
	if r := h[2]; r > 1 && r < 0x80 {
		return h.protocolViolation(2, uint32(r), "reserved response code")
	}
	return nil
}
