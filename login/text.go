package login

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// Limits of the text format, RFC 7143 §6.1.
const (
	// MaxKeyNameLength is the longest key-name: RFC 7143 §6.1 limits a
	// key-name (a standard-label) to 63 characters.
	MaxKeyNameLength = 63

	// MaxValueLength is the longest value of a key unless its definition
	// says otherwise: RFC 7143 §6.1 limits a simple-value (not its
	// encoded form) to 255 bytes, not counting its delimiter.
	MaxValueLength = 255

	// MaxLargeValueLength bounds the string form of the large binary
	// values that authentication carries (CHAP_C, CHAP_R): RFC 7143 §12.1.3
	// lets the binary length of CHAP_C and CHAP_R reach 1024 bytes, whose
	// base-16 form with its "0x" prefix is 2050 bytes.
	MaxLargeValueLength = 2 + 2*1024

	// MinTextLength is the amount of key=value data a negotiation sequence
	// must be able to carry: RFC 7143 §6.1 requires every node to receive at
	// least 8192 bytes of key=value data in a negotiation sequence.
	MinTextLength = 8192

	// DefaultMaxTextLength is the bound this package puts on the text of
	// one negotiation sequence (a login stage exchange or a Text
	// exchange): RFC 7143 §6.1 requires 64 KiB when an authentication
	// method with long items is in use, and this package always allows it.
	DefaultMaxTextLength = 64 * 1024
)

// The constant values of RFC 7143 §6.2 that answer a key instead of a
// value, and the None of the lists of §13.1 and §12.1.
const (
	// NotUnderstood answers a key the responder does not know, RFC 7143
	// §6.2.
	NotUnderstood = "NotUnderstood"
	// Irrelevant answers a key that has no meaning in the current
	// negotiation (for example a session key in a discovery session), RFC
	// 7143 §6.2.
	Irrelevant = "Irrelevant"
	// Reject answers a value the responder does not accept (for example
	// one out of range), RFC 7143 §6.2.
	Reject = "Reject"
	// None is the list value that selects no digest (RFC 7143 §13.1) or no
	// authentication (§12.1).
	None = "None"
)

// Kinds of text error: each is a sentinel that a *TextError wraps, so
// callers test for them with errors.Is.
var (
	// ErrKeyName: a key-name empty, longer than 63 bytes, not beginning with
	// a capital letter, or holding a byte outside letters, digits, '.',
	// '-', '+', '@', '_' (RFC 7143 §6.1).
	ErrKeyName = errors.New("login: invalid key name")
	// ErrNoDelimiter: a key=value without its '=' (RFC 7143 §6.1).
	ErrNoDelimiter = errors.New("login: key=value without '='")
	// ErrValueTooLong: a value longer than the key allows (RFC 7143 §6.1).
	ErrValueTooLong = errors.New("login: value too long")
	// ErrValue: a value that is not of the key's kind (RFC 7143 §6.1):
	// not a number, not Yes/No, not a valid list, binary or name.
	ErrValue = errors.New("login: invalid value")
	// ErrNotTerminated: text whose last key=value lacks its NUL
	// terminator once the final PDU (C=0) arrived (RFC 7143 §6.1).
	ErrNotTerminated = errors.New("login: key=value not terminated by NUL")
	// ErrTextTooLong: the text of one negotiation sequence exceeds the
	// accumulator's limit.
	ErrTextTooLong = errors.New("login: text too long for one negotiation sequence")
	// ErrDuplicateKey: a key declared or negotiated twice in one
	// negotiation sequence (RFC 7143 §6.3 for login, §6.4 for text
	// negotiation).
	ErrDuplicateKey = errors.New("login: key repeated in a negotiation sequence")
	// ErrOutOfRange: a numerical value outside the key's range (RFC 7143
	// §13).
	ErrOutOfRange = errors.New("login: value out of range")
	// ErrWrongPhase: a key sent in a phase or stage, or on a connection,
	// where its definition does not allow it (RFC 7143 §13).
	ErrWrongPhase = errors.New("login: key not allowed here")
	// ErrUnexpectedAnswer: an answer that the result function of the key
	// does not allow for the value that was offered (RFC 7143 §6.2.1,
	// §6.2.2).
	ErrUnexpectedAnswer = errors.New("login: answer not allowed by the offer")
	// ErrReservedValue: one of the reserved constants Reject, Irrelevant
	// or NotUnderstood sent as a proposed or declared value (RFC 7143
	// §6.2: a protocol error).
	ErrReservedValue = errors.New("login: reserved constant used as a proposed value")
	// ErrMissingKey: a key the negotiation requires and did not see (RFC
	// 7143 §11.13.5 Missing parameter).
	ErrMissingKey = errors.New("login: required key missing")
)

