package pdu

import (
	"encoding/binary"
	"strconv"
)

// BHSLength is the length in bytes of the Basic Header Segment that starts
// every iSCSI PDU (RFC 7143 §11.2.1).
const BHSLength = 48

// MaxDataSegmentLength is the largest value the 24-bit DataSegmentLength
// field can carry (RFC 7143 §11.2.1.6).
const MaxDataSegmentLength = 1<<24 - 1

// MaxTotalAHSLength is the largest total length in bytes of the Additional
// Header Segments of one PDU: the 8-bit TotalAHSLength counts 4-byte words
// (RFC 7143 §11.2.1.5).
const MaxTotalAHSLength = 255 * 4

// ReservedTag is the all-ones value RFC 7143 uses for an Initiator Task Tag
// or Target Transfer Tag that is not in use (§11.2.1.8, §11.18.2,
// §11.19.1, §11.9, §11.17).
const ReservedTag uint32 = 0xffffffff

// BHS is the 48-byte Basic Header Segment of RFC 7143 §11.2.1, held as raw
// wire bytes. Its methods read and write the fields common to every PDU.
// The per-PDU views ([LoginRequest], [SCSICommand], ...) share its
// underlying type, so converting a *BHS to a view, with the view methods on
// BHS or with a conversion such as (*pdu.LoginRequest)(h), costs nothing
// and does not allocate.
type BHS [BHSLength]byte

// Opcode returns the 6-bit opcode of byte 0 (RFC 7143 §11.2.1.2).
func (h *BHS) Opcode() Opcode { return Opcode(h[0] & 0x3f) }

// SetOpcode sets the 6-bit opcode of byte 0 (RFC 7143 §11.2.1.2), keeping
// the I bit.
func (h *BHS) SetOpcode(op Opcode) { h[0] = h[0]&0xc0 | byte(op)&0x3f }

// Immediate returns the I bit (RFC 7143 §11.2.1.1): the request is for
// immediate delivery. It is meaningful in initiator PDUs only.
func (h *BHS) Immediate() bool { return h[0]&0x40 != 0 }

// SetImmediate sets the I bit (RFC 7143 §11.2.1.1).
func (h *BHS) SetImmediate(v bool) { setBit(&h[0], 0x40, v) }

// Final returns the F bit, the top bit of byte 1 (RFC 7143 §11.2.1.3). In
// PDUs where the RFC marks that bit "1" it is always set.
func (h *BHS) Final() bool { return h[1]&0x80 != 0 }

// SetFinal sets the F bit (RFC 7143 §11.2.1.3).
func (h *BHS) SetFinal(v bool) { setBit(&h[1], 0x80, v) }

// TotalAHSLength returns the total length of the Additional Header Segments
// in 4-byte words, as on the wire (RFC 7143 §11.2.1.5).
func (h *BHS) TotalAHSLength() uint8 { return h[4] }

// SetTotalAHSLength sets the total AHS length in 4-byte words
// (RFC 7143 §11.2.1.5).
func (h *BHS) SetTotalAHSLength(words uint8) { h[4] = words }

// DataSegmentLength returns the 24-bit length in bytes of the data segment,
// padding excluded (RFC 7143 §11.2.1.6).
func (h *BHS) DataSegmentLength() uint32 {
	return uint32(h[5])<<16 | uint32(h[6])<<8 | uint32(h[7])
}

// SetDataSegmentLength sets the 24-bit DataSegmentLength
// (RFC 7143 §11.2.1.6). Bits above the 24th are dropped.
func (h *BHS) SetDataSegmentLength(n uint32) {
	h[5], h[6], h[7] = byte(n>>16), byte(n>>8), byte(n)
}

// LUN returns bytes 8-15 as a big-endian number: the Logical Unit Number in
// the PDUs that carry one (RFC 7143 §11.2.1.7), otherwise opcode-specific
// or reserved. The encoding of the LUN is SAM's, left to the scsi package.
func (h *BHS) LUN() uint64 { return binary.BigEndian.Uint64(h[8:16]) }

// SetLUN sets bytes 8-15 (RFC 7143 §11.2.1.7).
func (h *BHS) SetLUN(lun uint64) { binary.BigEndian.PutUint64(h[8:16], lun) }

// InitiatorTaskTag returns bytes 16-19, the tag the initiator gave the task
// (RFC 7143 §11.2.1.8). 0xffffffff ([ReservedTag]) is reserved.
func (h *BHS) InitiatorTaskTag() uint32 { return h.u32(16) }

// SetInitiatorTaskTag sets bytes 16-19 (RFC 7143 §11.2.1.8).
func (h *BHS) SetInitiatorTaskTag(t uint32) { h.setU32(16, t) }

// Reset zeroes all 48 bytes.
func (h *BHS) Reset() { *h = BHS{} }

