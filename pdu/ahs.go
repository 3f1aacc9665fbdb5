package pdu

import (
	"encoding/binary"
	"strconv"
)

// AHSType is the type code of an Additional Header Segment
// (RFC 7143 §11.2.2.1): its low 6 bits; the top 2 bits are reserved.
type AHSType uint8

// AHS types, RFC 7143 §11.2.2.1. Codes 0 and 3-63 are reserved.
const (
	// AHSExtendedCDB carries the bytes of a CDB beyond the 16 of the SCSI
	// Command BHS (RFC 7143 §11.2.2.3).
	AHSExtendedCDB AHSType = 1
	// AHSBidirectionalReadDataLength carries the Expected Read-Data Length
	// of a bidirectional command (RFC 7143 §11.2.2.4).
	AHSBidirectionalReadDataLength AHSType = 2
)

// String returns the AHS name of RFC 7143 §11.2.2.1.
func (t AHSType) String() string {
	switch t {
	case AHSExtendedCDB:
		return "Extended-CDB"
	case AHSBidirectionalReadDataLength:
		return "Bidirectional Read Expected Data Transfer Length"
	}
	return "AHSType(" + strconv.Itoa(int(t)) + ")"
}

// AHS is one Additional Header Segment (RFC 7143 §11.2.2): its type and
// its AHS-specific bytes, AHSLength of them, which start with the byte
// after the type byte. Specific aliases the bytes it was parsed from.
type AHS struct {
	Type     AHSType
	Specific []byte
}

// ParseAHS parses the Additional Header Segment at the start of b and
// returns it with the number of bytes it takes, padding included
// (RFC 7143 §11.2.2: AHSLength (2 bytes), AHSType (1 byte), AHSLength
// bytes, then padding to a multiple of 4).
func ParseAHS(b []byte) (AHS, int, error) {
	if len(b) < 4 {
		return AHS{}, 0, &AHSError{Reason: "fewer than 4 bytes left"}
	}
	length := int(binary.BigEndian.Uint16(b))
	if b[2]&0xc0 != 0 {
		return AHS{}, 0, &AHSError{Reason: "reserved bits of AHSType set: 0x" + strconv.FormatUint(uint64(b[2]), 16)}
	}
	total := int(PaddedLength(uint32(3 + length)))
	if total > len(b) {
		return AHS{}, 0, &AHSError{Reason: "AHSLength " + strconv.Itoa(length) + " overruns the AHS area of " + strconv.Itoa(len(b)) + " bytes"}
	}
	return AHS{Type: AHSType(b[2]), Specific: b[3 : 3+length : 3+length]}, total, nil
}

// AHSIterator walks the Additional Header Segments of one PDU
// (RFC 7143 §11.2.2). The zero value walks nothing.
type AHSIterator struct {
	b   []byte
	off int
}

// NewAHSIterator returns an iterator over ahs, the AHS area of a PDU
// (TotalAHSLength*4 bytes, as [PDU].AHS holds it).
func NewAHSIterator(ahs []byte) AHSIterator { return AHSIterator{b: ahs} }

// Next returns the next AHS; ok is false at the end. An error leaves the
// iterator at the end, its Offset set to where the bad AHS starts.
func (it *AHSIterator) Next() (a AHS, ok bool, err error) {
	if it.off >= len(it.b) {
		return AHS{}, false, nil
	}
	a, n, err := ParseAHS(it.b[it.off:])
	if err != nil {
		err.(*AHSError).Offset = it.off
		it.off = len(it.b)
		return AHS{}, false, err
	}
	it.off += n
	return a, true, nil
}

// ExtendedCDB returns the CDB bytes beyond the first 16 carried by an
// Extended CDB AHS: its AHS-specific bytes after the reserved first one
// (RFC 7143 §11.2.2.3).
func (a AHS) ExtendedCDB() ([]byte, error) {
	if a.Type != AHSExtendedCDB {
		return nil, &AHSError{Reason: "not an Extended-CDB AHS but " + a.Type.String()}
	}
	if len(a.Specific) < 1 {
		return nil, &AHSError{Reason: "Extended-CDB AHS with AHSLength 0"}
	}
	return a.Specific[1:], nil
}

