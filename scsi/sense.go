package scsi

import (
	"encoding/binary"
	"strconv"
)

// Sense data response codes (SPC-4 §4.5.1 table 27).
const (
	ResponseCodeFixedCurrent       = 0x70 // fixed format, current error
	ResponseCodeFixedDeferred      = 0x71 // fixed format, deferred error
	ResponseCodeDescriptorCurrent  = 0x72 // descriptor format, current error
	ResponseCodeDescriptorDeferred = 0x73 // descriptor format, deferred error
)

// Fixed format sense data is 18 bytes: 8 of header and an ADDITIONAL SENSE
// LENGTH of 10 (SPC-4 §4.5.3 table 45).
const FixedSenseLength = 18

// Sense descriptor types (SPC-4 §4.5.2.1 table 29).
const (
	DescriptorInformation        = 0x00 // SPC-4 §4.5.2.2
	DescriptorCommandSpecific    = 0x01 // SPC-4 §4.5.2.3
	DescriptorSenseKeySpecific   = 0x02 // SPC-4 §4.5.2.4
	DescriptorFieldReplaceable   = 0x03 // SPC-4 §4.5.2.5
	DescriptorStreamCommands     = 0x04 // SSC-4 stream commands (FILEMARK, EOM, ILI)
	DescriptorBlockCommands      = 0x05 // SBC-4 §4.18.2 block commands (ILI)
	DescriptorProgressIndication = 0x0a // SPC-4 §4.5.2.6 another progress indication
)

// Sense is SCSI sense data (SPC-4 §4.5): what a device server reports with
// CHECK CONDITION status, and what REQUEST SENSE returns. One value serves
// the fixed format (§4.5.3) and the descriptor format (§4.5.2); Deferred
// selects the deferred response codes.
//
// Sense implements error, and its zero value is NO SENSE, NO ADDITIONAL
// SENSE INFORMATION. A logical unit returns a Sense as its error, and a
// caller recovers it with errors.As or [SenseOf]. Sense is comparable, so
// errors.Is(err, s) matches an identical value.
type Sense struct {
	Key  SenseKey // SENSE KEY (§4.5.6 table 48)
	Code ASC      // ADDITIONAL SENSE CODE and QUALIFIER (§4.5.6 table 49)

	// Deferred selects response code 0x71 or 0x73: the error belongs to
	// an earlier command (§4.5.5).
	Deferred bool

	// Information is the INFORMATION field (§4.5.2.2), for example the
	// first LBA in error; InformationValid is the VALID bit. The fixed
	// format holds 32 bits; AppendFixed clears VALID for a larger value.
	Information      uint64
	InformationValid bool

	// CommandSpecific is the COMMAND-SPECIFIC INFORMATION field
	// (§4.5.2.3); the fixed format keeps its low 32 bits.
	CommandSpecific uint64

	// SenseKeySpecific is the SENSE-KEY SPECIFIC field (§4.5.2.4).
	SenseKeySpecific SenseKeySpecific

	// FRU is the FIELD REPLACEABLE UNIT CODE (§4.5.2.5); zero means none.
	FRU uint8

	// Filemark, EOM and ILI are the FILEMARK, END OF MEDIUM and INCORRECT
	// LENGTH INDICATOR bits (fixed format byte 2; the stream commands and
	// block commands descriptors of SSC-4 and SBC-4 §4.18.2).
	Filemark, EOM, ILI bool
}