// PaddedLength returns n rounded up to a multiple of 4: every segment of a
// PDU ends on a 4-byte boundary (RFC 7143 §11.1), so a data segment of n
// bytes occupies PaddedLength(n) bytes on the wire and is followed by
// PaddedLength(n)-n zero bytes. It is the module's one padding helper; the
// Writer pads segments itself, and package digest's data digest covers the
// padding without being told.
func PaddedLength(n uint32) uint32 { return (n + 3) &^ 3 }

// Views. Each returns h as the view of one PDU type, without copying.

// NOPOut returns h as a [NOPOut] view.
func (h *BHS) NOPOut() *NOPOut { return (*NOPOut)(h) }

// SCSICommand returns h as a [SCSICommand] view.
func (h *BHS) SCSICommand() *SCSICommand { return (*SCSICommand)(h) }

// TaskManagementRequest returns h as a [TaskManagementRequest] view.
func (h *BHS) TaskManagementRequest() *TaskManagementRequest {
	return (*TaskManagementRequest)(h)
}

// LoginRequest returns h as a [LoginRequest] view.
func (h *BHS) LoginRequest() *LoginRequest { return (*LoginRequest)(h) }

// TextRequest returns h as a [TextRequest] view.
func (h *BHS) TextRequest() *TextRequest { return (*TextRequest)(h) }

// DataOut returns h as a [DataOut] view.
func (h *BHS) DataOut() *DataOut { return (*DataOut)(h) }

// LogoutRequest returns h as a [LogoutRequest] view.
func (h *BHS) LogoutRequest() *LogoutRequest { return (*LogoutRequest)(h) }

// SNACKRequest returns h as a [SNACKRequest] view.
func (h *BHS) SNACKRequest() *SNACKRequest { return (*SNACKRequest)(h) }

// NOPIn returns h as a [NOPIn] view.
func (h *BHS) NOPIn() *NOPIn { return (*NOPIn)(h) }

// SCSIResponse returns h as a [SCSIResponse] view.
func (h *BHS) SCSIResponse() *SCSIResponse { return (*SCSIResponse)(h) }

// TaskManagementResponse returns h as a [TaskManagementResponse] view.
func (h *BHS) TaskManagementResponse() *TaskManagementResponse {
	return (*TaskManagementResponse)(h)
}

// LoginResponse returns h as a [LoginResponse] view.
func (h *BHS) LoginResponse() *LoginResponse { return (*LoginResponse)(h) }

// TextResponse returns h as a [TextResponse] view.
func (h *BHS) TextResponse() *TextResponse { return (*TextResponse)(h) }

// DataIn returns h as a [DataIn] view.
func (h *BHS) DataIn() *DataIn { return (*DataIn)(h) }

// LogoutResponse returns h as a [LogoutResponse] view.
func (h *BHS) LogoutResponse() *LogoutResponse { return (*LogoutResponse)(h) }

// R2T returns h as an [R2T] view.
func (h *BHS) R2T() *R2T { return (*R2T)(h) }

// AsyncMessage returns h as an [AsyncMessage] view.
func (h *BHS) AsyncMessage() *AsyncMessage { return (*AsyncMessage)(h) }

// Reject returns h as a [Reject] view.
func (h *BHS) Reject() *Reject { return (*Reject)(h) }

// Validate checks h against the rules of the PDU type its opcode names:
// every reserved field RFC 7143 §11 says a sender sets to zero, every bit
// the RFC fixes, and the field combinations it forbids. An opcode RFC 7143
// does not define gives a [*ProtocolError] with reason
// [RejectCommandNotSupported] wrapping an [*OpcodeError]
// (RFC 7143 §11.17.1); a vendor-specific opcode (§11.2.1.2) is accepted
// with no further checks.
//
// RFC 7143 §11 has senders set every reserved field to zero but receivers
// ignore reserved fields (while reserved code values in defined fields are
// a protocol error), so the [Reader] never calls Validate: it is for
// senders checking what they build, for tests, and for receivers that
// choose to be strict.
func (h *BHS) Validate() error {
	switch h.Opcode() {
	case OpNOPOut:
		return h.NOPOut().Validate()
	case OpSCSICommand:
		return h.SCSICommand().Validate()
	case OpTaskManagementRequest:
		return h.TaskManagementRequest().Validate()
	case OpLoginRequest:
		return h.LoginRequest().Validate()
	case OpTextRequest:
		return h.TextRequest().Validate()
	case OpSCSIDataOut:
		return h.DataOut().Validate()
	case OpLogoutRequest:
		return h.LogoutRequest().Validate()
	case OpSNACKRequest:
		return h.SNACKRequest().Validate()
	case OpNOPIn:
		return h.NOPIn().Validate()
	case OpSCSIResponse:
		return h.SCSIResponse().Validate()
	case OpTaskManagementResponse:
		return h.TaskManagementResponse().Validate()
	case OpLoginResponse:
		return h.LoginResponse().Validate()
	case OpTextResponse:
		return h.TextResponse().Validate()
	case OpSCSIDataIn:
		return h.DataIn().Validate()
	case OpLogoutResponse:
		return h.LogoutResponse().Validate()
	case OpR2T:
		return h.R2T().Validate()
	case OpAsyncMessage:
		return h.AsyncMessage().Validate()
	case OpReject:
		return h.Reject().Validate()
	}
	if h.Opcode().VendorSpecific() {
		return nil
	}
	return &ProtocolError{
		Reason: RejectCommandNotSupported,
		Header: *h,
		Err:    &OpcodeError{Opcode: h.Opcode()},
	}
}

