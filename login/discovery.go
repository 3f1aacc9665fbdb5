package login

import (
	"errors"
	"net"
	"slices"
	"strconv"
	"strings"
)

// DefaultPort is the well-known iSCSI TCP port, RFC 7143 §15 (the port a
// TargetAddress without one means, §13.8).
const DefaultPort = 3260

// ErrTargetAddress: a TargetAddress value that does not parse (RFC 7143
// §13.8).
var ErrTargetAddress = errors.New("login: invalid TargetAddress")

// TargetAddress is a value of the TargetAddress key, RFC 7143 §13.8:
// domainname[:port][,portal-group-tag], where domainname is a DNS name, an
// IPv4 address or an IPv6 address in brackets.
type TargetAddress struct {
	Host string // without brackets
	Port int    // DefaultPort when the value had none
	// PortalGroupTag is the portal group the address belongs to (§13.9);
	// HasPortalGroupTag says whether the value carried one.
	PortalGroupTag    uint16
	HasPortalGroupTag bool
}

// String returns the wire form of the address, IPv6 hosts in brackets.
func (a TargetAddress) String() string {
	host := a.Host
	if strings.IndexByte(host, ':') >= 0 {
		host = "[" + host + "]"
	}
	s := host + ":" + strconv.Itoa(a.Port)
	if a.HasPortalGroupTag {
		s += "," + strconv.Itoa(int(a.PortalGroupTag))
	}
	return s
}

// ParseTargetAddress parses a TargetAddress value of RFC 7143 §13.8. The
// portal group tag is what follows the last comma; the port what follows
// the last colon outside brackets.
func ParseTargetAddress(s string) (TargetAddress, error) {
	bad := func() (TargetAddress, error) { return TargetAddress{}, textErr("TargetAddress", s, ErrTargetAddress) }
	var a TargetAddress
	hostport := s
	if i := strings.LastIndexByte(s, ','); i >= 0 {
		n, err := strconv.ParseUint(s[i+1:], 10, 16)
		if err != nil {
			return bad()
		}
		a.PortalGroupTag, a.HasPortalGroupTag = uint16(n), true
		hostport = s[:i]
	}
	a.Port = DefaultPort
	if strings.HasPrefix(hostport, "[") {
		end := strings.IndexByte(hostport, ']')
		if end < 0 {
			return bad()
		}
		a.Host = hostport[1:end]
		rest := hostport[end+1:]
		if ip := net.ParseIP(a.Host); ip == nil || ip.To4() != nil && !strings.Contains(a.Host, ":") {
			return bad()
		}
		if rest != "" {
			if rest[0] != ':' {
				return bad()
			}
			p, err := parsePort(rest[1:])
			if err != nil {
				return bad()
			}
			a.Port = p
		}
		return a, nil
	}
	if i := strings.LastIndexByte(hostport, ':'); i >= 0 {
		if strings.Count(hostport, ":") > 1 {
			return bad() // an IPv6 address must be in brackets
		}
		p, err := parsePort(hostport[i+1:])
		if err != nil {
			return bad()
		}
		a.Port = p
		hostport = hostport[:i]
	}
	if hostport == "" || !validHost(hostport) {
		return bad()
	}
	a.Host = hostport
	return a, nil
}

func parsePort(s string) (int, error) {
	n, err := strconv.ParseUint(s, 10, 16)
	if err != nil || n == 0 {
		return 0, ErrTargetAddress
	}
	return int(n), nil
}

func validHost(h string) bool {
	for i := 0; i < len(h); i++ {
		c := h[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '.', c == '-', c == '_':
		default:
			return false
		}
	}
	return true
}

// DiscoveredTarget is one target of a SendTargets response (RFC 7143
// §13.3): its name and every address it can be reached at.
type DiscoveredTarget struct {
	Name      string
	Addresses []TargetAddress
}

// ErrSendTargets: a SendTargets response that does not follow RFC 7143
// §13.3 and Appendix C (a TargetAddress before any TargetName or without
// its portal group tag, a key other than TargetName and TargetAddress, or
// the SendTargets key answered).
var ErrSendTargets = errors.New("login: invalid SendTargets response")

