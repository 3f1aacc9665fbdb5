package session

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"net"
	"runtime"
	"testing"
	"time"

	"github.com/go-iscsi/iscsi/login"
	"github.com/go-iscsi/iscsi/pdu"
	"github.com/go-iscsi/iscsi/scsi"
	"github.com/go-iscsi/iscsi/scsi/disk"
)

// idleSessionBudget bounds the memory of one idle session.
const idleSessionBudget = 512 << 10

// loginPipe logs in to srv over a net.Pipe with isid and returns the error
// of the login; the connection stays open until the test ends.
func loginPipe(t *testing.T, srv *Server, isid pdu.ISID) error {
	t.Helper()
	a, b := net.Pipe()
	served := make(chan error, 1)
	go func() { served <- srv.ServeConn(context.Background(), b) }()
	t.Cleanup(func() {
		a.Close()
		<-served
	})
	a.SetDeadline(time.Now().Add(30 * time.Second))
	st := login.DefaultSettings()
	_, err := login.Initiate(context.Background(), pdu.NewReader(a), pdu.NewWriter(a), login.InitiatorConfig{
		InitiatorName: testInitiator, TargetName: testTarget, ISID: isid,
		InitiatorTaskTag: 1, CmdSN: 1, Settings: &st,
	})
	return err
}

// TestLimitsMaxSessions: a leading login beyond Limits.MaxSessions fails
// with status 0x0302 (RFC 7143 §11.13.5), while a login that reinstates an
// open session of the same initiator port still succeeds (§6.3.5).
func TestLimitsMaxSessions(t *testing.T) {
	srv := newTestServer(t, nil)
	srv.Limits.MaxSessions = 2
	isid := func(n uint16) pdu.ISID { return pdu.NewISID(pdu.ISIDRandom, 0, n, 0, 1) }
	for n := range uint16(2) {
		if err := loginPipe(t, srv, isid(n+1)); err != nil {
			t.Fatalf("session %d: %v", n+1, err)
		}
	}
	err := loginPipe(t, srv, isid(3))
	var le *login.LoginError
	if !errors.As(err, &le) || le.Status != pdu.LoginOutOfResources {
		t.Fatalf("third session: got %v, want status 0x0302 (out of resources)", err)
	}
	if err := loginPipe(t, srv, isid(1)); err != nil {
		t.Fatalf("reinstating session 1 at the limit: %v", err)
	}
}

// TestLimitsMaxLogins: with Limits.MaxLogins connections in their login
// phase, another is closed at once with ErrTooManyLogins, and a login is
// admitted again as soon as one of them ends.
func TestLimitsMaxLogins(t *testing.T) {
	srv := newTestServer(t, nil)
	srv.Limits.MaxLogins = 2
	var pending []net.Conn
	var served []chan error
	for range 2 {
		a, b := net.Pipe()
		done := make(chan error, 1)
		go func() { done <- srv.ServeConn(context.Background(), b) }()
		// A byte read by the target means its login has begun and holds
		// its place.
		if _, err := a.Write([]byte{0x43}); err != nil {
			t.Fatal(err)
		}
		pending = append(pending, a)
		served = append(served, done)
	}
	a, b := net.Pipe()
	defer a.Close()
	if err := srv.ServeConn(context.Background(), b); !errors.Is(err, ErrTooManyLogins) {
		t.Fatalf("a third connection in login: got %v, want ErrTooManyLogins", err)
	}
	pending[0].Close()
	<-served[0]
	if err := loginPipe(t, srv, pdu.NewISID(pdu.ISIDRandom, 0, 9, 0, 1)); err != nil {
		t.Fatalf("login after one pending login ended: %v", err)
	}
	pending[1].Close()
	<-served[1]
}

