package pdu

// TextRequest is a view of the BHS of a Text Request PDU (RFC 7143 §11.10),
// used to negotiate parameters in full feature phase and for SendTargets
// discovery.
type TextRequest BHS

// BHS returns p as its Basic Header Segment.
func (p *TextRequest) BHS() *BHS { return (*BHS)(p) }

// Init zeroes the header and sets the opcode (RFC 7143 §11.10).
func (p *TextRequest) Init() {
	*p = TextRequest{}
	p[0] = byte(OpTextRequest)
}

// Final returns the F bit: the last PDU of the request text
// (RFC 7143 §11.10.1).
func (p *TextRequest) Final() bool { return p[1]&0x80 != 0 }

// SetFinal sets Final (RFC 7143 §11.10.1).
func (p *TextRequest) SetFinal(v bool) { setBit(&p[1], 0x80, v) }

// Continue returns the C bit: the text continues in the next PDU; F and C
// are never both 1 (RFC 7143 §11.10.2).
func (p *TextRequest) Continue() bool { return p[1]&0x40 != 0 }

// SetContinue sets Continue (RFC 7143 §11.10.2).
func (p *TextRequest) SetContinue(v bool) { setBit(&p[1], 0x40, v) }

// Immediate returns the I bit: the request is for immediate delivery
// (RFC 7143 §11.2.1.1).
func (p *TextRequest) Immediate() bool { return p[0]&0x40 != 0 }

// SetImmediate sets Immediate (RFC 7143 §11.2.1.1).
func (p *TextRequest) SetImmediate(v bool) { setBit(&p[0], 0x40, v) }

// LUN returns bytes 8-15, the Logical Unit Number or reserved
// (RFC 7143 §11.10).
func (p *TextRequest) LUN() uint64 { return p.BHS().LUN() }

// SetLUN sets LUN (RFC 7143 §11.10).
func (p *TextRequest) SetLUN(v uint64) { p.BHS().SetLUN(v) }

// InitiatorTaskTag returns the tag of the text negotiation task
// (RFC 7143 §11.10.3).
func (p *TextRequest) InitiatorTaskTag() uint32 { return p.BHS().u32(16) }

// SetInitiatorTaskTag sets InitiatorTaskTag (RFC 7143 §11.10.3).
func (p *TextRequest) SetInitiatorTaskTag(v uint32) { p.BHS().setU32(16, v) }

// TargetTransferTag returns 0xffffffff to start a negotiation, or the tag of
// the Text Response this request continues (RFC 7143 §11.10.4).
func (p *TextRequest) TargetTransferTag() uint32 { return p.BHS().u32(20) }

// SetTargetTransferTag sets TargetTransferTag (RFC 7143 §11.10.4).
func (p *TextRequest) SetTargetTransferTag(v uint32) { p.BHS().setU32(20, v) }

// CmdSN returns the command sequence number (RFC 7143 §11.10).
func (p *TextRequest) CmdSN() uint32 { return p.BHS().u32(24) }

// SetCmdSN sets CmdSN (RFC 7143 §11.10).
func (p *TextRequest) SetCmdSN(v uint32) { p.BHS().setU32(24, v) }

// ExpStatSN returns the next expected status sequence number
// (RFC 7143 §11.10).
func (p *TextRequest) ExpStatSN() uint32 { return p.BHS().u32(28) }

// SetExpStatSN sets ExpStatSN (RFC 7143 §11.10).
func (p *TextRequest) SetExpStatSN(v uint32) { p.BHS().setU32(28, v) }

var textRequestReserved = fields(rsvByte0Initiator, []field{{1, 0x3f}, {2, 0xff}, {3, 0xff}}, span(32, 48))

// Validate checks the opcode, that reserved fields are zero, and that F and
// C are not both 1 (RFC 7143 §11.10.2).
func (p *TextRequest) Validate() error {
	h := p.BHS()
	if err := h.checkHeader(OpTextRequest, textRequestReserved, nil); err != nil {
		return err
	}
	if h[1]&0xc0 == 0xc0 {
		return h.invalid(1, uint32(h[1]), "F and C bits both set")
	}
	return nil
}
