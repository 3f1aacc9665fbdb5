package scsi

import (
	"encoding/binary"
	"iter"
)

// PERSISTENT RESERVE IN service actions (SPC-4 §6.16.1 table 173).
const (
	PRInReadKeys           ServiceAction = 0x00 // READ KEYS
	PRInReadReservation    ServiceAction = 0x01 // READ RESERVATION
	PRInReportCapabilities ServiceAction = 0x02 // REPORT CAPABILITIES
	PRInReadFullStatus     ServiceAction = 0x03 // READ FULL STATUS
)

// PERSISTENT RESERVE OUT service actions (SPC-4 §6.17.1 table 186).
const (
	PROutRegister                     ServiceAction = 0x00 // REGISTER
	PROutReserve                      ServiceAction = 0x01 // RESERVE
	PROutRelease                      ServiceAction = 0x02 // RELEASE
	PROutClear                        ServiceAction = 0x03 // CLEAR
	PROutPreempt                      ServiceAction = 0x04 // PREEMPT
	PROutPreemptAndAbort              ServiceAction = 0x05 // PREEMPT AND ABORT
	PROutRegisterAndIgnoreExistingKey ServiceAction = 0x06 // REGISTER AND IGNORE EXISTING KEY
	PROutRegisterAndMove              ServiceAction = 0x07 // REGISTER AND MOVE
	PROutReplaceLostReservation       ServiceAction = 0x08 // REPLACE LOST RESERVATION (SPC-5)
)

// ReservationType is the TYPE of a persistent reservation (SPC-4
// §6.16.3.3 table 179).
type ReservationType uint8

// SPC-4 §6.16.3.3 table 179: persistent reservation types.
const (
	WriteExclusive                 ReservationType = 0x1 // Write Exclusive
	ExclusiveAccess                ReservationType = 0x3 // Exclusive Access
	WriteExclusiveRegistrantsOnly  ReservationType = 0x5 // Write Exclusive – Registrants Only
	ExclusiveAccessRegistrantsOnly ReservationType = 0x6 // Exclusive Access – Registrants Only
	WriteExclusiveAllRegistrants   ReservationType = 0x7 // Write Exclusive – All Registrants
	ExclusiveAccessAllRegistrants  ReservationType = 0x8 // Exclusive Access – All Registrants
)

// String returns the SPC-4 name of the type.
func (t ReservationType) String() string {
	switch t {
	case WriteExclusive:
		return "Write Exclusive"
	case ExclusiveAccess:
		return "Exclusive Access"
	case WriteExclusiveRegistrantsOnly:
		return "Write Exclusive - Registrants Only"
	case ExclusiveAccessRegistrantsOnly:
		return "Exclusive Access - Registrants Only"
	case WriteExclusiveAllRegistrants:
		return "Write Exclusive - All Registrants"
	case ExclusiveAccessAllRegistrants:
		return "Exclusive Access - All Registrants"
	}
	return "TYPE 0x" + hex2(uint8(t))
}

// Valid reports whether t is one of the types of table 179.
func (t ReservationType) Valid() bool {
	switch t {
	case WriteExclusive, ExclusiveAccess, WriteExclusiveRegistrantsOnly, ExclusiveAccessRegistrantsOnly,
		WriteExclusiveAllRegistrants, ExclusiveAccessAllRegistrants:
		return true
	}
	return false
}

// ScopeLU is the only persistent reservation SCOPE SPC-4 keeps:
// LU_SCOPE, the whole logical unit (§6.16.3.2 table 178).
const ScopeLU = 0x0

// PersistentReserveIn is the PERSISTENT RESERVE IN CDB (SPC-4 §6.16.1
// table 172).
type PersistentReserveIn struct {
	ServiceAction    ServiceAction // PRInReadKeys ... PRInReadFullStatus
	AllocationLength uint16        // ALLOCATION LENGTH
	Control          byte
}

// OperationCode returns OpPersistentReserveIn.
func (PersistentReserveIn) OperationCode() OpCode { return OpPersistentReserveIn }

