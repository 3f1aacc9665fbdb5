package session

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/go-iscsi/iscsi/login"
	"github.com/go-iscsi/iscsi/pdu"
	"github.com/go-iscsi/iscsi/scsi"
)

// asyncTarget is a small iSCSI target written for the tests of
// Asynchronous Messages, which session.Server does not send: it logs in
// with login.Accept, answers every SCSI command GOOD, NOP-Out pings,
// Logout and Text Requests, and sends what the test asks for. Each
// request it receives is reported on reqs.
type asyncTarget struct {
	t      *testing.T
	l      net.Listener
	conns  chan *asyncConn
	logins chan login.Result
	// holdNew makes new connections hold their SCSI commands.
	holdNew atomic.Bool
	wg      sync.WaitGroup
}

type asyncConn struct {
	c    net.Conn
	r    *pdu.Reader
	wmu  sync.Mutex
	w    *pdu.Writer
	cid  uint16
	reqs chan pdu.PDU
	// statSN is the StatSN of the next response, expCmdSN the next CmdSN
	// expected (RFC 7143 §4.2.2).
	statSN, expCmdSN uint32
	// hold, when set, keeps the SCSI commands unanswered until release.
	hold bool
	// dropLogout closes the connection on a Logout Request, unanswered.
	dropLogout bool
	held       []uint32
	pongs      chan uint32 // TTTs of the NOP-Outs answering our pings
	closed     chan struct{}
	closeMu    sync.Once
}

func newAsyncTarget(t *testing.T) *asyncTarget {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	at := &asyncTarget{t: t, l: l, conns: make(chan *asyncConn, 8), logins: make(chan login.Result, 8)}
	reg := &login.MemoryRegistry{}
	st := *quickSettings(20, nil)
	at.wg.Go(func() {
		for {
			nc, err := l.Accept()
			if err != nil {
				return
			}
			c := &asyncConn{c: nc, r: pdu.NewReader(nc), w: pdu.NewWriter(nc), reqs: make(chan pdu.PDU, 64),
				pongs: make(chan uint32, 8), closed: make(chan struct{}), hold: at.holdNew.Load()}
			res, err := login.Accept(context.Background(), c.r, c.w, login.TargetConfig{
				Lookup: func(name string) (login.TargetInfo, bool) {
					return login.TargetInfo{Name: testTarget}, name == testTarget
				},
				Sessions: reg,
				Settings: &st,
			})
			if err != nil {
				nc.Close()
				continue
			}
			c.cid, c.statSN, c.expCmdSN = res.CID, res.StatSN+1, res.CmdSN
			at.logins <- *res
			at.conns <- c
			at.wg.Go(c.serve)
		}
	})
	t.Cleanup(func() {
		l.Close()
		for {
			select {
			case c := <-at.conns:
				c.close()
				continue
			default:
			}
			break
		}
		at.wg.Wait()
	})
	return at
}

func (c *asyncConn) close() {
	c.closeMu.Do(func() { close(c.closed); c.c.Close() })
}

// send writes a target PDU, filling StatSN (advancing it when status is
// true), ExpCmdSN and MaxCmdSN.
func (c *asyncConn) send(h *pdu.BHS, data []byte, status bool) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	putU32 := func(off int, v uint32) {
		h[off], h[off+1], h[off+2], h[off+3] = byte(v>>24), byte(v>>16), byte(v>>8), byte(v)
	}
	putU32(24, c.statSN)
	if status {
		c.statSN++
	}
	putU32(28, c.expCmdSN)
	putU32(32, c.expCmdSN+31)
	return c.w.Write(h, nil, data)
}

func (c *asyncConn) respond(itt uint32) error {
	var h pdu.BHS
	r := h.SCSIResponse()
	r.Init()
	r.SetInitiatorTaskTag(itt)
	r.SetResponse(pdu.ResponseCommandCompleted)
	return c.send(&h, nil, true)
}

// release answers the SCSI commands held so far and stops holding.
func (c *asyncConn) release() {
	c.wmu.Lock()
	held := c.held
	c.held, c.hold = nil, false
	c.wmu.Unlock()
	for _, itt := range held {
		c.respond(itt)
	}
}

