package session

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/go-iscsi/iscsi/login"
	"github.com/go-iscsi/iscsi/pdu"
	"github.com/go-iscsi/iscsi/scsi"
)

// serveLoopback serves srv on a loopback TCP listener until the test ends
// and returns its address.
func serveLoopback(t testing.TB, srv *Server) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { srv.Serve(ctx, l); close(done) }()
	t.Cleanup(func() { cancel(); l.Close(); <-done })
	return l.Addr().String()
}

func dialTest(t testing.TB, addr string, opts Options) *Session {
	t.Helper()
	if opts.InitiatorName == "" {
		opts.InitiatorName = testInitiator
	}
	if opts.TargetName == "" {
		opts.TargetName = testTarget
	}
	s, err := Dial(context.Background(), addr, opts)
	if err != nil {
		t.Fatalf("Dial: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	// The first command of a new I_T nexus reports the power-on unit
	// attention (SAM-5 §5.14); TEST UNIT READY takes it.
	for range 3 {
		resp, err := s.Execute(context.Background(), &Command{CDB: make([]byte, 6)})
		if err != nil {
			t.Fatalf("TEST UNIT READY: %v", err)
		}
		if resp.Status == scsi.StatusGood {
			break
		}
	}
	return s
}

func write10(ctx context.Context, s *Session, lun scsi.LUN, lba uint32, data []byte) (*Response, error) {
	return s.Execute(ctx, &Command{LUN: lun, CDB: rw10(0x2a, lba, uint16(len(data)/512)), DataOut: data})
}

func read10(ctx context.Context, s *Session, lun scsi.LUN, lba uint32, buf []byte) (*Response, error) {
	return s.Execute(ctx, &Command{LUN: lun, CDB: rw10(0x28, lba, uint16(len(buf)/512)), DataIn: buf})
}

func TestInitiatorWriteRead(t *testing.T) {
	small := func(f func(*login.Settings)) *login.Settings {
		st := login.DefaultSettings()
		f(&st)
		return &st
	}
	tests := []struct {
		name      string
		target    *login.Settings
		initiator *login.Settings
		size      int
		busyPoll  time.Duration // both sides' readers spin (Limits.BusyPoll, Options.BusyPoll)
	}{
		{"defaults", nil, nil, 4096, 0},
		{"immediate data only", nil, nil, 512, 0},
		{"R2T for all", small(func(s *login.Settings) { s.InitialR2T = true; s.ImmediateData = false }), nil, 256 << 10, 0},
		{"unsolicited Data-Out", small(func(s *login.Settings) { s.InitialR2T = false }), small(func(s *login.Settings) { s.InitialR2T = false }), 200 << 10, 0},
		{"small segments several R2Ts", small(func(s *login.Settings) {
			s.MaxRecvDataSegmentLength = 512
			s.MaxBurstLength = 4096
			s.FirstBurstLength = 1024
			s.MaxOutstandingR2T = 4
		}), small(func(s *login.Settings) {
			s.MaxRecvDataSegmentLength = 1024
			s.MaxOutstandingR2T = 4
		}), 64 << 10, 0},
		{"digests", small(func(s *login.Settings) {
			s.HeaderDigest = login.DigestPrefer
			s.DataDigest = login.DigestPrefer
		}), nil, 128 << 10, 0},
		{"busy polling", nil, nil, 256 << 10, time.Millisecond},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv := newTestServer(t, tc.target)
			srv.Limits.BusyPoll = tc.busyPoll
			addr := serveLoopback(t, srv)
			s := dialTest(t, addr, Options{Settings: tc.initiator, HeaderDigest: tc.name == "digests", DataDigest: tc.name == "digests", BusyPoll: tc.busyPoll})
			ctx := context.Background()
			data := make([]byte, tc.size)
			for i := range data {
				data[i] = byte(i*7 + i>>9)
			}
			resp, err := write10(ctx, s, scsi.LUN{}, 8, data)
			if err != nil {
				t.Fatalf("WRITE(10): %v", err)
			}
			if diff := cmp.Diff(&Response{Status: scsi.StatusGood}, resp); diff != "" {
				t.Errorf("WRITE(10) response (-want +got):\n%s", diff)
			}
			got := make([]byte, tc.size)
			resp, err = read10(ctx, s, scsi.LUN{}, 8, got)
			if err != nil {
				t.Fatalf("READ(10): %v", err)
			}
			if diff := cmp.Diff(&Response{Status: scsi.StatusGood, DataInLength: tc.size}, resp); diff != "" {
				t.Errorf("READ(10) response (-want +got):\n%s", diff)
			}
			if !bytes.Equal(got, data) {
				t.Errorf("read back differs from what was written")
			}
			if err := s.Logout(ctx); err != nil {
				t.Errorf("Logout: %v", err)
			}
			if _, err := read10(ctx, s, scsi.LUN{}, 0, got[:512]); !errors.Is(err, ErrClosed) {
				t.Errorf("Execute after Logout: %v, want ErrClosed", err)
			}
		})
	}
}

