//go:build linux

package disk

import (
	"os"
	"unsafe"

	"golang.org/x/sys/unix"
)

// onTmpfs reports whether f is on a tmpfs file system (statfs(2)
// f_type TMPFS_MAGIC), whose files are pages in memory.
func onTmpfs(f *os.File) bool {
	var st unix.Statfs_t
	rc, err := f.SyscallConn()
	if err != nil {
		return false
	}
	var serr error
	if err := rc.Control(func(fd uintptr) { serr = unix.Fstatfs(int(fd), &st) }); err != nil || serr != nil {
		return false
	}
	return st.Type == unix.TMPFS_MAGIC
}

// deviceSize asks a block device for its size in bytes (BLKGETSIZE64).
func deviceSize(f *os.File) (int64, error) {
	var size uint64
	rc, err := f.SyscallConn()
	if err != nil {
		return 0, err
	}
	var errno unix.Errno
	if err := rc.Control(func(fd uintptr) {
		_, _, errno = unix.Syscall(unix.SYS_IOCTL, fd, unix.BLKGETSIZE64, uintptr(unsafe.Pointer(&size)))
	}); err != nil {
		return 0, err
	}
	if errno != 0 {
		return 0, errno
	}
	return int64(size), nil
}

func datasync(f *os.File) error {
	rc, err := f.SyscallConn()
	if err != nil {
		return err
	}
	var serr error
	if err := rc.Control(func(fd uintptr) { serr = unix.Fdatasync(int(fd)) }); err != nil {
		return err
	}
	return serr
}

func fallocate(f *os.File, mode uint32, off, n int64) error {
	rc, err := f.SyscallConn()
	if err != nil {
		return err
	}
	var serr error
	if err := rc.Control(func(fd uintptr) { serr = unix.Fallocate(int(fd), mode, off, n) }); err != nil {
		return err
	}
	return serr
}

func punchHole(f *os.File, off, n int64) error {
	return fallocate(f, unix.FALLOC_FL_PUNCH_HOLE|unix.FALLOC_FL_KEEP_SIZE, off, n)
}

func zeroRange(f *os.File, off, n int64) error {
	return fallocate(f, unix.FALLOC_FL_ZERO_RANGE|unix.FALLOC_FL_KEEP_SIZE, off, n)
}

// seekMapping finds the data/hole run at off with lseek(SEEK_DATA) and
// lseek(SEEK_HOLE). lseek moves the
// shared file offset, which the backend never uses (all I/O is pread and
// pwrite), so concurrent calls are harmless.
func seekMapping(f *os.File, off, size int64) (mapped bool, n int64, ok bool) {
	rc, err := f.SyscallConn()
	if err != nil {
		return false, 0, false
	}
	var data, hole int64
	var derr, herr error
	if err := rc.Control(func(fd uintptr) {
		data, derr = unix.Seek(int(fd), off, unix.SEEK_DATA)
		hole, herr = unix.Seek(int(fd), off, unix.SEEK_HOLE)
	}); err != nil {
		return false, 0, false
	}
	if herr != nil {
		return false, 0, false
	}
	if derr == unix.ENXIO {
		// No data at or after off: the rest is a hole.
		return false, size - off, true
	}
	if derr != nil {
		return false, 0, false
	}
	if data == off {
		return true, min(hole, size) - off, true
	}
	return false, min(data, size) - off, true
}
