package session

import (
	"bytes"
	"encoding/binary"
	"testing"

	"github.com/go-iscsi/iscsi/login"
	"github.com/go-iscsi/iscsi/pdu"
	"github.com/go-iscsi/iscsi/scsi"
)

// dialERL2Limits is dialERL2 with the server's Limits set to lim (the zero
// Limits: the defaults).
func dialERL2Limits(t *testing.T, st *login.Settings, n uint16, lim Limits) (*Server, *initiator, pdu.ISID) {
	t.Helper()
	srv := newTestServer(t, st)
	srv.Limits = lim
	id := isid(n)
	in := dial(t, srv, st, id)
	if got := in.res.Session.ErrorRecoveryLevel; got != 2 {
		t.Fatalf("ErrorRecoveryLevel %d negotiated, want 2", got)
	}
	in.command(lunOf(0), cdbTestUnitReady, 0, false, nil)
	return srv, in, id
}

// TestReassignNotRetained: at ErrorRecoveryLevel 2 with a Limits.RetainBytes
// that retains no Data-In, the responses of a WRITE and of a READ are sent
// and read, and the connection fails before the initiator acknowledges them
// with its ExpStatSN. A TASK REASSIGN on a new connection (RFC 7143 §7.2.2,
// §11.5.1) still finds each task: the WRITE gets its status again, the READ
// its Data-In, read again from the logical unit, and its status. An
// INQUIRY, which the target does not run twice, is not found.
func TestReassignNotRetained(t *testing.T) {
	for _, limit := range []int{1, 4 << 10, -1} {
		srv, a, id := dialERL2Limits(t, erl2Settings(nil), 320, Limits{RetainBytes: limit})
		data := blockPattern(32<<10, 5)
		a.writeBlocks(300, data)
		write := a.itt
		// The READ's command acknowledges the WRITE's status: the WRITE
		// is reassigned on a connection of its own.
		b := joinConn(t, srv, a, id, 1)
		b.nop(nil)
		a.c.Close()
		if lr := b.recoveryLogout(0); lr.Response() != pdu.LogoutClosedSuccessfully {
			t.Fatalf("RetainBytes %d: Logout for recovery: %v", limit, lr.Response())
		}
		if code := b.reassignTask(write, 0); code != pdu.TMFResponseFunctionComplete {
			t.Fatalf("RetainBytes %d: TASK REASSIGN of the WRITE: %v", limit, code)
		}
		if got, st := b.readRest(write, 0); st != scsi.StatusGood || len(got) != 0 {
			t.Fatalf("RetainBytes %d: WRITE reassigned: status %v with %d bytes", limit, st, len(got))
		}

		// The READ, on b, whose connection fails next.
		if got := b.readBlocks(300, len(data)); !bytes.Equal(got, data) {
			t.Fatalf("RetainBytes %d: READ differs from the data written", limit)
		}
		read := b.itt
		b.c.Close()
		// A login with b's CID reinstates it (RFC 7143 §6.3.4).
		c := joinConn(t, srv, b, id, 1)
		c.itt = b.itt
		if code := c.reassignTask(read, 0); code != pdu.TMFResponseFunctionComplete {
			t.Fatalf("RetainBytes %d: TASK REASSIGN of the READ: %v", limit, code)
		}
		got, st := c.readRest(read, 0)
		if st != scsi.StatusGood || !bytes.Equal(got, data) {
			t.Fatalf("RetainBytes %d: READ reassigned: status %v, %d bytes, want those written", limit, st, len(got))
		}

		// An INQUIRY whose Data-In was not retained is not run again.
		r := c.command(lunOf(0), cdbInquiry(false, 0, 96), 96, true, nil)
		if r.Status != scsi.StatusGood {
			t.Fatalf("INQUIRY: %v", r.Status)
		}
		inq := c.itt
		c.c.Close()
		d := joinConn(t, srv, c, id, 1)
		d.itt = c.itt
		reassigned, discarded := uint64(2), uint64(1)
		if limit >= taskRetainCost+96 {
			// The INQUIRY's 96 bytes fit: retained, they are sent again.
			if code := d.reassignTask(inq, 0); code != pdu.TMFResponseFunctionComplete {
				t.Fatalf("RetainBytes %d: TASK REASSIGN of the INQUIRY: %v", limit, code)
			}
			if got, st := d.readRest(inq, 0); st != scsi.StatusGood || !bytes.Equal(got, r.Data) {
				t.Fatalf("RetainBytes %d: INQUIRY reassigned: status %v, %d bytes", limit, st, len(got))
			}
			reassigned, discarded = 3, 0
		} else if code := d.reassignTask(inq, 0); code != pdu.TMFResponseTaskDoesNotExist {
			t.Fatalf("RetainBytes %d: TASK REASSIGN of the INQUIRY: %v, want task does not exist", limit, code)
		}
		if s := srv.Stats(); s.TasksReassigned != reassigned || s.ConnectionsRecovered != 3 || s.TasksDiscarded != discarded {
			t.Errorf("RetainBytes %d: stats %+v, want %d reassigned, 3 connections recovered, %d discarded", limit, s, reassigned, discarded)
		}
		d.logout()
		if r := srv.Stats().RetainedBytes; r != 0 {
			t.Errorf("RetainBytes %d: RetainedBytes %d after logout", limit, r)
		}
	}
}

