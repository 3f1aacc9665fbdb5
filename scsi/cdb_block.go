package scsi

import "encoding/binary"

// FormatUnit is the FORMAT UNIT CDB (SBC-4 §5.3 table 34).
type FormatUnit struct {
	FmtPInfo         uint8 // FMTPINFO, 2 bits: protection information format
	LongList         bool  // LONGLIST: the parameter list header is the long one
	FmtData          bool  // FMTDATA: a parameter list follows
	CmpLst           bool  // CMPLST: the parameter list replaces the grown defect list
	DefectListFormat uint8 // DEFECT LIST FORMAT, 3 bits
	VendorSpecific   uint8 // byte 2
	FFmt             uint8 // FFMT, 2 bits (SBC-4): fast format
	Control          byte
}

// OperationCode returns OpFormatUnit.
func (FormatUnit) OperationCode() OpCode { return OpFormatUnit }

// Append appends the 6-byte CDB.
func (c FormatUnit) Append(dst []byte) ([]byte, error) {
	const op = OpFormatUnit
	switch {
	case c.FmtPInfo > 3:
		return dst, cdbErr(op, "FMTPINFO", 1, 7)
	case c.DefectListFormat > 7:
		return dst, cdbErr(op, "DEFECT LIST FORMAT", 1, 2)
	case c.FFmt > 3:
		return dst, cdbErr(op, "FFMT", 4, 1)
	}
	dst, b := newCDB(dst, op, 6)
	b[1] = c.FmtPInfo<<6 | flag(c.LongList, 0x20) | flag(c.FmtData, 0x10) | flag(c.CmpLst, 0x08) | c.DefectListFormat
	b[2] = c.VendorSpecific
	b[4] = c.FFmt
	b[5] = c.Control
	return dst, nil
}

// ParseFormatUnit decodes FORMAT UNIT (SBC-4 §5.3). Byte 3 and byte 4
// bits 7-2 are obsolete and ignored.
func ParseFormatUnit(cdb []byte) (FormatUnit, error) {
	const op = OpFormatUnit
	if err := checkCDB(cdb, op); err != nil {
		return FormatUnit{}, err
	}
	return FormatUnit{
		FmtPInfo:         cdb[1] >> 6,
		LongList:         cdb[1]&0x20 != 0,
		FmtData:          cdb[1]&0x10 != 0,
		CmpLst:           cdb[1]&0x08 != 0,
		DefectListFormat: cdb[1] & 0x07,
		VendorSpecific:   cdb[2],
		FFmt:             cdb[4] & 0x03,
		Control:          cdb[5],
	}, nil
}

// ReadCapacity10 is the READ CAPACITY(10) CDB (SBC-4 §5.20 table 117).
// LBA and PMI are obsolete in SBC-4 and kept for SBC-3 initiators.
type ReadCapacity10 struct {
	LBA     uint32 // LOGICAL BLOCK ADDRESS (obsolete)
	PMI     bool   // PMI (obsolete)
	Control byte
}

// OperationCode returns OpReadCapacity10.
func (ReadCapacity10) OperationCode() OpCode { return OpReadCapacity10 }

// Append appends the 10-byte CDB.
func (c ReadCapacity10) Append(dst []byte) ([]byte, error) {
	if !c.PMI && c.LBA != 0 {
		return dst, cdbErr(OpReadCapacity10, "LOGICAL BLOCK ADDRESS", 2, -1)
	}
	dst, b := newCDB(dst, OpReadCapacity10, 10)
	binary.BigEndian.PutUint32(b[2:], c.LBA)
	b[8] = flag(c.PMI, 0x01)
	b[9] = c.Control
	return dst, nil
}

// ParseReadCapacity10 decodes READ CAPACITY(10) (SBC-4 §5.20). Byte 1
// bits 7-1, bytes 6-7 and byte 8 bits 7-1 are reserved; a LOGICAL BLOCK
// ADDRESS other than zero with PMI zero is INVALID FIELD IN CDB (SBC-3
// §5.15).
func ParseReadCapacity10(cdb []byte) (ReadCapacity10, error) {
	const op = OpReadCapacity10
	if err := checkCDB(cdb, op); err != nil {
		return ReadCapacity10{}, err
	}
	if err := reserved(cdb, op, 1, 0xfe); err != nil {
		return ReadCapacity10{}, err
	}
	if err := reservedBytes(cdb, op, 6, 8); err != nil {
		return ReadCapacity10{}, err
	}
	if err := reserved(cdb, op, 8, 0xfe); err != nil {
		return ReadCapacity10{}, err
	}
	c := ReadCapacity10{LBA: binary.BigEndian.Uint32(cdb[2:]), PMI: cdb[8]&1 != 0, Control: cdb[9]}
	if !c.PMI && c.LBA != 0 {
		return ReadCapacity10{}, cdbErr(op, "LOGICAL BLOCK ADDRESS", 2, -1)
	}
	return c, nil
}

