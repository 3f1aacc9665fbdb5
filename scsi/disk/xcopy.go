package disk

import (
	"bytes"
	"encoding/binary"

	"github.com/go-iscsi/iscsi/scsi"
)

// Copy manager limits reported by RECEIVE COPY RESULTS with OPERATING
// PARAMETERS (SPC-4 §6.18.4) and enforced by EXTENDED COPY.
const (
	xcopyMaxCSCDDescriptors    = 2
	xcopyMaxSegmentDescriptors = 8
	xcopyMaxDescriptorListLen  = 1024
	xcopyMaxSegmentBlocks      = 0xffff // the 16-bit BLOCK DEVICE NUMBER OF BLOCKS
	xcopyChunk                 = 1 << 20
)

// Descriptor type codes the copy manager implements (SPC-4 §6.4.5 table
// 129, §6.4.6 table 140).
const (
	segBlockToBlock      = 0x02 // block device to block device segment descriptor
	segBlockToBlockBytes = 0x0a // block device to block device with offsets
	cscdIdentification   = 0xe4 // identification descriptor CSCD descriptor
	cscdDescriptorLength = 32
)

// copyResult is what COPY STATUS reports about a finished copy operation
// (SPC-4 §6.18.2).
type copyResult struct {
	segments uint16 // SEGMENTS PROCESSED
	bytes    uint32 // TRANSFER COUNT, in bytes
	failed   bool   // completed with errors
}

// thirdPartyCopy returns the Third-party Copy VPD page (SPC-4 §7.8.17)
// of the copy manager of extendedCopy: the commands of the dispatch
// table with their service actions, and the limits that RECEIVE COPY
// RESULTS with OPERATING PARAMETERS reports. Copies run one at a time
// per command, with no inline data.
func (lu *LU) thirdPartyCopy() scsi.ThirdPartyCopy {
	p := scsi.ThirdPartyCopy{
		MaxCSCDDescriptorCount:        xcopyMaxCSCDDescriptors,
		MaxSegmentDescriptorCount:     xcopyMaxSegmentDescriptors,
		MaxDescriptorListLength:       xcopyMaxDescriptorListLen,
		Descriptors:                   []uint8{segBlockToBlock, segBlockToBlockBytes, cscdIdentification},
		TotalConcurrentCopies:         1,
		MaxIdentifiedConcurrentCopies: 1,
		MaxSegmentLength:              lu.maxSegmentLength(),
		DataSegmentGranularityLog2:    uint8(bitsLen(lu.bs)),
	}
	for _, op := range []scsi.OpCode{scsi.OpExtendedCopy, scsi.OpReceiveCopyResults} {
		c := scsi.ThirdPartyCopyCommand{OpCode: op}
		for _, row := range lu.table[op] {
			c.ServiceActions = append(c.ServiceActions, row.sa)
		}
		if len(c.ServiceActions) > 0 {
			p.Commands = append(p.Commands, c)
		}
	}
	return p
}

// maxHeldCopyResults bounds the copy results kept per I_T nexus.
const maxHeldCopyResults = 64

