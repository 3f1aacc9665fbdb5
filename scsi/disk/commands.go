package disk

import (
	"encoding/binary"

	"github.com/go-iscsi/iscsi/scsi"
)

// cmdFlags are properties of a command that the logical unit checks before
// running it.
type cmdFlags uint8

const (
	// fNoUA: SAM-5 §5.14 and SPC-4 §5.14: INQUIRY, REPORT LUNS and
	// REQUEST SENSE run despite a pending unit attention.
	fNoUA cmdFlags = 1 << iota
	// fMedium: the command needs the medium; with no medium it fails
	// with NOT READY, MEDIUM NOT PRESENT (SBC-4 §4.19).
	fMedium
	// fWrite: the command changes the medium; a read-only logical unit
	// fails it with DATA PROTECT, WRITE PROTECTED (SBC-4 §4.6).
	fWrite
	// fSPC2Exempt: allowed while another I_T nexus holds an SPC-2
	// reservation (SPC-2 §5.5.1 and SPC-4 §5.12.3).
	fSPC2Exempt
	// fDuringSanitize: runs while a sanitize operation is in progress
	// (SBC-4 §4.11); every other command fails with SANITIZE IN PROGRESS.
	fDuringSanitize
)

// resClass is how a command fares under a persistent reservation held by
// another I_T nexus (SPC-4 §5.12.8 table 62, SBC-4 §4.17 table 11).
type resClass uint8

const (
	resAllowed resClass = iota // allowed under every reservation type
	resRead                    // conflicts under Exclusive Access types only
	resWrite                   // conflicts under every reservation type
	resOwn                     // PERSISTENT RESERVE OUT, RESERVE, RELEASE: the command decides
)

// handlerID names the method that runs a command. dispatch switches on it
// so that every call is direct: a call through a func value would make
// the Request escape to the heap and cost an allocation per command.
type handlerID uint8

const (
	hTestUnitReady handlerID = iota
	hRequestSense
	hInquiry
	hModeSelect
	hModeSense
	hReserve
	hRelease
	hStartStopUnit
	hPreventAllow
	hReadCapacity10
	hReadCapacity16
	hGetLBAStatus
	hRead
	hWrite
	hVerify
	hWriteAndVerify
	hWriteSame
	hUnmap
	hCompareAndWrite
	hORWrite
	hWriteAtomic
	hSynchronizeCache
	hPreFetch
	hReportLUNs
	hReportSupportedOpCodes
	hPersistentReserveIn
	hPersistentReserveOut
	hSanitize
	hReadDefectData
	hExtendedCopy
	hReceiveCopyResults
)

// command is one row of the dispatch table: the operation code (and
// service action), the CDB usage data that REPORT SUPPORTED OPERATION
// CODES returns (SPC-4 §6.35.3) and that the logical unit also enforces
// (a CDB bit outside it gets INVALID FIELD IN CDB), and how to run it.
type command struct {
	op      scsi.OpCode
	sa      uint8 // service action in CDB byte 1 bits 4-0, if hasSA
	hasSA   bool
	usage   []byte // CDB usage data; len is the CDB length
	flags   cmdFlags
	res     resClass
	handler handlerID
}

func u(b ...byte) []byte { return b }

// ff repeated n times, for usage data.
func ffs(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = 0xff
	}
	return b
}

func cat(parts ...[]byte) []byte {
	var b []byte
	for _, p := range parts {
		b = append(b, p...)
	}
	return b
}