func (c *asyncConn) serve() {
	defer c.close()
	for {
		p, err := c.r.Read()
		if err != nil {
			return
		}
		h := &p.Header
		if !h.Immediate() && h.Opcode() != pdu.OpSCSIDataOut {
			c.wmu.Lock()
			c.expCmdSN = h.SCSICommand().CmdSN() + 1
			c.wmu.Unlock()
		}
		q := pdu.PDU{Header: p.Header, Data: append([]byte(nil), p.Data...)}
		switch h.Opcode() {
		case pdu.OpSCSICommand:
			c.reqs <- q
			c.wmu.Lock()
			hold := c.hold
			if hold {
				c.held = append(c.held, h.InitiatorTaskTag())
			}
			c.wmu.Unlock()
			if !hold {
				c.respond(h.InitiatorTaskTag())
			}
		case pdu.OpNOPOut:
			n := h.NOPOut()
			if ttt := n.TargetTransferTag(); ttt != pdu.ReservedTag {
				c.pongs <- ttt
				continue
			}
			var out pdu.BHS
			in := out.NOPIn()
			in.Init()
			in.SetInitiatorTaskTag(n.InitiatorTaskTag())
			in.SetTargetTransferTag(pdu.ReservedTag)
			c.send(&out, p.Data, true)
		case pdu.OpLogoutRequest:
			c.reqs <- q
			c.wmu.Lock()
			drop := c.dropLogout
			c.wmu.Unlock()
			if drop {
				return
			}
			var out pdu.BHS
			lr := out.LogoutResponse()
			lr.Init()
			lr.SetInitiatorTaskTag(h.InitiatorTaskTag())
			lr.SetResponse(pdu.LogoutClosedSuccessfully)
			c.send(&out, nil, true)
			return
		case pdu.OpTextRequest:
			// The answer goes out before the test sees the request, so
			// whatever the test sends next follows it on the wire.
			var out pdu.BHS
			tr := out.TextResponse()
			tr.Init()
			tr.SetFinal(true)
			tr.SetInitiatorTaskTag(h.InitiatorTaskTag())
			tr.SetTargetTransferTag(pdu.ReservedTag)
			c.send(&out, login.AppendText(nil, login.Pair{Key: "MaxRecvDataSegmentLength", Value: "4096"}), true)
			c.reqs <- q
		default:
			c.reqs <- q
		}
	}
}

// async sends an Asynchronous Message (RFC 7143 §11.9).
func (c *asyncConn) async(ev pdu.AsyncEvent, p1, p2, p3 uint16, lun uint64, data []byte) {
	var h pdu.BHS
	a := h.AsyncMessage()
	a.Init()
	a.SetAsyncEvent(ev)
	a.SetParameter1(p1)
	a.SetParameter2(p2)
	a.SetParameter3(p3)
	a.SetLUN(lun)
	if err := c.send(&h, data, true); err != nil {
		panic(err)
	}
}

// ping sends a NOP-In the initiator must answer and waits for the answer:
// once it comes, the initiator's reader has handled every PDU sent before.
func (c *asyncConn) ping(t *testing.T, ttt uint32) {
	t.Helper()
	var h pdu.BHS
	in := h.NOPIn()
	in.Init()
	in.SetInitiatorTaskTag(pdu.ReservedTag)
	in.SetTargetTransferTag(ttt)
	if err := c.send(&h, nil, false); err != nil {
		t.Fatal(err)
	}
	select {
	case got := <-c.pongs:
		if got != ttt {
			t.Fatalf("NOP-Out TTT 0x%x, want 0x%x", got, ttt)
		}
	case <-c.closed:
		t.Fatal("connection closed before the ping was answered")
	}
}

// next returns the next request of opcode op the target received.
func (c *asyncConn) next(t *testing.T, op pdu.Opcode) pdu.PDU {
	t.Helper()
	for {
		select {
		case q := <-c.reqs:
			if q.Header.Opcode() == op {
				return q
			}
		case <-c.closed:
			select {
			case q := <-c.reqs:
				if q.Header.Opcode() == op {
					return q
				}
				continue
			default:
			}
			t.Fatalf("connection closed without a %v", op)
		}
	}
}