// SenseKeySpecific is the three-byte SENSE-KEY SPECIFIC field (SPC-4
// §4.5.2.4). Its meaning depends on the sense key:
//
//   - ILLEGAL REQUEST: field pointer (table 36): CommandData (C/D: one for
//     the CDB, zero for the parameter list), BitPointerValid,
//     BitPointer and FieldPointer (the byte).
//   - RECOVERED ERROR, HARDWARE ERROR, MEDIUM ERROR: actual retry count
//     (table 37) in FieldPointer.
//   - NO SENSE, NOT READY: progress indication (table 38), a fraction of
//     65536, in FieldPointer.
//   - COPY ABORTED: segment pointer (table 39): SegmentDescriptor (SD),
//     BitPointerValid, BitPointer and FieldPointer.
//   - UNIT ATTENTION: unit attention condition queue overflow (table 40):
//     the OVERFLOW bit is bit 0 of BitPointer.
//
// The struct holds every bit of the field in the same place whatever the
// key, so [ParseSenseKeySpecific] and [SenseKeySpecific.Bytes] are exact
// inverses apart from the reserved bit 4 of byte 0.
type SenseKeySpecific struct {
	Valid             bool   // SKSV: the field holds information
	CommandData       bool   // C/D, byte 0 bit 6
	SegmentDescriptor bool   // SD, byte 0 bit 5
	BitPointerValid   bool   // BPV, byte 0 bit 3
	BitPointer        uint8  // BIT POINTER, byte 0 bits 2-0
	FieldPointer      uint16 // FIELD POINTER, PROGRESS INDICATION or ACTUAL RETRY COUNT, bytes 1-2
}

// FieldPointer returns a valid field pointer (SPC-4 §4.5.2.4.2 table 36)
// at byte offset of the CDB (commandData true) or of the parameter list,
// and bit (0 to 7; -1 when the whole byte is in error, BPV zero).
func FieldPointer(commandData bool, offset uint16, bit int) SenseKeySpecific {
	k := SenseKeySpecific{Valid: true, CommandData: commandData, FieldPointer: offset}
	if bit >= 0 && bit <= 7 {
		k.BitPointerValid = true
		k.BitPointer = uint8(bit)
	}
	return k
}

// ProgressIndication returns a valid progress indication (SPC-4
// §4.5.2.4.4 table 38): done/65536 of the operation has completed.
func ProgressIndication(done uint16) SenseKeySpecific {
	return SenseKeySpecific{Valid: true, FieldPointer: done}
}

// ActualRetryCount returns a valid actual retry count (SPC-4 §4.5.2.4.3
// table 37).
func ActualRetryCount(n uint16) SenseKeySpecific {
	return SenseKeySpecific{Valid: true, FieldPointer: n}
}

// SegmentPointer returns a valid segment pointer (SPC-4 §4.5.2.4.5 table
// 39) at byte offset of the segment descriptor (sd true) or of the
// parameter list, and bit (-1 for none).
func SegmentPointer(sd bool, offset uint16, bit int) SenseKeySpecific {
	k := FieldPointer(false, offset, bit)
	k.SegmentDescriptor = sd
	return k
}

// Progress returns the PROGRESS INDICATION (a fraction of 65536).
func (k SenseKeySpecific) Progress() uint16 { return k.FieldPointer }

// RetryCount returns the ACTUAL RETRY COUNT.
func (k SenseKeySpecific) RetryCount() uint16 { return k.FieldPointer }

// Bytes returns the three bytes of the field (SPC-4 §4.5.2.4 table 35).
func (k SenseKeySpecific) Bytes() [3]byte {
	var b [3]byte
	if k.Valid {
		b[0] |= 0x80
	}
	if k.CommandData {
		b[0] |= 0x40
	}
	if k.SegmentDescriptor {
		b[0] |= 0x20
	}
	if k.BitPointerValid {
		b[0] |= 0x08
	}
	b[0] |= k.BitPointer & 0x07
	binary.BigEndian.PutUint16(b[1:], k.FieldPointer)
	return b
}

// ParseSenseKeySpecific decodes the three bytes of the field (SPC-4
// §4.5.2.4 table 35).
func ParseSenseKeySpecific(b [3]byte) SenseKeySpecific {
	return SenseKeySpecific{
		Valid:             b[0]&0x80 != 0,
		CommandData:       b[0]&0x40 != 0,
		SegmentDescriptor: b[0]&0x20 != 0,
		BitPointerValid:   b[0]&0x08 != 0,
		BitPointer:        b[0] & 0x07,
		FieldPointer:      binary.BigEndian.Uint16(b[1:]),
	}
}

