package digest

import (
	"errors"
	"fmt"
)

// ErrMismatch is matched, through errors.Is, by every *[MismatchError]: a
// digest received with a PDU differs from the one computed over the bytes
// it covers (RFC 7143 §7.8, digest errors).
var ErrMismatch = errors.New("digest: mismatch")

// ErrShortDigest is matched, through errors.Is, by every
// *[ShortDigestError]: fewer than [Size] bytes were given where a digest
// was expected.
var ErrShortDigest = errors.New("digest: short digest")

// Kind says which of the two digests of a PDU an error is about
// (RFC 7143 §11.2.3). Its String is the name of the login key that
// negotiates it (RFC 7143 §13.1).
type Kind uint8

const (
	// HeaderDigest is the digest over the Basic Header Segment and the
	// Additional Header Segments (RFC 7143 §11.2.3). A header digest error
	// leaves the PDU's framing in doubt, so the receiver closes the
	// connection unless it can find the start of a later PDU by other
	// means (RFC 7143 §7.8).
	HeaderDigest Kind = iota + 1
	// DataDigest is the digest over the data segment and its padding
	// (RFC 7143 §11.2.3). A data digest error discards the PDU; recovery
	// depends on the ErrorRecoveryLevel (RFC 7143 §7.8, §7.1.5).
	DataDigest
)

// String returns "HeaderDigest" or "DataDigest", the RFC 7143 §13.1 key
// names, or "Kind(n)" for any other value.
func (k Kind) String() string {
	switch k {
	case HeaderDigest:
		return "HeaderDigest"
	case DataDigest:
		return "DataDigest"
	}
	return fmt.Sprintf("Kind(%d)", uint8(k))
}

// MismatchError reports that a received digest differs from the CRC32C
// computed over the bytes it covers (RFC 7143 §7.8). errors.Is(err,
// ErrMismatch) is true for it.
type MismatchError struct {
	// Kind says whether the header or the data digest failed.
	Kind Kind
	// Got is the CRC32C computed over the received bytes.
	Got uint32
	// Want is the digest value that arrived with them.
	Want uint32
}

// Error says which digest failed and both values, most significant digit
// first, e.g. "digest: DataDigest mismatch: computed 0x8a9136aa, received
// 0x00000000".
func (e *MismatchError) Error() string {
	return fmt.Sprintf("digest: %v mismatch: computed %#08x, received %#08x", e.Kind, e.Got, e.Want)
}

// Is reports whether target is [ErrMismatch].
func (e *MismatchError) Is(target error) bool { return target == ErrMismatch }

// ShortDigestError reports that fewer than [Size] bytes were given where a
// digest was expected. errors.Is(err, ErrShortDigest) is true for it.
type ShortDigestError struct {
	// Len is how many bytes were given.
	Len int
}

// Error says how many bytes there were, e.g. "digest: need 4 bytes for a
// digest, have 3".
func (e *ShortDigestError) Error() string {
	return fmt.Sprintf("digest: need %d bytes for a digest, have %d", Size, e.Len)
}

// Is reports whether target is [ErrShortDigest].
func (e *ShortDigestError) Is(target error) bool { return target == ErrShortDigest }

// VerifyHeader computes the header digest of bhsAndAHS (see [Header]) and
// returns nil if it equals want, the digest received after those header
// segments, or a *[MismatchError] of kind [HeaderDigest] if it does not
// (RFC 7143 §7.8).
func VerifyHeader(bhsAndAHS []byte, want uint32) error {
	if got := Header(bhsAndAHS); got != want {
		return &MismatchError{Kind: HeaderDigest, Got: got, Want: want}
	}
	return nil
}

// VerifyData computes the data digest of segment, padding included (see
// [Data]), and returns nil if it equals want, the digest received after the
// segment, or a *[MismatchError] of kind [DataDigest] if it does not
// (RFC 7143 §7.8).
func VerifyData(segment []byte, want uint32) error {
	if got := Data(segment); got != want {
		return &MismatchError{Kind: DataDigest, Got: got, Want: want}
	}
	return nil
}