// parseServiceActionIn16 checks a SERVICE ACTION IN(16) CDB for sa.
func parseServiceActionIn16(cdb []byte, sa ServiceAction) error {
	const op = OpServiceActionIn16
	if err := checkCDB(cdb, op); err != nil {
		return err
	}
	if got := ServiceAction(cdb[1] & 0x1f); got != sa {
		return cdbErr(op, "SERVICE ACTION", 1, 4)
	}
	return reserved(cdb, op, 1, 0xe0)
}

// ReadCapacity16 is the READ CAPACITY(16) CDB, SERVICE ACTION IN(16) with
// service action 10h (SBC-4 §5.21 table 119). LBA and PMI are obsolete in
// SBC-4.
type ReadCapacity16 struct {
	LBA              uint64 // LOGICAL BLOCK ADDRESS (obsolete)
	AllocationLength uint32 // ALLOCATION LENGTH
	PMI              bool   // PMI (obsolete)
	Control          byte
}

// OperationCode returns OpServiceActionIn16.
func (ReadCapacity16) OperationCode() OpCode { return OpServiceActionIn16 }

// Append appends the 16-byte CDB.
func (c ReadCapacity16) Append(dst []byte) ([]byte, error) {
	if !c.PMI && c.LBA != 0 {
		return dst, cdbErr(OpServiceActionIn16, "LOGICAL BLOCK ADDRESS", 2, -1)
	}
	dst, b := newCDB(dst, OpServiceActionIn16, 16)
	b[1] = byte(SAReadCapacity16)
	binary.BigEndian.PutUint64(b[2:], c.LBA)
	binary.BigEndian.PutUint32(b[10:], c.AllocationLength)
	b[14] = flag(c.PMI, 0x01)
	b[15] = c.Control
	return dst, nil
}

// ParseReadCapacity16 decodes READ CAPACITY(16) (SBC-4 §5.21): byte 1
// bits 7-5 and byte 14 bits 7-1 are reserved; a LOGICAL BLOCK ADDRESS with
// PMI zero is INVALID FIELD IN CDB.
func ParseReadCapacity16(cdb []byte) (ReadCapacity16, error) {
	const op = OpServiceActionIn16
	if err := parseServiceActionIn16(cdb, SAReadCapacity16); err != nil {
		return ReadCapacity16{}, err
	}
	if err := reserved(cdb, op, 14, 0xfe); err != nil {
		return ReadCapacity16{}, err
	}
	c := ReadCapacity16{LBA: binary.BigEndian.Uint64(cdb[2:]), AllocationLength: binary.BigEndian.Uint32(cdb[10:]), PMI: cdb[14]&1 != 0, Control: cdb[15]}
	if !c.PMI && c.LBA != 0 {
		return ReadCapacity16{}, cdbErr(op, "LOGICAL BLOCK ADDRESS", 2, -1)
	}
	return c, nil
}

// GetLBAStatus is the GET LBA STATUS CDB, SERVICE ACTION IN(16) with
// service action 12h (SBC-4 §5.5 table 43).
type GetLBAStatus struct {
	StartingLBA      uint64 // STARTING LOGICAL BLOCK ADDRESS
	AllocationLength uint32 // ALLOCATION LENGTH
	ReportType       uint8  // REPORT TYPE (SBC-4), 2 bits: 0 all, 1 non-zero, 2 mapped, 3 unmapped
	Control          byte
}

// OperationCode returns OpServiceActionIn16.
func (GetLBAStatus) OperationCode() OpCode { return OpServiceActionIn16 }

// Append appends the 16-byte CDB.
func (c GetLBAStatus) Append(dst []byte) ([]byte, error) {
	if c.ReportType > 3 {
		return dst, cdbErr(OpServiceActionIn16, "REPORT TYPE", 14, 1)
	}
	dst, b := newCDB(dst, OpServiceActionIn16, 16)
	b[1] = byte(SAGetLBAStatus)
	binary.BigEndian.PutUint64(b[2:], c.StartingLBA)
	binary.BigEndian.PutUint32(b[10:], c.AllocationLength)
	b[14] = c.ReportType
	b[15] = c.Control
	return dst, nil
}

