package login

import (
	"fmt"
	"slices"

	"github.com/go-iscsi/iscsi/iqn"
	"github.com/go-iscsi/iscsi/pdu"
)

// InitiatorConfig configures the initiator side of a login.
type InitiatorConfig struct {
	// InitiatorName is this node's iSCSI name (RFC 7143 §13.5), required;
	// InitiatorAlias is optional (§13.7).
	InitiatorName, InitiatorAlias string
	// TargetName is the target to log in to (RFC 7143 §13.4); required for
	// a normal session, unused for discovery.
	TargetName  string
	SessionType SessionType
	// ISID is the initiator part of the session identifier (RFC 7143
	// §11.12.5); TSIH is 0 for a new session, or the handle of the session
	// a connection is added to (§11.12.6).
	ISID pdu.ISID
	TSIH uint16
	// CID identifies the connection in the session (RFC 7143 §11.12.7).
	CID uint16
	// InitiatorTaskTag is the ITT of the login, constant throughout it
	// (RFC 7143 §11.12).
	InitiatorTaskTag uint32
	// CmdSN is the login's CmdSN: for a new session the initial one, which
	// the first command will carry (RFC 7143 §11.12.8). ExpStatSN is the
	// ExpStatSN of the first request (§11.12.9); later ones follow the
	// target's StatSN.
	CmdSN, ExpStatSN uint32
	// CHAP, when set, authenticates the initiator with CHAP (RFC 7143
	// §12.1.3): the login offers AuthMethod=CHAP only. MutualCHAP, when
	// set, also authenticates the target with those credentials.
	CHAP, MutualCHAP *CHAPCredentials
	// CHAPAlgorithms are the CHAP_A values offered, in order of
	// preference; nil means DefaultCHAPAlgorithms. RFC 7143 §12.1.3: the
	// initiator MUST always offer MD5, so a list without CHAPMD5 makes
	// NewInitiator fail with ErrCHAPMD5Required. Against tgtd use
	// {CHAPMD5}: tgtd computes SHA-1 for the value 7 that is SHA-256.
	CHAPAlgorithms []CHAPAlgorithm
	// AllowShortSecrets accepts CHAP secrets shorter than
	// MinCHAPSecretLength.
	AllowShortSecrets bool
	// SkipSecurity starts the login in the operational stage, without
	// security negotiation (RFC 7143 §6.3.1: allowed when the target
	// requires no authentication). It is ignored when CHAP is set.
	SkipSecurity bool
	// Settings are the operational values offered; nil means
	// DefaultSettings().
	Settings *Settings
	// MaxTextLength bounds the text of one negotiation sequence; zero
	// means DefaultMaxTextLength.
	MaxTextLength int
	// AllowRepeatedKeys accepts keys a target sends again in a later
	// Login Response instead of failing with ErrDuplicateKey (RFC 7143
	// §6.3); see Negotiator.SetAllowRepeats.
	AllowRepeatedKeys bool
}

// Initiator is the initiator side of the login phase of one connection
// (RFC 7143 §6.3, §11.12, §11.13) as a state machine: Start returns the
// first Login Request, Next takes each Login Response and returns the next
// request. It does no I/O.
type Initiator struct {
	cfg       InitiatorConfig
	stage     Stage
	n         int
	started   bool
	done      bool
	failed    bool
	neg       *Negotiator
	chap      *chapInitiator
	authDone  bool
	offered   bool
	expStatSN uint32

	in     TextAccumulator
	out    []byte // request text not yet sent
	outT   bool
	outNSG Stage
	req    pdu.PDU
	buf    []byte
	result Result
}