// baseCommands is every command the logical unit can support. Byte 1 of
// READ and WRITE (10/12/16) admits the obsolete FUA_NV bit (bit 1), which
// initiators still set and the logical unit ignores (SBC-4 §5.15); byte 1
// of SYNCHRONIZE CACHE (10/16) likewise admits the obsolete SYNC_NV bit
// (bit 2, SBC-4 §5.26, §5.27), which libiscsi sets. [New]
// copies the rows its configuration allows into the logical unit's own
// table, which both dispatch and REPORT SUPPORTED OPERATION CODES read.
func baseCommands() []command {
	const group = 0x3f // GROUP NUMBER, six bits (SBC-4 §4.22)
	return []command{
		{op: scsi.OpTestUnitReady, usage: u(0x00, 0, 0, 0, 0, 0), flags: fMedium, res: resAllowed, handler: hTestUnitReady},
		{op: scsi.OpRequestSense, usage: u(0x03, 0x01, 0, 0, 0xff, 0), flags: fNoUA | fSPC2Exempt | fDuringSanitize, handler: hRequestSense},
		{op: scsi.OpInquiry, usage: u(0x12, 0x01, 0xff, 0xff, 0xff, 0), flags: fNoUA | fSPC2Exempt | fDuringSanitize, handler: hInquiry},
		{op: scsi.OpModeSelect6, usage: u(0x15, 0x11, 0, 0, 0xff, 0), res: resWrite, handler: hModeSelect},
		{op: scsi.OpReserve6, usage: u(0x16, 0, 0, 0, 0, 0), res: resOwn, handler: hReserve},
		{op: scsi.OpRelease6, usage: u(0x17, 0, 0, 0, 0, 0), res: resOwn, flags: fSPC2Exempt, handler: hRelease},
		{op: scsi.OpModeSense6, usage: u(0x1a, 0x08, 0xff, 0xff, 0xff, 0), res: resRead, handler: hModeSense},
		{op: scsi.OpStartStopUnit, usage: u(0x1b, 0x01, 0, 0x0f, 0xf7, 0), res: resWrite, handler: hStartStopUnit},
		{op: scsi.OpPreventAllowMediumRemoval, usage: u(0x1e, 0, 0, 0, 0x03, 0), res: resRead, handler: hPreventAllow},
		{op: scsi.OpReadCapacity10, usage: u(0x25, 0, 0, 0, 0, 0, 0, 0, 0, 0), flags: fMedium, handler: hReadCapacity10},
		{op: scsi.OpRead6, usage: u(0x08, 0x1f, 0xff, 0xff, 0xff, 0), flags: fMedium, res: resRead, handler: hRead},
		{op: scsi.OpWrite6, usage: u(0x0a, 0x1f, 0xff, 0xff, 0xff, 0), flags: fMedium | fWrite, res: resWrite, handler: hWrite},
		{op: scsi.OpRead10, usage: cat(u(0x28, 0x1e), ffs(4), u(group, 0xff, 0xff, 0)), flags: fMedium, res: resRead, handler: hRead},
		{op: scsi.OpWrite10, usage: cat(u(0x2a, 0x1a), ffs(4), u(group, 0xff, 0xff, 0)), flags: fMedium | fWrite, res: resWrite, handler: hWrite},
		{op: scsi.OpWriteAndVerify10, usage: cat(u(0x2e, 0x12), ffs(4), u(group, 0xff, 0xff, 0)), flags: fMedium | fWrite, res: resWrite, handler: hWriteAndVerify},
		{op: scsi.OpVerify10, usage: cat(u(0x2f, 0x16), ffs(4), u(group, 0xff, 0xff, 0)), flags: fMedium, res: resRead, handler: hVerify},
		{op: scsi.OpPreFetch10, usage: cat(u(0x34, 0x02), ffs(4), u(group, 0xff, 0xff, 0)), flags: fMedium, res: resRead, handler: hPreFetch},
		{op: scsi.OpSynchronizeCache10, usage: cat(u(0x35, 0x06), ffs(4), u(group, 0xff, 0xff, 0)), flags: fMedium, res: resWrite, handler: hSynchronizeCache},
		{op: scsi.OpReadDefectData10, usage: u(0x37, 0, 0x1f, 0, 0, 0, 0, 0xff, 0xff, 0), flags: fMedium, res: resRead, handler: hReadDefectData},
		{op: scsi.OpWriteSame10, usage: cat(u(0x41, 0x08), ffs(4), u(group, 0xff, 0xff, 0)), flags: fMedium | fWrite, res: resWrite, handler: hWriteSame},
		{op: scsi.OpUnmap, usage: u(0x42, 0, 0, 0, 0, 0, group, 0xff, 0xff, 0), flags: fMedium | fWrite, res: resWrite, handler: hUnmap},
		{op: scsi.OpSanitize, sa: 0x01, hasSA: true, usage: u(0x48, 0xbf, 0, 0, 0, 0, 0, 0xff, 0xff, 0), flags: fMedium | fWrite, res: resWrite, handler: hSanitize},
		{op: scsi.OpSanitize, sa: 0x02, hasSA: true, usage: u(0x48, 0xbf, 0, 0, 0, 0, 0, 0xff, 0xff, 0), flags: fMedium | fWrite, res: resWrite, handler: hSanitize},
		{op: scsi.OpSanitize, sa: 0x1f, hasSA: true, usage: u(0x48, 0xbf, 0, 0, 0, 0, 0, 0xff, 0xff, 0), flags: fMedium | fWrite, res: resWrite, handler: hSanitize},
		{op: scsi.OpModeSelect10, usage: u(0x55, 0x11, 0, 0, 0, 0, 0, 0xff, 0xff, 0), res: resWrite, handler: hModeSelect},
		{op: scsi.OpReserve10, usage: u(0x56, 0, 0, 0, 0, 0, 0, 0, 0, 0), res: resOwn, handler: hReserve},
		{op: scsi.OpRelease10, usage: u(0x57, 0, 0, 0, 0, 0, 0, 0, 0, 0), res: resOwn, flags: fSPC2Exempt, handler: hRelease},
		{op: scsi.OpModeSense10, usage: u(0x5a, 0x18, 0xff, 0xff, 0, 0, 0, 0xff, 0xff, 0), res: resRead, handler: hModeSense},
		{op: scsi.OpPersistentReserveIn, sa: 0x00, hasSA: true, usage: u(0x5e, 0x1f, 0, 0, 0, 0, 0, 0xff, 0xff, 0), flags: fSPC2Exempt, handler: hPersistentReserveIn},
		{op: scsi.OpPersistentReserveIn, sa: 0x01, hasSA: true, usage: u(0x5e, 0x1f, 0, 0, 0, 0, 0, 0xff, 0xff, 0), flags: fSPC2Exempt, handler: hPersistentReserveIn},
		{op: scsi.OpPersistentReserveIn, sa: 0x02, hasSA: true, usage: u(0x5e, 0x1f, 0, 0, 0, 0, 0, 0xff, 0xff, 0), flags: fSPC2Exempt, handler: hPersistentReserveIn},
		{op: scsi.OpPersistentReserveIn, sa: 0x03, hasSA: true, usage: u(0x5e, 0x1f, 0, 0, 0, 0, 0, 0xff, 0xff, 0), flags: fSPC2Exempt, handler: hPersistentReserveIn},
		{op: scsi.OpPersistentReserveOut, sa: 0x00, hasSA: true, usage: u(0x5f, 0x1f, 0xff, 0, 0, 0xff, 0xff, 0xff, 0xff, 0), res: resOwn, handler: hPersistentReserveOut},
		{op: scsi.OpPersistentReserveOut, sa: 0x01, hasSA: true, usage: u(0x5f, 0x1f, 0xff, 0, 0, 0xff, 0xff, 0xff, 0xff, 0), res: resOwn, handler: hPersistentReserveOut},
		{op: scsi.OpPersistentReserveOut, sa: 0x02, hasSA: true, usage: u(0x5f, 0x1f, 0xff, 0, 0, 0xff, 0xff, 0xff, 0xff, 0), res: resOwn, handler: hPersistentReserveOut},
		{op: scsi.OpPersistentReserveOut, sa: 0x03, hasSA: true, usage: u(0x5f, 0x1f, 0xff, 0, 0, 0xff, 0xff, 0xff, 0xff, 0), res: resOwn, handler: hPersistentReserveOut},
		{op: scsi.OpPersistentReserveOut, sa: 0x04, hasSA: true, usage: u(0x5f, 0x1f, 0xff, 0, 0, 0xff, 0xff, 0xff, 0xff, 0), res: resOwn, handler: hPersistentReserveOut},
		{op: scsi.OpPersistentReserveOut, sa: 0x05, hasSA: true, usage: u(0x5f, 0x1f, 0xff, 0, 0, 0xff, 0xff, 0xff, 0xff, 0), res: resOwn, handler: hPersistentReserveOut},
		{op: scsi.OpPersistentReserveOut, sa: 0x06, hasSA: true, usage: u(0x5f, 0x1f, 0xff, 0, 0, 0xff, 0xff, 0xff, 0xff, 0), res: resOwn, handler: hPersistentReserveOut},
		{op: scsi.OpExtendedCopy, sa: 0x00, hasSA: true, usage: cat(u(0x83, 0x1f), make([]byte, 8), ffs(4), u(0, 0)), flags: fMedium | fWrite, res: resWrite, handler: hExtendedCopy},
		{op: scsi.OpReceiveCopyResults, sa: 0x00, hasSA: true, usage: cat(u(0x84, 0x1f, 0xff), make([]byte, 7), ffs(4), u(0, 0)), handler: hReceiveCopyResults},
		{op: scsi.OpReceiveCopyResults, sa: 0x03, hasSA: true, usage: cat(u(0x84, 0x1f), make([]byte, 8), ffs(4), u(0, 0)), handler: hReceiveCopyResults},
		{op: scsi.OpRead16, usage: cat(u(0x88, 0x1e), ffs(12), u(group, 0)), flags: fMedium, res: resRead, handler: hRead},
		{op: scsi.OpCompareAndWrite, usage: cat(u(0x89, 0x18), ffs(8), u(0, 0, 0, 0xff, group, 0)), flags: fMedium | fWrite, res: resWrite, handler: hCompareAndWrite},
		{op: scsi.OpWrite16, usage: cat(u(0x8a, 0x1a), ffs(12), u(group, 0)), flags: fMedium | fWrite, res: resWrite, handler: hWrite},
		{op: scsi.OpOrWrite, usage: cat(u(0x8b, 0x1a), ffs(12), u(group, 0)), flags: fMedium | fWrite, res: resWrite, handler: hORWrite},
		{op: scsi.OpWriteAndVerify16, usage: cat(u(0x8e, 0x12), ffs(12), u(group, 0)), flags: fMedium | fWrite, res: resWrite, handler: hWriteAndVerify},
		{op: scsi.OpVerify16, usage: cat(u(0x8f, 0x16), ffs(12), u(group, 0)), flags: fMedium, res: resRead, handler: hVerify},
		{op: scsi.OpPreFetch16, usage: cat(u(0x90, 0x02), ffs(12), u(group, 0)), flags: fMedium, res: resRead, handler: hPreFetch},
		{op: scsi.OpSynchronizeCache16, usage: cat(u(0x91, 0x06), ffs(12), u(group, 0)), flags: fMedium, res: resWrite, handler: hSynchronizeCache},
		{op: scsi.OpWriteSame16, usage: cat(u(0x93, 0x09), ffs(12), u(group, 0)), flags: fMedium | fWrite, res: resWrite, handler: hWriteSame},
		{op: scsi.OpWriteAtomic16, usage: cat(u(0x9c, 0x18), ffs(8), u(0, 0, 0xff, 0xff, group, 0)), flags: fMedium | fWrite, res: resWrite, handler: hWriteAtomic},
		{op: scsi.OpServiceActionIn16, sa: 0x10, hasSA: true, usage: cat(u(0x9e, 0x1f), make([]byte, 8), ffs(4), u(0, 0)), flags: fMedium, handler: hReadCapacity16},
		{op: scsi.OpServiceActionIn16, sa: 0x12, hasSA: true, usage: cat(u(0x9e, 0x1f), ffs(12), u(0, 0)), flags: fMedium, res: resRead, handler: hGetLBAStatus},
		{op: scsi.OpReportLUNs, usage: u(0xa0, 0, 0xff, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0, 0), flags: fNoUA | fSPC2Exempt | fDuringSanitize, handler: hReportLUNs},
		{op: scsi.OpMaintenanceIn, sa: 0x0c, hasSA: true, usage: u(0xa3, 0x1f, 0x87, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0, 0), flags: fSPC2Exempt | fDuringSanitize, handler: hReportSupportedOpCodes},
		{op: scsi.OpRead12, usage: cat(u(0xa8, 0x1e), ffs(8), u(group, 0)), flags: fMedium, res: resRead, handler: hRead},
		{op: scsi.OpWrite12, usage: cat(u(0xaa, 0x1a), ffs(8), u(group, 0)), flags: fMedium | fWrite, res: resWrite, handler: hWrite},
		{op: scsi.OpWriteAndVerify12, usage: cat(u(0xae, 0x12), ffs(8), u(group, 0)), flags: fMedium | fWrite, res: resWrite, handler: hWriteAndVerify},
		{op: scsi.OpVerify12, usage: cat(u(0xaf, 0x16), ffs(8), u(group, 0)), flags: fMedium, res: resRead, handler: hVerify},
		{op: scsi.OpReadDefectData12, usage: u(0xb7, 0x1f, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0, 0), flags: fMedium, res: resRead, handler: hReadDefectData},
	}
}

