package session

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/go-iscsi/iscsi/login"
	"github.com/go-iscsi/iscsi/pdu"
	"github.com/go-iscsi/iscsi/scsi"
)

// TestAsyncMessageWire: the Asynchronous Messages the target sends are
// byte-exact (RFC 7143 §11.9): ITT 0xffffffff, the next StatSN, which they
// advance, the command window, AsyncEvent and its parameters, and for
// AsyncEvent 0 the LUN and a data segment of SenseLength and sense data
// (§11.9.4).
func TestAsyncMessageWire(t *testing.T) {
	lun1, _ := scsi.EncodeLUN(1)
	ua := scsi.NewSense(scsi.SenseUnitAttention, scsi.ASCCapacityDataHasChanged)
	fixed := []byte{0x70, 0, 0x06, 0, 0, 0, 0, 0x0a, 0, 0, 0, 0, 0x2a, 0x09, 0, 0, 0, 0}
	tests := []struct {
		name string
		send func(*Server) (int, error)
		// event is bytes 36 to 47 of the header: AsyncEvent, AsyncVCode,
		// Parameter1-3, reserved.
		event [12]byte
		lun   scsi.LUN
		data  []byte
		// closed says the target closes the connection after it.
		closed bool
	}{
		{
			name:  "capacity changed",
			send:  func(s *Server) (int, error) { return s.CapacityChanged(testTarget, lun1) },
			event: [12]byte{0},
			lun:   lun1,
			data:  append([]byte{0, 18}, fixed...),
		},
		{
			name: "SCSI event, descriptor sense",
			send: func(s *Server) (int, error) {
				return s.SendSCSIEvent(testTarget, lun1, ua, true)
			},
			event: [12]byte{0},
			lun:   lun1,
			data:  []byte{0, 8, 0x72, 0x06, 0x2a, 0x09, 0, 0, 0, 0},
		},
		{
			name: "drop",
			send: func(s *Server) (int, error) {
				return s.DropSessions("", 3*time.Second, 70000*time.Second)
			},
			event:  [12]byte{3, 0, 0, 0, 0, 3, 0xff, 0xff},
			closed: true,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv := newTestServer(t, nil)
			in := dial(t, srv, nil, pdu.ISID{0x80, 0, 0, 0, 0x50, 1})
			in.nop(nil) // the session is in full feature phase
			n, err := tc.send(srv)
			if err != nil || n != 1 {
				t.Fatalf("send = %d, %v; want 1 connection", n, err)
			}
			p := in.read()
			var want pdu.BHS
			want[0], want[1] = byte(pdu.OpAsyncMessage), 0x80
			want[5], want[6], want[7] = 0, byte(len(tc.data)>>8), byte(len(tc.data))
			copy(want[8:16], tc.lun[:])
			binary.BigEndian.PutUint32(want[16:20], pdu.ReservedTag)
			binary.BigEndian.PutUint32(want[24:28], in.statSN)
			binary.BigEndian.PutUint32(want[28:32], in.cmdSN)
			binary.BigEndian.PutUint32(want[32:36], in.cmdSN+defaultCmdSNWindow-1)
			copy(want[36:48], tc.event[:])
			if diff := cmp.Diff(want, p.Header); diff != "" {
				t.Errorf("header (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tc.data, p.Data); len(tc.data) > 0 && diff != "" {
				t.Errorf("data (-want +got):\n%s", diff)
			}
			if err := (*pdu.AsyncMessage)(&p.Header).Validate(); err != nil {
				t.Errorf("Validate: %v", err)
			}
			in.statSN++ // an Asynchronous Message advances StatSN
			if tc.closed {
				if _, err := in.r.Read(); err == nil {
					t.Fatal("connection still open after the drop")
				}
				in.c.Close()
				if err := <-in.served; !errors.Is(err, ErrSessionDropped) {
					t.Errorf("ServeConn = %v, want ErrSessionDropped", err)
				}
				in.served <- nil
				return
			}
			in.nop([]byte("after")) // read checks the StatSN that follows
		})
	}
}

