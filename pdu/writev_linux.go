package pdu

import (
	"io"
	"syscall"
	"unsafe"
)

// rawSyscallNote: the Reader and Writer call readv(2) and writev(2) on
// their socket with syscall.RawSyscall, not syscall.Syscall. The socket of
// a net.Conn is non-blocking, so neither call sleeps: when it would, it
// returns EAGAIN and the RawConn waits in the network poller. Telling the
// runtime of a system call (entersyscall) costs little in itself, but
// while every processor is idle, as between the PDUs of one command at
// queue depth 1, the runtime's monitor thread (sysmon) sleeps until the
// next such call wakes it, and then polls every 20 µs for a while: a
// wakeup of a second thread and three context switches per command, on
// each side of the connection (perf stat and perf record, PERFORMANCE.md).
// A raw call leaves the monitor asleep; it wakes for timers and for the
// system calls of the rest of the program as before.

// vecWriter writes the slices of a [Writer]'s batch to a socket with
// writev(2), as [net.Buffers] does, but with raw system calls (see
// rawSyscallNote).
type vecWriter struct {
	rc  syscall.RawConn
	iov []syscall.Iovec // the batch's slices; grows to the largest batch
	off int             // first iovec not yet written
	err error
	fn  func(fd uintptr) bool // w.do, made once: a call allocates nothing
}

// maxIovecs is the most slices one writev(2) takes (IOV_MAX on Linux).
const maxIovecs = 1024

// newVecWriter returns a vecWriter for w when w is a stream socket (a
// *net.TCPConn, a *net.UnixConn), and nil otherwise.
func newVecWriter(w io.Writer) *vecWriter {
	rc := rawConnOf(w)
	if rc == nil {
		return nil
	}
	v := &vecWriter{rc: rc}
	v.fn = v.do
	return v
}

// writev writes every byte of bufs, in order. It returns the error of
// the connection (its deadline, its closing) as the RawConn reports it,
// or that of writev(2); after an error an unknown part of bufs was sent.
func (v *vecWriter) writev(bufs [][]byte) error {
	v.iov = v.iov[:0]
	for _, b := range bufs {
		if len(b) == 0 {
			continue
		}
		var vec syscall.Iovec
		vec.Base = &b[0]
		vec.SetLen(len(b))
		v.iov = append(v.iov, vec)
	}
	v.off, v.err = 0, nil
	var err error
	if len(v.iov) > 0 {
		err = v.rc.Write(v.fn)
	}
	// Drop the references to the callers' buffers.
	clear(v.iov)
	if err == nil {
		err = v.err
	}
	return err
}

// do is the RawConn callback: false asks it to wait until the socket is
// writable again.
func (v *vecWriter) do(fd uintptr) bool {
	for v.off < len(v.iov) {
		cnt := min(len(v.iov)-v.off, maxIovecs)
		n, _, e := syscall.RawSyscall(syscall.SYS_WRITEV, fd, uintptr(unsafe.Pointer(&v.iov[v.off])), uintptr(cnt))
		switch e {
		case 0:
		case syscall.EINTR:
			continue
		case syscall.EAGAIN:
			return false
		default:
			v.err = e
			return true
		}
		if n == 0 {
			v.err = io.ErrShortWrite
			return true
		}
		v.advance(int(n))
	}
	return true
}

// advance drops the first n bytes written from the iovecs.
func (v *vecWriter) advance(n int) {
	for n > 0 {
		iov := &v.iov[v.off]
		l := int(iov.Len)
		if n < l {
			iov.Base = (*byte)(unsafe.Add(unsafe.Pointer(iov.Base), n))
			iov.SetLen(l - n)
			return
		}
		n -= l
		v.off++
	}
}