// commandTable is a logical unit's supported commands indexed by
// operation code.
type commandTable [256][]command

// buildTable keeps the rows of baseCommands that the configuration
// supports and adjusts usage data to it, so that dispatch and REPORT
// SUPPORTED OPERATION CODES agree.
func (lu *LU) buildTable() {
	for _, c := range baseCommands() {
		switch c.handler {
		case hUnmap:
			if !lu.thin {
				continue // SBC-4 §5.30: UNMAP needs LBPU=1
			}
		case hWriteSame:
			if !lu.thin {
				c.usage[1] &^= 0x08 // UNMAP bit: LBPWS and LBPWS10 are zero
			}
		case hSanitize:
			if c.sa == 0x02 && lu.dealloc == nil {
				continue // BLOCK ERASE deallocates
			}
		}
		lu.table[c.op] = append(lu.table[c.op], c)
	}
}

// lookupCommand finds the row for cdb. When there is none it returns the
// sense to report: INVALID COMMAND OPERATION CODE for an unsupported
// operation code, INVALID FIELD IN CDB for an unsupported service action
// or a CDB shorter than its command.
func (lu *LU) lookupCommand(cdb []byte) (*command, scsi.Sense, bool) {
	rows := lu.table[cdb[0]]
	if len(rows) == 0 {
		return nil, scsi.NewSense(scsi.SenseIllegalRequest, scsi.ASCInvalidCommandOperationCode), false
	}
	c := &rows[0]
	if c.hasSA {
		if len(cdb) < 2 {
			return nil, scsi.NewSense(scsi.SenseIllegalRequest, scsi.ASCInvalidFieldInCDB), false
		}
		c = nil
		for i := range rows {
			if rows[i].sa == cdb[1]&0x1f {
				c = &rows[i]
				break
			}
		}
		if c == nil {
			return nil, scsi.InvalidFieldInCDB(1, 4), false
		}
	}
	if len(cdb) < len(c.usage) {
		return nil, scsi.NewSense(scsi.SenseIllegalRequest, scsi.ASCInvalidFieldInCDB), false
	}
	return c, scsi.Sense{}, true
}

