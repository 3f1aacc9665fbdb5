package disk

import (
	"context"
	"encoding/binary"
	"sync/atomic"

	"github.com/go-iscsi/iscsi/scsi"
)

// startStopUnit serves START STOP UNIT (SBC-4 §5.25). A POWER CONDITION
// other than 0h (START_VALID) makes LOEJ and START ignored, and the
// logical unit has no power states to enter, so the command completes
// without effect. With LOEJ, a removable logical unit ejects (START zero)
// or loads (START one) its medium; either fails with ILLEGAL REQUEST,
// MEDIUM REMOVAL PREVENTED while an I_T nexus prevents removal. Loading
// establishes NOT READY TO READY CHANGE, MEDIUM MAY HAVE CHANGED for the
// other I_T nexuses. The logical unit is always spun up, so START alone
// changes nothing; LOEJ on a fixed medium is ignored.
func (lu *LU) startStopUnit(req *Request) Response {
	cdb := req.CDB
	if cdb[4]>>4 != 0 {
		return good(0)
	}
	loej, start := cdb[4]&0x02 != 0, cdb[4]&0x01 != 0
	if !loej || !lu.cfg.Removable {
		return good(0)
	}
	lu.mu.Lock()
	defer lu.mu.Unlock()
	if len(lu.preventers) > 0 {
		return senseResponse(scsi.SenseIllegalRequest, scsi.ASCMediumRemovalPrevented)
	}
	if start {
		if lu.noMedium.Load() {
			lu.noMedium.Store(false)
			for n, ns := range lu.nexuses {
				if n != req.Nexus {
					queueUA(ns, scsi.ASCNotReadyToReadyChangeMediumMayHaveChanged)
				}
			}
		}
		return good(0)
	}
	lu.noMedium.Store(true)
	return good(0)
}

// preventAllow serves PREVENT ALLOW MEDIUM REMOVAL (SPC-4 §6.15, SBC-4
// §5.9): PREVENT 01b records the I_T nexus as preventing removal, 00b
// withdraws it; removal is allowed when no nexus prevents it. PREVENT 1xb
// (medium changer) is not supported. A fixed-medium logical unit accepts
// the command without effect.
func (lu *LU) preventAllow(req *Request) Response {
	prevent := req.CDB[4] & 0x03
	if prevent > 1 {
		return invalidCDB(4, 1)
	}
	if !lu.cfg.Removable {
		return good(0)
	}
	lu.mu.Lock()
	defer lu.mu.Unlock()
	if prevent == 1 {
		lu.preventers[req.Nexus] = struct{}{}
	} else {
		delete(lu.preventers, req.Nexus)
	}
	return good(0)
}

// reportLUNs serves REPORT LUNS (SPC-4 §6.33) with Config.LUNs. SELECT
// REPORT 00h, 01h (well known: none) and 02h are supported; the allocation
// length must be at least 16.
func (lu *LU) reportLUNs(req *Request) Response {
	cdb := req.CDB
	alloc := u32len(binary.BigEndian.Uint32(cdb[6:]))
	if alloc < 16 {
		return invalidCDB(6, -1)
	}
	var luns []scsi.LUN
	switch cdb[2] {
	case 0x00, 0x02:
		luns = lu.cfg.LUNs
		if len(luns) == 0 {
			luns = []scsi.LUN{{}}
		}
	case 0x01:
	default:
		return invalidCDB(2, -1)
	}
	return putDataIn(req, scsi.AppendReportLUNsData(nil, luns), alloc)
}

// supported describes a dispatch table row as package scsi's
// REPORT SUPPORTED OPERATION CODES builders take it. No timeouts are
// specified (zero).
func (c *command) supported() scsi.SupportedCommand {
	usage := c.usage
	if c.hasSA {
		// SPC-4 §6.35.3: the CDB USAGE DATA holds the service action in
		// its field, not usage bits.
		usage = append([]byte(nil), usage...)
		usage[1] = usage[1]&^0x1f | c.sa
	}
	return scsi.SupportedCommand{Op: c.op, ServiceAction: scsi.ServiceAction(c.sa), HasServiceAction: c.hasSA, Usage: usage}
}

