package pdu

import (
	"strconv"
)

// SNACKType is the Type field of a SNACK Request (RFC 7143 §11.16.1).
type SNACKType uint8

// SNACK types, RFC 7143 §11.16.1.
const (
	SNACKDataR2T SNACKType = 0 // Data/R2T SNACK: asks for Data-In or R2T PDUs again
	SNACKStatus  SNACKType = 1 // Status SNACK: asks for responses again
	SNACKDataACK SNACKType = 2 // DataACK: positive acknowledgment of Data-In
	SNACKRData   SNACKType = 3 // R-Data SNACK: asks for Data-In again, resegmented
)

// String returns the name of RFC 7143 §11.16.1.
func (t SNACKType) String() string {
	switch t {
	case SNACKDataR2T:
		return "Data/R2T"
	case SNACKStatus:
		return "Status"
	case SNACKDataACK:
		return "DataACK"
	case SNACKRData:
		return "R-Data"
	}
	return "SNACKType(" + strconv.Itoa(int(t)) + ")"
}

// SNACKRequest is a view of the BHS of a SNACK Request PDU
// (RFC 7143 §11.16), by which the initiator asks for PDUs again or
// acknowledges data.
type SNACKRequest BHS

// BHS returns p as its Basic Header Segment.
func (p *SNACKRequest) BHS() *BHS { return (*BHS)(p) }

// Init zeroes the header and sets the opcode and the bit fixed at 1
// (RFC 7143 §11.16).
func (p *SNACKRequest) Init() {
	*p = SNACKRequest{}
	p[0] = byte(OpSNACKRequest)
	p[1] = 0x80
}

// Type returns the SNACK function (RFC 7143 §11.16.1).
func (p *SNACKRequest) Type() SNACKType { return SNACKType(p[1] >> 0 & 0x0f) }

// SetType sets Type (RFC 7143 §11.16.1).
func (p *SNACKRequest) SetType(v SNACKType) { p[1] = p[1]&^(0x0f<<0) | byte(v)&0x0f<<0 }

// LUN returns bytes 8-15, the Logical Unit Number for a DataACK, else
// reserved (RFC 7143 §11.16.5).
func (p *SNACKRequest) LUN() uint64 { return p.BHS().LUN() }

// SetLUN sets LUN (RFC 7143 §11.16).
func (p *SNACKRequest) SetLUN(v uint64) { p.BHS().SetLUN(v) }

// InitiatorTaskTag returns the tag of the task, or 0xffffffff for a Status
// SNACK or a DataACK (RFC 7143 §11.16.4).
func (p *SNACKRequest) InitiatorTaskTag() uint32 { return p.BHS().u32(16) }

// SetInitiatorTaskTag sets InitiatorTaskTag (RFC 7143 §11.16.4).
func (p *SNACKRequest) SetInitiatorTaskTag(v uint32) { p.BHS().setU32(16, v) }

// TargetTransferTag returns for a DataACK, the Target Transfer Tag of the
// acknowledged Data-In; for an R-Data SNACK, the SNACK Tag; otherwise
// 0xffffffff (RFC 7143 §11.16.5).
func (p *SNACKRequest) TargetTransferTag() uint32 { return p.BHS().u32(20) }

// SetTargetTransferTag sets TargetTransferTag (RFC 7143 §11.16.5).
func (p *SNACKRequest) SetTargetTransferTag(v uint32) { p.BHS().setU32(20, v) }

// ExpStatSN returns the next expected status sequence number
// (RFC 7143 §11.16).
func (p *SNACKRequest) ExpStatSN() uint32 { return p.BHS().u32(28) }

// SetExpStatSN sets ExpStatSN (RFC 7143 §11.16).
func (p *SNACKRequest) SetExpStatSN(v uint32) { p.BHS().setU32(28, v) }

// BegRun returns the first DataSN, R2TSN or StatSN asked for again, or for a
// DataACK the next DataSN expected (RFC 7143 §11.16.6).
func (p *SNACKRequest) BegRun() uint32 { return p.BHS().u32(40) }

// SetBegRun sets BegRun (RFC 7143 §11.16.6).
func (p *SNACKRequest) SetBegRun(v uint32) { p.BHS().setU32(40, v) }

// RunLength returns the number of PDUs asked for again, 0 for all from
// BegRun on (RFC 7143 §11.16.7).
func (p *SNACKRequest) RunLength() uint32 { return p.BHS().u32(44) }

// SetRunLength sets RunLength (RFC 7143 §11.16.7).
func (p *SNACKRequest) SetRunLength(v uint32) { p.BHS().setU32(44, v) }

var snackRequestReserved = fields(rsvByte0Target, []field{{1, 0x70}, {2, 0xff}, {3, 0xff}}, span(24, 28), span(32, 40))

// Validate checks the opcode, the fixed bit, that reserved fields are zero,
// that Type is defined (RFC 7143 §11.16.1), that a Status SNACK carries
// the Initiator Task Tag 0xffffffff (RFC 7143 §11.16.4), that Data/R2T and
// Status SNACKs carry the Target Transfer Tag 0xffffffff and an R-Data
// SNACK a SNACK Tag other than 0 and 0xffffffff (RFC 7143 §11.16.5), that
// BegRun is 0 for an R-Data SNACK (RFC 7143 §11.16.6), and that RunLength
// is 0 for DataACK and R-Data SNACKs (RFC 7143 §11.16.7).
func (p *SNACKRequest) Validate() error {
	h := p.BHS()
	if err := h.checkHeader(OpSNACKRequest, snackRequestReserved, oneFinal); err != nil {
		return err
	}
	t := SNACKType(h[1] & 0x0f)
	if t > SNACKRData {
		return h.protocolViolation(1, uint32(t), "reserved SNACK type")
	}
	itt, ttt := h.u32(16), h.u32(20)
	switch t {
	case SNACKStatus:
		if itt != ReservedTag {
			return h.invalid(16, itt, "Initiator Task Tag of a Status SNACK is not 0xffffffff")
		}
		fallthrough
	case SNACKDataR2T:
		if ttt != ReservedTag {
			return h.invalid(20, ttt, "Target Transfer Tag of a "+t.String()+" SNACK is not 0xffffffff")
		}
	case SNACKDataACK:
		// RFC 7143 §11.16.4: the Initiator Task Tag of a DataACK is
		// 0xffffffff, as for a Status SNACK.
		if itt != ReservedTag {
			return h.invalid(16, itt, "Initiator Task Tag of a DataACK SNACK is not 0xffffffff")
		}
	case SNACKRData:
		if ttt == 0 || ttt == ReservedTag {
			return h.invalid(20, ttt, "SNACK Tag of an R-Data SNACK is 0 or 0xffffffff")
		}
		if h.u32(40) != 0 {
			return h.invalid(40, h.u32(40), "BegRun is not 0 in an R-Data SNACK")
		}
	}
	if (t == SNACKDataACK || t == SNACKRData) && h.u32(44) != 0 {
		return h.invalid(44, h.u32(44), "RunLength is not 0 in a "+t.String()+" SNACK")
	}
	return nil
}
