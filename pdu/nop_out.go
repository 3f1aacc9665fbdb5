package pdu

// NOPOut is a view of the BHS of a NOP-Out PDU (RFC 7143 §11.18): a ping
// from the initiator, or the answer to a NOP-In.
type NOPOut BHS

// BHS returns p as its Basic Header Segment.
func (p *NOPOut) BHS() *BHS { return (*BHS)(p) }

// Init zeroes the header and sets the opcode and the bit fixed at 1
// (RFC 7143 §11.18).
func (p *NOPOut) Init() {
	*p = NOPOut{}
	p[0] = byte(OpNOPOut)
	p[1] = 0x80
}

// Immediate returns the I bit: the request is for immediate delivery
// (RFC 7143 §11.2.1.1).
func (p *NOPOut) Immediate() bool { return p[0]&0x40 != 0 }

// SetImmediate sets Immediate (RFC 7143 §11.2.1.1).
func (p *NOPOut) SetImmediate(v bool) { setBit(&p[0], 0x40, v) }

// LUN returns bytes 8-15, the Logical Unit Number; a NOP-Out answering a
// NOP-In echoes its LUN (RFC 7143 §11.18).
func (p *NOPOut) LUN() uint64 { return p.BHS().LUN() }

// SetLUN sets LUN (RFC 7143 §11.18).
func (p *NOPOut) SetLUN(v uint64) { p.BHS().SetLUN(v) }

// InitiatorTaskTag returns the tag of a NOP-Out that asks for a NOP-In in
// reply, or 0xffffffff when none is wanted (RFC 7143 §11.18.1).
func (p *NOPOut) InitiatorTaskTag() uint32 { return p.BHS().u32(16) }

// SetInitiatorTaskTag sets InitiatorTaskTag (RFC 7143 §11.18.1).
func (p *NOPOut) SetInitiatorTaskTag(v uint32) { p.BHS().setU32(16, v) }

// TargetTransferTag returns the tag of the NOP-In this NOP-Out answers, or
// 0xffffffff (RFC 7143 §11.18.2).
func (p *NOPOut) TargetTransferTag() uint32 { return p.BHS().u32(20) }

// SetTargetTransferTag sets TargetTransferTag (RFC 7143 §11.18.2).
func (p *NOPOut) SetTargetTransferTag(v uint32) { p.BHS().setU32(20, v) }

// CmdSN returns the command sequence number (RFC 7143 §11.18).
func (p *NOPOut) CmdSN() uint32 { return p.BHS().u32(24) }

// SetCmdSN sets CmdSN (RFC 7143 §11.18).
func (p *NOPOut) SetCmdSN(v uint32) { p.BHS().setU32(24, v) }

// ExpStatSN returns the next expected status sequence number
// (RFC 7143 §11.18).
func (p *NOPOut) ExpStatSN() uint32 { return p.BHS().u32(28) }

// SetExpStatSN sets ExpStatSN (RFC 7143 §11.18).
func (p *NOPOut) SetExpStatSN(v uint32) { p.BHS().setU32(28, v) }

var nopOutReserved = fields(rsvByte0Initiator, []field{{1, 0x7f}, {2, 0xff}, {3, 0xff}}, span(32, 48))

// Validate checks the opcode, the fixed bit, that reserved fields are zero,
// and that the Initiator Task Tag and the Target Transfer Tag are not both
// in use: a NOP-Out either pings (ITT valid, TTT 0xffffffff) or answers a
// NOP-In (ITT 0xffffffff) (RFC 7143 §11.18.1, §11.18.2).
func (p *NOPOut) Validate() error {
	h := p.BHS()
	if err := h.checkHeader(OpNOPOut, nopOutReserved, oneFinal); err != nil {
		return err
	}
	if h.u32(16) != ReservedTag && h.u32(20) != ReservedTag {
		return h.invalid(20, h.u32(20), "Target Transfer Tag set while Initiator Task Tag is not 0xffffffff")
	}
	return nil
}