// NewSense returns current sense data with the key and additional sense
// code and nothing else.
func NewSense(key SenseKey, code ASC) Sense { return Sense{Key: key, Code: code} }

// InvalidFieldInCDB returns ILLEGAL REQUEST, INVALID FIELD IN CDB (24h/00h)
// with a field pointer at CDB byte offset and bit (-1 for the whole byte),
// C/D one (SPC-4 §4.5.2.4.2).
func InvalidFieldInCDB(offset uint16, bit int) Sense {
	return Sense{Key: SenseIllegalRequest, Code: ASCInvalidFieldInCDB, SenseKeySpecific: FieldPointer(true, offset, bit)}
}

// InvalidFieldInParameterList returns ILLEGAL REQUEST, INVALID FIELD IN
// PARAMETER LIST (26h/00h) with a field pointer at parameter list byte
// offset and bit (-1 for the whole byte), C/D zero (SPC-4 §4.5.2.4.2).
func InvalidFieldInParameterList(offset uint16, bit int) Sense {
	return Sense{Key: SenseIllegalRequest, Code: ASCInvalidFieldInParameterList, SenseKeySpecific: FieldPointer(false, offset, bit)}
}

// LBAOutOfRange returns ILLEGAL REQUEST, LOGICAL BLOCK ADDRESS OUT OF
// RANGE (21h/00h) with the first out-of-range LBA in the INFORMATION field
// (SBC-4 §4.5).
func LBAOutOfRange(lba uint64) Sense {
	return Sense{Key: SenseIllegalRequest, Code: ASCLBAOutOfRange, Information: lba, InformationValid: true}
}

// Error returns the sense key and the additional sense code as T10 names
// them, "ILLEGAL REQUEST: LOGICAL BLOCK ADDRESS OUT OF RANGE", followed by
// the INFORMATION field when valid and the field pointer when one is set,
// and preceded by "deferred " for a deferred error.
func (s Sense) Error() string {
	b := make([]byte, 0, 96)
	if s.Deferred {
		b = append(b, "deferred "...)
	}
	b = append(b, s.Key.String()...)
	b = append(b, ": "...)
	b = append(b, s.Code.String()...)
	if s.InformationValid {
		b = append(b, " (information 0x"...)
		b = append(b, hexU(s.Information)...)
		b = append(b, ')')
	}
	if k := s.SenseKeySpecific; k.Valid && s.Key == SenseIllegalRequest {
		if k.CommandData {
			b = append(b, " (CDB byte "...)
		} else {
			b = append(b, " (parameter byte "...)
		}
		b = strconv.AppendUint(b, uint64(k.FieldPointer), 10)
		if k.BitPointerValid {
			b = append(b, " bit "...)
			b = append(b, '0'+k.BitPointer)
		}
		b = append(b, ')')
	}
	return string(b)
}

// AppendFixed appends the 18 bytes of fixed format sense data (SPC-4
// §4.5.3 table 45), response code 0x70 or 0x71 for a deferred error. An
// INFORMATION value above 32 bits cannot be represented: VALID is then
// zero and the field zero.
func (s Sense) AppendFixed(dst []byte) []byte {
	n := len(dst)
	dst = append(dst, make([]byte, FixedSenseLength)...)
	b := dst[n:]
	b[0] = ResponseCodeFixedCurrent
	if s.Deferred {
		b[0] = ResponseCodeFixedDeferred
	}
	if s.InformationValid && s.Information <= 0xffffffff {
		b[0] |= 0x80
		binary.BigEndian.PutUint32(b[3:], uint32(s.Information))
	}
	b[2] = byte(s.Key & 0x0f)
	if s.Filemark {
		b[2] |= 0x80
	}
	if s.EOM {
		b[2] |= 0x40
	}
	if s.ILI {
		b[2] |= 0x20
	}
	b[7] = FixedSenseLength - 8
	binary.BigEndian.PutUint32(b[8:], uint32(s.CommandSpecific))
	b[12] = s.Code.AdditionalSenseCode()
	b[13] = s.Code.Qualifier()
	b[14] = s.FRU
	sks := s.SenseKeySpecific.Bytes()
	copy(b[15:], sks[:])
	return dst
}

