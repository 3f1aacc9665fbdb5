package disk

import (
	"bytes"
	"encoding/binary"
	"errors"
	"syscall"

	"github.com/go-iscsi/iscsi/scsi"
)

// shortDataOut is the answer to a command whose Data-Out does not have
// the length its CDB requires: shorter for a parameter list, or other
// than exact for logical block data.
func shortDataOut() Response {
	return senseResponse(scsi.SenseIllegalRequest, scsi.ASCInvalidFieldInCommandInformationUnit)
}

// exactDataOut reports whether the Data-Out of req is exactly size bytes
// and the initiator's Data-Out buffer no larger (Request.DataOutBufferSize):
// logical block data other than WRITE's has the one length the CDB gives
// it, and a buffer of another length is an initiator that disagrees with
// the CDB about it, such as about the block length of WRITE SAME's one
// block (SBC-4 §5.49).
func exactDataOut(req *Request, size int64) bool {
	return int64(len(req.DataOut)) == size && (req.DataOutBufferSize == 0 || req.DataOutBufferSize == size)
}

// checkRangeBlocks applies SBC-4 §4.5: an access past the last LBA fails
// with LOGICAL BLOCK ADDRESS OUT OF RANGE, the INFORMATION field holding
// the first LBA the command named.
func (lu *LU) checkRangeBlocks(lba uint64, n uint64) (Response, bool) {
	blocks := lu.blocks()
	if lba > blocks || n > blocks-lba {
		return checkCondition(scsi.LBAOutOfRange(lba)), false
	}
	return Response{}, true
}

// readError maps a backend read failure to MEDIUM ERROR, UNRECOVERED READ
// ERROR (SBC-4 §4.18) with the first LBA of the command.
func readError(err error, lba uint64) Response {
	if errors.Is(err, ErrOutsideBackend) {
		return senseResponse(scsi.SenseHardwareError, scsi.ASCInternalTargetFailure)
	}
	s := scsi.NewSense(scsi.SenseMediumError, scsi.ASCUnrecoveredReadError)
	s.Information, s.InformationValid = lba, true
	return checkCondition(s)
}

// writeError maps a backend write failure: an exhausted thin pool is DATA
// PROTECT, SPACE ALLOCATION FAILED WRITE PROTECT (SBC-4 §4.7.3.7), other
// failures MEDIUM ERROR, WRITE ERROR.
func writeError(err error, lba uint64) Response {
	if errors.Is(err, syscall.ENOSPC) {
		return senseResponse(scsi.SenseDataProtect, scsi.ASCSpaceAllocationFailedWriteProtect)
	}
	if errors.Is(err, ErrOutsideBackend) {
		return senseResponse(scsi.SenseHardwareError, scsi.ASCInternalTargetFailure)
	}
	s := scsi.NewSense(scsi.SenseMediumError, scsi.ASCWriteError)
	s.Information, s.InformationValid = lba, true
	return checkCondition(s)
}

// read serves READ(6/10/12/16) (SBC-4 §5.14-§5.17) straight into DataIn.
// RDPROTECT is zero by the usage data (no protection information); DPO,
// FUA and RARC need no action since the logical unit keeps no cache of
// its own.
func (lu *LU) read(req *Request) Response {
	cdb := req.CDB
	lba, n := decodeLBA(cdb)
	if n > lu.cfg.MaxTransferLength {
		return invalidCDB(lengthField(cdb), -1)
	}
	if r, ok := lu.checkRangeBlocks(lba, uint64(n)); !ok {
		return r
	}
	size := int64(n) * lu.bs
	buf := req.DataIn
	if int64(len(buf)) > size {
		buf = buf[:size]
	}
	if len(buf) == 0 {
		return good(0)
	}
	lu.io.RLock()
	_, err := lu.be.ReadAt(buf, int64(lba)*lu.bs)
	lu.io.RUnlock()
	if err != nil {
		return readError(err, lba)
	}
	return good(len(buf))
}

// mustFlush tells whether a write must reach stable storage before GOOD:
// FUA set (SBC-4 §5.40), or the write cache disabled (WCE zero, SBC-4
// §6.5.5).
func (lu *LU) mustFlush(fua bool) bool {
	return lu.flusher != nil && (fua || !lu.mode.wce.Load())
}

