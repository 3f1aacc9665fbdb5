//go:build !(linux || darwin || freebsd || netbsd || openbsd || dragonfly)

package peertest

import (
	"errors"
	"os"
)

// tryLock is not available without flock(2); tgtd does not run there either.
func tryLock(*os.File) (bool, error) { return false, errors.ErrUnsupported }
