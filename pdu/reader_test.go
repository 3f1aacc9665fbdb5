package pdu

import (
	"bytes"
	"errors"
	"io"
	"math/rand/v2"
	"net"
	"testing"
	"testing/iotest"

	"github.com/google/go-cmp/cmp"
)

// mixedPDUs returns a deterministic mix of PDUs of several types, AHS and
// data sizes (up to maxData bytes).
func mixedPDUs(n int, maxData int) []PDU {
	rng := rand.New(rand.NewPCG(1, 2))
	specs := allSpecs()
	out := make([]PDU, n)
	for i := range out {
		s := specs[i%len(specs)]
		var p PDU
		s.init(&p.Header)
		for _, a := range s.fields {
			a.set(&p.Header, randomValue(rng, a.width))
		}
		if i%5 == 0 {
			p.AHS = AppendBidirectionalReadDataLengthAHS(nil, rng.Uint32())
		}
		size := 0
		switch i % 4 {
		case 1:
			size = rng.IntN(64)
		case 2:
			size = rng.IntN(maxData + 1)
		case 3:
			size = maxData
		}
		p.Data = make([]byte, size)
		for k := range p.Data {
			p.Data[k] = byte(rng.Uint32())
		}
		p.Header.SetTotalAHSLength(uint8(len(p.AHS) / 4))
		p.Header.SetDataSegmentLength(uint32(size))
		out[i] = p
	}
	return out
}

var bytesEqual = cmp.Comparer(func(a, b []byte) bool { return bytes.Equal(a, b) })

func clonePDU(p *PDU) PDU {
	return PDU{Header: p.Header, AHS: bytes.Clone(p.AHS), Data: bytes.Clone(p.Data)}
}

func encodeAll(t testing.TB, ps []PDU, d Digests) []byte {
	var b []byte
	for i := range ps {
		var err error
		if b, err = ps[i].AppendTo(b, d); err != nil {
			t.Fatal(err)
		}
	}
	return b
}

func newTestReader(r io.Reader, d Digests, max uint32) *Reader {
	rd := NewReader(r)
	rd.SetHeaderDigest(d.Header)
	rd.SetDataDigest(d.Data)
	rd.SetMaxRecvDataSegmentLength(max)
	return rd
}

var allDigests = []Digests{{}, {Header: true}, {Data: true}, {true, true}}

func TestReaderRoundTripPipe(t *testing.T) {
	for _, d := range allDigests {
		want := mixedPDUs(60, 100<<10) // larger than the initial buffer
		c1, c2 := net.Pipe()
		errc := make(chan error, 1)
		go func() {
			w := NewWriter(c1)
			w.SetHeaderDigest(d.Header)
			w.SetDataDigest(d.Data)
			for i := range want {
				if err := w.WritePDU(&want[i]); err != nil {
					errc <- err
					return
				}
			}
			errc <- c1.Close()
		}()
		r := newTestReader(c2, d, 1<<20)
		var got []PDU
		for {
			p, err := r.Read()
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatalf("%+v: PDU %d: %v", d, len(got), err)
			}
			got = append(got, clonePDU(p))
		}
		if err := <-errc; err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(want, got, bytesEqual); diff != "" {
			t.Fatalf("%+v: (-want +got):\n%s", d, diff)
		}
	}
}

func TestReaderOneByteAtATime(t *testing.T) {
	for _, d := range allDigests {
		want := mixedPDUs(20, 300)
		r := newTestReader(iotest.OneByteReader(bytes.NewReader(encodeAll(t, want, d))), d, 8192)
		for i := range want {
			p, err := r.Read()
			if err != nil {
				t.Fatalf("%+v: PDU %d: %v", d, i, err)
			}
			if diff := cmp.Diff(want[i], *p, bytesEqual); diff != "" {
				t.Fatalf("%+v: PDU %d (-want +got):\n%s", d, i, diff)
			}
		}
		if _, err := r.Read(); err != io.EOF {
			t.Fatalf("end: %v, want io.EOF", err)
		}
	}
}

