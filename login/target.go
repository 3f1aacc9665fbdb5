package login

import (
	"errors"
	"fmt"

	"github.com/go-iscsi/iscsi/iqn"
	"github.com/go-iscsi/iscsi/pdu"
)

// TargetInfo describes one target a Target login machine serves.
type TargetInfo struct {
	// Name is the iSCSI name (RFC 7143 §13.4); Alias, if set, is sent as
	// TargetAlias (§13.6).
	Name, Alias string
	// AuthMethods are the AuthMethod values (RFC 7143 §12.1) accepted for
	// this target, in order of preference: {"CHAP"} requires CHAP, nil
	// means {"None"}.
	AuthMethods []string
	// Redirect, when not empty, answers every login with status 0x0101
	// (0x0102 if RedirectPermanent) and these TargetAddress values (RFC
	// 7143 §11.13.5).
	Redirect          []TargetAddress
	RedirectPermanent bool
	// Removed answers every login with status 0x0204 Target removed (RFC
	// 7143 §11.13.5).
	Removed bool
	// Unavailable answers every login with status 0x0301 Service
	// unavailable (RFC 7143 §11.13.5: the initiator may retry later).
	Unavailable bool
	// Settings override TargetConfig.Settings for this target.
	Settings *Settings
	// Authorize, when set, decides whether the initiator (and the CHAP
	// user it authenticated as, empty without CHAP) may use the target;
	// false fails the login with 0x0202 Authorization failure.
	Authorize func(initiatorName, chapUser string) bool
}

// TargetConfig configures the target side of login.
type TargetConfig struct {
	// Lookup finds a target by the TargetName of a normal session; false
	// fails the login with 0x0203 Not found.
	Lookup func(name string) (TargetInfo, bool)
	// PortalGroupTag is this portal group's tag, returned as
	// TargetPortalGroupTag (RFC 7143 §13.9).
	PortalGroupTag uint16
	// DisableDiscovery refuses discovery sessions with 0x0209 Session type
	// not supported.
	DisableDiscovery bool
	// DiscoveryAuthMethods are the AuthMethod values accepted for discovery
	// sessions; nil means {"None"}.
	DiscoveryAuthMethods []string
	// CHAP finds the secret of a CHAP user (and the target's mutual
	// credentials). Required when any AuthMethods holds "CHAP".
	CHAP CHAPLookup
	// CHAPAlgorithms are the CHAP_A values accepted, in order of
	// preference; nil means DefaultCHAPAlgorithms.
	CHAPAlgorithms []CHAPAlgorithm
	// AllowShortSecrets accepts CHAP secrets shorter than
	// MinCHAPSecretLength (many tgt and IET installations have them).
	AllowShortSecrets bool
	// Settings are the operational values; nil means DefaultSettings().
	Settings *Settings
	// Sessions hands out TSIHs and admits connections to sessions; nil
	// means a MemoryRegistry private to the machine.
	Sessions SessionRegistry
	// StatSN is the StatSN of the first Login Response (RFC 7143
	// §11.13.4).
	StatSN uint32
	// CmdSNWindow sets MaxCmdSN to ExpCmdSN+CmdSNWindow-1 in responses (RFC
	// 7143 §4.2.2.1); zero means 32.
	CmdSNWindow uint32
	// MaxTextLength bounds the text of one negotiation sequence; zero
	// means DefaultMaxTextLength.
	MaxTextLength int
	// AllowRepeatedKeys accepts keys an initiator sends again in a later
	// Login Request of the login instead of failing the login with
	// Initiator error as RFC 7143 §6.3 requires (see
	// Negotiator.SetAllowRepeats: libiscsi does this whenever the target
	// answers T=0 in the operational stage).
	AllowRepeatedKeys bool
}

type targetState uint8

const (
	tsStart targetState = iota
	tsRunning
	tsDone
)

// Target is the target side of the login phase of one connection (RFC 7143
// §6.3, §11.12, §11.13) as a state machine: Next takes each Login Request
// and returns the Login Response to send. It does no I/O.
type Target struct {
	cfg   TargetConfig
	state targetState
	stage Stage
	n     int // PDUs seen

	isid          pdu.ISID
	tsih          uint16
	itt           uint32
	cid           uint16
	cmdSN         uint32
	statSN        uint32
	initiatorName string
	targetName    string
	discovery     bool
	info          TargetInfo
	leading       bool
	joined        SessionParams // the session's parameters, non-leading
	hasJoined     bool          // the registry admitted the connection

	neg         *Negotiator
	authMethods []string
	authMethod  string
	authDone    bool
	chap        *chapTarget
	offered     bool // operational offers made
	firstDecl   []Pair

	in      TextAccumulator
	out     []byte // response text not yet sent (C bit continuation)
	outNSG  Stage
	outT    bool
	resp    pdu.PDU
	buf     []byte
	result  Result
	lastErr error
}

