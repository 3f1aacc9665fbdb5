package session

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/go-iscsi/iscsi/pdu"
	"github.com/go-iscsi/iscsi/scsi"
)

// TestPipelined sends many READs before reading any answer: they execute
// concurrently, and every answer carries the right data, with StatSN in
// sequence (checked by initiator.read).
func TestPipelined(t *testing.T) {
	const n = 24
	srv := newTestServer(t, nil)
	in := dial(t, srv, nil, isid(30))
	in.command(lunOf(0), cdbTestUnitReady, 0, false, nil)
	patterns := make([][]byte, n)
	for i := range n {
		patterns[i] = bytes.Repeat([]byte{byte(i + 1)}, 8*512)
		if w := in.command(lunOf(0), cdbRW10(scsi.OpWrite10, uint32(i*8), 8), 8*512, false, patterns[i]); w.Status != scsi.StatusGood {
			t.Fatalf("WRITE %d: %v", i, w.Status)
		}
	}
	const base = 5000
	for i := range n {
		in.send(scsiCommand{ITT: base + uint32(i), Attr: pdu.TaskSimple, CDB: cdbRW10(scsi.OpRead10, uint32(i*8), 8),
			EDTL: 8 * 512, Read: true})
	}
	got := make(map[uint32][]byte)
	for done := 0; done < n; {
		p := in.read()
		if p.Header.Opcode() != pdu.OpSCSIDataIn {
			t.Fatalf("unexpected %v", p.Header.String())
		}
		d := p.Header.DataIn()
		itt := d.InitiatorTaskTag()
		if d.BufferOffset() != uint32(len(got[itt])) {
			t.Fatalf("ITT %d: offset %d after %d bytes", itt, d.BufferOffset(), len(got[itt]))
		}
		got[itt] = append(got[itt], p.Data...)
		if d.StatusPresent() {
			done++
		}
	}
	for i := range n {
		if !bytes.Equal(got[base+uint32(i)], patterns[i]) {
			t.Errorf("READ %d returned other data", i)
		}
	}
	in.logout()
}

// TestTaskInProgress sends a command with the tag of a task still waiting
// for its Data-Out: RFC 7143 §11.2.1.8 makes tags unique per session, and
// the second command is rejected.
func TestTaskInProgress(t *testing.T) {
	srv := newTestServer(t, nil)
	in := dial(t, srv, nil, isid(31))
	in.command(lunOf(0), cdbTestUnitReady, 0, false, nil)
	write := func() {
		in.send(scsiCommand{ITT: 88, CDB: cdbRW10(scsi.OpWrite10, 0, 1), EDTL: 512, Write: true})
	}
	write()
	if p := in.read(); p.Header.Opcode() != pdu.OpR2T {
		t.Fatalf("first WRITE answered by %v", p.Header.String())
	}
	write()
	if p := in.read(); p.Header.Opcode() != pdu.OpReject || p.Header.Reject().Reason() != pdu.RejectTaskInProgress {
		t.Fatalf("second WRITE answered by %v", p.Header.String())
	}
	in.logout()
}

// TestSessionsIndependent serves several sessions at once, one of which
// breaks the protocol and is dropped, while the others go on; a LOGICAL
// UNIT RESET from one session gives the others a unit attention.
func TestSessionsIndependent(t *testing.T) {
	srv := newTestServer(t, nil)
	const n = 4
	ins := make([]*initiator, n)
	for i := range n {
		ins[i] = dial(t, srv, nil, isid(uint16(40+i)))
		ins[i].command(lunOf(1), cdbTestUnitReady, 0, false, nil)
	}
	// Session 0 sends a Data-Out longer than the target's
	// MaxRecvDataSegmentLength, against RFC 7143 §13.12; the target ends
	// that connection.
	var h pdu.BHS
	d := h.DataOut()
	d.Init()
	d.SetFinal(true)
	// The target closes the connection once it has read the header, so
	// the write of the data fails.
	ins[0].w.Write(&h, nil, make([]byte, 3*8192))
	if err := <-ins[0].served; err == nil {
		t.Fatal("ServeConn accepted a data segment beyond MaxRecvDataSegmentLength")
	}
	ins[0].served <- nil

	// The other sessions do I/O at the same time, each in a parallel
	// subtest that owns its initiator.
	t.Run("io", func(t *testing.T) {
		for i := 1; i < n; i++ {
			t.Run(fmt.Sprint("session", i), func(t *testing.T) {
				t.Parallel()
				in := ins[i]
				in.t = t
				data := bytes.Repeat([]byte{byte(i)}, 4096)
				lba := uint32(i * 64)
				for range 20 {
					w := in.command(lunOf(1), cdbRW10(scsi.OpWrite10, lba, 8), 4096, false, data)
					r := in.command(lunOf(1), cdbRW10(scsi.OpRead10, lba, 8), 4096, true, nil)
					if w.Status != scsi.StatusGood || r.Status != scsi.StatusGood || !bytes.Equal(r.Data, data) {
						t.Fatalf("WRITE %v, READ %v", w.Status, r.Status)
					}
				}
			})
		}
	})
	for i := 1; i < n; i++ {
		ins[i].t = t
	}
	if got := ins[1].tmf(pdu.TMFLogicalUnitReset, lunOf(1), 0, 0); got != pdu.TMFResponseFunctionComplete {
		t.Fatalf("LOGICAL UNIT RESET: %v", got)
	}
	for i := 1; i < n; i++ {
		res := ins[i].command(lunOf(1), cdbTestUnitReady, 0, false, nil)
		if res.Status != scsi.StatusCheckCondition || senseKeyOf(t, res.Sense).Key != scsi.SenseUnitAttention {
			t.Errorf("session %d after the reset: %v", i, res.Status)
		}
		ins[i].logout()
	}
}

