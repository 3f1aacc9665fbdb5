package pdu

// TextResponse is a view of the BHS of a Text Response PDU
// (RFC 7143 §11.11).
type TextResponse BHS

// BHS returns p as its Basic Header Segment.
func (p *TextResponse) BHS() *BHS { return (*BHS)(p) }

// Init zeroes the header and sets the opcode (RFC 7143 §11.11).
func (p *TextResponse) Init() {
	*p = TextResponse{}
	p[0] = byte(OpTextResponse)
}

// Final returns the F bit: the target has finished the whole operation
// (RFC 7143 §11.11.1).
func (p *TextResponse) Final() bool { return p[1]&0x80 != 0 }

// SetFinal sets Final (RFC 7143 §11.11.1).
func (p *TextResponse) SetFinal(v bool) { setBit(&p[1], 0x80, v) }

// Continue returns the C bit: the text continues in the next PDU; F and C
// are never both 1 (RFC 7143 §11.11.2).
func (p *TextResponse) Continue() bool { return p[1]&0x40 != 0 }

// SetContinue sets Continue (RFC 7143 §11.11.2).
func (p *TextResponse) SetContinue(v bool) { setBit(&p[1], 0x40, v) }

// LUN returns bytes 8-15, the Logical Unit Number or reserved
// (RFC 7143 §11.11).
func (p *TextResponse) LUN() uint64 { return p.BHS().LUN() }

// SetLUN sets LUN (RFC 7143 §11.11).
func (p *TextResponse) SetLUN(v uint64) { p.BHS().SetLUN(v) }

// InitiatorTaskTag returns the tag of the text negotiation task
// (RFC 7143 §11.11.3).
func (p *TextResponse) InitiatorTaskTag() uint32 { return p.BHS().u32(16) }

// SetInitiatorTaskTag sets InitiatorTaskTag (RFC 7143 §11.11.3).
func (p *TextResponse) SetInitiatorTaskTag(v uint32) { p.BHS().setU32(16, v) }

// TargetTransferTag returns the tag the initiator echoes to continue, or
// 0xffffffff when the response is final (RFC 7143 §11.11.4).
func (p *TextResponse) TargetTransferTag() uint32 { return p.BHS().u32(20) }

// SetTargetTransferTag sets TargetTransferTag (RFC 7143 §11.11.4).
func (p *TextResponse) SetTargetTransferTag(v uint32) { p.BHS().setU32(20, v) }

// StatSN returns the status sequence number (RFC 7143 §11.11.5).
func (p *TextResponse) StatSN() uint32 { return p.BHS().u32(24) }

// SetStatSN sets StatSN (RFC 7143 §11.11.5).
func (p *TextResponse) SetStatSN(v uint32) { p.BHS().setU32(24, v) }

// ExpCmdSN returns the next expected CmdSN (RFC 7143 §11.11).
func (p *TextResponse) ExpCmdSN() uint32 { return p.BHS().u32(28) }

// SetExpCmdSN sets ExpCmdSN (RFC 7143 §11.11).
func (p *TextResponse) SetExpCmdSN(v uint32) { p.BHS().setU32(28, v) }

// MaxCmdSN returns the maximum CmdSN the target accepts (RFC 7143 §11.11).
func (p *TextResponse) MaxCmdSN() uint32 { return p.BHS().u32(32) }

// SetMaxCmdSN sets MaxCmdSN (RFC 7143 §11.11).
func (p *TextResponse) SetMaxCmdSN(v uint32) { p.BHS().setU32(32, v) }

var textResponseReserved = fields(rsvByte0Target, []field{{1, 0x3f}, {2, 0xff}, {3, 0xff}}, span(36, 48))

// Validate checks the opcode, that reserved fields are zero, and that F and
// C are not both 1 (RFC 7143 §11.11.2).
func (p *TextResponse) Validate() error {
	h := p.BHS()
	if err := h.checkHeader(OpTextResponse, textResponseReserved, nil); err != nil {
		return err
	}
	if h[1]&0xc0 == 0xc0 {
		return h.invalid(1, uint32(h[1]), "F and C bits both set")
	}
	return nil
}