func TestInitiatorCheckCondition(t *testing.T) {
	addr := serveLoopback(t, newTestServer(t, nil))
	s := dialTest(t, addr, Options{})
	buf := make([]byte, 512)
	resp, err := read10(context.Background(), s, scsi.LUN{}, testBlocks, buf)
	if err != nil {
		t.Fatalf("READ(10) beyond the end: %v", err)
	}
	if resp.Status != scsi.StatusCheckCondition || resp.Sense == nil {
		t.Fatalf("READ(10) beyond the end: status %v sense %v, want CHECK CONDITION with sense", resp.Status, resp.Sense)
	}
	if resp.Sense.Key != scsi.SenseIllegalRequest {
		t.Errorf("sense key %v, want ILLEGAL REQUEST", resp.Sense.Key)
	}
}

func TestInitiatorUnderflow(t *testing.T) {
	addr := serveLoopback(t, newTestServer(t, nil))
	s := dialTest(t, addr, Options{})
	// INQUIRY with ALLOCATION LENGTH 255 returns fewer bytes.
	buf := make([]byte, 255)
	resp, err := s.Execute(context.Background(), &Command{CDB: []byte{0x12, 0, 0, 0, 255, 0}, DataIn: buf})
	if err != nil {
		t.Fatal(err)
	}
	if resp.Status != scsi.StatusGood || !resp.Underflow || int(resp.ResidualCount)+resp.DataInLength != 255 {
		t.Errorf("INQUIRY: %+v, want GOOD, underflow, residual+length 255", resp)
	}
}

