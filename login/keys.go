package login

import "strings"

// Scope says what a negotiated key applies to, RFC 7143 §13 ("SW"
// session-wide, "CO" connection-only).
type Scope uint8

const (
	// ScopeSession: the value holds for the whole session (SW).
	ScopeSession Scope = iota + 1
	// ScopeConnection: the value holds for one connection (CO).
	ScopeConnection
)

// Use says when a key may be sent, RFC 7143 §13 ("LO", "IO", "ALL", "FFPO",
// "Any-Stage"), as flags.
type Use uint8

const (
	// UseSecurity: the key may be sent in the security negotiation stage
	// of login (RFC 7143 §6.3.2).
	UseSecurity Use = 1 << iota
	// UseOperational: the key may be sent in the operational negotiation
	// stage of login (RFC 7143 §6.3.3).
	UseOperational
	// UseFullFeature: the key may be sent in Text requests and responses of
	// the full feature phase (RFC 7143 §6.4).
	UseFullFeature
	// UseLeadingOnly: the key may be sent only on the leading connection of
	// a session ("LO", RFC 7143 §13).
	UseLeadingOnly
	// UseInitialOnly: the key may be sent only in the login of a
	// connection, not renegotiated later ("IO", RFC 7143 §13).
	UseInitialOnly
)

// UseLogin means both login stages.
const UseLogin = UseSecurity | UseOperational

// Sender says which side may originate a key (RFC 7143 §13 "Senders").
type Sender uint8

const (
	// SentByInitiator: the initiator may originate the key.
	SentByInitiator Sender = 1 << iota
	// SentByTarget: the target may originate the key.
	SentByTarget
	// SentByBoth: either side may originate the key.
	SentByBoth = SentByInitiator | SentByTarget
)

// ResultFunc is the result function of a key: how the responder derives its
// answer and the outcome from an offer (RFC 7143 §6.2).
type ResultFunc uint8

const (
	// ResultDeclarative: the value is declared, not negotiated; no answer
	// is sent (RFC 7143 §6.2: declarative keys).
	ResultDeclarative ResultFunc = iota + 1
	// ResultList: the responder answers the first value of the offered list
	// that it supports, or Reject (RFC 7143 §6.2.1).
	ResultList
	// ResultMin: the outcome is the smaller of the two values; an answer
	// may not exceed the offer (RFC 7143 §13 "Minimum", §6.2.2).
	ResultMin
	// ResultMax: the outcome is the larger of the two values; an answer
	// may not be below the offer (RFC 7143 §13 "Maximum", §6.2.2).
	ResultMax
	// ResultAnd: the outcome is the Boolean AND (RFC 7143 §6.2.2).
	ResultAnd
	// ResultOr: the outcome is the Boolean OR (RFC 7143 §6.2.2).
	ResultOr
	// ResultReject: the key is obsolete and always answered Reject (RFC
	// 7143 §13.25).
	ResultReject
	// ResultSendTargets: the SendTargets key, answered with discovery text
	// (RFC 7143 §13.3).
	ResultSendTargets
)

// ValueKind is the kind of value a key takes (RFC 7143 §6.1).
type ValueKind uint8

const (
	// KindText: a text-value or iSCSI-local-name-value (RFC 7143 §6.1).
	KindText ValueKind = iota + 1
	// KindBoolean: Yes or No (RFC 7143 §6.1 boolean-value).
	KindBoolean
	// KindNumber: a numerical-value, decimal or hex (RFC 7143 §6.1; see
	// ParseNumber), within the key's Min and Max.
	KindNumber
	// KindList: a list-of-values separated by commas (RFC 7143 §6.1).
	KindList
	// KindName: an iSCSI-name-value (RFC 7143 §6.1, §4.2.7).
	KindName
	// KindBinary: a binary-value, hex or base64 (RFC 7143 §6.1).
	KindBinary
)

// Key describes one key of RFC 7143 §12 and §13: one row of the table that
// drives negotiation.
type Key struct {
	// Name is the key-name as it is sent.
	Name string
	// Section is the RFC section defining the key, e.g. "RFC 7143 §13.13".
	Section string
	Scope   Scope
	Use     Use
	Sender  Sender
	Result  ResultFunc
	Kind    ValueKind
	// Default is the value in force when the key is not negotiated.
	Default string
	// Min and Max bound a numerical value.
	Min, Max uint64
	// Values lists the values a list or text key may take; nil means any
	// well-formed value.
	Values []string
	// IrrelevantInDiscovery marks keys RFC 7143 §13 declares "Irrelevant
	// when SessionType=Discovery".
	IrrelevantInDiscovery bool
	// MaxLen is the longest value; zero means MaxValueLength.
	MaxLen int
}

