package scsi

import "encoding/binary"

// ReadWrite is a CDB of the READ, WRITE, VERIFY and WRITE AND VERIFY
// families, in all their lengths (SBC-4 §5.14-§5.17 READ(6/10/12/16),
// §5.41-§5.44 WRITE(6/10/12/16), §5.38-§5.40 VERIFY(10/12/16), §5.45-§5.47
// WRITE AND VERIFY(10/12/16)). One type serves them all, so a logical
// unit decodes any of them with one call to [ParseReadWrite] and reads
// the fields without caring which length the initiator chose.
//
// Decoding checks the bits SBC-4 calls reserved (byte 1 bits 7-5 of the
// 6-byte forms; the FUA position of VERIFY and WRITE AND VERIFY; bit 2 of
// byte 1 for WRITE; bits 7-6 of the GROUP NUMBER byte of the 10-byte
// forms and bit 6 of the 12-byte forms) and ignores the obsolete bits
// (FUA_NV, RELADR) and the command duration limit bits (DLD) of the
// 16-byte forms.
type ReadWrite struct {
	Op  OpCode // which command: OpRead6 ... OpWriteAndVerify16
	LBA uint64 // LOGICAL BLOCK ADDRESS

	// TransferLength is the TRANSFER LENGTH (VERIFICATION LENGTH for
	// VERIFY) in logical blocks. For READ(6) and WRITE(6) a zero on the
	// wire means 256 blocks (SBC-4 §5.14), and ParseReadWrite returns 256.
	TransferLength uint32

	// Protect is RDPROTECT, WRPROTECT or VRPROTECT (byte 1 bits 7-5): the
	// protection information checks of SBC-4 §4.22. Zero in the 6-byte
	// forms, which have no such field.
	Protect uint8

	DPO  bool // disable page out: keep no cached copy (SBC-4 §5.15)
	FUA  bool // force unit access: go to the medium (READ, WRITE only)
	RARC bool // rebuild assist recovery control (READ only, SBC-4 §4.18.3)

	// BytChk is the BYTCHK field of VERIFY and WRITE AND VERIFY (SBC-4
	// §5.38 table 99): 0 verify the medium only, 1 compare with the
	// Data-Out buffer, 3 compare each block with one block of Data-Out.
	BytChk uint8

	// Group is the GROUP NUMBER (SBC-4 §4.21), six bits; zero in the
	// 6-byte forms.
	Group   uint8
	Control byte // CONTROL (SAM-5 §5.2)
}

// rwKind classifies the read/write family operation codes.
type rwKind uint8

const (
	rwNone rwKind = iota
	rwRead
	rwWrite
	rwVerify
	rwWriteVerify
)

func rwKindOf(op OpCode) rwKind {
	switch op {
	case OpRead6, OpRead10, OpRead12, OpRead16:
		return rwRead
	case OpWrite6, OpWrite10, OpWrite12, OpWrite16:
		return rwWrite
	case OpVerify10, OpVerify12, OpVerify16:
		return rwVerify
	case OpWriteAndVerify10, OpWriteAndVerify12, OpWriteAndVerify16:
		return rwWriteVerify
	}
	return rwNone
}

// NewReadWrite returns READ(10) or WRITE(10) of blocks logical blocks at
// lba when the range fits their 32-bit LOGICAL BLOCK ADDRESS and 16-bit
// TRANSFER LENGTH, READ(16) or WRITE(16) otherwise (SBC-4 §5.15, §5.17,
// §5.42, §5.44).
func NewReadWrite(write bool, lba uint64, blocks uint32) ReadWrite {
	op10, op16 := OpRead10, OpRead16
	if write {
		op10, op16 = OpWrite10, OpWrite16
	}
	if lba+uint64(blocks) <= 1<<32 && blocks <= 0xffff {
		return ReadWrite{Op: op10, LBA: lba, TransferLength: blocks}
	}
	return ReadWrite{Op: op16, LBA: lba, TransferLength: blocks}
}

