package session

import (
	"bytes"
	"net"
	"testing"
	"time"

	"github.com/go-iscsi/iscsi/login"
	"github.com/go-iscsi/iscsi/pdu"
	"github.com/go-iscsi/iscsi/scsi"
)

// erl2Settings are operational values with ErrorRecoveryLevel 2 (RFC 7143
// §13.20) and up to four connections, for the target and the test
// initiator alike.
func erl2Settings(mod func(*login.Settings)) *login.Settings {
	s := login.DefaultSettings()
	s.ErrorRecoveryLevel = 2
	s.MaxConnections = 4
	s.DefaultTime2Wait = 0
	s.DefaultTime2Retain = 20
	if mod != nil {
		mod(&s)
	}
	return &s
}

// dialERL2 logs in to a new test server with st on both sides, checks
// that ErrorRecoveryLevel 2 was negotiated and takes the power-on unit
// attention.
func dialERL2(t *testing.T, st *login.Settings, n uint16) (*Server, *initiator, pdu.ISID) {
	t.Helper()
	return dialERL2Limits(t, st, n, Limits{})
}

// blockPattern returns n bytes that differ from block to block.
func blockPattern(n int, seed byte) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = seed + byte(i/512) + byte(i%251)
	}
	return b
}

// reassignTask sends TASK REASSIGN (RFC 7143 §11.5.1, function 8) for
// the task ref with ExpDataSN and returns the response code.
func (in *initiator) reassignTask(ref, expDataSN uint32) pdu.TaskManagementResponseCode {
	in.t.Helper()
	return in.tmfRequest(pdu.TMFTaskReassign, lunOf(0), ref, 0, expDataSN)
}

// recoveryLogout sends a Logout with reason code 2 for cid (RFC 7143
// §11.14.1) and returns its response.
func (in *initiator) recoveryLogout(cid uint16) *pdu.LogoutResponse {
	in.t.Helper()
	var h pdu.BHS
	lr := h.LogoutRequest()
	lr.Init()
	lr.SetImmediate(true)
	lr.SetReasonCode(pdu.LogoutRemoveConnectionForRecovery)
	lr.SetInitiatorTaskTag(in.nextITT())
	lr.SetCID(cid)
	lr.SetCmdSN(in.cmdSN)
	lr.SetExpStatSN(in.statSN)
	in.write(&h, nil)
	p := in.read()
	if p.Header.Opcode() != pdu.OpLogoutResponse {
		in.t.Fatalf("logout answered by %v", p.Header.String())
	}
	h = p.Header
	return h.LogoutResponse()
}

// readRest reads the Data-In of the task itt from DataSN first on, and its
// status, and returns the data and the status.
func (in *initiator) readRest(itt, first uint32) ([]byte, scsi.Status) {
	in.t.Helper()
	var data []byte
	sn := first
	for {
		p := in.read()
		switch p.Header.Opcode() {
		case pdu.OpSCSIDataIn:
			d := p.Header.DataIn()
			if d.InitiatorTaskTag() != itt || d.DataSN() != sn {
				in.t.Fatalf("Data-In ITT %#x DataSN %d, want %#x and %d", d.InitiatorTaskTag(), d.DataSN(), itt, sn)
			}
			sn++
			data = append(data, p.Data...)
			if d.StatusPresent() {
				return data, scsi.Status(d.Status())
			}
		case pdu.OpSCSIResponse:
			r := p.Header.SCSIResponse()
			if r.InitiatorTaskTag() != itt {
				in.t.Fatalf("SCSI Response ITT %#x, want %#x", r.InitiatorTaskTag(), itt)
			}
			return data, scsi.Status(r.Status())
		default:
			in.t.Fatalf("unexpected %v", p.Header.String())
		}
	}
}

// writeBlocks writes data at LBA lba of LUN 0 and checks its status.
func (in *initiator) writeBlocks(lba uint32, data []byte) {
	in.t.Helper()
	r := in.command(lunOf(0), cdbRW10(scsi.OpWrite10, lba, uint16(len(data)/512)), uint32(len(data)), false, data)
	if r.Status != scsi.StatusGood {
		in.t.Fatalf("WRITE: status %v", r.Status)
	}
}