// keys is the table of every key of RFC 7143 §12–§13 and RFC 7144. The
// declarative keys RFC 7143 §13 marks "Any-Stage" (names, aliases,
// addresses, SessionType, TargetPortalGroupTag) may appear in both login
// stages; the other login keys are operational and belong to the
// operational stage only (§6.3, §13).
var keys = []Key{
	{Name: "HeaderDigest", Section: "RFC 7143 §13.1", Scope: ScopeConnection, Use: UseOperational | UseInitialOnly, Sender: SentByBoth, Result: ResultList, Kind: KindList, Default: "None", Values: []string{"CRC32C", "None"}},
	{Name: "DataDigest", Section: "RFC 7143 §13.1", Scope: ScopeConnection, Use: UseOperational | UseInitialOnly, Sender: SentByBoth, Result: ResultList, Kind: KindList, Default: "None", Values: []string{"CRC32C", "None"}},
	{Name: "MaxConnections", Section: "RFC 7143 §13.2", Scope: ScopeSession, Use: UseOperational | UseLeadingOnly, Sender: SentByBoth, Result: ResultMin, Kind: KindNumber, Default: "1", Min: 1, Max: 65535, IrrelevantInDiscovery: true},
	{Name: "SendTargets", Section: "RFC 7143 §13.3", Scope: ScopeSession, Use: UseFullFeature, Sender: SentByInitiator, Result: ResultSendTargets, Kind: KindText},
	{Name: "TargetName", Section: "RFC 7143 §13.4", Scope: ScopeSession, Use: UseLogin | UseInitialOnly, Sender: SentByBoth, Result: ResultDeclarative, Kind: KindName, MaxLen: 223},
	{Name: "InitiatorName", Section: "RFC 7143 §13.5", Scope: ScopeSession, Use: UseLogin | UseInitialOnly, Sender: SentByInitiator, Result: ResultDeclarative, Kind: KindName, MaxLen: 223},
	{Name: "TargetAlias", Section: "RFC 7143 §13.6", Scope: ScopeSession, Use: UseLogin | UseFullFeature, Sender: SentByTarget, Result: ResultDeclarative, Kind: KindText},
	{Name: "InitiatorAlias", Section: "RFC 7143 §13.7", Scope: ScopeSession, Use: UseLogin | UseFullFeature, Sender: SentByInitiator, Result: ResultDeclarative, Kind: KindText},
	{Name: "TargetAddress", Section: "RFC 7143 §13.8", Scope: ScopeSession, Use: UseLogin | UseFullFeature, Sender: SentByTarget, Result: ResultDeclarative, Kind: KindText},
	{Name: "TargetPortalGroupTag", Section: "RFC 7143 §13.9", Scope: ScopeSession, Use: UseLogin | UseInitialOnly, Sender: SentByTarget, Result: ResultDeclarative, Kind: KindNumber, Min: 0, Max: 65535},
	{Name: "InitialR2T", Section: "RFC 7143 §13.10", Scope: ScopeSession, Use: UseOperational | UseLeadingOnly, Sender: SentByBoth, Result: ResultOr, Kind: KindBoolean, Default: "Yes", IrrelevantInDiscovery: true},
	{Name: "ImmediateData", Section: "RFC 7143 §13.11", Scope: ScopeSession, Use: UseOperational | UseLeadingOnly, Sender: SentByBoth, Result: ResultAnd, Kind: KindBoolean, Default: "Yes", IrrelevantInDiscovery: true},
	{Name: "MaxRecvDataSegmentLength", Section: "RFC 7143 §13.12", Scope: ScopeConnection, Use: UseOperational | UseFullFeature, Sender: SentByBoth, Result: ResultDeclarative, Kind: KindNumber, Default: "8192", Min: 512, Max: 1<<24 - 1},
	{Name: "MaxBurstLength", Section: "RFC 7143 §13.13", Scope: ScopeSession, Use: UseOperational | UseLeadingOnly, Sender: SentByBoth, Result: ResultMin, Kind: KindNumber, Default: "262144", Min: 512, Max: 1<<24 - 1, IrrelevantInDiscovery: true},
	{Name: "FirstBurstLength", Section: "RFC 7143 §13.14", Scope: ScopeSession, Use: UseOperational | UseLeadingOnly, Sender: SentByBoth, Result: ResultMin, Kind: KindNumber, Default: "65536", Min: 512, Max: 1<<24 - 1, IrrelevantInDiscovery: true},
	{Name: "DefaultTime2Wait", Section: "RFC 7143 §13.15", Scope: ScopeSession, Use: UseOperational | UseLeadingOnly, Sender: SentByBoth, Result: ResultMax, Kind: KindNumber, Default: "2", Min: 0, Max: 3600},
	{Name: "DefaultTime2Retain", Section: "RFC 7143 §13.16", Scope: ScopeSession, Use: UseOperational | UseLeadingOnly, Sender: SentByBoth, Result: ResultMin, Kind: KindNumber, Default: "20", Min: 0, Max: 3600},
	{Name: "MaxOutstandingR2T", Section: "RFC 7143 §13.17", Scope: ScopeSession, Use: UseOperational | UseLeadingOnly, Sender: SentByBoth, Result: ResultMin, Kind: KindNumber, Default: "1", Min: 1, Max: 65535, IrrelevantInDiscovery: true},
	{Name: "DataPDUInOrder", Section: "RFC 7143 §13.18", Scope: ScopeSession, Use: UseOperational | UseLeadingOnly, Sender: SentByBoth, Result: ResultOr, Kind: KindBoolean, Default: "Yes", IrrelevantInDiscovery: true},
	{Name: "DataSequenceInOrder", Section: "RFC 7143 §13.19", Scope: ScopeSession, Use: UseOperational | UseLeadingOnly, Sender: SentByBoth, Result: ResultOr, Kind: KindBoolean, Default: "Yes", IrrelevantInDiscovery: true},
	{Name: "ErrorRecoveryLevel", Section: "RFC 7143 §13.20", Scope: ScopeSession, Use: UseOperational | UseLeadingOnly, Sender: SentByBoth, Result: ResultMin, Kind: KindNumber, Default: "0", Min: 0, Max: 2},
	{Name: "SessionType", Section: "RFC 7143 §13.21", Scope: ScopeSession, Use: UseLogin | UseLeadingOnly | UseInitialOnly, Sender: SentByInitiator, Result: ResultDeclarative, Kind: KindText, Default: "Normal", Values: []string{"Discovery", "Normal"}},
	{Name: "TaskReporting", Section: "RFC 7143 §13.23", Scope: ScopeSession, Use: UseOperational | UseLeadingOnly, Sender: SentByBoth, Result: ResultList, Kind: KindList, Default: "RFC3720", Values: []string{"RFC3720", "ResponseFence", "FastAbort"}, IrrelevantInDiscovery: true},
	{Name: "iSCSIProtocolLevel", Section: "RFC 7143 §13.24, RFC 7144", Scope: ScopeSession, Use: UseOperational | UseLeadingOnly, Sender: SentByBoth, Result: ResultMin, Kind: KindNumber, Default: "1", Min: 0, Max: 31},
	{Name: "AuthMethod", Section: "RFC 7143 §12.1", Scope: ScopeConnection, Use: UseSecurity | UseInitialOnly, Sender: SentByBoth, Result: ResultList, Kind: KindList, Values: []string{"KRB5", "SRP", "CHAP", "None", "SPKM1", "SPKM2"}},
	{Name: "OFMarker", Section: "RFC 7143 §13.25", Scope: ScopeConnection, Use: UseLogin | UseFullFeature, Sender: SentByBoth, Result: ResultReject, Kind: KindBoolean},
	{Name: "IFMarker", Section: "RFC 7143 §13.25", Scope: ScopeConnection, Use: UseLogin, Sender: SentByBoth, Result: ResultReject, Kind: KindBoolean},
	{Name: "OFMarkInt", Section: "RFC 7143 §13.25", Scope: ScopeConnection, Use: UseLogin, Sender: SentByBoth, Result: ResultReject, Kind: KindText},
	{Name: "IFMarkInt", Section: "RFC 7143 §13.25", Scope: ScopeConnection, Use: UseLogin, Sender: SentByBoth, Result: ResultReject, Kind: KindText},
	{Name: "X#NodeArchitecture", Section: "RFC 7143 §13.26", Scope: ScopeSession, Use: UseLogin | UseFullFeature, Sender: SentByBoth, Result: ResultDeclarative, Kind: KindText},
}

