package pdu

import "strconv"

// StatusClass is the Status-Class of a Login Response (RFC 7143 §11.13.5).
type StatusClass uint8

// Status classes, RFC 7143 §11.13.5.
const (
	StatusClassSuccess        StatusClass = 0
	StatusClassRedirection    StatusClass = 1
	StatusClassInitiatorError StatusClass = 2
	StatusClassTargetError    StatusClass = 3
)

// String returns the class name of RFC 7143 §11.13.5.
func (c StatusClass) String() string {
	switch c {
	case StatusClassSuccess:
		return "Success"
	case StatusClassRedirection:
		return "Redirection"
	case StatusClassInitiatorError:
		return "Initiator Error"
	case StatusClassTargetError:
		return "Target Error"
	}
	return "StatusClass(0x" + strconv.FormatUint(uint64(c), 16) + ")"
}

// StatusDetail is the Status-Detail of a Login Response; its meaning
// depends on the class (RFC 7143 §11.13.5). [LoginStatus] names the pairs.
type StatusDetail uint8

// String returns the detail as a hexadecimal number.
func (d StatusDetail) String() string { return "0x" + strconv.FormatUint(uint64(d), 16) }

// LoginStatus is Status-Class and Status-Detail together, class in the high
// byte, as RFC 7143 §11.13.5 tabulates them ("0201").
type LoginStatus uint16

// Login status codes, RFC 7143 §11.13.5.
const (
	LoginSuccess                 LoginStatus = 0x0000 // login is proceeding OK
	LoginTargetMovedTemporarily  LoginStatus = 0x0101 // the requested iSCSI Target Name has temporarily moved
	LoginTargetMovedPermanently  LoginStatus = 0x0102 // the requested iSCSI Target Name has permanently moved
	LoginInitiatorError          LoginStatus = 0x0200 // miscellaneous initiator error
	LoginAuthenticationFailure   LoginStatus = 0x0201 // the initiator could not be authenticated
	LoginAuthorizationFailure    LoginStatus = 0x0202 // the initiator is not allowed access to the target
	LoginNotFound                LoginStatus = 0x0203 // the requested target does not exist here
	LoginTargetRemoved           LoginStatus = 0x0204 // the requested target has been removed
	LoginUnsupportedVersion      LoginStatus = 0x0205 // the requested iSCSI version range is not supported
	LoginTooManyConnections      LoginStatus = 0x0206 // too many connections on this session
	LoginMissingParameter        LoginStatus = 0x0207 // a required login parameter is missing
	LoginCantIncludeInSession    LoginStatus = 0x0208 // the target does not support session spanning to this connection
	LoginSessionTypeNotSupported LoginStatus = 0x0209 // the requested session type is not supported
	LoginSessionDoesNotExist     LoginStatus = 0x020a // an attempt to add a connection to a nonexistent session
	LoginInvalidDuringLogin      LoginStatus = 0x020b // invalid request type during login
	LoginTargetError             LoginStatus = 0x0300 // miscellaneous target error
	LoginServiceUnavailable      LoginStatus = 0x0301 // the target or service is temporarily unavailable
	LoginOutOfResources          LoginStatus = 0x0302 // the target has insufficient session, connection or other resources
)

// NewLoginStatus combines a class and a detail.
func NewLoginStatus(c StatusClass, d StatusDetail) LoginStatus {
	return LoginStatus(c)<<8 | LoginStatus(d)
}

// Class returns the Status-Class.
func (s LoginStatus) Class() StatusClass { return StatusClass(s >> 8) }

// Detail returns the Status-Detail.
func (s LoginStatus) Detail() StatusDetail { return StatusDetail(s) }