// extendedCopy serves EXTENDED COPY(LID1) (SPC-4 §6.4) for copies inside
// this logical unit: every CSCD descriptor must be an identification
// descriptor (type E4h) naming one of the logical unit's own designators,
// and every segment descriptor a block device to block device descriptor
// (type 02h) or one with offsets (type 0Ah). Inline data, held data and
// other logical units are not supported. The checks follow SPC-4 §6.4.3.5 in the order a copy manager
// meets them: the parameter list length, the descriptor list lengths
// against MAXIMUM DESCRIPTOR LIST LENGTH, the descriptor counts, the
// descriptor type codes; then each segment runs, and a segment that names
// an unknown CSCD descriptor or a range outside the medium aborts the copy
// with COPY ABORTED and a segment pointer (SPC-4 §6.4.4).
func (lu *LU) extendedCopy(req *Request) Response {
	plen := u32len(binary.BigEndian.Uint32(req.CDB[10:]))
	if plen == 0 {
		return good(0) // SPC-4 §6.4.1: no copy, not an error
	}
	if len(req.DataOut) < plen {
		return shortDataOut()
	}
	p, err := scsi.ParseExtendedCopyParameters(scsi.ExtendedCopyLID1, req.DataOut[:plen])
	if err != nil {
		if s, ok := scsi.SenseOf(err); ok {
			return checkCondition(s)
		}
		return senseResponse(scsi.SenseIllegalRequest, scsi.ASCParameterListLengthError)
	}
	const hdr = 16
	if len(p.CSCDDescriptors)+len(p.SegmentDescriptors) > xcopyMaxDescriptorListLen {
		return senseResponse(scsi.SenseIllegalRequest, scsi.ASCParameterListLengthError)
	}
	if len(p.InlineData) > 0 {
		return invalidParam(12, -1) // INLINE DATA LENGTH: MAXIMUM INLINE DATA LENGTH is zero
	}
	if len(p.CSCDDescriptors)%cscdDescriptorLength != 0 {
		return senseResponse(scsi.SenseIllegalRequest, scsi.ASCParameterListLengthError)
	}
	ncscd := len(p.CSCDDescriptors) / cscdDescriptorLength
	if ncscd > xcopyMaxCSCDDescriptors {
		return senseResponse(scsi.SenseIllegalRequest, scsi.ASCTooManyTargetDescriptors)
	}
	// Split the segment descriptors: type, flags, DESCRIPTOR LENGTH (bytes
	// 2-3, counting from byte 4), body.
	var segs [][]byte
	var segOffsets []int
	for rest, off := p.SegmentDescriptors, hdr+len(p.CSCDDescriptors); len(rest) > 0; {
		if len(rest) < 4 {
			return senseResponse(scsi.SenseIllegalRequest, scsi.ASCParameterListLengthError)
		}
		n := 4 + int(binary.BigEndian.Uint16(rest[2:]))
		if n > len(rest) {
			return senseResponse(scsi.SenseIllegalRequest, scsi.ASCParameterListLengthError)
		}
		if len(segs) == xcopyMaxSegmentDescriptors {
			return senseResponse(scsi.SenseIllegalRequest, scsi.ASCTooManySegmentDescriptors)
		}
		segs, segOffsets = append(segs, rest[:n]), append(segOffsets, off)
		rest, off = rest[n:], off+n
	}
	for i := 0; i < ncscd; i++ {
		if p.CSCDDescriptors[i*cscdDescriptorLength] != cscdIdentification {
			return senseResponse(scsi.SenseIllegalRequest, scsi.ASCUnsupportedTargetDescriptorTypeCode)
		}
	}
	for i, s := range segs {
		switch {
		case s[0] != segBlockToBlock && s[0] != segBlockToBlockBytes:
			return senseResponse(scsi.SenseIllegalRequest, scsi.ASCUnsupportedSegmentDescriptorTypeCode)
		case s[0] == segBlockToBlock && len(s) != 28:
			return invalidParam(segOffsets[i]+2, -1) // DESCRIPTOR LENGTH must be 0018h
		case s[0] == segBlockToBlockBytes && len(s) != 32:
			return invalidParam(segOffsets[i]+2, -1) // DESCRIPTOR LENGTH must be 001Ch
		case s[0] == segBlockToBlockBytes && binary.BigEndian.Uint32(s[8:]) > lu.maxSegmentLength():
			return invalidParam(segOffsets[i]+8, -1) // NUMBER OF BYTES
		case s[0] == segBlockToBlockBytes && int64(binary.BigEndian.Uint16(s[28:])) >= lu.bs:
			return invalidParam(segOffsets[i]+28, -1) // SOURCE BLOCK DEVICE BYTE OFFSET: within the first block
		case s[0] == segBlockToBlockBytes && int64(binary.BigEndian.Uint16(s[30:])) >= lu.bs:
			return invalidParam(segOffsets[i]+30, -1) // DESTINATION BLOCK DEVICE BYTE OFFSET
		}
	}
	// Which CSCD descriptors name this logical unit.
	local := make([]bool, ncscd)
	for i := range local {
		local[i] = lu.namesThisLU(p.CSCDDescriptors[i*cscdDescriptorLength:][:cscdDescriptorLength])
	}
	res := copyResult{}
	r := lu.runSegments(segs, segOffsets, local, &res)
	if p.ListIDUsage != 3 { // 11b: no list identifier, nothing is held
		lu.holdCopyResult(req.Nexus, uint8(p.ListIdentifier), res)
	}
	return r
}

