package session

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-iscsi/iscsi/login"
	"github.com/go-iscsi/iscsi/scsi"
)

// mcsSettings are the target's or the initiator's settings with
// MaxConnections n (RFC 7143 §13.2).
func mcsSettings(n uint32) *login.Settings {
	st := login.DefaultSettings()
	st.MaxConnections = n
	return &st
}

// targetConns returns the CIDs of the connections in full feature phase of
// the target's session tsih and the SCSI commands each received.
func targetConns(srv *Server, tsih uint16) map[uint16]uint64 {
	srv.mu.Lock()
	sess := srv.sessions[tsih]
	srv.mu.Unlock()
	out := make(map[uint16]uint64)
	if sess == nil {
		return out
	}
	sess.mu.Lock()
	defer sess.mu.Unlock()
	for _, c := range sess.conns {
		out[c.cid] = c.commands.Load()
	}
	return out
}

// mcsIO runs workers goroutines, each writing random blocks of its own
// region of LUN 0 and reading them back, ops times; it returns the first
// mismatch or error. Each worker's region is 64 blocks from worker*64.
func mcsIO(ctx context.Context, s *Session, workers, ops int, seed uint64) error {
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for w := range workers {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(seed, uint64(w)))
			for i := range ops {
				lba := uint32(w*64 + rng.IntN(56))
				n := 1 + rng.IntN(8)
				data := make([]byte, n*512)
				for j := range data {
					data[j] = byte(rng.Uint32())
				}
				if resp, err := write10(ctx, s, scsi.LUN{}, lba, data); err != nil || resp.Status != scsi.StatusGood {
					errs <- fmt.Errorf("worker %d op %d: WRITE at %d: %v %v", w, i, lba, resp, err)
					return
				}
				got := make([]byte, len(data))
				if resp, err := read10(ctx, s, scsi.LUN{}, lba, got); err != nil || resp.Status != scsi.StatusGood {
					errs <- fmt.Errorf("worker %d op %d: READ at %d: %v %v", w, i, lba, resp, err)
					return
				}
				if !bytes.Equal(got, data) {
					errs <- fmt.Errorf("worker %d op %d: READ at %d returned other data than written", w, i, lba)
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	return <-errs
}

// TestMCSWriteRead: a session of 4 connections (RFC 7143 §4.2.1) with 32
// commands in flight writes random blocks and reads them back byte for
// byte, under both connection policies. The target holds the 4
// connections in one session, every connection carried commands, and each
// command stayed on its connection: the commands the initiator issued per
// CID are the ones the target received per CID.
func TestMCSWriteRead(t *testing.T) {
	for _, policy := range []ConnectionPolicy{RoundRobin, LeastLoaded} {
		t.Run(policy.String(), func(t *testing.T) {
			srv := newTestServer(t, nil)
			s := dialTest(t, serveLoopback(t, srv), Options{Connections: 4, ConnectionPolicy: policy})
			if sp, _ := s.Params(); sp.MaxConnections != 4 {
				t.Fatalf("negotiated MaxConnections %d, want 4", sp.MaxConnections)
			}
			if err := mcsIO(context.Background(), s, 32, 24, 1); err != nil {
				t.Fatal(err)
			}
			st := s.Stats()
			if st.Connections != 4 || len(st.PerConnection) != 4 {
				t.Fatalf("Stats: %d connections, %v, want 4", st.Connections, st.PerConnection)
			}
			onTarget := targetConns(srv, s.TSIH())
			if len(onTarget) != 4 {
				t.Fatalf("the target's session has connections %v, want 4", onTarget)
			}
			for _, pc := range st.PerConnection {
				if pc.Commands == 0 {
					t.Errorf("CID %d carried no command", pc.CID)
				}
				if got := onTarget[pc.CID]; got != pc.Commands {
					t.Errorf("CID %d: the target received %d commands, the initiator issued %d on it", pc.CID, got, pc.Commands)
				}
			}
			if err := s.Logout(context.Background()); err != nil {
				t.Fatalf("Logout: %v", err)
			}
		})
	}
}

// TestMCSFallback: the number of connections is the smaller of what the
// initiator asks for and the MaxConnections negotiated (RFC 7143 §13.2:
// the result is the minimum of both offers), and the session works with it.
func TestMCSFallback(t *testing.T) {
	tests := []struct {
		name      string
		target    *login.Settings
		ask, want int
	}{
		{"target allows 1, initiator asks 4", mcsSettings(1), 4, 1},
		{"target allows 4, initiator asks 1", mcsSettings(4), 1, 1},
		{"target allows 2, initiator asks 4", mcsSettings(2), 4, 2},
		{"target default, initiator default", nil, 0, 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv := newTestServer(t, tc.target)
			s := dialTest(t, serveLoopback(t, srv), Options{Connections: tc.ask})
			if err := mcsIO(context.Background(), s, 4, 8, 2); err != nil {
				t.Fatal(err)
			}
			if st := s.Stats(); st.Connections != tc.want {
				t.Errorf("%d connections, want %d", st.Connections, tc.want)
			}
			if got := targetConns(srv, s.TSIH()); len(got) != tc.want {
				t.Errorf("the target's session has connections %v, want %d", got, tc.want)
			}
			if _, err := s.AddConnection(context.Background()); !errors.Is(err, ErrTooManyConnections) {
				t.Errorf("AddConnection beyond MaxConnections: %v, want ErrTooManyConnections", err)
			}
		})
	}
}

// TestMCSCloseConnection: one connection of four is logged out (RFC 7143
// §11.14.1, reason code 1) while commands run on all of them; no command
// fails, the session goes on with three connections on both sides, and a
// connection added afterwards carries commands again.
func TestMCSCloseConnection(t *testing.T) {
	srv := newTestServer(t, nil)
	s := dialTest(t, serveLoopback(t, srv), Options{Connections: 4})
	ctx := context.Background()
	ioDone := make(chan error, 1)
	go func() { ioDone <- mcsIO(ctx, s, 16, 40, 3) }()
	cids := s.ConnectionIDs()
	victim := cids[1]
	// Let some commands run on the victim before it goes.
	for s.Stats().PerConnection[1].Commands < 4 {
		if err := good(ctx, s, &Command{CDB: make([]byte, 6)}); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.CloseConnection(ctx, victim); err != nil {
		t.Fatalf("CloseConnection(%d): %v", victim, err)
	}
	if err := <-ioDone; err != nil {
		t.Fatalf("I/O while a connection was logged out: %v", err)
	}
	st := s.Stats()
	if st.Connections != 3 {
		t.Errorf("%d connections after the logout of one, want 3", st.Connections)
	}
	for _, pc := range st.PerConnection {
		if pc.CID == victim {
			t.Errorf("CID %d still listed after its logout", victim)
		}
	}
	if got := targetConns(srv, s.TSIH()); len(got) != 3 {
		t.Errorf("the target's session has connections %v, want 3", got)
	} else if _, ok := got[victim]; ok {
		t.Errorf("the target still has CID %d", victim)
	}
	if st.Reinstatements != 0 || st.CommandsFailed != 0 {
		t.Errorf("Stats %+v: a logout of one connection is no failure", st)
	}
	cid, err := s.AddConnection(ctx)
	if err != nil {
		t.Fatalf("AddConnection: %v", err)
	}
	if err := mcsIO(ctx, s, 8, 8, 4); err != nil {
		t.Fatal(err)
	}
	for _, pc := range s.Stats().PerConnection {
		if pc.CID == cid && pc.Commands == 0 {
			t.Errorf("the added CID %d carried no command", cid)
		}
	}
	if err := s.CloseConnection(ctx, cid); err != nil {
		t.Fatalf("CloseConnection(%d): %v", cid, err)
	}
	if err := s.Logout(ctx); err != nil {
		t.Fatalf("Logout: %v", err)
	}
}

// TestMCSKillConnection: at ErrorRecoveryLevel 0 the loss of one connection
// of a session of four, in the middle of writes, reinstates the session
// (RFC 7143 §7.1.4.3, §6.3.5) with its four connections, and every write
// that was acknowledged is on the disk when read back.
func TestMCSKillConnection(t *testing.T) {
	for _, policy := range []RecoveryPolicy{RecoveryRetry, RecoveryFail} {
		t.Run(policy.String(), func(t *testing.T) {
			st := quickSettings(20, func(st *login.Settings) { st.MaxConnections = 4 })
			srv := newTestServer(t, st)
			p := newFaultProxy(t, serveLoopback(t, srv), false)
			s := dialTest(t, p.addr(), Options{Connections: 4, Recovery: policy, Settings: st})
			ctx := context.Background()
			const workers, ops = 16, 24
			// acked[w][i] is the data of the i-th write of worker w
			// once acknowledged, at lba w*ops+i.
			acked := make([][][]byte, workers)
			var cutDone atomic.Bool
			var wg sync.WaitGroup
			var writes atomic.Int64
			cut := make(chan struct{})
			for w := range workers {
				acked[w] = make([][]byte, ops)
				wg.Go(func() {
					rng := rand.New(rand.NewPCG(5, uint64(w)))
					for i := range ops {
						data := make([]byte, 4096)
						for j := range data {
							data[j] = byte(rng.Uint32())
						}
						lba := uint32((w*ops + i) * 8)
						// A write on the reinstated session may first
						// get the unit attention of its new I_T nexus
						// (SAM-5 §5.14); it is then written again.
						for range 3 {
							resp, err := write10(ctx, s, scsi.LUN{}, lba, data)
							if err != nil || resp.Status != scsi.StatusCheckCondition {
								if err == nil && resp.Status == scsi.StatusGood {
									acked[w][i] = data
								}
								break
							}
						}
						if writes.Add(1) == workers*ops/3 {
							close(cut)
						}
					}
				})
			}
			<-cut
			cutDone.Store(p.cutOne(1))
			wg.Wait()
			if !cutDone.Load() {
				t.Fatal("no connection to cut")
			}
			// Reads until the reinstated session reports GOOD (its new
			// I_T nexus starts with a unit attention).
			if err := good(ctx, s, &Command{CDB: make([]byte, 6)}); err != nil {
				t.Fatal(err)
			}
			n := 0
			for w := range workers {
				for i, data := range acked[w] {
					if data == nil {
						continue
					}
					n++
					got := make([]byte, len(data))
					lba := uint32((w*ops + i) * 8)
					if resp, err := read10(ctx, s, scsi.LUN{}, lba, got); err != nil || resp.Status != scsi.StatusGood {
						t.Fatalf("READ at %d: %v %v", lba, resp, err)
					}
					if !bytes.Equal(got, data) {
						t.Errorf("acknowledged write at %d lost", lba)
					}
				}
			}
			stats := s.Stats()
			t.Logf("%d acknowledged writes verified; stats %+v", n, stats)
			if stats.Reinstatements == 0 {
				t.Error("the session was not reinstated")
			}
			if stats.Connections != 4 {
				t.Errorf("%d connections after the reinstatement, want 4", stats.Connections)
			}
			if policy == RecoveryRetry && n != workers*ops {
				t.Errorf("%d of %d writes acknowledged with RecoveryRetry", n, workers*ops)
			}
		})
	}
}

// cutOne closes the i-th connection open now (in the order accepted) and
// reports whether there was one.
func (p *faultProxy) cutOne(i int) bool {
	p.mu.Lock()
	var pair *proxyPair
	if i < len(p.pairs) {
		pair = p.pairs[i]
		p.pairs = append(p.pairs[:i], p.pairs[i+1:]...)
	}
	p.mu.Unlock()
	if pair == nil {
		return false
	}
	pair.close()
	return true
}

// stallOne stops forwarding target → initiator on the i-th connection open
// now and reports whether there was one.
func (p *faultProxy) stallOne(i int) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if i >= len(p.pairs) {
		return false
	}
	pair := p.pairs[i]
	pair.stall.Do(func() { close(pair.stalled) })
	return true
}

// TestMCSNOPTimeoutOneConnection: each connection of a session keeps itself
// alive with its own NOP-Out pings (RFC 7143 §11.18). One connection of four
// whose target stops answering is found dead by its ping, and the session
// is reinstated at ErrorRecoveryLevel 0 with four connections; the READs in
// flight, retried, all complete.
func TestMCSNOPTimeoutOneConnection(t *testing.T) {
	st := quickSettings(20, func(st *login.Settings) { st.MaxConnections = 4 })
	p := newFaultProxy(t, serveLoopback(t, newTestServer(t, st)), false)
	s := dialTest(t, p.addr(), Options{Settings: st, Connections: 4, Recovery: RecoveryRetry,
		NOPInterval: 100 * time.Millisecond, NOPTimeout: time.Second})
	ctx := context.Background()
	data := bytes.Repeat([]byte{0x5a}, 4096)
	if err := good(ctx, s, &Command{CDB: rw10(0x2a, 200, 8), DataOut: data}); err != nil {
		t.Fatal(err)
	}
	if !p.stallOne(2) {
		t.Fatal("no third connection to stall")
	}
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for range 8 {
		wg.Go(func() {
			buf := make([]byte, 4096)
			if err := good(ctx, s, &Command{CDB: rw10(0x28, 200, 8), DataIn: buf}); err != nil {
				errs <- err
				return
			}
			if !bytes.Equal(buf, data) {
				errs <- errors.New("READ returned other data than written")
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	stats := s.Stats()
	if stats.NOPTimeouts != 1 || stats.Reinstatements != 1 || stats.Connections != 4 {
		t.Errorf("Stats %+v, want 1 NOP timeout, 1 reinstatement and 4 connections", stats)
	}
}

// TestMCSShutdown: Server.Shutdown asks a session of four connections to log
// out (RFC 7143 §11.9.1, AsyncEvent 1, sent on each of them); the initiator
// logs the session out once (§11.14.1, reason 0, which closes all four)
// and Shutdown returns when the session has ended.
func TestMCSShutdown(t *testing.T) {
	srv := newTestServer(t, nil)
	s := dialTest(t, serveLoopback(t, srv), Options{Connections: 4})
	if err := mcsIO(context.Background(), s, 8, 4, 6); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := srv.Shutdown(ctx); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	if got := targetConns(srv, s.TSIH()); len(got) != 0 {
		t.Errorf("the target still has connections %v", got)
	}
	if _, err := s.Execute(context.Background(), &Command{CDB: make([]byte, 6)}); !errors.Is(err, ErrClosed) {
		t.Errorf("Execute after the requested logout: %v, want ErrClosed", err)
	}
}
