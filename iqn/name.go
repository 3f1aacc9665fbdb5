package iqn

import (
	"encoding/binary"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Type is the type designator of an iSCSI name, the part before the first
// dot (RFC 7143 §4.2.7.3).
type Type uint8

const (
	// IQN is an iSCSI qualified name, "iqn." followed by a date, a reversed
	// domain name and an optional unique part (RFC 7143 §4.2.7.4).
	IQN Type = iota + 1
	// EUI is "eui." followed by an IEEE EUI-64 identifier in 16 hexadecimal
	// digits (RFC 7143 §4.2.7.5).
	EUI
	// NAA is "naa." followed by a T11 Network Address Authority identifier
	// in 16 or 32 hexadecimal digits (RFC 7143 §4.2.7.6, RFC 3980).
	NAA
)

// String returns the type designator without its dot: "iqn", "eui" or
// "naa", or "Type(n)" for any other value.
func (t Type) String() string {
	switch t {
	case IQN:
		return "iqn"
	case EUI:
		return "eui"
	case NAA:
		return "naa"
	}
	return fmt.Sprintf("Type(%d)", uint8(t))
}

// Name is a valid iSCSI name in normalized form (RFC 7143 §4.2.7, RFC 3722).
// The zero Name is not a valid name; [Name.IsZero] reports it. Names are
// comparable: two Names are == exactly when [Equal] is true.
type Name struct {
	s   string // the normalized name
	typ Type
	// For IQN: the date, where the naming authority ends in s, and
	// whether a ':' introduces a unique part.
	year    uint16
	month   uint8
	authEnd uint8
	colon   bool
	// For EUI and NAA: the identifier, hi holding the first 8 bytes; lo is
	// used only by a 128-bit NAA.
	hi, lo uint64
}

const (
	iqnPrefix = "iqn."
	euiPrefix = "eui."
	naaPrefix = "naa."
	// minYear is the earliest year accepted in an iqn. date. RFC 7143
	// §4.2.7.4 asks for a year in which the naming authority owned the
	// domain; no domain is older than 1985, so earlier years can only be
	// mistakes, and 1900 leaves room for them without accepting 0000.
	minYear = 1900
)

// Parse normalizes s with [Normalize] and parses the result as an iSCSI
// name of one of the three types of RFC 7143 §4.2.7.3:
//
//	iqn.yyyy-mm.reversed.domain.name[:unique part]   RFC 7143 §4.2.7.4
//	eui.0123456789ABCDEF                             RFC 7143 §4.2.7.5
//	naa.52004567BA64678D[0123456789ABCDEF]           RFC 7143 §4.2.7.6, RFC 3980
//
// The type designator is matched after case folding, so "IQN." is read
// as "iqn.". An iqn. date is a 4-digit year from 1900 and a month from 01
// to 12. The naming authority is one or more dot-separated labels of
// letters (any script), digits and hyphens, and ends at the first ':' or at
// the end of the name; what follows the ':' is the unique part, which may
// hold any character the profile allows, including '.' and ':', and may be
// empty. An naa. identifier must have an NAA field (its first digit) of 2,
// 3 or 5 with 16 digits and 6 with 32 (T10 SPC-4 §7.8.6.6).
//
// Any error is an *[Error]. Parse does not allocate when s is already a
// canonical ASCII name.
func Parse(s string) (Name, error) {
	n, err := Normalize(s)
	if err != nil {
		return Name{}, err
	}
	return parseNormalized(n)
}

// ParseStrict is like [Parse] but also rejects a valid name that is not
// already in normalized form, with an [ErrNotCanonical] error whose Offset
// is the first byte where s and its normalized form differ. Use it where a
// peer must send names in canonical form.
func ParseStrict(s string) (Name, error) {
	n, err := Parse(s)
	if err != nil {
		return Name{}, err
	}
	if n.s != s {
		i := 0
		for i < len(s) && i < len(n.s) && s[i] == n.s[i] {
			i++
		}
		return Name{}, errorf(ErrNotCanonical, s, i, "name differs from its normalized form %q", n.s)
	}
	return n, nil
}

// IsCanonical reports whether s is a valid iSCSI name already in the
// normalized form of RFC 3722, that is whether Parse(s) succeeds and its
// String is s.
func IsCanonical(s string) bool {
	n, err := Parse(s)
	return err == nil && n.s == s
}

// MustParse is like [Parse] but panics if s is not a valid name. It is
// meant for names written in the program's own source, such as package
// variables and tests; never pass it input from elsewhere.
func MustParse(s string) Name {
	n, err := Parse(s)
	if err != nil {
		panic(err)
	}
	return n
}

func parseNormalized(s string) (Name, error) {
	switch {
	case strings.HasPrefix(s, iqnPrefix):
		return parseIQN(s)
	case strings.HasPrefix(s, euiPrefix):
		return parseEUI(s)
	case strings.HasPrefix(s, naaPrefix):
		return parseNAA(s)
	}
	typ, _, _ := strings.Cut(s, ".")
	if len(typ) > 16 {
		typ = typ[:16] + "..."
	}
	return Name{}, errorf(ErrBadType, s, 0, "unknown type %q, want \"iqn.\", \"eui.\" or \"naa.\"", typ)
}

func parseIQN(s string) (Name, error) {
	// RFC 7143 §4.2.7.4: "iqn." yyyy "-" mm "." naming-authority.
	const dateOff = len(iqnPrefix)
	if len(s) < dateOff+len("yyyy-mm") {
		return Name{}, errorf(ErrBadDate, s, dateOff, "date %q is not yyyy-mm", s[dateOff:])
	}
	date := s[dateOff : dateOff+len("yyyy-mm")]
	for i := 0; i < len(date); i++ {
		if i == 4 {
			if date[i] != '-' {
				return Name{}, errorf(ErrBadDate, s, dateOff+i, "date %q is not yyyy-mm", date)
			}
			continue
		}
		if date[i] < '0' || date[i] > '9' {
			return Name{}, errorf(ErrBadDate, s, dateOff+i, "date %q is not yyyy-mm", date)
		}
	}
	year, _ := strconv.Atoi(date[:4])
	month, _ := strconv.Atoi(date[5:])
	if year < minYear {
		return Name{}, errorf(ErrBadDate, s, dateOff, "invalid year %q, want %d or later", date[:4], minYear)
	}
	if month < 1 || month > 12 {
		return Name{}, errorf(ErrBadDate, s, dateOff+5, "invalid month %q", date[5:])
	}
	authOff := dateOff + len(date)
	if authOff == len(s) || s[authOff] != '.' {
		if authOff < len(s) && '0' <= s[authOff] && s[authOff] <= '9' {
			return Name{}, errorf(ErrBadDate, s, authOff, "date %q is not yyyy-mm", s[dateOff:authOff+1])
		}
		return Name{}, errorf(ErrBadNamingAuthority, s, authOff, "missing '.' and naming authority after the date")
	}
	authOff++
	authEnd := len(s)
	colon := false
	if i := strings.IndexByte(s[authOff:], ':'); i >= 0 {
		authEnd = authOff + i
		colon = true
	}
	if err := checkAuthority(s, authOff, authEnd); err != nil {
		return Name{}, err
	}
	return Name{s: s, typ: IQN, year: uint16(year), month: uint8(month), authEnd: uint8(authEnd), colon: colon}, nil
}

// checkAuthority checks that s[from:to] is a reversed domain name
// (RFC 7143 §4.2.7.4): non-empty dot-separated labels of letters, digits
// and hyphens. Letters and digits of any script are allowed, with the
// combining marks that internationalized domain labels use.
func checkAuthority(s string, from, to int) error {
	if from == to {
		return errorf(ErrBadNamingAuthority, s, from, "empty naming authority")
	}
	labelStart := from
	for i := from; i < to; {
		r, n := utf8.DecodeRuneInString(s[i:to])
		switch {
		case r == '.':
			if i == labelStart {
				return errorf(ErrBadNamingAuthority, s, i, "empty label in naming authority %q", s[from:to])
			}
			labelStart = i + 1
		case r == '-' || r < utf8.RuneSelf && asciiAllowed(byte(r)):
			// ASCII letters and digits; ':' cannot occur before to.
		case unicode.In(r, unicode.L, unicode.M, unicode.Nd):
		default:
			return errorf(ErrBadNamingAuthority, s, i, "character %s in naming authority %q is not a letter, digit or hyphen", describe(r), s[from:to])
		}
		i += n
	}
	if labelStart == to {
		return errorf(ErrBadNamingAuthority, s, to-1, "naming authority %q ends with '.'", s[from:to])
	}
	return nil
}

// parseHex reads the hexadecimal identifier of an eui. or naa. name,
// which starts at s[off:], into hi and lo.
func parseHex(s string, off int) (hi, lo uint64, digits int, err error) {
	for i := off; i < len(s); i++ {
		c := s[i]
		var v byte
		switch {
		case '0' <= c && c <= '9':
			v = c - '0'
		case 'a' <= c && c <= 'f':
			v = c - 'a' + 10
		default:
			r, _ := utf8.DecodeRuneInString(s[i:])
			return 0, 0, 0, errorf(ErrBadHex, s, i, "character %s is not a hexadecimal digit", describe(r))
		}
		if digits < 32 {
			hi = hi<<4 | lo>>60
			lo = lo<<4 | uint64(v)
		}
		digits++
	}
	return hi, lo, digits, nil
}

func parseEUI(s string) (Name, error) {
	// RFC 7143 §4.2.7.5: "eui." and an EUI-64 in 16 hexadecimal digits.
	_, v, digits, err := parseHex(s, len(euiPrefix))
	if err != nil {
		return Name{}, err
	}
	if digits != 16 {
		return Name{}, errorf(ErrBadHexLength, s, len(euiPrefix), "EUI-64 has %d hexadecimal digits, want 16", digits)
	}
	return Name{s: s, typ: EUI, hi: v}, nil
}

func parseNAA(s string) (Name, error) {
	// RFC 7143 §4.2.7.6, RFC 3980 §4.1: "naa." and a 64- or 128-bit NAA
	// identifier in 16 or 32 hexadecimal digits.
	hi, lo, digits, err := parseHex(s, len(naaPrefix))
	if err != nil {
		return Name{}, err
	}
	var n Name
	switch digits {
	case 16:
		n = Name{s: s, typ: NAA, hi: lo}
	case 32:
		n = Name{s: s, typ: NAA, hi: hi, lo: lo}
	default:
		return Name{}, errorf(ErrBadHexLength, s, len(naaPrefix), "NAA identifier has %d hexadecimal digits, want 16 or 32", digits)
	}
	if err := checkNAA(n.hi, digits == 32); err != "" {
		return Name{}, errorf(ErrBadNAA, s, len(naaPrefix), "%s", err)
	}
	return n, nil
}

// checkNAA checks the NAA field, the top 4 bits of an NAA identifier,
// against its length (T10 SPC-4 §7.8.6.6): 2 (IEEE Extended), 3 (Locally
// Assigned) and 5 (IEEE Registered) are 64 bits long, 6 (IEEE Registered
// Extended) is 128 bits long.
func checkNAA(hi uint64, is128 bool) string {
	naa := hi >> 60
	switch {
	case is128 && naa != 6:
		return fmt.Sprintf("NAA field %X with a 128-bit identifier, want 6 (IEEE Registered Extended)", naa)
	case !is128 && naa != 2 && naa != 3 && naa != 5:
		return fmt.Sprintf("NAA field %X with a 64-bit identifier, want 2, 3 or 5", naa)
	}
	return ""
}

// String returns the name in normalized form (RFC 3722), the form it is
// sent and compared in. Letters, including the hexadecimal digits of eui.
// and naa. names, are lower case. It returns "" for the zero Name.
func (n Name) String() string { return n.s }

// Type returns the type of the name: IQN, EUI or NAA, or 0 for the zero
// Name.
func (n Name) Type() Type { return n.typ }

// IsZero reports whether n is the zero Name, which is not a valid name.
func (n Name) IsZero() bool { return n.typ == 0 }

// Date returns the year and month of an iqn. name: when the naming
// authority owned the domain (RFC 7143 §4.2.7.4). It returns 0, 0 for other
// types.
func (n Name) Date() (year int, month time.Month) {
	return int(n.year), time.Month(n.month)
}

// NamingAuthority returns the naming authority of an iqn. name, the domain
// name in reversed order as it appears in the name, e.g. "com.example"
// (RFC 7143 §4.2.7.4). It returns "" for other types.
func (n Name) NamingAuthority() string {
	if n.typ != IQN {
		return ""
	}
	return n.s[len("iqn.yyyy-mm."):n.authEnd]
}

// Domain returns the naming authority of an iqn. name in the usual order,
// e.g. "example.com" for "iqn.2001-04.com.example". It returns "" for
// other types.
func (n Name) Domain() string {
	return reverseLabels(n.NamingAuthority())
}

// Unique returns the unique part of an iqn. name, what follows the first
// ':' (RFC 7143 §4.2.7.4). It returns "" when there is none, when the ':'
// ends the name, and for other types; [Name.HasUnique] tells these apart.
func (n Name) Unique() string {
	if !n.colon {
		return ""
	}
	return n.s[n.authEnd+1:]
}

// HasUnique reports whether an iqn. name has a ':' after its naming
// authority, introducing a unique part (which may be empty).
func (n Name) HasUnique() bool { return n.colon }

// EUI64 returns the IEEE EUI-64 identifier of an eui. name (RFC 7143
// §4.2.7.5), and false for other types.
func (n Name) EUI64() (uint64, bool) {
	if n.typ != EUI {
		return 0, false
	}
	return n.hi, true
}

// NAA64 returns the identifier of an naa. name with a 64-bit NAA
// identifier (RFC 3980 §4.1), and false for other names.
func (n Name) NAA64() (uint64, bool) {
	if n.typ != NAA || n.is128() {
		return 0, false
	}
	return n.hi, true
}

// NAA128 returns the identifier of an naa. name with a 128-bit NAA
// identifier (RFC 3980 §4.1), hi holding the first 8 bytes, and false for
// other names.
func (n Name) NAA128() (hi, lo uint64, ok bool) {
	if n.typ != NAA || !n.is128() {
		return 0, 0, false
	}
	return n.hi, n.lo, true
}

// NAAField returns the NAA field of an naa. name, the first hexadecimal
// digit of its identifier: 2, 3 or 5 for a 64-bit identifier, 6 for a
// 128-bit one (T10 SPC-4 §7.8.6.6). It returns 0 for other types.
func (n Name) NAAField() uint8 {
	if n.typ != NAA {
		return 0
	}
	return uint8(n.hi >> 60)
}

func (n Name) is128() bool { return len(n.s) == len(naaPrefix)+32 }

// Bytes returns the identifier of an eui. or naa. name as bytes, in the
// order its hexadecimal digits are written: 8 bytes for an EUI-64 or a
// 64-bit NAA identifier, 16 for a 128-bit NAA identifier. These are the
// bytes of the EUI-64 and NAA designators of the Device Identification
// VPD page (T10 SPC-4 §7.8.6.5, §7.8.6.6). It returns nil for iqn. names.
func (n Name) Bytes() []byte {
	switch {
	case n.typ == NAA && n.is128():
		b := binary.BigEndian.AppendUint64(make([]byte, 0, 16), n.hi)
		return binary.BigEndian.AppendUint64(b, n.lo)
	case n.typ == EUI || n.typ == NAA:
		return binary.BigEndian.AppendUint64(make([]byte, 0, 8), n.hi)
	}
	return nil
}

// Equal reports whether n and m are the same name. Both are normalized
// (RFC 3722), so this is a comparison of their normalized forms, which is
// how RFC 7143 §4.2.7.2 says names are compared.
func (n Name) Equal(m Name) bool { return n.s == m.s }

// Compare returns -1, 0 or +1 as n's normalized form sorts before, equal
// to or after m's, byte by byte.
func (n Name) Compare(m Name) int { return strings.Compare(n.s, m.s) }

// Equal reports whether a and b are the same name; see [Name.Equal].
func Equal(a, b Name) bool { return a.s == b.s }

// Compare orders names by their normalized forms; see [Name.Compare].
func Compare(a, b Name) int { return strings.Compare(a.s, b.s) }

// MarshalText returns the normalized form of the name. It fails for the
// zero Name, which is not a valid name.
func (n Name) MarshalText() ([]byte, error) {
	if n.IsZero() {
		return nil, errorf(ErrEmpty, "", -1, "zero Name has no text form")
	}
	return []byte(n.s), nil
}

// UnmarshalText sets n to the parsed, normalized form of text, as [Parse]
// does.
func (n *Name) UnmarshalText(text []byte) error {
	m, err := Parse(string(text))
	if err != nil {
		return err
	}
	*n = m
	return nil
}

// reverseLabels reverses the order of the dot-separated labels of s.
func reverseLabels(s string) string {
	if s == "" {
		return ""
	}
	labels := strings.Split(s, ".")
	for i, j := 0, len(labels)-1; i < j; i, j = i+1, j-1 {
		labels[i], labels[j] = labels[j], labels[i]
	}
	return strings.Join(labels, ".")
}