// String returns the description of RFC 7143 §11.13.5's table, or the class
// and the hexadecimal code for a pair the table does not list.
func (s LoginStatus) String() string {
	switch s {
	case LoginSuccess:
		return "Success"
	case LoginTargetMovedTemporarily:
		return "Target moved temporarily"
	case LoginTargetMovedPermanently:
		return "Target moved permanently"
	case LoginInitiatorError:
		return "Initiator error"
	case LoginAuthenticationFailure:
		return "Authentication failure"
	case LoginAuthorizationFailure:
		return "Authorization failure"
	case LoginNotFound:
		return "Not found"
	case LoginTargetRemoved:
		return "Target removed"
	case LoginUnsupportedVersion:
		return "Unsupported version"
	case LoginTooManyConnections:
		return "Too many connections"
	case LoginMissingParameter:
		return "Missing parameter"
	case LoginCantIncludeInSession:
		return "Can't include in session"
	case LoginSessionTypeNotSupported:
		return "Session type not supported"
	case LoginSessionDoesNotExist:
		return "Session does not exist"
	case LoginInvalidDuringLogin:
		return "Invalid during login"
	case LoginTargetError:
		return "Target error"
	case LoginServiceUnavailable:
		return "Service unavailable"
	case LoginOutOfResources:
		return "Out of resources"
	}
	return s.Class().String() + " 0x" + strconv.FormatUint(uint64(s)|0x10000, 16)[1:]
}

// LoginResponse is a view of the BHS of a Login Response PDU
// (RFC 7143 §11.13).
type LoginResponse BHS

// BHS returns p as its Basic Header Segment.
func (p *LoginResponse) BHS() *BHS { return (*BHS)(p) }

// Init zeroes the header and sets the opcode (RFC 7143 §11.13).
func (p *LoginResponse) Init() {
	*p = LoginResponse{}
	p[0] = byte(OpLoginResponse)
}

// Transit returns the T bit: the target is ready to move to NSG
// (RFC 7143 §11.13.6).
func (p *LoginResponse) Transit() bool { return p[1]&0x80 != 0 }

// SetTransit sets the T bit (RFC 7143 §11.13.6).
func (p *LoginResponse) SetTransit(v bool) { setBit(&p[1], 0x80, v) }

// Continue returns the C bit: the response text continues in the next PDU
// (RFC 7143 §11.13.7).
func (p *LoginResponse) Continue() bool { return p[1]&0x40 != 0 }

// SetContinue sets the C bit (RFC 7143 §11.13.7).
func (p *LoginResponse) SetContinue(v bool) { setBit(&p[1], 0x40, v) }

// CSG returns the current stage (RFC 7143 §11.12.3, §11.13).
func (p *LoginResponse) CSG() Stage { return Stage(p[1] >> 2 & 3) }

// SetCSG sets the current stage (RFC 7143 §11.13).
func (p *LoginResponse) SetCSG(s Stage) { p[1] = p[1]&^0x0c | byte(s&3)<<2 }

// NSG returns the next stage, meaningful only when T is 1
// (RFC 7143 §11.12.3, §11.13).
func (p *LoginResponse) NSG() Stage { return Stage(p[1] & 3) }

// SetNSG sets the next stage (RFC 7143 §11.13).
func (p *LoginResponse) SetNSG(s Stage) { p[1] = p[1]&^0x03 | byte(s&3) }

// VersionMax returns the highest version the target supports
// (RFC 7143 §11.13.1).
func (p *LoginResponse) VersionMax() uint8 { return p[2] }

// SetVersionMax sets Version-max (RFC 7143 §11.13.1).
func (p *LoginResponse) SetVersionMax(v uint8) { p[2] = v }

// VersionActive returns the version chosen for the session
// (RFC 7143 §11.13.2).
func (p *LoginResponse) VersionActive() uint8 { return p[3] }

// SetVersionActive sets Version-active (RFC 7143 §11.13.2).
func (p *LoginResponse) SetVersionActive(v uint8) { p[3] = v }

// ISID returns the ISID echoed from the request (RFC 7143 §11.12.5, §11.13).
func (p *LoginResponse) ISID() ISID { return ISID(p[8:14]) }