// TextError reports a fault in key=value text: Kind is one of the Err
// sentinels of this package and Key the key it concerns (possibly empty, or
// the raw text for a key-name that did not parse). Value is what was seen,
// empty for authentication keys, whose values are never echoed.
type TextError struct {
	Key   string
	Value string
	Kind  error
}

// Error names the kind of fault, the key and what was seen.
func (e *TextError) Error() string {
	var b strings.Builder
	b.WriteString(e.Kind.Error())
	if e.Key != "" {
		fmt.Fprintf(&b, ": key %q", e.Key)
	}
	if e.Value != "" {
		fmt.Fprintf(&b, " value %q", e.Value)
	}
	return b.String()
}

// Unwrap returns Kind, so errors.Is(err, ErrValue) and the like work.
func (e *TextError) Unwrap() error { return e.Kind }

func textErr(key, value string, kind error) error {
	if isSecretKey(key) {
		value = ""
	}
	if len(value) > 64 {
		value = value[:64] + "..."
	}
	return &TextError{Key: key, Value: value, Kind: kind}
}

// isSecretKey reports keys whose values must never be echoed in errors.
func isSecretKey(key string) bool {
	return key == "CHAP_R" || key == "CHAP_C"
}

// Pair is one key=value of RFC 7143 §6.1.
type Pair struct {
	Key   string
	Value string
}

// String returns key=value, with the value of CHAP_C and CHAP_R hidden.
func (p Pair) String() string {
	if isSecretKey(p.Key) {
		return p.Key + "=<redacted>"
	}
	return p.Key + "=" + p.Value
}

// ValidKeyName reports whether name is a key-name of RFC 7143 §6.1: one to
// 63 bytes of letters, digits, '.', '-', '+', '@', '_', beginning with a
// letter. §6.1 asks for a capital letter, but RFC 7144 itself defines
// iSCSIProtocolLevel, so any letter is accepted. The X- private and X#
// registered extension forms of §13.22 are included ('#' is allowed in the
// second position of the latter).
func ValidKeyName(name string) bool {
	if len(name) == 0 || len(name) > MaxKeyNameLength {
		return false
	}
	if (name[0] < 'A' || name[0] > 'Z') && (name[0] < 'a' || name[0] > 'z') {
		return false
	}
	for i := 1; i < len(name); i++ {
		c := name[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case c == '.', c == '-', c == '+', c == '@', c == '_':
		case c == '#' && i == 1 && name[0] == 'X':
		default:
			return false
		}
	}
	return true
}

