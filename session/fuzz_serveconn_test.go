package session

import (
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-iscsi/iscsi/login"
	"github.com/go-iscsi/iscsi/pdu"
	"github.com/go-iscsi/iscsi/scsi"
)

// fuzzConnHeapBudget bounds how much the heap may grow over one fuzzed
// connection, beyond the blocks its writes allocate in the memory disks
// (at most 2 x testBlocks x 512 bytes over the whole run).
const fuzzConnHeapBudget = 64 << 20

// projectGoroutines returns, by goroutine ID, the stacks of the goroutines
// that run code of this module, other than the caller and the testing
// package's runners. The fuzzing engine's own goroutines come and go and
// are not counted.
func projectGoroutines() map[string]string {
	buf := make([]byte, 1<<20)
	stacks := strings.Split(string(buf[:runtime.Stack(buf, true)]), "\n\n")
	out := make(map[string]string)
	for _, g := range stacks[1:] { // stacks[0] is the caller
		if !strings.Contains(g, "github.com/go-iscsi/iscsi/") ||
			strings.Contains(g, "testing.tRunner") || strings.Contains(g, "testing.(*F)") {
			continue
		}
		id, _, _ := strings.Cut(strings.TrimPrefix(g, "goroutine "), " ")
		out[id] = g
	}
	return out
}

// waitProjectGoroutines waits, a bounded time, until every goroutine
// running this module's code was already there in before (goroutines
// another test left are not this call's), and returns the stacks of the
// new ones left.
func waitProjectGoroutines(before map[string]string) string {
	deadline := time.Now().Add(5 * time.Second)
	for {
		var left []string
		for id, g := range projectGoroutines() {
			if _, old := before[id]; !old {
				left = append(left, g)
			}
		}
		if len(left) == 0 || time.Now().After(deadline) {
			return strings.Join(left, "\n\n")
		}
		time.Sleep(time.Millisecond)
	}
}

// boundedFuzzServer is the target of the bounded ServeConn fuzz targets:
// unsolicited data allowed (InitialR2T=No), mod applied to the settings,
// and limits small enough that a hostile stream reaches them: 4 tasks
// running, 8 pending, 2-second write and Data-Out timeouts, 1 MiB
// retained for SNACKs.
func boundedFuzzServer(f *testing.F, mod func(*login.Settings)) (*Server, login.Settings) {
	open := login.DefaultSettings()
	open.InitialR2T = false
	if mod != nil {
		mod(&open)
	}
	srv := newTestServer(f, &open)
	srv.Limits.MaxTasks = 4
	srv.Limits.MaxPendingTasks = 8
	srv.Limits.WriteTimeout = 2 * time.Second
	srv.Limits.DataOutTimeout = 2 * time.Second
	srv.Limits.RetainBytes = 1 << 20
	return srv, open
}

// FuzzServeConnBounded plays the fuzz input to a whole target connection
// after a valid login, with the resource bounds small (MaxTasks 4,
// MaxPendingTasks 8, a short write and Data-Out timeout), while the
// initiator side reads everything the target sends. After the initiator
// closes, ServeConn must return, the goroutines of the connection must all
// be gone, and the heap must not have grown past fuzzConnHeapBudget plus
// the disks' blocks.
func FuzzServeConnBounded(f *testing.F) {
	for _, s := range fuzzSeeds() {
		f.Add(s)
	}
	srv, open := boundedFuzzServer(f, nil)
	var conns atomic.Uint32
	f.Fuzz(func(t *testing.T, stream []byte) {
		before := projectGoroutines()
		var m0 runtime.MemStats
		runtime.ReadMemStats(&m0)
		served := playAfterLogin(t, srv, open, uint16(conns.Add(1)), stream)
		select {
		case <-served:
		case <-time.After(30 * time.Second):
			t.Fatalf("ServeConn did not return after the initiator closed\n%s", goroutineDump())
		}
		var m1 runtime.MemStats
		runtime.ReadMemStats(&m1)
		if grew := int64(m1.HeapAlloc) - int64(m0.HeapAlloc); grew > fuzzConnHeapBudget+2*testBlocks*512 {
			t.Errorf("heap grew by %d MiB over one connection", grew>>20)
		}
		if left := waitProjectGoroutines(before); left != "" {
			t.Fatalf("goroutines of the connection left after it ended:\n%s", left)
		}
	})
}

