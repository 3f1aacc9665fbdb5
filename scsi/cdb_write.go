package scsi

import (
	"encoding/binary"
	"iter"
)

// WriteSame is the WRITE SAME(10) or (16) CDB (SBC-4 §5.50 table 140,
// §5.51 table 141). NumberOfBlocks zero asks for every block from LBA to
// the end of the medium, within the MAXIMUM WRITE SAME LENGTH of the block
// limits VPD page.
type WriteSame struct {
	Op             OpCode // OpWriteSame10 or OpWriteSame16
	WrProtect      uint8  // WRPROTECT, 3 bits
	Anchor         bool   // ANCHOR: anchor the blocks (with UNMAP one)
	Unmap          bool   // UNMAP: unmap the blocks if the data is zero and the unit is thin
	NDOB           bool   // NDOB: no Data-Out buffer, write zeros (16-byte form only)
	LBA            uint64 // LOGICAL BLOCK ADDRESS
	NumberOfBlocks uint32 // NUMBER OF LOGICAL BLOCKS
	Group          uint8  // GROUP NUMBER, 6 bits
	Control        byte
}

// OperationCode returns c.Op.
func (c WriteSame) OperationCode() OpCode { return c.Op }

// Append appends the 10- or 16-byte CDB.
func (c WriteSame) Append(dst []byte) ([]byte, error) {
	op := c.Op
	if op != OpWriteSame10 && op != OpWriteSame16 {
		return dst, wrongOp(OpWriteSame10, op)
	}
	if c.WrProtect > 7 {
		return dst, cdbErr(op, "WRPROTECT", 1, 7)
	}
	if c.LBA+uint64(c.NumberOfBlocks) < c.LBA {
		return dst, lbaRange(op)
	}
	b1 := c.WrProtect<<5 | flag(c.Anchor, 0x10) | flag(c.Unmap, 0x08)
	if op == OpWriteSame10 {
		switch {
		case c.NDOB:
			return dst, cdbErr(op, "NDOB", 1, 0)
		case c.LBA > 0xffffffff:
			return dst, cdbErr(op, "LOGICAL BLOCK ADDRESS", 2, -1)
		case c.NumberOfBlocks > 0xffff:
			return dst, cdbErr(op, "NUMBER OF LOGICAL BLOCKS", 7, -1)
		case c.Group > 0x3f:
			return dst, cdbErr(op, "GROUP NUMBER", 6, -1)
		}
		dst, b := newCDB(dst, op, 10)
		b[1] = b1
		binary.BigEndian.PutUint32(b[2:], uint32(c.LBA))
		b[6] = c.Group
		binary.BigEndian.PutUint16(b[7:], uint16(c.NumberOfBlocks))
		b[9] = c.Control
		return dst, nil
	}
	if c.Group > 0x3f {
		return dst, cdbErr(op, "GROUP NUMBER", 14, -1)
	}
	dst, b := newCDB(dst, op, 16)
	b[1] = b1 | flag(c.NDOB, 0x01)
	binary.BigEndian.PutUint64(b[2:], c.LBA)
	binary.BigEndian.PutUint32(b[10:], c.NumberOfBlocks)
	b[14] = c.Group
	b[15] = c.Control
	return dst, nil
}

// ParseWriteSame decodes WRITE SAME(10) or (16) (SBC-4 §5.50, §5.51).
// Byte 1 bits 2-1 (PBDATA and LBDATA of SBC-3, obsolete in SBC-4) are
// rejected with INVALID FIELD IN CDB, since ignoring them would write other
// data than the initiator asked for; bit 0 is obsolete in the 10-byte form
// and ignored, and is NDOB in the 16-byte form. Bits 7-6 of the GROUP
// NUMBER byte are reserved.
func ParseWriteSame(cdb []byte) (WriteSame, error) {
	if len(cdb) == 0 {
		return WriteSame{}, shortCDB(OpWriteSame10, 10)
	}
	op := OpCode(cdb[0])
	if op != OpWriteSame10 && op != OpWriteSame16 {
		return WriteSame{}, wrongOp(OpWriteSame10, op)
	}
	if err := checkCDB(cdb, op); err != nil {
		return WriteSame{}, err
	}
	if err := reserved(cdb, op, 1, 0x06); err != nil {
		return WriteSame{}, err
	}
	c := WriteSame{Op: op, WrProtect: cdb[1] >> 5, Anchor: cdb[1]&0x10 != 0, Unmap: cdb[1]&0x08 != 0}
	gb := 6
	if op == OpWriteSame10 {
		c.LBA = uint64(binary.BigEndian.Uint32(cdb[2:]))
		c.NumberOfBlocks = uint32(binary.BigEndian.Uint16(cdb[7:]))
		c.Control = cdb[9]
	} else {
		c.NDOB = cdb[1]&0x01 != 0
		c.LBA = binary.BigEndian.Uint64(cdb[2:])
		c.NumberOfBlocks = binary.BigEndian.Uint32(cdb[10:])
		c.Control = cdb[15]
		gb = 14
	}
	if err := reserved(cdb, op, gb, 0xc0); err != nil {
		return WriteSame{}, err
	}
	c.Group = cdb[gb] & 0x3f
	if c.LBA+uint64(c.NumberOfBlocks) < c.LBA {
		return WriteSame{}, lbaRange(op)
	}
	return c, nil
}