// NewTarget returns the target login machine for one new connection.
func NewTarget(cfg TargetConfig) *Target {
	if cfg.Sessions == nil {
		cfg.Sessions = &MemoryRegistry{}
	}
	if cfg.CmdSNWindow == 0 {
		cfg.CmdSNWindow = 32
	}
	if cfg.CHAPAlgorithms == nil {
		cfg.CHAPAlgorithms = DefaultCHAPAlgorithms
	}
	t := &Target{cfg: cfg, statSN: cfg.StatSN}
	t.in.Limit = cfg.MaxTextLength
	return t
}

// Result returns the outcome once Next reported a successful end.
func (t *Target) Result() (*Result, bool) {
	if t.state != tsDone || t.lastErr != nil {
		return nil, false
	}
	r := t.result
	return &r, true
}

// Next processes one PDU received during login and returns the Login
// Response to send, valid until the next call. done reports that the login
// ended: successfully when err is nil (the connection is in full feature
// phase after sending resp), or with the failure status in resp and err a
// *LoginError (RFC 7143 §11.13.5: the target closes the connection after
// sending it). Every fault of the request, including a PDU that is not a
// Login Request, is answered by a response with the status RFC 7143
// §11.13.5 gives.
func (t *Target) Next(req *pdu.PDU) (resp *pdu.PDU, done bool, err error) {
	if t.state == tsDone {
		return nil, true, ErrLoginDone
	}
	if req == nil {
		return nil, false, protoErr("nil PDU")
	}
	t.n++
	if t.n > maxLoginPDUs {
		return t.fail(pdu.LoginInitiatorError, protoErr("more than %d login PDUs", maxLoginPDUs))
	}
	h := &req.Header
	if h.Opcode() != pdu.OpLoginRequest {
		// RFC 7143 §11.13.5 0x020b: a request other than Login during
		// login.
		if t.state == tsStart {
			t.itt = h.InitiatorTaskTag()
		}
		return t.fail(pdu.LoginInvalidDuringLogin, protoErr("%v PDU during login", h.Opcode()))
	}
	lr := h.LoginRequest()
	if t.state == tsStart {
		t.isid, t.tsih, t.itt, t.cid, t.cmdSN = lr.ISID(), lr.TSIH(), lr.InitiatorTaskTag(), lr.CID(), lr.CmdSN()
	}
	if err := lr.Validate(); err != nil {
		return t.fail(pdu.LoginInitiatorError, err)
	}
	if t.state == tsStart {
		// RFC 7143 §11.12.4: version 0x00 is the only one defined;
		// §11.13.5 0x0205 when the range does not include it.
		if lr.VersionMin() > 0 {
			return t.fail(pdu.LoginUnsupportedVersion, protoErr("Version-min 0x%02x", lr.VersionMin()))
		}
		t.stage = lr.CSG()
		if t.stage == FullFeaturePhase {
			return t.fail(pdu.LoginInitiatorError, protoErr("login starts in full feature phase"))
		}
	} else {
		// ITT (RFC 7143 §6.3, §11.12), TSIH (§11.12.6) and CID
		// (§11.12.7) stay the same through the login of a connection;
		// this also holds ISID and CmdSN constant, which §11.12.8
		// requires of CmdSN on a leading login only.
		if lr.ISID() != t.isid || lr.TSIH() != t.tsih || lr.InitiatorTaskTag() != t.itt || lr.CID() != t.cid || lr.CmdSN() != t.cmdSN {
			return t.fail(pdu.LoginInitiatorError, protoErr("ISID, TSIH, ITT, CID or CmdSN changed during login"))
		}
		if lr.CSG() != t.stage {
			return t.fail(pdu.LoginInitiatorError, protoErr("CSG %v, expected %v", lr.CSG(), t.stage))
		}
	}
	if lr.Transit() && lr.NSG() <= t.stage {
		// RFC 7143 §6.3 (stage transitions): with T set, NSG is a
		// later stage.
		return t.fail(pdu.LoginInitiatorError, protoErr("T set with NSG %v not after CSG %v", lr.NSG(), t.stage))
	}
	if len(t.out) > 0 {
		// RFC 7143 §6.2: the initiator answers a response with C set
		// by an empty request.
		if len(req.Data) != 0 || lr.Continue() {
			return t.fail(pdu.LoginInitiatorError, protoErr("text sent while the target's text continues"))
		}
		return t.send()
	}
	complete, err := t.in.Add(req.Data, lr.Continue())
	if err != nil {
		return t.fail(pdu.LoginInitiatorError, err)
	}
	if !complete {
		t.state = tsRunning
		return t.reply(nil, false, 0, false)
	}
	pairs, err := ParseText(t.in.Bytes())
	t.in.Reset()
	if err == nil {
		err = CheckDuplicates(pairs)
	}
	if err != nil {
		return t.fail(pdu.LoginInitiatorError, err)
	}
	var out []Pair
	t.state = tsRunning
	if t.neg == nil {
		if st, err := t.begin(pairs); err != nil {
			return t.fail(st, err)
		}
		out = append(out, t.firstDecl...)
	}
	var st pdu.LoginStatus
	var more []Pair
	switch t.stage {
	case SecurityNegotiation:
		more, st, err = t.security(pairs, lr.Transit())
	case LoginOperationalNegotiation:
		more, st, err = t.operational(pairs)
	}
	if err != nil {
		return t.fail(st, err)
	}
	out = append(out, more...)
	transit, nsg := false, Stage(0)
	if lr.Transit() && t.ready() {
		transit, nsg = true, lr.NSG()
		if t.stage == SecurityNegotiation && nsg == FullFeaturePhase && t.neg.wouldNegotiate(LoginOperationalNegotiation) {
			// The target has operational keys to offer: it goes to
			// the operational stage instead (RFC 7143 §6.3: the
			// target answers with an NSG not beyond the initiator's).
			nsg = LoginOperationalNegotiation
		}
	}
	t.buf = AppendText(t.buf[:0], out...)
	t.out = t.buf
	t.outT, t.outNSG = transit, nsg
	return t.send()
}