// readBlocks reads n bytes at LBA lba of LUN 0.
func (in *initiator) readBlocks(lba uint32, n int) []byte {
	in.t.Helper()
	r := in.command(lunOf(0), cdbRW10(scsi.OpRead10, lba, uint16(n/512)), uint32(n), true, nil)
	if r.Status != scsi.StatusGood {
		in.t.Fatalf("READ: status %v", r.Status)
	}
	return r.Data
}

// sendRead sends a READ(10) of n bytes at lba and returns its ITT.
func (in *initiator) sendRead(lba uint32, n int) uint32 {
	in.t.Helper()
	itt := in.nextITT()
	in.send(scsiCommand{ITT: itt, LUN: lunOf(0), Attr: pdu.TaskSimple, CDB: cdbRW10(scsi.OpRead10, lba, uint16(n/512)),
		EDTL: uint32(n), Read: true})
	return itt
}

// TestReassignReadAfterDrop: at ErrorRecoveryLevel 2 a READ whose
// connection fails after two of its Data-In PDUs is kept (RFC 7143
// §7.1.4.3); the session outlives its only connection, a new connection
// with the same CID joins it (§6.3.4), and TASK REASSIGN with ExpDataSN 2
// brings the rest of the Data-In and the status with a StatSN of the new
// connection (§7.2.2, §11.5.1).
func TestReassignReadAfterDrop(t *testing.T) {
	srv, a, id := dialERL2(t, erl2Settings(nil), 300)
	want := blockPattern(64<<10, 7)
	a.writeBlocks(100, want)
	itt := a.sendRead(100, len(want))
	var got []byte
	for sn := uint32(0); sn < 2; sn++ {
		p := a.read()
		if p.Header.Opcode() != pdu.OpSCSIDataIn || p.Header.DataIn().DataSN() != sn {
			t.Fatalf("got %v, want Data-In %d", p.Header.String(), sn)
		}
		got = append(got, p.Data...)
	}
	a.c.Close()
	b := joinConn(t, srv, a, id, 0)
	if code := b.reassignTask(itt, 2); code != pdu.TMFResponseFunctionComplete {
		t.Fatalf("TASK REASSIGN: %v", code)
	}
	rest, st := b.readRest(itt, 2)
	if st != scsi.StatusGood {
		t.Fatalf("status %v", st)
	}
	if got = append(got, rest...); !bytes.Equal(got, want) {
		t.Fatalf("READ after reassignment: %d bytes, not those written", len(got))
	}
	if s := srv.Stats(); s.TasksReassigned != 1 || s.ConnectionsRecovered != 1 || s.TasksDiscarded != 0 {
		t.Errorf("stats %+v, want 1 reassigned, 1 connection recovered, none discarded", s)
	}
	b.logout()
}