// TestAsyncBadTargetName: the methods naming a target refuse a name that
// is not an iSCSI name, or one the Server does not offer.
func TestAsyncBadTargetName(t *testing.T) {
	srv := newTestServer(t, nil)
	lun0 := scsi.LUN{}
	lun9, _ := scsi.EncodeLUN(9)
	tests := []struct {
		name string
		call func() (int, error)
	}{
		{"drop, bad name", func() (int, error) { return srv.DropSessions("not a name", 0, 0) }},
		{"event, bad name", func() (int, error) {
			return srv.SendSCSIEvent("not a name", lun0, scsi.Sense{}, false)
		}},
		{"event, empty name", func() (int, error) { return srv.SendSCSIEvent("", lun0, scsi.Sense{}, false) }},
		{"capacity, unknown target", func() (int, error) {
			return srv.CapacityChanged("iqn.2026-11.org.example:none", lun0)
		}},
		{"capacity, unknown LUN", func() (int, error) { return srv.CapacityChanged(testTarget, lun9) }},
	}
	for _, tc := range tests {
		if n, err := tc.call(); err == nil || n != 0 {
			t.Errorf("%s: = %d, %v; want an error", tc.name, n, err)
		}
	}
}

// TestAsyncCapacityChanged: the project's initiator receives CAPACITY DATA
// HAS CHANGED as a SCSI asynchronous event (RFC 7143 §11.9.1) for the LUN
// whose capacity changed, and the unit attention stays for its next
// command (SBC-4 §4.10).
func TestAsyncCapacityChanged(t *testing.T) {
	srv := newTestServer(t, nil)
	addr := serveLoopback(t, srv)
	events := make(chan AsyncEvent, 1)
	s := dialTest(t, addr, Options{OnAsyncEvent: func(e AsyncEvent) { events <- e }})
	lun1, _ := scsi.EncodeLUN(1)
	// LUN 1's nexus is known to its logical unit once it saw a command.
	if err := good(context.Background(), s, &Command{LUN: lun1, CDB: make([]byte, 6)}); err != nil {
		t.Fatal(err)
	}
	if n, err := srv.CapacityChanged(testTarget, lun1); err != nil || n != 1 {
		t.Fatalf("CapacityChanged = %d, %v", n, err)
	}
	e := <-events
	want := scsi.NewSense(scsi.SenseUnitAttention, scsi.ASCCapacityDataHasChanged)
	if e.LUN != lun1 || e.Parsed == nil {
		t.Fatalf("event LUN %v, sense %v; want LUN %v and sense", e.LUN, e.Parsed, lun1)
	}
	if diff := cmp.Diff(want.Key, e.Parsed.Key); diff != "" {
		t.Errorf("sense key (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(want.Code, e.Parsed.Code); diff != "" {
		t.Errorf("ASC/ASCQ (-want +got):\n%s", diff)
	}
	resp, err := s.Execute(context.Background(), &Command{LUN: lun1, CDB: make([]byte, 6)})
	if err != nil {
		t.Fatal(err)
	}
	if resp.Status != scsi.StatusCheckCondition || resp.Sense == nil || resp.Sense.Code != scsi.ASCCapacityDataHasChanged {
		t.Errorf("next command: status %v sense %v, want the unit attention", resp.Status, resp.Sense)
	}
}

// TestAsyncShutdown: Shutdown asks the project's initiator to log out
// (AsyncEvent 1, RFC 7143 §11.9.1); it does, and Shutdown returns nil
// before its context ends. A new login is refused afterwards.
func TestAsyncShutdown(t *testing.T) {
	srv := newTestServer(t, nil)
	addr := serveLoopback(t, srv)
	sessions := []*Session{
		dialTest(t, addr, Options{ISID: pdu.ISID{0x80, 0, 0, 0, 0x51, 1}}),
		dialTest(t, addr, Options{ISID: pdu.ISID{0x80, 0, 0, 0, 0x51, 2}}),
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := srv.Shutdown(ctx); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	for i, s := range sessions {
		_, err := s.Execute(context.Background(), &Command{CDB: make([]byte, 6)})
		if !errors.Is(err, ErrClosed) {
			t.Errorf("session %d after Shutdown: %v, want ErrClosed", i, err)
		}
	}
	_, err := Dial(context.Background(), addr, Options{InitiatorName: testInitiator, TargetName: testTarget})
	var le *LoginError
	if !errors.As(err, &le) || le.Status != pdu.LoginOutOfResources {
		t.Errorf("login after Shutdown: %v, want status Out of resources", err)
	}
}

// TestAsyncShutdownDeadline: an initiator that does not log out is dropped
// when Shutdown's context ends, and Shutdown returns the context's error.
func TestAsyncShutdownDeadline(t *testing.T) {
	srv := newTestServer(t, nil)
	in := dial(t, srv, nil, pdu.ISID{0x80, 0, 0, 0, 0x52, 1})
	in.nop(nil)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Shutdown(ctx) }()
	p := in.read()
	a := (*pdu.AsyncMessage)(&p.Header)
	if p.Header.Opcode() != pdu.OpAsyncMessage || a.AsyncEvent() != pdu.AsyncLogoutRequested ||
		a.Parameter3() != uint16(DefaultLogoutWait/time.Second) {
		t.Fatalf("got %v event %v Parameter3 %d, want a logout request within %v",
			p.Header.Opcode(), a.AsyncEvent(), a.Parameter3(), DefaultLogoutWait)
	}
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Errorf("Shutdown = %v, want context.Canceled", err)
	}
	if err := <-in.served; !errors.Is(err, ErrServerShutdown) {
		t.Errorf("ServeConn = %v, want ErrServerShutdown", err)
	}
	in.served <- nil
}