// ready reports whether the current stage may end: authentication done in
// the security stage (RFC 7143 §6.3.2), and no offer of the target
// unanswered (§6.3, §11.13.6).
func (t *Target) ready() bool {
	if t.stage == SecurityNegotiation && !t.authDone {
		return false
	}
	return !t.neg.Pending()
}

// begin handles the first complete request text: names, session type,
// target lookup, redirection, and the session the connection belongs to.
func (t *Target) begin(pairs []Pair) (pdu.LoginStatus, error) {
	iname, ok := findKey(pairs, "InitiatorName")
	if !ok {
		// RFC 7143 §13.5: InitiatorName is in the first Login Request.
		return pdu.LoginMissingParameter, textErr("InitiatorName", "", ErrMissingKey)
	}
	if _, err := iqn.Parse(iname); err != nil {
		// RFC 7143 §4.2.7: an iSCSI name of the iqn., eui. or naa. form.
		return pdu.LoginInitiatorError, fmt.Errorf("login: InitiatorName: %w", err)
	}
	t.initiatorName = iname
	switch st, _ := findKey(pairs, "SessionType"); st {
	case "", "Normal":
	case "Discovery":
		t.discovery = true
	default:
		return pdu.LoginSessionTypeNotSupported, textErr("SessionType", st, ErrValue)
	}
	settings := DefaultSettings()
	if t.cfg.Settings != nil {
		settings = *t.cfg.Settings
	}
	if t.discovery {
		if t.cfg.DisableDiscovery {
			return pdu.LoginSessionTypeNotSupported, protoErr("discovery sessions are disabled")
		}
		t.authMethods = t.cfg.DiscoveryAuthMethods
	} else {
		tname, ok := findKey(pairs, "TargetName")
		if !ok {
			// RFC 7143 §13.4: TargetName is required for a normal
			// session.
			return pdu.LoginMissingParameter, textErr("TargetName", "", ErrMissingKey)
		}
		if t.cfg.Lookup == nil {
			return pdu.LoginNotFound, protoErr("no targets configured")
		}
		info, ok := t.cfg.Lookup(tname)
		if !ok {
			return pdu.LoginNotFound, fmt.Errorf("login: target %q not found", tname)
		}
		t.info, t.targetName = info, info.Name
		if info.Removed {
			return pdu.LoginTargetRemoved, fmt.Errorf("login: target %q removed", tname)
		}
		if info.Unavailable {
			return pdu.LoginServiceUnavailable, fmt.Errorf("login: target %q unavailable", tname)
		}
		if len(info.Redirect) > 0 {
			st := pdu.LoginTargetMovedTemporarily
			if info.RedirectPermanent {
				st = pdu.LoginTargetMovedPermanently
			}
			return st, fmt.Errorf("login: target %q moved", tname)
		}
		if info.Settings != nil {
			settings = *info.Settings
		}
		t.authMethods = info.AuthMethods
	}
	if err := settings.Validate(); err != nil {
		return pdu.LoginTargetError, fmt.Errorf("login: target settings: %w", err)
	}
	if t.authMethods == nil {
		t.authMethods = []string{None}
	}
	t.leading = t.tsih == 0
	t.neg = NewNegotiator(RoleTarget, settings, t.leading, t.discovery)
	t.neg.SetAuthMethods(t.authMethods)
	t.neg.SetAllowRepeats(t.cfg.AllowRepeatedKeys)
	if !t.leading {
		if t.discovery {
			return pdu.LoginCantIncludeInSession, protoErr("a discovery session has one connection")
		}
		sp, err := t.cfg.Sessions.AddConnection(t.sessionKey(), t.tsih, t.cid)
		switch {
		case errors.Is(err, ErrSessionNotFound):
			return pdu.LoginSessionDoesNotExist, err
		case errors.Is(err, ErrTooManyConnections):
			return pdu.LoginTooManyConnections, err
		case errors.Is(err, ErrCantIncludeInSession):
			return pdu.LoginCantIncludeInSession, err
		case err != nil:
			return pdu.LoginTargetError, err
		}
		t.joined, t.hasJoined = sp, true
	}
	// RFC 7143 §6.3.1: the target returns TargetPortalGroupTag with the
	// first Login Response after the first Login Request with C=0, for
	// all session types and on every connection (§13.9).
	t.firstDecl = append(t.firstDecl, t.neg.Declare("TargetPortalGroupTag", num(uint64(t.cfg.PortalGroupTag))))
	if !t.discovery && t.leading {
		if t.info.Alias != "" {
			t.firstDecl = append(t.firstDecl, t.neg.Declare("TargetAlias", t.info.Alias))
		}
	}
	if t.stage == LoginOperationalNegotiation {
		// The initiator skipped the security stage (RFC 7143 §6.3.1):
		// allowed only when no authentication is required, else
		// Authentication failure.
		if !contains(t.authMethods, None) {
			return pdu.LoginAuthenticationFailure, fmt.Errorf("%w: security negotiation skipped, target requires %v", ErrAuthFailed, t.authMethods)
		}
		if st, err := t.authorize(""); err != nil {
			return st, err
		}
		t.authMethod, t.authDone = None, true
	}
	return 0, nil
}