// TestReassignWriteAfterDrop: a WRITE whose connection fails halfway
// through the Data-Out of its second R2T is reassigned to a new connection
// (a new CID) after a Logout with reason code 2 for the failed one (RFC
// 7143 §11.14.1); the target asks for the data not yet received with new
// R2Ts (§7.2.2) and the WRITE completes; a READ returns what was written.
func TestReassignWriteAfterDrop(t *testing.T) {
	st := erl2Settings(func(s *login.Settings) {
		s.InitialR2T, s.ImmediateData = true, false
		s.MaxBurstLength, s.FirstBurstLength = 8192, 8192
		s.MaxOutstandingR2T = 1
	})
	srv, a, id := dialERL2(t, st, 301)
	b := joinConn(t, srv, a, id, 1)
	b.nop(nil)
	data := blockPattern(32<<10, 11)
	itt := a.nextITT()
	a.send(scsiCommand{ITT: itt, LUN: lunOf(0), Attr: pdu.TaskSimple, CDB: cdbRW10(scsi.OpWrite10, 200, uint16(len(data)/512)),
		EDTL: uint32(len(data)), Write: true})
	for i := range 2 {
		p := a.read()
		if p.Header.Opcode() != pdu.OpR2T {
			t.Fatalf("got %v, want an R2T", p.Header.String())
		}
		r := p.Header.R2T()
		n := r.DesiredDataTransferLength()
		if i == 1 {
			n /= 2 // the connection fails halfway through this sequence
			h := dataOut(itt, r.TargetTransferTag(), 0, r.BufferOffset(), false, a.statSN)
			a.write(&h, data[r.BufferOffset():r.BufferOffset()+n])
			break
		}
		a.sendData(itt, lunOf(0), r.TargetTransferTag(), data, r.BufferOffset(), n)
	}
	b.cmdSN = a.cmdSN
	// A ping over a shows the target has taken the Data-Out.
	a.nop(nil)
	a.c.Close()
	if lr := b.recoveryLogout(0); lr.Response() != pdu.LogoutClosedSuccessfully || lr.Time2Wait() != 0 || lr.Time2Retain() != 20 {
		t.Fatalf("Logout for recovery: %v, Time2Wait %d, Time2Retain %d", lr.Response(), lr.Time2Wait(), lr.Time2Retain())
	}
	if code := b.reassignTask(itt, 0); code != pdu.TMFResponseFunctionComplete {
		t.Fatalf("TASK REASSIGN: %v", code)
	}
	// RFC 7143 §7.2.2: R2Ts for the data outstanding, from the middle
	// of the second burst on.
	next := uint32(8192 + 4096)
	r2ts := 0
	for {
		p := b.read()
		if p.Header.Opcode() == pdu.OpSCSIResponse {
			if s := p.Header.SCSIResponse().Status(); s != uint8(scsi.StatusGood) {
				t.Fatalf("WRITE status %#x", s)
			}
			break
		}
		if p.Header.Opcode() != pdu.OpR2T {
			t.Fatalf("got %v, want an R2T", p.Header.String())
		}
		r := p.Header.R2T()
		if r.BufferOffset() != next {
			t.Fatalf("R2T at offset %d, want %d", r.BufferOffset(), next)
		}
		next += r.DesiredDataTransferLength()
		r2ts++
		b.sendData(itt, lunOf(0), r.TargetTransferTag(), data, r.BufferOffset(), r.DesiredDataTransferLength())
	}
	if next != uint32(len(data)) || r2ts != 3 {
		t.Errorf("R2Ts up to %d (%d of them), want up to %d in 3", next, r2ts, len(data))
	}
	if got := b.readBlocks(200, len(data)); !bytes.Equal(got, data) {
		t.Error("data read back differs from data written")
	}
	if s := srv.Stats(); s.TasksReassigned != 1 || s.ConnectionsRecovered != 1 {
		t.Errorf("stats %+v, want 1 reassigned and 1 connection recovered", s)
	}
	b.logout()
}

// TestReassignStatus: a TEST UNIT READY whose response was never read is
// reassigned (here to a connection that reinstated the old one while it
// was still open, RFC 7143 §6.3.4) and gets its status with a StatSN of
// the new connection; a second reassignment of it finds no task.
func TestReassignStatus(t *testing.T) {
	srv, a, id := dialERL2(t, erl2Settings(nil), 302)
	itt := a.nextITT()
	a.send(scsiCommand{ITT: itt, LUN: lunOf(0), Attr: pdu.TaskSimple, CDB: cdbTestUnitReady})
	b := joinConn(t, srv, a, id, 0)
	if code := b.reassignTask(itt, 0); code != pdu.TMFResponseFunctionComplete {
		t.Fatalf("TASK REASSIGN: %v", code)
	}
	if data, st := b.readRest(itt, 0); st != scsi.StatusGood || len(data) != 0 {
		t.Fatalf("status %v with %d bytes", st, len(data))
	}
	b.ping(b.statSN)
	if code := b.reassignTask(itt, 0); code != pdu.TMFResponseTaskDoesNotExist {
		t.Errorf("second TASK REASSIGN: %v, want task does not exist", code)
	}
	b.logout()
}

