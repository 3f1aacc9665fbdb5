package pdu

import (
	"bytes"
	"errors"
	"io"
	"net"
	"os"
	"runtime"
	"testing"
	"time"
)

// tcpPair returns the two ends of a loopback TCP connection.
func tcpPair(t *testing.T) (client, server *net.TCPConn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	accepted := make(chan net.Conn, 1)
	go func() {
		c, _ := ln.Accept()
		accepted <- c
	}()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	s := <-accepted
	if s == nil {
		t.Fatal("accept failed")
	}
	t.Cleanup(func() { c.Close(); s.Close() })
	return c.(*net.TCPConn), s.(*net.TCPConn)
}

// TestReaderTCPReadData reads PDUs with large and small data segments off
// a TCP connection with ReadHeader and ReadData, the way the target and
// the initiator do, while the writer sends them in pieces of odd sizes
// with pauses, so that segments arrive split across reads: on Linux the
// segments are read with readv(2) into the caller's buffer together with
// the header that follows.
func TestReaderTCPReadData(t *testing.T) {
	for _, d := range allDigests {
		want := mixedPDUs(48, 200<<10)
		wire := encodeAll(t, want, d)
		c, s := tcpPair(t)
		errc := make(chan error, 1)
		go func() {
			for i, step := 0, 1; len(wire) > 0; i++ {
				n := min(len(wire), step)
				if _, err := c.Write(wire[:n]); err != nil {
					errc <- err
					return
				}
				wire = wire[n:]
				step = step*7 + 13
				if step > 300<<10 {
					step = 1
				}
				if i%3 == 0 {
					time.Sleep(time.Millisecond)
				}
			}
			errc <- c.CloseWrite()
		}()
		r := newTestReader(s, d, 1<<20)
		if runtime.GOOS == "linux" && r.vec == nil {
			t.Fatal("no readv on a *net.TCPConn")
		}
		for i := range want {
			p, err := r.ReadHeader()
			if err != nil {
				t.Fatalf("%+v: PDU %d: %v", d, i, err)
			}
			if p.Header != want[i].Header || !bytes.Equal(p.AHS, want[i].AHS) {
				t.Fatalf("%+v: PDU %d: header differs", d, i)
			}
			dst := make([]byte, p.Header.DataSegmentLength())
			if err := r.ReadData(dst); err != nil {
				t.Fatalf("%+v: PDU %d: ReadData: %v", d, i, err)
			}
			if !bytes.Equal(dst, want[i].Data) {
				t.Fatalf("%+v: PDU %d: data differs", d, i)
			}
		}
		if _, err := r.ReadHeader(); err != io.EOF {
			t.Fatalf("%+v: end: %v, want io.EOF", d, err)
		}
		if err := <-errc; err != nil {
			t.Fatal(err)
		}
	}
}

// TestReaderTCPTruncatedData ends the stream inside a data segment: the
// error is a sticky ConnectionError for io.ErrUnexpectedEOF.
func TestReaderTCPTruncatedData(t *testing.T) {
	p := PDU{Data: make([]byte, 100<<10)}
	p.Header.DataIn().Init()
	wire := encodeAll(t, []PDU{p}, Digests{Data: true})
	c, s := tcpPair(t)
	go func() {
		c.Write(wire[:len(wire)-1000])
		c.CloseWrite()
	}()
	r := newTestReader(s, Digests{Data: true}, 1<<20)
	if _, err := r.ReadHeader(); err != nil {
		t.Fatal(err)
	}
	err := r.ReadData(make([]byte, len(p.Data)))
	var ce *ConnectionError
	if !errors.As(err, &ce) || !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("ReadData: %v, want a ConnectionError for io.ErrUnexpectedEOF", err)
	}
	if _, err2 := r.ReadHeader(); err2 != err {
		t.Fatalf("next ReadHeader: %v, want the sticky %v", err2, err)
	}
}

// TestReaderTCPDeadline: a read deadline ends a ReadData waiting for the
// rest of a segment with an error matching os.ErrDeadlineExceeded.
func TestReaderTCPDeadline(t *testing.T) {
	p := PDU{Data: make([]byte, 64<<10)}
	p.Header.DataIn().Init()
	wire := encodeAll(t, []PDU{p}, Digests{})
	c, s := tcpPair(t)
	if _, err := c.Write(wire[:BHSLength+100]); err != nil {
		t.Fatal(err)
	}
	r := newTestReader(s, Digests{}, 1<<20)
	if _, err := r.ReadHeader(); err != nil {
		t.Fatal(err)
	}
	s.SetReadDeadline(time.Now().Add(20 * time.Millisecond))
	if err := r.ReadData(make([]byte, len(p.Data))); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("ReadData: %v, want a deadline error", err)
	}
}

// TestReaderTCPDataDigestError corrupts one byte of a large segment read
// over TCP (partly copied from the buffer, partly read in place, its
// digest computed piece by piece): ReadData reports the data digest error
// and the next PDU is read as usual (RFC 7143 §7.8).
func TestReaderTCPDataDigestError(t *testing.T) {
	d := Digests{Header: true, Data: true}
	big := PDU{Data: bytes.Repeat([]byte{3, 1, 4}, 50<<10)}
	big.Header.DataIn().Init()
	next := PDU{}
	next.Header.NOPIn().Init()
	for _, at := range []int{0, 20 << 10, 149 << 10} { // in the buffer, in place, near the end
		wire := encodeAll(t, []PDU{big, next}, d)
		wire[BHSLength+DigestLength+at] ^= 0x40
		c, s := tcpPair(t)
		go func() {
			c.Write(wire[:BHSLength+DigestLength+1000])
			time.Sleep(time.Millisecond)
			c.Write(wire[BHSLength+DigestLength+1000:])
		}()
		r := newTestReader(s, d, 1<<20)
		if _, err := r.ReadHeader(); err != nil {
			t.Fatal(err)
		}
		err := r.ReadData(make([]byte, len(big.Data)))
		var pe *ProtocolError
		if !errors.Is(err, ErrDataDigest) || !errors.As(err, &pe) {
			t.Fatalf("byte %d corrupted: ReadData: %v, want a data digest ProtocolError", at, err)
		}
		if p, err := r.Read(); err != nil || p.Header.Opcode() != OpNOPIn {
			t.Fatalf("byte %d corrupted: next PDU: %v", at, err)
		}
	}
}
