package session

import (
	"context"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-iscsi/iscsi/login"
	"github.com/go-iscsi/iscsi/pdu"
	"github.com/go-iscsi/iscsi/scsi"
)

// joinConn logs in one more connection, cid, to the session of lead (RFC
// 7143 §6.3.1: its TSIH and ISID) on a net.Pipe served by srv.
func joinConn(t *testing.T, srv *Server, lead *initiator, isid pdu.ISID, cid uint16) *initiator {
	t.Helper()
	a, b := net.Pipe()
	served := make(chan error, 1)
	go func() { served <- srv.ServeConn(context.Background(), b) }()
	a.SetDeadline(time.Now().Add(60 * time.Second))
	in := &initiator{t: t, c: a, r: pdu.NewReader(a), w: pdu.NewWriter(a), served: served, itt: 0x8000 * uint32(cid)}
	t.Cleanup(func() {
		a.Close()
		<-served
	})
	st := login.DefaultSettings()
	res, err := login.Initiate(context.Background(), in.r, in.w, login.InitiatorConfig{
		InitiatorName: testInitiator, TargetName: testTarget, ISID: isid, TSIH: lead.res.TSIH, CID: cid,
		InitiatorTaskTag: 0x1000 + uint32(cid), CmdSN: lead.cmdSN, Settings: &st,
	})
	if err != nil {
		t.Fatalf("login of CID %d: %v", cid, err)
	}
	in.res = res
	in.res.Session = lead.res.Session
	in.cmdSN = lead.cmdSN
	in.statSN = res.StatSN + 1
	in.maxRecv = st.MaxRecvDataSegmentLength
	return in
}

// countingLU counts the commands its logical unit executes. When gate is
// set, the first command waits for it to close after closing entered.
type countingLU struct {
	LogicalUnit
	executed      atomic.Int64
	gate, entered chan struct{}
}

func (l *countingLU) Execute(ctx context.Context, req *scsi.Request) scsi.Response {
	if l.executed.Add(1) == 1 && l.gate != nil {
		close(l.entered)
		<-l.gate
	}
	return l.LogicalUnit.Execute(ctx, req)
}

// mcsPair is a session of two connections, CID 0 and CID 1, built with the
// test initiator; lu counts the commands of LUN 0.
func mcsPair(t *testing.T) (srv *Server, a, b *initiator, lu *countingLU) {
	t.Helper()
	srv = newTestServer(t, mcsSettings(2))
	lun0, _ := scsi.EncodeLUN(0)
	lu = &countingLU{LogicalUnit: srv.Targets[0].LUNs[lun0]}
	srv.Targets[0].LUNs[lun0] = lu
	isid := pdu.NewISID(pdu.ISIDRandom, 0, 91, 0, 1)
	a = dial(t, srv, mcsSettings(2), isid)
	if a.res.Session.MaxConnections != 2 {
		t.Fatalf("MaxConnections %d negotiated, want 2", a.res.Session.MaxConnections)
	}
	b = joinConn(t, srv, a, isid, 1)
	// A ping answered: the target serves CID 1 in full feature phase.
	b.nop(nil)
	return srv, a, b, lu
}

// TestMCSCmdSNOrder: commands are delivered in CmdSN order across the
// connections of a session (RFC 7143 §4.2.2.1: ordering is per session). A
// command that arrives on one connection ahead of ExpCmdSN is held, not
// executed, until the missing one arrives on the other; then both run, and
// the responses carry the session's ExpCmdSN past them.
func TestMCSCmdSNOrder(t *testing.T) {
	srv, a, b, lu := mcsPair(t)
	held := make(chan uint32, 1)
	srv.onCmdSNWait = func(sn uint32) { held <- sn }
	n := a.cmdSN
	tur := make([]byte, 6)
	b.cmdSN = n + 1
	b.send(scsiCommand{ITT: 0x201, CDB: tur})
	if sn := <-held; sn != n+1 {
		t.Fatalf("held CmdSN %d, want %d", sn, n+1)
	}
	if got := lu.executed.Load(); got != 0 {
		t.Fatalf("%d commands executed while CmdSN %d was missing", got, n)
	}
	a.cmdSN = n
	a.send(scsiCommand{ITT: 0x202, CDB: tur})
	// The response of CmdSN n+1 follows its delivery, which advanced
	// ExpCmdSN past both; the one of n may leave before that.
	for _, x := range []struct {
		in  *initiator
		exp uint32
	}{{a, n + 1}, {b, n + 2}} {
		p := x.in.read()
		if p.Header.Opcode() != pdu.OpSCSIResponse {
			t.Fatalf("answered by %v", p.Header.String())
		}
		if exp := binary.BigEndian.Uint32(p.Header[28:32]); pdu.SerialLess(exp, x.exp) {
			t.Errorf("ExpCmdSN %d in a response, want at least %d", exp, x.exp)
		}
	}
	if got := lu.executed.Load(); got != 2 {
		t.Errorf("%d commands executed, want 2", got)
	}
}