// Append appends the 10-byte CDB.
func (c PersistentReserveIn) Append(dst []byte) ([]byte, error) {
	if c.ServiceAction > 0x1f {
		return dst, cdbErr(OpPersistentReserveIn, "SERVICE ACTION", 1, 4)
	}
	dst, b := newCDB(dst, OpPersistentReserveIn, 10)
	b[1] = byte(c.ServiceAction)
	binary.BigEndian.PutUint16(b[7:], c.AllocationLength)
	b[9] = c.Control
	return dst, nil
}

// ParsePersistentReserveIn decodes PERSISTENT RESERVE IN (SPC-4 §6.16.1):
// byte 1 bits 7-5 and bytes 2-6 are reserved; a service action outside
// table 173 is INVALID FIELD IN CDB at byte 1.
func ParsePersistentReserveIn(cdb []byte) (PersistentReserveIn, error) {
	const op = OpPersistentReserveIn
	if err := checkCDB(cdb, op); err != nil {
		return PersistentReserveIn{}, err
	}
	if err := reserved(cdb, op, 1, 0xe0); err != nil {
		return PersistentReserveIn{}, err
	}
	if err := reservedBytes(cdb, op, 2, 7); err != nil {
		return PersistentReserveIn{}, err
	}
	c := PersistentReserveIn{ServiceAction: ServiceAction(cdb[1] & 0x1f), AllocationLength: binary.BigEndian.Uint16(cdb[7:]), Control: cdb[9]}
	if c.ServiceAction > PRInReadFullStatus {
		return PersistentReserveIn{}, cdbErr(op, "SERVICE ACTION", 1, 4)
	}
	return c, nil
}

// PersistentReserveOut is the PERSISTENT RESERVE OUT CDB (SPC-4 §6.17.1
// table 185).
type PersistentReserveOut struct {
	ServiceAction       ServiceAction   // PROutRegister ... PROutReplaceLostReservation
	Scope               uint8           // SCOPE, 4 bits; ScopeLU
	Type                ReservationType // TYPE, 4 bits
	ParameterListLength uint32          // PARAMETER LIST LENGTH
	Control             byte
}

// OperationCode returns OpPersistentReserveOut.
func (PersistentReserveOut) OperationCode() OpCode { return OpPersistentReserveOut }

// Append appends the 10-byte CDB.
func (c PersistentReserveOut) Append(dst []byte) ([]byte, error) {
	const op = OpPersistentReserveOut
	switch {
	case c.ServiceAction > 0x1f:
		return dst, cdbErr(op, "SERVICE ACTION", 1, 4)
	case c.Scope > 0xf:
		return dst, cdbErr(op, "SCOPE", 2, 7)
	case c.Type > 0xf:
		return dst, cdbErr(op, "TYPE", 2, 3)
	}
	dst, b := newCDB(dst, op, 10)
	b[1] = byte(c.ServiceAction)
	b[2] = c.Scope<<4 | byte(c.Type)
	binary.BigEndian.PutUint32(b[5:], c.ParameterListLength)
	b[9] = c.Control
	return dst, nil
}

// ParsePersistentReserveOut decodes PERSISTENT RESERVE OUT (SPC-4
// §6.17.1): byte 1 bits 7-5 and bytes 3-4 are reserved; a service action
// outside table 186 is INVALID FIELD IN CDB at byte 1. SCOPE and TYPE are
// returned as sent: only RESERVE, RELEASE, PREEMPT, PREEMPT AND ABORT and
// REPLACE LOST RESERVATION use them, and the logical unit checks them
// (§6.17.1: an invalid TYPE or SCOPE is INVALID FIELD IN CDB).
func ParsePersistentReserveOut(cdb []byte) (PersistentReserveOut, error) {
	const op = OpPersistentReserveOut
	if err := checkCDB(cdb, op); err != nil {
		return PersistentReserveOut{}, err
	}
	if err := reserved(cdb, op, 1, 0xe0); err != nil {
		return PersistentReserveOut{}, err
	}
	if err := reservedBytes(cdb, op, 3, 5); err != nil {
		return PersistentReserveOut{}, err
	}
	c := PersistentReserveOut{ServiceAction: ServiceAction(cdb[1] & 0x1f), Scope: cdb[2] >> 4, Type: ReservationType(cdb[2] & 0x0f),
		ParameterListLength: binary.BigEndian.Uint32(cdb[5:]), Control: cdb[9]}
	if c.ServiceAction > PROutReplaceLostReservation {
		return PersistentReserveOut{}, cdbErr(op, "SERVICE ACTION", 1, 4)
	}
	return c, nil
}

