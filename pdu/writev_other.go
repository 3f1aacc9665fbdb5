//go:build !linux

package pdu

import "io"

// vecWriter is the raw writev(2) path of linux; elsewhere a Writer writes
// with net.Buffers.
type vecWriter struct{}

func newVecWriter(io.Writer) *vecWriter { return nil }

func (*vecWriter) writev([][]byte) error {
	panic("pdu: writev without a vecWriter")
}
