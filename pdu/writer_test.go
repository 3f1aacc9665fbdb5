package pdu

import (
	"bytes"
	"errors"
	"io"
	"net"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func newTestWriter(w io.Writer, d Digests) *Writer {
	wr := NewWriter(w)
	if d.Header {
		wr.SetHeaderDigest(true)
	}
	if d.Data {
		wr.SetDataDigest(true)
	}
	return wr
}

func TestWriterMatchesAppendTo(t *testing.T) {
	for _, d := range allDigests {
		ps := mixedPDUs(40, 5000)
		var buf bytes.Buffer
		w := newTestWriter(&buf, d)
		if w.Digests() != d {
			t.Fatal("Digests")
		}
		for i := range ps {
			// Lengths in the header are filled in by the Writer.
			h := ps[i].Header
			h.SetTotalAHSLength(0)
			h.SetDataSegmentLength(0)
			if err := w.Write(&h, ps[i].AHS, ps[i].Data); err != nil {
				t.Fatal(err)
			}
			if h.DataSegmentLength() != 0 {
				t.Fatal("Write changed the caller's header")
			}
		}
		if want := encodeAll(t, ps, d); !bytes.Equal(buf.Bytes(), want) {
			t.Fatalf("%+v: Writer output differs from AppendTo", d)
		}
	}
}

func TestWriterIllegalWrites(t *testing.T) {
	var buf bytes.Buffer
	w := NewWriter(&buf)
	w.AllowIllegalWrites = true
	p := nopInPing("hello")
	p.Header.SetDataSegmentLength(100) // a lie the peer must catch
	p.Header.SetTotalAHSLength(7)
	if err := w.Write(&p.Header, []byte{1, 2}, p.Data); err != nil {
		t.Fatal(err)
	}
	b := buf.Bytes()
	if len(b) != 48+2+8 || b[4] != 7 || b[7] != 100 || string(b[50:55]) != "hello" {
		t.Fatalf("illegal write sent % x", b)
	}
	buf.Reset()
	if err := w.Write(&p.Header, make([]byte, 2000), nil); err != nil || buf.Len() != 48+MaxTotalAHSLength {
		t.Fatalf("oversized AHS: %v, %d bytes", err, buf.Len())
	}
}

func TestWriterErrors(t *testing.T) {
	var buf bytes.Buffer
	w := NewWriter(&buf)
	p := nopInPing("")
	if err := w.Write(&p.Header, make([]byte, 6), nil); !errors.Is(err, ErrBadAHS) {
		t.Errorf("AHS of 6 bytes: %v", err)
	}
	if err := w.Write(&p.Header, nil, make([]byte, MaxDataSegmentLength+1)); !errors.Is(err, ErrSegmentTooLong) {
		t.Errorf("data of 2^24 bytes: %v", err)
	}
	if buf.Len() != 0 {
		t.Errorf("a refused PDU wrote %d bytes", buf.Len())
	}
	boom := errors.New("boom")
	w = NewWriter(failWriter{boom})
	if err := w.Write(&p.Header, nil, []byte("x")); !errors.Is(err, boom) {
		t.Errorf("underlying error: %v", err)
	}
}

type failWriter struct{ err error }

func (f failWriter) Write([]byte) (int, error) { return 0, f.err }

// TestWriterTCP sends PDUs over a loopback TCP connection, where
// net.Buffers becomes one writev per PDU.
func TestWriterTCP(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	d := Digests{true, true}
	want := mixedPDUs(30, 64<<10)
	errc := make(chan error, 1)
	go func() {
		c, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			errc <- err
			return
		}
		w := NewWriter(c)
		w.SetDigests(d)
		for i := range want {
			if err := w.WritePDU(&want[i]); err != nil {
				c.Close()
				errc <- err
				return
			}
		}
		errc <- c.Close()
	}()
	c, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	r := newTestReader(c, d, 1<<20)
	var got []PDU
	for {
		p, err := r.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, clonePDU(p))
	}
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, got, bytesEqual); diff != "" {
		t.Fatalf("(-want +got):\n%s", diff)
	}
}