// Unmap is the UNMAP CDB (SBC-4 §5.37.1 table 136). Its parameter list is
// built with [AppendUnmapParameterList] and decoded with
// [ParseUnmapParameterList].
type Unmap struct {
	Anchor              bool   // ANCHOR: anchor instead of deallocate
	Group               uint8  // GROUP NUMBER, 6 bits
	ParameterListLength uint16 // PARAMETER LIST LENGTH
	Control             byte
}

// OperationCode returns OpUnmap.
func (Unmap) OperationCode() OpCode { return OpUnmap }

// Append appends the 10-byte CDB.
func (c Unmap) Append(dst []byte) ([]byte, error) {
	if c.Group > 0x3f {
		return dst, cdbErr(OpUnmap, "GROUP NUMBER", 6, -1)
	}
	dst, b := newCDB(dst, OpUnmap, 10)
	b[1] = flag(c.Anchor, 0x01)
	b[6] = c.Group
	binary.BigEndian.PutUint16(b[7:], c.ParameterListLength)
	b[9] = c.Control
	return dst, nil
}

// ParseUnmap decodes UNMAP (SBC-4 §5.37.1): byte 1 bits 7-1, bytes 2-5
// and byte 6 bits 7-6 are reserved.
func ParseUnmap(cdb []byte) (Unmap, error) {
	const op = OpUnmap
	if err := checkCDB(cdb, op); err != nil {
		return Unmap{}, err
	}
	if err := reserved(cdb, op, 1, 0xfe); err != nil {
		return Unmap{}, err
	}
	if err := reservedBytes(cdb, op, 2, 6); err != nil {
		return Unmap{}, err
	}
	if err := reserved(cdb, op, 6, 0xc0); err != nil {
		return Unmap{}, err
	}
	return Unmap{Anchor: cdb[1]&1 != 0, Group: cdb[6] & 0x3f, ParameterListLength: binary.BigEndian.Uint16(cdb[7:]), Control: cdb[9]}, nil
}

// UnmapBlockDescriptor is one UNMAP block descriptor (SBC-4 §5.37.2 table
// 138): 16 bytes naming a range of logical blocks.
type UnmapBlockDescriptor struct {
	LBA            uint64 // UNMAP LOGICAL BLOCK ADDRESS
	NumberOfBlocks uint32 // NUMBER OF LOGICAL BLOCKS
}

// UnmapBlockDescriptors is a view of the block descriptors of an UNMAP
// parameter list: a sub-slice of the parameter data, valid as long as it
// is. Its methods decode descriptors on demand and allocate nothing.
type UnmapBlockDescriptors []byte

// Len returns the number of descriptors.
func (d UnmapBlockDescriptors) Len() int { return len(d) / 16 }

// At returns descriptor i; it panics if i is out of range, as a slice
// index would.
func (d UnmapBlockDescriptors) At(i int) UnmapBlockDescriptor {
	b := d[i*16 : i*16+16]
	return UnmapBlockDescriptor{LBA: binary.BigEndian.Uint64(b), NumberOfBlocks: binary.BigEndian.Uint32(b[8:])}
}

// All yields the descriptors in order with their index.
func (d UnmapBlockDescriptors) All() iter.Seq2[int, UnmapBlockDescriptor] {
	return func(yield func(int, UnmapBlockDescriptor) bool) {
		for i := range d.Len() {
			if !yield(i, d.At(i)) {
				return
			}
		}
	}
}

