package pdu

import (
	"io"
	"net"
	"runtime"
	"syscall"
	"time"
	"unsafe"
)

// vecReader reads from a socket with readv(2): the rest of a data segment
// straight into the caller's buffer and, in the same system call, the
// bytes that follow it (the next PDU's header) into the Reader's buffer.
// Reading a large segment then costs one system call instead of two, and
// the next header needs no read of its own.
type vecReader struct {
	rc  syscall.RawConn
	iov [2]syscall.Iovec
	cnt uintptr // iovecs in use
	n   int
	err error
	fn  func(fd uintptr) bool // v.do, made once: a call allocates nothing
	// spin is how long do tries again on EAGAIN before it lets the
	// RawConn wait (Reader.SetBusyPoll); until is when that ends, zero
	// until the first EAGAIN of a read.
	spin  time.Duration
	until time.Time
	tries int // reads tried again while spinning, for the tests
}

// rawConnOf returns the RawConn of x when x is a stream socket (a
// *net.TCPConn, a *net.UnixConn), and nil otherwise.
func rawConnOf(x any) syscall.RawConn {
	var sc syscall.Conn
	switch c := x.(type) {
	case *net.TCPConn:
		sc = c
	case *net.UnixConn:
		sc = c
	default:
		return nil
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return nil
	}
	return rc
}

// newVecReader returns a vecReader for r when r is a stream socket, and
// nil otherwise.
func newVecReader(r io.Reader) *vecReader {
	rc := rawConnOf(r)
	if rc == nil {
		return nil
	}
	v := &vecReader{rc: rc}
	v.fn = v.do
	return v
}

// readvPoll reads into a, then b, as one read: it returns the bytes read (a
// filled first), io.EOF at the end of the stream, or the error of the
// connection (its deadline, its closing) as the RawConn reports it. When
// nothing is there to read it tries again for up to spin, yielding the
// processor between tries, before it waits for the socket.
func (v *vecReader) readvPoll(a, b []byte, spin time.Duration) (int, error) {
	if len(a) == 0 {
		a, b = b, nil
	}
	if len(a) == 0 {
		return 0, nil
	}
	v.iov[0].Base = &a[0]
	v.iov[0].SetLen(len(a))
	v.cnt = 1
	if len(b) > 0 {
		v.iov[1].Base = &b[0]
		v.iov[1].SetLen(len(b))
		v.cnt = 2
	}
	v.n, v.err, v.spin, v.until = 0, nil, spin, time.Time{}
	err := v.rc.Read(v.fn)
	// Drop the references to the buffers.
	v.iov = [2]syscall.Iovec{}
	if err == nil {
		err = v.err
	}
	if err != nil {
		return 0, err
	}
	if v.n == 0 {
		return 0, io.EOF
	}
	return v.n, nil
}

// do is the RawConn callback: false asks it to wait until the socket is
// readable again.
func (v *vecReader) do(fd uintptr) bool {
	for {
		// A raw system call: the socket is non-blocking, so readv never
		// sleeps, and the runtime need not be told of it (see
		// rawSyscallNote).
		n, _, e := syscall.RawSyscall(syscall.SYS_READV, fd, uintptr(unsafe.Pointer(&v.iov[0])), v.cnt)
		switch e {
		case 0:
			v.n = int(n)
			return true
		case syscall.EINTR:
			continue
		case syscall.EAGAIN:
			if v.spin <= 0 {
				return false
			}
			now := time.Now()
			if v.until.IsZero() {
				v.until = now.Add(v.spin)
			} else if now.After(v.until) {
				return false
			}
			v.tries++
			runtime.Gosched()
			continue
		}
		v.err = e
		return true
	}
}