// reportSupportedOpCodes serves REPORT SUPPORTED OPERATION CODES (SPC-4
// §6.35) from the logical unit's own dispatch table: REPORTING OPTIONS
// 000b lists every command, 001b one operation code without service
// actions, 010b one operation code and service action, 011b either. RCTD
// adds command timeouts descriptors with no timeout values.
func (lu *LU) reportSupportedOpCodes(req *Request) Response {
	cdb := req.CDB
	rctd := cdb[2]&0x80 != 0
	opts := cdb[2] & 0x07
	op := cdb[3]
	sa := binary.BigEndian.Uint16(cdb[4:])
	alloc := u32len(binary.BigEndian.Uint32(cdb[6:]))
	if opts == scsi.ReportAllCommands {
		var all []scsi.SupportedCommand
		for i := range lu.table {
			for j := range lu.table[i] {
				all = append(all, lu.table[i][j].supported())
			}
		}
		return putDataIn(req, scsi.AppendAllCommands(nil, all, rctd), alloc)
	}
	rows := lu.table[op]
	var found *command
	switch opts {
	case scsi.ReportOneCommand:
		if len(rows) > 0 && rows[0].hasSA {
			return invalidCDB(2, 2)
		}
		if sa != 0 {
			return invalidCDB(4, -1)
		}
		if len(rows) > 0 {
			found = &rows[0]
		}
	case scsi.ReportOneCommandWithSA, scsi.ReportOneCommandMaybeSA:
		if opts == scsi.ReportOneCommandWithSA && len(rows) > 0 && !rows[0].hasSA {
			return invalidCDB(2, 2)
		}
		for i := range rows {
			if !rows[i].hasSA || uint16(rows[i].sa) == sa {
				found = &rows[i]
				break
			}
		}
		if found != nil && !found.hasSA && sa != 0 && opts == scsi.ReportOneCommandWithSA {
			found = nil
		}
	default:
		return invalidCDB(2, 2)
	}
	if found == nil {
		return putDataIn(req, scsi.AppendOneCommand(nil, scsi.SupportNone, scsi.SupportedCommand{}, rctd), alloc)
	}
	return putDataIn(req, scsi.AppendOneCommand(nil, scsi.SupportStandard, found.supported(), rctd), alloc)
}

// readDefectData serves READ DEFECT DATA(10) and (12) (SBC-4 §5.22,
// §5.23): an empty list in the requested format, with PLISTV and GLISTV
// echoing REQ_PLIST and REQ_GLIST.
func (lu *LU) readDefectData(req *Request) Response {
	cdb := req.CDB
	if scsi.OpCode(cdb[0]) == scsi.OpReadDefectData10 {
		out := []byte{0, cdb[2] & 0x1f, 0, 0}
		return putDataIn(req, out, int(binary.BigEndian.Uint16(cdb[7:])))
	}
	out := []byte{0, cdb[1] & 0x1f, 0, 0, 0, 0, 0, 0}
	return putDataIn(req, out, u32len(binary.BigEndian.Uint32(cdb[6:])))
}

// sanitize serves SANITIZE (SBC-4 §5.36). OVERWRITE writes the
// initialization pattern over every block (the passes of OVERWRITE COUNT
// leave the same result as the last one, so one is written: the pattern,
// inverted when INVERT is set and the count is even); BLOCK ERASE
// deallocates every block; EXIT FAILURE MODE leaves the failure mode a
// failed sanitize operation left (SBC-4 §4.11.4). CRYPTOGRAPHIC ERASE is
// not supported.
//
// The sanitize operation runs on a goroutine of its own (SBC-4 §4.11.2):
// with IMMED set the command completes with GOOD once the operation has
// started; with IMMED clear it completes when the operation does, but an
// abort of the command (ctx done) ends only the command, since neither a
// task management function nor a reset stops a sanitize operation (SBC-4
// §4.11.2). Meanwhile media access fails with NOT READY, SANITIZE IN
// PROGRESS and a progress indication, which REQUEST SENSE also returns.
func (lu *LU) sanitize(ctx context.Context, req *Request) Response {
	cdb := req.CDB
	sa := cdb[1] & 0x1f
	immed := cdb[1]&0x80 != 0
	plen := int(binary.BigEndian.Uint16(cdb[7:]))
	size := int64(lu.blocks()) * lu.bs
	switch sa {
	case 0x1f: // EXIT FAILURE MODE
		if plen != 0 {
			return invalidCDB(7, -1)
		}
		lu.sanitizeFailed.Store(false)
		return good(0)
	case 0x02: // BLOCK ERASE
		if plen != 0 {
			return invalidCDB(7, -1)
		}
		return lu.startSanitize(ctx, immed, size, func(off, n int64) error { return lu.dealloc.Deallocate(off, n) })
	}
	// OVERWRITE: parameter list of SBC-4 §5.36.3: byte 0 INVERT, TEST,
	// OVERWRITE COUNT; bytes 2-3 INITIALIZATION PATTERN LENGTH; pattern.
	if plen < 5 || plen > int(lu.bs)+4 {
		return invalidCDB(7, -1)
	}
	if len(req.DataOut) < plen {
		return shortDataOut()
	}
	p := req.DataOut[:plen]
	if p[0]&0x60 != 0 {
		return invalidParam(0, 6) // TEST
	}
	count := p[0] & 0x1f
	if count == 0 {
		return invalidParam(0, 4)
	}
	pl := int(binary.BigEndian.Uint16(p[2:]))
	if pl == 0 || pl+4 != plen {
		return invalidParam(2, -1)
	}
	block := make([]byte, lu.bs)
	for i := 0; i < len(block); i += pl {
		copy(block[i:], p[4:plen])
	}
	if p[0]&0x80 != 0 && count%2 == 0 {
		for i := range block {
			block[i] = ^block[i]
		}
	}
	if allZero(block) && lu.zeroer != nil {
		return lu.startSanitize(ctx, immed, size, lu.zeroer.WriteZeroes)
	}
	return lu.startSanitize(ctx, immed, size, func(off, n int64) error { return lu.writeRepeated(block, off, n) })
}

