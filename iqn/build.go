package iqn

import (
	"encoding/binary"
	"fmt"
	"strconv"
)

// NewIQN returns the iqn. name for the given date, naming authority and
// unique part (RFC 7143 §4.2.7.4). namingAuthority is the domain name in
// reversed order, as it appears in the name ("com.example"); [FromDomain]
// takes it in the usual order. An empty unique leaves the name without a
// ':' and unique part. The result is normalized as [Parse] normalizes, so
// NewIQN(2001, 4, "com.example", "Disk1") is iqn.2001-04.com.example:disk1.
// Any error is an *[Error].
func NewIQN(year, month int, namingAuthority, unique string) (Name, error) {
	if year < minYear || year > 9999 {
		return Name{}, errorf(ErrBadDate, strconv.Itoa(year), -1, "invalid year %d, want %d to 9999", year, minYear)
	}
	if month < 1 || month > 12 {
		return Name{}, errorf(ErrBadDate, strconv.Itoa(month), -1, "invalid month %d, want 1 to 12", month)
	}
	s := fmt.Sprintf("iqn.%04d-%02d.%s", year, month, namingAuthority)
	if unique != "" {
		s += ":" + unique
	}
	n, err := Parse(s)
	if err != nil {
		return Name{}, err
	}
	// A ':' in namingAuthority (or a character normalizing to one) would
	// silently move part of it into the unique part.
	if na, err := Normalize(namingAuthority); err != nil || na != n.NamingAuthority() {
		return Name{}, errorf(ErrBadNamingAuthority, namingAuthority, -1, "naming authority %q is not a reversed domain name", namingAuthority)
	}
	return n, nil
}

// FromDomain is like [NewIQN] but takes the domain name in its usual order,
// "example.com", and reverses it into the naming authority "com.example"
// (RFC 7143 §4.2.7.4).
func FromDomain(year, month int, domain, unique string) (Name, error) {
	return NewIQN(year, month, reverseLabels(domain), unique)
}

// NewEUI returns the eui. name of an IEEE EUI-64 identifier (RFC 7143
// §4.2.7.5), e.g. eui.02004567a425678d. Every 64-bit value is a valid
// EUI-64, so there is no error.
func NewEUI(eui64 uint64) Name {
	return Name{s: fmt.Sprintf("eui.%016x", eui64), typ: EUI, hi: eui64}
}

// NewNAA64 returns the naa. name of a 64-bit NAA identifier (RFC 3980
// §4.1), e.g. naa.52004567ba64678d. The NAA field, its top 4 bits, must be
// 2, 3 or 5 (T10 SPC-4 §7.8.6.6); otherwise the error is an *[Error] of
// kind [ErrBadNAA].
func NewNAA64(v uint64) (Name, error) {
	s := fmt.Sprintf("naa.%016x", v)
	if msg := checkNAA(v, false); msg != "" {
		return Name{}, errorf(ErrBadNAA, s, len(naaPrefix), "%s", msg)
	}
	return Name{s: s, typ: NAA, hi: v}, nil
}

// NewNAA128 returns the naa. name of a 128-bit NAA identifier (RFC 3980
// §4.1) whose first 8 bytes are hi and last 8 are lo. The NAA field, the
// top 4 bits of hi, must be 6 (T10 SPC-4 §7.8.6.6); otherwise the error is
// an *[Error] of kind [ErrBadNAA].
func NewNAA128(hi, lo uint64) (Name, error) {
	s := fmt.Sprintf("naa.%016x%016x", hi, lo)
	if msg := checkNAA(hi, true); msg != "" {
		return Name{}, errorf(ErrBadNAA, s, len(naaPrefix), "%s", msg)
	}
	return Name{s: s, typ: NAA, hi: hi, lo: lo}, nil
}

// NewNAA returns the naa. name of an NAA identifier given as the 8 or 16
// bytes of an NAA designator (T10 SPC-4 §7.8.6.6), as [NewNAA64] or
// [NewNAA128] would. Any other length is an *[Error] of kind
// [ErrBadHexLength].
func NewNAA(b []byte) (Name, error) {
	switch len(b) {
	case 8:
		return NewNAA64(binary.BigEndian.Uint64(b))
	case 16:
		return NewNAA128(binary.BigEndian.Uint64(b), binary.BigEndian.Uint64(b[8:]))
	}
	return Name{}, errorf(ErrBadHexLength, fmt.Sprintf("% x", b), -1, "NAA identifier of %d bytes, want 8 or 16", len(b))
}
