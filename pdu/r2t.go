package pdu

// R2T is a view of the BHS of a Ready To Transfer PDU (RFC 7143 §11.8), by
// which the target asks for write data.
type R2T BHS

// BHS returns p as its Basic Header Segment.
func (p *R2T) BHS() *BHS { return (*BHS)(p) }

// Init zeroes the header and sets the opcode and the bit fixed at 1
// (RFC 7143 §11.8).
func (p *R2T) Init() {
	*p = R2T{}
	p[0] = byte(OpR2T)
	p[1] = 0x80
}

// LUN returns bytes 8-15, the Logical Unit Number (RFC 7143 §11.8).
func (p *R2T) LUN() uint64 { return p.BHS().LUN() }

// SetLUN sets LUN (RFC 7143 §11.8).
func (p *R2T) SetLUN(v uint64) { p.BHS().SetLUN(v) }

// InitiatorTaskTag returns the tag of the command (RFC 7143 §11.8).
func (p *R2T) InitiatorTaskTag() uint32 { return p.BHS().u32(16) }

// SetInitiatorTaskTag sets InitiatorTaskTag (RFC 7143 §11.8).
func (p *R2T) SetInitiatorTaskTag(v uint32) { p.BHS().setU32(16, v) }

// TargetTransferTag returns the tag the initiator copies into the Data-Out
// PDUs that answer (RFC 7143 §11.8.5).
func (p *R2T) TargetTransferTag() uint32 { return p.BHS().u32(20) }

// SetTargetTransferTag sets TargetTransferTag (RFC 7143 §11.8.5).
func (p *R2T) SetTargetTransferTag(v uint32) { p.BHS().setU32(20, v) }

// StatSN returns the next StatSN, which this PDU does not advance
// (RFC 7143 §11.8.3).
func (p *R2T) StatSN() uint32 { return p.BHS().u32(24) }

// SetStatSN sets StatSN (RFC 7143 §11.8.3).
func (p *R2T) SetStatSN(v uint32) { p.BHS().setU32(24, v) }

// ExpCmdSN returns the next expected CmdSN (RFC 7143 §11.8).
func (p *R2T) ExpCmdSN() uint32 { return p.BHS().u32(28) }

// SetExpCmdSN sets ExpCmdSN (RFC 7143 §11.8).
func (p *R2T) SetExpCmdSN(v uint32) { p.BHS().setU32(28, v) }

// MaxCmdSN returns the maximum CmdSN the target accepts (RFC 7143 §11.8).
func (p *R2T) MaxCmdSN() uint32 { return p.BHS().u32(32) }

// SetMaxCmdSN sets MaxCmdSN (RFC 7143 §11.8).
func (p *R2T) SetMaxCmdSN(v uint32) { p.BHS().setU32(32, v) }

// R2TSN returns the number of this R2T within the command, from 0
// (RFC 7143 §11.8.2).
func (p *R2T) R2TSN() uint32 { return p.BHS().u32(36) }

// SetR2TSN sets R2TSN (RFC 7143 §11.8.2).
func (p *R2T) SetR2TSN(v uint32) { p.BHS().setU32(36, v) }

// BufferOffset returns the offset of the requested data (RFC 7143 §11.8.4).
func (p *R2T) BufferOffset() uint32 { return p.BHS().u32(40) }

// SetBufferOffset sets BufferOffset (RFC 7143 §11.8.4).
func (p *R2T) SetBufferOffset(v uint32) { p.BHS().setU32(40, v) }

// DesiredDataTransferLength returns the number of bytes requested, never 0
// and at most MaxBurstLength (RFC 7143 §11.8.4).
func (p *R2T) DesiredDataTransferLength() uint32 { return p.BHS().u32(44) }

// SetDesiredDataTransferLength sets DesiredDataTransferLength
// (RFC 7143 §11.8.4).
func (p *R2T) SetDesiredDataTransferLength(v uint32) { p.BHS().setU32(44, v) }

var r2tReserved = fields(rsvByte0Target, []field{{1, 0x7f}, {2, 0xff}, {3, 0xff}})

// Validate checks the opcode, the fixed bit, that reserved fields are zero,
// that TotalAHSLength and DataSegmentLength are 0 (RFC 7143 §11.8.1), that
// Desired Data Transfer Length is not 0 (RFC 7143 §11.8.4), and that the
// Target Transfer Tag is not the reserved 0xffffffff (RFC 7143 §11.8.5).
func (p *R2T) Validate() error {
	h := p.BHS()
	if err := h.checkHeader(OpR2T, r2tReserved, oneFinal); err != nil {
		return err
	}
	if h[4] != 0 || h.DataSegmentLength() != 0 {
		return h.invalid(4, h.u32(4), "TotalAHSLength and DataSegmentLength must be 0 (RFC 7143 §11.8.1)")
	}
	if h.u32(44) == 0 {
		return h.invalid(44, 0, "Desired Data Transfer Length is 0")
	}
	if h.u32(20) == ReservedTag {
		return h.invalid(20, ReservedTag, "Target Transfer Tag is the reserved 0xffffffff")
	}
	return nil
}