// TestMCSLogoutReasons: the Logout reasons of RFC 7143 §11.14.1 on a
// session of two connections, sent on CID 0: closing CID 1 closes it
// alone; an unknown CID is answered "CID not found" and removing a
// connection for recovery "connection recovery is not supported" at
// ErrorRecoveryLevel 0 (§11.15.1), both harmless; closing the session
// closes both.
func TestMCSLogoutReasons(t *testing.T) {
	tests := []struct {
		name    string
		reason  pdu.LogoutReason
		cid     uint16
		want    pdu.LogoutResponseCode
		aAlive  bool
		bAlive  bool
		targetN int
	}{
		{"close the other connection", pdu.LogoutCloseConnection, 1, pdu.LogoutClosedSuccessfully, true, false, 1},
		{"close an unknown connection", pdu.LogoutCloseConnection, 7, pdu.LogoutCIDNotFound, true, true, 2},
		{"remove for recovery", pdu.LogoutRemoveConnectionForRecovery, 1, pdu.LogoutRecoveryNotSupported, true, true, 2},
		{"close the session", pdu.LogoutCloseSession, 0, pdu.LogoutClosedSuccessfully, false, false, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv, a, b, _ := mcsPair(t)
			var h pdu.BHS
			lr := h.LogoutRequest()
			lr.Init()
			lr.SetImmediate(true)
			lr.SetReasonCode(tc.reason)
			lr.SetCID(tc.cid)
			lr.SetInitiatorTaskTag(a.nextITT())
			lr.SetCmdSN(a.cmdSN)
			lr.SetExpStatSN(a.statSN)
			a.write(&h, nil)
			p := a.read()
			if p.Header.Opcode() != pdu.OpLogoutResponse || p.Header.LogoutResponse().Response() != tc.want {
				t.Fatalf("answered by %v, want response %v", p.Header.String(), tc.want)
			}
			for _, x := range []struct {
				in    *initiator
				alive bool
			}{{a, tc.aAlive}, {b, tc.bAlive}} {
				if x.alive {
					if got := x.in.nop([]byte("on")); string(got) != "on" {
						t.Errorf("ping answered with %q", got)
					}
					continue
				}
				if _, err := x.in.r.Read(); !errors.Is(err, io.EOF) && !errors.Is(err, io.ErrClosedPipe) {
					t.Errorf("read on a closed connection: %v, want EOF", err)
				}
				if err := <-x.in.served; err != nil {
					t.Errorf("ServeConn of a logged out connection: %v", err)
				}
				x.in.served <- nil
			}
			if got := targetConns(srv, a.res.TSIH); len(got) != tc.targetN {
				t.Errorf("the target's session has connections %v, want %d", got, tc.targetN)
			}
		})
	}
}

// TestMCSConnectionReinstatement: a login with the CID of a live connection
// (RFC 7143 §6.3.4) replaces it: at ErrorRecoveryLevel 0 the old
// connection goes with its tasks, and the session goes on over the new one.
func TestMCSConnectionReinstatement(t *testing.T) {
	srv, a, b, _ := mcsPair(t)
	// A WRITE waiting for its Data-Out on CID 1: a task of the old
	// connection.
	itt := b.nextITT()
	b.send(scsiCommand{ITT: itt, CDB: rw10(0x2a, 0, 1), EDTL: 512, Write: true})
	if p := b.read(); p.Header.Opcode() != pdu.OpR2T {
		t.Fatalf("WRITE answered by %v", p.Header.String())
	}
	a.cmdSN = b.cmdSN
	isid := a.res.ISID
	b2 := joinConn(t, srv, a, isid, 1)
	b2.nop(nil)
	if _, err := b.r.Read(); err == nil {
		t.Error("the replaced connection still delivers PDUs")
	}
	if err := <-b.served; !errors.Is(err, errConnReinstated) {
		t.Errorf("ServeConn of the replaced connection: %v, want errConnReinstated", err)
	}
	b.served <- nil
	if got := b2.nop([]byte("new")); string(got) != "new" {
		t.Errorf("the new connection answered its ping with %q", got)
	}
	if got := a.nop([]byte("lead")); string(got) != "lead" {
		t.Errorf("CID 0 answered its ping with %q", got)
	}
	if got := targetConns(srv, a.res.TSIH); len(got) != 2 {
		t.Errorf("the target's session has connections %v, want 2", got)
	}
}

// TestMCSJoinRefused: logins naming a session that cannot take them fail
// with the statuses of RFC 7143 §11.13.5: an unknown TSIH with 0x020a
// Session does not exist, a full session with 0x0206 Too many connections,
// another initiator port with 0x020a; the session is unharmed.
func TestMCSJoinRefused(t *testing.T) {
	srv, a, _, _ := mcsPair(t)
	other := pdu.NewISID(pdu.ISIDRandom, 0, 92, 0, 1)
	tests := []struct {
		name   string
		isid   pdu.ISID
		tsih   uint16
		cid    uint16
		status pdu.LoginStatus
	}{
		{"unknown TSIH", a.res.ISID, a.res.TSIH + 100, 5, pdu.LoginSessionDoesNotExist},
		{"session full", a.res.ISID, a.res.TSIH, 5, pdu.LoginTooManyConnections},
		{"other initiator port", other, a.res.TSIH, 5, pdu.LoginSessionDoesNotExist},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			lead := *a
			lead.res = &login.Result{TSIH: tc.tsih}
			err, _ := addConnection(t, srv, &lead, tc.isid, tc.cid)
			var le *login.LoginError
			if !errors.As(err, &le) || le.Status != tc.status {
				t.Fatalf("login: %v, want status %v", err, tc.status)
			}
			if got := a.nop([]byte("here")); string(got) != "here" {
				t.Errorf("the session answered its ping with %q", got)
			}
		})
	}
}

