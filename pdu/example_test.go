package pdu_test

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"log"

	"github.com/go-iscsi/iscsi/pdu"
)

// A leading Login Request as an initiator sends it: security negotiation
// done, moving to operational negotiation (RFC 7143 §11.12).
func ExampleLoginRequest() {
	var h pdu.BHS
	req := h.LoginRequest()
	req.Init()
	req.SetTransit(true)
	req.SetCSG(pdu.SecurityNegotiation)
	req.SetNSG(pdu.LoginOperationalNegotiation)
	req.SetISID(pdu.NewISID(pdu.ISIDRandom, 0, 0x1234, 0x56, 0x0001))
	req.SetInitiatorTaskTag(1)
	req.SetCmdSN(1)
	if err := h.Validate(); err != nil {
		log.Fatal(err)
	}
	fmt.Println(h.Opcode(), req.CSG(), "->", req.NSG(), "ISID", req.ISID())
	fmt.Printf("% x\n", h[:16])
	// Output:
	// Login Request SecurityNegotiation -> LoginOperationalNegotiation ISID 801234560001
	// 43 81 00 00 00 00 00 00 80 12 34 56 00 01 00 00
}

// A Writer sends PDUs with digests; a Reader on the other end frames them.
func ExampleWriter() {
	var conn bytes.Buffer // a net.Conn in real use
	w := pdu.NewWriter(&conn)
	w.SetHeaderDigest(true)
	w.SetDataDigest(true)

	var h pdu.BHS
	din := h.DataIn()
	din.Init()
	din.SetFinal(true)
	din.SetInitiatorTaskTag(7)
	din.SetTargetTransferTag(pdu.ReservedTag)
	din.SetBufferOffset(0)
	// Write fills in DataSegmentLength, pads "hello" to 8 bytes and adds
	// both digests.
	if err := w.Write(&h, nil, []byte("hello")); err != nil {
		log.Fatal(err)
	}
	fmt.Println(conn.Len(), "bytes on the wire")
	// Output: 64 bytes on the wire
}

// Queue frames responses that are ready together and Flush sends them in
// one vectored write (one writev on a TCP connection); the data segments
// are sent from the caller's buffers, which must stay unchanged until
// Flush returns.
func ExampleWriter_Queue() {
	var conn bytes.Buffer // a net.Conn in real use
	w := pdu.NewWriter(&conn)
	blocks := [][]byte{make([]byte, 4096), make([]byte, 4096), make([]byte, 512)}
	for i, data := range blocks {
		var h pdu.BHS
		din := h.DataIn()
		din.Init()
		din.SetFinal(true)
		din.SetInitiatorTaskTag(uint32(i))
		din.SetTargetTransferTag(pdu.ReservedTag)
		if err := w.Queue(&h, nil, data); err != nil {
			log.Fatal(err)
		}
	}
	fmt.Println(w.Queued(), "bytes queued,", conn.Len(), "sent")
	if err := w.Flush(); err != nil {
		log.Fatal(err)
	}
	fmt.Println(w.Queued(), "bytes queued,", conn.Len(), "sent")
	// Output:
	// 8848 bytes queued, 0 sent
	// 0 bytes queued, 8848 sent
}

// A Reader returns each PDU; its data aliases the Reader's buffer until
// the next read.
func ExampleReader() {
	var conn bytes.Buffer
	w := pdu.NewWriter(&conn)
	for i, text := range []string{"SendTargets=All\x00", ""} {
		var h pdu.BHS
		tr := h.TextRequest()
		tr.Init()
		tr.SetFinal(true)
		tr.SetInitiatorTaskTag(uint32(i))
		tr.SetTargetTransferTag(pdu.ReservedTag)
		if err := w.Write(&h, nil, []byte(text)); err != nil {
			log.Fatal(err)
		}
	}

	r := pdu.NewReader(&conn)
	for {
		p, err := r.Read()
		if err == io.EOF {
			break
		}
		var ce *pdu.ConnectionError
		if errors.As(err, &ce) {
			log.Fatal("close the connection: ", err)
		}
		if err != nil {
			log.Fatal(err)
		}
		switch p.Header.Opcode() {
		case pdu.OpTextRequest:
			fmt.Printf("%v ITT=%d %q\n", p.Header.Opcode(), p.Header.TextRequest().InitiatorTaskTag(), p.Data)
		}
	}
	// Output:
	// Text Request ITT=0 "SendTargets=All\x00"
	// Text Request ITT=1 ""
}

