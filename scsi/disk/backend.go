package disk

import (
	"errors"
	"fmt"
	"io"
)

// Backend is the storage behind a logical unit: Size bytes addressed by
// byte offset. The logical unit only calls ReadAt and WriteAt inside
// [0, Size()), at offsets that are multiples of the logical block length
// and, except for a READ whose Data-In buffer is shorter than its
// transfer, for whole blocks. It calls them from many goroutines at once,
// so an implementation must be safe for concurrent use (as *os.File is).
//
// A backend may implement the optional interfaces [Flusher], [Deallocator],
// [ZeroWriter] and [AllocationMapper]; the logical unit discovers them by
// type assertion and reports the matching capabilities (write cache,
// logical block provisioning) in its INQUIRY VPD pages.
type Backend interface {
	io.ReaderAt
	io.WriterAt
	// Size is the capacity in bytes. The logical unit reads it once per
	// command, so a backend that grows or shrinks is seen at once; the
	// logical unit reports a change with a CAPACITY DATA HAS CHANGED unit
	// attention (SBC-4 §4.10) when told by [LU.CapacityChanged].
	Size() int64
}

// NonBlocking is a [Backend] whose calls complete without waiting for a
// device: its data is in memory, so ReadAt and WriteAt are copies and
// Flush returns at once. [Memory] is one, and so is a [File] on tmpfs. A
// logical unit over it reports its READs and WRITEs of at most
// [InlineMaxBytes] as completing without waiting ([LU.ExecutesInline]),
// which lets an iSCSI target run them on the goroutine that read them
// (package session, InlineUnit). NonBlocking reports whether that holds
// now; a backend that cannot tell returns false.
type NonBlocking interface {
	NonBlocking() bool
}

// Flusher is a [Backend] with a volatile cache. SBC-4 §5.24 SYNCHRONIZE
// CACHE and a write with the FUA bit set (SBC-4 §5.40) call Flush so that
// the data reaches non-volatile storage before GOOD status is returned.
type Flusher interface {
	Flush() error
}

// Deallocator is a thin-provisioned [Backend] (SBC-4 §4.7.3). Deallocate
// releases n bytes at off; afterwards ReadAt of that range must return
// zeros, because the logical unit reports LBPRZ=1 (SBC-4 §6.6.4). UNMAP
// (SBC-4 §5.30) and WRITE SAME with the UNMAP bit (SBC-4 §5.49) call it.
type Deallocator interface {
	Deallocate(off, n int64) error
}

// ZeroWriter is a [Backend] that can write n zero bytes at off faster than
// WriteAt of a zero buffer (FALLOC_FL_ZERO_RANGE, WRITE ZEROES). The range
// stays mapped (SBC-4 §4.7.3.3: anchored or mapped, not deallocated).
type ZeroWriter interface {
	WriteZeroes(off, n int64) error
}

// AllocationMapper is a [Backend] that knows which of its ranges are
// mapped, for GET LBA STATUS (SBC-4 §5.8). Mapping reports whether the
// byte at off is mapped and a length n > 0 of a run from off that has the
// same state; the run need not be the longest one (the logical unit merges
// adjacent runs of the same state). off is inside [0, Size()); off+n must
// not pass Size().
type AllocationMapper interface {
	Mapping(off int64) (mapped bool, n int64, err error)
}

// ErrOutsideBackend is returned by the backends of this package for an
// access that is not inside [0, Size()).
var ErrOutsideBackend = errors.New("disk: access outside the backend's size")

// ErrOutOfRange is the old name of [ErrOutsideBackend], which package
// login's ErrOutOfRange, a negotiated value out of its range, made
// ambiguous. It is the same error value.
//
// Deprecated: use ErrOutsideBackend.
var ErrOutOfRange = ErrOutsideBackend

// RangeError is the error of a backend access outside [0, Size()); it
// matches [ErrOutsideBackend] with errors.Is.
type RangeError struct {
	Op   string // "read", "write", "deallocate", "write zeroes", "mapping"
	Off  int64  // first byte of the access
	Len  int64  // bytes in the access
	Size int64  // the backend's size
}

func (e *RangeError) Error() string {
	return fmt.Sprintf("disk: %s of %d bytes at %d outside backend size %d", e.Op, e.Len, e.Off, e.Size)
}

// Is reports whether target is [ErrOutsideBackend].
func (e *RangeError) Is(target error) bool { return target == ErrOutsideBackend }

func checkRange(op string, off, n, size int64) error {
	if off < 0 || n < 0 || off > size || n > size-off {
		return &RangeError{Op: op, Off: off, Len: n, Size: size}
	}
	return nil
}