// ParseUnmapParameterList decodes the UNMAP parameter list (SBC-4 §5.37.2
// table 137), b being the Data-Out buffer of PARAMETER LIST LENGTH bytes.
// Following SBC-4 §5.37.1: an empty list is no error and names no blocks;
// a list of 1 to 7 bytes is PARAMETER LIST LENGTH ERROR; the UNMAP BLOCK
// DESCRIPTOR DATA LENGTH governs the descriptors, and a trailing
// incomplete descriptor (a length not a multiple of 16, or one cut by the
// parameter list length) is ignored. A descriptor whose LBA plus block
// count overflows 2^64 is LOGICAL BLOCK ADDRESS OUT OF RANGE when the
// logical unit checks it against its capacity, so this function leaves it
// to the caller. Errors are *ParameterError.
func ParseUnmapParameterList(b []byte) (UnmapBlockDescriptors, error) {
	if len(b) == 0 {
		return nil, nil
	}
	if len(b) < 8 {
		return nil, paramLenErr(OpUnmap, "PARAMETER LIST LENGTH")
	}
	n := int(binary.BigEndian.Uint16(b[2:]))
	n = min(n, len(b)-8)
	return UnmapBlockDescriptors(b[8 : 8+n-n%16]), nil
}

// AppendUnmapParameterList appends an UNMAP parameter list (SBC-4
// §5.37.2) holding descs. The UNMAP DATA LENGTH and UNMAP BLOCK
// DESCRIPTOR DATA LENGTH fields are 16 bits wide, which bounds a list at
// 4095 descriptors; more give a *ParameterError.
func AppendUnmapParameterList(dst []byte, descs []UnmapBlockDescriptor) ([]byte, error) {
	if len(descs) > (0xffff-8)/16 {
		return dst, paramLenErr(OpUnmap, "UNMAP BLOCK DESCRIPTOR DATA LENGTH")
	}
	n := 16 * len(descs)
	dst = binary.BigEndian.AppendUint16(dst, uint16(n+6))
	dst = binary.BigEndian.AppendUint16(dst, uint16(n))
	dst = append(dst, 0, 0, 0, 0)
	for _, d := range descs {
		dst = binary.BigEndian.AppendUint64(dst, d.LBA)
		dst = binary.BigEndian.AppendUint32(dst, d.NumberOfBlocks)
		dst = append(dst, 0, 0, 0, 0)
	}
	return dst, nil
}

// CompareAndWrite is the COMPARE AND WRITE CDB (SBC-4 §5.2 table 30). Its
// Data-Out holds NumberOfBlocks blocks to compare, then as many to write.
type CompareAndWrite struct {
	WrProtect      uint8  // WRPROTECT, 3 bits
	DPO            bool   // DPO
	FUA            bool   // FUA
	LBA            uint64 // LOGICAL BLOCK ADDRESS
	NumberOfBlocks uint8  // NUMBER OF LOGICAL BLOCKS
	Group          uint8  // GROUP NUMBER, 6 bits
	Control        byte
}

// OperationCode returns OpCompareAndWrite.
func (CompareAndWrite) OperationCode() OpCode { return OpCompareAndWrite }

// Append appends the 16-byte CDB.
func (c CompareAndWrite) Append(dst []byte) ([]byte, error) {
	const op = OpCompareAndWrite
	switch {
	case c.WrProtect > 7:
		return dst, cdbErr(op, "WRPROTECT", 1, 7)
	case c.Group > 0x3f:
		return dst, cdbErr(op, "GROUP NUMBER", 14, -1)
	case c.LBA+uint64(c.NumberOfBlocks) < c.LBA:
		return dst, lbaRange(op)
	}
	dst, b := newCDB(dst, op, 16)
	b[1] = c.WrProtect<<5 | flag(c.DPO, 0x10) | flag(c.FUA, 0x08)
	binary.BigEndian.PutUint64(b[2:], c.LBA)
	b[13] = c.NumberOfBlocks
	b[14] = c.Group
	b[15] = c.Control
	return dst, nil
}

// ParseCompareAndWrite decodes COMPARE AND WRITE (SBC-4 §5.2): byte 1
// bits 2 and 0, bytes 10-12 and byte 14 bits 7-6 are reserved; byte 1 bit
// 1 (FUA_NV) is obsolete and ignored.
func ParseCompareAndWrite(cdb []byte) (CompareAndWrite, error) {
	const op = OpCompareAndWrite
	if err := checkCDB(cdb, op); err != nil {
		return CompareAndWrite{}, err
	}
	if err := reserved(cdb, op, 1, 0x05); err != nil {
		return CompareAndWrite{}, err
	}
	if err := reservedBytes(cdb, op, 10, 13); err != nil {
		return CompareAndWrite{}, err
	}
	if err := reserved(cdb, op, 14, 0xc0); err != nil {
		return CompareAndWrite{}, err
	}
	c := CompareAndWrite{WrProtect: cdb[1] >> 5, DPO: cdb[1]&0x10 != 0, FUA: cdb[1]&0x08 != 0,
		LBA: binary.BigEndian.Uint64(cdb[2:]), NumberOfBlocks: cdb[13], Group: cdb[14] & 0x3f, Control: cdb[15]}
	if c.LBA+uint64(c.NumberOfBlocks) < c.LBA {
		return CompareAndWrite{}, lbaRange(op)
	}
	return c, nil
}