func dialAsync(t *testing.T, at *asyncTarget, opts Options) (*Session, *asyncConn) {
	t.Helper()
	opts.InitiatorName, opts.TargetName = testInitiator, testTarget
	opts.Settings = quickSettings(20, nil)
	s, err := Dial(context.Background(), at.l.Addr().String(), opts)
	if err != nil {
		t.Fatalf("Dial: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	<-at.logins
	return s, <-at.conns
}

// TestInitiatorAsyncSCSIEvent: AsyncEvent 0 reaches OnAsyncEvent with its
// LUN and sense data decoded (RFC 7143 §11.9.1, §11.9.4).
func TestInitiatorAsyncSCSIEvent(t *testing.T) {
	at := newAsyncTarget(t)
	events := make(chan AsyncEvent, 1)
	_, c := dialAsync(t, at, Options{OnAsyncEvent: func(e AsyncEvent) { events <- e }})
	sense := scsi.NewSense(scsi.SenseUnitAttention, scsi.NewASC(0x3f, 0x0e)) // REPORTED LUNS DATA HAS CHANGED
	raw := sense.AppendFixed(nil)
	lun, _ := scsi.EncodeLUN(1)
	data := append([]byte{0, byte(len(raw))}, raw...)
	c.async(pdu.AsyncSCSIEvent, 0, 0, 0, lun.Uint64(), data)
	got := <-events
	want := AsyncEvent{LUN: lun, Sense: raw, Parsed: &sense}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("AsyncEvent (-want +got):\n%s", diff)
	}
}

// TestInitiatorAsyncLogoutRequested: AsyncEvent 1 makes the initiator log
// out (RFC 7143 §11.9.1) once its command in flight has completed, and
// refuse new commands meanwhile.
func TestInitiatorAsyncLogoutRequested(t *testing.T) {
	at := newAsyncTarget(t)
	s, c := dialAsync(t, at, Options{})
	c.wmu.Lock()
	c.hold = true
	c.wmu.Unlock()
	done := make(chan error, 1)
	go func() {
		_, err := s.Execute(context.Background(), &Command{CDB: make([]byte, 6)})
		done <- err
	}()
	c.next(t, pdu.OpSCSICommand)
	c.async(pdu.AsyncLogoutRequested, 0, 0, 5, 0, nil)
	c.ping(t, 0x77)
	// The request is known: new commands are refused.
	if _, err := s.Execute(context.Background(), &Command{CDB: make([]byte, 6)}); !errors.Is(err, ErrClosed) {
		t.Errorf("Execute after the logout request: %v, want ErrClosed", err)
	}
	// Nothing but the ping's answer came while the command is held:
	// the logout waits for it.
	select {
	case q := <-c.reqs:
		t.Fatalf("%v before the command in flight completed", q.Header.Opcode())
	default:
	}
	c.release()
	if err := <-done; err != nil {
		t.Errorf("the command in flight: %v", err)
	}
	q := c.next(t, pdu.OpLogoutRequest)
	if r := q.Header.LogoutRequest().ReasonCode(); r != pdu.LogoutCloseSession {
		t.Errorf("Logout reason %v, want close the session", r)
	}
}

// TestInitiatorAsyncDrop: AsyncEvent 2 (for this connection) and 3 make
// the initiator drop the connection and reinstate the session after
// Parameter2 seconds (RFC 7143 §11.9.1, §6.3.5): a new login with the same
// ISID and TSIH 0.
func TestInitiatorAsyncDrop(t *testing.T) {
	for _, ev := range []pdu.AsyncEvent{pdu.AsyncConnectionDropped, pdu.AsyncAllConnectionsDropped} {
		t.Run(ev.String(), func(t *testing.T) {
			at := newAsyncTarget(t)
			s, c := dialAsync(t, at, Options{})
			c.async(ev, c.cid, 0, 20, 0, nil)
			res := <-at.logins
			c2 := <-at.conns
			if res.ISID != s.ISID() || !res.Leading {
				t.Errorf("second login ISID %v leading %v, want ISID %v and TSIH 0", res.ISID, res.Leading, s.ISID())
			}
			if _, err := s.Execute(context.Background(), &Command{CDB: make([]byte, 6)}); err != nil {
				t.Fatalf("Execute after the reinstatement: %v", err)
			}
			c2.next(t, pdu.OpSCSICommand)
			if st := s.Stats(); st.Reinstatements != 1 {
				t.Errorf("Stats %+v, want 1 reinstatement", st)
			}
		})
	}
}

// TestInitiatorAsyncRenegotiation: AsyncEvent 4 is answered with a Text
// Request declaring MaxRecvDataSegmentLength (RFC 7143 §11.9.1, §13.12),
// and the target's declaration in the answer bounds the initiator's data
// segments from then on.
func TestInitiatorAsyncRenegotiation(t *testing.T) {
	at := newAsyncTarget(t)
	s, c := dialAsync(t, at, Options{})
	c.async(pdu.AsyncNegotiationRequested, 0, 0, 5, 0, nil)
	q := c.next(t, pdu.OpTextRequest)
	pairs, err := login.ParseText(q.Data)
	if err != nil {
		t.Fatal(err)
	}
	want := []login.Pair{{Key: "MaxRecvDataSegmentLength", Value: "8192"}}
	if diff := cmp.Diff(want, pairs); diff != "" {
		t.Errorf("Text Request keys (-want +got):\n%s", diff)
	}
	c.ping(t, 0x78)
	if _, cp := s.Params(); cp.MaxXmitDataSegmentLength != 4096 {
		t.Errorf("MaxXmitDataSegmentLength %d after the renegotiation, want 4096", cp.MaxXmitDataSegmentLength)
	}
}

// TestInitiatorAsyncVendor: a vendor-specific event is logged.
func TestInitiatorAsyncVendor(t *testing.T) {
	at := newAsyncTarget(t)
	var mu sync.Mutex
	var buf bytes.Buffer
	logger := slog.New(slog.NewTextHandler(lockedWriter{&mu, &buf}, nil))
	_, c := dialAsync(t, at, Options{Logger: logger})
	c.async(pdu.AsyncVendorSpecific, 1, 2, 3, 0, []byte("vendor data"))
	c.ping(t, 0x79)
	mu.Lock()
	out := buf.String()
	mu.Unlock()
	if !strings.Contains(out, "asynchronous message") || !strings.Contains(out, "parameter3=3") {
		t.Errorf("log %q, want the vendor-specific event", out)
	}
}

type lockedWriter struct {
	mu *sync.Mutex
	w  *bytes.Buffer
}

func (l lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// TestInitiatorRetryLimit: with RecoveryRetry a command is issued again on
// each reinstated session at most RetryLimit times, and a command whose
// Data-Out comes from a reader is not issued again unless the reader seeks
// (an io.Seeker is read again from where it was). The target holds every
// command unanswered and announces a connection drop (AsyncEvent 2) each
// time it receives one.
func TestInitiatorRetryLimit(t *testing.T) {
	tests := []struct {
		name    string
		limit   int
		reader  int // 0: DataOut or none, 1: a plain DataOutReader, 2: one that seeks
		drops   int // connection drops before the failure or the answer
		fail    bool
		retried uint64
	}{
		{"limit 1, two drops", 1, 0, 2, true, 1},
		{"limit 2, two drops", 2, 0, 2, false, 2},
		{"DataOutReader", 3, 1, 1, true, 0},
		{"DataOutReader that seeks", 2, 2, 2, false, 2},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			at := newAsyncTarget(t)
			at.holdNew.Store(true)
			s, c := dialAsync(t, at, Options{Recovery: RecoveryRetry, RetryLimit: tc.limit})
			cmd := &Command{CDB: make([]byte, 6)}
			data := bytes.Repeat([]byte("seek"), 128)
			switch tc.reader {
			case 1:
				cmd = &Command{CDB: rw10(0x2a, 0, 1), DataOutReader: io.MultiReader(bytes.NewReader(data)), DataOutLength: 512}
			case 2:
				// Not at its start: read again from where it was.
				r := bytes.NewReader(append([]byte("skipped!"), data...))
				r.Seek(8, io.SeekStart)
				cmd = &Command{CDB: rw10(0x2a, 0, 1), DataOutReader: r, DataOutLength: 512}
			}
			done := make(chan error, 1)
			go func() {
				_, err := s.Execute(context.Background(), cmd)
				done <- err
			}()
			first := c.next(t, pdu.OpSCSICommand)
			itt := first.Header.InitiatorTaskTag()
			for i := range tc.drops {
				c.async(pdu.AsyncConnectionDropped, c.cid, 0, 20, 0, nil)
				<-at.logins
				c = <-at.conns
				if uint64(i) >= tc.retried {
					break // not issued again: it fails
				}
				q := c.next(t, pdu.OpSCSICommand)
				if got := q.Header.InitiatorTaskTag(); got != itt {
					t.Fatalf("ITT 0x%x issued again, want 0x%x", got, itt)
				}
				if tc.reader == 2 && (len(q.Data) == 0 || !bytes.Equal(q.Data, data[:len(q.Data)])) {
					t.Errorf("immediate data issued again %q..., want %q...", q.Data[:8], data[:8])
				}
			}
			if !tc.fail {
				c.release()
			}
			err := <-done
			var ce *CommandError
			if tc.fail && !(errors.As(err, &ce) && errors.Is(err, ErrConnectionLost)) || !tc.fail && err != nil {
				t.Fatalf("Execute: %v, want failure %v", err, tc.fail)
			}
			if st := s.Stats(); st.CommandsRetried != tc.retried {
				t.Errorf("Stats %+v, want %d retried", st, tc.retried)
			}
		})
	}
}