// ParseGetLBAStatus decodes GET LBA STATUS (SBC-4 §5.5): byte 1 bits 7-5
// and byte 14 bits 7-2 are reserved.
func ParseGetLBAStatus(cdb []byte) (GetLBAStatus, error) {
	const op = OpServiceActionIn16
	if err := parseServiceActionIn16(cdb, SAGetLBAStatus); err != nil {
		return GetLBAStatus{}, err
	}
	if err := reserved(cdb, op, 14, 0xfc); err != nil {
		return GetLBAStatus{}, err
	}
	return GetLBAStatus{StartingLBA: binary.BigEndian.Uint64(cdb[2:]), AllocationLength: binary.BigEndian.Uint32(cdb[10:]), ReportType: cdb[14] & 3, Control: cdb[15]}, nil
}

// lbaRangeCDB is the shape shared by PRE-FETCH and SYNCHRONIZE CACHE: an
// IMMED bit, an LBA, a block count and a group number, in a 10- or 16-byte
// CDB (SBC-4 §5.10, §5.11, §5.39, §5.40).
type lbaRangeCDB struct {
	op      OpCode
	immed   bool
	lba     uint64
	blocks  uint32
	group   uint8
	control byte
}

// parseLBARange decodes a lbaRangeCDB for op10 or op16. byte1Reserved is
// the mask of byte 1 bits that are reserved.
func parseLBARange(cdb []byte, op10, op16 OpCode, byte1Reserved byte) (lbaRangeCDB, error) {
	var c lbaRangeCDB
	if len(cdb) == 0 {
		return c, shortCDB(op10, 10)
	}
	op := OpCode(cdb[0])
	if op != op10 && op != op16 {
		return c, wrongOp(op10, op)
	}
	if err := checkCDB(cdb, op); err != nil {
		return c, err
	}
	if err := reserved(cdb, op, 1, byte1Reserved); err != nil {
		return c, err
	}
	c.op, c.immed = op, cdb[1]&0x02 != 0
	gb := 6
	if op == op10 {
		c.lba = uint64(binary.BigEndian.Uint32(cdb[2:]))
		c.blocks = uint32(binary.BigEndian.Uint16(cdb[7:]))
		c.control = cdb[9]
	} else {
		c.lba = binary.BigEndian.Uint64(cdb[2:])
		c.blocks = binary.BigEndian.Uint32(cdb[10:])
		c.control = cdb[15]
		gb = 14
	}
	if err := reserved(cdb, op, gb, 0xc0); err != nil {
		return c, err
	}
	c.group = cdb[gb] & 0x3f
	if c.lba+uint64(c.blocks) < c.lba {
		return c, lbaRange(op)
	}
	return c, nil
}

func (c lbaRangeCDB) append(dst []byte, op10, op16 OpCode) ([]byte, error) {
	op := c.op
	if op != op10 && op != op16 {
		return dst, wrongOp(op10, op)
	}
	if c.group > 0x3f {
		gb := 14
		if op == op10 {
			gb = 6
		}
		return dst, cdbErr(op, "GROUP NUMBER", gb, -1)
	}
	if c.lba+uint64(c.blocks) < c.lba {
		return dst, lbaRange(op)
	}
	if op == op10 {
		if c.lba > 0xffffffff {
			return dst, cdbErr(op, "LOGICAL BLOCK ADDRESS", 2, -1)
		}
		if c.blocks > 0xffff {
			return dst, cdbErr(op, "NUMBER OF LOGICAL BLOCKS", 7, -1)
		}
		dst, b := newCDB(dst, op, 10)
		b[1] = flag(c.immed, 0x02)
		binary.BigEndian.PutUint32(b[2:], uint32(c.lba))
		b[6] = c.group
		binary.BigEndian.PutUint16(b[7:], uint16(c.blocks))
		b[9] = c.control
		return dst, nil
	}
	dst, b := newCDB(dst, op, 16)
	b[1] = flag(c.immed, 0x02)
	binary.BigEndian.PutUint64(b[2:], c.lba)
	binary.BigEndian.PutUint32(b[10:], c.blocks)
	b[14] = c.group
	b[15] = c.control
	return dst, nil
}

// SynchronizeCache is the SYNCHRONIZE CACHE(10) or (16) CDB (SBC-4 §5.39
// table 125, §5.40 table 126). NumberOfBlocks zero means every block from
// LBA to the end of the medium.
type SynchronizeCache struct {
	Op             OpCode // OpSynchronizeCache10 or OpSynchronizeCache16
	Immed          bool   // IMMED: return status once the CDB is checked
	LBA            uint64 // LOGICAL BLOCK ADDRESS
	NumberOfBlocks uint32 // NUMBER OF LOGICAL BLOCKS
	Group          uint8  // GROUP NUMBER, 6 bits
	Control        byte
}