// ExpectedReadDataLength returns the Expected Read-Data Length of a
// Bidirectional Read Expected Data Transfer Length AHS, whose AHSLength is
// 5: a reserved byte and the 4-byte length (RFC 7143 §11.2.2.4).
func (a AHS) ExpectedReadDataLength() (uint32, error) {
	if a.Type != AHSBidirectionalReadDataLength {
		return 0, &AHSError{Reason: "not a Bidirectional Read Expected Data Transfer Length AHS but " + a.Type.String()}
	}
	if len(a.Specific) != 5 {
		return 0, &AHSError{Reason: "Bidirectional Read Expected Data Transfer Length AHS with AHSLength " + strconv.Itoa(len(a.Specific)) + ", not 5"}
	}
	return binary.BigEndian.Uint32(a.Specific[1:]), nil
}

// AppendAHS appends an Additional Header Segment of type t with the
// AHS-specific bytes specific, and zero padding to a multiple of 4
// (RFC 7143 §11.2.2).
func AppendAHS(dst []byte, t AHSType, specific []byte) ([]byte, error) {
	if t > 0x3f {
		return dst, &AHSError{Reason: "AHSType 0x" + strconv.FormatUint(uint64(t), 16) + " does not fit in 6 bits"}
	}
	if 3+len(specific) > MaxTotalAHSLength {
		return dst, &AHSError{Reason: "AHS of " + strconv.Itoa(len(specific)) + " bytes exceeds the AHS area limit"}
	}
	dst = binary.BigEndian.AppendUint16(dst, uint16(len(specific)))
	dst = append(dst, byte(t))
	dst = append(dst, specific...)
	for pad := int(PaddedLength(uint32(3+len(specific)))) - 3 - len(specific); pad > 0; pad-- {
		dst = append(dst, 0)
	}
	return dst, nil
}

// AppendExtendedCDBAHS appends, for a CDB longer than 16 bytes, the
// Extended CDB AHS that carries its bytes beyond the 16th
// (RFC 7143 §11.2.2.3: AHSLength is the CDB length minus 15, one reserved
// byte, then the bytes). For a CDB of 16 bytes or fewer it appends nothing.
func AppendExtendedCDBAHS(dst []byte, cdb []byte) ([]byte, error) {
	if len(cdb) <= CDBLength {
		return dst, nil
	}
	if 3+len(cdb)-15 > MaxTotalAHSLength {
		return dst, &AHSError{Reason: "CDB of " + strconv.Itoa(len(cdb)) + " bytes does not fit in an AHS"}
	}
	dst = binary.BigEndian.AppendUint16(dst, uint16(len(cdb)-15))
	dst = append(dst, byte(AHSExtendedCDB), 0)
	dst = append(dst, cdb[CDBLength:]...)
	for pad := int(PaddedLength(uint32(len(cdb)-12))) - (len(cdb) - 12); pad > 0; pad-- {
		dst = append(dst, 0)
	}
	return dst, nil
}

// AppendBidirectionalReadDataLengthAHS appends a Bidirectional Read
// Expected Data Transfer Length AHS carrying n (RFC 7143 §11.2.2.4).
func AppendBidirectionalReadDataLengthAHS(dst []byte, n uint32) []byte {
	dst = append(dst, 0, 5, byte(AHSBidirectionalReadDataLength), 0)
	return binary.BigEndian.AppendUint32(dst, n)
}

// BidirectionalReadDataLength finds the Bidirectional Read Expected Data
// Transfer Length AHS in ahs, the AHS area of a PDU, and returns its
// length; ok is false when there is none (RFC 7143 §11.2.2.4).
func BidirectionalReadDataLength(ahs []byte) (n uint32, ok bool, err error) {
	for it := NewAHSIterator(ahs); ; {
		a, more, err := it.Next()
		if err != nil || !more {
			return 0, false, err
		}
		if a.Type == AHSBidirectionalReadDataLength {
			n, err := a.ExpectedReadDataLength()
			return n, err == nil, err
		}
	}
}