// writeDone completes a write to the medium at lba that returned err:
// WRITE ERROR when it failed, else the flush that FUA or a disabled write
// cache asks for, then GOOD.
func (lu *LU) writeDone(err error, fua bool, lba uint64) Response {
	if err != nil {
		return writeError(err, lba)
	}
	if r, ok := lu.flushAfterWrite(fua, lba); !ok {
		return r
	}
	return good(0)
}

func (lu *LU) flushAfterWrite(fua bool, lba uint64) (Response, bool) {
	if lu.mustFlush(fua) {
		if err := lu.flusher.Flush(); err != nil {
			return writeError(err, lba), false
		}
	}
	return Response{}, true
}

// hasFUA reports the FUA bit (byte 1 bit 3) of the CDBs that have it;
// WRITE(6) has none.
func hasFUA(cdb []byte) bool {
	return scsi.OpCode(cdb[0]).GroupCode() != 0 && cdb[1]&0x08 != 0
}

// write serves WRITE(6/10/12/16) (SBC-4 §5.41-§5.44) and WRITE AND
// VERIFY(10/12/16) (SBC-4 §5.45-§5.47) straight from DataOut. A transfer
// length of zero transfers nothing and is not an error (except for
// WRITE(6), where zero means 256 blocks).
//
// A DataOut shorter than the CDB's transfer is the data the transport
// moved before its expected length ran out (RFC 7143 §11.4.5.1 overflow;
// FCP-4 §9.4.2 a): the command is processed normally except that data
// beyond that length is not transferred, so the bytes received are written
// from the first LBA on, the rest of the range is left as it was, and the
// status is GOOD; the transport reports the residual. A DataOut longer
// than the transfer is never sent by a transport that caps it at the CDB
// length and fails with INVALID FIELD IN COMMAND INFORMATION UNIT.
func (lu *LU) write(req *Request, verify bool) Response {
	cdb := req.CDB
	lba, n := decodeLBA(cdb)
	if n > lu.cfg.MaxTransferLength {
		return invalidCDB(lengthField(cdb), -1)
	}
	if r, ok := lu.checkRangeBlocks(lba, uint64(n)); !ok {
		return r
	}
	if n == 0 {
		return good(0)
	}
	size := int64(n) * lu.bs
	if int64(len(req.DataOut)) > size {
		return shortDataOut()
	}
	if len(req.DataOut) == 0 {
		return good(0)
	}
	lu.io.RLock()
	_, err := lu.be.WriteAt(req.DataOut, int64(lba)*lu.bs)
	lu.io.RUnlock()
	// WRITE AND VERIFY: the data written is the data received, so the
	// verification (SBC-4 §5.45, BYTCHK zero: medium verification) is a
	// flush to the medium.
	return lu.writeDone(err, hasFUA(cdb) || verify, lba)
}

// miscompare is MISCOMPARE, MISCOMPARE DURING VERIFY OPERATION with the
// offset of the first differing byte in INFORMATION (SBC-4 §5.3, §5.39).
func miscompare(offset int64) Response {
	s := scsi.NewSense(scsi.SenseMiscompare, scsi.ASCMiscompareDuringVerifyOperation)
	s.Information, s.InformationValid = uint64(offset), true
	return checkCondition(s)
}

// firstDiff returns the index of the first byte where a and b differ, or
// -1.
func firstDiff(a, b []byte) int {
	if bytes.Equal(a, b) {
		return -1
	}
	for i := range a {
		if a[i] != b[i] {
			return i
		}
	}
	return len(a)
}

