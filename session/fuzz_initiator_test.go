package session

import (
	"bytes"
	"context"
	"errors"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/go-iscsi/iscsi/login"
	"github.com/go-iscsi/iscsi/pdu"
	"github.com/go-iscsi/iscsi/scsi"
)

// Commands the initiator has outstanding when FuzzInitiatorSession plays
// its stream: a READ of fuzzReadLen bytes with ITT 1 and a WRITE of
// fuzzWriteLen bytes with ITT 2, CmdSN 1 and 2.
const (
	fuzzReadLen  = 4096
	fuzzWriteLen = 8192
	// fuzzGrace is how long the scripted target waits for the commands
	// to end after its stream before it closes the connection.
	fuzzGrace = 100 * time.Millisecond
)

// fuzzTargetStream encodes PDUs a target sends after the login of
// FuzzInitiatorSession (whose first Login Response has StatSN 0).
type fuzzTargetStream struct {
	buf    bytes.Buffer
	w      *pdu.Writer
	statSN uint32
}

func newFuzzTargetStream() *fuzzTargetStream {
	s := &fuzzTargetStream{statSN: 1}
	s.w = pdu.NewWriter(&s.buf)
	return s
}

func (s *fuzzTargetStream) window(h *pdu.BHS, advance bool) {
	stamp(h, s.statSN, 3, 34)
	if advance {
		s.statSN++
	}
}

func (s *fuzzTargetStream) dataIn(itt, sn, off uint32, data []byte, status bool) *fuzzTargetStream {
	var h pdu.BHS
	d := h.DataIn()
	d.Init()
	d.SetInitiatorTaskTag(itt)
	d.SetTargetTransferTag(pdu.ReservedTag)
	d.SetDataSN(sn)
	d.SetBufferOffset(off)
	d.SetFinal(status)
	if status {
		d.SetStatusPresent(true)
		d.SetStatus(uint8(scsi.StatusGood))
	}
	s.window(&h, status)
	s.w.Write(&h, nil, data)
	return s
}

func (s *fuzzTargetStream) r2t(itt, ttt, sn, off, n uint32) *fuzzTargetStream {
	var h pdu.BHS
	r := h.R2T()
	r.Init()
	r.SetInitiatorTaskTag(itt)
	r.SetTargetTransferTag(ttt)
	r.SetR2TSN(sn)
	r.SetBufferOffset(off)
	r.SetDesiredDataTransferLength(n)
	s.window(&h, false)
	s.w.Write(&h, nil, nil)
	return s
}

func (s *fuzzTargetStream) response(itt uint32, status scsi.Status, sense []byte) *fuzzTargetStream {
	var h pdu.BHS
	r := h.SCSIResponse()
	r.Init()
	r.SetInitiatorTaskTag(itt)
	r.SetResponse(pdu.ResponseCommandCompleted)
	r.SetStatus(uint8(status))
	s.window(&h, true)
	s.w.Write(&h, nil, sense)
	return s
}

func (s *fuzzTargetStream) bytes() []byte { return s.buf.Bytes() }

