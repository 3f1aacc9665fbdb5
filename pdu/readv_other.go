//go:build !linux

package pdu

import (
	"io"
	"time"
)

// vecReader is the readv(2) path of linux; elsewhere a Reader reads with
// the io.Reader alone.
type vecReader struct{}

func newVecReader(io.Reader) *vecReader { return nil }

func (*vecReader) readvPoll(a, b []byte, spin time.Duration) (int, error) {
	panic("pdu: readv without a vecReader")
}
