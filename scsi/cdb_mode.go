package scsi

import "encoding/binary"

// PageControl is the PC field of MODE SENSE (SPC-4 §6.13 table 170): which
// values of the mode parameters to return.
type PageControl uint8

// SPC-4 §6.13 table 170: page control values.
const (
	PageControlCurrent    PageControl = 0 // current values
	PageControlChangeable PageControl = 1 // changeable values: a mask of the bits MODE SELECT may change
	PageControlDefault    PageControl = 2 // default values
	PageControlSaved      PageControl = 3 // saved values
)

// String returns the name of the page control value.
func (pc PageControl) String() string {
	switch pc {
	case PageControlCurrent:
		return "current"
	case PageControlChangeable:
		return "changeable"
	case PageControlDefault:
		return "default"
	case PageControlSaved:
		return "saved"
	}
	return "PC 0x" + hex2(uint8(pc))
}

// ModeSense is the MODE SENSE(6) or (10) CDB (SPC-4 §6.13 table 169,
// §6.14 table 172).
type ModeSense struct {
	Op               OpCode      // OpModeSense6 or OpModeSense10
	LLBAA            bool        // LLBAA: long LBA block descriptors allowed (10-byte form only)
	DBD              bool        // DBD: disable block descriptors
	PC               PageControl // PC
	PageCode         uint8       // PAGE CODE, 6 bits; 0x3F returns all pages
	SubpageCode      uint8       // SUBPAGE CODE; 0xFF returns all subpages
	AllocationLength uint16      // ALLOCATION LENGTH (8 bits in the 6-byte form)
	Control          byte
}

// OperationCode returns c.Op.
func (c ModeSense) OperationCode() OpCode { return c.Op }

// Append appends the 6- or 10-byte CDB.
func (c ModeSense) Append(dst []byte) ([]byte, error) {
	op := c.Op
	switch {
	case op != OpModeSense6 && op != OpModeSense10:
		return dst, wrongOp(OpModeSense6, op)
	case c.PC > 3:
		return dst, cdbErr(op, "PC", 2, 7)
	case c.PageCode > 0x3f:
		return dst, cdbErr(op, "PAGE CODE", 2, 5)
	}
	b2 := byte(c.PC)<<6 | c.PageCode
	if op == OpModeSense6 {
		if c.LLBAA {
			return dst, cdbErr(op, "LLBAA", 1, 4)
		}
		if c.AllocationLength > 0xff {
			return dst, cdbErr(op, "ALLOCATION LENGTH", 4, -1)
		}
		dst, b := newCDB(dst, op, 6)
		b[1] = flag(c.DBD, 0x08)
		b[2], b[3], b[4], b[5] = b2, c.SubpageCode, byte(c.AllocationLength), c.Control
		return dst, nil
	}
	dst, b := newCDB(dst, op, 10)
	b[1] = flag(c.LLBAA, 0x10) | flag(c.DBD, 0x08)
	b[2], b[3] = b2, c.SubpageCode
	binary.BigEndian.PutUint16(b[7:], c.AllocationLength)
	b[9] = c.Control
	return dst, nil
}

// ParseModeSense decodes MODE SENSE(6) or (10) (SPC-4 §6.13, §6.14). In
// the 6-byte form byte 1 bits 7-4 and 2-0 are reserved; in the 10-byte
// form byte 1 bits 7-5 and 2-0 and bytes 4-6.
func ParseModeSense(cdb []byte) (ModeSense, error) {
	if len(cdb) == 0 {
		return ModeSense{}, shortCDB(OpModeSense6, 6)
	}
	op := OpCode(cdb[0])
	if op != OpModeSense6 && op != OpModeSense10 {
		return ModeSense{}, wrongOp(OpModeSense6, op)
	}
	if err := checkCDB(cdb, op); err != nil {
		return ModeSense{}, err
	}
	c := ModeSense{Op: op, DBD: cdb[1]&0x08 != 0, PC: PageControl(cdb[2] >> 6), PageCode: cdb[2] & 0x3f, SubpageCode: cdb[3]}
	if op == OpModeSense6 {
		if err := reserved(cdb, op, 1, 0xf7); err != nil {
			return ModeSense{}, err
		}
		c.AllocationLength, c.Control = uint16(cdb[4]), cdb[5]
		return c, nil
	}
	if err := reserved(cdb, op, 1, 0xe7); err != nil {
		return ModeSense{}, err
	}
	if err := reservedBytes(cdb, op, 4, 7); err != nil {
		return ModeSense{}, err
	}
	c.LLBAA = cdb[1]&0x10 != 0
	c.AllocationLength, c.Control = binary.BigEndian.Uint16(cdb[7:]), cdb[9]
	return c, nil
}

// ModeSelect is the MODE SELECT(6) or (10) CDB (SPC-4 §6.11 table 163,
// §6.12 table 164).
type ModeSelect struct {
	Op                  OpCode // OpModeSelect6 or OpModeSelect10
	PF                  bool   // PF: the pages follow the page format of SPC-4
	SP                  bool   // SP: save the pages
	ParameterListLength uint16 // PARAMETER LIST LENGTH (8 bits in the 6-byte form)
	Control             byte
}

// OperationCode returns c.Op.
func (c ModeSelect) OperationCode() OpCode { return c.Op }

// Append appends the 6- or 10-byte CDB.
func (c ModeSelect) Append(dst []byte) ([]byte, error) {
	op := c.Op
	b1 := flag(c.PF, 0x10) | flag(c.SP, 0x01)
	switch op {
	case OpModeSelect6:
		if c.ParameterListLength > 0xff {
			return dst, cdbErr(op, "PARAMETER LIST LENGTH", 4, -1)
		}
		dst, b := newCDB(dst, op, 6)
		b[1], b[4], b[5] = b1, byte(c.ParameterListLength), c.Control
		return dst, nil
	case OpModeSelect10:
		dst, b := newCDB(dst, op, 10)
		b[1] = b1
		binary.BigEndian.PutUint16(b[7:], c.ParameterListLength)
		b[9] = c.Control
		return dst, nil
	}
	return dst, wrongOp(OpModeSelect6, op)
}

// ParseModeSelect decodes MODE SELECT(6) or (10) (SPC-4 §6.11, §6.12):
// byte 1 bits 7-5 and 3-1 are reserved (bit 1 is RTD in SPC-5, which this
// package does not support), and bytes 2-3 of the 6-byte form and 2-6 of
// the 10-byte form.
func ParseModeSelect(cdb []byte) (ModeSelect, error) {
	if len(cdb) == 0 {
		return ModeSelect{}, shortCDB(OpModeSelect6, 6)
	}
	op := OpCode(cdb[0])
	if op != OpModeSelect6 && op != OpModeSelect10 {
		return ModeSelect{}, wrongOp(OpModeSelect6, op)
	}
	if err := checkCDB(cdb, op); err != nil {
		return ModeSelect{}, err
	}
	if err := reserved(cdb, op, 1, 0xee); err != nil {
		return ModeSelect{}, err
	}
	c := ModeSelect{Op: op, PF: cdb[1]&0x10 != 0, SP: cdb[1]&0x01 != 0}
	if op == OpModeSelect6 {
		if err := reservedBytes(cdb, op, 2, 4); err != nil {
			return ModeSelect{}, err
		}
		c.ParameterListLength, c.Control = uint16(cdb[4]), cdb[5]
		return c, nil
	}
	if err := reservedBytes(cdb, op, 2, 7); err != nil {
		return ModeSelect{}, err
	}
	c.ParameterListLength, c.Control = binary.BigEndian.Uint16(cdb[7:]), cdb[9]
	return c, nil
}
