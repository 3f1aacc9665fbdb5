package session

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"

	"github.com/go-iscsi/iscsi/iqn"
	"github.com/go-iscsi/iscsi/scsi"
)

// DefaultPort is the TCP port of an iSCSI portal whose address names none:
// the well-known port 3260 of RFC 7143 §13.21 (and IANA).
const DefaultPort = 3260

// maxURLLUN is the largest logical unit number a URL may name: the last one
// scsi.EncodeLUN can address with flat space addressing (SAM-5 §4.7.8).
const maxURLLUN = 16383

// URL is an iSCSI URL in the form libiscsi's tools take,
//
//	iscsi://[user[%password]@]host[:port]/target-name/lun
//
// naming one logical unit of one target, or a portal for discovery, written
// iscsi://host[:port] or plainly host[:port]. User and Password are the CHAP
// name and secret the initiator answers with (RFC 7143 §12.1.3 CHAP_N,
// CHAP_R); the target name is an iSCSI name (RFC 7143 §4.2.7) and the LUN a
// decimal logical unit number.
type URL struct {
	// User and Password are the initiator's CHAP credentials; both empty
	// means no authentication.
	User, Password string
	// Host is a host name or an IP address, an IPv6 address without its
	// brackets.
	Host string
	// Port is the TCP port; 0 means DefaultPort.
	Port int
	// Target is the TargetName in normalized form (RFC 3722); empty for a
	// portal URL.
	Target string
	// LUN is the logical unit number; it is 0 for a portal URL.
	LUN int
}

// URLError is the error of ParseURL: Part names the part of the URL that is
// wrong ("scheme", "user", "password", "host", "port", "target", "lun" or
// "path") and Err says why. The URL itself is not repeated, since it may hold
// a CHAP secret.
type URLError struct {
	Part string
	Err  error
}

func (e *URLError) Error() string {
	return "session: iSCSI URL: " + e.Part + ": " + e.Err.Error()
}

// Unwrap returns Err, for example an *iqn.Error for a bad target name.
func (e *URLError) Unwrap() error { return e.Err }

func urlErr(part, format string, args ...any) *URLError {
	return &URLError{Part: part, Err: fmt.Errorf(format, args...)}
}

// ParseURL parses s in one of the forms
//
//	iscsi://[user[%password]@]host[:port]/target-name/lun   a logical unit
//	iscsi://[user[%password]@]host[:port][/]                a portal
//	host[:port]                                             a portal
//
// as libiscsi does: the user name ends at the first '%', which starts the
// password, and the credentials end at the last '@' before the path. host is
// a name, an IPv4 address or an IPv6 address in brackets (a bare IPv6 address
// is accepted in the plain form only when it has no port). The password and
// the target name may hold %XX escapes (so a password can hold '%', '/' or
// '@'); the user name, which cannot hold '%', may not hold '/' either. The
// port is a decimal number from 1 to 65535, the LUN a decimal number from 0
// to 16383 (the reach of flat space addressing, SAM-5 §4.7.8), and the target
// name must be a valid iSCSI name (RFC 7143 §4.2.7), kept in normalized form.
//
// Any error is a *URLError.
func ParseURL(s string) (*URL, error) {
	if s == "" {
		return nil, urlErr("host", "empty URL")
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x21 || c == 0x7f {
			return nil, urlErr("path", "control character or space at offset %d", i)
		}
	}
	rest, ok := strings.CutPrefix(s, "iscsi://")
	if !ok {
		if i := strings.Index(s, "://"); i >= 0 {
			return nil, urlErr("scheme", "scheme %q is not iscsi", s[:i])
		}
		if strings.ContainsAny(s, "/@?#") {
			return nil, urlErr("host", "a plain portal is host[:port]; a logical unit needs iscsi://")
		}
		u := &URL{}
		if err := u.parseHostPort(s, true); err != nil {
			return nil, err
		}
		return u, nil
	}
	if strings.ContainsAny(rest, "?#") {
		return nil, urlErr("path", "query and fragment are not supported")
	}
	authority, path, hasPath := strings.Cut(rest, "/")
	u := &URL{}
	if at := strings.LastIndexByte(authority, '@'); at >= 0 {
		userinfo := authority[:at]
		authority = authority[at+1:]
		user, password, hasPassword := strings.Cut(userinfo, "%")
		if user == "" {
			return nil, urlErr("user", "empty user name before '@'")
		}
		if strings.ContainsRune(user, '@') {
			return nil, urlErr("user", "'@' in the user name")
		}
		u.User = user
		if hasPassword {
			p, err := unescape(password)
			if err != nil {
				return nil, &URLError{Part: "password", Err: err}
			}
			if p == "" {
				return nil, urlErr("password", "empty password after '%%'")
			}
			u.Password = p
		}
	}
	if err := u.parseHostPort(authority, false); err != nil {
		return nil, err
	}
	if !hasPath || path == "" {
		return u, nil
	}
	target, lun, ok := strings.Cut(path, "/")
	if !ok {
		return nil, urlErr("lun", "missing: the path is /target-name/lun")
	}
	t, err := unescape(target)
	if err != nil {
		return nil, &URLError{Part: "target", Err: err}
	}
	if t == "" {
		return nil, urlErr("target", "empty target name")
	}
	name, err := iqn.Parse(t)
	if err != nil {
		return nil, &URLError{Part: "target", Err: err}
	}
	u.Target = name.String()
	if lun == "" {
		return nil, urlErr("lun", "empty LUN")
	}
	n, err := decimal(lun, maxURLLUN)
	if err != nil {
		return nil, &URLError{Part: "lun", Err: err}
	}
	u.LUN = n
	return u, nil
}

