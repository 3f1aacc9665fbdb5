package scsi

import (
	"encoding/binary"
	"iter"
)

// ReadCapacity10DataLength is the length of READ CAPACITY(10) parameter
// data (SBC-4 §5.20.2 table 118).
const ReadCapacity10DataLength = 8

// ReadCapacity16DataLength is the length of READ CAPACITY(16) parameter
// data (SBC-4 §5.21.2 table 120).
const ReadCapacity16DataLength = 32

// ReadCapacity10Data is READ CAPACITY(10) parameter data (SBC-4 §5.20.2
// table 118).
type ReadCapacity10Data struct {
	// LastLBA is the RETURNED LOGICAL BLOCK ADDRESS: the last LBA, or
	// FFFFFFFFh when it does not fit in 32 bits and the initiator must use
	// READ CAPACITY(16).
	LastLBA     uint32
	BlockLength uint32 // LOGICAL BLOCK LENGTH IN BYTES
}

// NewReadCapacity10Data returns the READ CAPACITY(10) data of a medium
// whose last LBA is lastLBA, clamping it to FFFFFFFFh as SBC-4 §5.20.2
// requires.
func NewReadCapacity10Data(lastLBA uint64, blockLength uint32) ReadCapacity10Data {
	return ReadCapacity10Data{LastLBA: uint32(min(lastLBA, 0xffffffff)), BlockLength: blockLength}
}

// Append appends the 8 bytes of parameter data.
func (d ReadCapacity10Data) Append(dst []byte) []byte {
	dst = binary.BigEndian.AppendUint32(dst, d.LastLBA)
	return binary.BigEndian.AppendUint32(dst, d.BlockLength)
}

// ParseReadCapacity10Data decodes READ CAPACITY(10) parameter data (SBC-4
// §5.20.2). Errors are *FormatError.
func ParseReadCapacity10Data(b []byte) (ReadCapacity10Data, error) {
	if len(b) < ReadCapacity10DataLength {
		return ReadCapacity10Data{}, shortData("READ CAPACITY(10) data", 4, "LOGICAL BLOCK LENGTH IN BYTES")
	}
	return ReadCapacity10Data{LastLBA: binary.BigEndian.Uint32(b), BlockLength: binary.BigEndian.Uint32(b[4:])}, nil
}

// ReadCapacity16Data is READ CAPACITY(16) parameter data (SBC-4 §5.21.2
// table 120).
type ReadCapacity16Data struct {
	LastLBA     uint64 // RETURNED LOGICAL BLOCK ADDRESS: the last LBA
	BlockLength uint32 // LOGICAL BLOCK LENGTH IN BYTES
	RCBasis     uint8  // RC BASIS, 2 bits (SBC-4)
	PType       uint8  // P_TYPE, 3 bits: protection type minus one
	ProtEn      bool   // PROT_EN: protection information enabled
	// PIExponent is the P_I_EXPONENT, 4 bits: 2^PIExponent protection
	// information intervals per logical block.
	PIExponent uint8
	// LBPPBE is the LOGICAL BLOCKS PER PHYSICAL BLOCK EXPONENT, 4 bits.
	LBPPBE uint8
	LBPME  bool // LBPME: logical block provisioning management enabled (thin)
	LBPRZ  bool // LBPRZ: unmapped blocks read as zeros
	// LowestAlignedLBA is the LOWEST ALIGNED LOGICAL BLOCK ADDRESS, 14
	// bits.
	LowestAlignedLBA uint16
}

// Append appends the 32 bytes of READ CAPACITY(16) parameter data. A
// field out of range gives a *FormatError.
func (d ReadCapacity16Data) Append(dst []byte) ([]byte, error) {
	const format = "READ CAPACITY(16) data"
	switch {
	case d.RCBasis > 3, d.PType > 7:
		return dst, fieldRange(format, 12, "P_TYPE")
	case d.PIExponent > 0xf, d.LBPPBE > 0xf:
		return dst, fieldRange(format, 13, "LOGICAL BLOCKS PER PHYSICAL BLOCK EXPONENT")
	case d.LowestAlignedLBA > 0x3fff:
		return dst, fieldRange(format, 14, "LOWEST ALIGNED LOGICAL BLOCK ADDRESS")
	}
	dst = binary.BigEndian.AppendUint64(dst, d.LastLBA)
	dst = binary.BigEndian.AppendUint32(dst, d.BlockLength)
	dst = append(dst, d.RCBasis<<4|d.PType<<1|flag(d.ProtEn, 0x01), d.PIExponent<<4|d.LBPPBE,
		flag(d.LBPME, 0x80)|flag(d.LBPRZ, 0x40)|byte(d.LowestAlignedLBA>>8), byte(d.LowestAlignedLBA))
	return append(dst, make([]byte, 16)...), nil
}