// NewInitiator checks cfg and returns the machine.
func NewInitiator(cfg InitiatorConfig) (*Initiator, error) {
	if _, err := iqn.Parse(cfg.InitiatorName); err != nil {
		return nil, fmt.Errorf("login: InitiatorName: %w", err)
	}
	if cfg.SessionType == SessionNormal && cfg.TargetName == "" {
		return nil, textErr("TargetName", "", ErrMissingKey)
	}
	if cfg.TargetName != "" {
		if _, err := iqn.Parse(cfg.TargetName); err != nil {
			return nil, fmt.Errorf("login: TargetName: %w", err)
		}
	}
	if cfg.MutualCHAP != nil && cfg.CHAP == nil {
		return nil, fmt.Errorf("%w: mutual CHAP without CHAP credentials", ErrCHAPProtocol)
	}
	for _, c := range []*CHAPCredentials{cfg.CHAP, cfg.MutualCHAP} {
		if c != nil {
			if err := c.check(cfg.AllowShortSecrets); err != nil {
				return nil, err
			}
		}
	}
	if cfg.CHAPAlgorithms == nil {
		cfg.CHAPAlgorithms = DefaultCHAPAlgorithms
	}
	if !slices.Contains(cfg.CHAPAlgorithms, CHAPMD5) {
		// RFC 7143 §12.1.3: "the initiator MUST always offer" CHAP_A 5.
		return nil, fmt.Errorf("%w: CHAPAlgorithms %v", ErrCHAPMD5Required, cfg.CHAPAlgorithms)
	}
	settings := DefaultSettings()
	if cfg.Settings != nil {
		settings = *cfg.Settings
	}
	if err := settings.Validate(); err != nil {
		return nil, err
	}
	in := &Initiator{cfg: cfg, expStatSN: cfg.ExpStatSN}
	in.in.Limit = cfg.MaxTextLength
	in.neg = NewNegotiator(RoleInitiator, settings, cfg.TSIH == 0, cfg.SessionType == SessionDiscovery)
	in.neg.SetAllowRepeats(cfg.AllowRepeatedKeys)
	return in, nil
}

// Start returns the first Login Request: the security stage with the
// names, the session type and AuthMethod (RFC 7143 §6.3.1, §6.3.2). The PDU
// is valid until the next call.
func (in *Initiator) Start() *pdu.PDU {
	in.started = true
	in.stage = SecurityNegotiation
	var pairs []Pair
	pairs = append(pairs, in.neg.Declare("InitiatorName", in.cfg.InitiatorName))
	if in.cfg.InitiatorAlias != "" {
		pairs = append(pairs, in.neg.Declare("InitiatorAlias", in.cfg.InitiatorAlias))
	}
	if in.cfg.SessionType == SessionNormal {
		pairs = append(pairs, in.neg.Declare("TargetName", in.cfg.TargetName))
	}
	if in.cfg.TSIH == 0 {
		// SessionType is leading-only (RFC 7143 §13.21).
		pairs = append(pairs, in.neg.Declare("SessionType", in.cfg.SessionType.String()))
	}
	transit := true
	if in.cfg.SkipSecurity && in.cfg.CHAP == nil {
		in.stage = LoginOperationalNegotiation
		in.authDone, in.offered = true, true
		pairs = append(pairs, in.neg.Offer(LoginOperationalNegotiation)...)
		return in.request(pairs, true, FullFeaturePhase)
	}
	if in.cfg.CHAP != nil {
		in.neg.SetAuthMethods([]string{"CHAP"})
		pairs = append(pairs, in.neg.Propose("AuthMethod", "CHAP"))
		in.chap = &chapInitiator{creds: *in.cfg.CHAP, mutual: in.cfg.MutualCHAP, algs: in.cfg.CHAPAlgorithms}
		transit = false
	} else {
		in.neg.SetAuthMethods([]string{None})
		pairs = append(pairs, in.neg.Propose("AuthMethod", None))
	}
	return in.request(pairs, transit, LoginOperationalNegotiation)
}

// Result returns the outcome once Next reported the end of a successful
// login.
func (in *Initiator) Result() (*Result, bool) {
	if !in.done {
		return nil, false
	}
	r := in.result
	return &r, true
}

