package scsi

// CDB is a decoded command descriptor block (SPC-4 §4.2). Every CDB type
// of this package implements it: [ReadWrite], [Inquiry], [ModeSense] and
// the others. Append appends the CDB's bytes to dst, checking that every
// field fits; a value that does not gives a *CDBError.
type CDB interface {
	OperationCode() OpCode
	Append(dst []byte) ([]byte, error)
}

// ParseCDB decodes any CDB this package knows, choosing the decoder by the
// operation code (and the service action for SERVICE ACTION IN(16),
// MAINTENANCE IN and the persistent reservation commands). An operation
// code it does not know gives INVALID COMMAND OPERATION CODE (SPC-4 Annex
// D.2, 20h/00h); an unknown service action gives INVALID FIELD IN CDB at
// byte 1. The result holds a pointer-free value of the concrete type
// ([ReadWrite], [Inquiry], ...); a logical unit on its hot path calls the
// concrete Parse function instead, which does not allocate.
func ParseCDB(cdb []byte) (CDB, error) {
	if len(cdb) == 0 {
		return nil, &CDBError{Field: "CDB LENGTH 1", Sense: NewSense(SenseIllegalRequest, ASCInvalidFieldInCDB), Short: true}
	}
	op := OpCode(cdb[0])
	if IsReadWrite(op) {
		return box(ParseReadWrite(cdb))
	}
	switch op {
	case OpTestUnitReady:
		return box(ParseTestUnitReady(cdb))
	case OpRequestSense:
		return box(ParseRequestSense(cdb))
	case OpFormatUnit:
		return box(ParseFormatUnit(cdb))
	case OpInquiry:
		return box(ParseInquiry(cdb))
	case OpModeSense6, OpModeSense10:
		return box(ParseModeSense(cdb))
	case OpModeSelect6, OpModeSelect10:
		return box(ParseModeSelect(cdb))
	case OpReserve6, OpRelease6, OpReserve10, OpRelease10:
		return box(ParseReserveRelease(cdb))
	case OpStartStopUnit:
		return box(ParseStartStopUnit(cdb))
	case OpPreventAllowMediumRemoval:
		return box(ParsePreventAllowMediumRemoval(cdb))
	case OpReadCapacity10:
		return box(ParseReadCapacity10(cdb))
	case OpPreFetch10, OpPreFetch16:
		return box(ParsePreFetch(cdb))
	case OpSynchronizeCache10, OpSynchronizeCache16:
		return box(ParseSynchronizeCache(cdb))
	case OpReadDefectData10, OpReadDefectData12:
		return box(ParseReadDefectData(cdb))
	case OpWriteSame10, OpWriteSame16:
		return box(ParseWriteSame(cdb))
	case OpUnmap:
		return box(ParseUnmap(cdb))
	case OpSanitize:
		return box(ParseSanitize(cdb))
	case OpPersistentReserveIn:
		return box(ParsePersistentReserveIn(cdb))
	case OpPersistentReserveOut:
		return box(ParsePersistentReserveOut(cdb))
	case OpExtendedCopy:
		return box(ParseExtendedCopy(cdb))
	case OpReceiveCopyResults:
		return box(ParseReceiveCopyResults(cdb))
	case OpCompareAndWrite:
		return box(ParseCompareAndWrite(cdb))
	case OpWriteAtomic16:
		return box(ParseWriteAtomic16(cdb))
	case OpReportLUNs:
		return box(ParseReportLUNs(cdb))
	case OpServiceActionIn16:
		if len(cdb) < 2 {
			return nil, shortCDB(op, 16)
		}
		switch ServiceAction(cdb[1] & 0x1f) {
		case SAReadCapacity16:
			return box(ParseReadCapacity16(cdb))
		case SAGetLBAStatus:
			return box(ParseGetLBAStatus(cdb))
		}
		return nil, cdbErr(op, "SERVICE ACTION", 1, 4)
	case OpMaintenanceIn:
		if len(cdb) < 2 {
			return nil, shortCDB(op, 12)
		}
		if ServiceAction(cdb[1]&0x1f) == SAReportSupportedOperationCodes {
			return box(ParseReportSupportedOperationCodes(cdb))
		}
		return nil, cdbErr(op, "SERVICE ACTION", 1, 4)
	}
	return nil, &CDBError{Op: op, Field: "OPERATION CODE", Sense: NewSense(SenseIllegalRequest, ASCInvalidCommandOperationCode)}
}

// box converts a concrete parse result to the CDB interface, keeping a
// nil interface on error.
func box[T CDB](v T, err error) (CDB, error) {
	if err != nil {
		return nil, err
	}
	return v, nil
}

// checkCDB checks that cdb holds op and is as long as op's group code
// requires (SPC-4 §4.2.5.1 table 5).
func checkCDB(cdb []byte, op OpCode) error {
	n := op.CDBLength()
	if len(cdb) == 0 {
		return shortCDB(op, n)
	}
	if got := OpCode(cdb[0]); got != op {
		return wrongOp(op, got)
	}
	if len(cdb) < n {
		return shortCDB(op, n)
	}
	return nil
}

// reserved checks that the bits of mask in byte i of cdb are zero, as
// the command's table requires of reserved bits.
func reserved(cdb []byte, op OpCode, i int, mask byte) error {
	if v := cdb[i] & mask; v != 0 {
		return cdbErr(op, "reserved", i, bitOf(v))
	}
	return nil
}

// reservedBytes checks that bytes from to to-1 of cdb are zero.
func reservedBytes(cdb []byte, op OpCode, from, to int) error {
	for i := from; i < to; i++ {
		if cdb[i] != 0 {
			return cdbErr(op, "reserved", i, bitOf(cdb[i]))
		}
	}
	return nil
}

// newCDB appends n zero bytes to dst, the first being op, and returns the
// grown slice and the CDB's bytes within it.
func newCDB(dst []byte, op OpCode, n int) ([]byte, []byte) {
	i := len(dst)
	dst = append(dst, make([]byte, n)...)
	b := dst[i:]
	b[0] = byte(op)
	return dst, b
}

// flag returns v if cond, else 0.
func flag(cond bool, v byte) byte {
	if cond {
		return v
	}
	return 0
}