func TestReaderTwoStep(t *testing.T) {
	for _, d := range allDigests {
		want := mixedPDUs(40, 50<<10)
		r := newTestReader(iotest.HalfReader(bytes.NewReader(encodeAll(t, want, d))), d, 1<<20)
		for i := range want {
			p, err := r.ReadHeader()
			if err != nil {
				t.Fatalf("%+v: PDU %d: %v", d, i, err)
			}
			if p.Header != want[i].Header || !bytes.Equal(p.AHS, want[i].AHS) || p.Data != nil {
				t.Fatalf("%+v: PDU %d: header differs", d, i)
			}
			switch i % 3 {
			case 0:
				dst := make([]byte, p.Header.DataSegmentLength())
				if err := r.ReadData(dst); err != nil {
					t.Fatalf("%+v: PDU %d: ReadData: %v", d, i, err)
				}
				if !bytes.Equal(dst, want[i].Data) {
					t.Fatalf("%+v: PDU %d: data differs", d, i)
				}
			case 1:
				if err := r.DiscardData(); err != nil {
					t.Fatalf("%+v: PDU %d: DiscardData: %v", d, i, err)
				}
			case 2:
				// Left unread: the next call discards it.
			}
		}
		if _, err := r.ReadHeader(); err != io.EOF {
			t.Fatalf("end: %v, want io.EOF", err)
		}
	}
}

func TestReaderReadDataLength(t *testing.T) {
	p := nopInPing("0123456789")
	r := newTestReader(bytes.NewReader(encodeAll(t, []PDU{p, p}, Digests{})), Digests{}, 8192)
	if _, err := r.ReadHeader(); err != nil {
		t.Fatal(err)
	}
	if err := r.ReadData(make([]byte, 9)); !errors.Is(err, ErrDataLength) {
		t.Fatalf("short dst: %v, want ErrDataLength", err)
	}
	dst := make([]byte, 10)
	if err := r.ReadData(dst); err != nil || string(dst) != "0123456789" {
		t.Fatalf("ReadData after a wrong-sized try: %q %v", dst, err)
	}
	if err := r.ReadData(nil); err != nil {
		t.Fatalf("ReadData with nothing pending: %v", err)
	}
	if err := r.ReadData(dst); !errors.Is(err, ErrDataLength) {
		t.Fatalf("ReadData with nothing pending: %v, want ErrDataLength", err)
	}
	if err := r.DiscardData(); err != nil {
		t.Fatalf("DiscardData with nothing pending: %v", err)
	}
	if p, err := r.Read(); err != nil || string(p.Data) != "0123456789" {
		t.Fatalf("second PDU: %v", err)
	}
}

func TestReaderTruncated(t *testing.T) {
	for _, d := range allDigests {
		ps := []PDU{nopInPing("abcdefg"), nopInPing("")}
		stream := encodeAll(t, ps, d)
		first := ps[0].WireLength(d)
		for cut := range len(stream) {
			for _, twoStep := range []bool{false, true} {
				r := newTestReader(bytes.NewReader(stream[:cut]), d, 8192)
				var err error
				for i := 0; i < 3 && err == nil; i++ {
					if twoStep {
						var p *PDU
						if p, err = r.ReadHeader(); err == nil {
							err = r.ReadData(make([]byte, p.Header.DataSegmentLength()))
						}
					} else {
						_, err = r.Read()
					}
				}
				if cut == 0 || cut == first {
					if err != io.EOF {
						t.Fatalf("%+v cut %d: %v, want io.EOF", d, cut, err)
					}
					continue
				}
				var ce *ConnectionError
				if !errors.As(err, &ce) || !errors.Is(err, io.ErrUnexpectedEOF) {
					t.Fatalf("%+v cut %d two-step %v: %v, want a ConnectionError around io.ErrUnexpectedEOF", d, cut, twoStep, err)
				}
				if _, again := r.Read(); again != err {
					t.Fatalf("%+v cut %d: error not sticky: %v", d, cut, again)
				}
			}
		}
	}
}