// verify serves VERIFY(10/12/16) (SBC-4 §5.39-§5.41). BYTCHK 00b reads
// the blocks and reports a read failure as MEDIUM ERROR (medium
// verification); 01b compares VERIFICATION LENGTH blocks of Data-Out with
// the medium; 11b compares one block of Data-Out with every block; 10b is
// reserved.
func (lu *LU) verify(req *Request) Response {
	cdb := req.CDB
	lba, n := decodeLBA(cdb)
	bytchk := (cdb[1] >> 1) & 3
	if bytchk == 2 {
		return invalidCDB(1, 2)
	}
	if n > lu.cfg.MaxTransferLength {
		return invalidCDB(lengthField(cdb), -1)
	}
	if r, ok := lu.checkRangeBlocks(lba, uint64(n)); !ok {
		return r
	}
	if n == 0 {
		return good(0)
	}
	want := req.DataOut
	need := int64(n) * lu.bs
	switch bytchk {
	case 0:
		need = 0
	case 3:
		need = lu.bs
	}
	if bytchk != 0 && !exactDataOut(req, need) {
		return shortDataOut()
	}
	chunk := min(int64(n)*lu.bs, 64<<10)
	buf := make([]byte, chunk)
	lu.io.RLock()
	defer lu.io.RUnlock()
	off := int64(lba) * lu.bs
	for done := int64(0); done < int64(n)*lu.bs; {
		k := min(chunk, int64(n)*lu.bs-done)
		if _, err := lu.be.ReadAt(buf[:k], off+done); err != nil {
			return readError(err, lba)
		}
		for i := int64(0); i < k && bytchk != 0; {
			var ref []byte
			var step int64
			if bytchk == 1 {
				ref, step = want[done+i:done+k], k-i
			} else {
				ref, step = want, lu.bs
			}
			if d := firstDiff(buf[i:i+step], ref[:step]); d >= 0 {
				return miscompare(done + i + int64(d))
			}
			i += step
		}
		done += k
	}
	return good(0)
}

func allZero(b []byte) bool {
	for len(b) >= len(zeroBlock) {
		if !bytes.Equal(b[:len(zeroBlock)], zeroBlock[:]) {
			return false
		}
		b = b[len(zeroBlock):]
	}
	return bytes.Equal(b, zeroBlock[:len(b)])
}

// writeSame serves WRITE SAME(10/16) (SBC-4 §5.49, §5.50). The logical
// unit reports WSNZ=0, so NUMBER OF LOGICAL BLOCKS zero writes from the
// LBA through the last LBA (SBC-4 §5.49); a range longer than MAXIMUM
// WRITE SAME LENGTH, given or implied, is INVALID FIELD IN CDB. With the
// UNMAP bit (thin provisioning only) and zero data the range is
// deallocated, which reads back as zeros (LBPRZ=1); NDOB (WRITE SAME(16))
// means zero data without a Data-Out buffer. A Data-Out buffer of other
// than one block (none with NDOB) is INVALID FIELD IN COMMAND INFORMATION
// UNIT ([exactDataOut]), the medium unchanged. ANCHOR is not supported
// (ANC_SUP=0).
func (lu *LU) writeSame(req *Request) Response {
	cdb := req.CDB
	lba, n32 := decodeLBA(cdb)
	n := uint64(n32)
	if r, ok := lu.checkRangeBlocks(lba, n); !ok {
		return r
	}
	if n == 0 {
		n = lu.blocks() - lba
	}
	if n > lu.cfg.MaxWriteSameLength {
		return invalidCDB(lengthField(cdb), -1)
	}
	unmap := cdb[1]&0x08 != 0
	ndob := scsi.OpCode(cdb[0]) == scsi.OpWriteSame16 && cdb[1]&0x01 != 0
	var block []byte
	switch {
	case ndob && !exactDataOut(req, 0), !ndob && !exactDataOut(req, lu.bs):
		return shortDataOut()
	case !ndob:
		block = req.DataOut
	}
	if n == 0 {
		return good(0) // from the LBA after the last: nothing to write
	}
	zero := ndob || allZero(block)
	off, size := int64(lba)*lu.bs, int64(n)*lu.bs
	lu.io.RLock()
	var err error
	switch {
	case zero && unmap && lu.thin:
		err = lu.dealloc.Deallocate(off, size)
	case zero && lu.zeroer != nil:
		err = lu.zeroer.WriteZeroes(off, size)
	case zero:
		err = writeZeroBuffers(lu.be, off, size)
	default:
		err = lu.writeRepeated(block, off, size)
	}
	lu.io.RUnlock()
	if err != nil {
		return writeError(err, lba)
	}
	if r, ok := lu.flushAfterWrite(false, lba); !ok {
		return r
	}
	return good(0)
}

// writeRepeated writes block again and again over [off, off+size).
func (lu *LU) writeRepeated(block []byte, off, size int64) error {
	per := max(1, min(size, 256<<10)/lu.bs)
	buf := make([]byte, per*lu.bs)
	for i := int64(0); i < per; i++ {
		copy(buf[i*lu.bs:], block)
	}
	for size > 0 {
		k := min(size, int64(len(buf)))
		if _, err := lu.be.WriteAt(buf[:k], off); err != nil {
			return err
		}
		off += k
		size -= k
	}
	return nil
}