func (t *Target) sessionKey() SessionKey {
	return SessionKey{InitiatorName: t.initiatorName, ISID: t.isid, TargetName: t.targetName, PortalGroupTag: t.cfg.PortalGroupTag}
}

func (t *Target) authorize(user string) (pdu.LoginStatus, error) {
	if t.info.Authorize != nil && !t.info.Authorize(t.initiatorName, user) {
		return pdu.LoginAuthorizationFailure, fmt.Errorf("login: initiator %q not authorized for %q", t.initiatorName, t.targetName)
	}
	return 0, nil
}

// chapStatus maps a CHAP error to its login status (RFC 7143 §11.13.5).
func chapStatus(err error) pdu.LoginStatus {
	switch {
	case errors.Is(err, ErrMissingKey):
		return pdu.LoginMissingParameter
	case errors.Is(err, ErrCHAPProtocol):
		return pdu.LoginInitiatorError
	}
	return pdu.LoginAuthenticationFailure
}

// security handles one request text of the security stage (RFC 7143
// §6.3.2, §12.1.3).
func (t *Target) security(pairs []Pair, transit bool) ([]Pair, pdu.LoginStatus, error) {
	chapKV, rest := splitCHAP(pairs)
	_, authOffered := findKey(rest, "AuthMethod")
	answers, err := t.neg.Receive(rest, SecurityNegotiation)
	if err != nil {
		return nil, pdu.LoginInitiatorError, err
	}
	if authOffered {
		v, ok := t.neg.Agreed("AuthMethod")
		if !ok {
			// RFC 7143 §6.3.2: no acceptable method (answered
			// Reject); the security negotiation, and the login, fail.
			return nil, pdu.LoginAuthenticationFailure, fmt.Errorf("%w: no acceptable AuthMethod (target accepts %v)", ErrAuthFailed, t.authMethods)
		}
		t.authMethod = v
		switch v {
		case None:
			if st, err := t.authorize(""); err != nil {
				return nil, st, err
			}
			t.authDone = true
		case "CHAP":
			t.chap = &chapTarget{algs: t.cfg.CHAPAlgorithms, lookup: t.cfg.CHAP, allowShort: t.cfg.AllowShortSecrets}
		default:
			return nil, pdu.LoginAuthenticationFailure, fmt.Errorf("%w: AuthMethod %s not implemented", ErrAuthFailed, v)
		}
	}
	if chapKV != nil {
		if t.chap == nil || authOffered {
			// CHAP keys before AuthMethod agreed on CHAP (RFC 7143
			// §12.1: the exchange follows the method selection).
			return nil, pdu.LoginInitiatorError, fmt.Errorf("%w: CHAP keys before AuthMethod=CHAP was agreed", ErrCHAPProtocol)
		}
		switch t.chap.state {
		case 0:
			out, err := t.chap.chose(chapKV)
			if err != nil {
				return nil, chapStatus(err), err
			}
			answers = append(answers, out...)
		case 1:
			out, err := t.chap.responded(chapKV, t.initiatorName, t.targetName)
			if err != nil {
				return nil, chapStatus(err), err
			}
			if st, err := t.authorize(t.chap.user); err != nil {
				return nil, st, err
			}
			t.authDone = true
			answers = append(answers, out...)
		default:
			return nil, pdu.LoginInitiatorError, fmt.Errorf("%w: CHAP keys after authentication", ErrCHAPProtocol)
		}
	} else if t.chap != nil && !authOffered && !t.authDone {
		// RFC 7143 §11.13.5 0x0207: the CHAP step expected its keys.
		return nil, pdu.LoginMissingParameter, fmt.Errorf("%w: %w: CHAP keys expected", ErrCHAPProtocol, ErrMissingKey)
	}
	if transit && !t.authDone && t.authMethod == "" {
		// The initiator wants to leave the security stage without
		// having offered AuthMethod: only if no authentication is
		// required.
		if !contains(t.authMethods, None) {
			return nil, pdu.LoginAuthenticationFailure, fmt.Errorf("%w: no AuthMethod offered, target requires %v", ErrAuthFailed, t.authMethods)
		}
		if st, err := t.authorize(""); err != nil {
			return nil, st, err
		}
		t.authMethod, t.authDone = None, true
	}
	return answers, 0, nil
}