func TestInitiatorConcurrent(t *testing.T) {
	st := login.DefaultSettings()
	st.MaxRecvDataSegmentLength = 16384
	addr := serveLoopback(t, newTestServer(t, &st))
	s := dialTest(t, addr, Options{})
	const workers, rounds, region = 64, 8, 64 // blocks per worker
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for w := range workers {
		wg.Go(func() {
			r := rand.New(rand.NewPCG(uint64(w), 1))
			ctx := context.Background()
			base := uint32(w * region)
			for i := range rounds {
				n := 1 + r.IntN(region/2)
				lba := base + uint32(r.IntN(region-n))
				data := make([]byte, n*512)
				for j := range data {
					data[j] = byte(w + i + j)
				}
				if resp, err := write10(ctx, s, scsi.LUN{}, lba, data); err != nil || resp.Status != scsi.StatusGood {
					errs <- fmt.Errorf("worker %d write: %v %v", w, resp, err)
					return
				}
				got := make([]byte, len(data))
				if resp, err := read10(ctx, s, scsi.LUN{}, lba, got); err != nil || resp.Status != scsi.StatusGood {
					errs <- fmt.Errorf("worker %d read: %v %v", w, resp, err)
					return
				}
				if !bytes.Equal(got, data) {
					errs <- fmt.Errorf("worker %d: read back differs at LBA %d", w, lba)
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

func TestInitiatorDiscover(t *testing.T) {
	addr := serveLoopback(t, newTestServer(t, nil))
	got, err := Discover(context.Background(), addr, Options{InitiatorName: testInitiator})
	if err != nil {
		t.Fatalf("Discover: %v", err)
	}
	if len(got) != 1 || got[0].Name != testTarget {
		t.Fatalf("Discover: %+v, want %s", got, testTarget)
	}
}

func TestInitiatorLoginErrors(t *testing.T) {
	addr := serveLoopback(t, newTestServer(t, nil))
	_, err := Dial(context.Background(), addr, Options{InitiatorName: testInitiator, TargetName: "iqn.2026-11.org.example:nobody"})
	var le *LoginError
	if !errors.As(err, &le) {
		t.Fatalf("Dial to an unknown target: %v, want *LoginError", err)
	}
	if le.Status.Class() != 2 {
		t.Errorf("status %v, want class 2 (initiator error)", le.Status)
	}
	if _, err := Dial(context.Background(), addr, Options{TargetName: testTarget}); !errors.Is(err, ErrOptions) {
		t.Errorf("Dial without InitiatorName: %v, want ErrOptions", err)
	}
}

func TestInitiatorCHAP(t *testing.T) {
	srv := newTestServer(t, nil)
	srv.Targets[0].AuthMethods = []string{"CHAP"}
	mutual := &login.CHAPCredentials{User: "target", Secret: "target-secret-16b"}
	srv.CHAP = func(initiatorName, targetName, user string) (string, *login.CHAPCredentials, bool) {
		if user != "alice" {
			return "", nil, false
		}
		return "alice-secret-16b", mutual, true
	}
	addr := serveLoopback(t, srv)
	s := dialTest(t, addr, Options{
		CHAP:       &login.CHAPCredentials{User: "alice", Secret: "alice-secret-16b"},
		MutualCHAP: mutual,
	})
	buf := make([]byte, 512)
	if resp, err := read10(context.Background(), s, scsi.LUN{}, 0, buf); err != nil || resp.Status != scsi.StatusGood {
		t.Fatalf("READ(10) after CHAP login: %v %v", resp, err)
	}
	_, err := Dial(context.Background(), addr, Options{InitiatorName: testInitiator, TargetName: testTarget,
		CHAP: &login.CHAPCredentials{User: "alice", Secret: "wrong-secret-16by"}})
	var le *LoginError
	if !errors.As(err, &le) || le.Status.Class() != 2 {
		t.Errorf("Dial with a wrong secret: %v, want a class 2 *LoginError", err)
	}
}

// redirector answers every login on a loopback listener with status and a
// TargetAddress of to (RFC 7143 §11.13.5), and counts the logins.
func redirector(t *testing.T, status pdu.LoginStatus, to string) (addr string, logins chan struct{}) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	logins = make(chan struct{}, 16)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			r, w := pdu.NewReader(c), pdu.NewWriter(c)
			p, err := r.Read()
			if err != nil {
				c.Close()
				continue
			}
			req := p.Header.LoginRequest()
			var h pdu.BHS
			lr := h.LoginResponse()
			lr.Init()
			lr.SetCSG(req.CSG())
			lr.SetVersionMax(req.VersionMax())
			lr.SetVersionActive(req.VersionMin())
			lr.SetISID(req.ISID())
			lr.SetInitiatorTaskTag(req.InitiatorTaskTag())
			lr.SetExpCmdSN(req.CmdSN())
			lr.SetMaxCmdSN(req.CmdSN())
			lr.SetStatus(status)
			// Counted before the answer, so the count is complete when
			// the initiator's Dial returns.
			logins <- struct{}{}
			w.Write(&h, nil, login.AppendText(nil, login.Pair{Key: "TargetAddress", Value: to + ",1"}))
			c.Close()
		}
	}()
	t.Cleanup(func() { l.Close(); <-done })
	return l.Addr().String(), logins
}

func TestInitiatorRedirect(t *testing.T) {
	real := serveLoopback(t, newTestServer(t, nil))
	opts := Options{InitiatorName: testInitiator, TargetName: testTarget}

	// Temporary, twice: followed to the real target.
	hop2, logins2 := redirector(t, pdu.LoginTargetMovedTemporarily, real)
	hop1, logins1 := redirector(t, pdu.LoginTargetMovedTemporarily, hop2)
	s, err := Dial(context.Background(), hop1, opts)
	if err != nil {
		t.Fatalf("Dial through two temporary redirections: %v", err)
	}
	s.Close()
	if len(logins1) != 1 || len(logins2) != 1 {
		t.Errorf("logins at the redirectors: %d, %d, want 1, 1", len(logins1), len(logins2))
	}

	// Permanent: returned with the new address.
	perm, _ := redirector(t, pdu.LoginTargetMovedPermanently, real)
	_, err = Dial(context.Background(), perm, opts)
	var le *LoginError
	if !errors.As(err, &le) || le.Status != pdu.LoginTargetMovedPermanently {
		t.Fatalf("Dial to a permanent redirection: %v, want *LoginError 0x0102", err)
	}
	if len(le.Redirect) != 1 || le.Redirect[0].String() != real+",1" {
		t.Errorf("Redirect %v, want %s,1", le.Redirect, real)
	}

	// More temporary redirections than maxRedirects end the login.
	loopA, _ := redirector(t, pdu.LoginTargetMovedTemporarily, hop1)
	_, err = Dial(context.Background(), loopA, Options{InitiatorName: testInitiator, TargetName: testTarget})
	if !errors.As(err, &le) || le.Status != pdu.LoginTargetMovedTemporarily {
		t.Fatalf("Dial three redirections from the target: %v, want *LoginError 0x0101", err)
	}
}

// TestInitiatorLUNResetInFlight resets the logical unit while 32 commands
// are outstanding: each ends with a status or a typed error, none hangs.
func TestInitiatorLUNResetInFlight(t *testing.T) {
	addr := serveLoopback(t, newTestServer(t, nil))
	s := dialTest(t, addr, Options{})
	ctx := context.Background()
	const n = 32
	var wg sync.WaitGroup
	started := make(chan struct{}, n)
	errs := make(chan error, n)
	for i := range n {
		wg.Go(func() {
			data := make([]byte, 64<<10)
			started <- struct{}{}
			resp, err := write10(ctx, s, scsi.LUN{}, uint32(i*128), data)
			var ce *CommandError
			switch {
			case err == nil && resp.Status == scsi.StatusGood, err == nil && resp.Status == scsi.StatusCheckCondition, errors.As(err, &ce):
			default:
				errs <- fmt.Errorf("command %d: %v, %v", i, resp, err)
			}
		})
	}
	for range n {
		<-started
	}
	code, err := s.LogicalUnitReset(ctx, scsi.LUN{})
	if err != nil || code != pdu.TMFResponseFunctionComplete {
		t.Errorf("LOGICAL UNIT RESET: %v, %v", code, err)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	// The session is still usable.
	buf := make([]byte, 512)
	for range 3 {
		resp, err := read10(ctx, s, scsi.LUN{}, 0, buf)
		if err != nil {
			t.Fatalf("READ(10) after the reset: %v", err)
		}
		if resp.Status == scsi.StatusGood {
			return
		}
	}
	t.Error("READ(10) after the reset never GOOD")
}

// TestInitiatorCancel cancels a command the target holds (waiting for the
// Data-Out it asked for never comes, as the context is already done when
// the R2T arrives): Execute returns ctx.Err() after aborting the task.
func TestInitiatorCancel(t *testing.T) {
	st := login.DefaultSettings()
	st.ImmediateData = false
	addr := serveLoopback(t, newTestServer(t, &st))
	s := dialTest(t, addr, Options{Settings: &st})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := write10(ctx, s, scsi.LUN{}, 0, make([]byte, 4096)); !errors.Is(err, context.Canceled) {
		t.Fatalf("Execute with a cancelled context: %v, want context.Canceled", err)
	}
	buf := make([]byte, 512)
	if resp, err := read10(context.Background(), s, scsi.LUN{}, 0, buf); err != nil || resp.Status != scsi.StatusGood {
		t.Errorf("READ(10) after the cancelled command: %v, %v", resp, err)
	}
}
