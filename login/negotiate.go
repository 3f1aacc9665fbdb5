package login

import (
	"maps"
	"slices"
	"strconv"
	"strings"
)

// Role is the side of the negotiation a node plays.
type Role uint8

const (
	// RoleInitiator: the node opened the connection (RFC 7143 §2.2).
	RoleInitiator Role = iota + 1
	// RoleTarget: the node accepted the connection.
	RoleTarget
)

// Stage is a login stage or the full feature phase, numbered as in the
// CSG and NSG fields of RFC 7143 §11.12.3.
type Stage uint8

const (
	// SecurityNegotiation is stage 0 (RFC 7143 §6.3.2).
	SecurityNegotiation Stage = 0
	// LoginOperationalNegotiation is stage 1 (RFC 7143 §6.3.3).
	LoginOperationalNegotiation Stage = 1
	// FullFeaturePhase is stage 3 (RFC 7143 §6.4 for its text
	// negotiation).
	FullFeaturePhase Stage = 3
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

func (s Stage) use() Use {
	switch s {
	case SecurityNegotiation:
		return UseSecurity
	case LoginOperationalNegotiation:
		return UseOperational
	}
	return UseFullFeature
}

// Negotiator runs the text negotiation of RFC 7143 §6.2 for one side of one
// connection, from the key table: it answers the keys the peer offers,
// checks the peer's answers to its own offers, and gathers the outcome into
// SessionParams and ConnParams. It does no I/O. The CHAP keys and
// SendTargets are not its business: the login machines and the text
// responder handle them and pass the rest here.
type Negotiator struct {
	role      Role
	settings  Settings
	leading   bool
	discovery bool

	// pending: keys this side offered and whose answer has not come, with
	// the value offered.
	pending map[string]string
	// done: keys negotiated or declared in the current negotiation
	// sequence, by either side (RFC 7143 §6.3, §6.4: none may be
	// repeated).
	done map[string]bool
	// declared: declarative keys this side sent in the current sequence.
	declared map[string]bool
	// agreed: the outcome of negotiated keys, and the peer's declarations.
	agreed map[string]string
	// allowRepeats accepts keys the peer sends again (see
	// SetAllowRepeats).
	allowRepeats bool
	// authMethods are the AuthMethod values this side accepts.
	authMethods []string
	// peerMRDSL is the peer's MaxRecvDataSegmentLength declaration.
	peerMRDSL uint32
}

// NewNegotiator returns a Negotiator for role with the given settings.
// leading says the connection is the first of its session (RFC 7143 §13:
// leading-only keys are allowed only there); discovery that the session is
// a discovery session (keys "Irrelevant when SessionType=Discovery" are
// answered Irrelevant and not offered).
func NewNegotiator(role Role, s Settings, leading, discovery bool) *Negotiator {
	return &Negotiator{
		role:      role,
		settings:  s,
		leading:   leading,
		discovery: discovery,
		pending:   make(map[string]string),
		done:      make(map[string]bool),
		declared:  make(map[string]bool),
		agreed:    make(map[string]string),
	}
}

// SetAllowRepeats makes the Negotiator accept a key the peer declares or
// offers again in a later PDU of the same negotiation sequence, answering it
// anew, instead of failing with ErrDuplicateKey as RFC 7143 §6.3 requires.
// libiscsi 1.19 sends every operational key again in each Login Request of
// the operational stage, so a target that answers it with T=0 needs this.
func (n *Negotiator) SetAllowRepeats(allow bool) { n.allowRepeats = allow }

// SetAuthMethods sets the AuthMethod values (RFC 7143 §12.1) this side
// offers and accepts, in order of preference; the default is None only.
func (n *Negotiator) SetAuthMethods(methods []string) { n.authMethods = methods }

// BeginSequence starts a new negotiation sequence (a new Text exchange in
// the full feature phase, RFC 7143 §6.4): keys may be negotiated again.
func (n *Negotiator) BeginSequence() {
	clear(n.done)
	clear(n.pending)
	clear(n.declared)
}

// Pending reports whether offers of this side still await an answer; a
// target must not end a stage or a text exchange while they do (RFC 7143
// §6.3, §11.13.6; §6.4, §11.11.1).
func (n *Negotiator) Pending() bool { return len(n.pending) > 0 }

// Agreed returns the outcome of key so far, or its declaration by the
// peer, and whether there is one.
func (n *Negotiator) Agreed(key string) (string, bool) {
	v, ok := n.agreed[key]
	return v, ok
}

// Declare records a declarative key this side sends (for example
// TargetName by the initiator), so that the peer may not declare it again
// and the outcome holds it.
func (n *Negotiator) Declare(key, value string) Pair {
	n.declared[key] = true
	if key != "MaxRecvDataSegmentLength" {
		n.agreed[key] = value
	}
	return Pair{Key: key, Value: value}
}

// Propose records an offer of a negotiated key outside Offer (for example
// AuthMethod, whose values come from the authentication configuration): the
// peer's answer is checked against it.
func (n *Negotiator) Propose(key, value string) Pair {
	n.pending[key] = value
	return Pair{Key: key, Value: value}
}

// closePending ends the offers the peer left unanswered: RFC 7143 §6.2.2
// makes the answer optional after an offer of No to an AND key or Yes to an
// OR key, whose outcome is then the offer; any other unanswered key keeps
// its default.
func (n *Negotiator) closePending() {
	for name, v := range n.pending {
		if k, ok := keyIndex[name]; ok {
			if (k.Result == ResultAnd && v == "No") || (k.Result == ResultOr && v == "Yes") {
				n.agreed[name] = v
			}
		}
		delete(n.pending, name)
	}
}

// allowed reports whether k may be offered or answered with a value in
// this session at stage (RFC 7143 §6.3, §13).
func (n *Negotiator) allowed(k *Key, stage Stage) bool {
	if k.Use&stage.use() == 0 {
		return false
	}
	if k.Use&UseLeadingOnly != 0 && !n.leading {
		return false
	}
	return true
}

// Offer returns the keys this side proposes at stage that it has not yet
// negotiated: the initiator proposes every negotiable key allowed at the
// stage; the target proposes only those whose value differs from the RFC
// default (RFC 7143 §6.2: a target may originate keys too). Both declare
// MaxRecvDataSegmentLength once (§13.12). The offers are pending until
// answered.
func (n *Negotiator) Offer(stage Stage) []Pair {
	var out []Pair
	n.offers(stage, func(k *Key, v string) bool {
		if k.Result == ResultDeclarative {
			out = append(out, n.Declare(k.Name, v))
		} else {
			n.pending[k.Name] = v
			out = append(out, Pair{Key: k.Name, Value: v})
		}
		return true
	})
	for _, name := range slices.Sorted(maps.Keys(n.settings.Private)) {
		if !n.done[name] && !n.declared[name] && stage != FullFeaturePhase {
			out = append(out, n.Declare(name, n.settings.Private[name]))
		}
	}
	return out
}

// wouldNegotiate reports whether Offer(stage) would originate a key that
// needs an answer, without making the offer.
func (n *Negotiator) wouldNegotiate(stage Stage) bool {
	found := false
	n.offers(stage, func(k *Key, _ string) bool {
		found = k.Result != ResultDeclarative
		return !found
	})
	return found
}

// offers calls yield with each key this side would offer at stage and its
// value, until yield returns false.
func (n *Negotiator) offers(stage Stage, yield func(*Key, string) bool) {
	for i := range keys {
		k := &keys[i]
		f, ok := keyFields[k.Name]
		if !ok || f.local == nil || n.declared[k.Name] {
			continue
		}
		if n.done[k.Name] && k.Result != ResultDeclarative {
			continue
		}
		if _, p := n.pending[k.Name]; p {
			continue
		}
		if !n.allowed(k, stage) || (n.discovery && k.IrrelevantInDiscovery) {
			continue
		}
		v := f.local(&n.settings)
		if n.role == RoleTarget && k.Result != ResultDeclarative {
			// The target originates only what it cannot leave at the
			// default: a value other than the default, or a list
			// without it.
			if v == k.Default || (k.Result == ResultList && contains(strings.Split(v, ","), k.Default)) {
				continue
			}
		}
		if !yield(k, v) {
			return
		}
	}
}

// Receive processes the keys of one complete text from the peer (without
// CHAP keys and SendTargets) at stage and returns the answers to send. A
// key the responder does not know is answered NotUnderstood, one not
// allowed here or with a value it cannot accept Reject, one with no meaning
// in a discovery session Irrelevant (RFC 7143 §6.2; §6.3 makes a key sent
// in a stage that does not allow it a protocol error, which this answers
// with Reject instead). Faults the RFC treats as protocol errors (a
// repeated key, §6.3, §6.4; an answer the offer did not allow, §6.2.1,
// §6.2.2) return a *TextError; the login machines turn them into a failed
// login (Initiator Error) or a dropped connection.
func (n *Negotiator) Receive(pairs []Pair, stage Stage) ([]Pair, error) {
	var answers []Pair
	for _, p := range pairs {
		a, answer, err := n.receive(p, stage)
		if err != nil {
			return answers, err
		}
		if answer {
			answers = append(answers, a)
		}
	}
	n.fixFirstBurst(answers)
	return answers, nil
}

func isConstant(v string) bool {
	return v == NotUnderstood || v == Reject || v == Irrelevant
}

func (n *Negotiator) receive(p Pair, stage Stage) (Pair, bool, error) {
	k, known := keyIndex[p.Key]
	if !known {
		if offered, ok := n.pending[p.Key]; ok {
			// An answer to an extension key this side declared.
			_ = offered
			delete(n.pending, p.Key)
			return Pair{}, false, nil
		}
		if n.done[p.Key] && !n.allowRepeats {
			return Pair{}, false, textErr(p.Key, p.Value, ErrDuplicateKey)
		}
		n.done[p.Key] = true
		if _, ok := n.settings.Private[p.Key]; ok {
			// An extension key this node understands is recorded as
			// a declaration (§13.22: its scope and semantics are
			// specific to the key).
			n.agreed[p.Key] = p.Value
			return Pair{}, false, nil
		}
		if isConstant(p.Value) {
			// The peer's answer to nothing: ignore.
			return Pair{}, false, nil
		}
		return Pair{Key: p.Key, Value: NotUnderstood}, true, nil
	}
	if k.Result == ResultSendTargets && stage == FullFeaturePhase {
		// Answered by TextResponder with discovery text (§13.3).
		return Pair{}, false, nil
	}
	if offered, ok := n.pending[p.Key]; ok {
		delete(n.pending, p.Key)
		n.done[p.Key] = true
		return Pair{}, false, n.answered(k, offered, p.Value)
	}
	if n.done[p.Key] && p.Key != "MaxRecvDataSegmentLength" && !n.allowRepeats {
		// MaxRecvDataSegmentLength is declarative in every phase
		// (§13.12); some initiators declare it again when they change
		// stage, so a new declaration replaces the old one.
		return Pair{}, false, textErr(p.Key, p.Value, ErrDuplicateKey)
	}
	n.done[p.Key] = true
	if isConstant(p.Value) {
		// A constant answer to a key this side never offered.
		return Pair{}, false, nil
	}
	if k.Sender&n.peerSender() == 0 || !n.allowed(k, stage) {
		return Pair{Key: p.Key, Value: Reject}, true, nil
	}
	if n.discovery && k.IrrelevantInDiscovery {
		return Pair{Key: p.Key, Value: Irrelevant}, true, nil
	}
	f := keyFields[p.Key]
	switch k.Result {
	case ResultReject:
		return Pair{Key: p.Key, Value: Reject}, true, nil
	case ResultDeclarative:
		if err := k.checkValue(p.Value); err != nil {
			return Pair{Key: p.Key, Value: Reject}, true, nil
		}
		n.agreed[p.Key] = p.Value
		if p.Key == "MaxRecvDataSegmentLength" {
			n.peerMRDSL = uint32(mustNum(p.Value))
		}
		return Pair{}, false, nil
	case ResultList:
		if err := k.checkValue(p.Value); err != nil {
			return Pair{Key: p.Key, Value: Reject}, true, nil
		}
		var mine []string
		switch {
		case f.local != nil:
			mine = strings.Split(f.local(&n.settings), ",")
		case p.Key == "AuthMethod":
			mine = n.authMethods
			if mine == nil {
				mine = []string{None}
			}
		default:
			mine = k.Values
		}
		v := Reject
		for item := range strings.SplitSeq(p.Value, ",") {
			if contains(mine, item) && contains(k.Values, item) {
				v = item
				break
			}
		}
		if v != Reject {
			n.agreed[p.Key] = v
		}
		return Pair{Key: p.Key, Value: v}, true, nil
	}
	// Numerical and Boolean functions of RFC 7143 §6.2.2.
	if err := k.checkValue(p.Value); err != nil {
		return Pair{Key: p.Key, Value: Reject}, true, nil
	}
	mine := k.Default
	if f.local != nil {
		mine = f.local(&n.settings)
	}
	var v string
	switch k.Result {
	case ResultMin:
		v = num(min(mustNum(p.Value), mustNum(mine)))
	case ResultMax:
		v = num(max(mustNum(p.Value), mustNum(mine)))
	case ResultAnd:
		v = yesNo(p.Value == "Yes" && mine == "Yes")
	case ResultOr:
		v = yesNo(p.Value == "Yes" || mine == "Yes")
	}
	n.agreed[p.Key] = v
	return Pair{Key: p.Key, Value: v}, true, nil
}

func (n *Negotiator) peerSender() Sender {
	if n.role == RoleTarget {
		return SentByInitiator
	}
	return SentByTarget
}

// answered checks the peer's answer to this side's offer of k against the
// result function (RFC 7143 §6.2.1, §6.2.2) and records the outcome.
func (n *Negotiator) answered(k *Key, offered, answer string) error {
	switch answer {
	case Reject, Irrelevant, NotUnderstood:
		// RFC 7143 §6.2: after Reject the key keeps its current
		// (default) value, and Irrelevant does not fail the
		// negotiation. §6.2 also makes NotUnderstood to a key of RFC
		// 7143 a protocol error; it is accepted here like Reject.
		return nil
	}
	bad := textErr(k.Name, answer, ErrUnexpectedAnswer)
	switch k.Result {
	case ResultDeclarative, ResultReject, ResultSendTargets:
		return nil
	case ResultList:
		if !contains(strings.Split(offered, ","), answer) {
			return bad
		}
	case ResultMin, ResultMax:
		if err := k.checkValue(answer); err != nil {
			return err
		}
		a, o := mustNum(answer), mustNum(offered)
		if (k.Result == ResultMin && a > o) || (k.Result == ResultMax && a < o) {
			return bad
		}
	case ResultAnd, ResultOr:
		if err := k.checkValue(answer); err != nil {
			return err
		}
		// RFC 7143 §6.2.2: after an offer of No (AND) or Yes (OR) the
		// outcome is fixed.
		if k.Result == ResultAnd && offered == "No" && answer != "No" {
			return bad
		}
		if k.Result == ResultOr && offered == "Yes" && answer != "Yes" {
			return bad
		}
	}
	n.agreed[k.Name] = answer
	return nil
}

// fixFirstBurst lowers a FirstBurstLength answer to the MaxBurstLength in
// force: RFC 7143 §13.14 forbids FirstBurstLength > MaxBurstLength, and a
// Minimum answer may be any value not above the offer.
func (n *Negotiator) fixFirstBurst(answers []Pair) {
	mbl, ok := n.agreed["MaxBurstLength"]
	if !ok {
		return
	}
	for i := range answers {
		if answers[i].Key == "FirstBurstLength" && !isConstant(answers[i].Value) {
			if mustNum(answers[i].Value) > mustNum(mbl) {
				answers[i].Value = mbl
				n.agreed["FirstBurstLength"] = mbl
			}
		}
	}
}

// Result returns the parameters in force: the RFC defaults overridden by
// every outcome and declaration. It fails with a *TextError of kind
// ErrOutOfRange if FirstBurstLength exceeds MaxBurstLength (RFC 7143
// §13.14).
func (n *Negotiator) Result() (SessionParams, ConnParams, error) {
	sp := DefaultSessionParams()
	cp := DefaultConnParams()
	for name, v := range n.agreed {
		f, ok := keyFields[name]
		if !ok {
			continue
		}
		if f.session != nil {
			f.session(&sp, v)
		}
		if f.conn != nil {
			f.conn(&cp, v)
		}
	}
	cp.MaxRecvDataSegmentLength = n.settings.MaxRecvDataSegmentLength
	if n.peerMRDSL != 0 {
		cp.MaxXmitDataSegmentLength = n.peerMRDSL
	}
	if n.discovery {
		sp.SessionType = SessionDiscovery
	}
	if !n.discovery && sp.FirstBurstLength > sp.MaxBurstLength {
		return sp, cp, textErr("FirstBurstLength", num(uint64(sp.FirstBurstLength)), ErrOutOfRange)
	}
	return sp, cp, nil
}