// TestReassignNotRetainedPartial: a READ whose Data-In was not retained,
// reassigned with the ExpDataSN of the Data-In the initiator has, gets the
// rest of it, read again, and its status; with an ExpDataSN past all of
// it, the status alone.
func TestReassignNotRetainedPartial(t *testing.T) {
	srv, a, id := dialERL2Limits(t, erl2Settings(nil), 321, Limits{RetainBytes: 1})
	want := blockPattern(64<<10, 9)
	a.writeBlocks(400, want)
	r := a.command(lunOf(0), cdbRW10(scsi.OpRead10, 400, uint16(len(want)/512)), uint32(len(want)), true, nil)
	if r.Status != scsi.StatusGood || !bytes.Equal(r.Data, want) {
		t.Fatalf("READ: %v", r.Status)
	}
	itt := a.itt
	seg := int(a.maxRecv)
	a.c.Close()
	b := joinConn(t, srv, a, id, 0)
	b.itt = a.itt
	if int(b.maxRecv) != seg {
		t.Fatalf("MaxRecvDataSegmentLength %d then %d: DataSNs differ", seg, b.maxRecv)
	}
	if code := b.reassignTask(itt, 2); code != pdu.TMFResponseFunctionComplete {
		t.Fatalf("TASK REASSIGN: %v", code)
	}
	rest, st := b.readRest(itt, 2)
	if st != scsi.StatusGood || !bytes.Equal(rest, want[2*seg:]) {
		t.Fatalf("READ reassigned from DataSN 2: status %v, %d bytes, want the last %d", st, len(rest), len(want)-2*seg)
	}
	// Acknowledge, read again and reassign once all the Data-In arrived.
	b.ping(b.statSN)
	r = b.command(lunOf(0), cdbRW10(scsi.OpRead10, 400, uint16(len(want)/512)), uint32(len(want)), true, nil)
	if r.Status != scsi.StatusGood {
		t.Fatalf("READ: %v", r.Status)
	}
	itt = b.itt
	b.c.Close()
	c := joinConn(t, srv, b, id, 0)
	c.itt = b.itt
	if code := c.reassignTask(itt, uint32(len(want)/seg)); code != pdu.TMFResponseFunctionComplete {
		t.Fatalf("TASK REASSIGN: %v", code)
	}
	if rest, st := c.readRest(itt, 0); st != scsi.StatusGood || len(rest) != 0 {
		t.Fatalf("READ reassigned past its Data-In: status %v with %d bytes", st, len(rest))
	}
	c.logout()
	if r := srv.Stats().RetainedBytes; r != 0 {
		t.Errorf("RetainedBytes %d after logout", r)
	}
}

// sendTUR sends a TEST UNIT READY with ITT itt and ExpStatSN exp.
func (in *initiator) sendTUR(itt, exp uint32) {
	in.t.Helper()
	var h pdu.BHS
	cmd := h.SCSICommand()
	cmd.Init()
	cmd.SetFinal(true)
	cmd.SetAttributes(pdu.TaskSimple)
	cmd.SetLUN(lunOf(0))
	cmd.SetInitiatorTaskTag(itt)
	cmd.SetCmdSN(in.cmdSN)
	cmd.SetExpStatSN(exp)
	cmd.SetCDB(cdbTestUnitReady)
	in.cmdSN++
	in.write(&h, nil)
}

