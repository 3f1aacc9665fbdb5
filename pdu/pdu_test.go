package pdu

import (
	"bytes"
	"errors"
	"io"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// nopInPing is a NOP-In with ping data, for stream tests.
func nopInPing(data string) PDU {
	var p PDU
	n := p.Header.NOPIn()
	n.Init()
	n.SetInitiatorTaskTag(ReservedTag)
	n.SetTargetTransferTag(0x11)
	n.SetStatSN(7)
	p.Data = []byte(data)
	return p
}

func TestAppendToLayout(t *testing.T) {
	p := nopInPing("abcde")
	p.AHS = []byte{0, 1, 60, 9}
	got, err := p.AppendTo([]byte("prefix"), Digests{})
	if err != nil {
		t.Fatal(err)
	}
	if string(got[:6]) != "prefix" {
		t.Fatal("prefix lost")
	}
	b := got[6:]
	if len(b) != 48+4+8 || b[4] != 1 || b[7] != 5 || string(b[52:57]) != "abcde" || !bytes.Equal(b[57:], []byte{0, 0, 0}) {
		t.Fatalf("encoded % x", b)
	}
	if p.Header.DataSegmentLength() != 0 {
		t.Fatal("AppendTo changed p")
	}
	if got := p.WireLength(Digests{}); got != len(b) {
		t.Fatalf("WireLength = %d, want %d", got, len(b))
	}
	if got := p.WireLength(Digests{true, true}); got != len(b)+8 {
		t.Fatalf("WireLength with digests = %d, want %d", got, len(b)+8)
	}
	// No data: no padding, no data digest (RFC 7143 §11.1).
	p.Data = nil
	e, _ := p.AppendTo(nil, Digests{true, true})
	if len(e) != 48+4+4 {
		t.Fatalf("empty data segment with digests: %d bytes", len(e))
	}
}

func TestAppendToErrors(t *testing.T) {
	p := nopInPing("")
	p.AHS = make([]byte, 3)
	if _, err := p.AppendTo(nil, Digests{}); !errors.Is(err, ErrBadAHS) {
		t.Errorf("AHS of 3 bytes: %v", err)
	}
	p.AHS = make([]byte, 1024)
	if _, err := p.AppendTo(nil, Digests{}); !errors.Is(err, ErrBadAHS) {
		t.Errorf("AHS of 1024 bytes: %v", err)
	}
	p.AHS = nil
	p.Data = make([]byte, MaxDataSegmentLength+1)
	var se *SegmentTooLongError
	if _, err := p.AppendTo(nil, Digests{}); !errors.As(err, &se) || se.Length != MaxDataSegmentLength+1 {
		t.Errorf("data of 2^24 bytes: %v", err)
	}
}

// TestDigestKnownAnswer checks the digest bytes against RFC 7143
// Appendix A.4: 32 bytes of zeros have CRC32C 0x8a9136aa, sent aa 36 91 8a.
func TestDigestKnownAnswer(t *testing.T) {
	var p PDU // opcode 0, all zeros: the header alone is 48 zero bytes
	p.Data = make([]byte, 32)
	b, err := p.AppendTo(nil, Digests{Data: true})
	if err != nil {
		t.Fatal(err)
	}
	if got := b[len(b)-4:]; !bytes.Equal(got, []byte{0xaa, 0x36, 0x91, 0x8a}) {
		t.Fatalf("data digest bytes % x", got)
	}
}

func TestDecode(t *testing.T) {
	for _, d := range []Digests{{}, {Header: true}, {Data: true}, {true, true}} {
		var stream []byte
		var want []PDU
		for i, s := range []string{"", "a", "ab", "abc", "abcd", "abcde"} {
			p := nopInPing(s)
			p.Header.NOPIn().SetStatSN(uint32(i))
			if i%2 == 1 {
				p.AHS = []byte{0, 1, 60, byte(i)}
			}
			var err error
			stream, err = p.AppendTo(stream, d)
			if err != nil {
				t.Fatal(err)
			}
			p.Header.SetTotalAHSLength(uint8(len(p.AHS) / 4))
			p.Header.SetDataSegmentLength(uint32(len(p.Data)))
			want = append(want, p)
		}
		var got []PDU
		for b := stream; ; {
			p, n, err := Decode(b, d)
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatalf("%+v: %v", d, err)
			}
			got = append(got, p)
			b = b[n:]
		}
		if diff := cmp.Diff(want, got, cmp.Comparer(func(a, b []byte) bool { return bytes.Equal(a, b) })); diff != "" {
			t.Fatalf("%+v: decoded (-want +got):\n%s", d, diff)
		}
	}
}

