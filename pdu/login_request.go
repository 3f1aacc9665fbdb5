package pdu

import "strconv"

// Stage is a login stage, the 2-bit CSG and NSG fields of Login Request and
// Login Response PDUs (RFC 7143 §11.12.3). Value 2 is reserved.
type Stage uint8

// Login stages, RFC 7143 §11.12.3.
const (
	SecurityNegotiation         Stage = 0
	LoginOperationalNegotiation Stage = 1
	FullFeaturePhase            Stage = 3
)

// String returns the stage name of RFC 7143 §11.12.3.
func (s Stage) String() string {
	switch s {
	case SecurityNegotiation:
		return "SecurityNegotiation"
	case LoginOperationalNegotiation:
		return "LoginOperationalNegotiation"
	case FullFeaturePhase:
		return "FullFeaturePhase"
	}
	return "Stage(" + strconv.Itoa(int(s)) + ")"
}

// LoginRequest is a view of the BHS of a Login Request PDU
// (RFC 7143 §11.12). Obtain one with [BHS.LoginRequest] or
// (*pdu.LoginRequest)(h).
type LoginRequest BHS

// BHS returns p as its Basic Header Segment.
func (p *LoginRequest) BHS() *BHS { return (*BHS)(p) }

// Init zeroes the header and sets the opcode and the I bit, which is always
// 1 in a Login Request (RFC 7143 §11.12).
func (p *LoginRequest) Init() {
	*p = LoginRequest{}
	p[0] = 0x40 | byte(OpLoginRequest)
}

// Transit returns the T bit: the initiator is ready to move to NSG
// (RFC 7143 §11.12.1).
func (p *LoginRequest) Transit() bool { return p[1]&0x80 != 0 }

// SetTransit sets the T bit (RFC 7143 §11.12.1).
func (p *LoginRequest) SetTransit(v bool) { setBit(&p[1], 0x80, v) }

// Continue returns the C bit: the text of this stage continues in the next
// PDU (RFC 7143 §11.12.2). T and C are never both 1.
func (p *LoginRequest) Continue() bool { return p[1]&0x40 != 0 }

// SetContinue sets the C bit (RFC 7143 §11.12.2).
func (p *LoginRequest) SetContinue(v bool) { setBit(&p[1], 0x40, v) }

// CSG returns the current stage (RFC 7143 §11.12.3).
func (p *LoginRequest) CSG() Stage { return Stage(p[1] >> 2 & 3) }

// SetCSG sets the current stage (RFC 7143 §11.12.3).
func (p *LoginRequest) SetCSG(s Stage) { p[1] = p[1]&^0x0c | byte(s&3)<<2 }

// NSG returns the next stage, meaningful only when T is 1
// (RFC 7143 §11.12.3).
func (p *LoginRequest) NSG() Stage { return Stage(p[1] & 3) }

// SetNSG sets the next stage (RFC 7143 §11.12.3).
func (p *LoginRequest) SetNSG(s Stage) { p[1] = p[1]&^0x03 | byte(s&3) }

// VersionMax returns the highest protocol version the initiator supports;
// RFC 7143 §11.12.4.1; §11.12.4 defines version 0x00.
func (p *LoginRequest) VersionMax() uint8 { return p[2] }

// SetVersionMax sets Version-max (RFC 7143 §11.12.4.1).
func (p *LoginRequest) SetVersionMax(v uint8) { p[2] = v }

// VersionMin returns the lowest protocol version the initiator supports
// (RFC 7143 §11.12.4.2).
func (p *LoginRequest) VersionMin() uint8 { return p[3] }

// SetVersionMin sets Version-min (RFC 7143 §11.12.4.2).
func (p *LoginRequest) SetVersionMin(v uint8) { p[3] = v }

// ISID returns the initiator part of the session identifier
// (RFC 7143 §11.12.5).
func (p *LoginRequest) ISID() ISID { return ISID(p[8:14]) }

// SetISID sets the ISID (RFC 7143 §11.12.5).
func (p *LoginRequest) SetISID(i ISID) { copy(p[8:14], i[:]) }

// TSIH returns the target-assigned session identifying handle: 0 for the
// leading login of a new session, the session's TSIH otherwise
// (RFC 7143 §11.12.6).
func (p *LoginRequest) TSIH() uint16 { return p.BHS().u16(14) }

// SetTSIH sets the TSIH (RFC 7143 §11.12.6).
func (p *LoginRequest) SetTSIH(v uint16) { p.BHS().setU16(14, v) }

// InitiatorTaskTag returns the Initiator Task Tag (RFC 7143 §11.12).
func (p *LoginRequest) InitiatorTaskTag() uint32 { return p.BHS().u32(16) }

// SetInitiatorTaskTag sets the Initiator Task Tag (RFC 7143 §11.12).
func (p *LoginRequest) SetInitiatorTaskTag(v uint32) { p.BHS().setU32(16, v) }

// CID returns the connection ID (RFC 7143 §11.12.7).
func (p *LoginRequest) CID() uint16 { return p.BHS().u16(20) }

// SetCID sets the connection ID (RFC 7143 §11.12.7).
func (p *LoginRequest) SetCID(v uint16) { p.BHS().setU16(20, v) }

// CmdSN returns the command sequence number (RFC 7143 §11.12.8).
func (p *LoginRequest) CmdSN() uint32 { return p.BHS().u32(24) }

// SetCmdSN sets CmdSN (RFC 7143 §11.12.8).
func (p *LoginRequest) SetCmdSN(v uint32) { p.BHS().setU32(24, v) }

// ExpStatSN returns the next expected status sequence number, or the last
// StatSN of the old connection when restarting one (RFC 7143 §11.12.9).
func (p *LoginRequest) ExpStatSN() uint32 { return p.BHS().u32(28) }

// SetExpStatSN sets ExpStatSN (RFC 7143 §11.12.9).
func (p *LoginRequest) SetExpStatSN(v uint32) { p.BHS().setU32(28, v) }

var (
	loginRequestReserved = fields([]field{{0, 0x80}, {1, 0x30}}, span(22, 24), span(32, 48))
	loginRequestOne      = []field{{0, 0x40}}
)

// Validate checks the opcode, that reserved fields are zero, that the I
// bit is 1 (RFC 7143 §11.12), that T and C are not both 1
// (RFC 7143 §11.12.2), and that CSG, and NSG when T is 1, are not the
// reserved stage 2 (RFC 7143 §11.12.3).
func (p *LoginRequest) Validate() error {
	h := p.BHS()
	if err := h.checkHeader(OpLoginRequest, loginRequestReserved, loginRequestOne); err != nil {
		return err
	}
	return validateLoginFlags(h)
}

func validateLoginFlags(h *BHS) error {
	t, c := h[1]&0x80 != 0, h[1]&0x40 != 0
	if t && c {
		return h.invalid(1, uint32(h[1]), "T and C bits both set")
	}
	if Stage(h[1]>>2&3) == 2 {
		return h.protocolViolation(1, uint32(h[1]), "CSG is the reserved stage 2")
	}
	if t && Stage(h[1]&3) == 2 {
		return h.protocolViolation(1, uint32(h[1]), "NSG is the reserved stage 2")
	}
	return nil
}