// PROutParameters is the basic PERSISTENT RESERVE OUT parameter list
// (SPC-4 §6.17.3 table 188), used by every service action but REGISTER AND
// MOVE: 24 bytes, followed, when SPEC_I_PT is one, by a TRANSPORTID
// PARAMETER DATA LENGTH and TransportIDs.
type PROutParameters struct {
	ReservationKey              uint64 // RESERVATION KEY
	ServiceActionReservationKey uint64 // SERVICE ACTION RESERVATION KEY
	SpecIPT                     bool   // SPEC_I_PT: TransportIDs follow (REGISTER only)
	AllTgPt                     bool   // ALL_TG_PT: register on every target port
	APTPL                       bool   // APTPL: persist through power loss
	// TransportIDs is the TransportID list that follows the 24 bytes when
	// SpecIPT is one, aliasing the parameter data; iterate it with
	// [TransportIDs].
	TransportIDs []byte
}

// PROutBasicLength is the length of the basic PERSISTENT RESERVE OUT
// parameter list (SPC-4 §6.17.3).
const PROutBasicLength = 24

// ParsePROutParameters decodes the basic PERSISTENT RESERVE OUT parameter
// list (SPC-4 §6.17.3). b is the whole Data-Out buffer. A list of other
// than 24 bytes without SPEC_I_PT, or shorter than 28 bytes with it, or
// whose TRANSPORTID PARAMETER DATA LENGTH disagrees with its length, is
// PARAMETER LIST LENGTH ERROR (§6.17.3). Byte 20 bits 7-4 and bit 1 and
// byte 21 are reserved. The obsolete bytes 16-19 and 22-23 are ignored.
// Errors are *ParameterError.
func ParsePROutParameters(b []byte) (PROutParameters, error) {
	const op = OpPersistentReserveOut
	if len(b) < PROutBasicLength {
		return PROutParameters{}, paramLenErr(op, "PARAMETER LIST LENGTH")
	}
	p := PROutParameters{
		ReservationKey:              binary.BigEndian.Uint64(b),
		ServiceActionReservationKey: binary.BigEndian.Uint64(b[8:]),
		SpecIPT:                     b[20]&0x08 != 0,
		AllTgPt:                     b[20]&0x04 != 0,
		APTPL:                       b[20]&0x01 != 0,
	}
	if v := b[20] & 0xf2; v != 0 {
		return PROutParameters{}, paramErr(op, "reserved", 20, bitOf(v))
	}
	if b[21] != 0 {
		return PROutParameters{}, paramErr(op, "reserved", 21, bitOf(b[21]))
	}
	if !p.SpecIPT {
		if len(b) != PROutBasicLength {
			return PROutParameters{}, paramLenErr(op, "PARAMETER LIST LENGTH")
		}
		return p, nil
	}
	if len(b) < PROutBasicLength+4 {
		return PROutParameters{}, paramLenErr(op, "TRANSPORTID PARAMETER DATA LENGTH")
	}
	n := binary.BigEndian.Uint32(b[24:])
	if uint64(n) != uint64(len(b)-28) {
		return PROutParameters{}, paramLenErr(op, "TRANSPORTID PARAMETER DATA LENGTH")
	}
	p.TransportIDs = b[28:]
	return p, nil
}