// Append appends s in descriptor format when descriptor is true, and in
// fixed format otherwise: the choice the D_SENSE bit of the Control mode
// page makes for a device server (SPC-4 §7.5.8), or the DESC bit of
// REQUEST SENSE (§6.39).
func (s Sense) Append(dst []byte, descriptor bool) []byte {
	if descriptor {
		return s.AppendDescriptor(dst)
	}
	return s.AppendFixed(dst)
}

// DescriptorLength returns the length of s in descriptor format, the
// number of bytes AppendDescriptor appends.
func (s Sense) DescriptorLength() int {
	n := 8
	if s.InformationValid {
		n += 12
	}
	if s.CommandSpecific != 0 {
		n += 12
	}
	if s.SenseKeySpecific.Valid {
		n += 8
	}
	if s.FRU != 0 {
		n += 4
	}
	if s.Filemark || s.EOM || s.ILI {
		n += 4
	}
	return n
}

// AppendDescriptor appends descriptor format sense data (SPC-4 §4.5.2
// table 28), response code 0x72 or 0x73 for a deferred error, with the
// descriptors its fields need, in this order: information (when
// InformationValid), command-specific information (when non-zero),
// sense-key specific (when Valid), field replaceable unit (when non-zero),
// and stream commands (when FILEMARK or EOM is set) or block commands
// (when only ILI is set).
func (s Sense) AppendDescriptor(dst []byte) []byte {
	n := len(dst)
	total := s.DescriptorLength()
	dst = append(dst, make([]byte, total)...)
	b := dst[n:]
	b[0] = ResponseCodeDescriptorCurrent
	if s.Deferred {
		b[0] = ResponseCodeDescriptorDeferred
	}
	b[1] = byte(s.Key & 0x0f)
	b[2] = s.Code.AdditionalSenseCode()
	b[3] = s.Code.Qualifier()
	b[7] = byte(total - 8)
	d := b[8:]
	if s.InformationValid {
		d[0], d[1], d[2] = DescriptorInformation, 0x0a, 0x80
		binary.BigEndian.PutUint64(d[4:], s.Information)
		d = d[12:]
	}
	if s.CommandSpecific != 0 {
		d[0], d[1] = DescriptorCommandSpecific, 0x0a
		binary.BigEndian.PutUint64(d[4:], s.CommandSpecific)
		d = d[12:]
	}
	if s.SenseKeySpecific.Valid {
		d[0], d[1] = DescriptorSenseKeySpecific, 0x06
		sks := s.SenseKeySpecific.Bytes()
		copy(d[4:], sks[:])
		d = d[8:]
	}
	if s.FRU != 0 {
		d[0], d[1], d[3] = DescriptorFieldReplaceable, 0x02, s.FRU
		d = d[4:]
	}
	if s.Filemark || s.EOM || s.ILI {
		d[0], d[1] = DescriptorBlockCommands, 0x02
		if s.Filemark || s.EOM {
			d[0] = DescriptorStreamCommands
		}
		if s.Filemark {
			d[3] |= 0x80
		}
		if s.EOM {
			d[3] |= 0x40
		}
		if s.ILI {
			d[3] |= 0x20
		}
	}
	return dst
}