// unmap serves UNMAP (SBC-4 §5.30). The parameter list is an 8-byte
// header and 16-byte block descriptors; every descriptor is checked
// before any is applied, so a bad list changes nothing. With the write
// cache disabled (WCE zero, SBC-4 §6.5.5) the deallocation is flushed
// before GOOD, as WRITE SAME with UNMAP is, so that blocks reported
// unmapped (and read as zeros with LBPRZ) stay so after a power loss.
func (lu *LU) unmap(req *Request) Response {
	cdb := req.CDB
	plen := int(binary.BigEndian.Uint16(cdb[7:]))
	if plen == 0 {
		return good(0) // SBC-4 §5.30.1: not an error
	}
	if len(req.DataOut) < plen {
		return shortDataOut()
	}
	if plen < 8 {
		return senseResponse(scsi.SenseIllegalRequest, scsi.ASCParameterListLengthError)
	}
	p := req.DataOut[:plen]
	dataLen := int(binary.BigEndian.Uint16(p[0:]))
	descLen := int(binary.BigEndian.Uint16(p[2:]))
	if dataLen+2 > plen || descLen+8 > plen {
		return senseResponse(scsi.SenseIllegalRequest, scsi.ASCParameterListLengthError)
	}
	count := descLen / 16
	if uint64(count) > uint64(lu.cfg.MaxUnmapBlockDescriptorCount) {
		return invalidParam(2, -1)
	}
	// SBC-4 §5.30.1: the total of the descriptors' blocks is limited by
	// MAXIMUM UNMAP LBA COUNT; the field pointer names the descriptor that
	// passes it.
	total := uint64(0)
	for i := 0; i < count; i++ {
		d := p[8+16*i:]
		lba, nb := binary.BigEndian.Uint64(d), binary.BigEndian.Uint32(d[8:])
		if total += uint64(nb); total > uint64(lu.cfg.MaxUnmapLBACount) {
			return invalidParam(8+16*i+8, -1)
		}
		if r, ok := lu.checkRangeBlocks(lba, uint64(nb)); !ok {
			return r
		}
	}
	lu.io.RLock()
	defer lu.io.RUnlock()
	for i := 0; i < count; i++ {
		d := p[8+16*i:]
		lba, nb := binary.BigEndian.Uint64(d), binary.BigEndian.Uint32(d[8:])
		if nb == 0 {
			continue
		}
		if err := lu.dealloc.Deallocate(int64(lba)*lu.bs, int64(nb)*lu.bs); err != nil {
			return writeError(err, lba)
		}
	}
	if r, ok := lu.flushAfterWrite(false, 0); !ok {
		return r
	}
	return good(0)
}

// compareAndWrite serves COMPARE AND WRITE (SBC-4 §5.3): Data-Out is
// NUMBER OF LOGICAL BLOCKS of verify data then as many of write data. The
// compare and the write are one atomic operation with respect to every
// other command that writes the medium. A mismatch writes nothing and
// fails with MISCOMPARE, INFORMATION holding the offset of the first
// differing byte.
func (lu *LU) compareAndWrite(req *Request) Response {
	cdb := req.CDB
	lba := binary.BigEndian.Uint64(cdb[2:])
	n := cdb[13]
	if n > lu.cfg.MaxCompareAndWriteLength {
		return invalidCDB(13, -1)
	}
	if r, ok := lu.checkRangeBlocks(lba, uint64(n)); !ok {
		return r
	}
	if n == 0 {
		return good(0) // SBC-4 §5.3: zero blocks is not an error
	}
	size := int64(n) * lu.bs
	if !exactDataOut(req, 2*size) {
		return shortDataOut()
	}
	buf := make([]byte, size)
	lu.io.Lock()
	if _, err := lu.be.ReadAt(buf, int64(lba)*lu.bs); err != nil {
		lu.io.Unlock()
		return readError(err, lba)
	}
	if d := firstDiff(buf, req.DataOut[:size]); d >= 0 {
		lu.io.Unlock()
		return miscompare(int64(d))
	}
	_, err := lu.be.WriteAt(req.DataOut[size:2*size], int64(lba)*lu.bs)
	lu.io.Unlock()
	return lu.writeDone(err, hasFUA(cdb), lba)
}