// OperationCode returns c.Op.
func (c SynchronizeCache) OperationCode() OpCode { return c.Op }

// Append appends the 10- or 16-byte CDB.
func (c SynchronizeCache) Append(dst []byte) ([]byte, error) {
	return lbaRangeCDB{c.Op, c.Immed, c.LBA, c.NumberOfBlocks, c.Group, c.Control}.append(dst, OpSynchronizeCache10, OpSynchronizeCache16)
}

// ParseSynchronizeCache decodes SYNCHRONIZE CACHE(10) or (16) (SBC-4
// §5.39, §5.40). Byte 1 bits 7-3 are reserved; bit 2 (SYNC_NV) and, in
// the 10-byte form, bit 0 (RELADR) are obsolete and ignored; bit 0 of the
// 16-byte form is reserved.
func ParseSynchronizeCache(cdb []byte) (SynchronizeCache, error) {
	mask := byte(0xf8)
	if len(cdb) > 0 && OpCode(cdb[0]) == OpSynchronizeCache16 {
		mask = 0xf9
	}
	c, err := parseLBARange(cdb, OpSynchronizeCache10, OpSynchronizeCache16, mask)
	if err != nil {
		return SynchronizeCache{}, err
	}
	return SynchronizeCache{c.op, c.immed, c.lba, c.blocks, c.group, c.control}, nil
}

// PreFetch is the PRE-FETCH(10) or (16) CDB (SBC-4 §5.10 table 70, §5.11
// table 71). PrefetchLength zero means every block from LBA to the end of
// the medium.
type PreFetch struct {
	Op             OpCode // OpPreFetch10 or OpPreFetch16
	Immed          bool   // IMMED
	LBA            uint64 // LOGICAL BLOCK ADDRESS
	PrefetchLength uint32 // PREFETCH LENGTH
	Group          uint8  // GROUP NUMBER, 6 bits
	Control        byte
}

// OperationCode returns c.Op.
func (c PreFetch) OperationCode() OpCode { return c.Op }

// Append appends the 10- or 16-byte CDB.
func (c PreFetch) Append(dst []byte) ([]byte, error) {
	return lbaRangeCDB{c.Op, c.Immed, c.LBA, c.PrefetchLength, c.Group, c.Control}.append(dst, OpPreFetch10, OpPreFetch16)
}

// ParsePreFetch decodes PRE-FETCH(10) or (16) (SBC-4 §5.10, §5.11): byte
// 1 bits 7-2 are reserved; bit 0 is obsolete in the 10-byte form and
// reserved in the 16-byte form.
func ParsePreFetch(cdb []byte) (PreFetch, error) {
	mask := byte(0xfc)
	if len(cdb) > 0 && OpCode(cdb[0]) == OpPreFetch16 {
		mask = 0xfd
	}
	c, err := parseLBARange(cdb, OpPreFetch10, OpPreFetch16, mask)
	if err != nil {
		return PreFetch{}, err
	}
	return PreFetch{c.op, c.immed, c.lba, c.blocks, c.group, c.control}, nil
}

// DEFECT LIST FORMAT values (SBC-4 §6.2 table 171).
const (
	DefectFormatShortBlock             = 0x0 // short block format address descriptor
	DefectFormatExtendedBytesFromIndex = 0x1
	DefectFormatExtendedPhysicalSector = 0x2
	DefectFormatLongBlock              = 0x3 // long block format address descriptor
	DefectFormatBytesFromIndex         = 0x4
	DefectFormatPhysicalSector         = 0x5
	DefectFormatVendorSpecific         = 0x6
)

// ReadDefectData is the READ DEFECT DATA(10) or (12) CDB (SBC-4 §5.22
// table 114, §5.23 table 116).
type ReadDefectData struct {
	Op               OpCode // OpReadDefectData10 or OpReadDefectData12
	ReqPList         bool   // REQ_PLIST: return the primary defect list
	ReqGList         bool   // REQ_GLIST: return the grown defect list
	DefectListFormat uint8  // DEFECT LIST FORMAT, 3 bits
	// AddressDescriptorIndex is the ADDRESS DESCRIPTOR INDEX of the
	// 12-byte form.
	AddressDescriptorIndex uint32
	AllocationLength       uint32 // ALLOCATION LENGTH (16 bits in the 10-byte form)
	Control                byte
}