// operational handles one request text of the operational stage (RFC 7143
// §6.3.3).
func (t *Target) operational(pairs []Pair) ([]Pair, pdu.LoginStatus, error) {
	chapKV, rest := splitCHAP(pairs)
	if chapKV != nil {
		return nil, pdu.LoginInitiatorError, fmt.Errorf("%w: CHAP keys in the operational stage", ErrCHAPProtocol)
	}
	answers, err := t.neg.Receive(rest, LoginOperationalNegotiation)
	if err != nil {
		return nil, pdu.LoginInitiatorError, err
	}
	if !t.offered {
		t.offered = true
		answers = append(answers, t.neg.Offer(LoginOperationalNegotiation)...)
	}
	return answers, 0, nil
}

// send emits the next segment of the pending response text: with C set
// while more follows, and with the transit decision on the last.
func (t *Target) send() (*pdu.PDU, bool, error) {
	seg, rest, more := CutSegment(t.out, loginSegment)
	t.out = rest
	if more {
		return t.reply(seg, false, 0, true)
	}
	if !t.outT {
		return t.reply(seg, false, 0, false)
	}
	nsg := t.outNSG
	if nsg == FullFeaturePhase {
		if st, err := t.finish(); err != nil {
			return t.fail(st, err)
		}
	}
	resp, _, _ := t.reply(seg, true, nsg, false)
	t.stage = nsg
	if nsg == FullFeaturePhase {
		t.state = tsDone
		t.result.StatSN = resp.Header.LoginResponse().StatSN()
		t.result.ExpStatSN = t.result.StatSN + 1
		return resp, true, nil
	}
	return resp, false, nil
}

