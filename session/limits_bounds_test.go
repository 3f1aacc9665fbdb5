package session

import (
	"context"
	"errors"
	"net"
	"runtime"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/go-iscsi/iscsi/login"
	"github.com/go-iscsi/iscsi/pdu"
	"github.com/go-iscsi/iscsi/scsi"
)

// addConnection runs a login on a new pipe to srv that names the session
// of in (its TSIH and ISID) with connection ID cid, and returns the
// login's error and what ServeConn returned.
func addConnection(t *testing.T, srv *Server, in *initiator, isid pdu.ISID, cid uint16) (loginErr, served error) {
	t.Helper()
	a, b := net.Pipe()
	defer a.Close()
	done := make(chan error, 1)
	go func() { done <- srv.ServeConn(context.Background(), b) }()
	a.SetDeadline(time.Now().Add(30 * time.Second))
	st := login.DefaultSettings()
	_, err := login.Initiate(context.Background(), pdu.NewReader(a), pdu.NewWriter(a), login.InitiatorConfig{
		InitiatorName: testInitiator, TargetName: testTarget, ISID: isid, TSIH: in.res.TSIH, CID: cid,
		InitiatorTaskTag: 0x2000, CmdSN: in.cmdSN, ExpStatSN: 0, Settings: &st,
	})
	a.Close()
	return err, <-done
}

// TestLimitsOneConnectionPerSession: a session that negotiated
// MaxConnections 1 (RFC 7143 §13.2) refuses a login that adds a connection
// with 0x0206 Too many connections, without harm to the session in full
// feature phase. (A login with the CID in use is connection reinstatement,
// §6.3.4: TestMCSConnectionReinstatement.)
func TestLimitsOneConnectionPerSession(t *testing.T) {
	srv := newTestServer(t, nil)
	isid := pdu.NewISID(pdu.ISIDRandom, 0, 77, 0, 1)
	in := dial(t, srv, nil, isid)
	tests := []struct {
		name   string
		cid    uint16
		status pdu.LoginStatus
	}{
		{"second connection", in.res.CID + 1, pdu.LoginTooManyConnections},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err, served := addConnection(t, srv, in, isid, tc.cid)
			var le *login.LoginError
			if !errors.As(err, &le) || le.Status != tc.status {
				t.Fatalf("login: %v, want status %v", err, tc.status)
			}
			if !errors.As(served, &le) || le.Status != tc.status {
				t.Errorf("ServeConn: %v, want the login error with status %v", served, tc.status)
			}
			if got := in.nop([]byte("still here")); string(got) != "still here" {
				t.Errorf("the session answered its ping with %q", got)
			}
		})
	}
}

// TestWriteTimeout: an initiator that sends 1,000 READs and never reads a
// response. The target stops reading commands once its queues are full,
// so it holds a bounded number of them and their buffers, and drops the
// connection with ErrWriteTimeout once Limits.WriteTimeout passes without
// a response sent.
func TestWriteTimeout(t *testing.T) {
	const (
		commands   = 1000
		blocks     = 128 // 64 KiB per READ
		heapBudget = 64 << 20
	)
	srv := newTestServer(t, nil)
	srv.Limits.WriteTimeout = 300 * time.Millisecond
	runtime.GC()
	var m0 runtime.MemStats
	runtime.ReadMemStats(&m0)
	in := dial(t, srv, nil, pdu.NewISID(pdu.ISIDRandom, 0, 5, 0, 1))

	sent := make(chan int, 1)
	go func() {
		n := 0
		for ; n < commands; n++ {
			var h pdu.BHS
			cmd := h.SCSICommand()
			cmd.Init()
			cmd.SetFinal(true)
			cmd.SetRead(true)
			cmd.SetAttributes(pdu.TaskSimple)
			cmd.SetLUN(lunOf(0))
			cmd.SetInitiatorTaskTag(uint32(n + 1))
			cmd.SetExpectedDataTransferLength(blocks * 512)
			cmd.SetCmdSN(in.cmdSN + uint32(n))
			cmd.SetExpStatSN(in.statSN)
			cmd.SetCDB(rw10(0x28, uint32(n), blocks))
			if err := in.w.Write(&h, nil, nil); err != nil {
				break // the target closed the connection
			}
		}
		sent <- n
	}()
	// The heap is sampled while the target holds the commands it took.
	stop := make(chan struct{})
	peak := make(chan uint64, 1)
	go func() {
		var top uint64
		tick := time.NewTicker(10 * time.Millisecond)
		defer tick.Stop()
		for {
			var m runtime.MemStats
			runtime.ReadMemStats(&m)
			top = max(top, m.HeapAlloc)
			select {
			case <-stop:
				peak <- top
				return
			case <-tick.C:
			}
		}
	}()
	var err error
	select {
	case err = <-in.served:
	case <-time.After(30 * time.Second):
		t.Fatal("the connection of an initiator that reads nothing was not dropped within 30 s")
	}
	in.served <- nil
	close(stop)
	n := <-sent
	grew := int64(<-peak) - int64(m0.HeapAlloc)
	t.Logf("the target took %d of %d READs before it stopped reading; heap grew by at most %d KiB", n, commands, grew>>10)
	if !errors.Is(err, ErrWriteTimeout) {
		t.Errorf("ServeConn: %v, want ErrWriteTimeout", err)
	}
	if n >= commands {
		t.Errorf("the target read all %d commands of an initiator that reads nothing", commands)
	}
	if grew > heapBudget {
		t.Errorf("heap grew by %d MiB, more than %d MiB", grew>>20, heapBudget>>20)
	}
}