// SetISID sets the ISID (RFC 7143 §11.13).
func (p *LoginResponse) SetISID(i ISID) { copy(p[8:14], i[:]) }

// TSIH returns the target-assigned session identifying handle, set by the
// target in the final response of a leading login (RFC 7143 §11.13.3).
func (p *LoginResponse) TSIH() uint16 { return p.BHS().u16(14) }

// SetTSIH sets the TSIH (RFC 7143 §11.13.3).
func (p *LoginResponse) SetTSIH(v uint16) { p.BHS().setU16(14, v) }

// InitiatorTaskTag returns the Initiator Task Tag of the request
// (RFC 7143 §11.13).
func (p *LoginResponse) InitiatorTaskTag() uint32 { return p.BHS().u32(16) }

// SetInitiatorTaskTag sets the Initiator Task Tag (RFC 7143 §11.13).
func (p *LoginResponse) SetInitiatorTaskTag(v uint32) { p.BHS().setU32(16, v) }

// StatSN returns the status sequence number (RFC 7143 §11.13.4).
func (p *LoginResponse) StatSN() uint32 { return p.BHS().u32(24) }

// SetStatSN sets StatSN (RFC 7143 §11.13.4).
func (p *LoginResponse) SetStatSN(v uint32) { p.BHS().setU32(24, v) }

// ExpCmdSN returns the next expected CmdSN (RFC 7143 §11.13).
func (p *LoginResponse) ExpCmdSN() uint32 { return p.BHS().u32(28) }

// SetExpCmdSN sets ExpCmdSN (RFC 7143 §11.13).
func (p *LoginResponse) SetExpCmdSN(v uint32) { p.BHS().setU32(28, v) }

// MaxCmdSN returns the maximum CmdSN the target accepts (RFC 7143 §11.13).
func (p *LoginResponse) MaxCmdSN() uint32 { return p.BHS().u32(32) }

// SetMaxCmdSN sets MaxCmdSN (RFC 7143 §11.13).
func (p *LoginResponse) SetMaxCmdSN(v uint32) { p.BHS().setU32(32, v) }

// StatusClass returns the Status-Class (RFC 7143 §11.13.5).
func (p *LoginResponse) StatusClass() StatusClass { return StatusClass(p[36]) }

// SetStatusClass sets the Status-Class (RFC 7143 §11.13.5).
func (p *LoginResponse) SetStatusClass(c StatusClass) { p[36] = byte(c) }

// StatusDetail returns the Status-Detail (RFC 7143 §11.13.5).
func (p *LoginResponse) StatusDetail() StatusDetail { return StatusDetail(p[37]) }

// SetStatusDetail sets the Status-Detail (RFC 7143 §11.13.5).
func (p *LoginResponse) SetStatusDetail(d StatusDetail) { p[37] = byte(d) }

// Status returns Status-Class and Status-Detail together
// (RFC 7143 §11.13.5).
func (p *LoginResponse) Status() LoginStatus { return LoginStatus(p.BHS().u16(36)) }

// SetStatus sets Status-Class and Status-Detail (RFC 7143 §11.13.5).
func (p *LoginResponse) SetStatus(s LoginStatus) { p.BHS().setU16(36, uint16(s)) }

var loginResponseReserved = fields(rsvByte0Target, []field{{1, 0x30}}, span(20, 24), span(38, 48))

// Validate checks the opcode, that reserved fields are zero, that T and C
// are not both 1 (RFC 7143 §11.13.7), and that CSG, and NSG when T is 1,
// are not the reserved stage 2 (RFC 7143 §11.12.3).
func (p *LoginResponse) Validate() error {
	h := p.BHS()
	if err := h.checkHeader(OpLoginResponse, loginResponseReserved, nil); err != nil {
		return err
	}
	return validateLoginFlags(h)
}
