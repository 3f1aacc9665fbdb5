package login

import (
	"maps"
	"slices"
	"strings"

	"github.com/go-iscsi/iscsi/pdu"
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
// CSG and NSG fields of RFC 7143 §11.12.3. It is [pdu.Stage], named here
// so that negotiation code reads in its own terms.
type Stage = pdu.Stage

// The stages, RFC 7143 §11.12.3.
const (
	// SecurityNegotiation is stage 0 (RFC 7143 §6.3.2).
	SecurityNegotiation = pdu.SecurityNegotiation
	// LoginOperationalNegotiation is stage 1 (RFC 7143 §6.3.3).
	LoginOperationalNegotiation = pdu.LoginOperationalNegotiation
	// FullFeaturePhase is stage 3 (RFC 7143 §6.4 for its text
	// negotiation).
	FullFeaturePhase = pdu.FullFeaturePhase
)

// stageUse is the Use flag of the keys allowed in stage s (RFC 7143 §6.3,
// §13).
func stageUse(s Stage) Use {
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
	if k.Use&stageUse(stage) == 0 {
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
		if k.Name == "TaskReporting" {
			v = taskReportingOffer(v)
		}
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
// key the responder does not know is answered NotUnderstood, one with a
// value it cannot accept (or sent by the wrong side, or on a connection or
// in the full feature phase where its use does not allow it) Reject, one
// with no meaning in a discovery session Irrelevant (RFC 7143 §6.2).
// Faults the RFC treats as protocol errors return a *TextError: a key sent
// in a login stage that does not allow it (ErrWrongPhase, §6.3), a
// repeated key (ErrDuplicateKey, §6.3, §6.4; TargetAddress may repeat), a
// reserved constant Reject, Irrelevant or NotUnderstood sent as a proposed
// value (ErrReservedValue, §6.2), NotUnderstood answered to a key this
// document defines (ErrUnexpectedAnswer, §6.2), and an answer the offer
// did not allow (ErrUnexpectedAnswer, §6.2.1, §6.2.2). The login machines
// turn them into a failed login (Initiator Error) or a dropped connection.
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
	n.fixOutstandingR2T(answers)
	return answers, nil
}

func isConstant(v string) bool {
	return v == NotUnderstood || v == Reject || v == Irrelevant
}

// laterKeys are the keys of the table that an implementation of RFC 3720
// alone does not know, so a NotUnderstood answer to them concludes the
// negotiation instead of being a protocol error (RFC 7143 §6.2 "later"
// keys): TaskReporting, whose NotUnderstood outcome §4.2.2.3.3 names;
// iSCSIProtocolLevel of RFC 7144; and X#NodeArchitecture, whose X# prefix
// marks a key that allows NotUnderstood (§6.2, §13.26).
var laterKeys = map[string]bool{"TaskReporting": true, "iSCSIProtocolLevel": true, "X#NodeArchitecture": true}

// constantAnswer checks a reserved constant received for key, which this
// side did not offer: it may only answer a declaration of this side (RFC
// 7143 §6.2: NotUnderstood answers declarative keys too); as a proposed
// value it is a protocol error, as is NotUnderstood to a key RFC 7143
// defines.
func (n *Negotiator) constantAnswer(key, value string) error {
	if !n.declared[key] {
		return textErr(key, value, ErrReservedValue)
	}
	if value == NotUnderstood {
		if _, known := keyIndex[key]; known && !laterKeys[key] {
			return textErr(key, value, ErrUnexpectedAnswer)
		}
	}
	return nil
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
		if isConstant(p.Value) {
			// An answer to a declaration of this side, or a
			// reserved constant proposed (§6.2).
			return Pair{}, false, n.constantAnswer(p.Key, p.Value)
		}
		if _, ok := n.settings.Private[p.Key]; ok {
			// An extension key this node understands is recorded as
			// a declaration (§13.22: its scope and semantics are
			// specific to the key).
			n.agreed[p.Key] = p.Value
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
	if n.done[p.Key] && !repeatable(p.Key) && !n.allowRepeats {
		return Pair{}, false, textErr(p.Key, p.Value, ErrDuplicateKey)
	}
	n.done[p.Key] = true
	if isConstant(p.Value) {
		return Pair{}, false, n.constantAnswer(p.Key, p.Value)
	}
	if stage != FullFeaturePhase && k.Use&stageUse(stage) == 0 {
		// RFC 7143 §6.3: sending a key that is not allowed in the
		// current stage is a protocol error.
		return Pair{}, false, textErr(p.Key, p.Value, ErrWrongPhase)
	}
	if k.Sender&n.peerSender() == 0 || !n.allowed(k, stage) {
		return Pair{Key: p.Key, Value: Reject}, true, nil
	}
	if n.discovery && p.Key == "ErrorRecoveryLevel" {
		// RFC 7143 §7.4.1: a discovery session answers 0.
		if err := k.checkValue(p.Value); err != nil {
			return Pair{Key: p.Key, Value: Reject}, true, nil
		}
		n.agreed[p.Key] = "0"
		return Pair{Key: p.Key, Value: "0"}, true, nil
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

// taskReportingOffer completes a TaskReporting offer: RFC 7143 §13.23
// says the originator MUST offer at least RFC3720 and ResponseFence, so
// those missing from the configured preference are added after it. Only
// the offer grows: as responder this side still answers from its own list.
func taskReportingOffer(v string) string {
	items := strings.Split(v, ",")
	for _, must := range []string{"RFC3720", "ResponseFence"} {
		if !contains(items, must) {
			v += "," + must
		}
	}
	return v
}

// repeatable reports whether a key may be sent more than once in one
// negotiation sequence: TargetAddress, which §6.3 names as allowed to
// repeat, and MaxRecvDataSegmentLength, declarative in every phase
// (§13.12), which some initiators declare again when they change stage, a
// new declaration replacing the old one.
func repeatable(key string) bool {
	return key == "TargetAddress" || key == "MaxRecvDataSegmentLength"
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
	case Reject, Irrelevant:
		// RFC 7143 §6.2: after Reject the key keeps its current
		// (default) value, and Irrelevant does not fail the
		// negotiation.
		return nil
	case NotUnderstood:
		// RFC 7143 §6.2: NotUnderstood to a key of this document is a
		// protocol error; to a later key it concludes the negotiation
		// and the key keeps its default.
		if laterKeys[k.Name] {
			return nil
		}
		return textErr(k.Name, answer, ErrUnexpectedAnswer)
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

// fixOutstandingR2T lowers a MaxOutstandingR2T answer to 1 when the
// outcome so far has ErrorRecoveryLevel above 0 and DataSequenceInOrder Yes:
// RFC 7143 §13.19 requires MaxOutstandingR2T 1 then, and a Minimum answer
// may be any value not above the offer.
func (n *Negotiator) fixOutstandingR2T(answers []Pair) {
	erl, ok := n.agreed["ErrorRecoveryLevel"]
	if !ok || erl == "0" || n.discovery {
		return
	}
	if dsio, ok := n.agreed["DataSequenceInOrder"]; ok && dsio != "Yes" {
		return
	}
	for i := range answers {
		if answers[i].Key == "MaxOutstandingR2T" && !isConstant(answers[i].Value) && answers[i].Value != "1" {
			answers[i].Value = "1"
			n.agreed["MaxOutstandingR2T"] = "1"
		}
	}
}

// Result returns the parameters in force: the RFC defaults overridden by
// every outcome and declaration; in a discovery session ErrorRecoveryLevel
// is 0 whatever was negotiated (RFC 7143 §7.4.1, §13.21) and MaxConnections
// 1 (§13.21). It checks the integrity rules of §6.2 and fails with a
// *TextError of kind ErrOutOfRange if FirstBurstLength exceeds
// MaxBurstLength (§13.14), or if ErrorRecoveryLevel is not 0 and
// DataSequenceInOrder is Yes while MaxOutstandingR2T is not 1 (§13.19).
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
		sp.ErrorRecoveryLevel = 0
		sp.MaxConnections = 1
		return sp, cp, nil
	}
	if sp.FirstBurstLength > sp.MaxBurstLength {
		return sp, cp, textErr("FirstBurstLength", num(uint64(sp.FirstBurstLength)), ErrOutOfRange)
	}
	if sp.ErrorRecoveryLevel > 0 && sp.DataSequenceInOrder && sp.MaxOutstandingR2T != 1 {
		return sp, cp, textErr("MaxOutstandingR2T", num(uint64(sp.MaxOutstandingR2T)), ErrOutOfRange)
	}
	return sp, cp, nil
}