// namesThisLU reports whether an identification descriptor CSCD
// descriptor (SPC-4 §6.4.5.6) designates this logical unit: a peripheral
// device type of 00h and a designation descriptor (bytes 4-27, a
// designator of at most 20 bytes) equal to one of the logical unit
// designators of the Device Identification VPD page. LU ID TYPE is
// ignored (SPC-4), and so is the obsolete NUL bit.
func (lu *LU) namesThisLU(d []byte) bool {
	if d[1]&0x1f != scsi.DeviceTypeDirectAccess {
		return false
	}
	codeSet, assoc, typ, n := d[4]&0x0f, (d[5]>>4)&3, d[5]&0x0f, int(d[7])
	if n > 20 || assoc != scsi.AssociationLogicalUnit {
		return false
	}
	value := d[8 : 8+n]
	for _, des := range lu.deviceIdentification(Nexus{}) {
		if des.CodeSet == codeSet && des.Type == typ && des.Association == assoc && bytes.Equal(des.Value, value) {
			return true
		}
	}
	return false
}

// copyAborted is COPY ABORTED (SPC-4 §6.4.4) with a segment pointer to
// the segment descriptor at offset in the parameter list.
func copyAborted(code scsi.ASC, offset int) Response {
	s := scsi.NewSense(scsi.SenseCopyAborted, code)
	s.SenseKeySpecific = scsi.SegmentPointer(true, uint16(offset), -1)
	return checkCondition(s)
}

// maxSegmentLength is the MAXIMUM SEGMENT LENGTH in bytes (SPC-4
// §6.18.4): the most a block to block segment descriptor's 16-bit NUMBER
// OF BLOCKS moves, which also bounds NUMBER OF BYTES of one with offsets.
func (lu *LU) maxSegmentLength() uint32 {
	return uint32(min(xcopyMaxSegmentBlocks*lu.bs, 0xffffffff))
}

// runSegments performs the segment descriptors in order, both ends in
// this logical unit. Block to block (SPC-4 §6.4.6.5) copies NUMBER OF
// BLOCKS from SOURCE BLOCK DEVICE LOGICAL BLOCK ADDRESS to DESTINATION
// BLOCK DEVICE LOGICAL BLOCK ADDRESS, DC (which side counts the blocks)
// not mattering. Block to block with offsets (SPC-4 §6.4.6.7) copies
// NUMBER OF BYTES from the SOURCE BLOCK DEVICE BYTE OFFSET of the source
// block to the DESTINATION BLOCK DEVICE BYTE OFFSET of the destination
// block, the bytes of the destination blocks outside that range kept
// (extendedCopy has checked that the offsets are within a block and the
// length within MAXIMUM SEGMENT LENGTH). A range past the last LBA aborts
// the copy.
func (lu *LU) runSegments(segs [][]byte, offsets []int, local []bool, res *copyResult) Response {
	blocks, bs := lu.blocks(), uint64(lu.bs)
	size := blocks * bs
	for i, s := range segs {
		src, dst := int(binary.BigEndian.Uint16(s[4:])), int(binary.BigEndian.Uint16(s[6:]))
		if src >= len(local) || dst >= len(local) || !local[src] || !local[dst] {
			res.failed = true
			return copyAborted(scsi.ASCUnreachableCopyTarget, offsets[i])
		}
		from, to := binary.BigEndian.Uint64(s[12:]), binary.BigEndian.Uint64(s[20:])
		var n, fromOff, toOff uint64 // bytes; offsets into the first blocks
		if s[0] == segBlockToBlock {
			n = uint64(binary.BigEndian.Uint16(s[10:])) * bs
		} else {
			n = uint64(binary.BigEndian.Uint32(s[8:]))
			fromOff, toOff = uint64(binary.BigEndian.Uint16(s[28:])), uint64(binary.BigEndian.Uint16(s[30:]))
		}
		if from > blocks || to > blocks {
			res.failed = true
			return copyAborted(scsi.ASCNoAdditionalSense, offsets[i])
		}
		srcAt, dstAt := from*bs+fromOff, to*bs+toOff
		if n > size-min(srcAt, size) || n > size-min(dstAt, size) {
			res.failed = true
			return copyAborted(scsi.ASCNoAdditionalSense, offsets[i])
		}
		if err := lu.copyBytes(int64(srcAt), int64(dstAt), int64(n)); err != nil {
			res.failed = true
			return copyAborted(scsi.ASCCopyTargetDeviceNotReachable, offsets[i])
		}
		res.segments++
		res.bytes += uint32(n)
	}
	if r, ok := lu.flushAfterWrite(false, 0); !ok {
		return r
	}
	return good(0)
}