// checkUsage rejects a CDB with a bit set outside the command's usage data
// (SPC-4 §4.2.5: reserved fields shall be zero, and the device server
// checks them) with INVALID FIELD IN CDB pointing at the highest such bit.
// The CONTROL byte's NACA bit falls under this rule: NORMACA is zero.
func checkUsage(c *command, cdb []byte) (scsi.Sense, bool) {
	for i := 1; i < len(c.usage); i++ {
		if bad := cdb[i] &^ c.usage[i]; bad != 0 {
			bit := 7
			for bad&(1<<bit) == 0 {
				bit--
			}
			return scsi.InvalidFieldInCDB(uint16(i), bit), true
		}
	}
	return scsi.Sense{}, false
}

func (lu *LU) dispatch(h handlerID, req *Request) Response {
	switch h {
	case hTestUnitReady:
		return good(0)
	case hRequestSense:
		return lu.requestSense(req)
	case hInquiry:
		return lu.inquiry(req)
	case hModeSelect:
		return lu.modeSelect(req)
	case hModeSense:
		return lu.modeSense(req)
	case hReserve:
		return lu.reserveSPC2(req)
	case hRelease:
		return lu.releaseSPC2(req)
	case hStartStopUnit:
		return lu.startStopUnit(req)
	case hPreventAllow:
		return lu.preventAllow(req)
	case hReadCapacity10:
		return lu.readCapacity10(req)
	case hReadCapacity16:
		return lu.readCapacity16(req)
	case hGetLBAStatus:
		return lu.getLBAStatus(req)
	case hRead:
		return lu.read(req)
	case hWrite:
		return lu.write(req, false)
	case hWriteAndVerify:
		return lu.write(req, true)
	case hVerify:
		return lu.verify(req)
	case hWriteSame:
		return lu.writeSame(req)
	case hUnmap:
		return lu.unmap(req)
	case hCompareAndWrite:
		return lu.compareAndWrite(req)
	case hORWrite:
		return lu.orWrite(req)
	case hWriteAtomic:
		return lu.writeAtomic(req)
	case hSynchronizeCache:
		return lu.synchronizeCache(req)
	case hPreFetch:
		return lu.preFetch(req)
	case hReportLUNs:
		return lu.reportLUNs(req)
	case hReportSupportedOpCodes:
		return lu.reportSupportedOpCodes(req)
	case hPersistentReserveIn:
		return lu.persistentReserveIn(req)
	case hPersistentReserveOut:
		return lu.persistentReserveOut(req)
	case hReadDefectData:
		return lu.readDefectData(req)
	case hExtendedCopy:
		return lu.extendedCopy(req)
	case hReceiveCopyResults:
		return lu.receiveCopyResults(req)
	}
	return senseResponse(scsi.SenseHardwareError, scsi.ASCInternalTargetFailure)
}

