package disk

import "github.com/go-iscsi/iscsi/scsi"

// InlineMaxBytes is the largest READ or WRITE, in bytes, that
// [LU.ExecutesInline] reports as completing without waiting: a copy of
// 1 MiB takes tens of microseconds.
const InlineMaxBytes = 1 << 20

// ExecutesInline reports whether the command in cdb completes without
// waiting, so that a caller may run it on a goroutine that must not be
// held up for long (package session's InlineUnit: the reader of an iSCSI
// connection). It is true for TEST UNIT READY, and for READ and WRITE
// (6/10/12/16, SBC-4 §5.14-§5.17, §5.41-§5.44) of at most [InlineMaxBytes]
// when the backend is [NonBlocking] now; false for every other command,
// whose work may be long (WRITE SAME, UNMAP, EXTENDED COPY, SANITIZE) or
// wait for another command (COMPARE AND WRITE), and while a sanitize
// operation runs (SBC-4 §4.11). It reads the CDB only and takes no lock.
// A type that embeds *LU and wraps Execute with something that may wait
// (a throttle, a hook) inherits this method and must override it.
func (lu *LU) ExecutesInline(cdb []byte) bool {
	if len(cdb) == 0 || lu.sanitizing.Load() {
		return false
	}
	switch scsi.OpCode(cdb[0]) {
	case scsi.OpTestUnitReady:
		return true
	case scsi.OpRead6, scsi.OpRead10, scsi.OpRead12, scsi.OpRead16,
		scsi.OpWrite6, scsi.OpWrite10, scsi.OpWrite12, scsi.OpWrite16:
	default:
		return false
	}
	if len(cdb) < scsi.OpCode(cdb[0]).CDBLength() {
		return false
	}
	if lu.nb == nil || !lu.nb.NonBlocking() {
		return false
	}
	_, n := decodeLBA(cdb)
	return int64(n)*lu.bs <= InlineMaxBytes
}