// Append appends the parameter list: 24 bytes, and when SpecIPT is one
// the TRANSPORTID PARAMETER DATA LENGTH and TransportIDs.
func (p PROutParameters) Append(dst []byte) []byte {
	dst = binary.BigEndian.AppendUint64(dst, p.ReservationKey)
	dst = binary.BigEndian.AppendUint64(dst, p.ServiceActionReservationKey)
	dst = append(dst, 0, 0, 0, 0, flag(p.SpecIPT, 0x08)|flag(p.AllTgPt, 0x04)|flag(p.APTPL, 0x01), 0, 0, 0)
	if p.SpecIPT {
		dst = binary.BigEndian.AppendUint32(dst, uint32(len(p.TransportIDs)))
		dst = append(dst, p.TransportIDs...)
	}
	return dst
}

// RegisterAndMoveParameters is the PERSISTENT RESERVE OUT parameter list
// of REGISTER AND MOVE (SPC-4 §6.17.4 table 190).
type RegisterAndMoveParameters struct {
	ReservationKey              uint64 // RESERVATION KEY
	ServiceActionReservationKey uint64 // SERVICE ACTION RESERVATION KEY
	Unreg                       bool   // UNREG: unregister the I_T nexus that sent the command
	APTPL                       bool   // APTPL
	RelativeTargetPortID        uint16 // RELATIVE TARGET PORT IDENTIFIER
	TransportID                 []byte // the TransportID of the new holder, aliasing the parameter data
}

// ParseRegisterAndMoveParameters decodes the REGISTER AND MOVE parameter
// list (SPC-4 §6.17.4). Byte 16 and byte 17 bits 7-2 are reserved; a list
// shorter than 24 bytes or whose TRANSPORTID PARAMETER DATA LENGTH exceeds
// it is PARAMETER LIST LENGTH ERROR. Errors are *ParameterError.
func ParseRegisterAndMoveParameters(b []byte) (RegisterAndMoveParameters, error) {
	const op = OpPersistentReserveOut
	if len(b) < 24 {
		return RegisterAndMoveParameters{}, paramLenErr(op, "PARAMETER LIST LENGTH")
	}
	if b[16] != 0 {
		return RegisterAndMoveParameters{}, paramErr(op, "reserved", 16, bitOf(b[16]))
	}
	if v := b[17] & 0xfc; v != 0 {
		return RegisterAndMoveParameters{}, paramErr(op, "reserved", 17, bitOf(v))
	}
	n := binary.BigEndian.Uint32(b[20:])
	if uint64(n) > uint64(len(b)-24) {
		return RegisterAndMoveParameters{}, paramLenErr(op, "TRANSPORTID PARAMETER DATA LENGTH")
	}
	return RegisterAndMoveParameters{
		ReservationKey:              binary.BigEndian.Uint64(b),
		ServiceActionReservationKey: binary.BigEndian.Uint64(b[8:]),
		Unreg:                       b[17]&0x02 != 0,
		APTPL:                       b[17]&0x01 != 0,
		RelativeTargetPortID:        binary.BigEndian.Uint16(b[18:]),
		TransportID:                 b[24 : 24+int(n)],
	}, nil
}

// Append appends the REGISTER AND MOVE parameter list.
func (p RegisterAndMoveParameters) Append(dst []byte) []byte {
	dst = binary.BigEndian.AppendUint64(dst, p.ReservationKey)
	dst = binary.BigEndian.AppendUint64(dst, p.ServiceActionReservationKey)
	dst = append(dst, 0, flag(p.Unreg, 0x02)|flag(p.APTPL, 0x01))
	dst = binary.BigEndian.AppendUint16(dst, p.RelativeTargetPortID)
	dst = binary.BigEndian.AppendUint32(dst, uint32(len(p.TransportID)))
	return append(dst, p.TransportID...)
}

// AppendPRInReadKeys appends the READ KEYS parameter data (SPC-4 §6.16.2
// table 174): PRGENERATION, the ADDITIONAL LENGTH and the registered keys.
// The result may exceed the allocation length; the caller truncates it
// (SPC-4 §4.2.5.6).
func AppendPRInReadKeys(dst []byte, generation uint32, keys []uint64) []byte {
	dst = binary.BigEndian.AppendUint32(dst, generation)
	dst = binary.BigEndian.AppendUint32(dst, uint32(8*len(keys)))
	for _, k := range keys {
		dst = binary.BigEndian.AppendUint64(dst, k)
	}
	return dst
}