// fuzzInitiatorSeeds are target streams answering the two commands
// correctly in several shapes, and some that do not.
func fuzzInitiatorSeeds() [][]byte {
	data := bytes.Repeat([]byte{0xa5}, fuzzReadLen)
	sense := append([]byte{0, 18}, scsi.NewSense(scsi.SenseIllegalRequest, scsi.ASCInvalidFieldInCDB).AppendFixed(nil)...)
	seeds := [][]byte{
		newFuzzTargetStream().dataIn(1, 0, 0, data, true).r2t(2, 7, 0, 0, fuzzWriteLen).response(2, scsi.StatusGood, nil).bytes(),
		newFuzzTargetStream().r2t(2, 7, 0, 0, fuzzWriteLen/2).dataIn(1, 0, 0, data[:1024], false).
			r2t(2, 8, 1, fuzzWriteLen/2, fuzzWriteLen/2).dataIn(1, 1, 1024, data[1024:], false).
			response(1, scsi.StatusGood, nil).response(2, scsi.StatusGood, nil).bytes(),
		newFuzzTargetStream().response(1, scsi.StatusCheckCondition, sense).response(2, scsi.StatusBusy, nil).bytes(),
		// Data beyond the READ's buffer; an R2T beyond the WRITE's length.
		newFuzzTargetStream().dataIn(1, 0, fuzzReadLen-512, data[:1024], true).r2t(2, 7, 0, fuzzWriteLen, 512).bytes(),
		// An R2T and Data-In for a task that is not there.
		newFuzzTargetStream().r2t(9, 7, 0, 0, 512).dataIn(9, 0, 0, data[:512], true).bytes(),
	}
	// tgtd's answers to libiscsi, as captured, past their Login Responses.
	files, _ := filepath.Glob(filepath.Join("..", "pdu", "testdata", "golden", "session", "*.t2i.bin"))
	for _, name := range files {
		b, err := os.ReadFile(name)
		if err != nil {
			continue
		}
		for len(b) > 0 {
			p, n, err := pdu.Decode(b, pdu.Digests{})
			if err != nil || p.Header.Opcode() != pdu.OpLoginResponse {
				break
			}
			b = b[n:]
		}
		if len(b) > 0 {
			seeds = append(seeds, b)
		}
	}
	return seeds
}

// FuzzInitiatorSession logs the initiator (Dial) in to a scripted target,
// starts a READ and a WRITE with Execute, and plays the fuzz input as the
// target's side of the connection in full feature phase: Data-In, R2T,
// SCSI Responses and anything else. Whatever the stream, the initiator
// must not panic, must not place data outside a command's buffer, must
// end both commands with a Response or a typed error once the stream
// ends, and must leave no goroutine behind after Close.
func FuzzInitiatorSession(f *testing.F) {
	for _, s := range fuzzInitiatorSeeds() {
		f.Add(s)
	}
	f.Fuzz(fuzzInitiatorSession)
}

// FuzzInitiatorSessionERL1 is FuzzInitiatorSession at ErrorRecoveryLevel
// 1 (RFC 7143 §7.1.4.1): gaps in DataSN, R2TSN and StatSN make the
// initiator send SNACKs, which the scripted target never answers, so the
// SNACK timeout ends what the stream leaves missing.
func FuzzInitiatorSessionERL1(f *testing.F) {
	for _, s := range fuzzInitiatorSeeds() {
		f.Add(s)
	}
	data := bytes.Repeat([]byte{0x5a}, fuzzReadLen)
	// A DataSN gap filled by the Data-In missing; a StatSN gap never
	// filled; a Data-In received twice and an R2TSN gap.
	f.Add(newFuzzTargetStream().dataIn(1, 1, 2048, data[2048:], false).dataIn(1, 0, 0, data[:2048], false).
		r2t(2, 7, 0, 0, fuzzWriteLen).response(1, scsi.StatusGood, nil).response(2, scsi.StatusGood, nil).bytes())
	st := newFuzzTargetStream().dataIn(1, 0, 0, data, false)
	st.statSN++
	f.Add(st.response(1, scsi.StatusGood, nil).r2t(2, 7, 0, 0, fuzzWriteLen).response(2, scsi.StatusGood, nil).bytes())
	f.Add(newFuzzTargetStream().dataIn(1, 0, 0, data, false).dataIn(1, 0, 0, data, true).r2t(2, 7, 1, 0, fuzzWriteLen).bytes())
	f.Fuzz(func(t *testing.T, stream []byte) { fuzzInitiatorSessionAt(t, stream, 1) })
}

func fuzzInitiatorSession(t *testing.T, stream []byte) { fuzzInitiatorSessionAt(t, stream, 0) }