// WriteAtomic16 is the WRITE ATOMIC(16) CDB (SBC-4 §5.48 table 133).
type WriteAtomic16 struct {
	WrProtect      uint8  // WRPROTECT, 3 bits
	DPO            bool   // DPO
	FUA            bool   // FUA
	LBA            uint64 // LOGICAL BLOCK ADDRESS
	AtomicBoundary uint16 // ATOMIC BOUNDARY
	TransferLength uint16 // TRANSFER LENGTH
	Group          uint8  // GROUP NUMBER, 6 bits
	Control        byte
}

// OperationCode returns OpWriteAtomic16.
func (WriteAtomic16) OperationCode() OpCode { return OpWriteAtomic16 }

// Append appends the 16-byte CDB.
func (c WriteAtomic16) Append(dst []byte) ([]byte, error) {
	const op = OpWriteAtomic16
	switch {
	case c.WrProtect > 7:
		return dst, cdbErr(op, "WRPROTECT", 1, 7)
	case c.Group > 0x3f:
		return dst, cdbErr(op, "GROUP NUMBER", 14, -1)
	case c.LBA+uint64(c.TransferLength) < c.LBA:
		return dst, lbaRange(op)
	}
	dst, b := newCDB(dst, op, 16)
	b[1] = c.WrProtect<<5 | flag(c.DPO, 0x10) | flag(c.FUA, 0x08)
	binary.BigEndian.PutUint64(b[2:], c.LBA)
	binary.BigEndian.PutUint16(b[10:], c.AtomicBoundary)
	binary.BigEndian.PutUint16(b[12:], c.TransferLength)
	b[14] = c.Group
	b[15] = c.Control
	return dst, nil
}

// ParseWriteAtomic16 decodes WRITE ATOMIC(16) (SBC-4 §5.48): byte 1 bits
// 2-0 and byte 14 bits 7-6 are reserved.
func ParseWriteAtomic16(cdb []byte) (WriteAtomic16, error) {
	const op = OpWriteAtomic16
	if err := checkCDB(cdb, op); err != nil {
		return WriteAtomic16{}, err
	}
	if err := reserved(cdb, op, 1, 0x07); err != nil {
		return WriteAtomic16{}, err
	}
	if err := reserved(cdb, op, 14, 0xc0); err != nil {
		return WriteAtomic16{}, err
	}
	c := WriteAtomic16{WrProtect: cdb[1] >> 5, DPO: cdb[1]&0x10 != 0, FUA: cdb[1]&0x08 != 0, LBA: binary.BigEndian.Uint64(cdb[2:]),
		AtomicBoundary: binary.BigEndian.Uint16(cdb[10:]), TransferLength: binary.BigEndian.Uint16(cdb[12:]), Group: cdb[14] & 0x3f, Control: cdb[15]}
	if c.LBA+uint64(c.TransferLength) < c.LBA {
		return WriteAtomic16{}, lbaRange(op)
	}
	return c, nil
}

// SANITIZE service actions (SBC-4 §5.36.1 table 131).
const (
	SanitizeOverwrite          ServiceAction = 0x01 // OVERWRITE
	SanitizeBlockErase         ServiceAction = 0x02 // BLOCK ERASE
	SanitizeCryptographicErase ServiceAction = 0x03 // CRYPTOGRAPHIC ERASE
	SanitizeExitFailureMode    ServiceAction = 0x1f // EXIT FAILURE MODE
)

// Sanitize is the SANITIZE CDB (SBC-4 §5.36.1 table 130).
type Sanitize struct {
	Immed               bool          // IMMED
	AUSE                bool          // AUSE: allow EXIT FAILURE MODE after a failure
	ServiceAction       ServiceAction // SERVICE ACTION
	ParameterListLength uint16        // PARAMETER LIST LENGTH (OVERWRITE only)
	Control             byte
}

// OperationCode returns OpSanitize.
func (Sanitize) OperationCode() OpCode { return OpSanitize }

// Append appends the 10-byte CDB.
func (c Sanitize) Append(dst []byte) ([]byte, error) {
	const op = OpSanitize
	if c.ServiceAction > 0x1f {
		return dst, cdbErr(op, "SERVICE ACTION", 1, 4)
	}
	dst, b := newCDB(dst, op, 10)
	b[1] = flag(c.Immed, 0x80) | flag(c.AUSE, 0x20) | byte(c.ServiceAction)
	binary.BigEndian.PutUint16(b[7:], c.ParameterListLength)
	b[9] = c.Control
	return dst, nil
}

