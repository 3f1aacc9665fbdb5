package login

import (
	"fmt"
	"strconv"
	"strings"
)

// SessionType is the kind of session, RFC 7143 §13.21. The zero value is
// SessionNormal, the RFC default.
type SessionType uint8

const (
	// SessionNormal: a session that carries SCSI commands.
	SessionNormal SessionType = iota
	// SessionDiscovery: a session for SendTargets discovery only (RFC 7143
	// §13.21, Appendix C).
	SessionDiscovery
)

// String returns the value of the SessionType key.
func (t SessionType) String() string {
	switch t {
	case SessionNormal:
		return "Normal"
	case SessionDiscovery:
		return "Discovery"
	}
	return "SessionType(" + strconv.Itoa(int(t)) + ")"
}

// SessionParams are the session-wide parameters in force after login
// (RFC 7143 §13, keys of scope SW). DefaultSessionParams gives the RFC
// defaults.
type SessionParams struct {
	SessionType SessionType // RFC 7143 §13.21
	// Names and aliases as declared during login (§13.4–§13.7).
	TargetName, InitiatorName   string
	TargetAlias, InitiatorAlias string
	// TargetPortalGroupTag is the tag the target returned (§13.9).
	TargetPortalGroupTag uint16

	MaxConnections      uint32 // §13.2, 1–65535
	InitialR2T          bool   // §13.10
	ImmediateData       bool   // §13.11
	MaxBurstLength      uint32 // §13.13, 512–16777215
	FirstBurstLength    uint32 // §13.14, 512–16777215, ≤ MaxBurstLength
	DefaultTime2Wait    uint32 // §13.15, seconds 0–3600
	DefaultTime2Retain  uint32 // §13.16, seconds 0–3600
	MaxOutstandingR2T   uint32 // §13.17, 1–65535
	DataPDUInOrder      bool   // §13.18
	DataSequenceInOrder bool   // §13.19
	ErrorRecoveryLevel  uint8  // §13.20, 0–2
	// TaskReporting is RFC3720, ResponseFence or FastAbort (§13.23).
	TaskReporting string
	// ProtocolLevel is the agreed iSCSIProtocolLevel (RFC 7144, RFC 7143
	// §13.24): 1 for RFC 7143, 2 for RFC 7144.
	ProtocolLevel uint8
}

// ConnParams are the connection-only parameters in force after login (RFC
// 7143 §13, keys of scope CO). The session layer configures the PDU reader
// and writer of the connection from them.
type ConnParams struct {
	// HeaderDigest and DataDigest report that CRC32C was agreed (§13.1).
	HeaderDigest, DataDigest bool
	// MaxRecvDataSegmentLength is what this node declared it receives:
	// the largest data segment the peer may send it (§13.12).
	MaxRecvDataSegmentLength uint32
	// MaxXmitDataSegmentLength is what the peer declared it receives: the
	// largest data segment this node may send (§13.12; 8192 when the peer
	// declared nothing).
	MaxXmitDataSegmentLength uint32
}

// DefaultSessionParams returns the RFC 7143 §13 default of every session
// key.
func DefaultSessionParams() SessionParams {
	var p SessionParams
	for i := range keys {
		if f, ok := keyFields[keys[i].Name]; ok && f.session != nil && keys[i].Default != "" {
			f.session(&p, keys[i].Default)
		}
	}
	return p
}

// DefaultConnParams returns the RFC 7143 §13 default of every connection
// key: no digests, 8192-byte data segments both ways.
func DefaultConnParams() ConnParams {
	return ConnParams{MaxRecvDataSegmentLength: 8192, MaxXmitDataSegmentLength: 8192}
}

// DigestPolicy says which digests a node offers and accepts for
// HeaderDigest or DataDigest (RFC 7143 §13.1).
type DigestPolicy uint8

const (
	// DigestAccept offers "None,CRC32C": no digest by preference, CRC32C if
	// the peer prefers it.
	DigestAccept DigestPolicy = iota
	// DigestPrefer offers "CRC32C,None".
	DigestPrefer
	// DigestRequire offers and accepts only "CRC32C".
	DigestRequire
	// DigestRefuse offers and accepts only "None".
	DigestRefuse
)

func (d DigestPolicy) list() []string {
	switch d {
	case DigestPrefer:
		return []string{"CRC32C", "None"}
	case DigestRequire:
		return []string{"CRC32C"}
	case DigestRefuse:
		return []string{"None"}
	}
	return []string{"None", "CRC32C"}
}