// ParseText splits complete key=value text (RFC 7143 §6.1) into pairs, in
// order. Every pair must end with a NUL; NULs after the last pair (padding
// some peers leave) are ignored. Key names are checked (ValidKeyName) and a
// value may be at most MaxLargeValueLength bytes here; the key table checks
// each key's own limit. Duplicate keys are not rejected here; see
// CheckDuplicates. The strings are copies: they do not alias data.
func ParseText(data []byte) ([]Pair, error) {
	var pairs []Pair
	for len(data) > 0 {
		if data[0] == 0 {
			// Trailing NULs only.
			if len(bytes.Trim(data, "\x00")) != 0 {
				return pairs, textErr("", "", ErrKeyName)
			}
			break
		}
		end := bytes.IndexByte(data, 0)
		if end < 0 {
			k, _, _ := bytes.Cut(data, []byte{'='})
			return pairs, textErr(truncate(string(k)), "", ErrNotTerminated)
		}
		kv := data[:end]
		data = data[end+1:]
		k, v, ok := bytes.Cut(kv, []byte{'='})
		if !ok {
			return pairs, textErr(truncate(string(kv)), "", ErrNoDelimiter)
		}
		key := string(k)
		if !ValidKeyName(key) {
			return pairs, textErr(truncate(key), "", ErrKeyName)
		}
		if len(v) > MaxLargeValueLength {
			return pairs, textErr(key, "", ErrValueTooLong)
		}
		pairs = append(pairs, Pair{Key: key, Value: string(v)})
	}
	return pairs, nil
}

func truncate(s string) string {
	if len(s) > MaxKeyNameLength+1 {
		return s[:MaxKeyNameLength+1]
	}
	return s
}

// CheckDuplicates returns a *TextError of kind ErrDuplicateKey for the first
// key that appears twice in pairs: RFC 7143 §6.3 (login) and §6.4 (text
// negotiation) forbid declaring or negotiating a key more than once in a
// negotiation sequence, except keys whose definition allows repetition
// (TargetAddress, and TargetName in a SendTargets response, Appendix C).
// TargetName is exempt here in every context, although §13.4 forbids
// redeclaring it during login.
func CheckDuplicates(pairs []Pair) error {
	for i := range pairs {
		if pairs[i].Key == "TargetAddress" || pairs[i].Key == "TargetName" {
			continue
		}
		for j := range i {
			if pairs[j].Key == pairs[i].Key {
				return textErr(pairs[i].Key, "", ErrDuplicateKey)
			}
		}
	}
	return nil
}

// AppendText appends pairs to dst in the wire form of RFC 7143 §6.1,
// each as key=value followed by one NUL.
func AppendText(dst []byte, pairs ...Pair) []byte {
	for _, p := range pairs {
		dst = append(dst, p.Key...)
		dst = append(dst, '=')
		dst = append(dst, p.Value...)
		dst = append(dst, 0)
	}
	return dst
}

// ParseNumber decodes a numerical-value of RFC 7143 §6.1: a
// decimal-constant (the digit 0, or digits starting with a non-zero one)
// or a hex-constant (0x or 0X prefix), unsigned and below 2**64. A
// base64-constant is not a numerical-value (§6.1 allows it for binary and
// large numerical values only; see ParseRegularBinary), nor are decimal
// digits with leading zeros.
func ParseNumber(s string) (uint64, error) {
	if len(s) > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X') {
		n, err := strconv.ParseUint(s[2:], 16, 64)
		if err != nil || strings.ContainsAny(s[2:], "+-_") {
			return 0, textErr("", s, ErrValue)
		}
		return n, nil
	}
	if s == "" || len(s) > 20 || (len(s) > 1 && s[0] == '0') {
		return 0, textErr("", s, ErrValue)
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, textErr("", s, ErrValue)
		}
	}
	n, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		return 0, textErr("", s, ErrValue)
	}
	return n, nil
}

// ParseRegularBinary decodes a regular-binary-value of RFC 7143 §6.1 as an
// unsigned number: a binary string of at most 64 bits encoded as a
// decimal-constant, a hex-constant or a base64-constant (0b or 0B
// prefix). TargetPortalGroupTag is one (§13.9: a 16-bit-binary-value).
func ParseRegularBinary(s string) (uint64, error) {
	if len(s) > 2 && s[0] == '0' && (s[1] == 'b' || s[1] == 'B') {
		b, err := ParseBinary(s)
		if err != nil || len(b) == 0 || len(b) > 8 {
			return 0, textErr("", s, ErrValue)
		}
		var n uint64
		for _, c := range b {
			n = n<<8 | uint64(c)
		}
		return n, nil
	}
	return ParseNumber(s)
}