// Next takes a Login Response and returns the next Login Request, valid
// until the next call. done reports the end of a successful login (req is
// nil and the connection is in full feature phase). A failed login returns
// a *LoginError with the target's status; a target that breaks the rules
// of login returns an error wrapping ErrProtocol or a negotiation error
// (*TextError, an authentication sentinel), after which the initiator must
// drop the connection (RFC 7143 §6.3, §6.2).
func (in *Initiator) Next(resp *pdu.PDU) (req *pdu.PDU, done bool, err error) {
	if in.done || in.failed || !in.started {
		return nil, in.done, ErrLoginDone
	}
	if resp == nil {
		return nil, false, protoErr("nil PDU")
	}
	in.n++
	if in.n > maxLoginPDUs {
		return nil, false, protoErr("more than %d login PDUs", maxLoginPDUs)
	}
	h := &resp.Header
	if h.Opcode() != pdu.OpLoginResponse {
		return nil, false, protoErr("%v PDU during login", h.Opcode())
	}
	lr := h.LoginResponse()
	if err := lr.Validate(); err != nil {
		return nil, false, err
	}
	if st := lr.Status(); st != pdu.LoginSuccess {
		le := &LoginError{Status: st}
		if st.Class() == pdu.StatusClassRedirection {
			if pairs, err := ParseText(resp.Data); err == nil {
				for _, p := range pairs {
					if p.Key == "TargetAddress" {
						if a, err := ParseTargetAddress(p.Value); err == nil {
							le.Redirect = append(le.Redirect, a)
						}
					}
				}
			}
		}
		in.failed = true
		return nil, false, le
	}
	// The status comes first: some targets (tgtd) do not echo the ITT in
	// a failed response.
	if lr.InitiatorTaskTag() != in.cfg.InitiatorTaskTag || lr.ISID() != in.cfg.ISID {
		return nil, false, protoErr("response ITT or ISID differs from the request")
	}
	if lr.VersionActive() != 0 {
		return nil, false, protoErr("Version-active 0x%02x", lr.VersionActive())
	}
	if lr.CSG() != in.stage {
		return nil, false, protoErr("response CSG %v, expected %v", lr.CSG(), in.stage)
	}
	// RFC 7143 §11.13.4: the next response carries StatSN+1; the
	// requests acknowledge it in ExpStatSN (§11.12.9).
	in.expStatSN = lr.StatSN() + 1
	if lr.Transit() {
		// RFC 7143 §11.13.6: the target sets T only if the initiator
		// did; §6.3: with an NSG after CSG and not beyond the
		// initiator's.
		if !in.outT || len(in.out) > 0 {
			return nil, false, protoErr("target set T while the initiator did not")
		}
		if nsg := lr.NSG(); nsg <= in.stage || nsg > in.outNSG {
			return nil, false, protoErr("target NSG %v with CSG %v, initiator asked %v", nsg, in.stage, in.outNSG)
		}
	}
	if len(in.out) > 0 {
		// The rest of the request text goes once the target
		// acknowledged the part with C set.
		if len(resp.Data) != 0 || lr.Continue() {
			return nil, false, protoErr("text in a response to a request with C set")
		}
		return in.sendMore(), false, nil
	}
	complete, err := in.in.Add(resp.Data, lr.Continue())
	if err != nil {
		return nil, false, err
	}
	if !complete {
		// RFC 7143 §6.2: answer a response with C set by an empty
		// request, keeping the transit request in force.
		return in.request(nil, in.outT, in.outNSG), false, nil
	}
	pairs, err := ParseText(in.in.Bytes())
	in.in.Reset()
	if err == nil {
		err = CheckDuplicates(pairs)
	}
	if err != nil {
		return nil, false, err
	}
	var out []Pair
	transit := false
	switch in.stage {
	case SecurityNegotiation:
		out, transit, err = in.security(pairs, lr.Transit())
	case LoginOperationalNegotiation:
		chapKV, rest := splitCHAP(pairs)
		if chapKV != nil {
			return nil, false, protoErr("CHAP keys in the operational stage")
		}
		out, err = in.neg.Receive(rest, LoginOperationalNegotiation)
		transit = true
	}
	if err != nil {
		return nil, false, err
	}
	if lr.Transit() {
		in.stage = lr.NSG()
		if in.stage == FullFeaturePhase {
			if err := in.finish(lr); err != nil {
				return nil, false, err
			}
			return nil, true, nil
		}
	}
	if in.stage == LoginOperationalNegotiation && !in.offered {
		in.offered = true
		out = append(out, in.neg.Offer(LoginOperationalNegotiation)...)
		transit = true
	}
	nsg := LoginOperationalNegotiation
	if in.stage == LoginOperationalNegotiation {
		nsg = FullFeaturePhase
	}
	return in.request(out, transit, nsg), false, nil
}