// DataOutLength returns how many bytes of Data-Out the command in cdb
// transfers from the initiator: the write data of a WRITE, the parameter
// list of a MODE SELECT, and so on; 0 for a command without Data-Out or a
// CDB the logical unit would reject. A transport uses it to size its
// buffer before it solicits data (for iSCSI, R2Ts up to
// ExpectedDataTransferLength; RFC 7143 §11.3.4).
func (lu *LU) DataOutLength(cdb []byte) int {
	if len(cdb) == 0 {
		return 0
	}
	c, _, ok := lu.lookupCommand(cdb)
	if !ok {
		return 0
	}
	n := int64(0)
	switch c.handler {
	case hWrite, hWriteAndVerify, hWriteAtomic, hORWrite:
		_, tl := decodeLBA(cdb)
		n = int64(tl) * lu.bs
	case hCompareAndWrite:
		n = 2 * int64(cdb[13]) * lu.bs
	case hVerify:
		_, tl := decodeLBA(cdb)
		switch (cdb[1] >> 1) & 3 {
		case 1:
			n = int64(tl) * lu.bs
		case 3:
			n = lu.bs
		}
	case hWriteSame:
		if cdb[0] == byte(scsi.OpWriteSame10) || cdb[1]&0x01 == 0 {
			n = lu.bs
		}
	case hModeSelect:
		if cdb[0] == byte(scsi.OpModeSelect6) {
			n = int64(cdb[4])
		} else {
			n = int64(binary.BigEndian.Uint16(cdb[7:]))
		}
	case hUnmap, hSanitize:
		n = int64(binary.BigEndian.Uint16(cdb[7:]))
	case hExtendedCopy:
		n = int64(binary.BigEndian.Uint32(cdb[10:]))
	case hPersistentReserveOut:
		n = int64(binary.BigEndian.Uint32(cdb[5:]))
	}
	if n > int64(^uint32(0)) || n > int64(maxInt) {
		return 0
	}
	return int(n)
}

