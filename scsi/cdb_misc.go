package scsi

import "encoding/binary"

// TestUnitReady is the TEST UNIT READY CDB (SPC-4 §6.47 table 226): bytes
// 1-4 reserved.
type TestUnitReady struct {
	Control byte
}

// OperationCode returns OpTestUnitReady.
func (TestUnitReady) OperationCode() OpCode { return OpTestUnitReady }

// Append appends the 6-byte CDB.
func (c TestUnitReady) Append(dst []byte) ([]byte, error) {
	dst, b := newCDB(dst, OpTestUnitReady, 6)
	b[5] = c.Control
	return dst, nil
}

// ParseTestUnitReady decodes TEST UNIT READY (SPC-4 §6.47).
func ParseTestUnitReady(cdb []byte) (TestUnitReady, error) {
	const op = OpTestUnitReady
	if err := checkCDB(cdb, op); err != nil {
		return TestUnitReady{}, err
	}
	if err := reservedBytes(cdb, op, 1, 5); err != nil {
		return TestUnitReady{}, err
	}
	return TestUnitReady{Control: cdb[5]}, nil
}

// RequestSense is the REQUEST SENSE CDB (SPC-4 §6.39 table 208).
type RequestSense struct {
	Desc             bool  // DESC: return descriptor format sense data
	AllocationLength uint8 // ALLOCATION LENGTH
	Control          byte
}

// OperationCode returns OpRequestSense.
func (RequestSense) OperationCode() OpCode { return OpRequestSense }

// Append appends the 6-byte CDB.
func (c RequestSense) Append(dst []byte) ([]byte, error) {
	dst, b := newCDB(dst, OpRequestSense, 6)
	b[1] = flag(c.Desc, 0x01)
	b[4] = c.AllocationLength
	b[5] = c.Control
	return dst, nil
}

// ParseRequestSense decodes REQUEST SENSE (SPC-4 §6.39): byte 1 bits 7-1
// and bytes 2-3 are reserved.
func ParseRequestSense(cdb []byte) (RequestSense, error) {
	const op = OpRequestSense
	if err := checkCDB(cdb, op); err != nil {
		return RequestSense{}, err
	}
	if err := reserved(cdb, op, 1, 0xfe); err != nil {
		return RequestSense{}, err
	}
	if err := reservedBytes(cdb, op, 2, 4); err != nil {
		return RequestSense{}, err
	}
	return RequestSense{Desc: cdb[1]&1 != 0, AllocationLength: cdb[4], Control: cdb[5]}, nil
}

// Inquiry is the INQUIRY CDB (SPC-4 §6.6.1 table 142).
type Inquiry struct {
	EVPD             bool   // EVPD: return the vital product data page PageCode
	PageCode         uint8  // PAGE CODE; zero when EVPD is zero
	AllocationLength uint16 // ALLOCATION LENGTH
	Control          byte
}

// OperationCode returns OpInquiry.
func (Inquiry) OperationCode() OpCode { return OpInquiry }

// Append appends the 6-byte CDB. A page code with EVPD zero is invalid
// (SPC-4 §6.6.1).
func (c Inquiry) Append(dst []byte) ([]byte, error) {
	if !c.EVPD && c.PageCode != 0 {
		return dst, cdbErr(OpInquiry, "PAGE CODE", 2, -1)
	}
	dst, b := newCDB(dst, OpInquiry, 6)
	b[1] = flag(c.EVPD, 0x01)
	b[2] = c.PageCode
	binary.BigEndian.PutUint16(b[3:], c.AllocationLength)
	b[5] = c.Control
	return dst, nil
}