// ParseSendTargets parses the text of a SendTargets response (RFC 7143
// §13.3, Appendix C): each TargetName=<name> followed by zero or more
// TargetAddress=<address>,<portal-group-tag> of that target. Appendix C
// permits no other key in the response and §13.8 requires the portal group
// tag there: either fault returns a *TextError wrapping ErrSendTargets.
func ParseSendTargets(text []byte) ([]DiscoveredTarget, error) {
	pairs, err := ParseText(text)
	if err != nil {
		return nil, err
	}
	var out []DiscoveredTarget
	for _, p := range pairs {
		switch p.Key {
		case "TargetName":
			if p.Value == "" || !validName(p.Value) || len(p.Value) > 223 {
				return out, textErr(p.Key, p.Value, ErrSendTargets)
			}
			out = append(out, DiscoveredTarget{Name: p.Value})
		case "TargetAddress":
			if len(out) == 0 {
				return out, textErr(p.Key, p.Value, ErrSendTargets)
			}
			a, err := ParseTargetAddress(p.Value)
			if err != nil {
				return out, err
			}
			if !a.HasPortalGroupTag {
				// RFC 7143 §13.8: within a SendTargets response
				// the portal-group-tag MUST be included.
				return out, textErr(p.Key, p.Value, ErrSendTargets)
			}
			t := &out[len(out)-1]
			t.Addresses = append(t.Addresses, a)
		case "SendTargets":
			// The target answered the key itself: Reject, Irrelevant or
			// NotUnderstood.
			return out, textErr(p.Key, p.Value, ErrSendTargets)
		default:
			// RFC 7143 Appendix C: "No text keys other than
			// TargetName and TargetAddress are permitted within a
			// SendTargets response."
			return out, textErr(p.Key, p.Value, ErrSendTargets)
		}
	}
	return out, nil
}

// AppendSendTargets appends the SendTargets response text for targets to
// dst (RFC 7143 §13.3).
func AppendSendTargets(dst []byte, targets []DiscoveredTarget) []byte {
	for _, t := range targets {
		dst = AppendText(dst, Pair{Key: "TargetName", Value: t.Name})
		for _, a := range t.Addresses {
			dst = AppendText(dst, Pair{Key: "TargetAddress", Value: a.String()})
		}
	}
	return dst
}

// SelectSendTargets applies the value of a SendTargets key to the targets a
// node offers (RFC 7143 §13.3, Appendix C): "All" lists every target and is
// allowed only in a discovery session; an iSCSI name lists that target; the
// empty value lists the session's own target (currentTarget) in a normal
// session. In a normal session a named target other than currentTarget
// lists nothing: an operational session returns only the target it is
// connected to (Appendix C). The answer is the text to send; a nil answer
// with ok true means nothing matched (an empty response). ok false means
// the value is not allowed here and the key is answered Reject.
func SelectSendTargets(value string, discovery bool, currentTarget string, targets []DiscoveredTarget) (answer []byte, ok bool) {
	var sel []DiscoveredTarget
	switch {
	case value == "All":
		if !discovery {
			return nil, false
		}
		sel = targets
	case value == "":
		if discovery {
			return nil, false
		}
		for _, t := range targets {
			if t.Name == currentTarget {
				sel = append(sel, t)
			}
		}
	default:
		// RFC 7143 §6.2.1: a value without one of the type
		// designators of an iSCSI name (§4.2.7.2: "iqn.", "eui.",
		// "naa.") is not a target name to look up; it is answered
		// Reject.
		if !hasNameType(value) {
			return nil, false
		}
		if !discovery && value != currentTarget {
			return nil, true
		}
		for _, t := range targets {
			if t.Name == value {
				sel = append(sel, t)
			}
		}
	}
	return AppendSendTargets(nil, sel), true
}

// hasNameType reports whether v starts with the type designator of an
// iSCSI name format (RFC 7143 §4.2.7.2), compared without case as iSCSI
// names are (§4.2.7.1).
func hasNameType(v string) bool {
	if len(v) < 4 {
		return false
	}
	switch strings.ToLower(v[:4]) {
	case "iqn.", "eui.", "naa.":
		return true
	}
	return false
}

// withPortalGroupTag returns targets with tag on every address that carries
// no portal group tag: a TargetAddress in a SendTargets response MUST
// include one (RFC 7143 §13.8). targets is returned as is when every
// address has one.
func withPortalGroupTag(targets []DiscoveredTarget, tag uint16) []DiscoveredTarget {
	var out []DiscoveredTarget
	for i, t := range targets {
		if !slices.ContainsFunc(t.Addresses, func(a TargetAddress) bool { return !a.HasPortalGroupTag }) {
			continue
		}
		if out == nil {
			out = slices.Clone(targets)
		}
		addrs := slices.Clone(t.Addresses)
		for j := range addrs {
			if !addrs[j].HasPortalGroupTag {
				addrs[j].PortalGroupTag, addrs[j].HasPortalGroupTag = tag, true
			}
		}
		out[i].Addresses = addrs
	}
	if out == nil {
		return targets
	}
	return out
}