// PRInKeys is the READ KEYS parameter data (SPC-4 §6.16.2).
type PRInKeys struct {
	Generation uint32 // PRGENERATION
	// Keys holds the RESERVATION KEY list, 8 bytes a key, aliasing the
	// data; see [PRInKeys.Key] and [PRInKeys.Len].
	Keys []byte
	// AdditionalLength is the ADDITIONAL LENGTH the device server
	// reported, which exceeds len(Keys) when the allocation length cut
	// the data short.
	AdditionalLength uint32
}

// Len returns the number of whole keys in p.Keys.
func (p PRInKeys) Len() int { return len(p.Keys) / 8 }

// Key returns key i.
func (p PRInKeys) Key(i int) uint64 { return binary.BigEndian.Uint64(p.Keys[i*8:]) }

// ParsePRInReadKeys decodes READ KEYS parameter data (SPC-4 §6.16.2),
// accepting data cut short by the allocation length (the header must be
// whole; a partial last key is dropped). Errors are *FormatError.
func ParsePRInReadKeys(b []byte) (PRInKeys, error) {
	if len(b) < 8 {
		return PRInKeys{}, shortData("READ KEYS data", 4, "ADDITIONAL LENGTH")
	}
	p := PRInKeys{Generation: binary.BigEndian.Uint32(b), AdditionalLength: binary.BigEndian.Uint32(b[4:])}
	if p.AdditionalLength%8 != 0 {
		return PRInKeys{}, malformed("READ KEYS data", 4, "ADDITIONAL LENGTH")
	}
	n := int(min(uint64(p.AdditionalLength), uint64(len(b)-8)))
	p.Keys = b[8 : 8+n-n%8]
	return p, nil
}

// PRInReservation is the READ RESERVATION parameter data (SPC-4 §6.16.3
// table 176). Held is false when no persistent reservation exists (the
// ADDITIONAL LENGTH is zero).
type PRInReservation struct {
	Generation     uint32          // PRGENERATION
	Held           bool            // a reservation exists
	ReservationKey uint64          // RESERVATION KEY of the holder
	Scope          uint8           // SCOPE
	Type           ReservationType // TYPE
}

// Append appends the READ RESERVATION parameter data: 8 bytes with no
// reservation, 24 with one.
func (r PRInReservation) Append(dst []byte) []byte {
	dst = binary.BigEndian.AppendUint32(dst, r.Generation)
	if !r.Held {
		return binary.BigEndian.AppendUint32(dst, 0)
	}
	dst = binary.BigEndian.AppendUint32(dst, 16)
	dst = binary.BigEndian.AppendUint64(dst, r.ReservationKey)
	return append(dst, 0, 0, 0, 0, 0, r.Scope<<4|byte(r.Type)&0x0f, 0, 0)
}

// ParsePRInReadReservation decodes READ RESERVATION parameter data (SPC-4
// §6.16.3). An ADDITIONAL LENGTH other than 0 or 16 is malformed; data cut
// before the TYPE byte is short. Errors are *FormatError.
func ParsePRInReadReservation(b []byte) (PRInReservation, error) {
	const format = "READ RESERVATION data"
	if len(b) < 8 {
		return PRInReservation{}, shortData(format, 4, "ADDITIONAL LENGTH")
	}
	r := PRInReservation{Generation: binary.BigEndian.Uint32(b)}
	switch binary.BigEndian.Uint32(b[4:]) {
	case 0:
		return r, nil
	case 16:
	default:
		return PRInReservation{}, malformed(format, 4, "ADDITIONAL LENGTH")
	}
	if len(b) < 22 {
		return PRInReservation{}, shortData(format, 21, "TYPE")
	}
	r.Held = true
	r.ReservationKey = binary.BigEndian.Uint64(b[8:])
	r.Scope, r.Type = b[21]>>4, ReservationType(b[21]&0x0f)
	return r, nil
}