// IsReadWrite reports whether [ParseReadWrite] decodes op.
func IsReadWrite(op OpCode) bool { return rwKindOf(op) != rwNone }

// OperationCode returns rw.Op.
func (rw ReadWrite) OperationCode() OpCode { return rw.Op }

// DataOut reports whether the command carries Data-Out (WRITE, WRITE AND
// VERIFY, and VERIFY with BYTCHK non-zero).
func (rw ReadWrite) DataOut() bool {
	switch rwKindOf(rw.Op) {
	case rwWrite, rwWriteVerify:
		return true
	case rwVerify:
		return rw.BytChk != 0
	}
	return false
}

// DataIn reports whether the command returns Data-In (READ).
func (rw ReadWrite) DataIn() bool { return rwKindOf(rw.Op) == rwRead }

// ParseReadWrite decodes a CDB of the READ, WRITE, VERIFY or WRITE AND
// VERIFY families, 6, 10, 12 or 16 bytes long (SBC-4 §5). cdb may be
// longer than the command (iSCSI carries at least 16 bytes). It rejects a
// LOGICAL BLOCK ADDRESS plus TRANSFER LENGTH above 2^64 with LOGICAL BLOCK
// ADDRESS OUT OF RANGE; whether the range fits the medium is the logical
// unit's check. Errors are *CDBError.
func ParseReadWrite(cdb []byte) (ReadWrite, error) {
	var rw ReadWrite
	if len(cdb) == 0 {
		return rw, shortCDB(OpRead10, 1)
	}
	op := OpCode(cdb[0])
	kind := rwKindOf(op)
	if kind == rwNone {
		return rw, wrongOp(OpRead10, op)
	}
	n := op.CDBLength()
	if len(cdb) < n {
		return rw, shortCDB(op, n)
	}
	rw.Op = op
	if n == 6 {
		if cdb[1]&0xe0 != 0 {
			return rw, cdbErr(op, "reserved", 1, bitOf(cdb[1]&0xe0))
		}
		rw.LBA = uint64(cdb[1]&0x1f)<<16 | uint64(binary.BigEndian.Uint16(cdb[2:]))
		rw.TransferLength = uint32(cdb[4])
		if rw.TransferLength == 0 {
			rw.TransferLength = 256
		}
		rw.Control = cdb[5]
		return rw, nil
	}
	b1 := cdb[1]
	rw.Protect = b1 >> 5
	rw.DPO = b1&0x10 != 0
	switch kind {
	case rwRead:
		rw.FUA = b1&0x08 != 0
		rw.RARC = b1&0x04 != 0
	case rwWrite:
		rw.FUA = b1&0x08 != 0
		if b1&0x04 != 0 {
			return rw, cdbErr(op, "reserved", 1, 2)
		}
	case rwVerify, rwWriteVerify:
		if b1&0x08 != 0 {
			return rw, cdbErr(op, "reserved", 1, 3)
		}
		rw.BytChk = b1 >> 1 & 0x03
	}
	var gb int
	switch n {
	case 10:
		rw.LBA = uint64(binary.BigEndian.Uint32(cdb[2:]))
		rw.TransferLength = uint32(binary.BigEndian.Uint16(cdb[7:]))
		gb = 6
		if cdb[gb]&0xc0 != 0 {
			return rw, cdbErr(op, "reserved", gb, bitOf(cdb[gb]&0xc0))
		}
	case 12:
		rw.LBA = uint64(binary.BigEndian.Uint32(cdb[2:]))
		rw.TransferLength = binary.BigEndian.Uint32(cdb[6:])
		gb = 10
		if cdb[gb]&0x40 != 0 {
			return rw, cdbErr(op, "reserved", gb, 6)
		}
	case 16:
		rw.LBA = binary.BigEndian.Uint64(cdb[2:])
		rw.TransferLength = binary.BigEndian.Uint32(cdb[10:])
		gb = 14
	}
	rw.Group = cdb[gb] & 0x3f
	rw.Control = cdb[n-1]
	if rw.LBA+uint64(rw.TransferLength) < rw.LBA {
		return rw, lbaRange(op)
	}
	return rw, nil
}