// finish completes a successful login: outcome, TSIH, registry.
func (t *Target) finish() (pdu.LoginStatus, error) {
	sp, cp, err := t.neg.Result()
	if err != nil {
		return pdu.LoginInitiatorError, err
	}
	if !t.leading {
		sp = t.joined
	}
	sp.InitiatorName, sp.TargetName = t.initiatorName, t.targetName
	if t.discovery {
		sp.SessionType = SessionDiscovery
	}
	reinstated := false
	if t.leading {
		tsih, re, err := t.cfg.Sessions.OpenSession(t.sessionKey(), sp, t.cid)
		if err != nil {
			return pdu.LoginOutOfResources, err
		}
		t.tsih, reinstated = tsih, re
	}
	exp, maxCmdSN := t.window()
	t.result = Result{
		Session: sp, Conn: cp, TSIH: t.tsih, ISID: t.isid, CID: t.cid,
		Leading: t.leading, Reinstated: reinstated, CmdSN: t.cmdSN,
		ExpCmdSN: exp, MaxCmdSN: maxCmdSN,
		AuthMethod: t.authMethod,
	}
	if t.chap != nil {
		t.result.CHAPUser = t.chap.user
		t.result.MutualCHAP = t.chap.mutual
	}
	return 0, nil
}

// window returns the ExpCmdSN and MaxCmdSN of a Login Response: those of
// the session for a login the registry admitted to an open session, when
// the registry knows them (SessionWindow), else from the login's CmdSN
// (RFC 7143 §11.12.8: Login Requests are immediate and do not advance it).
func (t *Target) window() (exp, maxCmdSN uint32) {
	if w, ok := t.cfg.Sessions.(SessionWindow); ok && t.hasJoined {
		if e, m, ok := w.CmdSNWindow(t.tsih); ok {
			return e, m
		}
	}
	return t.cmdSN, t.cmdSN + t.cfg.CmdSNWindow - 1
}

// reply builds a Login Response with the login's identity and sequence
// numbers (RFC 7143 §11.13).
func (t *Target) reply(data []byte, transit bool, nsg Stage, cont bool) (*pdu.PDU, bool, error) {
	t.resp.Header = pdu.BHS{}
	r := t.resp.Header.LoginResponse()
	r.Init()
	r.SetTransit(transit)
	r.SetContinue(cont)
	r.SetCSG(t.stage)
	if transit {
		r.SetNSG(nsg)
	}
	r.SetVersionMax(0)
	r.SetVersionActive(0)
	r.SetISID(t.isid)
	// RFC 7143 §11.13.3: the TSIH of the request, except in the final
	// response of a new session, which carries the one assigned.
	r.SetTSIH(t.tsih)
	r.SetInitiatorTaskTag(t.itt)
	// RFC 7143 §11.13.4: StatSN starts with the first Login Response and
	// each further response carries the next number.
	r.SetStatSN(t.statSN)
	t.statSN++
	// RFC 7143 §11.12, §11.12.8: Login Requests are immediate and do
	// not advance CmdSN (§4.2.2.1).
	exp, maxCmdSN := t.window()
	r.SetExpCmdSN(exp)
	r.SetMaxCmdSN(maxCmdSN)
	t.resp.Header.SetDataSegmentLength(uint32(len(data)))
	t.resp.AHS = nil
	t.resp.Data = data
	return &t.resp, false, nil
}

// fail ends the login with status st (RFC 7143 §11.13.5); a redirection
// carries the TargetAddress values, without their portal group tags (RFC
// 7143 §13.8: the comma and portal-group-tag MUST be omitted there). The T
// bit, CSG and NSG of the response are reserved and left zero (§6.3.1).
func (t *Target) fail(st pdu.LoginStatus, cause error) (*pdu.PDU, bool, error) {
	var data []byte
	le := &LoginError{Status: st, Err: cause}
	if st.Class() == pdu.StatusClassRedirection {
		le.Redirect = t.info.Redirect
		t.buf = t.buf[:0]
		for _, a := range t.info.Redirect {
			a.PortalGroupTag, a.HasPortalGroupTag = 0, false
			t.buf = AppendText(t.buf, Pair{Key: "TargetAddress", Value: a.String()})
		}
		data = t.buf
	}
	resp, _, _ := t.reply(data, false, 0, false)
	r := resp.Header.LoginResponse()
	r.SetCSG(0)
	r.SetStatus(st)
	r.SetTSIH(t.tsih)
	t.state = tsDone
	t.lastErr = le
	return resp, true, le
}