// ParseBinary decodes a binary-value of RFC 7143 §6.1: a hex-constant
// ("0x" or "0X" then base-16 digits, an odd count meaning a leading zero
// nibble) or a base64-constant ("0b" or "0B" then base64 of RFC 4648 with
// padding).
func ParseBinary(s string) ([]byte, error) {
	if len(s) < 3 || s[0] != '0' {
		return nil, textErr("", s, ErrValue)
	}
	body := s[2:]
	switch s[1] {
	case 'x', 'X':
		if len(body)%2 == 1 {
			body = "0" + body
		}
		b, err := hex.DecodeString(body)
		if err != nil {
			return nil, textErr("", s, ErrValue)
		}
		return b, nil
	case 'b', 'B':
		b, err := base64.StdEncoding.DecodeString(body)
		if err != nil {
			return nil, textErr("", s, ErrValue)
		}
		return b, nil
	}
	return nil, textErr("", s, ErrValue)
}

// EncodeHex returns b as a hex-constant of RFC 7143 §6.1 ("0x" and
// lower-case base-16 digits), the form every known peer accepts for CHAP.
func EncodeHex(b []byte) string {
	return "0x" + hex.EncodeToString(b)
}

// EncodeBase64 returns b as a base64-constant of RFC 7143 §6.1 ("0b" and
// padded base64).
func EncodeBase64(b []byte) string {
	return "0b" + base64.StdEncoding.EncodeToString(b)
}

// TextAccumulator joins the data segments of a text that spans several
// Login or Text PDUs (RFC 7143 §6.1, §11.10.2, §11.11.2, §11.12.2,
// §11.13.7: the C bit set means more text follows), up to a bound. The
// zero value is ready, with DefaultMaxTextLength as its bound.
type TextAccumulator struct {
	// Limit bounds the total text; zero means DefaultMaxTextLength.
	Limit int
	buf   []byte
	done  bool
}

// Add appends one PDU's data segment. cont is that PDU's C bit. It reports
// whether the text is complete (cont false); the text is then in Bytes
// until Reset. Exceeding the limit returns a *TextError of kind
// ErrTextTooLong.
func (a *TextAccumulator) Add(segment []byte, cont bool) (complete bool, err error) {
	if a.done {
		a.Reset()
	}
	limit := a.Limit
	if limit <= 0 {
		limit = DefaultMaxTextLength
	}
	if len(a.buf)+len(segment) > limit {
		return false, textErr("", "", ErrTextTooLong)
	}
	a.buf = append(a.buf, segment...)
	a.done = !cont
	return a.done, nil
}

// Bytes returns the text gathered so far; it is valid until the next Add or
// Reset.
func (a *TextAccumulator) Bytes() []byte { return a.buf }

// Len returns how many bytes are held.
func (a *TextAccumulator) Len() int { return len(a.buf) }

// Reset empties the accumulator, keeping its buffer.
func (a *TextAccumulator) Reset() {
	a.buf = a.buf[:0]
	a.done = false
}

// CutSegment cuts the first data segment of at most max bytes off text, for
// sending text over several PDUs (RFC 7143 §6.1: a key=value may span PDU
// boundaries; the sender sets C on every PDU but the last). more reports
// whether rest is non-empty, that is, whether the segment goes in a PDU with
// the C bit set. A max below 1 is taken as MinTextLength.
func CutSegment(text []byte, max int) (segment, rest []byte, more bool) {
	if max < 1 {
		max = MinTextLength
	}
	if len(text) <= max {
		return text, nil, false
	}
	return text[:max], text[max:], true
}
