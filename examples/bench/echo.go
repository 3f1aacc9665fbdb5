package main

import (
	"context"
	"errors"
	"io"
	"net"
	"time"
)

// The ceiling: what one loopback TCP connection carries between two Go
// programs in the shape of an iSCSI command, with no protocol at all. The
// client keeps qd requests in flight; the server answers each. For a read,
// a request is 48 bytes (the size of a SCSI Command PDU's header) and the
// answer the data; for a write, the request is the header and the data and
// the answer 48 bytes (a SCSI Response). An iSCSI target that reached this
// would spend nothing on iSCSI or SCSI.
//
// runEcho, the ceiling, has each side be one goroutine that does what a
// pipelined target and initiator do at best: it reads whatever has arrived
// into a large buffer and answers (or sends again) every request (answer)
// completed in it with one vectored write. Every byte is still copied into
// and out of the kernel once each way. runEchoSerial, the echo the bench
// first called the ceiling, reads and answers one request at a time, its
// client sending from a second goroutine: pipelined targets went past it.
const echoRequest = 48

// echoReadBuffer is how much one read of the echo takes at most.
const echoReadBuffer = 1 << 20

// runEcho serves and drives the batching echo over 127.0.0.1 for d, with requests
// of request bytes and answers of answer bytes, and returns the answers
// per second.
func runEcho(ctx context.Context, request, answer, qd int, d time.Duration) (float64, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	go func() {
		c, err := l.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		// The client has at most qd requests outstanding: each read
		// completes at most qd of them.
		w := newEchoWriter(answer, qd)
		buf := make([]byte, echoReadBuffer)
		var got int // request bytes read and not yet answered
		for {
			n, err := c.Read(buf)
			if err != nil {
				return
			}
			got += n
			if k := got / request; k > 0 {
				got -= k * request
				if err := w.write(c, k); err != nil {
					return
				}
			}
		}
	}()
	c, err := net.Dial("tcp", l.Addr().String())
	if err != nil {
		return 0, err
	}
	defer c.Close()
	stop := context.AfterFunc(ctx, func() { c.SetDeadline(time.Now()) })
	defer stop()

	w := newEchoWriter(request, qd)
	if err := w.write(c, qd); err != nil {
		if ctx.Err() != nil {
			return 0, ctx.Err()
		}
		return 0, err
	}
	buf := make([]byte, echoReadBuffer)
	var got int // answer bytes read and not yet counted
	var done int64
	startAt := time.Now()
	deadline := startAt.Add(d)
	for time.Now().Before(deadline) {
		n, err := c.Read(buf)
		if err != nil {
			if ctx.Err() != nil {
				return 0, ctx.Err()
			}
			return 0, err
		}
		got += n
		k := got / answer
		if k == 0 {
			continue
		}
		got -= k * answer
		done += int64(k)
		if err := w.write(c, k); err != nil {
			if ctx.Err() != nil {
				return 0, ctx.Err()
			}
			return 0, err
		}
	}
	elapsed := time.Since(startAt)
	if errors.Is(ctx.Err(), context.Canceled) {
		return 0, ctx.Err()
	}
	return float64(done) / elapsed.Seconds(), nil
}

// echoWriter writes k messages of one size in one vectored write.
type echoWriter struct {
	msgs [][]byte // max slices of the one message buffer
	arr  [][]byte // room for the slices of one write
	bufs net.Buffers
}

func newEchoWriter(size, max int) *echoWriter {
	msg := make([]byte, size)
	w := &echoWriter{msgs: make([][]byte, max), arr: make([][]byte, 0, max)}
	for i := range w.msgs {
		w.msgs[i] = msg
	}
	return w
}

// write sends k messages, k at most the max of newEchoWriter.
func (w *echoWriter) write(c net.Conn, k int) error {
	// WriteTo consumes bufs and may shorten its first slice: write from
	// a copy of the message slices.
	w.bufs = append(w.arr[:0], w.msgs[:k]...)
	_, err := w.bufs.WriteTo(c)
	return err
}

// runEchoSerial serves and drives the one-at-a-time echo as runEcho does.
func runEchoSerial(ctx context.Context, request, answer, qd int, d time.Duration) (float64, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	go func() {
		c, err := l.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		req := make([]byte, request)
		resp := make([]byte, answer)
		for {
			if _, err := io.ReadFull(c, req); err != nil {
				return
			}
			if _, err := c.Write(resp); err != nil {
				return
			}
		}
	}()
	c, err := net.Dial("tcp", l.Addr().String())
	if err != nil {
		return 0, err
	}
	defer c.Close()

	credits := make(chan struct{}, qd)
	for range qd {
		credits <- struct{}{}
	}
	quit := make(chan struct{})
	sent := make(chan error, 1)
	go func() {
		req := make([]byte, request)
		for {
			select {
			case <-credits:
			case <-quit:
				sent <- nil
				return
			case <-ctx.Done():
				sent <- ctx.Err()
				return
			}
			if _, err := c.Write(req); err != nil {
				sent <- err
				return
			}
		}
	}()
	buf := make([]byte, answer)
	var done int64
	startAt := time.Now()
	deadline := startAt.Add(d)
	for time.Now().Before(deadline) {
		if _, err := io.ReadFull(c, buf); err != nil {
			return 0, err
		}
		done++
		credits <- struct{}{}
	}
	elapsed := time.Since(startAt)
	close(quit)
	c.SetDeadline(time.Now())
	if err := <-sent; err != nil && !errors.Is(err, context.Canceled) {
		var ne net.Error
		if !errors.As(err, &ne) || !ne.Timeout() {
			return 0, err
		}
	}
	return float64(done) / elapsed.Seconds(), nil
}
