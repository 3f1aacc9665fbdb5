package scsi

import (
	"errors"
	"strconv"
)

// Sentinel errors, matched with errors.Is.
var (
	// ErrInvalidCDB matches every *CDBError: a CDB a device server
	// rejects with CHECK CONDITION status (SPC-4 §4.5.2).
	ErrInvalidCDB = errors.New("scsi: invalid CDB")
	// ErrShortCDB matches a *CDBError for a CDB shorter than its
	// operation code requires (SPC-4 §4.2.5.1 table 5).
	ErrShortCDB = errors.New("scsi: CDB too short")
	// ErrInvalidParameterList matches every *ParameterError: parameter
	// data (Data-Out) a device server rejects with CHECK CONDITION status.
	ErrInvalidParameterList = errors.New("scsi: invalid parameter list")
	// ErrShortData matches a *FormatError for parameter data or returned
	// data shorter than its header or descriptors require.
	ErrShortData = errors.New("scsi: data too short")
	// ErrFieldRange matches a *FormatError from a builder given a value
	// its field cannot hold (a vendor identification longer than 8
	// bytes, a designator longer than 255).
	ErrFieldRange = errors.New("scsi: value does not fit its field")
	// ErrMalformed matches a *FormatError for data whose fields
	// contradict each other or the standard (a length that overruns its
	// container, an unknown response code, a reserved bit set).
	ErrMalformed = errors.New("scsi: malformed data")
)

// CDBError reports a CDB that a Parse function rejects. It unwraps to the
// [Sense] that SPC-4 §4.5.2 and the command's clause require the device
// server to return with CHECK CONDITION status, so a logical unit answers
// with [SenseOf](err). It matches [ErrInvalidCDB] with errors.Is, and
// [ErrShortCDB] too when the CDB was too short.
type CDBError struct {
	Op    OpCode // the operation code the parser expected
	Field string // the offending field in the standard's words ("LOGICAL BLOCK ADDRESS")
	Sense Sense  // the sense data to return
	Short bool   // the CDB was shorter than the operation code requires
}

// Error returns "scsi: READ(10): LOGICAL BLOCK ADDRESS: ILLEGAL REQUEST:
// LOGICAL BLOCK ADDRESS OUT OF RANGE".
func (e *CDBError) Error() string {
	s := "scsi: " + e.Op.String() + ": "
	if e.Field != "" {
		s += e.Field + ": "
	}
	return s + e.Sense.Error()
}

// Unwrap returns the sense data, so errors.As(err, &sense) finds it.
func (e *CDBError) Unwrap() error { return e.Sense }

// Is reports whether target is ErrInvalidCDB, or ErrShortCDB for a short
// CDB.
func (e *CDBError) Is(target error) bool {
	return target == ErrInvalidCDB || (e.Short && target == ErrShortCDB)
}

// FormatError reports parameter data or returned data (sense data,
// INQUIRY data, a VPD or mode page, a parameter list) that a Parse
// function rejects. It matches ErrShortData or ErrMalformed with
// errors.Is.
type FormatError struct {
	Format string // what was parsed ("sense data", "VPD page 0x83")
	Offset int    // the byte offset of the offending field
	Field  string // the field in the standard's words
	Err    error  // ErrShortData or ErrMalformed
}

// Error returns "scsi: sense data: byte 7 (ADDITIONAL SENSE LENGTH): scsi:
// data too short".
func (e *FormatError) Error() string {
	s := "scsi: " + e.Format + ": byte " + strconv.Itoa(e.Offset)
	if e.Field != "" {
		s += " (" + e.Field + ")"
	}
	return s + ": " + e.Err.Error()
}

// Unwrap returns ErrShortData or ErrMalformed.
func (e *FormatError) Unwrap() error { return e.Err }

func shortData(format string, offset int, field string) error {
	return &FormatError{Format: format, Offset: offset, Field: field, Err: ErrShortData}
}

func malformed(format string, offset int, field string) error {
	return &FormatError{Format: format, Offset: offset, Field: field, Err: ErrMalformed}
}

// SenseOf returns the sense data err carries: err itself or any error it
// wraps that is a [Sense] or *Sense (a *CDBError wraps one). For any other
// error it returns HARDWARE ERROR, INTERNAL TARGET FAILURE (SPC-4 Annex
// D.2, 44h/00h) and false, the sense a device server returns for a failure
// of its own; for a nil error it returns NO SENSE and false.
func SenseOf(err error) (Sense, bool) {
	if err == nil {
		return Sense{}, false
	}
	var s Sense
	if errors.As(err, &s) {
		return s, true
	}
	var p *Sense
	if errors.As(err, &p) && p != nil {
		return *p, true
	}
	return NewSense(SenseHardwareError, ASCInternalTargetFailure), false
}