func TestWriterAllocs(t *testing.T) {
	data := make([]byte, 8192+3)
	var h BHS
	din := h.DataIn()
	din.Init()
	for _, d := range allDigests {
		w := newTestWriter(io.Discard, d)
		ahs := AppendBidirectionalReadDataLengthAHS(nil, 1)
		if n := testing.AllocsPerRun(200, func() {
			if err := w.Write(&h, ahs, data); err != nil {
				panic(err)
			}
		}); n != 0 {
			t.Errorf("%+v: Write allocates %v times", d, n)
		}
	}
}

// TestWriterTCPAllocs checks that the writev path of a TCP connection
// allocates nothing per PDU either.
func TestWriterTCPAllocs(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	done := make(chan error, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			done <- err
			return
		}
		_, err = io.Copy(io.Discard, c)
		c.Close()
		done <- err
	}()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	w := NewWriter(c)
	w.SetDigests(Digests{true, true})
	var h BHS
	h.DataIn().Init()
	data := make([]byte, 8192)
	for range 10 { // warm up both ends
		if err := w.Write(&h, nil, data); err != nil {
			t.Fatal(err)
		}
	}
	n := testing.AllocsPerRun(200, func() {
		if err := w.Write(&h, nil, data); err != nil {
			panic(err)
		}
	})
	c.Close()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if n != 0 {
		t.Errorf("Write on a TCP connection allocates %v times per PDU", n)
	}
}

// TestWriterQueue checks that PDUs queued in batches of every size and
// flushed, with a Write now and then, give the bytes AppendTo gives, in
// order, and that a PDU Queue refuses leaves the queue as it was.
func TestWriterQueue(t *testing.T) {
	for _, batch := range []int{1, 2, 7, 40} {
		for _, d := range allDigests {
			ps := mixedPDUs(40, 5000)
			var buf bytes.Buffer
			w := newTestWriter(&buf, d)
			for i := range ps {
				h := ps[i].Header
				var err error
				if i%13 == 12 {
					err = w.Write(&h, ps[i].AHS, ps[i].Data)
				} else {
					err = w.Queue(&h, ps[i].AHS, ps[i].Data)
				}
				if err != nil {
					t.Fatal(err)
				}
				var bad BHS
				if err := w.Queue(&bad, make([]byte, 6), nil); !errors.Is(err, ErrBadAHS) {
					t.Fatalf("AHS of 6 bytes: %v", err)
				}
				if (i+1)%batch == 0 {
					if err := w.Flush(); err != nil {
						t.Fatal(err)
					}
					if w.Queued() != 0 {
						t.Fatalf("%d bytes queued after Flush", w.Queued())
					}
				}
			}
			if err := w.Flush(); err != nil {
				t.Fatal(err)
			}
			if want := encodeAll(t, ps, d); !bytes.Equal(buf.Bytes(), want) {
				t.Fatalf("batch %d, %+v: queued output differs from AppendTo", batch, d)
			}
		}
	}
}

func TestWriterQueuedLength(t *testing.T) {
	w := newTestWriter(io.Discard, Digests{true, true})
	var h BHS
	h.DataIn().Init()
	tests := []struct {
		ahs, data int
		want      int
	}{
		{0, 0, 48 + 4},
		{0, 5, 48 + 4 + 5 + 3 + 4},
		{4, 8, 48 + 4 + 4 + 8 + 4},
	}
	total := 0
	for _, tt := range tests {
		if err := w.Queue(&h, make([]byte, tt.ahs), make([]byte, tt.data)); err != nil {
			t.Fatal(err)
		}
		total += tt.want
		if w.Queued() != total {
			t.Errorf("after %+v: Queued() = %d, want %d", tt, w.Queued(), total)
		}
	}
}

// TestWriterQueueAllocs checks that a steady stream of batches allocates
// nothing once the Writer's buffers have grown.
func TestWriterQueueAllocs(t *testing.T) {
	data := make([]byte, 4096)
	var h BHS
	h.DataIn().Init()
	w := newTestWriter(io.Discard, Digests{true, true})
	batch := func() {
		for range 33 {
			if err := w.Queue(&h, nil, data); err != nil {
				panic(err)
			}
		}
		if err := w.Flush(); err != nil {
			panic(err)
		}
	}
	batch()
	if n := testing.AllocsPerRun(100, batch); n != 0 {
		t.Errorf("a batch of 33 PDUs allocates %v times", n)
	}
}