// TestMCSAbortAcrossConnections: ABORT TASK sent on one connection aborts
// a task of the session on another (RFC 7143 §11.5.1), and ABORT TASK SET
// covers the tasks of every connection.
func TestMCSAbortAcrossConnections(t *testing.T) {
	_, a, b, _ := mcsPair(t)
	waitR2T := func(in *initiator) uint32 {
		itt := in.nextITT()
		in.send(scsiCommand{ITT: itt, CDB: rw10(0x2a, 0, 1), EDTL: 512, Write: true})
		if p := in.read(); p.Header.Opcode() != pdu.OpR2T {
			t.Fatalf("WRITE answered by %v", p.Header.String())
		}
		a.cmdSN, b.cmdSN = max(a.cmdSN, in.cmdSN), max(b.cmdSN, in.cmdSN)
		return itt
	}
	itt := waitR2T(b)
	if code := a.tmf(pdu.TMFAbortTask, 0, itt, b.cmdSN-1); code != pdu.TMFResponseFunctionComplete {
		t.Errorf("ABORT TASK of a task on CID 1, sent on CID 0: %v, want Function complete", code)
	}
	if code := a.tmf(pdu.TMFAbortTask, 0, itt, b.cmdSN-1); code != pdu.TMFResponseTaskDoesNotExist {
		t.Errorf("ABORT TASK again: %v, want Task does not exist", code)
	}
	waitR2T(b)
	waitR2T(a)
	if code := b.tmf(pdu.TMFAbortTaskSet, 0, pdu.ReservedTag, 0); code != pdu.TMFResponseFunctionComplete {
		t.Errorf("ABORT TASK SET: %v", code)
	}
	for _, in := range []*initiator{a, b} {
		if got := in.nop([]byte("x")); string(got) != "x" {
			t.Errorf("ping answered with %q", got)
		}
	}
}

// TestMCSOrderedAcrossConnections: an ORDERED task waits for the tasks of
// the session before it whatever connection they came on (SAM-5 §8.6; RFC
// 7143 §4.2.2.1: ordering is per session), and starts when they end.
func TestMCSOrderedAcrossConnections(t *testing.T) {
	_, a, b, lu := mcsPair(t)
	lu.gate, lu.entered = make(chan struct{}), make(chan struct{})
	tur := make([]byte, 6)
	a.send(scsiCommand{ITT: a.nextITT(), Attr: pdu.TaskSimple, CDB: tur})
	<-lu.entered
	b.cmdSN = a.cmdSN
	b.send(scsiCommand{ITT: b.nextITT(), Attr: pdu.TaskOrdered, CDB: tur})
	// The ping is read after the ORDERED command: once it is answered,
	// the command has been started or held.
	b.nop(nil)
	if got := lu.executed.Load(); got != 1 {
		t.Fatalf("%d commands executing while the SIMPLE one before the ORDERED one runs, want 1", got)
	}
	close(lu.gate)
	for _, in := range []*initiator{a, b} {
		if p := in.read(); p.Header.Opcode() != pdu.OpSCSIResponse {
			t.Fatalf("answered by %v", p.Header.String())
		}
	}
	if got := lu.executed.Load(); got != 2 {
		t.Errorf("%d commands executed, want 2", got)
	}
}

// TestMCSJoinWindow: the Login Responses of a connection joining a session
// carry the session's command window (RFC 7143 §4.2.2.1), not one counted
// from the login's CmdSN, which is ahead of ExpCmdSN while commands are on
// their way over the other connections.
func TestMCSJoinWindow(t *testing.T) {
	srv := newTestServer(t, mcsSettings(2))
	isid := pdu.NewISID(pdu.ISIDRandom, 0, 93, 0, 1)
	a := dial(t, srv, mcsSettings(2), isid)
	a.nop(nil)
	exp, maxCmdSN := a.cmdSN, a.cmdSN+srv.limits.CmdSNWindow-1
	ahead := *a
	ahead.cmdSN += 5
	b := joinConn(t, srv, &ahead, isid, 1)
	if b.res.ExpCmdSN != exp || b.res.MaxCmdSN != maxCmdSN {
		t.Errorf("joining login answered ExpCmdSN %d MaxCmdSN %d, want the session's %d and %d", b.res.ExpCmdSN, b.res.MaxCmdSN, exp, maxCmdSN)
	}
}