// ParseInquiry decodes INQUIRY (SPC-4 §6.6.1). Byte 1 bits 7-2 are
// reserved; bit 1 is the CMDDT bit of SPC-2, obsolete since SPC-3, and a
// device server that does not support it rejects it with INVALID FIELD IN
// CDB, as this function does. A non-zero PAGE CODE with EVPD zero is
// INVALID FIELD IN CDB too (§6.6.1).
func ParseInquiry(cdb []byte) (Inquiry, error) {
	const op = OpInquiry
	if err := checkCDB(cdb, op); err != nil {
		return Inquiry{}, err
	}
	if cdb[1]&0x02 != 0 {
		return Inquiry{}, cdbErr(op, "CMDDT", 1, 1)
	}
	if err := reserved(cdb, op, 1, 0xfc); err != nil {
		return Inquiry{}, err
	}
	c := Inquiry{EVPD: cdb[1]&1 != 0, PageCode: cdb[2], AllocationLength: binary.BigEndian.Uint16(cdb[3:]), Control: cdb[5]}
	if !c.EVPD && c.PageCode != 0 {
		return Inquiry{}, cdbErr(op, "PAGE CODE", 2, -1)
	}
	return c, nil
}

// Power conditions of START STOP UNIT (SBC-4 §5.38 table 121).
const (
	PowerConditionStartValid    = 0x0 // process START and LOEJ
	PowerConditionActive        = 0x1
	PowerConditionIdle          = 0x2
	PowerConditionStandby       = 0x3
	PowerConditionLUControl     = 0x7 // LU_CONTROL: the logical unit chooses
	PowerConditionForceIdle0    = 0xa // FORCE_IDLE_0
	PowerConditionForceStandby0 = 0xb // FORCE_STANDBY_0
)

// StartStopUnit is the START STOP UNIT CDB (SBC-4 §5.38 table 120).
type StartStopUnit struct {
	Immed                  bool  // IMMED: return status before the operation ends
	PowerConditionModifier uint8 // POWER CONDITION MODIFIER, 4 bits
	PowerCondition         uint8 // POWER CONDITION, 4 bits
	NoFlush                bool  // NO_FLUSH: do not write the cache before stopping
	LoEj                   bool  // LOEJ: load (START one) or eject (START zero) the medium
	Start                  bool  // START: make the logical unit ready
	Control                byte
}

// OperationCode returns OpStartStopUnit.
func (StartStopUnit) OperationCode() OpCode { return OpStartStopUnit }

// Append appends the 6-byte CDB.
func (c StartStopUnit) Append(dst []byte) ([]byte, error) {
	const op = OpStartStopUnit
	if c.PowerConditionModifier > 0x0f {
		return dst, cdbErr(op, "POWER CONDITION MODIFIER", 3, 3)
	}
	if c.PowerCondition > 0x0f {
		return dst, cdbErr(op, "POWER CONDITION", 4, 7)
	}
	dst, b := newCDB(dst, op, 6)
	b[1] = flag(c.Immed, 0x01)
	b[3] = c.PowerConditionModifier
	b[4] = c.PowerCondition<<4 | flag(c.NoFlush, 0x04) | flag(c.LoEj, 0x02) | flag(c.Start, 0x01)
	b[5] = c.Control
	return dst, nil
}

// ParseStartStopUnit decodes START STOP UNIT (SBC-4 §5.38): byte 1 bits
// 7-1, byte 2, byte 3 bits 7-4 and byte 4 bit 3 are reserved.
func ParseStartStopUnit(cdb []byte) (StartStopUnit, error) {
	const op = OpStartStopUnit
	if err := checkCDB(cdb, op); err != nil {
		return StartStopUnit{}, err
	}
	for _, r := range [...]struct {
		i    int
		mask byte
	}{{1, 0xfe}, {2, 0xff}, {3, 0xf0}, {4, 0x08}} {
		if err := reserved(cdb, op, r.i, r.mask); err != nil {
			return StartStopUnit{}, err
		}
	}
	return StartStopUnit{
		Immed:                  cdb[1]&1 != 0,
		PowerConditionModifier: cdb[3] & 0x0f,
		PowerCondition:         cdb[4] >> 4,
		NoFlush:                cdb[4]&0x04 != 0,
		LoEj:                   cdb[4]&0x02 != 0,
		Start:                  cdb[4]&0x01 != 0,
		Control:                cdb[5],
	}, nil
}

// PREVENT field values (SPC-4 §6.15 table 167; SBC-4 §5.13).
const (
	PreventAllowed             = 0 // medium removal allowed
	PreventMediumRemoval       = 1 // medium removal prevented
	PreventChangerObsolete     = 2 // obsolete
	PreventChangerObsoleteBoth = 3 // obsolete
)

