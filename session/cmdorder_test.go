package session

import (
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/go-iscsi/iscsi/pdu"
	"github.com/go-iscsi/iscsi/scsi"
)

// pingExpCmdSN sends an immediate NOP-Out ping on in and returns the
// ExpCmdSN of the NOP-In that answers it, which must be the next PDU.
func pingExpCmdSN(t *testing.T, in *initiator) uint32 {
	t.Helper()
	itt := in.nextITT()
	h := nopOutWithTag(itt)
	h.NOPOut().SetCmdSN(in.cmdSN)
	h.NOPOut().SetExpStatSN(in.statSN)
	in.write(h, nil)
	p := in.read()
	if p.Header.Opcode() != pdu.OpNOPIn || p.Header.InitiatorTaskTag() != itt {
		t.Fatalf("ping answered by %v ITT %#x", p.Header.Opcode(), p.Header.InitiatorTaskTag())
	}
	return p.Header.NOPIn().ExpCmdSN()
}

// statusesOf reads PDUs from in until n commands have their status (a SCSI
// Response, or a Data-In with the S bit), and returns the ITTs in the order
// their status came.
func statusesOf(t *testing.T, in *initiator, n int) []uint32 {
	t.Helper()
	var itts []uint32
	for len(itts) < n {
		p := in.read()
		switch op := p.Header.Opcode(); {
		case op == pdu.OpSCSIResponse:
			// Any status: the first command of a session may get the
			// unit attention of its new I_T nexus.
			itts = append(itts, p.Header.InitiatorTaskTag())
		case op == pdu.OpSCSIDataIn && p.Header.DataIn().StatusPresent():
			itts = append(itts, p.Header.InitiatorTaskTag())
		case op == pdu.OpSCSIDataIn:
		default:
			t.Fatalf("answered by %v", p.Header.String())
		}
	}
	return itts
}

// heldOnSecond opens a session of two connections (mcsPair) and sends on
// the second a TEST UNIT READY with ITT itt and the CmdSN after the next
// one, n+1, which the target holds for CmdSN n; it returns once the target
// holds it.
func heldOnSecond(t *testing.T, itt uint32) (srv *Server, a, b *initiator, lu *countingLU, n uint32) {
	t.Helper()
	srv, a, b, lu = mcsPair(t)
	held := make(chan uint32, 1)
	srv.onCmdSNWait = func(sn uint32) { held <- sn }
	n = a.cmdSN
	b.cmdSN = n + 1
	b.send(scsiCommand{ITT: itt, CDB: make([]byte, 6)})
	if sn := <-held; sn != n+1 {
		t.Fatalf("held CmdSN %d, want %d", sn, n+1)
	}
	return srv, a, b, lu, n
}

// TestCmdSNGapReaderGoesOn: a command that arrives ahead of ExpCmdSN on one
// connection of a session is held without holding up its connection's
// reader (RFC 7143 §4.2.2.1, §3.2.2.1): an immediate ping after it is
// answered, with ExpCmdSN still before it, while it waits; once the missing
// command arrives on the other connection both run.
func TestCmdSNGapReaderGoesOn(t *testing.T) {
	_, a, b, lu, n := heldOnSecond(t, 0x301)
	tur := make([]byte, 6)
	if exp := pingExpCmdSN(t, b); exp != n {
		t.Errorf("ExpCmdSN %d while CmdSN %d is missing, want %d", exp, n, n)
	}
	if got := lu.executed.Load(); got != 0 {
		t.Fatalf("%d commands executed while CmdSN %d was missing", got, n)
	}
	a.cmdSN = n
	a.send(scsiCommand{ITT: 0x302, CDB: tur})
	if got := statusesOf(t, a, 1); got[0] != 0x302 {
		t.Errorf("status on CID 0 for ITT %#x, want 0x302", got[0])
	}
	if got := statusesOf(t, b, 1); got[0] != 0x301 {
		t.Errorf("status on CID 1 for ITT %#x, want 0x301", got[0])
	}
	if got := lu.executed.Load(); got != 2 {
		t.Errorf("%d commands executed, want 2", got)
	}
	if exp := pingExpCmdSN(t, b); exp != n+2 {
		t.Errorf("ExpCmdSN %d after both, want %d", exp, n+2)
	}
}