// TestAsyncDropSessions: after DropSessions announces the drop (AsyncEvent
// 3 with Time2Wait and Time2Retain, RFC 7143 §11.9.1), the project's
// initiator with RecoveryRetry reinstates the session once and goes on;
// every write acknowledged before, during and after the drop reads back.
func TestAsyncDropSessions(t *testing.T) {
	srv := newTestServer(t, quickSettings(20, nil))
	addr := serveLoopback(t, srv)
	s := dialTest(t, addr, Options{Recovery: RecoveryRetry})
	ctx := context.Background()
	const writes = 60
	acked := make(chan int, writes)
	half := make(chan struct{})
	failed := make(chan error, 1)
	go func() {
		defer close(acked)
		for i := range writes {
			if i == writes/2 {
				close(half)
			}
			data := bytes.Repeat([]byte{byte(i + 1)}, 4096)
			resp, err := write10(ctx, s, scsi.LUN{}, uint32(i*8), data)
			if err != nil {
				failed <- fmt.Errorf("write %d: %v", i, err)
				return
			}
			if resp.Status == scsi.StatusGood {
				acked <- i
			}
		}
	}()
	<-half
	if n, err := srv.DropSessions(testTarget, 0, 20*time.Second); err != nil || n != 1 {
		t.Fatalf("DropSessions = %d, %v", n, err)
	}
	var done []int
	for i := range acked {
		done = append(done, i)
	}
	select {
	case err := <-failed:
		t.Fatal(err)
	default:
	}
	if err := good(ctx, s, &Command{CDB: make([]byte, 6)}); err != nil {
		t.Fatalf("after the drop: %v", err)
	}
	if got := s.Stats().Reinstatements; got != 1 {
		t.Errorf("Reinstatements = %d, want 1", got)
	}
	for _, i := range done {
		buf := make([]byte, 4096)
		if _, err := read10(ctx, s, scsi.LUN{}, uint32(i*8), buf); err != nil {
			t.Fatal(err)
		}
		if want := bytes.Repeat([]byte{byte(i + 1)}, 4096); !bytes.Equal(buf, want) {
			t.Errorf("write %d acknowledged but lost", i)
		}
	}
	if len(done) < writes/2 {
		t.Errorf("%d writes acknowledged, want at least %d", len(done), writes/2)
	}
}

// ExampleServer_Shutdown asks every initiator to log out, waits up to ten
// seconds for them, then stops serving.
func ExampleServer_Shutdown() {
	srv := &Server{Targets: []Target{{Name: "iqn.2026-11.org.example:disk"}}}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Println(err)
		return
	}
	ctx, stop := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ctx, l) }()

	shutdown, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	fmt.Println("shutdown:", srv.Shutdown(shutdown))
	stop()
	fmt.Println("serve:", <-served)
	// Output:
	// shutdown: <nil>
	// serve: context canceled
}

// TestAsyncShutdownDiscovery: Shutdown closes a discovery session, which
// has no logout to ask for, and then has no session to wait for.
func TestAsyncShutdownDiscovery(t *testing.T) {
	srv := newTestServer(t, nil)
	a, b := net.Pipe()
	defer a.Close()
	served := make(chan error, 1)
	go func() { served <- srv.ServeConn(context.Background(), b) }()
	r, w := pdu.NewReader(a), pdu.NewWriter(a)
	st := login.DefaultSettings()
	if _, err := login.Initiate(context.Background(), r, w, login.InitiatorConfig{
		InitiatorName: testInitiator, SessionType: login.SessionDiscovery,
		ISID: pdu.ISID{0x80, 0, 0, 0, 0x53, 1}, InitiatorTaskTag: 1, CmdSN: 1, Settings: &st,
	}); err != nil {
		t.Fatalf("discovery login: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := srv.Shutdown(ctx); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	if err := <-served; !errors.Is(err, ErrSessionClosed) {
		t.Errorf("ServeConn = %v, want ErrSessionClosed", err)
	}
}
