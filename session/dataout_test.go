package session

import (
	"bytes"
	"context"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/go-iscsi/iscsi/login"
	"github.com/go-iscsi/iscsi/pdu"
	"github.com/go-iscsi/iscsi/scsi"
	"github.com/go-iscsi/iscsi/scsi/disk"
)

// dataOutLens returns the lengths and capacities of the Data-Out buffers
// of the tasks of srv's one connection, by Initiator Task Tag.
func dataOutLens(t *testing.T, srv *Server) (lens, caps map[uint32]int) {
	t.Helper()
	srv.mu.Lock()
	var sess *session
	for _, s := range srv.sessions {
		sess = s
	}
	srv.mu.Unlock()
	if sess == nil {
		t.Fatal("no session")
	}
	sess.mu.Lock()
	c := sess.conns[0]
	sess.mu.Unlock()
	lens, caps = map[uint32]int{}, map[uint32]int{}
	c.mu.Lock()
	defer c.mu.Unlock()
	for itt, tk := range c.tasks {
		lens[itt], caps[itt] = len(bytesOf(tk.dataOut)), cap(bytesOf(tk.dataOut))
	}
	return lens, caps
}

// TestHugeWriteBufferBeforeData: WRITEs of 32 MiB whose Data-Out never
// comes hold, each, no more than FirstBurstLength and one burst of
// MaxBurstLength (MaxOutstandingR2T=1, RFC 7143 §13.13-§13.17), not the
// 32 MiB their Expected Data Transfer Length announces; a WRITE whose data
// comes in R2T by R2T grows its buffer and completes with its data.
func TestHugeWriteBufferBeforeData(t *testing.T) {
	st := login.DefaultSettings()
	st.MaxBurstLength, st.FirstBurstLength = 256<<10, 64<<10
	srv := newTestServer(t, &st)
	in := dial(t, srv, &st, pdu.NewISID(pdu.ISIDRandom, 0, 7, 0, 1))
	in.command(lunOf(0), cdbTestUnitReady, 0, false, nil)
	sp := in.res.Session
	const pending = 8
	const huge = 32 << 20
	for i := range pending {
		in.send(scsiCommand{ITT: in.nextITT(), LUN: lunOf(0), Attr: pdu.TaskSimple,
			CDB: rw16(0x8a, uint64(i), huge/512), EDTL: huge, Write: true})
		if p := in.read(); p.Header.Opcode() != pdu.OpR2T {
			t.Fatalf("WRITE %d answered by %v, want R2T", i, p.Header.Opcode())
		}
	}
	bound := int(sp.FirstBurstLength + sp.MaxBurstLength)
	lens, caps := dataOutLens(t, srv)
	if len(lens) != pending {
		t.Fatalf("%d tasks pending, want %d", len(lens), pending)
	}
	for itt, n := range lens {
		// Buffers come in power-of-two size classes.
		if n != bound || caps[itt] > 2*bound {
			t.Errorf("task %d holds a buffer of %d bytes (capacity %d) before any data; want %d", itt, n, caps[itt], bound)
		}
	}

	// A WRITE of 8 MiB, answered R2T by R2T, goes through.
	in.command(lunOf(1), cdbTestUnitReady, 0, false, nil) // the power-on unit attention
	data := make([]byte, testBlocks*512)
	for i := range data {
		data[i] = byte(i>>9) ^ byte(i)
	}
	if res := in.command(lunOf(1), rw16(0x8a, 0, testBlocks), uint32(len(data)), false, data); res.Status != scsi.StatusGood || res.R2Ts < 2 {
		t.Fatalf("8 MiB WRITE: status %v after %d R2Ts", res.Status, res.R2Ts)
	}
	got := in.command(lunOf(1), rw16(0x88, 0, testBlocks), uint32(len(data)), true, nil)
	if got.Status != scsi.StatusGood || !bytes.Equal(got.Data, data) {
		t.Errorf("read back: status %v, %d bytes, equal %v", got.Status, len(got.Data), bytes.Equal(got.Data, data))
	}
}

// dataInRecorder is a logical unit that records the length of the Data-In
// buffer each command is given.
type dataInRecorder struct {
	*disk.LU
	mu   sync.Mutex
	lens []int
}

func (r *dataInRecorder) Execute(ctx context.Context, req *scsi.Request) scsi.Response {
	r.mu.Lock()
	r.lens = append(r.lens, len(req.DataIn))
	r.mu.Unlock()
	return r.LU.Execute(ctx, req)
}

// TestSmallReadHugeEDTL: a READ of one block whose Expected Data Transfer
// Length says 32 MiB gets a Data-In buffer of one block, and the residual
// underflow reports the rest (RFC 7143 §11.4.5).
func TestSmallReadHugeEDTL(t *testing.T) {
	rec := &dataInRecorder{LU: newMemoryLU(t, "REC0")}
	srv := &Server{Targets: []Target{{Name: testTarget, LUNs: map[scsi.LUN]LogicalUnit{lunN(0): rec}}}}
	in := dial(t, srv, nil, pdu.NewISID(pdu.ISIDRandom, 0, 8, 0, 1))
	in.command(lunOf(0), cdbTestUnitReady, 0, false, nil)
	const huge = 32 << 20
	res := in.command(lunOf(0), rw10(0x28, 0, 1), huge, true, nil)
	type outcome struct {
		Status    scsi.Status
		Bytes     int
		Underflow bool
		Residual  uint32
	}
	if diff := cmp.Diff(outcome{scsi.StatusGood, 512, true, huge - 512}, outcome{res.Status, len(res.Data), res.Underflow, res.Residual}); diff != "" {
		t.Errorf("READ(10) of one block (-want +got):\n%s", diff)
	}
	rec.mu.Lock()
	defer rec.mu.Unlock()
	if len(rec.lens) != 2 || rec.lens[1] != 512 {
		t.Errorf("Data-In buffers given to the logical unit: %v, want a last one of 512 bytes", rec.lens)
	}
}
