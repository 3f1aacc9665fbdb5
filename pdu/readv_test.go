package pdu

import (
	"bytes"
	"errors"
	"fmt"
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
	for _, spin := range []time.Duration{0, 300 * time.Microsecond} {
		t.Run(fmt.Sprintf("busy-poll=%v", spin), func(t *testing.T) { testReaderTCPReadData(t, spin) })
	}
}

func testReaderTCPReadData(t *testing.T, spin time.Duration) {
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
		r.SetBusyPoll(spin, spin)
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

// TestReaderTCPBusyPoll: with SetBusyPoll a read that finds the socket
// empty tries again instead of waiting for the poller, for the idle spin
// before a PDU and the partial one within it, and still gets what comes
// later, within the spin or after it (then woken as without it); a
// deadline and closing end a spinning read as they end a waiting one.
func TestReaderTCPBusyPoll(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("busy polling is implemented for Linux sockets only")
	}
	var p PDU
	p.Header.NOPIn().Init()
	wire := encodeAll(t, []PDU{p, p}, Digests{})
	tests := []struct {
		name          string
		idle, partial time.Duration
		delay         time.Duration // before each part is sent
		split         bool          // each PDU's header in two parts
		wantTries     bool
	}{
		{"no spin", 0, 0, 5 * time.Millisecond, true, false},
		{"answer within the idle spin", time.Second, 0, 5 * time.Millisecond, false, true},
		{"answer after the idle spin", 100 * time.Microsecond, 0, 20 * time.Millisecond, false, true},
		{"partial spin only, whole headers", 0, time.Second, 5 * time.Millisecond, false, false},
		{"partial spin only, split headers", 0, time.Second, 5 * time.Millisecond, true, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, s := tcpPair(t)
			r := newTestReader(s, Digests{}, 8192)
			r.SetBusyPoll(tt.idle, tt.partial)
			go func() {
				for i := range 2 {
					h := wire[i*BHSLength : (i+1)*BHSLength]
					if tt.split {
						time.Sleep(tt.delay)
						c.Write(h[:20])
						h = h[20:]
					}
					time.Sleep(tt.delay)
					c.Write(h)
				}
			}()
			for i := range 2 {
				got, err := r.Read()
				if err != nil {
					t.Fatalf("PDU %d: %v", i, err)
				}
				if got.Header != p.Header {
					t.Fatalf("PDU %d: header differs", i)
				}
			}
			if tries := r.vec.tries; (tries > 0) != tt.wantTries {
				t.Errorf("%d reads tried again while spinning, want some: %v", tries, tt.wantTries)
			}
		})
	}
	t.Run("deadline", func(t *testing.T) {
		_, s := tcpPair(t)
		r := newTestReader(s, Digests{}, 8192)
		r.SetBusyPoll(time.Millisecond, time.Millisecond)
		s.SetReadDeadline(time.Now().Add(20 * time.Millisecond))
		if _, err := r.Read(); !errors.Is(err, os.ErrDeadlineExceeded) {
			t.Fatalf("Read: %v, want a deadline error", err)
		}
	})
	t.Run("closed", func(t *testing.T) {
		_, s := tcpPair(t)
		r := newTestReader(s, Digests{}, 8192)
		r.SetBusyPoll(time.Millisecond, time.Millisecond)
		time.AfterFunc(10*time.Millisecond, func() { s.Close() })
		if _, err := r.Read(); !errors.Is(err, net.ErrClosed) {
			t.Fatalf("Read: %v, want net.ErrClosed", err)
		}
	})
}