// parseHostPort reads host[:port] or [ipv6][:port]; bare permits a bare
// IPv6 address without a port.
func (u *URL) parseHostPort(s string, bare bool) error {
	host, port := s, ""
	switch {
	case strings.HasPrefix(s, "["):
		end := strings.IndexByte(s, ']')
		if end < 0 {
			return urlErr("host", "'[' without ']'")
		}
		host = s[1:end]
		addr, err := netip.ParseAddr(host)
		if err != nil || !addr.Is6() || addr.Zone() != "" {
			return urlErr("host", "%q in brackets is not an IPv6 address", host)
		}
		after := s[end+1:]
		if after != "" {
			p, ok := strings.CutPrefix(after, ":")
			if !ok {
				return urlErr("host", "unexpected %q after ']'", after)
			}
			port = p
			if port == "" {
				return urlErr("port", "empty port after ':'")
			}
		}
		u.Host = addr.String()
	case strings.Count(s, ":") > 1:
		addr, err := netip.ParseAddr(s)
		if !bare || err != nil || addr.Zone() != "" {
			return urlErr("host", "an IPv6 address must be in brackets")
		}
		u.Host = addr.String()
	default:
		if i := strings.IndexByte(s, ':'); i >= 0 {
			host, port = s[:i], s[i+1:]
			if port == "" {
				return urlErr("port", "empty port after ':'")
			}
		}
		if err := checkHostName(host); err != nil {
			return err
		}
		u.Host = host
	}
	if port != "" {
		n, err := decimal(port, 65535)
		if err != nil {
			return &URLError{Part: "port", Err: err}
		}
		if n == 0 {
			return urlErr("port", "port 0")
		}
		u.Port = n
	}
	return nil
}

// checkHostName accepts an IPv4 address or a DNS name of letters, digits,
// hyphens, underscores and dots (RFC 1123 §2.1, with '_' as resolvers allow).
func checkHostName(h string) error {
	if h == "" {
		return urlErr("host", "empty host")
	}
	if len(h) > 253 {
		return urlErr("host", "host name longer than 253 bytes")
	}
	for _, label := range strings.Split(h, ".") {
		if label == "" {
			return urlErr("host", "empty label in %q", h)
		}
		for i := 0; i < len(label); i++ {
			c := label[i]
			if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_') {
				return urlErr("host", "character %q in host name", c)
			}
		}
	}
	return nil
}