var keyIndex = func() map[string]*Key {
	m := make(map[string]*Key, len(keys))
	for i := range keys {
		m[keys[i].Name] = &keys[i]
	}
	return m
}()

// LookupKey returns the table row of the RFC 7143 §13 (or §12.1) key name.
// The CHAP keys of §12.1.3 are not in the table: the CHAP exchange handles
// them.
func LookupKey(name string) (Key, bool) {
	k, ok := keyIndex[name]
	if !ok {
		return Key{}, false
	}
	return *k, true
}

// Keys returns a copy of the whole key table, in RFC order.
func Keys() []Key {
	out := make([]Key, len(keys))
	copy(out, keys)
	return out
}

// IsCHAPKey reports the keys of the CHAP exchange, RFC 7143 §12.1.3.
func IsCHAPKey(name string) bool {
	switch name {
	case "CHAP_A", "CHAP_I", "CHAP_C", "CHAP_N", "CHAP_R":
		return true
	}
	return false
}

// IsPrivateKey reports the extension key forms: "X-" followed by a
// reversed domain name for private keys (RFC 7143 §13.22), and "X#", the
// prefix of public keys registered before RFC 7143 such as
// X#NodeArchitecture (§13.26), which §6.2 forbids for new keys.
func IsPrivateKey(name string) bool {
	return strings.HasPrefix(name, "X-") || strings.HasPrefix(name, "X#")
}