// ReadHeader and ReadData land a Data-In payload straight in the
// caller's buffer, at the offset the PDU names.
func ExampleReader_ReadData() {
	var conn bytes.Buffer
	w := pdu.NewWriter(&conn)
	for off, chunk := range []string{"first ", "second"} {
		var h pdu.BHS
		din := h.DataIn()
		din.Init()
		din.SetBufferOffset(uint32(off * 6))
		din.SetDataSN(uint32(off))
		if err := w.Write(&h, nil, []byte(chunk)); err != nil {
			log.Fatal(err)
		}
	}

	buf := make([]byte, 12) // the user's read buffer
	r := pdu.NewReader(&conn)
	for range 2 {
		p, err := r.ReadHeader()
		if err != nil {
			log.Fatal(err)
		}
		din := p.Header.DataIn()
		off := din.BufferOffset()
		n := p.Header.DataSegmentLength()
		if uint64(off)+uint64(n) > uint64(len(buf)) {
			log.Fatal("Data-In beyond the buffer")
		}
		if err := r.ReadData(buf[off : off+n]); err != nil {
			log.Fatal(err)
		}
	}
	fmt.Printf("%q\n", buf)
	// Output: "first second"
}

// Validate tells a target which Reject reason to answer with.
func ExampleProtocolError() {
	var h pdu.BHS
	r2t := h.R2T()
	r2t.Init()
	r2t.SetTargetTransferTag(5)
	// DesiredDataTransferLength left 0, which RFC 7143 §11.8.4 forbids.
	err := h.Validate()
	var pe *pdu.ProtocolError
	if errors.As(err, &pe) {
		fmt.Println("Reject reason:", pe.Reason)
		fmt.Println(errors.Is(err, pdu.ErrInvalidField))
	}
	// Output:
	// Reject reason: Invalid PDU field
	// true
}

// A CDB longer than 16 bytes continues in an Extended CDB AHS.
func ExampleSCSICommand_FullCDB() {
	cdb := make([]byte, 32) // a 32-byte variable-length CDB
	cdb[0], cdb[7] = 0x7f, 24

	var p pdu.PDU
	cmd := p.Header.SCSICommand()
	cmd.Init()
	cmd.SetFinal(true)
	cmd.SetCDB(cdb)
	var err error
	if p.AHS, err = pdu.AppendExtendedCDBAHS(nil, cdb); err != nil {
		log.Fatal(err)
	}
	wire, err := p.AppendTo(nil, pdu.Digests{})
	if err != nil {
		log.Fatal(err)
	}

	q, _, err := pdu.Decode(wire, pdu.Digests{})
	if err != nil {
		log.Fatal(err)
	}
	full, err := q.Header.SCSICommand().FullCDB(nil, q.AHS)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(len(full), bytes.Equal(full, cdb), q.Header.TotalAHSLength(), "AHS words")
	// Output: 32 true 5 AHS words
}

// Decode frames PDUs out of a captured byte stream, such as one direction
// of a TCP connection; AppendTo gives the same bytes back.
func ExampleDecode() {
	var stream []byte
	for i := range 3 {
		var p pdu.PDU
		nop := p.Header.NOPOut()
		nop.Init()
		nop.SetInitiatorTaskTag(uint32(i))
		nop.SetTargetTransferTag(pdu.ReservedTag)
		p.Data = []byte("ping")[:i+1]
		stream, _ = p.AppendTo(stream, pdu.Digests{Header: true})
	}

	for b := stream; len(b) > 0; {
		p, n, err := pdu.Decode(b, pdu.Digests{Header: true})
		if err != nil {
			log.Fatal(err)
		}
		again, _ := p.AppendTo(nil, pdu.Digests{Header: true})
		fmt.Println(p.Header.String(), bytes.Equal(again, b[:n]))
		b = b[n:]
	}
	// Output:
	// NOP-Out F ITT=0x0 AHS=0 DSL=1 true
	// NOP-Out F ITT=0x1 AHS=0 DSL=2 true
	// NOP-Out F ITT=0x2 AHS=0 DSL=3 true
}
