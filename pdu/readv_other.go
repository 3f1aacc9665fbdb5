//go:build !linux

package pdu

import "io"

// vecReader is the readv(2) path of linux; elsewhere a Reader reads with
// the io.Reader alone.
type vecReader struct{}

func newVecReader(io.Reader) *vecReader { return nil }

func (*vecReader) readv(a, b []byte) (int, error) { panic("pdu: readv without a vecReader") }