// ParseSense decodes sense data in either format (SPC-4 §4.5): response
// codes 0x70 and 0x71 (fixed, table 45) and 0x72 and 0x73 (descriptor,
// table 28). It reads no further than the ADDITIONAL SENSE LENGTH allows
// and accepts data cut short by an allocation length, provided the 8-byte
// header is whole; a descriptor that overruns the ADDITIONAL SENSE LENGTH
// is malformed. Descriptors it does not know are skipped. The INFORMATION
// field is kept only when its VALID bit is one (SPC-4 §4.5.3: otherwise
// its contents are not defined), so Information is zero unless
// InformationValid; likewise the SENSE-KEY SPECIFIC field is kept only when
// SKSV is one (§4.5.2.4). Errors are *FormatError.
func ParseSense(b []byte) (Sense, error) {
	const format = "sense data"
	var s Sense
	if len(b) < 1 {
		return s, shortData(format, 0, "RESPONSE CODE")
	}
	code := b[0] & 0x7f
	switch code {
	case ResponseCodeFixedCurrent, ResponseCodeFixedDeferred,
		ResponseCodeDescriptorCurrent, ResponseCodeDescriptorDeferred:
	default:
		return s, malformed(format, 0, "RESPONSE CODE")
	}
	if len(b) < 8 {
		return s, shortData(format, 7, "ADDITIONAL SENSE LENGTH")
	}
	end := 8 + int(b[7])
	avail := min(end, len(b))
	s.Deferred = code == ResponseCodeFixedDeferred || code == ResponseCodeDescriptorDeferred
	if code == ResponseCodeFixedCurrent || code == ResponseCodeFixedDeferred {
		if b[0]&0x80 != 0 {
			s.InformationValid = true
			s.Information = uint64(binary.BigEndian.Uint32(b[3:]))
		}
		s.Filemark = b[2]&0x80 != 0
		s.EOM = b[2]&0x40 != 0
		s.ILI = b[2]&0x20 != 0
		s.Key = SenseKey(b[2] & 0x0f)
		if avail >= 12 {
			s.CommandSpecific = uint64(binary.BigEndian.Uint32(b[8:]))
		}
		if avail >= 14 {
			s.Code = NewASC(b[12], b[13])
		} else if avail >= 13 {
			s.Code = NewASC(b[12], 0)
		}
		if avail >= 15 {
			s.FRU = b[14]
		}
		if avail >= 18 && b[15]&0x80 != 0 {
			s.SenseKeySpecific = ParseSenseKeySpecific([3]byte(b[15:18]))
		}
		return s, nil
	}
	if b[0]&0x80 != 0 {
		return s, malformed(format, 0, "reserved")
	}
	s.Key = SenseKey(b[1] & 0x0f)
	s.Code = NewASC(b[2], b[3])
	for i := 8; i+2 <= avail; {
		typ, n := b[i], 2+int(b[i+1])
		if i+n > end {
			return s, malformed(format, i+1, "ADDITIONAL LENGTH")
		}
		if i+n > avail {
			break // cut short by the allocation length
		}
		d := b[i : i+n]
		switch typ {
		case DescriptorInformation:
			if n < 12 {
				return s, malformed(format, i+1, "ADDITIONAL LENGTH")
			}
			if d[2]&0x80 != 0 {
				s.InformationValid = true
				s.Information = binary.BigEndian.Uint64(d[4:])
			}
		case DescriptorCommandSpecific:
			if n < 12 {
				return s, malformed(format, i+1, "ADDITIONAL LENGTH")
			}
			s.CommandSpecific = binary.BigEndian.Uint64(d[4:])
		case DescriptorSenseKeySpecific:
			if n < 7 {
				return s, malformed(format, i+1, "ADDITIONAL LENGTH")
			}
			if d[4]&0x80 != 0 {
				s.SenseKeySpecific = ParseSenseKeySpecific([3]byte(d[4:7]))
			}
		case DescriptorFieldReplaceable:
			if n < 4 {
				return s, malformed(format, i+1, "ADDITIONAL LENGTH")
			}
			s.FRU = d[3]
		case DescriptorStreamCommands:
			if n < 4 {
				return s, malformed(format, i+1, "ADDITIONAL LENGTH")
			}
			s.Filemark = d[3]&0x80 != 0
			s.EOM = d[3]&0x40 != 0
			s.ILI = d[3]&0x20 != 0
		case DescriptorBlockCommands:
			if n < 4 {
				return s, malformed(format, i+1, "ADDITIONAL LENGTH")
			}
			s.ILI = d[3]&0x20 != 0
		}
		i += n
	}
	return s, nil
}