// PreventAllowMediumRemoval is the PREVENT ALLOW MEDIUM REMOVAL CDB
// (SPC-4 §6.15 table 166).
type PreventAllowMediumRemoval struct {
	Prevent uint8 // PREVENT, 2 bits
	Control byte
}

// OperationCode returns OpPreventAllowMediumRemoval.
func (PreventAllowMediumRemoval) OperationCode() OpCode { return OpPreventAllowMediumRemoval }

// Append appends the 6-byte CDB.
func (c PreventAllowMediumRemoval) Append(dst []byte) ([]byte, error) {
	if c.Prevent > 3 {
		return dst, cdbErr(OpPreventAllowMediumRemoval, "PREVENT", 4, 1)
	}
	dst, b := newCDB(dst, OpPreventAllowMediumRemoval, 6)
	b[4] = c.Prevent
	b[5] = c.Control
	return dst, nil
}

// ParsePreventAllowMediumRemoval decodes PREVENT ALLOW MEDIUM REMOVAL
// (SPC-4 §6.15): bytes 1-3 and byte 4 bits 7-2 are reserved.
func ParsePreventAllowMediumRemoval(cdb []byte) (PreventAllowMediumRemoval, error) {
	const op = OpPreventAllowMediumRemoval
	if err := checkCDB(cdb, op); err != nil {
		return PreventAllowMediumRemoval{}, err
	}
	if err := reservedBytes(cdb, op, 1, 4); err != nil {
		return PreventAllowMediumRemoval{}, err
	}
	if err := reserved(cdb, op, 4, 0xfc); err != nil {
		return PreventAllowMediumRemoval{}, err
	}
	return PreventAllowMediumRemoval{Prevent: cdb[4] & 3, Control: cdb[5]}, nil
}

// SELECT REPORT values of REPORT LUNS (SPC-4 §6.33 table 199, SPC-5).
const (
	SelectReportLogicalUnits      = 0x00 // logical units, no well-known LUNs
	SelectReportWellKnown         = 0x01 // well-known logical units only
	SelectReportAll               = 0x02 // all logical units
	SelectReportAdministrative    = 0x10 // SPC-5: administrative logical units
	SelectReportAdministrativeSub = 0x11 // SPC-5: subsidiary units of an administrative unit
	SelectReportSubsidiary        = 0x12 // SPC-5: subsidiary logical units
)

// ReportLUNs is the REPORT LUNS CDB (SPC-4 §6.33 table 198).
type ReportLUNs struct {
	SelectReport     uint8  // SELECT REPORT
	AllocationLength uint32 // ALLOCATION LENGTH
	Control          byte
}

// OperationCode returns OpReportLUNs.
func (ReportLUNs) OperationCode() OpCode { return OpReportLUNs }

// Append appends the 12-byte CDB.
func (c ReportLUNs) Append(dst []byte) ([]byte, error) {
	dst, b := newCDB(dst, OpReportLUNs, 12)
	b[2] = c.SelectReport
	binary.BigEndian.PutUint32(b[6:], c.AllocationLength)
	b[11] = c.Control
	return dst, nil
}

// ParseReportLUNs decodes REPORT LUNS (SPC-4 §6.33): bytes 1, 3-5 and 10
// are reserved. It accepts any SELECT REPORT value; a logical unit rejects
// the ones it does not support with INVALID FIELD IN CDB at byte 2. SPC-3
// required an ALLOCATION LENGTH of at least 16; SPC-4 dropped the rule, and
// so does this function.
func ParseReportLUNs(cdb []byte) (ReportLUNs, error) {
	const op = OpReportLUNs
	if err := checkCDB(cdb, op); err != nil {
		return ReportLUNs{}, err
	}
	for _, i := range [...]int{1, 3, 4, 5, 10} {
		if err := reserved(cdb, op, i, 0xff); err != nil {
			return ReportLUNs{}, err
		}
	}
	return ReportLUNs{SelectReport: cdb[2], AllocationLength: binary.BigEndian.Uint32(cdb[6:]), Control: cdb[11]}, nil
}

