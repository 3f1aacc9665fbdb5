package session

import (
	"bytes"
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/go-iscsi/iscsi/login"
	"github.com/go-iscsi/iscsi/pdu"
)

// TestERL1DigestErrorsEndToEnd runs the project's initiator against its
// target at ErrorRecoveryLevel 1 with HeaderDigest and DataDigest CRC32C,
// through a proxy that flips a bit in the data segment of one in every 100
// Data-In and Data-Out PDUs: every Data-In lost is asked for again with a
// Data/R2T SNACK by the initiator, every Data-Out lost with a recovery R2T
// by the target (RFC 7143 §7.2, §7.8, §11.16), and every one of a fixed
// number of WRITEs and READs, 32 in flight on 4 connections, completes
// with the right data.
func TestERL1DigestErrorsEndToEnd(t *testing.T) {
	t.Run("data digest", func(t *testing.T) { erl1EndToEnd(t, false, false) })
	t.Run("header digest", func(t *testing.T) { erl1EndToEnd(t, true, false) })
	t.Run("header digest both ways", func(t *testing.T) { erl1EndToEnd(t, true, true) })
}

// erl1EndToEnd is TestERL1DigestErrorsEndToEnd with the header of the
// Data-In corrupted instead of their data when header is true: the
// initiator drops the PDU and finds it missing from what follows (RFC 7143
// §7.8), by DataSN, by ExpDataSN or by StatSN. With outHeader the header of
// one in every 100 final Data-Out PDUs of a sequence is corrupted too: the
// target drops it, and with nothing after it to show it missing, asks for
// it again with a recovery R2T after a NOP-In ping once half of
// Limits.DataOutTimeout has passed without Data-Out.
func erl1EndToEnd(t *testing.T, header, outHeader bool) {
	const (
		workers = 32
		rounds  = 6
		blocks  = 64 // 32 KiB per command: 4 Data PDUs of 8192 bytes
	)
	st := login.DefaultSettings()
	st.ErrorRecoveryLevel = 1
	st.HeaderDigest, st.DataDigest = login.DigestRequire, login.DigestRequire
	st.MaxConnections = 4
	st.MaxOutstandingR2T = 1
	st.DefaultTime2Wait = 0
	srv := newTestServer(t, &st)
	srv.Limits.DataOutTimeout = 2 * time.Second
	flip := &pduFlipper{Every: 100, Header: header, OutHeader: outHeader}
	p := newFlipProxy(t, serveLoopback(t, srv), flip)
	is := login.DefaultSettings()
	is.DefaultTime2Wait = 0
	s := dialTest(t, p.addr(), Options{
		ErrorRecoveryLevel: 1, HeaderDigest: true, DataDigest: true,
		Connections: 4, Settings: &is, SNACKTimeout: 2 * time.Second,
	})
	if sp, cp := s.Params(); sp.ErrorRecoveryLevel != 1 || !cp.DataDigest || !cp.HeaderDigest {
		t.Fatalf("ErrorRecoveryLevel %d, digests %v/%v: want 1 with CRC32C", sp.ErrorRecoveryLevel, cp.HeaderDigest, cp.DataDigest)
	}
	if n := s.Stats().Connections; n != 4 {
		t.Fatalf("%d connections, want 4", n)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	verifiedRounds(t, ctx, s, workers, rounds, blocks)
	is2 := s.Stats()
	ts := srv.Stats()
	t.Logf("proxy: %d of %d Data-Out and %d of %d Data-In corrupted", flip.flipped[0].Load(), flip.seen[0].Load(), flip.flipped[1].Load(), flip.seen[1].Load())
	t.Logf("initiator: DataDigestErrors %d HeaderDigestErrors %d DataSNACKs %d R2TSNACKs %d StatusSNACKs %d DataACKs %d SNACKTimeouts %d Reinstatements %d",
		is2.DataDigestErrors, is2.HeaderDigestErrors, is2.DataSNACKs, is2.R2TSNACKs, is2.StatusSNACKs, is2.DataACKs, is2.SNACKTimeouts, is2.Reinstatements)
	t.Logf("target: %+v", ts)
	if flip.flipped[0].Load() == 0 || flip.flipped[1].Load() == 0 {
		t.Error("the proxy corrupted no Data-Out or no Data-In")
	}
	initErrs := is2.DataDigestErrors
	if header {
		initErrs = is2.HeaderDigestErrors
	}
	if initErrs == 0 || is2.DataSNACKs+is2.StatusSNACKs == 0 {
		t.Error("the initiator counted no digest error or no SNACK")
	}
	targetErrs := ts.DataDigestErrors
	if outHeader {
		targetErrs = ts.HeaderDigestErrors
	}
	if targetErrs == 0 || ts.RecoveryR2Ts == 0 {
		t.Error("the target counted no digest error or no recovery R2T")
	}
	// No SNACK is rejected: a DataACK that arrives after the initiator's
	// ExpStatSN acknowledged the task's status (and with it its Data-In,
	// RFC 7143 §4.2.2.2) is taken as done, not as invalid.
	if outHeader && ts.StalledDataOut < uint64(flip.flipped[0].Load()) {
		t.Errorf("%d stalled Data-Out recovered, want at least the %d final Data-Out dropped", ts.StalledDataOut, flip.flipped[0].Load())
	}
	if ts.RejectedSNACKs != 0 {
		t.Errorf("the target rejected %d SNACKs", ts.RejectedSNACKs)
	}
	if is2.Reinstatements != 0 || is2.SNACKTimeouts != 0 {
		t.Errorf("%d reinstatements, %d SNACK timeouts: recovery left the connection", is2.Reinstatements, is2.SNACKTimeouts)
	}
}

// TestERL0DigestErrorsReinstate is TestERL1DigestErrorsEndToEnd at
// ErrorRecoveryLevel 0, where a digest error ends the connection (RFC 7143
// §7.1.4.3, §7.8): the session is reinstated, and the commands in flight
// fail with an error (RecoveryFail) or are issued again (RecoveryRetry).
// Each worker writes its own blocks over and over; at the end, read
// straight from the target without the proxy, every block holds the last
// WRITE reported done, or one of the WRITEs after it that failed (which the
// target may or may not have executed): no acknowledged write is lost. A
// READ after each WRITE done returns its data whenever it completes.
func TestERL0DigestErrorsReinstate(t *testing.T) {
	for _, policy := range []RecoveryPolicy{RecoveryFail, RecoveryRetry} {
		t.Run(policy.String(), func(t *testing.T) { erl0Reinstate(t, policy) })
	}
}

func erl0Reinstate(t *testing.T, policy RecoveryPolicy) {
	const (
		workers = 16
		rounds  = 8
		blocks  = 64 // 32 KiB per WRITE
	)
	st := login.DefaultSettings()
	st.HeaderDigest, st.DataDigest = login.DigestRequire, login.DigestRequire
	st.DefaultTime2Wait = 0
	srv := newTestServer(t, &st)
	direct := serveLoopback(t, srv)
	flip := &pduFlipper{Every: 100}
	p := newFlipProxy(t, direct, flip)
	is := login.DefaultSettings()
	is.DefaultTime2Wait = 0
	s := dialTest(t, p.addr(), Options{
		HeaderDigest: true, DataDigest: true, Settings: &is, Recovery: policy,
	})
	if sp, _ := s.Params(); sp.ErrorRecoveryLevel != 0 {
		t.Fatalf("ErrorRecoveryLevel %d, want 0", sp.ErrorRecoveryLevel)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	pattern := func(w, r int) []byte { return roundPattern(w, r, blocks*512) }
	// acked[w] is the last round whose WRITE was done (-1: none);
	// doubt[w] the rounds after it whose WRITEs failed, any of which the
	// target may have executed.
	acked := make([]int, workers)
	doubt := make([][]int, workers)
	var done sync.WaitGroup
	var mu sync.Mutex
	var writeErrs, readMismatches int
	for w := range workers {
		acked[w] = -1
		done.Go(func() {
			lba := uint32(w * blocks)
			for r := range rounds {
				err := good(ctx, s, &Command{CDB: rw10(0x2a, lba, blocks), DataOut: pattern(w, r)})
				mu.Lock()
				if err == nil {
					acked[w], doubt[w] = r, nil
				} else {
					doubt[w] = append(doubt[w], r)
					writeErrs++
				}
				mu.Unlock()
				if ctx.Err() != nil {
					return
				}
				if err != nil {
					continue
				}
				// A READ that completes returns what was just written;
				// one that fails with the connection says nothing.
				in := make([]byte, blocks*512)
				if good(ctx, s, &Command{CDB: rw10(0x28, lba, blocks), DataIn: in}) == nil && !bytes.Equal(in, pattern(w, r)) {
					mu.Lock()
					readMismatches++
					mu.Unlock()
				}
			}
		})
	}
	done.Wait()
	if ctx.Err() != nil {
		t.Fatal("the writes did not end within two minutes")
	}
	st2 := s.Stats()
	t.Logf("%v: proxy corrupted %d of %d Data-Out and %d of %d Data-In; %d reinstatements, %d WRITEs failed",
		policy, flip.flipped[0].Load(), flip.seen[0].Load(), flip.flipped[1].Load(), flip.seen[1].Load(), st2.Reinstatements, writeErrs)
	if flip.flipped[0].Load() == 0 || flip.flipped[1].Load() == 0 || st2.Reinstatements == 0 {
		t.Fatal("no digest error injected both ways or no reinstatement: the test tested nothing")
	}
	if readMismatches != 0 {
		t.Errorf("%d READs returned other data than the WRITE just done", readMismatches)
	}
	check := dialTest(t, direct, Options{ISID: pdu.NewOUIISID(0x00023d, 0x4242)})
	got := make([]byte, blocks*512)
	for w := range workers {
		if err := good(ctx, check, &Command{CDB: rw10(0x28, uint32(w*blocks), blocks), DataIn: got}); err != nil {
			t.Fatalf("READ of worker %d's blocks: %v", w, err)
		}
		// With nothing acknowledged, the blocks may still hold zeros.
		ok := acked[w] < 0 && bytes.Equal(got, make([]byte, len(got))) ||
			acked[w] >= 0 && bytes.Equal(got, pattern(w, acked[w]))
		for _, r := range doubt[w] {
			ok = ok || bytes.Equal(got, pattern(w, r))
		}
		if !ok {
			t.Errorf("worker %d: blocks hold neither its last acknowledged WRITE (round %d) nor one of the failed ones after it (rounds %v)", w, acked[w], doubt[w])
		}
	}
}

// TestERL1LostCommandRetry runs WRITEs and READs with verification at
// ErrorRecoveryLevel 1 through a proxy that corrupts the header of one in
// every 25 SCSI Command PDUs: the target drops each (RFC 7143 §7.8) and
// holds the commands after it, unacknowledged, without ending the
// connection; the initiator finds ExpCmdSN standing at the lost command,
// confirms it with a ping and retries it (§6.2.1), and every command
// completes with the right data, once per lost command.
func TestERL1LostCommandRetry(t *testing.T) {
	for _, conns := range []int{1, 4} {
		t.Run(fmt.Sprintf("%dconns", conns), func(t *testing.T) { lostCommandRetry(t, conns) })
	}
}

func lostCommandRetry(t *testing.T, conns int) {
	const (
		workers = 16
		rounds  = 6
		blocks  = 16
	)
	st := login.DefaultSettings()
	st.ErrorRecoveryLevel = 1
	st.HeaderDigest, st.DataDigest = login.DigestRequire, login.DigestRequire
	st.MaxConnections = 4
	st.MaxOutstandingR2T = 1
	srv := newTestServer(t, &st)
	flip := &pduFlipper{Commands: 25}
	p := newFlipProxy(t, serveLoopback(t, srv), flip)
	s := dialTest(t, p.addr(), Options{
		ErrorRecoveryLevel: 1, HeaderDigest: true, DataDigest: true, Connections: conns,
		RetryTimeout: 200 * time.Millisecond,
	})
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	verifiedRounds(t, ctx, s, workers, rounds, blocks)
	is, ts := s.Stats(), srv.Stats()
	t.Logf("%d connections: %d of %d commands dropped by the proxy; initiator %d lost commands retried, %d reinstatements; target %d header digest errors",
		conns, flip.cmdFlipped.Load(), flip.cmdSeen.Load(), is.LostCommandsRetried, is.Reinstatements, ts.HeaderDigestErrors)
	if flip.cmdFlipped.Load() == 0 {
		t.Fatal("no command was dropped: the test tested nothing")
	}
	if is.LostCommandsRetried != uint64(flip.cmdFlipped.Load()) {
		t.Errorf("%d lost commands retried, want one per command dropped (%d)", is.LostCommandsRetried, flip.cmdFlipped.Load())
	}
	if is.Reinstatements != 0 {
		t.Errorf("%d session reinstatements, want 0", is.Reinstatements)
	}
}

// verifiedRounds runs workers goroutines on s, each writing rounds
// patterns of blocks blocks to blocks of its own and reading each back; a
// failed command or a READ that differs is an error of t.
func verifiedRounds(t *testing.T, ctx context.Context, s *Session, workers, rounds, blocks int) {
	t.Helper()
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for w := range workers {
		wg.Go(func() {
			out := make([]byte, blocks*512)
			in := make([]byte, blocks*512)
			for r := range rounds {
				lba := uint32((w*rounds + r) * blocks)
				copy(out, roundPattern(w, r, len(out)))
				if err := good(ctx, s, &Command{CDB: rw10(0x2a, lba, uint16(blocks)), DataOut: out}); err != nil {
					errs <- fmt.Errorf("worker %d WRITE %d: %w", w, r, err)
					return
				}
				clear(in)
				if err := good(ctx, s, &Command{CDB: rw10(0x28, lba, uint16(blocks)), DataIn: in}); err != nil {
					errs <- fmt.Errorf("worker %d READ %d: %w", w, r, err)
					return
				}
				if !bytes.Equal(in, out) {
					errs <- fmt.Errorf("worker %d round %d: READ differs from WRITE", w, r)
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

// roundPattern is the n bytes worker w writes in round r of the recovery
// tests: different for every worker, round and block, never all zero.
func roundPattern(w, r, n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(w*31 + r*7 + i*13 + i>>9 + 1)
	}
	return b
}