// orWrite serves ORWRITE(16) (SBC-4 §5.8) with BMOP zero, the only
// operation of ORWRITE(16): each byte of the TRANSFER LENGTH blocks at
// the LBA becomes its old value ORed with the byte of Data-Out, read,
// combined and written as one operation atomic with respect to every
// other command that writes the medium (as COMPARE AND WRITE is).
// ORPROTECT is zero by the usage data (no protection information); a
// TRANSFER LENGTH of zero changes nothing and is not an error; more than
// MAXIMUM TRANSFER LENGTH is INVALID FIELD IN CDB (SBC-4 §6.6.4). The
// Data-Out buffer must hold every block: a partial OR would leave the
// range half combined.
func (lu *LU) orWrite(req *Request) Response {
	cdb := req.CDB
	lba, n := decodeLBA(cdb)
	if n > lu.cfg.MaxTransferLength {
		return invalidCDB(lengthField(cdb), -1)
	}
	if r, ok := lu.checkRangeBlocks(lba, uint64(n)); !ok {
		return r
	}
	if n == 0 {
		return good(0)
	}
	size := int64(n) * lu.bs
	if !exactDataOut(req, size) {
		return shortDataOut()
	}
	buf := make([]byte, size)
	lu.io.Lock()
	if _, err := lu.be.ReadAt(buf, int64(lba)*lu.bs); err != nil {
		lu.io.Unlock()
		return readError(err, lba)
	}
	for i, b := range req.DataOut {
		buf[i] |= b
	}
	_, err := lu.be.WriteAt(buf, int64(lba)*lu.bs)
	lu.io.Unlock()
	return lu.writeDone(err, hasFUA(cdb), lba)
}

// writeAtomic serves WRITE ATOMIC(16) (SBC-4 §5.48, §4.29): the write is
// atomic with respect to every other command that reads or writes the
// medium. ATOMIC BOUNDARY must be zero (MAXIMUM ATOMIC BOUNDARY SIZE is
// zero); TRANSFER LENGTH is at most MAXIMUM ATOMIC TRANSFER LENGTH.
func (lu *LU) writeAtomic(req *Request) Response {
	cdb := req.CDB
	lba, n := decodeLBA(cdb)
	// The range is checked first: a transfer past the last LBA is LOGICAL
	// BLOCK ADDRESS OUT OF RANGE whatever its length (SBC-4 §4.5), as
	// libiscsi's WriteAtomic16.BeyondEol expects.
	if r, ok := lu.checkRangeBlocks(lba, uint64(n)); !ok {
		return r
	}
	if n > lu.cfg.MaxAtomicTransferLength {
		return invalidCDB(12, -1)
	}
	if n == 0 {
		return good(0)
	}
	size := int64(n) * lu.bs
	if !exactDataOut(req, size) {
		return shortDataOut()
	}
	lu.io.Lock()
	_, err := lu.be.WriteAt(req.DataOut, int64(lba)*lu.bs)
	lu.io.Unlock()
	return lu.writeDone(err, hasFUA(cdb), lba)
}

// synchronizeCache serves SYNCHRONIZE CACHE(10/16) (SBC-4 §5.24, §5.25):
// the range is checked, then the backend flushed as a whole. IMMED needs
// no action: the flush completes before the command does.
func (lu *LU) synchronizeCache(req *Request) Response {
	lba, n := decodeLBA(req.CDB)
	if r, ok := lu.checkRangeBlocks(lba, uint64(n)); !ok {
		return r
	}
	if lu.flusher != nil {
		if err := lu.flusher.Flush(); err != nil {
			return writeError(err, lba)
		}
	}
	return good(0)
}

// preFetch serves PRE-FETCH(10/16) (SBC-4 §5.10, §5.11). The logical unit
// keeps no cache of its own, so after the range check it returns GOOD,
// which SBC-4 specifies when the blocks do not all fit in the cache.
func (lu *LU) preFetch(req *Request) Response {
	lba, n := decodeLBA(req.CDB)
	if r, ok := lu.checkRangeBlocks(lba, uint64(n)); !ok {
		return r
	}
	return good(0)
}

// maxInt is the largest int, 2^31-1 on 32-bit platforms.
const maxInt = int(^uint(0) >> 1)

// u32len converts a 32-bit length field to int, saturating where int is
// 32 bits wide.
func u32len(v uint32) int {
	if uint64(v) > uint64(maxInt) {
		return maxInt
	}
	return int(v)
}