// ReserveRelease is the RESERVE(6), RELEASE(6), RESERVE(10) or RELEASE(10)
// CDB (SPC-2 §7.19-§7.22; obsolete since SPC-3, but still sent by
// initiators that predate persistent reservations). Only the
// logical-unit reservations of SPC-2 remain: the obsolete extent bits
// and reservation identification are reserved here.
type ReserveRelease struct {
	Op                 OpCode // OpReserve6, OpRelease6, OpReserve10 or OpRelease10
	ThirdParty         bool   // 3RDPTY: reserve for another initiator
	ThirdPartyDeviceID uint8  // THIRD-PARTY DEVICE ID (3 bits in the 6-byte forms, a byte in the 10-byte forms)
	LongID             bool   // LONGID: the device ID is in the parameter list (10-byte forms)
	// ParameterListLength is the PARAMETER LIST LENGTH of the 10-byte
	// forms (8 with LONGID one).
	ParameterListLength uint16
	Control             byte
}

// OperationCode returns c.Op.
func (c ReserveRelease) OperationCode() OpCode { return c.Op }

// Append appends the 6- or 10-byte CDB.
func (c ReserveRelease) Append(dst []byte) ([]byte, error) {
	op := c.Op
	switch op {
	case OpReserve6, OpRelease6:
		switch {
		case c.ThirdPartyDeviceID > 7:
			return dst, cdbErr(op, "THIRD-PARTY DEVICE ID", 1, 3)
		case c.LongID:
			return dst, cdbErr(op, "LONGID", 1, 1)
		case c.ParameterListLength != 0:
			return dst, cdbErr(op, "PARAMETER LIST LENGTH", 3, -1)
		}
		dst, b := newCDB(dst, op, 6)
		b[1] = flag(c.ThirdParty, 0x10) | c.ThirdPartyDeviceID<<1
		b[5] = c.Control
		return dst, nil
	case OpReserve10, OpRelease10:
		dst, b := newCDB(dst, op, 10)
		b[1] = flag(c.ThirdParty, 0x10) | flag(c.LongID, 0x02)
		b[3] = c.ThirdPartyDeviceID
		binary.BigEndian.PutUint16(b[7:], c.ParameterListLength)
		b[9] = c.Control
		return dst, nil
	}
	return dst, wrongOp(OpReserve6, op)
}

// ParseReserveRelease decodes RESERVE(6), RELEASE(6), RESERVE(10) and
// RELEASE(10) (SPC-2 §7.19-§7.22). It rejects the obsolete EXTENT bit and
// the reservation identification byte, and in the 6-byte forms the
// obsolete LUN bits (byte 1 bits 7-5) and the extent list length.
func ParseReserveRelease(cdb []byte) (ReserveRelease, error) {
	if len(cdb) == 0 {
		return ReserveRelease{}, shortCDB(OpReserve6, 6)
	}
	op := OpCode(cdb[0])
	var c ReserveRelease
	switch op {
	case OpReserve6, OpRelease6:
		if err := checkCDB(cdb, op); err != nil {
			return c, err
		}
		if err := reserved(cdb, op, 1, 0xe1); err != nil {
			return c, err
		}
		if err := reservedBytes(cdb, op, 2, 5); err != nil {
			return c, err
		}
		c = ReserveRelease{Op: op, ThirdParty: cdb[1]&0x10 != 0, ThirdPartyDeviceID: cdb[1] >> 1 & 7, Control: cdb[5]}
	case OpReserve10, OpRelease10:
		if err := checkCDB(cdb, op); err != nil {
			return c, err
		}
		if err := reserved(cdb, op, 1, 0xed); err != nil {
			return c, err
		}
		if err := reserved(cdb, op, 2, 0xff); err != nil {
			return c, err
		}
		if err := reservedBytes(cdb, op, 4, 7); err != nil {
			return c, err
		}
		c = ReserveRelease{Op: op, ThirdParty: cdb[1]&0x10 != 0, LongID: cdb[1]&0x02 != 0, ThirdPartyDeviceID: cdb[3],
			ParameterListLength: binary.BigEndian.Uint16(cdb[7:]), Control: cdb[9]}
	default:
		return c, wrongOp(OpReserve6, op)
	}
	return c, nil
}