// TestIdleSessionMemory measures what an idle logged-in session holds in
// the target (heap and goroutine stacks) and bounds it.
func TestIdleSessionMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("memory measurement skipped in -short mode")
	}
	srv := newTestServer(t, nil)
	measure := func() uint64 {
		var m runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&m)
		return m.HeapInuse + m.StackInuse
	}
	const n = 100
	// One session first, so that pools and lazily built tables exist
	// before the baseline.
	if err := loginPipe(t, srv, pdu.NewISID(pdu.ISIDRandom, 0, 1000, 0, 1)); err != nil {
		t.Fatal(err)
	}
	before := measure()
	for i := range uint16(n) {
		if err := loginPipe(t, srv, pdu.NewISID(pdu.ISIDRandom, 0, i+1, 0, 1)); err != nil {
			t.Fatal(err)
		}
	}
	per := (measure() - before) / n
	t.Logf("an idle session holds about %d KiB in the target (heap and stacks, %d sessions, initiator side of the pipes included)", per>>10, n)
	if per > idleSessionBudget {
		t.Errorf("an idle session holds %d KiB, more than the %d KiB budget", per>>10, idleSessionBudget>>10)
	}
}

// TestDataOutTimeout: a WRITE whose R2T is never answered ends its
// connection with ErrDataOutTimeout once Limits.DataOutTimeout passes.
func TestDataOutTimeout(t *testing.T) {
	srv := newTestServer(t, nil)
	srv.Limits.DataOutTimeout = 100 * time.Millisecond
	in := dial(t, srv, nil, pdu.NewISID(pdu.ISIDRandom, 0, 1, 0, 1))
	in.send(scsiCommand{ITT: in.nextITT(), LUN: lunOf(0), Attr: pdu.TaskSimple,
		CDB: rw10(0x2a, 0, 8), EDTL: 4096, Write: true})
	if p := in.read(); p.Header.Opcode() != pdu.OpR2T {
		t.Fatalf("WRITE without data answered by %v, want R2T", p.Header.Opcode())
	}
	if err := <-in.served; !errors.Is(err, ErrDataOutTimeout) {
		t.Fatalf("ServeConn: %v, want ErrDataOutTimeout", err)
	}
	in.served <- nil
}

// TestDefaultLimitsMoveMaximumTransfer checks that the default
// Limits.MaxDataLength carries one command of the default MAXIMUM
// TRANSFER LENGTH of a scsi/disk logical unit (65536 blocks of 512 bytes,
// SBC-4 §6.6.3) both ways: a WRITE(16) and a READ(16) of that length
// complete with GOOD, no residual, and the data read is the data written.
func TestDefaultLimitsMoveMaximumTransfer(t *testing.T) {
	const blocks = 65536
	lu, err := disk.New(disk.NewMemory(blocks*512), disk.Config{SerialNumber: "DEFAULTS"})
	if err != nil {
		t.Fatal(err)
	}
	l0, _ := scsi.EncodeLUN(0)
	srv := &Server{Targets: []Target{{Name: testTarget, LUNs: map[scsi.LUN]LogicalUnit{l0: lu}}}}
	in := dial(t, srv, nil, pdu.ISID{0x80, 0, 0, 0, 0, 9})
	data := make([]byte, blocks*512)
	for i := range data {
		data[i] = byte(i * 7 / 512)
	}
	rw := func(op byte) []byte {
		c := make([]byte, 16)
		c[0] = op
		binary.BigEndian.PutUint32(c[10:], blocks)
		return c
	}
	in.command(0, []byte{0, 0, 0, 0, 0, 0}, 0, false, nil) // the power-on unit attention
	w := in.command(0, rw(0x8a), uint32(len(data)), false, data)
	if w.Status != scsi.StatusGood || w.Residual != 0 {
		t.Fatalf("WRITE(16) of %d blocks: status %v residual %d sense % x", blocks, w.Status, w.Residual, w.Sense)
	}
	r := in.command(0, rw(0x88), uint32(len(data)), true, nil)
	if r.Status != scsi.StatusGood || r.Residual != 0 || !bytes.Equal(r.Data, data) {
		t.Fatalf("READ(16) of %d blocks: status %v residual %d, %d bytes, same data %v", blocks, r.Status, r.Residual, len(r.Data), bytes.Equal(r.Data, data))
	}
}
