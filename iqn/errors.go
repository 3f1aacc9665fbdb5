package iqn

import (
	"errors"
	"fmt"
)

// Error kinds. Every error returned by this package is an *[Error] whose
// Kind is one of these, so errors.Is(err, iqn.ErrBadDate) tells what was
// wrong and errors.As gives the position.
var (
	// ErrEmpty: the name is empty, or nothing is left of it after RFC 3722
	// §4 maps characters to nothing.
	ErrEmpty = errors.New("iqn: empty name")
	// ErrTooLong: the name is longer than 223 bytes of UTF-8 after
	// normalization (RFC 7143 §4.2.7.2).
	ErrTooLong = errors.New("iqn: name too long")
	// ErrInvalidUTF8: the name is not valid UTF-8 (RFC 3722 §1: an iSCSI
	// name is a string of UTF-8 characters).
	ErrInvalidUTF8 = errors.New("iqn: invalid UTF-8")
	// ErrUnassigned: the name holds a code point unassigned in Unicode 3.2
	// (RFC 3722 §8, RFC 3454 Table A.1).
	ErrUnassigned = errors.New("iqn: unassigned code point")
	// ErrProhibitedChar: after mapping and normalization the name holds a
	// character RFC 3722 §6 prohibits: a space, control, private use,
	// non-character, surrogate, display-changing or tagging character
	// (RFC 3454 Tables C.1.1 to C.9), ASCII punctuation other than '-',
	// '.' and ':' (RFC 3722 §6.2), or U+3002 IDEOGRAPHIC FULL STOP
	// (RFC 3722 §6.1).
	ErrProhibitedChar = errors.New("iqn: prohibited character")
	// ErrBidi: the name breaks the bidirectional rules of RFC 3454 §6,
	// which RFC 3722 §7 applies.
	ErrBidi = errors.New("iqn: bidirectional rule violated")
	// ErrBadType: the name does not begin with a type designator, "iqn.",
	// "eui." or "naa." (RFC 7143 §4.2.7.3, RFC 3980 §4).
	ErrBadType = errors.New("iqn: unknown name type")
	// ErrBadDate: the date of an iqn. name is not yyyy-mm with a month from
	// 01 to 12 and a year from 1900 (RFC 7143 §4.2.7.4).
	ErrBadDate = errors.New("iqn: invalid date")
	// ErrBadNamingAuthority: the naming authority of an iqn. name is not a
	// reversed domain name: dot-separated, non-empty labels of letters,
	// digits and hyphens (RFC 7143 §4.2.7.4).
	ErrBadNamingAuthority = errors.New("iqn: invalid naming authority")
	// ErrBadHex: an eui. or naa. name holds a character that is not a
	// hexadecimal digit (RFC 7143 §4.2.7.5, §4.2.7.6).
	ErrBadHex = errors.New("iqn: invalid hexadecimal digit")
	// ErrBadHexLength: an eui. name does not have exactly 16 hexadecimal
	// digits, or an naa. name 16 or 32 (RFC 7143 §4.2.7.5, §4.2.7.6).
	ErrBadHexLength = errors.New("iqn: wrong number of hexadecimal digits")
	// ErrBadNAA: the NAA field (the first hexadecimal digit) of an naa.
	// name does not fit its length: 2, 3 or 5 for 16 digits, 6 for 32
	// (T10 SPC-4 §7.8.6.6).
	ErrBadNAA = errors.New("iqn: invalid NAA field")
	// ErrNotCanonical: [ParseStrict] was given a valid name that is not in
	// the normalized form of RFC 3722.
	ErrNotCanonical = errors.New("iqn: name not in canonical form")
)

// maxQuoted bounds how much of the input an error message quotes.
const maxQuoted = 256

// Error is the error type of this package. Kind is one of the Err
// sentinels and is what Unwrap returns, so errors.Is(err, ErrBadDate)
// works; errors.As gives the position.
type Error struct {
	// Kind is the sentinel saying what was wrong, e.g. [ErrBadDate].
	Kind error
	// Input is the string Offset indexes. For UTF-8 and stringprep errors
	// (ErrInvalidUTF8, ErrUnassigned, ErrProhibitedChar, ErrBidi) it is the
	// caller's input; for errors in the structure of the name it is the
	// normalized name, which is the caller's input whenever that was
	// already canonical.
	Input string
	// Offset is the byte offset in Input where the problem was found, or
	// -1 when it concerns the name as a whole (e.g. ErrTooLong).
	Offset int
	// Msg says what was seen, e.g. `invalid month "13"`.
	Msg string
}

// Error returns the message, where the problem is and the input, e.g.
// `iqn: invalid month "13" at offset 9 in "iqn.2001-13.com.example"`.
func (e *Error) Error() string {
	in := e.Input
	if len(in) > maxQuoted {
		in = in[:maxQuoted] + "..."
	}
	if e.Offset < 0 {
		return fmt.Sprintf("iqn: %s in %q", e.Msg, in)
	}
	return fmt.Sprintf("iqn: %s at offset %d in %q", e.Msg, e.Offset, in)
}

// Unwrap returns Kind.
func (e *Error) Unwrap() error { return e.Kind }

func errorf(kind error, input string, offset int, format string, args ...any) *Error {
	return &Error{Kind: kind, Input: input, Offset: offset, Msg: fmt.Sprintf(format, args...)}
}
