//go:build !linux

package disk

import (
	"errors"
	"io"
	"os"
)

var errUnsupported = errors.New("disk: not supported on this platform")

// onTmpfs reports false: tmpfs is known on Linux only.
func onTmpfs(*os.File) bool { return false }

// deviceSize finds a block device's size by seeking to its end.
func deviceSize(f *os.File) (int64, error) { return f.Seek(0, io.SeekEnd) }

func datasync(f *os.File) error { return f.Sync() }

func punchHole(*os.File, int64, int64) error { return errUnsupported }

func zeroRange(*os.File, int64, int64) error { return errUnsupported }

func seekMapping(*os.File, int64, int64) (bool, int64, bool) { return false, 0, false }