func TestDecodeErrors(t *testing.T) {
	p := nopInPing("hello")
	d := Digests{true, true}
	good, _ := p.AppendTo(nil, d)
	for cut := 1; cut < len(good); cut++ {
		_, _, err := Decode(good[:cut], d)
		var ce *ConnectionError
		if !errors.As(err, &ce) || !errors.Is(err, io.ErrUnexpectedEOF) {
			t.Fatalf("cut at %d: %v, want a ConnectionError around io.ErrUnexpectedEOF", cut, err)
		}
	}
	bad := bytes.Clone(good)
	bad[20] ^= 1 // header bit flip
	_, _, err := Decode(bad, d)
	var ce *ConnectionError
	var de *DigestError
	if !errors.As(err, &ce) || !errors.As(err, &de) || de.Data || !errors.Is(err, ErrHeaderDigest) {
		t.Fatalf("header bit flip: %v", err)
	}
	bad = bytes.Clone(good)
	bad[53] ^= 1 // data bit flip
	_, n, err := Decode(bad, d)
	var pe *ProtocolError
	if !errors.As(err, &pe) || pe.Reason != RejectDataDigestError || !errors.Is(err, ErrDataDigest) ||
		pe.Header.NOPIn().TargetTransferTag() != 0x11 || n != len(good) {
		t.Fatalf("data bit flip: n %d, %v", n, err)
	}
	bad = bytes.Clone(good)
	bad[len(bad)-6] = 1 // padding is covered by the data digest (RFC 7143 §13.1)
	if _, _, err := Decode(bad, d); !errors.Is(err, ErrDataDigest) {
		t.Fatalf("padding changed: %v", err)
	}
}

func TestErrorTexts(t *testing.T) {
	errs := []error{
		&ProtocolError{Reason: RejectProtocolError, Err: &OpcodeError{Opcode: 0x07}},
		&ConnectionError{Err: io.ErrUnexpectedEOF},
		&ReservedFieldError{Opcode: OpNOPOut, Offset: 2, Value: 0x10},
		&FieldError{Opcode: OpR2T, Offset: 44, Value: 0, Reason: "Desired Data Transfer Length is 0"},
		&SegmentTooLongError{Opcode: OpSCSIDataOut, Length: 9000, Limit: 8192},
		&DigestError{Got: 1, Want: 2},
		&DigestError{Data: true, Got: 1, Want: 2},
		&AHSError{Offset: 4, Reason: "x"},
		&dataLengthError{got: 1, want: 2},
	}
	want := []string{
		"iscsi protocol error (Protocol Error): pdu: unknown opcode Opcode(0x7)",
		"iscsi connection error: unexpected EOF",
		"pdu: NOP-Out: reserved bits at byte 2 are 0x10, not 0",
		"pdu: Ready To Transfer: field at byte 44 (0x0): Desired Data Transfer Length is 0",
		"pdu: SCSI Data-Out: data segment of 9000 bytes exceeds the limit of 8192",
		"pdu: header digest 0x1, computed 0x2",
		"pdu: data digest 0x1, computed 0x2",
		"pdu: AHS at offset 4: x",
		"pdu: data buffer length does not match DataSegmentLength: got 1 bytes, DataSegmentLength is 2",
	}
	for i, err := range errs {
		if err.Error() != want[i] {
			t.Errorf("error %d: %q, want %q", i, err.Error(), want[i])
		}
	}
	if errors.Is(&DigestError{Data: true}, ErrHeaderDigest) || errors.Is(&DigestError{}, ErrDataDigest) {
		t.Error("DigestError matches the wrong sentinel")
	}
}

func TestPDUClone(t *testing.T) {
	b, _ := (&PDU{Header: nopInPing("").Header, AHS: []byte{0, 1, 60, 1}, Data: []byte("data")}).AppendTo(nil, Digests{})
	p, _, err := Decode(b, Digests{})
	if err != nil {
		t.Fatal(err)
	}
	q := p.Clone()
	clear(b)
	if string(q.Data) != "data" || !bytes.Equal(q.AHS, []byte{0, 1, 60, 1}) || q.Header.Opcode() != OpNOPIn {
		t.Fatalf("clone changed with its source: %+v", q)
	}
	if e := (&PDU{}).Clone(); e.AHS != nil || e.Data != nil {
		t.Fatal("clone of an empty PDU has slices")
	}
}

func TestDecodeAppendAllocs(t *testing.T) {
	p := nopInPing(string(make([]byte, 8190)))
	d := Digests{true, true}
	buf := make([]byte, 0, p.WireLength(d))
	wire, err := p.AppendTo(nil, d)
	if err != nil {
		t.Fatal(err)
	}
	if n := testing.AllocsPerRun(100, func() {
		var err error
		if buf, err = p.AppendTo(buf[:0], d); err != nil {
			panic(err)
		}
	}); n != 0 {
		t.Errorf("AppendTo into a large enough slice allocates %v times", n)
	}
	if n := testing.AllocsPerRun(100, func() {
		if _, _, err := Decode(wire, d); err != nil {
			panic(err)
		}
	}); n != 0 {
		t.Errorf("Decode allocates %v times", n)
	}
}