// OperationCode returns c.Op.
func (c ReadDefectData) OperationCode() OpCode { return c.Op }

// Append appends the 10- or 12-byte CDB.
func (c ReadDefectData) Append(dst []byte) ([]byte, error) {
	op := c.Op
	if c.DefectListFormat > 7 {
		return dst, cdbErr(op, "DEFECT LIST FORMAT", 2, 2)
	}
	b1 := flag(c.ReqPList, 0x10) | flag(c.ReqGList, 0x08) | c.DefectListFormat
	switch op {
	case OpReadDefectData10:
		if c.AddressDescriptorIndex != 0 {
			return dst, cdbErr(op, "ADDRESS DESCRIPTOR INDEX", 2, -1)
		}
		if c.AllocationLength > 0xffff {
			return dst, cdbErr(op, "ALLOCATION LENGTH", 7, -1)
		}
		dst, b := newCDB(dst, op, 10)
		b[2] = b1
		binary.BigEndian.PutUint16(b[7:], uint16(c.AllocationLength))
		b[9] = c.Control
		return dst, nil
	case OpReadDefectData12:
		dst, b := newCDB(dst, op, 12)
		b[1] = b1
		binary.BigEndian.PutUint32(b[2:], c.AddressDescriptorIndex)
		binary.BigEndian.PutUint32(b[6:], c.AllocationLength)
		b[11] = c.Control
		return dst, nil
	}
	return dst, wrongOp(OpReadDefectData10, op)
}

// ParseReadDefectData decodes READ DEFECT DATA(10) or (12) (SBC-4 §5.22,
// §5.23). In the 10-byte form byte 1, byte 2 bits 7-5 and bytes 3-6 are
// reserved; in the 12-byte form byte 1 bits 7-5 and byte 10.
func ParseReadDefectData(cdb []byte) (ReadDefectData, error) {
	if len(cdb) == 0 {
		return ReadDefectData{}, shortCDB(OpReadDefectData10, 10)
	}
	op := OpCode(cdb[0])
	var c ReadDefectData
	switch op {
	case OpReadDefectData10:
		if err := checkCDB(cdb, op); err != nil {
			return c, err
		}
		if err := reserved(cdb, op, 1, 0xff); err != nil {
			return c, err
		}
		if err := reserved(cdb, op, 2, 0xe0); err != nil {
			return c, err
		}
		if err := reservedBytes(cdb, op, 3, 7); err != nil {
			return c, err
		}
		c = ReadDefectData{Op: op, ReqPList: cdb[2]&0x10 != 0, ReqGList: cdb[2]&0x08 != 0, DefectListFormat: cdb[2] & 7,
			AllocationLength: uint32(binary.BigEndian.Uint16(cdb[7:])), Control: cdb[9]}
	case OpReadDefectData12:
		if err := checkCDB(cdb, op); err != nil {
			return c, err
		}
		if err := reserved(cdb, op, 1, 0xe0); err != nil {
			return c, err
		}
		if err := reserved(cdb, op, 10, 0xff); err != nil {
			return c, err
		}
		c = ReadDefectData{Op: op, ReqPList: cdb[1]&0x10 != 0, ReqGList: cdb[1]&0x08 != 0, DefectListFormat: cdb[1] & 7,
			AddressDescriptorIndex: binary.BigEndian.Uint32(cdb[2:]), AllocationLength: binary.BigEndian.Uint32(cdb[6:]), Control: cdb[11]}
	default:
		return c, wrongOp(OpReadDefectData10, op)
	}
	return c, nil
}

// AppendDefectDataHeader appends the READ DEFECT DATA parameter data
// header (SBC-4 §5.22.2 table 115 for the 10-byte form, 4 bytes; §5.23.2
// table 117 for the 12-byte form, 8 bytes): PLISTV, GLISTV, the DEFECT
// LIST FORMAT, the GENERATION CODE (12-byte form only) and the DEFECT LIST
// LENGTH in bytes. The address descriptors follow it.
func AppendDefectDataHeader(dst []byte, op OpCode, plistv, glistv bool, format uint8, generation uint16, listLength uint32) []byte {
	b1 := flag(plistv, 0x10) | flag(glistv, 0x08) | format&7
	if op == OpReadDefectData12 {
		dst = append(dst, 0, b1, byte(generation>>8), byte(generation))
		return binary.BigEndian.AppendUint32(dst, listLength)
	}
	return binary.BigEndian.AppendUint16(append(dst, 0, b1), uint16(min(listLength, 0xffff)))
}
