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
// one connection always by reinstatement). Half the workers write from a
// DataOutReader that seeks. A cut that finds no command to recover (those
// of the connection all completed in the instant before it) is tried
// again, up to three times.
func erl2Recovery(t *testing.T, conns, workers, rounds int, method ConnectionRecoveryMethod) {
	dumpGoroutinesOnFailure(t)
	for attempt := 1; attempt <= 3; attempt++ {
		if erl2RecoveryRun(t, conns, workers, rounds, method) || t.Failed() {
			return
		}
		t.Logf("attempt %d: the cut found no command to recover", attempt)
	}
	t.Error("in 3 attempts no cut found a command to recover: the test tested nothing")
}

// erl2RecoveryRun is one run of erl2Recovery; it reports whether a
// command was recovered.
func erl2RecoveryRun(t *testing.T, conns, workers, rounds int, method ConnectionRecoveryMethod) bool {
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
	pattern := func(w, r int) []byte { return roundPattern(w, r, blocks*512) }
	// One connection is cut once a third of the traffic has gone to
	// the initiator, at a moment it has commands outstanding (the
	// proxy's pairs are in the order the connections joined, as
	// PerConnection is).
	go func() {
		select {
		case <-p.after(int64(workers * rounds * blocks * 512 / 3)):
		case <-ctx.Done():
			return
		}
		for ctx.Err() == nil {
			for i, pc := range s.Stats().PerConnection {
				if pc.Outstanding > 0 {
					p.mu.Lock()
					pair := p.pairs[i]
					p.mu.Unlock()
					pair.close()
					return
				}
			}
			time.Sleep(50 * time.Microsecond)
		}
	}()
	var done sync.WaitGroup
	var mu sync.Mutex
	var errs, mismatches int
	for w := range workers {
		done.Go(func() {
			lba := uint32(w * blocks)
			in := make([]byte, blocks*512)
			for r := range rounds {
				wr := &Command{CDB: rw10(0x2a, lba, blocks), DataOut: pattern(w, r)}
				if w%2 == 1 {
					// A DataOutReader that seeks: read again from
					// wherever the target asks after the recovery.
					wr = &Command{CDB: wr.CDB, DataOutReader: bytes.NewReader(wr.DataOut), DataOutLength: len(wr.DataOut)}
				}
				err := good(ctx, s, wr)
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
	// A cut that finds only commands the target never acknowledged (lost
	// in the cut, or held behind a CmdSN gap and discarded with the
	// connection) recovers them all by issuing them again.
	if is.TasksReassigned != ts.TasksReassigned {
		t.Errorf("%d tasks reassigned, the target counts %d", is.TasksReassigned, ts.TasksReassigned)
	}
	if is.ConnectionsRecovered != 1 {
		t.Errorf("%d connections recovered, want 1", is.ConnectionsRecovered)
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
	return is.TasksReassigned+is.CommandsRetried > 0
}