// decodeLBA reads the LOGICAL BLOCK ADDRESS and the TRANSFER LENGTH (or
// its namesake: VERIFICATION LENGTH, NUMBER OF LOGICAL BLOCKS) of the
// READ/WRITE-shaped CDBs of SBC-4 §5 from their place in each CDB size.
// READ(6) and WRITE(6) take a TRANSFER LENGTH of zero as 256 blocks
// (SBC-4 §5.14).
func decodeLBA(cdb []byte) (lba uint64, n uint32) {
	switch scsi.OpCode(cdb[0]).GroupCode() {
	case 0: // 6-byte CDB
		lba = uint64(cdb[1]&0x1f)<<16 | uint64(binary.BigEndian.Uint16(cdb[2:]))
		n = uint32(cdb[4])
		if n == 0 {
			n = 256
		}
	case 1, 2: // 10-byte CDB
		lba = uint64(binary.BigEndian.Uint32(cdb[2:]))
		n = uint32(binary.BigEndian.Uint16(cdb[7:]))
	case 5: // 12-byte CDB
		lba = uint64(binary.BigEndian.Uint32(cdb[2:]))
		n = binary.BigEndian.Uint32(cdb[6:])
	case 4: // 16-byte CDB
		lba = binary.BigEndian.Uint64(cdb[2:])
		n = binary.BigEndian.Uint32(cdb[10:])
		if scsi.OpCode(cdb[0]) == scsi.OpWriteAtomic16 {
			n = uint32(binary.BigEndian.Uint16(cdb[12:]))
		}
	}
	return lba, n
}

// lengthField is the CDB byte of the TRANSFER LENGTH field, for field
// pointers.
func lengthField(cdb []byte) int {
	switch scsi.OpCode(cdb[0]).GroupCode() {
	case 0:
		return 4
	case 1, 2:
		return 7
	case 5:
		return 6
	}
	if scsi.OpCode(cdb[0]) == scsi.OpWriteAtomic16 {
		return 12
	}
	return 10
}