// TestInitiatorRecoveryNone: with RecoveryNone a failed connection ends
// the session: the command in flight and every later one fail with
// ErrConnectionLost, and no login follows.
func TestInitiatorRecoveryNone(t *testing.T) {
	at := newAsyncTarget(t)
	at.holdNew.Store(true)
	s, c := dialAsync(t, at, Options{Recovery: RecoveryNone})
	done := make(chan error, 1)
	go func() {
		_, err := s.Execute(context.Background(), &Command{CDB: make([]byte, 6)})
		done <- err
	}()
	c.next(t, pdu.OpSCSICommand)
	c.async(pdu.AsyncConnectionDropped, c.cid, 0, 20, 0, nil)
	var ce *CommandError
	if err := <-done; !errors.As(err, &ce) || !errors.Is(err, ErrConnectionLost) {
		t.Errorf("command in flight: %v, want a *CommandError wrapping ErrConnectionLost", err)
	}
	if _, err := s.Execute(context.Background(), &Command{CDB: make([]byte, 6)}); !errors.Is(err, ErrConnectionLost) {
		t.Errorf("Execute afterwards: %v, want ErrConnectionLost", err)
	}
	select {
	case <-at.logins:
		t.Error("a login followed the connection failure")
	default:
	}
	if st := s.Stats(); st.Reinstatements != 0 || st.ReconnectAttempts != 0 || st.CommandsFailed != 1 {
		t.Errorf("Stats %+v, want no reinstatement or login and 1 failed command", st)
	}
}

// TestInitiatorLogoutUnanswered: a target that closes the connection on a
// Logout Request without answering it makes Logout return an error that
// says so, ErrLogoutUnanswered, and matches ErrConnectionLost; the
// session is closed after it and does not reconnect.
func TestInitiatorLogoutUnanswered(t *testing.T) {
	at := newAsyncTarget(t)
	s, c := dialAsync(t, at, Options{})
	c.wmu.Lock()
	c.dropLogout = true
	c.wmu.Unlock()
	err := s.Logout(context.Background())
	if !errors.Is(err, ErrLogoutUnanswered) || !errors.Is(err, ErrConnectionLost) {
		t.Fatalf("Logout: %v, want ErrLogoutUnanswered and ErrConnectionLost", err)
	}
	if _, err := s.Execute(context.Background(), &Command{CDB: make([]byte, 6)}); !errors.Is(err, ErrClosed) {
		t.Errorf("Execute after the logout: %v, want ErrClosed", err)
	}
	select {
	case res := <-at.logins:
		t.Errorf("login after the logout: %+v", res)
	case <-time.After(100 * time.Millisecond):
	}
}