// PRCapabilities is the REPORT CAPABILITIES parameter data (SPC-4 §6.16.4
// table 178), 8 bytes.
type PRCapabilities struct {
	RLRC          bool  // RLR_C: replace lost reservation capable (SPC-5)
	CRH           bool  // CRH: compatible reservation handling (RESERVE(6)/(10) vs persistent)
	SIPC          bool  // SIP_C: specify initiator ports capable
	ATPC          bool  // ATP_C: all target ports capable
	PTPLC         bool  // PTPL_C: persist through power loss capable
	TMV           bool  // TMV: the type mask is valid
	AllowCommands uint8 // ALLOW COMMANDS, 3 bits
	PTPLA         bool  // PTPL_A: persist through power loss activated
	// TypeMask has bit t set for each supported reservation type t
	// (1<<WriteExclusive | 1<<ExclusiveAccess ...): the PERSISTENT
	// RESERVATION TYPE MASK of table 179.
	TypeMask uint16
}

// prTypeMaskBits maps reservation types to their bit in bytes 4-5 of the
// REPORT CAPABILITIES data (SPC-4 table 179): byte 4 bit 7 WR_EX_AR, bit 6
// EX_AC_RO, bit 5 WR_EX_RO, bit 3 EX_AC, bit 1 WR_EX; byte 5 bit 0
// EX_AC_AR.
var prTypeMaskBits = [...]struct {
	t   ReservationType
	bit uint16
}{
	{WriteExclusiveAllRegistrants, 0x8000},
	{ExclusiveAccessRegistrantsOnly, 0x4000},
	{WriteExclusiveRegistrantsOnly, 0x2000},
	{ExclusiveAccess, 0x0800},
	{WriteExclusive, 0x0200},
	{ExclusiveAccessAllRegistrants, 0x0001},
}

// Append appends the 8 bytes of REPORT CAPABILITIES data.
func (c PRCapabilities) Append(dst []byte) []byte {
	var mask uint16
	for _, m := range prTypeMaskBits {
		if c.TypeMask&(1<<m.t) != 0 {
			mask |= m.bit
		}
	}
	dst = append(dst, 0, 8,
		flag(c.RLRC, 0x80)|flag(c.CRH, 0x10)|flag(c.SIPC, 0x08)|flag(c.ATPC, 0x04)|flag(c.PTPLC, 0x01),
		flag(c.TMV, 0x80)|(c.AllowCommands&7)<<4|flag(c.PTPLA, 0x01))
	dst = binary.BigEndian.AppendUint16(dst, mask)
	return append(dst, 0, 0)
}

// ParsePRInReportCapabilities decodes REPORT CAPABILITIES data (SPC-4
// §6.16.4). Errors are *FormatError.
func ParsePRInReportCapabilities(b []byte) (PRCapabilities, error) {
	if len(b) < 6 {
		return PRCapabilities{}, shortData("REPORT CAPABILITIES data", 4, "PERSISTENT RESERVATION TYPE MASK")
	}
	if l := binary.BigEndian.Uint16(b); l < 6 {
		return PRCapabilities{}, malformed("REPORT CAPABILITIES data", 0, "LENGTH")
	}
	c := PRCapabilities{
		RLRC: b[2]&0x80 != 0, CRH: b[2]&0x10 != 0, SIPC: b[2]&0x08 != 0, ATPC: b[2]&0x04 != 0, PTPLC: b[2]&0x01 != 0,
		TMV: b[3]&0x80 != 0, AllowCommands: b[3] >> 4 & 7, PTPLA: b[3]&0x01 != 0,
	}
	mask := binary.BigEndian.Uint16(b[4:])
	for _, m := range prTypeMaskBits {
		if mask&m.bit != 0 {
			c.TypeMask |= 1 << m.t
		}
	}
	return c, nil
}