// erl1FuzzSeeds are streams of the ErrorRecoveryLevel 1 exchanges: a READ
// followed by Data, Status and DataACK SNACKs, and a WRITE whose
// unsolicited Data-Out leaves a gap in DataSN and BufferOffset, followed
// by an R2T SNACK and an R-Data SNACK; a READ followed by a Text Request
// declaring a smaller MaxRecvDataSegmentLength (RFC 7143 §13.12), an R-Data
// SNACK that resegments its Data-In, and Status and Data SNACKs after it.
func erl1FuzzSeeds() [][]byte {
	var read pdu.BHS
	r := read.SCSICommand()
	r.Init()
	r.SetFinal(true)
	r.SetRead(true)
	r.SetInitiatorTaskTag(2)
	r.SetCmdSN(1)
	r.SetExpStatSN(1)
	r.SetExpectedDataTransferLength(4096)
	r.SetCDB(cdbRW10(scsi.OpRead10, 0, 8))
	snack := func(typ pdu.SNACKType, itt, ttt, beg, run uint32) pdu.BHS {
		var h pdu.BHS
		s := h.SNACKRequest()
		s.Init()
		s.SetType(typ)
		s.SetInitiatorTaskTag(itt)
		s.SetTargetTransferTag(ttt)
		s.SetExpStatSN(1)
		s.SetBegRun(beg)
		s.SetRunLength(run)
		return h
	}
	var write pdu.BHS
	w := write.SCSICommand()
	w.Init()
	w.SetWrite(true)
	w.SetInitiatorTaskTag(3)
	w.SetCmdSN(2)
	w.SetExpectedDataTransferLength(2048)
	w.SetCDB(cdbRW10(scsi.OpWrite10, 0, 4))
	var out pdu.BHS
	d := out.DataOut()
	d.Init()
	d.SetFinal(true)
	d.SetInitiatorTaskTag(3)
	d.SetTargetTransferTag(pdu.ReservedTag)
	d.SetDataSN(1)
	d.SetBufferOffset(1024)
	cat := func(parts ...[]byte) []byte {
		var b []byte
		for _, p := range parts {
			b = append(b, p...)
		}
		return b
	}
	pdus := func(hs ...pdu.BHS) []byte {
		var b []byte
		for _, h := range hs {
			b = append(b, fuzzPDU(h, nil)...)
		}
		return b
	}
	var text pdu.BHS
	tr := text.TextRequest()
	tr.Init()
	tr.SetImmediate(true)
	tr.SetFinal(true)
	tr.SetInitiatorTaskTag(4)
	tr.SetTargetTransferTag(pdu.ReservedTag)
	tr.SetCmdSN(2)
	tr.SetExpStatSN(1)
	return [][]byte{
		cat(fuzzPDU(read, nil), pdus(
			snack(pdu.SNACKDataR2T, 2, pdu.ReservedTag, 0, 0),
			snack(pdu.SNACKStatus, pdu.ReservedTag, pdu.ReservedTag, 1, 0),
			snack(pdu.SNACKDataACK, pdu.ReservedTag, 1, 1, 0),
			snack(pdu.SNACKDataR2T, 2, pdu.ReservedTag, 0, 0),
		)),
		cat(fuzzPDU(write, make([]byte, 512)), fuzzPDU(out, make([]byte, 1024)), pdus(
			snack(pdu.SNACKDataR2T, 3, pdu.ReservedTag, 0, 0),
			snack(pdu.SNACKRData, 3, 7, 0, 0),
		)),
		cat(fuzzPDU(read, nil), fuzzPDU(text, []byte("MaxRecvDataSegmentLength=512\x00")), pdus(
			snack(pdu.SNACKRData, 2, 9, 0, 0),
			snack(pdu.SNACKStatus, pdu.ReservedTag, pdu.ReservedTag, 1, 0),
			snack(pdu.SNACKDataR2T, 2, pdu.ReservedTag, 3, 2),
		)),
		// The WRITE (CmdSN 2) ahead of the READ (CmdSN 1), held; a
		// copy of it, ignored; then the READ, which lets both run
		// (cmdorder.go).
		cat(fuzzPDU(write, make([]byte, 512)), fuzzPDU(out, make([]byte, 1024)),
			fuzzPDU(write, make([]byte, 512)), fuzzPDU(read, nil)),
	}
}