// CheckControl applies SAM-5 §5.2 to the CONTROL byte of a CDB: bits 7-6
// are vendor specific, bit 2 is NACA, bits 5-3 are reserved, bit 1 is
// obsolete (LINK in SAM-4) and bit 0 is obsolete (FLAG). A device server
// that does not support ACA (NORMACA zero in its standard INQUIRY data)
// returns INVALID FIELD IN CDB for NACA one; so does one that sees a
// reserved or LINK bit set. The CONTROL byte is the last byte of the CDB;
// offset gives its position for the field pointer.
func CheckControl(op OpCode, control byte, offset int, acaSupported bool) error {
	switch {
	case control&0x38 != 0:
		return cdbErr(op, "CONTROL", offset, bitOf(control&0x38))
	case control&0x04 != 0 && !acaSupported:
		return cdbErr(op, "NACA", offset, 2)
	case control&0x01 != 0:
		return cdbErr(op, "FLAG", offset, 0)
	case control&0x02 != 0:
		return cdbErr(op, "LINK", offset, 1)
	}
	return nil
}

// cdbErr returns a CDBError with INVALID FIELD IN CDB pointing at byte
// offset, bit (-1 for the whole byte).
func cdbErr(op OpCode, field string, offset, bit int) error {
	return &CDBError{Op: op, Field: field, Sense: InvalidFieldInCDB(uint16(offset), bit)}
}

// shortCDB returns the CDBError for a CDB of fewer than need bytes.
func shortCDB(op OpCode, need int) error {
	return &CDBError{Op: op, Field: "CDB LENGTH " + strconv.Itoa(need), Sense: NewSense(SenseIllegalRequest, ASCInvalidFieldInCDB), Short: true}
}

// wrongOp returns the CDBError for a CDB whose operation code the parser
// does not decode.
func wrongOp(want, got OpCode) error {
	return &CDBError{Op: want, Field: "OPERATION CODE " + got.String(), Sense: NewSense(SenseIllegalRequest, ASCInvalidCommandOperationCode)}
}

// lbaRange returns the CDBError for a LOGICAL BLOCK ADDRESS plus a
// length that overflows 2^64 (SBC-4 §4.5: LOGICAL BLOCK ADDRESS OUT OF
// RANGE).
func lbaRange(op OpCode) error {
	return &CDBError{Op: op, Field: "LOGICAL BLOCK ADDRESS", Sense: NewSense(SenseIllegalRequest, ASCLBAOutOfRange)}
}

// bitOf returns the index of the highest set bit of b.
func bitOf(b byte) int {
	for i := 7; i >= 0; i-- {
		if b&(1<<i) != 0 {
			return i
		}
	}
	return -1
}

// ParameterError reports a parameter list (the Data-Out of MODE SELECT,
// UNMAP, PERSISTENT RESERVE OUT and the like) that a Parse function
// rejects. Like *CDBError it unwraps to the [Sense] the device server
// returns: INVALID FIELD IN PARAMETER LIST with a field pointer (C/D zero),
// or PARAMETER LIST LENGTH ERROR (SPC-4 Annex D.2, 1Ah/00h). It matches
// [ErrInvalidParameterList] with errors.Is.
type ParameterError struct {
	Op    OpCode // the command whose parameter list this is
	Field string // the offending field in the standard's words
	Sense Sense  // the sense data to return
}

// Error returns "scsi: UNMAP parameter list: UNMAP DATA LENGTH: ILLEGAL
// REQUEST: PARAMETER LIST LENGTH ERROR".
func (e *ParameterError) Error() string {
	s := "scsi: " + e.Op.String() + " parameter list: "
	if e.Field != "" {
		s += e.Field + ": "
	}
	return s + e.Sense.Error()
}

// Unwrap returns the sense data.
func (e *ParameterError) Unwrap() error { return e.Sense }

// Is reports whether target is ErrInvalidParameterList.
func (e *ParameterError) Is(target error) bool { return target == ErrInvalidParameterList }

// paramErr returns INVALID FIELD IN PARAMETER LIST at byte offset, bit.
func paramErr(op OpCode, field string, offset, bit int) error {
	return &ParameterError{Op: op, Field: field, Sense: InvalidFieldInParameterList(uint16(offset), bit)}
}

// paramLenErr returns PARAMETER LIST LENGTH ERROR.
func paramLenErr(op OpCode, field string) error {
	return &ParameterError{Op: op, Field: field, Sense: NewSense(SenseIllegalRequest, ASCParameterListLengthError)}
}

func fieldRange(format string, offset int, field string) error {
	return &FormatError{Format: format, Offset: offset, Field: field, Err: ErrFieldRange}
}