// gatedLU holds every WRITE(10) until its gate is closed, so that a test
// controls when a task ends.
type gatedLU struct {
	LogicalUnit
	gate chan struct{}
}

func (g *gatedLU) Execute(ctx context.Context, req *scsi.Request) scsi.Response {
	if scsi.OpCode(req.CDB[0]) == scsi.OpWrite10 {
		<-g.gate
	}
	return g.LogicalUnit.Execute(ctx, req)
}

// TestTaskAttributes checks the order of SAM-5 §8.6: an ORDERED task waits
// for the task before it and holds the SIMPLE task after it, while a HEAD
// OF QUEUE task runs at once.
func TestTaskAttributes(t *testing.T) {
	srv := newTestServer(t, nil)
	l1, _ := scsi.EncodeLUN(1)
	gated := &gatedLU{LogicalUnit: srv.Targets[0].LUNs[l1], gate: make(chan struct{})}
	srv.Targets[0].LUNs[l1] = gated
	in := dial(t, srv, nil, isid(50))
	in.command(lunOf(0), cdbTestUnitReady, 0, false, nil)
	in.command(lunOf(1), cdbTestUnitReady, 0, false, nil)

	send := func(itt uint32, attr pdu.TaskAttribute, lun uint16, cdb []byte, data []byte) {
		in.send(scsiCommand{ITT: itt, LUN: lunOf(lun), Attr: attr, CDB: cdb, EDTL: uint32(len(data)),
			Write: data != nil, Data: data})
	}
	// Task 1 (SIMPLE) blocks in the logical unit; task 2 (ORDERED) and
	// task 3 (SIMPLE) must wait for it; task 4 (HEAD OF QUEUE) must not.
	send(1, pdu.TaskSimple, 1, cdbRW10(scsi.OpWrite10, 0, 1), make([]byte, 512))
	send(2, pdu.TaskOrdered, 0, cdbTestUnitReady, nil)
	send(3, pdu.TaskSimple, 0, cdbTestUnitReady, nil)
	send(4, pdu.TaskHeadOfQueue, 0, cdbTestUnitReady, nil)
	p := in.read()
	if p.Header.Opcode() != pdu.OpSCSIResponse || p.Header.InitiatorTaskTag() != 4 {
		t.Fatalf("first answer %v, want the HEAD OF QUEUE task 4", p.Header.String())
	}
	close(gated.gate)
	var order []uint32
	for range 3 {
		p := in.read()
		if p.Header.Opcode() != pdu.OpSCSIResponse {
			t.Fatalf("unexpected %v", p.Header.String())
		}
		order = append(order, p.Header.InitiatorTaskTag())
	}
	if diff := cmp.Diff([]uint32{1, 2, 3}, order); diff != "" {
		t.Errorf("completion order (-want +got):\n%s", diff)
	}
	in.logout()
}

// TestTargetColdReset checks that TARGET COLD RESET is answered and then
// ends every session of the target (RFC 7143 §11.5.1).
func TestTargetColdReset(t *testing.T) {
	srv := newTestServer(t, nil)
	a := dial(t, srv, nil, isid(70))
	b := dial(t, srv, nil, isid(71))
	if got := a.tmf(pdu.TMFTargetColdReset, 0, 0, 0); got != pdu.TMFResponseFunctionComplete {
		t.Fatalf("TARGET COLD RESET: %v", got)
	}
	for i, in := range []*initiator{a, b} {
		if err := <-in.served; !errors.Is(err, ErrSessionClosed) {
			t.Errorf("session %d: ServeConn %v, want ErrSessionClosed", i, err)
		}
		in.served <- nil
	}
}