func TestReaderSegmentTooLong(t *testing.T) {
	big := nopInPing(string(make([]byte, 9000)))
	stream := encodeAll(t, []PDU{nopInPing("ok"), big}, Digests{})
	r := newTestReader(bytes.NewReader(stream), Digests{}, 0)
	r.SetMaxRecvDataSegmentLength(DefaultMaxRecvDataSegmentLength)
	if _, err := r.Read(); err != nil {
		t.Fatal(err)
	}
	_, err := r.Read()
	var ce *ConnectionError
	var se *SegmentTooLongError
	if !errors.As(err, &ce) || !errors.As(err, &se) || se.Length != 9000 || se.Limit != 8192 ||
		se.Opcode != OpNOPIn || !errors.Is(err, ErrSegmentTooLong) {
		t.Fatalf("Read = %v, want a ConnectionError around SegmentTooLongError{9000, 8192}", err)
	}
	if _, err := r.ReadHeader(); !errors.Is(err, ErrSegmentTooLong) {
		t.Fatalf("after: %v, want the same error", err)
	}
	if err := r.ReadData(nil); !errors.Is(err, ErrSegmentTooLong) {
		t.Fatalf("ReadData after: %v", err)
	}
	if err := r.DiscardData(); !errors.Is(err, ErrSegmentTooLong) {
		t.Fatalf("DiscardData after: %v", err)
	}
	// The limit is capped at what DataSegmentLength can carry.
	r.SetMaxRecvDataSegmentLength(1 << 30)
	if r.maxRecv != MaxDataSegmentLength {
		t.Fatalf("limit %d", r.maxRecv)
	}
}

func TestReaderDigestErrors(t *testing.T) {
	d := Digests{true, true}
	ps := []PDU{nopInPing("first"), nopInPing("second"), nopInPing("third")}
	stream := encodeAll(t, ps, d)
	second := ps[0].WireLength(d)

	t.Run("data digest, Read", func(t *testing.T) {
		bad := bytes.Clone(stream)
		bad[second+52] ^= 0x20
		r := newTestReader(bytes.NewReader(bad), d, 8192)
		if _, err := r.Read(); err != nil {
			t.Fatal(err)
		}
		_, err := r.Read()
		var pe *ProtocolError
		var de *DigestError
		if !errors.As(err, &pe) || pe.Reason != RejectDataDigestError || !errors.As(err, &de) || !de.Data ||
			pe.Header.DataSegmentLength() != 6 {
			t.Fatalf("Read = %v, want a ProtocolError with reason Data Digest Error", err)
		}
		p, err := r.Read() // the connection goes on (RFC 7143 §7.8)
		if err != nil || string(p.Data) != "third" {
			t.Fatalf("after a data digest error: %v", err)
		}
	})
	t.Run("data digest, ReadData", func(t *testing.T) {
		bad := bytes.Clone(stream)
		bad[len(bad)-1] ^= 0x01 // the last data digest
		r := newTestReader(bytes.NewReader(bad), d, 8192)
		for range 2 {
			if _, err := r.Read(); err != nil {
				t.Fatal(err)
			}
		}
		p, err := r.ReadHeader()
		if err != nil {
			t.Fatal(err)
		}
		err = r.ReadData(make([]byte, p.Header.DataSegmentLength()))
		var pe *ProtocolError
		if !errors.As(err, &pe) || !errors.Is(err, ErrDataDigest) || pe.Header.DataSegmentLength() != 5 {
			t.Fatalf("ReadData = %v, want a ProtocolError around a data DigestError", err)
		}
		if _, err := r.Read(); err != io.EOF {
			t.Fatalf("after: %v, want io.EOF", err)
		}
	})
	t.Run("header digest", func(t *testing.T) {
		bad := bytes.Clone(stream)
		bad[second+8] ^= 0x80
		r := newTestReader(bytes.NewReader(bad), d, 8192)
		if _, err := r.Read(); err != nil {
			t.Fatal(err)
		}
		_, err := r.Read()
		var ce *ConnectionError
		if !errors.As(err, &ce) || !errors.Is(err, ErrHeaderDigest) {
			t.Fatalf("Read = %v, want a ConnectionError around a header DigestError", err)
		}
		if _, again := r.Read(); again != err {
			t.Fatalf("header digest error not sticky: %v", again)
		}
	})
}

