package login

import (
	"errors"
	"fmt"

	"github.com/go-iscsi/iscsi/pdu"
)

// ErrProtocol: the peer broke a rule of the login phase (RFC 7143 §6.3,
// §11.12, §11.13): a PDU of the wrong kind, a changed ITT, ISID or CID, a
// stage out of order, a transit the rules forbid. On the initiator side the
// connection must be dropped; on the target side it is answered with a
// failed login. Errors wrapping it say what was seen.
var ErrProtocol = errors.New("login: protocol violation")

// ErrLoginDone: the machine was fed a PDU after the login ended.
var ErrLoginDone = errors.New("login: already ended")

// LoginError is a login that ended with a Status-Class other than success
// (RFC 7143 §11.13.5). On the initiator side it reports the target's
// status; on the target side the status sent and the cause (Err).
type LoginError struct {
	Status pdu.LoginStatus
	// Err is the cause on the target side; nil for a status received.
	Err error
	// Redirect holds the TargetAddress values of a redirection (Status
	// class 1, RFC 7143 §11.13.5): where to log in instead.
	Redirect []TargetAddress
}

// Error reports the status in hexadecimal and in words, and the cause.
func (e *LoginError) Error() string {
	s := fmt.Sprintf("login: status 0x%04x (%v)", uint16(e.Status), e.Status)
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

// Unwrap returns the cause.
func (e *LoginError) Unwrap() error { return e.Err }

func protoErr(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrProtocol}, args...)...)
}

// Result is the outcome of a successful login: the negotiated parameters
// and the sequence numbers the session continues with.
type Result struct {
	Session SessionParams
	Conn    ConnParams
	// TSIH is the target-assigned session handle (RFC 7143 §11.13.3).
	TSIH uint16
	ISID pdu.ISID
	CID  uint16
	// Leading says this login created the session (TSIH 0 in the
	// request); Reinstated that it replaced a session of the same
	// initiator port (RFC 7143 §6.3.5, target side only).
	Leading, Reinstated bool
	// CmdSN is the CmdSN of the login, the one the first command of a new
	// session carries (RFC 7143 §11.12.8: Login Requests are immediate and
	// do not advance it).
	CmdSN uint32
	// StatSN is the StatSN of the final Login Response (RFC 7143
	// §11.13.4). The session continues with ExpStatSN, not with StatSN.
	StatSN uint32
	// ExpStatSN is StatSN+1: the StatSN the next response on the
	// connection carries (§11.13.4), the value an initiator puts in the
	// ExpStatSN of its next PDU (§11.12.9, §4.2.2.2) and a target in the
	// StatSN of its next response.
	ExpStatSN uint32
	// ExpCmdSN and MaxCmdSN of the final Login Response (RFC 7143 §11.13).
	ExpCmdSN, MaxCmdSN uint32
	// AuthMethod is the agreed AuthMethod (RFC 7143 §12.1) and CHAPUser
	// the CHAP_N the initiator authenticated as, when CHAP was used.
	AuthMethod string
	CHAPUser   string
	// MutualCHAP says the target authenticated itself to the initiator
	// as well (RFC 7143 §12.1.3).
	MutualCHAP bool
}

// maxLoginPDUs bounds the exchanges of one login, so that a peer that never
// transits cannot keep a machine busy forever.
const maxLoginPDUs = 64

// loginSegment is the largest data segment a login PDU carries: the
// MaxRecvDataSegmentLength default of RFC 7143 §13.12, which §6.3 keeps in
// force until the login ends.
const loginSegment = 8192

func pairsMap(pairs []Pair) map[string]string {
	m := make(map[string]string, len(pairs))
	for _, p := range pairs {
		m[p.Key] = p.Value
	}
	return m
}

// splitCHAP separates the CHAP keys of RFC 7143 §12.1.3 from the others.
func splitCHAP(pairs []Pair) (chap map[string]string, rest []Pair) {
	for _, p := range pairs {
		if IsCHAPKey(p.Key) {
			if chap == nil {
				chap = map[string]string{}
			}
			chap[p.Key] = p.Value
			continue
		}
		rest = append(rest, p)
	}
	return chap, rest
}

func findKey(pairs []Pair, key string) (string, bool) {
	for _, p := range pairs {
		if p.Key == key {
			return p.Value, true
		}
	}
	return "", false
}
