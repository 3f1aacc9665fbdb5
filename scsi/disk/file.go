package disk

import (
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
)

// FileOptions configures [OpenFile].
type FileOptions struct {
	// ReadOnly opens the file for reading only; writes fail, and a logical
	// unit over it should be configured read-only (Config.ReadOnly).
	ReadOnly bool
	// Size, if positive, is the capacity to present; a regular file shorter
	// than Size is extended (sparsely) to it. Zero means the file's or
	// device's current size.
	Size int64
	// Create creates a regular file of Size bytes (sparse) if path does
	// not exist.
	Create bool
}

// File is a [Backend] over a regular file or a block device. It implements
// [Flusher] (fdatasync), [Deallocator] (FALLOC_FL_PUNCH_HOLE where the
// platform has it, else writing zeros), [ZeroWriter] (FALLOC_FL_ZERO_RANGE
// where available) and [AllocationMapper] (SEEK_DATA/SEEK_HOLE where
// available; otherwise every block reads as mapped).
type File struct {
	f        *os.File
	readOnly bool
	blockDev bool
	inMemory bool // a regular file on tmpfs (NonBlocking)

	mu   sync.RWMutex // guards size against Resize
	size int64
}

// OpenFile opens path as a [Backend]. For a block device the size comes
// from the device (BLKGETSIZE64 on Linux); for a regular file from its
// length, or opts.Size. The caller closes the File when done.
func OpenFile(path string, opts FileOptions) (*File, error) {
	flag := os.O_RDWR
	if opts.ReadOnly {
		flag = os.O_RDONLY
	}
	if opts.Create && !opts.ReadOnly {
		flag |= os.O_CREATE
	}
	f, err := os.OpenFile(path, flag, 0o644)
	if err != nil {
		return nil, err
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	b := &File{f: f, readOnly: opts.ReadOnly}
	switch mode := fi.Mode(); {
	case mode.IsRegular():
		b.inMemory = onTmpfs(f)
		b.size = fi.Size()
		if opts.Size > 0 && opts.Size != b.size {
			if opts.Size < b.size || opts.ReadOnly {
				b.size = min(opts.Size, b.size)
			} else {
				if err := f.Truncate(opts.Size); err != nil {
					f.Close()
					return nil, err
				}
				b.size = opts.Size
			}
		}
	case mode&os.ModeDevice != 0 && mode&os.ModeCharDevice == 0:
		b.blockDev = true
		b.size, err = deviceSize(f)
		if err != nil {
			f.Close()
			return nil, fmt.Errorf("disk: size of block device %s: %w", path, err)
		}
		if opts.Size > 0 {
			b.size = min(b.size, opts.Size)
		}
	default:
		f.Close()
		return nil, fmt.Errorf("disk: %s is neither a regular file nor a block device", path)
	}
	return b, nil
}

// NonBlocking reports whether the file lives in memory, on tmpfs (Linux),
// where reads, writes and fdatasync wait for no device ([NonBlocking]).
func (b *File) NonBlocking() bool { return b.inMemory }

// Close closes the underlying file.
func (b *File) Close() error { return b.f.Close() }

// Size returns the capacity in bytes.
func (b *File) Size() int64 {
	b.mu.RLock()
	defer b.mu.RUnlock()
	return b.size
}

// Resize changes the size of a regular file (truncating or extending it
// sparsely) or, for a block device, re-reads the device's size. Tell the
// logical unit with [LU.CapacityChanged].
func (b *File) Resize(size int64) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.blockDev {
		n, err := deviceSize(b.f)
		if err != nil {
			return err
		}
		b.size = n
		return nil
	}
	if size < 0 {
		return &RangeError{Op: "resize", Off: size, Size: b.size}
	}
	if err := b.f.Truncate(size); err != nil {
		return err
	}
	b.size = size
	return nil
}

// ReadAt reads len(p) bytes at off (pread). A read past the end of a
// regular file that is inside Size returns zeros.
func (b *File) ReadAt(p []byte, off int64) (int, error) {
	size := b.Size()
	if off == size && len(p) > 0 {
		return 0, io.EOF
	}
	if err := checkRange("read", off, int64(len(p)), size); err != nil {
		return 0, err
	}
	n, err := b.f.ReadAt(p, off)
	if errors.Is(err, io.EOF) {
		// The file was shortened underneath: inside Size reads as zeros.
		clear(p[n:])
		return len(p), nil
	}
	return n, err
}

// WriteAt writes p at off (pwrite).
func (b *File) WriteAt(p []byte, off int64) (int, error) {
	if err := checkRange("write", off, int64(len(p)), b.Size()); err != nil {
		return 0, err
	}
	return b.f.WriteAt(p, off)
}

// Flush makes written data durable (fdatasync where the platform has it,
// fsync otherwise).
func (b *File) Flush() error { return datasync(b.f) }

// Deallocate punches a hole in [off, off+n) so the range reads as zeros
// and its storage is released; where hole punching is not available it
// writes zeros.
func (b *File) Deallocate(off, n int64) error {
	if err := checkRange("deallocate", off, n, b.Size()); err != nil {
		return err
	}
	if n == 0 {
		return nil
	}
	if punchHole(b.f, off, n) == nil {
		return nil
	}
	return writeZeroBuffers(b.f, off, n)
}

// WriteZeroes writes n zero bytes at off, keeping the range allocated
// (FALLOC_FL_ZERO_RANGE where available, else writing zeros).
func (b *File) WriteZeroes(off, n int64) error {
	if err := checkRange("write zeroes", off, n, b.Size()); err != nil {
		return err
	}
	if n == 0 {
		return nil
	}
	if zeroRange(b.f, off, n) == nil {
		return nil
	}
	return writeZeroBuffers(b.f, off, n)
}

// Mapping reports whether off lies in data or in a hole of a regular file
// (SEEK_DATA/SEEK_HOLE), and the length of that run. Where the platform or
// file system cannot tell, the whole rest of the file reads as mapped.
func (b *File) Mapping(off int64) (bool, int64, error) {
	size := b.Size()
	if off < 0 || off >= size {
		return false, 0, &RangeError{Op: "mapping", Off: off, Len: 1, Size: size}
	}
	if b.blockDev {
		return true, size - off, nil
	}
	mapped, n, ok := seekMapping(b.f, off, size)
	if !ok {
		return true, size - off, nil
	}
	return mapped, n, nil
}

// zeroBlock is a shared read-only source of zeros.
var zeroBlock [64 << 10]byte

func writeZeroBuffers(w io.WriterAt, off, n int64) error {
	for n > 0 {
		k := min(n, int64(len(zeroBlock)))
		if _, err := w.WriteAt(zeroBlock[:k], off); err != nil {
			return err
		}
		off += k
		n -= k
	}
	return nil
}