type errReader struct{ err error }

func (e errReader) Read([]byte) (int, error) { return 0, e.err }

type zeroReader struct{}

func (zeroReader) Read([]byte) (int, error) { return 0, nil }

type liarReader struct{}

func (liarReader) Read(p []byte) (int, error) { return len(p) + 1, nil }

func TestReaderUnderlyingErrors(t *testing.T) {
	boom := errors.New("boom")
	tests := []struct {
		name string
		r    io.Reader
		want error
	}{
		{"error", errReader{boom}, boom},
		{"no progress", zeroReader{}, io.ErrNoProgress},
		{"error mid-PDU", io.MultiReader(bytes.NewReader(make([]byte, 20)), errReader{boom}), boom},
		{"timeout", iotest.TimeoutReader(bytes.NewReader(make([]byte, 10))), iotest.ErrTimeout},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := NewReader(tt.r)
			_, err := r.Read()
			var ce *ConnectionError
			if !errors.As(err, &ce) || !errors.Is(err, tt.want) {
				t.Fatalf("Read = %v, want a ConnectionError around %v", err, tt.want)
			}
		})
	}
	_, err := NewReader(liarReader{}).Read()
	var ce *ConnectionError
	if !errors.As(err, &ce) {
		t.Fatalf("reader returning a bad count: %v", err)
	}
}

func TestReaderAccessors(t *testing.T) {
	p := nopInPing("x")
	stream := encodeAll(t, []PDU{p, p}, Digests{Header: true})
	r := newTestReader(bytes.NewReader(stream), Digests{Header: true}, 8192)
	if r.Digests() != (Digests{Header: true}) {
		t.Fatal("Digests")
	}
	if _, err := r.Read(); err != nil {
		t.Fatal(err)
	}
	if r.Buffered() != len(stream)/2 {
		t.Fatalf("Buffered = %d, want %d", r.Buffered(), len(stream)/2)
	}
}

// replayReader serves buf over and over without allocating.
type replayReader struct {
	buf []byte
	off int
}

func (r *replayReader) Read(p []byte) (int, error) {
	n := copy(p, r.buf[r.off:])
	r.off += n
	if r.off == len(r.buf) {
		r.off = 0
	}
	return n, nil
}

func TestReaderAllocs(t *testing.T) {
	for _, d := range allDigests {
		ps := mixedPDUs(36, 8192)
		rr := &replayReader{buf: encodeAll(t, ps, d)}
		r := newTestReader(rr, d, 8192)
		for range 2 * len(ps) { // warm up: let the buffer settle
			if _, err := r.Read(); err != nil {
				t.Fatal(err)
			}
		}
		if n := testing.AllocsPerRun(200, func() {
			if _, err := r.Read(); err != nil {
				panic(err)
			}
		}); n != 0 {
			t.Errorf("%+v: Read allocates %v times per PDU", d, n)
		}
		dst := make([]byte, 8192)
		if n := testing.AllocsPerRun(200, func() {
			p, err := r.ReadHeader()
			if err != nil {
				panic(err)
			}
			if err := r.ReadData(dst[:p.Header.DataSegmentLength()]); err != nil {
				panic(err)
			}
		}); n != 0 {
			t.Errorf("%+v: ReadHeader+ReadData allocates %v times per PDU", d, n)
		}
	}
}