// TestReassignNotRetainedBound: the statuses kept beyond Limits.RetainBytes
// are at most Limits.MaxPendingTasks per connection; a task beyond them
// is not kept, and its reassignment finds no task.
func TestReassignNotRetainedBound(t *testing.T) {
	srv, a, id := dialERL2Limits(t, erl2Settings(nil), 322, Limits{RetainBytes: 1, MaxPendingTasks: 2})
	// Acknowledge the TEST UNIT READY of the login.
	exp := a.statSN
	a.ping(exp)
	exp = a.statSN
	var itts []uint32
	for range 3 {
		// Each command carries the same ExpStatSN: no status is
		// acknowledged.
		itt := a.nextITT()
		a.sendTUR(itt, exp)
		if _, st := a.readRest(itt, 0); st != scsi.StatusGood {
			t.Fatalf("TEST UNIT READY: %v", st)
		}
		itts = append(itts, itt)
	}
	if r := srv.Stats().RetainedBytes; r > 2*int64(taskRetainCost) {
		t.Errorf("RetainedBytes %d, more than 2 statuses of %d", r, taskRetainCost)
	}
	a.c.Close()
	b := joinConn(t, srv, a, id, 0)
	b.itt = a.itt
	want := []pdu.TaskManagementResponseCode{pdu.TMFResponseFunctionComplete, pdu.TMFResponseFunctionComplete, pdu.TMFResponseTaskDoesNotExist}
	for i, itt := range itts {
		code := b.reassignTask(itt, 0)
		if code != want[i] {
			t.Fatalf("TASK REASSIGN of command %d: %v, want %v", i, code, want[i])
		}
		if code == pdu.TMFResponseFunctionComplete {
			if _, st := b.readRest(itt, 0); st != scsi.StatusGood {
				t.Fatalf("command %d reassigned: %v", i, st)
			}
		}
	}
	b.logout()
	if r := srv.Stats().RetainedBytes; r != 0 {
		t.Errorf("RetainedBytes %d after logout", r)
	}
}

// TestERL2SNACKNotRetained: at ErrorRecoveryLevel 2 the status of a READ
// whose Data-In Limits.RetainBytes left out is kept: a Status SNACK gets
// it again, in a SCSI Response with its StatSN (RFC 7143 §11.16.1), while
// a Data SNACK and an R-Data SNACK for the Data-In not retained are
// rejected with reason SNACK Reject (§11.17.1).
func TestERL2SNACKNotRetained(t *testing.T) {
	srv, a, _ := dialERL2Limits(t, erl2Settings(nil), 323, Limits{RetainBytes: 1})
	exp := a.statSN
	itt := a.nextITT()
	pdus := a.readTask(itt, cdbRW10(scsi.OpRead10, 0, 8), 8*512, exp)
	last := pdus[len(pdus)-1].h
	if last.Opcode() != pdu.OpSCSIDataIn || !last.DataIn().StatusPresent() {
		t.Fatalf("READ ended with %v, want the status in its Data-In", last.String())
	}
	statSN := binary.BigEndian.Uint32(last[24:28])
	for typ, tag := range map[pdu.SNACKType]uint32{pdu.SNACKDataR2T: pdu.ReservedTag, pdu.SNACKRData: 0x55} {
		a.snack(typ, itt, tag, 0, 0, exp)
		if p := a.readRaw(); p.h.Opcode() != pdu.OpReject || p.h.Reject().Reason() != pdu.RejectSNACKReject {
			t.Fatalf("%v SNACK for Data-In not retained answered by %v, reason %v", typ, p.h.String(), p.h.Reject().Reason())
		}
	}
	a.snack(pdu.SNACKStatus, pdu.ReservedTag, pdu.ReservedTag, statSN, 1, exp)
	p := a.readRaw()
	if p.h.Opcode() != pdu.OpSCSIResponse || binary.BigEndian.Uint32(p.h[24:28]) != statSN ||
		scsi.Status(p.h.SCSIResponse().Status()) != scsi.StatusGood {
		t.Fatalf("Status SNACK answered by %v, want a SCSI Response with StatSN %d", p.h.String(), statSN)
	}
	// Each Reject took a StatSN (§11.17).
	a.statSN += 2
	if s := srv.Stats(); s.StatusSNACKs != 1 || s.RejectedSNACKs != 2 {
		t.Errorf("stats %+v, want 1 Status SNACK and 2 rejected", s)
	}
	a.logout()
	if r := srv.Stats().RetainedBytes; r != 0 {
		t.Errorf("RetainedBytes %d after logout", r)
	}
}