// copyBytes copies total bytes of the medium from offset src to offset
// dst through a bounded buffer, back to front when the ranges overlap
// with the destination after the source.
func (lu *LU) copyBytes(src, dst, total int64) error {
	if total == 0 || src == dst {
		return nil
	}
	chunk := min(total, xcopyChunk)
	buf := make([]byte, chunk)
	backward := dst > src && dst < src+total
	lu.io.RLock()
	defer lu.io.RUnlock()
	for done := int64(0); done < total; {
		k := min(chunk, total-done)
		off := done
		if backward {
			off = total - done - k
		}
		if _, err := lu.be.ReadAt(buf[:k], src+off); err != nil {
			return err
		}
		if _, err := lu.be.WriteAt(buf[:k], dst+off); err != nil {
			return err
		}
		done += k
	}
	return nil
}

// holdCopyResult keeps res for COPY STATUS under the list identifier.
func (lu *LU) holdCopyResult(n Nexus, id uint8, res copyResult) {
	lu.mu.Lock()
	defer lu.mu.Unlock()
	ns := lu.nexuses[n]
	if ns == nil {
		return
	}
	if ns.copies == nil {
		ns.copies = make(map[uint8]copyResult)
	}
	if _, ok := ns.copies[id]; !ok && len(ns.copies) >= maxHeldCopyResults {
		return
	}
	ns.copies[id] = res
}

// receiveCopyResults serves RECEIVE COPY RESULTS (SPC-4 §6.18) with the
// service actions COPY STATUS(LID1) and OPERATING PARAMETERS.
func (lu *LU) receiveCopyResults(req *Request) Response {
	cdb := req.CDB
	alloc := u32len(binary.BigEndian.Uint32(cdb[10:]))
	if cdb[1]&0x1f == byte(scsi.OperatingParameters) {
		d := make([]byte, 44, 46)
		d[4] = 0x01 // SNLID: a list identifier is not required
		binary.BigEndian.PutUint16(d[8:], xcopyMaxCSCDDescriptors)
		binary.BigEndian.PutUint16(d[10:], xcopyMaxSegmentDescriptors)
		binary.BigEndian.PutUint32(d[12:], xcopyMaxDescriptorListLen)
		binary.BigEndian.PutUint32(d[16:], lu.maxSegmentLength()) // MAXIMUM SEGMENT LENGTH
		binary.BigEndian.PutUint16(d[34:], 1)                     // TOTAL CONCURRENT COPIES
		d[36] = 1                                                 // MAXIMUM CONCURRENT COPIES
		d[37] = byte(bitsLen(lu.bs))                              // DATA SEGMENT GRANULARITY (log2)
		d[43] = 3                                                 // IMPLEMENTED DESCRIPTOR LIST LENGTH
		d = append(d, segBlockToBlock, segBlockToBlockBytes, cscdIdentification)
		binary.BigEndian.PutUint32(d[0:], uint32(len(d)-4))
		return putDataIn(req, d, alloc)
	}
	// COPY STATUS(LID1) (SPC-4 §6.18.2).
	lu.mu.RLock()
	res, ok := lu.nexuses[req.Nexus].copyResult(cdb[2])
	lu.mu.RUnlock()
	if !ok {
		return invalidCDB(2, -1) // no copy operation with this LIST IDENTIFIER
	}
	d := make([]byte, 12)
	binary.BigEndian.PutUint32(d[0:], 8)
	d[4] = 0x01 // COPY MANAGER STATUS: completed without errors
	if res.failed {
		d[4] = 0x02 // completed with errors
	}
	binary.BigEndian.PutUint16(d[5:], res.segments)
	d[7] = 0 // TRANSFER COUNT UNITS: bytes
	binary.BigEndian.PutUint32(d[8:], res.bytes)
	return putDataIn(req, d, alloc)
}

func (ns *nexusState) copyResult(id uint8) (copyResult, bool) {
	if ns == nil {
		return copyResult{}, false
	}
	r, ok := ns.copies[id]
	return r, ok
}

// bitsLen returns log2 of a power of two.
func bitsLen(v int64) int {
	n := 0
	for v > 1 {
		v >>= 1
		n++
	}
	return n
}