// fuzzInitiatorSessionAt plays stream at ErrorRecoveryLevel erl.
func fuzzInitiatorSessionAt(t *testing.T, stream []byte, erl uint8) {
	before := projectGoroutines()
	a, b := net.Pipe()
	defer a.Close()
	defer b.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	// The target side: a real login, then it reads what the
	// initiator sends and reports each SCSI command.
	commands := make(chan struct{}, 2)
	loggedIn := make(chan error, 1)
	drained := make(chan struct{})
	go func() {
		defer close(drained)
		st := login.DefaultSettings()
		st.ImmediateData = false
		st.ErrorRecoveryLevel, st.MaxOutstandingR2T = erl, 1
		r, w := pdu.NewReader(b), pdu.NewWriter(b)
		_, err := login.Accept(ctx, r, w, login.TargetConfig{
			Lookup: func(name string) (login.TargetInfo, bool) {
				return login.TargetInfo{Name: testTarget}, name == testTarget
			},
			PortalGroupTag: 1, Settings: &st, Sessions: &login.MemoryRegistry{}, CmdSNWindow: 32,
		})
		loggedIn <- err
		if err != nil {
			return
		}
		for {
			p, err := r.Read()
			if err != nil {
				return
			}
			if p.Header.Opcode() == pdu.OpSCSICommand {
				select {
				case commands <- struct{}{}:
				default:
				}
			}
		}
	}()
	st := login.DefaultSettings()
	st.ImmediateData = false
	s, err := Dial(ctx, "pipe:3260", Options{
		InitiatorName: testInitiator, TargetName: testTarget, Settings: &st,
		ErrorRecoveryLevel: erl, SNACKTimeout: fuzzGrace / 2,
		Dialer: func(context.Context, string, string) (net.Conn, error) { return a, nil },
	})
	if err := <-loggedIn; err != nil {
		t.Fatalf("target login: %v", err)
	}
	if err != nil {
		t.Fatalf("Dial: %v", err)
	}
	type outcome struct {
		resp *Response
		err  error
	}
	readBuf := make([]byte, fuzzReadLen+64)
	results := make(chan outcome, 2)
	start := func(cmd *Command) {
		go func() {
			resp, err := s.Execute(context.Background(), cmd)
			results <- outcome{resp, err}
		}()
		select {
		case <-commands:
		case <-ctx.Done():
			t.Fatal("the command never reached the target")
		}
	}
	// The READ's buffer has a guard past its length, which no Data-In
	// may touch.
	start(&Command{CDB: rw10(0x28, 0, fuzzReadLen/512), DataIn: readBuf[:fuzzReadLen]})
	start(&Command{CDB: rw10(0x2a, 0, fuzzWriteLen/512), DataOut: make([]byte, fuzzWriteLen)})
	b.Write(stream)
	// The target's side ends when both commands have ended, or after a
	// grace period for a stream that leaves them unanswered: closing it
	// while the initiator still sends Data-Out for an R2T of the stream
	// would test the loss of the connection, which the load test does,
	// rather than the initiator's handling of what the stream holds.
	grace := time.NewTimer(fuzzGrace)
	defer grace.Stop()
	for got := 0; got < 2; {
		select {
		case <-grace.C:
			b.Close()
		case o := <-results:
			got++
			if o.err != nil {
				var ce *CommandError
				if !errors.As(o.err, &ce) && !errors.Is(o.err, ErrConnectionLost) && !errors.Is(o.err, ErrClosed) {
					t.Errorf("Execute: untyped error %T: %v", o.err, o.err)
				}
			} else if o.resp.DataInLength > fuzzReadLen {
				t.Errorf("DataInLength %d beyond the %d-byte buffer", o.resp.DataInLength, fuzzReadLen)
			}
		case <-ctx.Done():
			t.Fatal("Execute did not return after the target's stream ended")
		}
	}
	b.Close()
	for i, c := range readBuf[fuzzReadLen:] {
		if c != 0 {
			t.Fatalf("byte %d past the READ's buffer was written", fuzzReadLen+i)
		}
	}
	s.Close()
	a.Close()
	<-drained
	if left := waitProjectGoroutines(before); left != "" {
		t.Fatalf("goroutines of the session left after Close:\n%s", left)
	}
}