// putDataIn copies data, cut to the allocation length alloc (SPC-4
// §4.2.5.6: a shorter allocation length truncates the data without
// error), into DataIn.
func putDataIn(req *Request, data []byte, alloc int) Response {
	if len(data) > alloc {
		data = data[:alloc]
	}
	return good(copy(req.DataIn, data))
}

// readCapacity10 serves READ CAPACITY(10) (SBC-4 §5.20): RETURNED LOGICAL
// BLOCK ADDRESS is the last LBA, or FFFFFFFFh when it does not fit, which
// tells the initiator to use READ CAPACITY(16).
func (lu *LU) readCapacity10(req *Request) Response {
	var d [8]byte
	return putDataIn(req, scsi.NewReadCapacity10Data(lu.lastLBA(), uint32(lu.bs)).Append(d[:0]), len(d))
}

func (lu *LU) lastLBA() uint64 {
	if b := lu.blocks(); b > 0 {
		return b - 1
	}
	return 0
}

// readCapacity16 serves READ CAPACITY(16) (SBC-4 §5.21): the last LBA,
// the block length, the LOGICAL BLOCKS PER PHYSICAL BLOCK EXPONENT of
// Config.PhysicalBlockSize (LOWEST ALIGNED LOGICAL BLOCK ADDRESS 0), and
// in byte 14 LBPME and LBPRZ for a thin-provisioned logical unit.
func (lu *LU) readCapacity16(req *Request) Response {
	var d [32]byte
	data := scsi.ReadCapacity16Data{LastLBA: lu.lastLBA(), BlockLength: uint32(lu.bs), LBPME: lu.thin, LBPRZ: lu.thin,
		LBPPBE: uint8(bitsLen(int64(lu.cfg.PhysicalBlockSize) / lu.bs))}
	return lu.putBuilt(req, u32len(binary.BigEndian.Uint32(req.CDB[10:])))(data.Append(d[:0]))
}

// Provisioning status values of LBA status descriptors (SBC-4 §5.8.2).
const (
	lbaMapped      = 0
	lbaDeallocated = 1
)

// getLBAStatus serves GET LBA STATUS (SBC-4 §5.8): descriptors of runs of
// mapped and deallocated blocks from STARTING LOGICAL BLOCK ADDRESS, as
// many as the allocation length holds. A fully provisioned logical unit
// (SBC-4 §4.7.2), or one whose backend is no [AllocationMapper], reports
// every block mapped.
func (lu *LU) getLBAStatus(req *Request) Response {
	cdb := req.CDB
	start := binary.BigEndian.Uint64(cdb[2:])
	alloc := u32len(binary.BigEndian.Uint32(cdb[10:]))
	blocks := lu.blocks()
	if start >= blocks {
		return checkCondition(scsi.LBAOutOfRange(start))
	}
	maxDesc := 1
	if alloc > 24 {
		maxDesc = min((alloc-8)/16, 512)
	}
	descs := make([]scsi.LBAStatusDescriptor, 0, maxDesc)
	lba := start
	// Bounded: each step covers at least one block, and there are at most
	// 1<<16 steps.
	for steps := 0; lba < blocks && steps < 1<<16; steps++ {
		status := uint8(lbaMapped)
		n := blocks - lba
		if lu.mapper != nil && lu.thin {
			mapped, nbytes, err := lu.mapper.Mapping(int64(lba) * lu.bs)
			if err != nil {
				return readError(err, lba)
			}
			if !mapped {
				status = lbaDeallocated
				n = uint64(nbytes / lu.bs) // a partial block is mapped
			} else {
				n = uint64((nbytes + lu.bs - 1) / lu.bs)
			}
			n = max(1, min(n, blocks-lba))
		}
		// Merge with the previous descriptor of the same status while the
		// 32-bit NUMBER OF LOGICAL BLOCKS holds the sum.
		if k := len(descs) - 1; k >= 0 && descs[k].ProvisioningStatus == status && uint64(descs[k].NumberOfBlocks)+n <= 0xffffffff {
			descs[k].NumberOfBlocks += uint32(n)
		} else {
			if len(descs) == maxDesc {
				break
			}
			n = min(n, 0xffffffff)
			descs = append(descs, scsi.LBAStatusDescriptor{LBA: lba, NumberOfBlocks: uint32(n), ProvisioningStatus: status})
		}
		lba += n
	}
	return putDataIn(req, scsi.AppendLBAStatus(nil, descs), alloc)
}