// ParseSanitize decodes SANITIZE (SBC-4 §5.36): byte 1 bit 6 and bytes
// 2-6 are reserved; a service action other than those of table 131 is
// INVALID FIELD IN CDB at byte 1, and so is a PARAMETER LIST LENGTH other
// than zero for BLOCK ERASE, CRYPTOGRAPHIC ERASE and EXIT FAILURE MODE
// (§5.36.3-§5.36.5), at byte 7.
func ParseSanitize(cdb []byte) (Sanitize, error) {
	const op = OpSanitize
	if err := checkCDB(cdb, op); err != nil {
		return Sanitize{}, err
	}
	if err := reserved(cdb, op, 1, 0x40); err != nil {
		return Sanitize{}, err
	}
	if err := reservedBytes(cdb, op, 2, 7); err != nil {
		return Sanitize{}, err
	}
	c := Sanitize{Immed: cdb[1]&0x80 != 0, AUSE: cdb[1]&0x20 != 0, ServiceAction: ServiceAction(cdb[1] & 0x1f),
		ParameterListLength: binary.BigEndian.Uint16(cdb[7:]), Control: cdb[9]}
	switch c.ServiceAction {
	case SanitizeOverwrite:
	case SanitizeBlockErase, SanitizeCryptographicErase, SanitizeExitFailureMode:
		if c.ParameterListLength != 0 {
			return Sanitize{}, cdbErr(op, "PARAMETER LIST LENGTH", 7, -1)
		}
	default:
		return Sanitize{}, cdbErr(op, "SERVICE ACTION", 1, 4)
	}
	return c, nil
}

// SanitizeOverwriteParameters is the OVERWRITE parameter list of SANITIZE
// (SBC-4 §5.36.2 table 132).
type SanitizeOverwriteParameters struct {
	Invert         bool   // INVERT: invert the pattern between passes
	Test           uint8  // TEST, 2 bits, vendor specific
	OverwriteCount uint8  // OVERWRITE COUNT, 5 bits, at least 1
	Pattern        []byte // INITIALIZATION PATTERN, aliasing the parameter data
}

// ParseSanitizeOverwriteParameters decodes the OVERWRITE parameter list
// (SBC-4 §5.36.2). Byte 1 is reserved; an OVERWRITE COUNT of zero, an
// INITIALIZATION PATTERN LENGTH of zero or one that disagrees with the
// PARAMETER LIST LENGTH (len(b)-4) is INVALID FIELD IN PARAMETER LIST, and
// a list shorter than its header PARAMETER LIST LENGTH ERROR. Whether the
// pattern fits a logical block is the logical unit's check.
func ParseSanitizeOverwriteParameters(b []byte) (SanitizeOverwriteParameters, error) {
	const op = OpSanitize
	if len(b) < 4 {
		return SanitizeOverwriteParameters{}, paramLenErr(op, "PARAMETER LIST LENGTH")
	}
	p := SanitizeOverwriteParameters{Invert: b[0]&0x80 != 0, Test: b[0] >> 5 & 3, OverwriteCount: b[0] & 0x1f}
	if b[1] != 0 {
		return p, paramErr(op, "reserved", 1, bitOf(b[1]))
	}
	if p.OverwriteCount == 0 {
		return p, paramErr(op, "OVERWRITE COUNT", 0, 4)
	}
	n := int(binary.BigEndian.Uint16(b[2:]))
	if n == 0 || n != len(b)-4 {
		return p, paramErr(op, "INITIALIZATION PATTERN LENGTH", 2, -1)
	}
	p.Pattern = b[4:]
	return p, nil
}

// Append appends the OVERWRITE parameter list.
func (p SanitizeOverwriteParameters) Append(dst []byte) ([]byte, error) {
	const op = OpSanitize
	switch {
	case p.Test > 3:
		return dst, paramErr(op, "TEST", 0, 6)
	case p.OverwriteCount == 0 || p.OverwriteCount > 0x1f:
		return dst, paramErr(op, "OVERWRITE COUNT", 0, 4)
	case len(p.Pattern) == 0 || len(p.Pattern) > 0xffff:
		return dst, paramErr(op, "INITIALIZATION PATTERN LENGTH", 2, -1)
	}
	dst = append(dst, flag(p.Invert, 0x80)|p.Test<<5|p.OverwriteCount, 0)
	dst = binary.BigEndian.AppendUint16(dst, uint16(len(p.Pattern)))
	return append(dst, p.Pattern...), nil
}