// sanitizeChunk is how much of the medium a sanitize operation treats at
// a time, between updates of its progress.
const sanitizeChunk = 1 << 20

// sanitizeOp is a sanitize operation in progress.
type sanitizeOp struct {
	total int64        // bytes to sanitize
	done  atomic.Int64 // bytes sanitized so far
	end   chan struct{}
	err   error // set before end is closed
}

// progress is the PROGRESS INDICATION of op (SPC-4 §4.5.2.4.4): the
// fraction done, in 65536ths.
func (op *sanitizeOp) progress() uint16 {
	if op.total <= 0 {
		return 0
	}
	return uint16(min(65535, op.done.Load()*65536/op.total))
}

// sanitizeInProgress is the sense data of a command that meets a sanitize
// operation: NOT READY, LOGICAL UNIT NOT READY, SANITIZE IN PROGRESS with
// the progress indication (SBC-4 §4.11.2, SPC-4 §4.5.2.4.4).
func (lu *LU) sanitizeInProgress() scsi.Sense {
	s := scsi.NewSense(scsi.SenseNotReady, scsi.ASCLogicalUnitNotReadySanitizeInProgress)
	if op := lu.sanitizeRun.Load(); op != nil {
		s.SenseKeySpecific = scsi.ProgressIndication(op.progress())
	}
	return s
}

// startSanitize starts a sanitize operation that applies op to the whole
// medium (size bytes) in chunks, holding the medium exclusively, then
// flushes. The sanitizing state is set before it returns, so every
// command after the SANITIZE sees it. With immed the answer is GOOD at
// once; otherwise it is the outcome of the operation, or TASK ABORTED when
// ctx ends first.
func (lu *LU) startSanitize(ctx context.Context, immed bool, size int64, op func(off, n int64) error) Response {
	run := &sanitizeOp{total: size, end: make(chan struct{})}
	lu.sanitizeRun.Store(run)
	lu.sanitizing.Store(true)
	go func() {
		lu.io.Lock()
		var err error
		for off := int64(0); off < size && err == nil; off += sanitizeChunk {
			n := min(sanitizeChunk, size-off)
			err = op(off, n)
			run.done.Add(n)
		}
		lu.io.Unlock()
		if err == nil && lu.flusher != nil {
			err = lu.flusher.Flush()
		}
		run.err = err
		// SBC-4 §4.11.4: a failed sanitize operation leaves the logical
		// unit in sanitize failure mode; a completed one ends it.
		lu.sanitizeFailed.Store(err != nil)
		lu.sanitizing.Store(false)
		close(run.end)
	}()
	if immed {
		return good(0)
	}
	var done <-chan struct{}
	if ctx != nil {
		done = ctx.Done()
	}
	select {
	case <-run.end:
	case <-done:
		return Response{Status: scsi.StatusTaskAborted}
	}
	if run.err != nil {
		return senseResponse(scsi.SenseMediumError, scsi.ASCSanitizeCommandFailed)
	}
	return good(0)
}

// wabereqGood is the WABEREQ value of the Block Device Characteristics
// page (SBC-4 §6.6.2): a read of a logical block that SANITIZE BLOCK ERASE
// sanitized completes with GOOD status. BLOCK ERASE deallocates every
// block, and a deallocated block reads back as zeros (LBPRZ).
const wabereqGood = 0x1

// blockDeviceCharacteristics returns the Block Device Characteristics VPD
// page (SBC-4 §6.6.2): a non-rotating medium whose blocks read with GOOD
// status after SANITIZE BLOCK ERASE.
func (lu *LU) blockDeviceCharacteristics() scsi.BlockDeviceCharacteristics {
	return scsi.BlockDeviceCharacteristics{MediumRotationRate: scsi.RotationRateNonRotating, WABEREQ: wabereqGood}
}