// TestReassignRefused: TASK REASSIGN for an Initiator Task Tag no task
// has gets "Task does not exist", for a task still allegiant to a live
// connection "Task still allegiant" (RFC 7143 §11.6.1), and on a session
// below ErrorRecoveryLevel 2 "Task allegiance reassignment not supported".
func TestReassignRefused(t *testing.T) {
	st := erl2Settings(func(s *login.Settings) { s.InitialR2T, s.ImmediateData = true, false })
	srv, a, id := dialERL2(t, st, 303)
	if code := a.reassignTask(0x7777, 0); code != pdu.TMFResponseTaskDoesNotExist {
		t.Errorf("unknown task: %v, want task does not exist", code)
	}
	b := joinConn(t, srv, a, id, 1)
	itt := a.nextITT()
	a.send(scsiCommand{ITT: itt, LUN: lunOf(0), Attr: pdu.TaskSimple, CDB: cdbRW10(scsi.OpWrite10, 0, 1), EDTL: 512, Write: true})
	if p := a.read(); p.Header.Opcode() != pdu.OpR2T {
		t.Fatalf("got %v, want an R2T", p.Header.String())
	}
	if code := b.reassignTask(itt, 0); code != pdu.TMFResponseTaskStillAllegiant {
		t.Errorf("task of a live connection: %v, want task still allegiant", code)
	}
	for _, erl := range []uint8{0, 1} {
		s := login.DefaultSettings()
		s.ErrorRecoveryLevel = erl
		srv := newTestServer(t, &s)
		in := dial(t, srv, &s, isid(310+uint16(erl)))
		if code := in.reassignTask(1, 0); code != pdu.TMFResponseReassignmentNotSupported {
			t.Errorf("ErrorRecoveryLevel %d: %v, want task allegiance reassignment not supported", erl, code)
		}
		if lr := in.recoveryLogout(0); lr.Response() != pdu.LogoutRecoveryNotSupported {
			t.Errorf("ErrorRecoveryLevel %d: Logout for recovery %v, want connection recovery not supported", erl, lr.Response())
		}
		in.logout()
	}
}

// TestReassignTime2Retain: with DefaultTime2Retain 0 (RFC 7143 §13.16) the
// tasks of a failed connection are discarded at once and a reassignment
// finds none; with 1 second a session left without connections ends once
// it has passed, and a login with its TSIH fails.
func TestReassignTime2Retain(t *testing.T) {
	st := erl2Settings(func(s *login.Settings) { s.DefaultTime2Retain = 0 })
	srv, a, id := dialERL2(t, st, 304)
	b := joinConn(t, srv, a, id, 1)
	b.nop(nil)
	itt := a.sendRead(0, 64<<10)
	a.c.Close()
	if lr := b.recoveryLogout(0); lr.Response() != pdu.LogoutClosedSuccessfully && lr.Response() != pdu.LogoutCIDNotFound {
		t.Fatalf("Logout for recovery: %v", lr.Response())
	}
	if code := b.reassignTask(itt, 0); code != pdu.TMFResponseTaskDoesNotExist {
		t.Errorf("TASK REASSIGN with Time2Retain 0: %v, want task does not exist", code)
	}
	if s := srv.Stats(); s.TasksDiscarded != 1 || s.TasksReassigned != 0 {
		t.Errorf("stats %+v, want 1 task discarded", s)
	}
	b.logout()

	st = erl2Settings(func(s *login.Settings) { s.DefaultTime2Retain = 1 })
	srv, a, _ = dialERL2(t, st, 305)
	a.sendRead(0, 64<<10)
	a.c.Close()
	deadline := time.Now().Add(10 * time.Second)
	for srv.Stats().TasksDiscarded == 0 {
		if time.Now().After(deadline) {
			t.Fatalf("task not discarded after Time2Retain: %+v", srv.Stats())
		}
		time.Sleep(20 * time.Millisecond)
	}
	for {
		srv.mu.Lock()
		n := len(srv.sessions)
		srv.mu.Unlock()
		if n == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("session without connections not ended after Time2Retain")
		}
		time.Sleep(20 * time.Millisecond)
	}
	c1, c2 := net.Pipe()
	defer c1.Close()
	go srv.ServeConn(t.Context(), c2)
	st2 := login.DefaultSettings()
	_, err := login.Initiate(t.Context(), pdu.NewReader(c1), pdu.NewWriter(c1), login.InitiatorConfig{
		InitiatorName: testInitiator, TargetName: testTarget, ISID: isid(305), TSIH: a.res.TSIH, CID: 0,
		InitiatorTaskTag: 0x1000, CmdSN: a.cmdSN, Settings: &st2,
	})
	if err == nil {
		t.Error("login with the TSIH of the ended session succeeded")
	}
}