// Append appends the CDB to dst. It returns a *CDBError, with the field
// pointer at the field that cannot hold its value, when a field is out of
// range for the chosen length (an LBA above 2^21-1 for READ(6), a
// TRANSFER LENGTH above 65535 for a 10-byte form, a zero TRANSFER LENGTH
// for READ(6), which cannot express it), or set for a command that lacks
// it (FUA in VERIFY, BYTCHK in READ).
func (rw ReadWrite) Append(dst []byte) ([]byte, error) {
	op := rw.Op
	kind := rwKindOf(op)
	if kind == rwNone {
		return dst, wrongOp(OpRead10, op)
	}
	n := op.CDBLength()
	if n == 6 {
		switch {
		case rw.LBA > 0x1fffff:
			return dst, cdbErr(op, "LOGICAL BLOCK ADDRESS", 1, 4)
		case rw.TransferLength == 0 || rw.TransferLength > 256:
			return dst, cdbErr(op, "TRANSFER LENGTH", 4, -1)
		case rw.Protect != 0 || rw.DPO || rw.FUA || rw.RARC || rw.BytChk != 0:
			return dst, cdbErr(op, "reserved", 1, 7)
		case rw.Group != 0:
			return dst, cdbErr(op, "GROUP NUMBER", 5, -1)
		}
		return append(dst, byte(op), byte(rw.LBA>>16), byte(rw.LBA>>8), byte(rw.LBA),
			byte(rw.TransferLength), rw.Control), nil
	}
	if rw.Protect > 7 {
		return dst, cdbErr(op, "PROTECT", 1, 7)
	}
	b1 := rw.Protect << 5
	if rw.DPO {
		b1 |= 0x10
	}
	if rw.FUA {
		if kind == rwVerify || kind == rwWriteVerify {
			return dst, cdbErr(op, "FUA", 1, 3)
		}
		b1 |= 0x08
	}
	if rw.RARC {
		if kind != rwRead {
			return dst, cdbErr(op, "RARC", 1, 2)
		}
		b1 |= 0x04
	}
	if rw.BytChk != 0 {
		if (kind != rwVerify && kind != rwWriteVerify) || rw.BytChk > 3 {
			return dst, cdbErr(op, "BYTCHK", 1, 2)
		}
		b1 |= rw.BytChk << 1
	}
	if rw.LBA+uint64(rw.TransferLength) < rw.LBA {
		return dst, lbaRange(op)
	}
	switch n {
	case 10:
		if rw.LBA > 0xffffffff {
			return dst, cdbErr(op, "LOGICAL BLOCK ADDRESS", 2, -1)
		}
		if rw.TransferLength > 0xffff {
			return dst, cdbErr(op, "TRANSFER LENGTH", 7, -1)
		}
	case 12:
		if rw.LBA > 0xffffffff {
			return dst, cdbErr(op, "LOGICAL BLOCK ADDRESS", 2, -1)
		}
	}
	gb := n - 2 // GROUP NUMBER: byte 6 of 10, byte 10 of 12, byte 14 of 16
	if n == 10 {
		gb = 6
	}
	if rw.Group > 0x3f {
		return dst, cdbErr(op, "GROUP NUMBER", gb, -1)
	}
	i := len(dst)
	dst = append(dst, make([]byte, n)...)
	b := dst[i:]
	b[0], b[1] = byte(op), b1
	switch n {
	case 10:
		binary.BigEndian.PutUint32(b[2:], uint32(rw.LBA))
		binary.BigEndian.PutUint16(b[7:], uint16(rw.TransferLength))
	case 12:
		binary.BigEndian.PutUint32(b[2:], uint32(rw.LBA))
		binary.BigEndian.PutUint32(b[6:], rw.TransferLength)
	case 16:
		binary.BigEndian.PutUint64(b[2:], rw.LBA)
		binary.BigEndian.PutUint32(b[10:], rw.TransferLength)
	}
	b[gb] = rw.Group
	b[n-1] = rw.Control
	return dst, nil
}