func (h *BHS) u16(off int) uint16 { return binary.BigEndian.Uint16(h[off:]) }

func (h *BHS) setU16(off int, v uint16) { binary.BigEndian.PutUint16(h[off:], v) }

func (h *BHS) u32(off int) uint32 { return binary.BigEndian.Uint32(h[off:]) }

func (h *BHS) setU32(off int, v uint32) { binary.BigEndian.PutUint32(h[off:], v) }

func setBit(b *byte, mask byte, v bool) {
	if v {
		*b |= mask
	} else {
		*b &^= mask
	}
}

// field names a set of bits at one byte offset of the BHS.
type field struct {
	off  uint8
	mask byte
}

// span returns the whole bytes [from, to) as fields.
func span(from, to int) []field {
	f := make([]field, 0, to-from)
	for i := from; i < to; i++ {
		f = append(f, field{uint8(i), 0xff})
	}
	return f
}

// fields concatenates field lists.
func fields(parts ...[]field) []field {
	var out []field
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}

// checkHeader is the start of every Validate: the opcode must be want,
// the bits of rsv must be zero and the bits of one must be one.
func (h *BHS) checkHeader(want Opcode, rsv []field, one []field) error {
	if op := h.Opcode(); op != want {
		return h.invalid(0, uint32(op), "opcode is "+op.String()+", not "+want.String())
	}
	for _, f := range rsv {
		if v := h[f.off] & f.mask; v != 0 {
			return &ProtocolError{
				Reason: RejectInvalidPDUField,
				Header: *h,
				Err:    &ReservedFieldError{Opcode: want, Offset: int(f.off), Value: v},
			}
		}
	}
	for _, f := range one {
		if v := h[f.off] & f.mask; v != f.mask {
			return h.invalid(int(f.off), uint32(h[f.off]), "bit fixed at 1 is 0")
		}
	}
	return nil
}

// protocolViolation builds the error for what RFC 7143 §11 calls a
// protocol error: a reserved code value in a defined field, or bits the
// RFC makes mutually exclusive (§11.4.1: o and u, O and U). Its Reject
// reason is Protocol Error (§11.17.1).
func (h *BHS) protocolViolation(off int, value uint32, why string) error {
	return &ProtocolError{
		Reason: RejectProtocolError,
		Header: *h,
		Err:    &FieldError{Opcode: h.Opcode(), Offset: off, Value: value, Reason: why},
	}
}

// invalid builds the error for a field whose value or combination
// RFC 7143 forbids, a format error (§7.7): Reject reason Invalid PDU
// Field (§11.17.1).
func (h *BHS) invalid(off int, value uint32, why string) error {
	return &ProtocolError{
		Reason: RejectInvalidPDUField,
		Format: true,
		Header: *h,
		Err:    &FieldError{Opcode: h.Opcode(), Offset: off, Value: value, Reason: why},
	}
}

// Commonly fixed bits.
var (
	oneFinal = []field{{1, 0x80}}
	// byte 0 bit 7 is reserved in every PDU; bit 6 (I) is reserved in
	// target PDUs and in Data-Out and SNACK (RFC 7143 §11.2.1.1).
	rsvByte0Initiator = []field{{0, 0x80}}
	rsvByte0Target    = []field{{0, 0xc0}}
)

// String summarises h for logs and test failures: the opcode and the
// fields every PDU has, e.g. "SCSI Command I F ITT=0x1 AHS=0 DSL=512".
func (h *BHS) String() string {
	b := make([]byte, 0, 64)
	b = append(b, h.Opcode().String()...)
	if h.Immediate() {
		b = append(b, " I"...)
	}
	if h.Final() {
		b = append(b, " F"...)
	}
	b = append(b, " ITT=0x"...)
	b = strconv.AppendUint(b, uint64(h.InitiatorTaskTag()), 16)
	b = append(b, " AHS="...)
	b = strconv.AppendUint(b, uint64(h.TotalAHSLength())*4, 10)
	b = append(b, " DSL="...)
	b = strconv.AppendUint(b, uint64(h.DataSegmentLength()), 10)
	return string(b)
}