// TestCmdSNGapRetryERL1: on a session of one connection at
// ErrorRecoveryLevel 1, a command that arrives after a lost one waits,
// unacknowledged, for the lost one's retry (RFC 7143 §6.2.1) instead of
// ending the connection; a copy of the waiting command is ignored; when the
// retry arrives both run, each answered once.
func TestCmdSNGapRetryERL1(t *testing.T) {
	srv := newTestServer(t, erl1Settings(nil))
	in := dial(t, srv, erl1Settings(nil), pdu.NewISID(pdu.ISIDRandom, 0, 92, 0, 1))
	n := in.cmdSN
	read := func(itt uint32, sn uint32, lba uint32) {
		in.cmdSN = sn
		in.send(scsiCommand{ITT: itt, LUN: lunOf(0), Attr: pdu.TaskSimple, CDB: cdbRW10(scsi.OpRead10, lba, 1), EDTL: 512, Read: true})
	}
	read(0x11, n+1, 1)
	if exp := pingExpCmdSN(t, in); exp != n {
		t.Fatalf("ExpCmdSN %d with CmdSN %d lost, want %d", exp, n, n)
	}
	read(0x11, n+1, 1) // the same command again: ignored
	read(0x10, n, 0)   // the retry of the lost one
	// SIMPLE tasks: once delivered in order they run side by side.
	got := statusesOf(t, in, 2)
	slices.Sort(got)
	if got[0] != 0x10 || got[1] != 0x11 {
		t.Errorf("statuses for ITTs %#x, want 0x10 and 0x11", got)
	}
	in.cmdSN = n + 2
	// The ping is the next PDU: the copy got no answer.
	if exp := pingExpCmdSN(t, in); exp != n+2 {
		t.Errorf("ExpCmdSN %d, want %d", exp, n+2)
	}
}

// TestCmdSNGapDiscardedWithConnection: a command held ahead of ExpCmdSN is
// not acknowledged, so when its connection ends it is discarded (RFC 7143
// §11.14.1) and the initiator can issue it again, with its CmdSN, on
// another connection: it runs once.
func TestCmdSNGapDiscardedWithConnection(t *testing.T) {
	srv, a, b, lu, n := heldOnSecond(t, 0x401)
	tur := make([]byte, 6)
	b.c.Close()
	<-b.served
	b.served <- nil
	for deadline := time.Now().Add(10 * time.Second); len(targetConns(srv, a.res.TSIH)) != 1; {
		if time.Now().After(deadline) {
			t.Fatal("the target kept the closed connection")
		}
		time.Sleep(time.Millisecond)
	}
	a.cmdSN = n
	a.send(scsiCommand{ITT: 0x402, CDB: tur})
	a.send(scsiCommand{ITT: 0x401, CDB: tur})
	got := statusesOf(t, a, 2)
	slices.Sort(got)
	if got[0] != 0x401 || got[1] != 0x402 {
		t.Errorf("statuses for ITTs %#x, want 0x401 and 0x402", got)
	}
	if got := lu.executed.Load(); got != 2 {
		t.Errorf("%d commands executed, want 2", got)
	}
}

// TestCmdSNGapTimeout: a gap nobody fills ends the connection holding the
// command behind it with a *CmdSNError once Limits.DataOutTimeout passes.
func TestCmdSNGapTimeout(t *testing.T) {
	srv := newTestServer(t, erl1Settings(nil))
	srv.Limits.DataOutTimeout = 200 * time.Millisecond
	in := dial(t, srv, erl1Settings(nil), pdu.NewISID(pdu.ISIDRandom, 0, 93, 0, 1))
	n := in.cmdSN
	in.cmdSN = n + 2
	in.send(scsiCommand{ITT: 0x21, CDB: make([]byte, 6)})
	err := <-in.served
	in.served <- nil
	var ce *CmdSNError
	if !errors.As(err, &ce) || ce.CmdSN != n+2 || ce.ExpCmdSN != n {
		t.Fatalf("ServeConn: %v, want a *CmdSNError for CmdSN %d, ExpCmdSN %d", err, n+2, n)
	}
}