// TestLoginTimeoutWholeLogin: Limits.LoginTimeout bounds the whole login
// phase, not each read: a client that trickles a Login Request a byte at a
// time, faster than the timeout, is dropped once the timeout has passed
// since it connected, before it has sent the PDU. A client that sends
// nothing is dropped too.
func TestLoginTimeoutWholeLogin(t *testing.T) {
	const timeout = 200 * time.Millisecond
	srv := newTestServer(t, nil)
	srv.Limits.LoginTimeout = timeout
	var req pdu.BHS
	lr := req.LoginRequest()
	lr.Init()
	text := keys("InitiatorName="+testInitiator, "SessionType=Normal", "TargetName="+testTarget)
	req.SetDataSegmentLength(uint32(len(text)))
	whole := append(append([]byte(nil), req[:]...), text...)
	tests := []struct {
		name  string
		every time.Duration // zero: send nothing
	}{
		{"silent", 0},
		{"trickle", timeout / 10},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a, b := net.Pipe()
			defer a.Close()
			served := make(chan error, 1)
			go func() { served <- srv.ServeConn(context.Background(), b) }()
			wrote := make(chan int, 1)
			go func() {
				n := 0
				if tc.every > 0 {
					tick := time.NewTicker(tc.every)
					defer tick.Stop()
					for ; n < len(whole); n++ {
						if _, err := a.Write(whole[n : n+1]); err != nil {
							break
						}
						<-tick.C
					}
				}
				wrote <- n
			}()
			var err error
			select {
			case err = <-served:
			case <-time.After(30 * time.Second):
				t.Fatal("the login was not ended within 30 s")
			}
			a.Close()
			n := <-wrote
			var ne net.Error
			if !errors.As(err, &ne) || !ne.Timeout() {
				t.Errorf("ServeConn: %v, want a timeout", err)
			}
			if n >= len(whole) {
				t.Errorf("the client trickled all %d bytes of its Login Request before it was dropped", len(whole))
			}
			t.Logf("dropped after %d of %d bytes", n, len(whole))
		})
	}
}

// TestLimitsMaxPendingTasks: with Limits.MaxPendingTasks WRITEs waiting for
// their Data-Out, further commands are answered at once with TASK SET FULL
// (SAM-5 §5.3.1) and nothing transferred, instead of each being given a
// Data-Out buffer; once a pending command completes, a new one is taken
// again.
func TestLimitsMaxPendingTasks(t *testing.T) {
	const (
		pending = 8
		blocks  = 128
		size    = blocks * 512
	)
	srv := newTestServer(t, nil)
	srv.Limits.MaxPendingTasks = pending
	in := dial(t, srv, nil, pdu.NewISID(pdu.ISIDRandom, 0, 6, 0, 1))
	// The power-on unit attention (SAM-5 §5.14) goes to TEST UNIT READY.
	in.command(lunOf(0), cdbTestUnitReady, 0, false, nil)
	write := func(lba uint32) uint32 {
		itt := in.nextITT()
		in.send(scsiCommand{ITT: itt, LUN: lunOf(0), Attr: pdu.TaskSimple, CDB: rw10(0x2a, lba, blocks), EDTL: size, Write: true})
		return itt
	}
	type r2t struct{ itt, ttt uint32 }
	var r2ts []r2t
	for i := range pending {
		itt := write(uint32(i * blocks))
		p := in.read()
		if p.Header.Opcode() != pdu.OpR2T {
			t.Fatalf("pending WRITE %d answered by %v, want R2T", i, p.Header.Opcode())
		}
		r2ts = append(r2ts, r2t{itt, p.Header.R2T().TargetTransferTag()})
	}
	type outcome struct {
		Opcode    pdu.Opcode
		Status    scsi.Status
		Underflow bool
		Residual  uint32
	}
	response := func(p *pdu.PDU) outcome {
		if p.Header.Opcode() != pdu.OpSCSIResponse {
			return outcome{Opcode: p.Header.Opcode()}
		}
		r := p.Header.SCSIResponse()
		return outcome{p.Header.Opcode(), scsi.Status(r.Status()), r.ResidualUnderflow(), r.ResidualCount()}
	}
	full := outcome{pdu.OpSCSIResponse, scsi.StatusTaskSetFull, true, size}
	for i := range 100 {
		write(uint32(i))
		if diff := cmp.Diff(full, response(in.read())); diff != "" {
			t.Fatalf("WRITE beyond the pending bound (-want +got):\n%s", diff)
		}
	}
	// A READ beyond the bound is refused the same way.
	in.send(scsiCommand{ITT: in.nextITT(), LUN: lunOf(0), Attr: pdu.TaskSimple, CDB: rw10(0x28, 0, blocks), EDTL: size, Read: true})
	if diff := cmp.Diff(full, response(in.read())); diff != "" {
		t.Fatalf("READ beyond the pending bound (-want +got):\n%s", diff)
	}
	// One pending WRITE gets its data and completes: there is room again.
	in.sendData(r2ts[0].itt, lunOf(0), r2ts[0].ttt, make([]byte, size), 0, size)
	if diff := cmp.Diff(outcome{pdu.OpSCSIResponse, scsi.StatusGood, false, 0}, response(in.read())); diff != "" {
		t.Fatalf("completing a pending WRITE (-want +got):\n%s", diff)
	}
	write(0)
	if p := in.read(); p.Header.Opcode() != pdu.OpR2T {
		t.Fatalf("a WRITE after one pending completed answered by %v, want R2T", p.Header.Opcode())
	}
}