// Settings are the operational values a node proposes (as originator) and
// the limits it answers with (as responder), RFC 7143 §13. DefaultSettings
// returns the RFC defaults, with digests accepted.
type Settings struct {
	HeaderDigest, DataDigest DigestPolicy // §13.1
	// MaxRecvDataSegmentLength is declared to the peer (§13.12).
	MaxRecvDataSegmentLength uint32
	MaxConnections           uint32 // §13.2
	InitialR2T               bool   // §13.10
	ImmediateData            bool   // §13.11
	MaxBurstLength           uint32 // §13.13
	FirstBurstLength         uint32 // §13.14
	DefaultTime2Wait         uint32 // §13.15
	DefaultTime2Retain       uint32 // §13.16
	MaxOutstandingR2T        uint32 // §13.17
	DataPDUInOrder           bool   // §13.18
	DataSequenceInOrder      bool   // §13.19
	ErrorRecoveryLevel       uint8  // §13.20
	// TaskReporting lists the values of §13.23 in order of preference;
	// empty means RFC3720 only.
	TaskReporting []string
	ProtocolLevel uint8 // §13.24
	// Private holds the X- and X# extension keys (RFC 7143 §13.22) this
	// node understands, with the value it declares for each. Any other
	// extension key is answered NotUnderstood.
	Private map[string]string
}

// DefaultSettings returns the RFC 7143 §13 defaults.
func DefaultSettings() Settings {
	p := DefaultSessionParams()
	return Settings{
		MaxRecvDataSegmentLength: 8192,
		MaxConnections:           p.MaxConnections,
		InitialR2T:               p.InitialR2T,
		ImmediateData:            p.ImmediateData,
		MaxBurstLength:           p.MaxBurstLength,
		FirstBurstLength:         p.FirstBurstLength,
		DefaultTime2Wait:         p.DefaultTime2Wait,
		DefaultTime2Retain:       p.DefaultTime2Retain,
		MaxOutstandingR2T:        p.MaxOutstandingR2T,
		DataPDUInOrder:           p.DataPDUInOrder,
		DataSequenceInOrder:      p.DataSequenceInOrder,
		ErrorRecoveryLevel:       p.ErrorRecoveryLevel,
		ProtocolLevel:            p.ProtocolLevel,
	}
}

// Validate checks every value against the range of its key (RFC 7143 §13)
// and FirstBurstLength ≤ MaxBurstLength (§13.14).
func (s *Settings) Validate() error {
	for i := range keys {
		k := &keys[i]
		f, ok := keyFields[k.Name]
		if !ok || f.local == nil {
			continue
		}
		v := f.local(s)
		for item := range strings.SplitSeq(v, ",") {
			if err := k.checkValue(item); err != nil {
				return err
			}
			if k.Kind == KindList && !contains(k.Values, item) {
				return textErr(k.Name, item, ErrValue)
			}
		}
	}
	if s.FirstBurstLength > s.MaxBurstLength {
		return textErr("FirstBurstLength", strconv.FormatUint(uint64(s.FirstBurstLength), 10), ErrOutOfRange)
	}
	for k := range s.Private {
		if !IsPrivateKey(k) || !ValidKeyName(k) {
			return textErr(k, "", ErrKeyName)
		}
	}
	return nil
}

// field binds a key of the table to Settings (what this node offers) and to
// SessionParams or ConnParams (the outcome).
type field struct {
	local   func(*Settings) string
	session func(*SessionParams, string)
	conn    func(*ConnParams, string)
}

func yesNo(b bool) string {
	if b {
		return "Yes"
	}
	return "No"
}

func num(n uint64) string { return strconv.FormatUint(n, 10) }

func mustNum(v string) uint64 {
	n, _ := ParseNumber(v)
	return n
}

