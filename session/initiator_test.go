package session

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/go-iscsi/iscsi/login"
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

func rw10(op byte, lba uint32, blocks uint16) []byte {
	cdb := make([]byte, 10)
	cdb[0] = op
	binary.BigEndian.PutUint32(cdb[2:], lba)
	binary.BigEndian.PutUint16(cdb[7:], blocks)
	return cdb
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
	}{
		{"defaults", nil, nil, 4096},
		{"immediate data only", nil, nil, 512},
		{"R2T for all", small(func(s *login.Settings) { s.InitialR2T = true; s.ImmediateData = false }), nil, 256 << 10},
		{"unsolicited Data-Out", small(func(s *login.Settings) { s.InitialR2T = false }), small(func(s *login.Settings) { s.InitialR2T = false }), 200 << 10},
		{"small segments several R2Ts", small(func(s *login.Settings) {
			s.MaxRecvDataSegmentLength = 512
			s.MaxBurstLength = 4096
			s.FirstBurstLength = 1024
			s.MaxOutstandingR2T = 4
		}), small(func(s *login.Settings) {
			s.MaxRecvDataSegmentLength = 1024
			s.MaxOutstandingR2T = 4
		}), 64 << 10},
		{"digests", small(func(s *login.Settings) {
			s.HeaderDigest = login.DigestPrefer
			s.DataDigest = login.DigestPrefer
		}), nil, 128 << 10},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv := newTestServer(t, tc.target)
			addr := serveLoopback(t, srv)
			s := dialTest(t, addr, Options{Settings: tc.initiator, HeaderDigest: tc.name == "digests", DataDigest: tc.name == "digests"})
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