// PRFullStatus is one full status descriptor of READ FULL STATUS (SPC-4
// §6.16.5 table 181): one registered I_T nexus.
type PRFullStatus struct {
	ReservationKey       uint64          // RESERVATION KEY
	AllTgPt              bool            // ALL_TG_PT
	ReservationHolder    bool            // R_HOLDER
	Scope                uint8           // SCOPE (when ReservationHolder)
	Type                 ReservationType // TYPE (when ReservationHolder)
	RelativeTargetPortID uint16          // RELATIVE TARGET PORT IDENTIFIER
	TransportID          []byte          // the initiator's TransportID, aliasing the data
}

// AppendPRInReadFullStatus appends READ FULL STATUS parameter data (SPC-4
// §6.16.5 table 180): PRGENERATION, ADDITIONAL LENGTH and one descriptor
// per registration.
func AppendPRInReadFullStatus(dst []byte, generation uint32, regs []PRFullStatus) []byte {
	total := 0
	for _, r := range regs {
		total += 24 + len(r.TransportID)
	}
	dst = binary.BigEndian.AppendUint32(dst, generation)
	dst = binary.BigEndian.AppendUint32(dst, uint32(total))
	for _, r := range regs {
		dst = binary.BigEndian.AppendUint64(dst, r.ReservationKey)
		dst = append(dst, 0, 0, 0, 0, flag(r.AllTgPt, 0x02)|flag(r.ReservationHolder, 0x01), r.Scope<<4|byte(r.Type)&0x0f, 0, 0, 0, 0)
		dst = binary.BigEndian.AppendUint16(dst, r.RelativeTargetPortID)
		dst = binary.BigEndian.AppendUint32(dst, uint32(len(r.TransportID)))
		dst = append(dst, r.TransportID...)
	}
	return dst
}

// PRInFullStatus is READ FULL STATUS parameter data (SPC-4 §6.16.5),
// checked by [ParsePRInReadFullStatus]; All iterates its descriptors.
type PRInFullStatus struct {
	Generation  uint32 // PRGENERATION
	Descriptors []byte // the full status descriptors, aliasing the data
}

// All yields the full status descriptors in order. Parsing checked each
// descriptor's length, so iteration cannot fail.
func (p PRInFullStatus) All() iter.Seq[PRFullStatus] {
	return func(yield func(PRFullStatus) bool) {
		b := p.Descriptors
		for len(b) >= 24 {
			n := 24 + int(binary.BigEndian.Uint32(b[20:]))
			d := PRFullStatus{
				ReservationKey:       binary.BigEndian.Uint64(b),
				AllTgPt:              b[12]&0x02 != 0,
				ReservationHolder:    b[12]&0x01 != 0,
				Scope:                b[13] >> 4,
				Type:                 ReservationType(b[13] & 0x0f),
				RelativeTargetPortID: binary.BigEndian.Uint16(b[18:]),
				TransportID:          b[24:n],
			}
			if !yield(d) {
				return
			}
			b = b[n:]
		}
	}
}

// ParsePRInReadFullStatus decodes READ FULL STATUS parameter data (SPC-4
// §6.16.5). Data cut short by the allocation length is accepted up to its
// last whole descriptor; a descriptor whose ADDITIONAL DESCRIPTOR LENGTH
// overruns the ADDITIONAL LENGTH is malformed. Errors are *FormatError.
func ParsePRInReadFullStatus(b []byte) (PRInFullStatus, error) {
	const format = "READ FULL STATUS data"
	if len(b) < 8 {
		return PRInFullStatus{}, shortData(format, 4, "ADDITIONAL LENGTH")
	}
	p := PRInFullStatus{Generation: binary.BigEndian.Uint32(b)}
	end := uint64(8) + uint64(binary.BigEndian.Uint32(b[4:]))
	i := 8
	for uint64(i)+24 <= end && i+24 <= len(b) {
		n := 24 + uint64(binary.BigEndian.Uint32(b[i+20:]))
		if uint64(i)+n > end {
			return PRInFullStatus{}, malformed(format, i+20, "ADDITIONAL DESCRIPTOR LENGTH")
		}
		if uint64(i)+n > uint64(len(b)) {
			break
		}
		i += int(n)
	}
	p.Descriptors = b[8:i]
	return p, nil
}