// checkValue reports whether v is a well-formed value of k (not a constant
// such as Reject), including its range. It returns a *TextError.
func (k *Key) checkValue(v string) error {
	maxLen := k.MaxLen
	if maxLen == 0 {
		maxLen = MaxValueLength
	}
	// RFC 7143 §6.1: the 255-byte limit is that of a simple-value; in a
	// list-of-values it applies to each value, without its comma.
	if len(v) > maxLen && k.Kind != KindList {
		return textErr(k.Name, v, ErrValueTooLong)
	}
	switch k.Kind {
	case KindBoolean:
		if v != "Yes" && v != "No" {
			return textErr(k.Name, v, ErrValue)
		}
	case KindNumber:
		parse := ParseNumber
		if k.binaryNumber() {
			parse = ParseRegularBinary
		}
		n, err := parse(v)
		if err != nil {
			return textErr(k.Name, v, ErrValue)
		}
		if n < k.Min || n > k.Max {
			return textErr(k.Name, v, ErrOutOfRange)
		}
	case KindList:
		if v == "" {
			return textErr(k.Name, v, ErrValue)
		}
		for item := range strings.SplitSeq(v, ",") {
			if len(item) > maxLen {
				return textErr(k.Name, v, ErrValueTooLong)
			}
			if item == "" || !validTextValue(item) {
				return textErr(k.Name, v, ErrValue)
			}
		}
	case KindName:
		if v == "" || !validName(v) {
			return textErr(k.Name, v, ErrValue)
		}
	case KindText:
		if k.Values != nil && !contains(k.Values, v) {
			return textErr(k.Name, v, ErrValue)
		}
	}
	return nil
}

// binaryNumber reports the numerical keys whose value is a binary-value
// rather than a numerical-value (RFC 7143 §13.9: TargetPortalGroupTag is a
// 16-bit-binary-value), which a base64-constant may encode (§6.1).
func (k *Key) binaryNumber() bool { return k.Name == "TargetPortalGroupTag" }

// validTextValue: letters, digits, '.', '-', '+', '@', '_', '/', '[', ']'
// and ':' are the text-value characters of RFC 7143 §6.1 (the comma
// separates list items and is checked by the caller).
func validTextValue(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case strings.IndexByte(".-+@_/[]:", c) >= 0:
		default:
			return false
		}
	}
	return true
}

// validName accepts the characters an iSCSI name may carry in the text
// (RFC 7143 §4.2.7.2: after normalization, lower-case letters, digits, '.',
// '-', ':', plus upper case tolerated here for eui./naa. forms). Full
// validation of names belongs to package iqn.
func validName(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case c == '.', c == '-', c == ':':
		case c >= 0x80: // UTF-8 of internationalized names
		default:
			return false
		}
	}
	return true
}

func contains(list []string, v string) bool {
	for _, s := range list {
		if s == v {
			return true
		}
	}
	return false
}