// security handles the target's text in the security stage: the
// AuthMethod answer and the CHAP steps (RFC 7143 §6.3.2, §12.1.3).
func (in *Initiator) security(pairs []Pair, targetTransit bool) ([]Pair, bool, error) {
	chapKV, rest := splitCHAP(pairs)
	out, err := in.neg.Receive(rest, SecurityNegotiation)
	if err != nil {
		return nil, false, err
	}
	method, agreed := in.neg.Agreed("AuthMethod")
	if !agreed && targetTransit {
		if _, answered := findKey(rest, "AuthMethod"); !answered {
			// RFC 7143 §6.2.1: the responder MUST answer a list
			// negotiation; a target may not leave the security
			// stage with AuthMethod unanswered.
			return nil, false, protoErr("%w", textErr("AuthMethod", "", ErrMissingKey))
		}
	}
	if !agreed {
		if in.neg.Pending() && !targetTransit {
			if _, answered := findKey(rest, "AuthMethod"); !answered {
				return out, in.chap == nil, nil
			}
		}
		return nil, false, fmt.Errorf("%w: target did not accept AuthMethod", ErrAuthFailed)
	}
	if method == None {
		in.authDone = true
		if chapKV != nil {
			return nil, false, protoErr("CHAP keys without AuthMethod=CHAP")
		}
		return out, true, nil
	}
	// CHAP.
	switch in.chap.state {
	case 0:
		if chapKV != nil {
			return nil, false, protoErr("CHAP keys before CHAP_A")
		}
		return append(out, in.chap.start()...), false, nil
	case 1:
		more, err := in.chap.challenged(chapKV)
		if err != nil {
			return nil, false, err
		}
		if in.chap.mutual == nil {
			in.authDone = true
		}
		return append(out, more...), true, nil
	case 2:
		if in.chap.mutual != nil {
			if err := in.chap.verify(chapKV); err != nil {
				return nil, false, err
			}
			in.authDone = true
		} else if chapKV != nil {
			return nil, false, protoErr("unexpected CHAP keys from target")
		}
	default:
		if chapKV != nil {
			return nil, false, protoErr("CHAP keys after authentication")
		}
	}
	if targetTransit && !in.authDone {
		return nil, false, fmt.Errorf("%w: target left the security stage before authenticating itself", ErrAuthFailed)
	}
	return out, true, nil
}

func (in *Initiator) finish(lr *pdu.LoginResponse) error {
	in.neg.closePending()
	if in.cfg.TSIH == 0 && lr.TSIH() == 0 {
		return protoErr("final response of a new session without TSIH")
	}
	if in.cfg.TSIH != 0 && lr.TSIH() != in.cfg.TSIH {
		return protoErr("final response TSIH 0x%04x, session is 0x%04x", lr.TSIH(), in.cfg.TSIH)
	}
	if in.stage == FullFeaturePhase && in.chap != nil && !in.authDone {
		return fmt.Errorf("%w: login ended before authentication", ErrAuthFailed)
	}
	sp, cp, err := in.neg.Result()
	if err != nil {
		return err
	}
	if in.cfg.SessionType == SessionNormal {
		sp.TargetName = in.cfg.TargetName
	}
	sp.InitiatorName = in.cfg.InitiatorName
	method, ok := in.neg.Agreed("AuthMethod")
	if !ok {
		method = None
	}
	in.result = Result{
		Session: sp, Conn: cp, TSIH: lr.TSIH(), ISID: in.cfg.ISID, CID: in.cfg.CID,
		Leading: in.cfg.TSIH == 0, CmdSN: in.cfg.CmdSN, StatSN: lr.StatSN(), ExpStatSN: lr.StatSN() + 1,
		ExpCmdSN: lr.ExpCmdSN(), MaxCmdSN: lr.MaxCmdSN(), AuthMethod: method,
	}
	if in.chap != nil {
		in.result.CHAPUser = in.chap.creds.User
		in.result.MutualCHAP = in.chap.mutual != nil
	}
	in.done = true
	return nil
}

// request builds the next Login Request with text pairs: the first segment
// now, the rest after the target acknowledges (C bit, RFC 7143 §11.12.2).
func (in *Initiator) request(pairs []Pair, transit bool, nsg Stage) *pdu.PDU {
	in.buf = AppendText(in.buf[:0], pairs...)
	in.out = in.buf
	in.outT, in.outNSG = transit, nsg
	return in.sendMore()
}

func (in *Initiator) sendMore() *pdu.PDU {
	seg, rest, more := CutSegment(in.out, loginSegment)
	in.out = rest
	in.req.Header = pdu.BHS{}
	r := in.req.Header.LoginRequest()
	r.Init()
	r.SetContinue(more)
	if !more && in.outT {
		r.SetTransit(true)
		r.SetNSG(in.outNSG)
	}
	r.SetCSG(in.stage)
	r.SetVersionMax(0)
	r.SetVersionMin(0)
	r.SetISID(in.cfg.ISID)
	r.SetTSIH(in.cfg.TSIH)
	r.SetInitiatorTaskTag(in.cfg.InitiatorTaskTag)
	r.SetCID(in.cfg.CID)
	r.SetCmdSN(in.cfg.CmdSN)
	r.SetExpStatSN(in.expStatSN)
	in.req.Header.SetDataSegmentLength(uint32(len(seg)))
	in.req.AHS = nil
	in.req.Data = seg
	return &in.req
}
