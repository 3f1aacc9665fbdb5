package session

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"runtime/pprof"
	"strings"
	"sync"
	"testing"
	"time"
)

// dumpGoroutinesOnFailure writes the goroutines to a file in the test's
// temporary directory's parent when the test fails, to find a hang.
func dumpGoroutinesOnFailure(t *testing.T) {
	t.Cleanup(func() {
		if !t.Failed() {
			return
		}
		f, err := os.Create(filepath.Join(os.TempDir(), "goroutines-"+strings.ReplaceAll(t.Name(), "/", "_")+".txt"))
		if err != nil {
			return
		}
		pprof.Lookup("goroutine").WriteTo(f, 1)
		f.Close()
		t.Logf("goroutines in %s", f.Name())
	})
}

// TestERL2ConnectionRecovery runs WRITEs and READs over the connections
// of a session at ErrorRecoveryLevel 2 while one connection is cut: the
// initiator reinstates the connection and moves its commands over with
// TASK REASSIGN (RFC 7143 §7.1.4.3, §7.2.2), and every command succeeds.
func TestERL2ConnectionRecovery(t *testing.T) {
	t.Run("4conns", func(t *testing.T) { erl2Recovery(t, 4, 32, 4, RecoverOnOtherConnection) })
	t.Run("4conns-reinstate", func(t *testing.T) { erl2Recovery(t, 4, 32, 4, RecoverByReinstatement) })
	t.Run("1conn", func(t *testing.T) { erl2Recovery(t, 1, 8, 4, RecoverOnOtherConnection) })
}

// erl2Recovery runs workers × rounds verified WRITE and READ pairs over a
// session of conns connections at ErrorRecoveryLevel 2 through a proxy that
// cuts one connection; the session recovers it by method (on a session of
// one connection always by reinstatement).
func erl2Recovery(t *testing.T, conns, workers, rounds int, method ConnectionRecoveryMethod) {
	dumpGoroutinesOnFailure(t)
	const blocks = 64 // 32 KiB per command
	st := erl2Settings(nil)
	srv := newTestServer(t, st)
	direct := serveLoopback(t, srv)
	p := newFaultProxy(t, direct, false)
	s := dialTest(t, p.addr(), Options{
		Settings: erl2Settings(nil), ErrorRecoveryLevel: 2, Connections: conns, Recovery: RecoveryRetry,
		ConnectionRecovery: method,
	})
	if sp, _ := s.Params(); sp.ErrorRecoveryLevel != 2 {
		t.Fatalf("ErrorRecoveryLevel %d, want 2", sp.ErrorRecoveryLevel)
	}
	if n := s.Stats().Connections; n != conns {
		t.Fatalf("%d connections, want %d", n, conns)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	pattern := func(w, r int) []byte {
		b := make([]byte, blocks*512)
		for i := range b {
			b[i] = byte(w*31 + r*7 + i*13 + i>>9 + 1)
		}
		return b
	}
	// One connection is cut once a third of the traffic has gone to
	// the initiator.
	go func() {
		select {
		case <-p.after(int64(workers * rounds * blocks * 512 / 3)):
		case <-ctx.Done():
			return
		}
		p.mu.Lock()
		pair := p.pairs[len(p.pairs)/2]
		p.mu.Unlock()
		pair.close()
	}()
	var done sync.WaitGroup
	var mu sync.Mutex
	var errs, mismatches int
	for w := range workers {
		done.Go(func() {
			lba := uint32(w * blocks)
			in := make([]byte, blocks*512)
			for r := range rounds {
				err := good(ctx, s, &Command{CDB: rw10(0x2a, lba, blocks), DataOut: pattern(w, r)})
				if err == nil {
					err = good(ctx, s, &Command{CDB: rw10(0x28, lba, blocks), DataIn: in})
				}
				mu.Lock()
				if err != nil {
					errs++
					if errs < 5 {
						t.Errorf("worker %d round %d: %v", w, r, err)
					}
				} else if !bytes.Equal(in, pattern(w, r)) {
					mismatches++
				}
				mu.Unlock()
				if ctx.Err() != nil {
					return
				}
			}
		})
	}
	done.Wait()
	if ctx.Err() != nil {
		t.Fatal("the commands did not end within a minute")
	}
	is, ts := s.Stats(), srv.Stats()
	t.Logf("%d connections (%v), %d workers × %d rounds: initiator %d connections recovered, %d logouts for recovery, %d tasks reassigned, %d retried, %d reinstatements; target %d connections recovered, %d tasks reassigned, %d discarded",
		conns, method, workers, rounds, is.ConnectionsRecovered, is.RecoveryLogouts, is.TasksReassigned, is.CommandsRetried, is.Reinstatements,
		ts.ConnectionsRecovered, ts.TasksReassigned, ts.TasksDiscarded)
	if errs != 0 || mismatches != 0 {
		t.Fatalf("%d commands failed, %d READs returned other data", errs, mismatches)
	}
	if is.Reinstatements != 0 {
		t.Errorf("%d session reinstatements, want 0", is.Reinstatements)
	}
	if is.ConnectionsRecovered == 0 || is.TasksReassigned == 0 || ts.TasksReassigned == 0 {
		t.Error("no connection recovered or no task reassigned: the test tested nothing")
	}
	if onOther := method == RecoverOnOtherConnection && conns > 1; onOther != (is.RecoveryLogouts > 0) {
		t.Errorf("%d logouts for recovery with %v over %d connections", is.RecoveryLogouts, method, conns)
	}
	// The connection that replaces the one logged out for recovery logs
	// in after the reassignment.
	for deadline := time.Now().Add(20 * time.Second); s.Stats().Connections != conns; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("%d connections after the recovery, want %d", s.Stats().Connections, conns)
		}
	}
}
