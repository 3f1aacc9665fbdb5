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
const echoRequest = 48

// runEcho serves and drives the echo over 127.0.0.1 for d, with requests
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
