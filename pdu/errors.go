package pdu

import (
	"errors"
	"strconv"
)

// Sentinel errors. Every error this package reports about the bytes it is
// given matches one of them with [errors.Is] (a stream cut short matches
// [io.ErrUnexpectedEOF]) and carries details in a struct type for
// [errors.As]. Errors of the underlying reader or writer are passed on.
var (
	// ErrUnknownOpcode: the opcode is not one RFC 7143 §11.2.1.2 defines.
	ErrUnknownOpcode = errors.New("pdu: unknown opcode")
	// ErrReservedField: a field RFC 7143 §11 reserves is not zero.
	ErrReservedField = errors.New("pdu: reserved field not zero")
	// ErrInvalidField: a field holds a value, or fields a combination,
	// RFC 7143 §11 forbids.
	ErrInvalidField = errors.New("pdu: invalid field")
	// ErrSegmentTooLong: DataSegmentLength exceeds the negotiated
	// MaxRecvDataSegmentLength (RFC 7143 §13.12) or a length limit of the
	// wire format.
	ErrSegmentTooLong = errors.New("pdu: data segment too long")
	// ErrHeaderDigest: the header digest does not match (RFC 7143 §7.8).
	ErrHeaderDigest = errors.New("pdu: header digest error")
	// ErrDataDigest: the data digest does not match (RFC 7143 §7.8).
	ErrDataDigest = errors.New("pdu: data digest error")
	// ErrBadAHS: an Additional Header Segment is malformed
	// (RFC 7143 §11.2.2).
	ErrBadAHS = errors.New("pdu: malformed additional header segment")
	// ErrDataLength: [Reader.ReadData] was given a buffer whose length is
	// not the DataSegmentLength of the PDU.
	ErrDataLength = errors.New("pdu: data buffer length does not match DataSegmentLength")
)

// ProtocolError is an error confined to one PDU: the framing of the stream
// is intact and the PDU can be skipped. A target answers it with a Reject
// PDU carrying Reason and, as its data segment, Header (RFC 7143 §7.3,
// §11.17; §7.8 for a data digest error, where the Reject is required).
// Err says what was wrong.
//
// Format marks the errors RFC 7143 §7.7 calls format errors: a header
// field with an illegal value, or fields that contradict each other
// (Reason [RejectInvalidPDUField]). §7.7 has the receiver of a format error
// close every connection of the session and escalate to session recovery;
// many implementations answer with a Reject instead. Which to do is the
// session layer's policy. Two kinds of error are not format errors: a
// reserved code value in a defined field, which RFC 7143 §11 has reported
// as a protocol error (Reason [RejectProtocolError]), and a reserved field
// that is not zero, which receivers ignore (RFC 7143 §11) and only a
// strict Validate reports (Reason [RejectInvalidPDUField]).
type ProtocolError struct {
	// Reason is the Reject reason code that fits the error (§11.17.1).
	Reason RejectReason
	// Format is true for a format error of RFC 7143 §7.7.
	Format bool
	// Header is the Basic Header Segment of the offending PDU, the data
	// segment of the Reject PDU.
	Header BHS
	// Err is the detailed error: *ReservedFieldError, *FieldError,
	// *OpcodeError, *DigestError, ...
	Err error
}

// Error returns the reason and the detailed error.
func (e *ProtocolError) Error() string {
	return "iscsi protocol error (" + e.Reason.String() + "): " + e.Err.Error()
}

// Unwrap returns Err.
func (e *ProtocolError) Unwrap() error { return e.Err }

// ConnectionError is an error after which the stream of PDUs cannot be
// trusted and the connection must be closed: a header digest error
// (RFC 7143 §7.8: the lengths in the header cannot be believed, so the
// start of the next PDU is unknown; see [Reader.SetHeaderDigestRecovery]
// for skipping the PDU instead), a stream that ends inside a PDU, or a
// data segment longer than the receiver accepts (RFC 7143 §13.12). Recovery
// is at the connection or session level (RFC 7143 §7.1.4). Err says
// what was wrong.
type ConnectionError struct {
	Err error
}

// Error returns the detailed error, marked as connection-fatal.
func (e *ConnectionError) Error() string { return "iscsi connection error: " + e.Err.Error() }

// Unwrap returns Err.
func (e *ConnectionError) Unwrap() error { return e.Err }

// OpcodeError reports an opcode RFC 7143 §11.2.1.2 does not define.
type OpcodeError struct {
	Opcode Opcode
}

// Error names the opcode.
func (e *OpcodeError) Error() string { return "pdu: unknown opcode " + e.Opcode.String() }

// Is matches [ErrUnknownOpcode].
func (e *OpcodeError) Is(target error) bool { return target == ErrUnknownOpcode }