// TestReaderDigestSwitch turns digests on between two PDUs that arrived in
// one read, as after the last Login Response (RFC 7143 §13.1: digests
// apply from full feature phase on).
func TestReaderDigestSwitch(t *testing.T) {
	login := nopInPing("before")
	ffp := nopInPing("after")
	on := Digests{true, true}
	stream := encodeAll(t, []PDU{login}, Digests{})
	stream = append(stream, encodeAll(t, []PDU{ffp}, on)...)
	r := NewReader(bytes.NewReader(stream))
	if p, err := r.Read(); err != nil || string(p.Data) != "before" {
		t.Fatalf("first PDU: %v", err)
	}
	if r.Buffered() == 0 {
		t.Fatal("the second PDU should already be buffered")
	}
	r.SetDigests(on)
	if p, err := r.Read(); err != nil || string(p.Data) != "after" {
		t.Fatalf("second PDU: %v", err)
	}
}

// TestReaderHeaderDigestBeforeLength: a corrupted DataSegmentLength is
// reported as the header digest error it is, not as an oversized segment.
func TestReaderHeaderDigestBeforeLength(t *testing.T) {
	d := Digests{Header: true}
	b := encodeAll(t, []PDU{nopInPing("x")}, d)
	b[5] = 0x7f // DataSegmentLength now about 8 MiB
	_, err := newTestReader(bytes.NewReader(b), d, 8192).Read()
	if !errors.Is(err, ErrHeaderDigest) || errors.Is(err, ErrSegmentTooLong) {
		t.Fatalf("Read = %v, want a header digest error", err)
	}
}

// TestReaderHeaderDigestRecovery: with SetHeaderDigestRecovery a header
// digest error skips the PDU by its lengths and reading goes on (RFC 7143
// §7.8, §7.1.4.1), through Read and through ReadHeader; a length beyond
// MaxRecvDataSegmentLength still ends the stream.
func TestReaderHeaderDigestRecovery(t *testing.T) {
	d := Digests{true, true}
	ps := []PDU{nopInPing("first"), nopInPing("second"), nopInPing("third")}
	stream := encodeAll(t, ps, d)
	second := len(encodeAll(t, ps[:1], d))
	tests := []struct {
		name    string
		corrupt func(b []byte)
		header  bool // read with ReadHeader and ReadData
		fatal   bool
	}{
		{name: "Read, tag corrupted", corrupt: func(b []byte) { b[second+16] ^= 0x80 }},
		{name: "ReadHeader, tag corrupted", corrupt: func(b []byte) { b[second+16] ^= 0x80 }, header: true},
		{name: "digest corrupted", corrupt: func(b []byte) { b[second+48] ^= 0x01 }},
		{name: "length beyond the limit", corrupt: func(b []byte) { b[second+5] = 0x7f }, fatal: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			bad := bytes.Clone(stream)
			tt.corrupt(bad)
			r := newTestReader(bytes.NewReader(bad), d, 8192)
			r.SetHeaderDigestRecovery(true)
			read := func() (string, error) {
				if !tt.header {
					p, err := r.Read()
					if err != nil {
						return "", err
					}
					return string(p.Data), nil
				}
				p, err := r.ReadHeader()
				if err != nil {
					return "", err
				}
				b := make([]byte, p.Header.DataSegmentLength())
				return string(b), r.ReadData(b)
			}
			if s, err := read(); err != nil || s != "first" {
				t.Fatalf("first PDU: %q, %v", s, err)
			}
			_, err := read()
			var hde *HeaderDigestError
			var ce *ConnectionError
			if tt.fatal {
				if !errors.As(err, &ce) || !errors.Is(err, ErrHeaderDigest) {
					t.Fatalf("Read = %v, want a ConnectionError around a header digest error", err)
				}
				return
			}
			if !errors.As(err, &hde) || errors.As(err, &ce) || !errors.Is(err, ErrHeaderDigest) {
				t.Fatalf("Read = %v, want a HeaderDigestError and no ConnectionError", err)
			}
			if want := uint32(len(encodeAll(t, ps[1:2], d))); hde.Skipped != want {
				t.Errorf("Skipped %d bytes, want %d", hde.Skipped, want)
			}
			if s, err := read(); err != nil || s != "third" {
				t.Fatalf("after the skipped PDU: %q, %v", s, err)
			}
			if _, err := read(); err != io.EOF {
				t.Fatalf("at the end: %v, want io.EOF", err)
			}
		})
	}
}