// keyFields: key name → its fields. Values reaching the setters were
// checked against the key's kind and range.
var keyFields = map[string]field{
	"HeaderDigest": {
		local: func(s *Settings) string { return strings.Join(s.HeaderDigest.list(), ",") },
		conn:  func(c *ConnParams, v string) { c.HeaderDigest = v == "CRC32C" },
	},
	"DataDigest": {
		local: func(s *Settings) string { return strings.Join(s.DataDigest.list(), ",") },
		conn:  func(c *ConnParams, v string) { c.DataDigest = v == "CRC32C" },
	},
	"MaxConnections": {
		local:   func(s *Settings) string { return num(uint64(s.MaxConnections)) },
		session: func(p *SessionParams, v string) { p.MaxConnections = uint32(mustNum(v)) },
	},
	"TargetName":     {session: func(p *SessionParams, v string) { p.TargetName = v }},
	"InitiatorName":  {session: func(p *SessionParams, v string) { p.InitiatorName = v }},
	"TargetAlias":    {session: func(p *SessionParams, v string) { p.TargetAlias = v }},
	"InitiatorAlias": {session: func(p *SessionParams, v string) { p.InitiatorAlias = v }},
	"TargetPortalGroupTag": {
		session: func(p *SessionParams, v string) {
			n, _ := ParseRegularBinary(v) // §13.9: a 16-bit-binary-value
			p.TargetPortalGroupTag = uint16(n)
		},
	},
	"InitialR2T": {
		local:   func(s *Settings) string { return yesNo(s.InitialR2T) },
		session: func(p *SessionParams, v string) { p.InitialR2T = v == "Yes" },
	},
	"ImmediateData": {
		local:   func(s *Settings) string { return yesNo(s.ImmediateData) },
		session: func(p *SessionParams, v string) { p.ImmediateData = v == "Yes" },
	},
	"MaxRecvDataSegmentLength": {
		local: func(s *Settings) string { return num(uint64(s.MaxRecvDataSegmentLength)) },
		// The outcome of a declaration: see Negotiator.
	},
	"MaxBurstLength": {
		local:   func(s *Settings) string { return num(uint64(s.MaxBurstLength)) },
		session: func(p *SessionParams, v string) { p.MaxBurstLength = uint32(mustNum(v)) },
	},
	"FirstBurstLength": {
		local:   func(s *Settings) string { return num(uint64(s.FirstBurstLength)) },
		session: func(p *SessionParams, v string) { p.FirstBurstLength = uint32(mustNum(v)) },
	},
	"DefaultTime2Wait": {
		local:   func(s *Settings) string { return num(uint64(s.DefaultTime2Wait)) },
		session: func(p *SessionParams, v string) { p.DefaultTime2Wait = uint32(mustNum(v)) },
	},
	"DefaultTime2Retain": {
		local:   func(s *Settings) string { return num(uint64(s.DefaultTime2Retain)) },
		session: func(p *SessionParams, v string) { p.DefaultTime2Retain = uint32(mustNum(v)) },
	},
	"MaxOutstandingR2T": {
		local:   func(s *Settings) string { return num(uint64(s.MaxOutstandingR2T)) },
		session: func(p *SessionParams, v string) { p.MaxOutstandingR2T = uint32(mustNum(v)) },
	},
	"DataPDUInOrder": {
		local:   func(s *Settings) string { return yesNo(s.DataPDUInOrder) },
		session: func(p *SessionParams, v string) { p.DataPDUInOrder = v == "Yes" },
	},
	"DataSequenceInOrder": {
		local:   func(s *Settings) string { return yesNo(s.DataSequenceInOrder) },
		session: func(p *SessionParams, v string) { p.DataSequenceInOrder = v == "Yes" },
	},
	"ErrorRecoveryLevel": {
		local:   func(s *Settings) string { return num(uint64(s.ErrorRecoveryLevel)) },
		session: func(p *SessionParams, v string) { p.ErrorRecoveryLevel = uint8(mustNum(v)) },
	},
	"SessionType": {
		session: func(p *SessionParams, v string) {
			if v == "Discovery" {
				p.SessionType = SessionDiscovery
			} else {
				p.SessionType = SessionNormal
			}
		},
	},
	"TaskReporting": {
		local: func(s *Settings) string {
			if len(s.TaskReporting) == 0 {
				return "RFC3720"
			}
			return strings.Join(s.TaskReporting, ",")
		},
		session: func(p *SessionParams, v string) { p.TaskReporting = v },
	},
	"iSCSIProtocolLevel": {
		local:   func(s *Settings) string { return num(uint64(s.ProtocolLevel)) },
		session: func(p *SessionParams, v string) { p.ProtocolLevel = uint8(mustNum(v)) },
	},
}

// String formats the parameters as key=value text for logs.
func (p SessionParams) String() string {
	return fmt.Sprintf("SessionType=%s TargetName=%s InitiatorName=%s MaxConnections=%d InitialR2T=%s ImmediateData=%s MaxBurstLength=%d FirstBurstLength=%d DefaultTime2Wait=%d DefaultTime2Retain=%d MaxOutstandingR2T=%d DataPDUInOrder=%s DataSequenceInOrder=%s ErrorRecoveryLevel=%d TaskReporting=%s iSCSIProtocolLevel=%d",
		p.SessionType, p.TargetName, p.InitiatorName, p.MaxConnections, yesNo(p.InitialR2T), yesNo(p.ImmediateData),
		p.MaxBurstLength, p.FirstBurstLength, p.DefaultTime2Wait, p.DefaultTime2Retain, p.MaxOutstandingR2T,
		yesNo(p.DataPDUInOrder), yesNo(p.DataSequenceInOrder), p.ErrorRecoveryLevel, p.TaskReporting, p.ProtocolLevel)
}