// FuzzServeConnERL1 is FuzzServeConnBounded at ErrorRecoveryLevel 1, where
// SNACKs are answered and Data-Out gaps asked for again: ServeConn must
// return, and nothing may stay retained once it has.
func FuzzServeConnERL1(f *testing.F) {
	for _, s := range append(fuzzSeeds(), erl1FuzzSeeds()...) {
		f.Add(s)
	}
	srv, open := boundedFuzzServer(f, func(st *login.Settings) { st.ErrorRecoveryLevel = 1 })
	var conns atomic.Uint32
	f.Fuzz(func(t *testing.T, stream []byte) {
		served := playAfterLogin(t, srv, open, uint16(conns.Add(1)), stream)
		select {
		case <-served:
		case <-time.After(30 * time.Second):
			t.Fatalf("ServeConn did not return after the initiator closed\n%s", goroutineDump())
		}
		if r := srv.Stats().RetainedBytes; r != 0 {
			t.Fatalf("%d bytes retained after the connection ended", r)
		}
	})
}

// erl2FuzzSeeds are streams of the ErrorRecoveryLevel 2 exchanges: a READ
// and a WRITE waiting for Data-Out, TASK REASSIGN for both and for a task
// that does not exist, a Logout removing another CID for recovery, and a
// Logout removing the connection itself for recovery.
func erl2FuzzSeeds() [][]byte {
	read, write := seedRead(), seedWrite(true)
	reassign := func(itt, ref, expDataSN uint32) pdu.BHS {
		var h pdu.BHS
		tm := h.TaskManagementRequest()
		tm.Init()
		tm.SetImmediate(true)
		tm.SetFunction(pdu.TMFTaskReassign)
		tm.SetInitiatorTaskTag(itt)
		tm.SetReferencedTaskTag(ref)
		tm.SetExpDataSN(expDataSN)
		tm.SetCmdSN(3)
		return h
	}
	logout := func(itt uint32, cid uint16) pdu.BHS {
		var h pdu.BHS
		lr := h.LogoutRequest()
		lr.Init()
		lr.SetImmediate(true)
		lr.SetReasonCode(pdu.LogoutRemoveConnectionForRecovery)
		lr.SetInitiatorTaskTag(itt)
		lr.SetCID(cid)
		lr.SetCmdSN(3)
		return h
	}
	var b1, b2 []byte
	for _, h := range []pdu.BHS{read, write, reassign(10, 2, 1), reassign(11, 3, 0), reassign(12, 99, 0), logout(13, 7)} {
		b1 = append(b1, fuzzPDU(h, nil)...)
	}
	for _, h := range []pdu.BHS{read, write, logout(14, 0)} {
		b2 = append(b2, fuzzPDU(h, nil)...)
	}
	return [][]byte{b1, b2}
}

// FuzzServeConnERL2 is FuzzServeConnBounded at ErrorRecoveryLevel 2, where
// the tasks of a connection that ends without a Logout (or with one for
// recovery) outlive it and the session waits for a new connection: after
// ServeConn returned, a login with the same ISID reinstates the session
// (RFC 7143 §6.3.5), which must end the one left without connections and
// discard its tasks, and its Logout ends it. No session may be left and
// nothing retained.
func FuzzServeConnERL2(f *testing.F) {
	for _, s := range append(fuzzSeeds(), erl2FuzzSeeds()...) {
		f.Add(s)
	}
	srv, open := boundedFuzzServer(f, func(st *login.Settings) {
		st.ErrorRecoveryLevel = 2
		st.MaxConnections = 2
	})
	var close pdu.BHS
	lr := close.LogoutRequest()
	lr.Init()
	lr.SetImmediate(true)
	lr.SetReasonCode(pdu.LogoutCloseSession)
	lr.SetInitiatorTaskTag(1)
	lr.SetCmdSN(1)
	logout := fuzzPDU(close, nil)
	var conns atomic.Uint32
	f.Fuzz(func(t *testing.T, stream []byte) {
		n := uint16(conns.Add(1))
		for _, s := range [][]byte{stream, logout} {
			select {
			case <-playAfterLogin(t, srv, open, n, s):
			case <-time.After(30 * time.Second):
				t.Fatalf("ServeConn did not return after the initiator closed\n%s", goroutineDump())
			}
		}
		srv.mu.Lock()
		left := len(srv.sessions)
		srv.mu.Unlock()
		if left != 0 {
			t.Fatalf("%d sessions left after the reinstating session logged out", left)
		}
		if r := srv.Stats().RetainedBytes; r != 0 {
			t.Fatalf("%d bytes retained after the connection ended", r)
		}
	})
}
