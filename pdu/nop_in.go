package pdu

// NOPIn is a view of the BHS of a NOP-In PDU (RFC 7143 §11.19): the answer
// to a NOP-Out, or a ping from the target.
type NOPIn BHS

// BHS returns p as its Basic Header Segment.
func (p *NOPIn) BHS() *BHS { return (*BHS)(p) }

// Init zeroes the header and sets the opcode and the bit fixed at 1
// (RFC 7143 §11.19).
func (p *NOPIn) Init() {
	*p = NOPIn{}
	p[0] = byte(OpNOPIn)
	p[1] = 0x80
}

// LUN returns bytes 8-15, the Logical Unit Number when the target asks for a
// reply, else reserved (RFC 7143 §11.19.3).
func (p *NOPIn) LUN() uint64 { return p.BHS().LUN() }

// SetLUN sets LUN (RFC 7143 §11.19.3).
func (p *NOPIn) SetLUN(v uint64) { p.BHS().SetLUN(v) }

// InitiatorTaskTag returns the tag of the NOP-Out this answers, or
// 0xffffffff when the target pings (RFC 7143 §11.19).
func (p *NOPIn) InitiatorTaskTag() uint32 { return p.BHS().u32(16) }

// SetInitiatorTaskTag sets InitiatorTaskTag (RFC 7143 §11.19).
func (p *NOPIn) SetInitiatorTaskTag(v uint32) { p.BHS().setU32(16, v) }

// TargetTransferTag returns the tag a target ping wants echoed in a NOP-Out,
// or 0xffffffff (RFC 7143 §11.19.1).
func (p *NOPIn) TargetTransferTag() uint32 { return p.BHS().u32(20) }

// SetTargetTransferTag sets TargetTransferTag (RFC 7143 §11.19.1).
func (p *NOPIn) SetTargetTransferTag(v uint32) { p.BHS().setU32(20, v) }

// StatSN returns the status sequence number (RFC 7143 §11.19.2).
func (p *NOPIn) StatSN() uint32 { return p.BHS().u32(24) }

// SetStatSN sets StatSN (RFC 7143 §11.19.2).
func (p *NOPIn) SetStatSN(v uint32) { p.BHS().setU32(24, v) }

// ExpCmdSN returns the next expected CmdSN (RFC 7143 §11.19).
func (p *NOPIn) ExpCmdSN() uint32 { return p.BHS().u32(28) }

// SetExpCmdSN sets ExpCmdSN (RFC 7143 §11.19).
func (p *NOPIn) SetExpCmdSN(v uint32) { p.BHS().setU32(28, v) }

// MaxCmdSN returns the maximum CmdSN the target accepts (RFC 7143 §11.19).
func (p *NOPIn) MaxCmdSN() uint32 { return p.BHS().u32(32) }

// SetMaxCmdSN sets MaxCmdSN (RFC 7143 §11.19).
func (p *NOPIn) SetMaxCmdSN(v uint32) { p.BHS().setU32(32, v) }

var nopInReserved = fields(rsvByte0Target, []field{{1, 0x7f}, {2, 0xff}, {3, 0xff}}, span(36, 48))

// Validate checks the opcode, the fixed bit, that reserved fields are zero,
// and that the Initiator Task Tag and the Target Transfer Tag are not both
// in use (RFC 7143 §11.19.1).
func (p *NOPIn) Validate() error {
	h := p.BHS()
	if err := h.checkHeader(OpNOPIn, nopInReserved, oneFinal); err != nil {
		return err
	}
	if h.u32(16) != ReservedTag && h.u32(20) != ReservedTag {
		return h.invalid(20, h.u32(20), "Target Transfer Tag set while Initiator Task Tag is not 0xffffffff")
	}
	return nil
}