// decimal parses an unsigned decimal number of at most max, digits only.
func decimal(s string, max int) (int, error) {
	if s == "" || len(s) > 10 {
		return 0, fmt.Errorf("%q is not a decimal number up to %d", s, max)
	}
	n := 0
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, fmt.Errorf("%q is not a decimal number", s)
		}
		n = n*10 + int(s[i]-'0')
	}
	if n > max {
		return 0, fmt.Errorf("%d is larger than %d", n, max)
	}
	return n, nil
}

var errBadEscape = errors.New("bad %XX escape")

// unescape decodes %XX escapes (RFC 3986 §2.1).
func unescape(s string) (string, error) {
	if !strings.Contains(s, "%") {
		return s, nil
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '%' {
			b.WriteByte(s[i])
			continue
		}
		if i+2 >= len(s) || unhex(s[i+1]) < 0 || unhex(s[i+2]) < 0 {
			return "", fmt.Errorf("%w at offset %d", errBadEscape, i)
		}
		b.WriteByte(byte(unhex(s[i+1])<<4 | unhex(s[i+2])))
		i += 2
	}
	return b.String(), nil
}

func unhex(c byte) int {
	switch {
	case '0' <= c && c <= '9':
		return int(c - '0')
	case 'a' <= c && c <= 'f':
		return int(c-'a') + 10
	case 'A' <= c && c <= 'F':
		return int(c-'A') + 10
	}
	return -1
}

// escape writes s with every byte outside RFC 3986's unreserved set (and
// outside extra) as %XX.
func escape(b *strings.Builder, s, extra string) {
	const hex = "0123456789ABCDEF"
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' ||
			strings.IndexByte("-._~", c) >= 0 || strings.IndexByte(extra, c) >= 0 {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(hex[c>>4])
		b.WriteByte(hex[c&15])
	}
}

// String returns u in the iscsi:// form ParseURL reads: a portal URL when
// Target is empty, with the port only when it is set. The password and the
// target name are escaped where needed, so ParseURL(u.String()) gives back u
// for every u that ParseURL returned. The user name is written as it is:
// one holding '%', '@', '/', '?', '#', a space or a control character cannot
// be written in this syntax.
func (u *URL) String() string {
	var b strings.Builder
	b.WriteString("iscsi://")
	if u.User != "" {
		b.WriteString(u.User)
		if u.Password != "" {
			b.WriteByte('%')
			escape(&b, u.Password, "!$&'()*+,;=:")
		}
		b.WriteByte('@')
	}
	h := u.Host
	if strings.Contains(h, ":") {
		h = "[" + h + "]"
	}
	b.WriteString(h)
	if u.Port != 0 {
		b.WriteByte(':')
		b.WriteString(strconv.Itoa(u.Port))
	}
	if u.Target != "" {
		b.WriteByte('/')
		escape(&b, u.Target, ":")
		b.WriteByte('/')
		b.WriteString(strconv.Itoa(u.LUN))
	}
	return b.String()
}

// Addr returns the portal's address for net.Dial: host:port, with
// DefaultPort when the URL names no port.
func (u *URL) Addr() string {
	p := u.Port
	if p == 0 {
		p = DefaultPort
	}
	return net.JoinHostPort(u.Host, strconv.Itoa(p))
}

// SCSILUN returns the 8-byte LUN of u.LUN as Linux and libiscsi encode it
// (scsi.EncodeLUN: peripheral device addressing below 256, flat space
// addressing above, SAM-5 §4.7).
func (u *URL) SCSILUN() (scsi.LUN, error) {
	if u.LUN < 0 || u.LUN > maxURLLUN {
		return scsi.LUN{}, urlErr("lun", "%d is outside 0..%d", u.LUN, maxURLLUN)
	}
	return scsi.EncodeLUN(uint16(u.LUN))
}