// ParseReadCapacity16Data decodes READ CAPACITY(16) parameter data (SBC-4
// §5.21.2). It needs the first 16 bytes; the rest are reserved. Errors
// are *FormatError.
func ParseReadCapacity16Data(b []byte) (ReadCapacity16Data, error) {
	if len(b) < 16 {
		return ReadCapacity16Data{}, shortData("READ CAPACITY(16) data", 15, "LOWEST ALIGNED LOGICAL BLOCK ADDRESS")
	}
	return ReadCapacity16Data{
		LastLBA:          binary.BigEndian.Uint64(b),
		BlockLength:      binary.BigEndian.Uint32(b[8:]),
		RCBasis:          b[12] >> 4 & 3,
		PType:            b[12] >> 1 & 7,
		ProtEn:           b[12]&0x01 != 0,
		PIExponent:       b[13] >> 4,
		LBPPBE:           b[13] & 0x0f,
		LBPME:            b[14]&0x80 != 0,
		LBPRZ:            b[14]&0x40 != 0,
		LowestAlignedLBA: binary.BigEndian.Uint16(b[14:]) & 0x3fff,
	}, nil
}

// PROVISIONING STATUS values of LBA status descriptors (SBC-4 §5.5.2
// table 45).
const (
	LBAMapped      = 0x0 // mapped, or unknown
	LBADeallocated = 0x1 // deallocated
	LBAAnchored    = 0x2 // anchored
)

// LBAStatusDescriptor is one LBA status descriptor of GET LBA STATUS
// parameter data (SBC-4 §5.5.2 table 45): 16 bytes.
type LBAStatusDescriptor struct {
	LBA                uint64 // LBA STATUS LOGICAL BLOCK ADDRESS
	NumberOfBlocks     uint32 // NUMBER OF LOGICAL BLOCKS
	ProvisioningStatus uint8  // PROVISIONING STATUS, 4 bits
	AdditionalStatus   uint8  // ADDITIONAL STATUS (SBC-4)
}

// AppendLBAStatus appends GET LBA STATUS parameter data (SBC-4 §5.5.2
// table 44): the PARAMETER DATA LENGTH, 4 reserved bytes and the
// descriptors.
func AppendLBAStatus(dst []byte, descs []LBAStatusDescriptor) []byte {
	dst = binary.BigEndian.AppendUint32(dst, uint32(4+16*len(descs)))
	dst = append(dst, 0, 0, 0, 0)
	for _, d := range descs {
		dst = binary.BigEndian.AppendUint64(dst, d.LBA)
		dst = binary.BigEndian.AppendUint32(dst, d.NumberOfBlocks)
		dst = append(dst, d.ProvisioningStatus&0x0f, d.AdditionalStatus, 0, 0)
	}
	return dst
}

// LBAStatus is GET LBA STATUS parameter data checked by [ParseLBAStatus].
type LBAStatus struct {
	// ParameterDataLength is the PARAMETER DATA LENGTH the device server
	// reported; the descriptors it names may exceed those returned.
	ParameterDataLength uint32
	Descriptors         []byte // the whole descriptors returned, aliasing the data
}

// Len returns the number of descriptors returned.
func (s LBAStatus) Len() int { return len(s.Descriptors) / 16 }

// At returns descriptor i.
func (s LBAStatus) At(i int) LBAStatusDescriptor {
	b := s.Descriptors[16*i : 16*i+16]
	return LBAStatusDescriptor{LBA: binary.BigEndian.Uint64(b), NumberOfBlocks: binary.BigEndian.Uint32(b[8:]), ProvisioningStatus: b[12] & 0x0f, AdditionalStatus: b[13]}
}

// All yields the descriptors with their index.
func (s LBAStatus) All() iter.Seq2[int, LBAStatusDescriptor] {
	return func(yield func(int, LBAStatusDescriptor) bool) {
		for i := range s.Len() {
			if !yield(i, s.At(i)) {
				return
			}
		}
	}
}

// ParseLBAStatus decodes GET LBA STATUS parameter data (SBC-4 §5.5.2),
// keeping the whole descriptors within both the data and the PARAMETER
// DATA LENGTH. A PARAMETER DATA LENGTH below 4 is malformed. Errors are
// *FormatError.
func ParseLBAStatus(b []byte) (LBAStatus, error) {
	if len(b) < 8 {
		return LBAStatus{}, shortData("GET LBA STATUS data", 0, "PARAMETER DATA LENGTH")
	}
	s := LBAStatus{ParameterDataLength: binary.BigEndian.Uint32(b)}
	if s.ParameterDataLength < 4 {
		return LBAStatus{}, malformed("GET LBA STATUS data", 0, "PARAMETER DATA LENGTH")
	}
	n := int(min(uint64(s.ParameterDataLength)-4, uint64(len(b)-8)))
	s.Descriptors = b[8 : 8+n-n%16]
	return s, nil
}