// TestReassignAfterReset: LOGICAL UNIT RESET and TARGET WARM RESET abort
// every task of the logical unit (RFC 7143 §11.5.1, SAM-5 §7.7), those
// waiting for reassignment included: a WRITE orphaned halfway through its
// Data-Out is discarded, TASK REASSIGN then finds no task, and nothing of
// it reaches the medium.
func TestReassignAfterReset(t *testing.T) {
	for _, fn := range []pdu.TaskManagementFunction{pdu.TMFLogicalUnitReset, pdu.TMFTargetWarmReset} {
		t.Run(fn.String(), func(t *testing.T) {
			st := erl2Settings(func(s *login.Settings) {
				s.InitialR2T, s.ImmediateData = true, false
				s.MaxBurstLength, s.FirstBurstLength = 8192, 8192
			})
			srv, a, id := dialERL2(t, st, 303)
			b := joinConn(t, srv, a, id, 1)
			b.nop(nil)
			data := blockPattern(16<<10, 5)
			itt := a.nextITT()
			a.send(scsiCommand{ITT: itt, LUN: lunOf(0), Attr: pdu.TaskSimple, CDB: cdbRW10(scsi.OpWrite10, 300, uint16(len(data)/512)),
				EDTL: uint32(len(data)), Write: true})
			p := a.read()
			if p.Header.Opcode() != pdu.OpR2T {
				t.Fatalf("got %v, want an R2T", p.Header.String())
			}
			r := p.Header.R2T()
			h := dataOut(itt, r.TargetTransferTag(), 0, r.BufferOffset(), false, a.statSN)
			a.write(&h, data[:4096])
			b.cmdSN = a.cmdSN
			a.nop(nil)
			a.c.Close()
			if lr := b.recoveryLogout(0); lr.Response() != pdu.LogoutClosedSuccessfully {
				t.Fatalf("Logout for recovery: %v", lr.Response())
			}
			lun := lunOf(0)
			if fn == pdu.TMFTargetWarmReset {
				lun = 0
			}
			if code := b.tmf(fn, lun, pdu.ReservedTag, 0); code != pdu.TMFResponseFunctionComplete {
				t.Fatalf("%v: %v", fn, code)
			}
			if s := srv.Stats(); s.TasksDiscarded != 1 {
				t.Errorf("%d tasks discarded by the reset, want 1", s.TasksDiscarded)
			}
			if code := b.reassignTask(itt, 0); code != pdu.TMFResponseTaskDoesNotExist {
				t.Errorf("TASK REASSIGN after the reset: %v, want task does not exist", code)
			}
			// The reset leaves a unit attention (SAM-5 §6.4) for the
			// READ's first try.
			b.command(lunOf(0), cdbTestUnitReady, 0, false, nil)
			if got := b.readBlocks(300, len(data)); !bytes.Equal(got, make([]byte, len(data))) {
				t.Error("the discarded WRITE reached the medium")
			}
			b.logout()
		})
	}
}