// ReservedFieldError reports a reserved field that is not zero
// (RFC 7143 §11: senders set reserved fields to zero).
type ReservedFieldError struct {
	Opcode Opcode
	// Offset is the byte offset in the BHS of the first offending byte.
	Offset int
	// Value is that byte, masked to its reserved bits.
	Value byte
}

// Error names the PDU, the byte and the bits found set.
func (e *ReservedFieldError) Error() string {
	return "pdu: " + e.Opcode.String() + ": reserved bits at byte " + strconv.Itoa(e.Offset) +
		" are 0x" + strconv.FormatUint(uint64(e.Value), 16) + ", not 0"
}

// Is matches [ErrReservedField].
func (e *ReservedFieldError) Is(target error) bool { return target == ErrReservedField }

// FieldError reports a field value, or a combination of fields, that
// RFC 7143 §11 forbids.
type FieldError struct {
	Opcode Opcode
	// Offset is the byte offset in the BHS of the field.
	Offset int
	// Value is the value seen.
	Value uint32
	// Reason says which rule was broken.
	Reason string
}

// Error names the PDU, the field offset, the value and the rule.
func (e *FieldError) Error() string {
	return "pdu: " + e.Opcode.String() + ": field at byte " + strconv.Itoa(e.Offset) +
		" (0x" + strconv.FormatUint(uint64(e.Value), 16) + "): " + e.Reason
}

// Is matches [ErrInvalidField].
func (e *FieldError) Is(target error) bool { return target == ErrInvalidField }

// SegmentTooLongError reports a data segment longer than the limit.
type SegmentTooLongError struct {
	Opcode Opcode
	// Length is the DataSegmentLength seen.
	Length uint32
	// Limit is the largest length accepted.
	Limit uint32
}

// Error gives the length seen and the limit.
func (e *SegmentTooLongError) Error() string {
	return "pdu: " + e.Opcode.String() + ": data segment of " + strconv.FormatUint(uint64(e.Length), 10) +
		" bytes exceeds the limit of " + strconv.FormatUint(uint64(e.Limit), 10)
}

// Is matches [ErrSegmentTooLong].
func (e *SegmentTooLongError) Is(target error) bool { return target == ErrSegmentTooLong }

// DigestError reports a header or data digest that does not match
// (RFC 7143 §7.8).
type DigestError struct {
	// Data is true for the data digest, false for the header digest.
	Data bool
	// Got is the digest received, Want the one computed.
	Got, Want uint32
}

// Error gives the digest received and the one computed.
func (e *DigestError) Error() string {
	what := "header"
	if e.Data {
		what = "data"
	}
	return "pdu: " + what + " digest 0x" + strconv.FormatUint(uint64(e.Got), 16) +
		", computed 0x" + strconv.FormatUint(uint64(e.Want), 16)
}

// Is matches [ErrDataDigest] or [ErrHeaderDigest].
func (e *DigestError) Is(target error) bool {
	if e.Data {
		return target == ErrDataDigest
	}
	return target == ErrHeaderDigest
}

// HeaderDigestError reports a PDU whose header digest did not match, which
// a Reader with [Reader.SetHeaderDigestRecovery] on has skipped: RFC 7143
// §7.8 has the receiver discard the PDU, and at ErrorRecoveryLevel 1 and
// above (§7.1.4.1) the sender recovers it. The header cannot be trusted:
// Header is what arrived, for logging only. It matches [ErrHeaderDigest]
// and unwraps to the [*DigestError]; it is not a [*ConnectionError], and
// reading can go on.
type HeaderDigestError struct {
	// Header is the Basic Header Segment as received, corrupted.
	Header BHS
	// Digest holds the digest received and the one computed.
	Digest DigestError
	// Skipped is the number of bytes the Reader skipped: the header
	// segments, their digest and the data segment with its padding and
	// digest, as the corrupted header gave them.
	Skipped uint32
}

// Error names the opcode as received and the digests.
func (e *HeaderDigestError) Error() string {
	return "pdu: PDU (" + e.Header.Opcode().String() + " as received) skipped: " + e.Digest.Error()
}

// Unwrap returns the *DigestError.
func (e *HeaderDigestError) Unwrap() error { return &e.Digest }

// AHSError reports a malformed Additional Header Segment
// (RFC 7143 §11.2.2).
type AHSError struct {
	// Offset is the byte offset of the AHS within the AHS area.
	Offset int
	// Reason says what is wrong.
	Reason string
}

// Error gives the offset and what is wrong.
func (e *AHSError) Error() string {
	return "pdu: AHS at offset " + strconv.Itoa(e.Offset) + ": " + e.Reason
}

// Is matches [ErrBadAHS].
func (e *AHSError) Is(target error) bool { return target == ErrBadAHS }
