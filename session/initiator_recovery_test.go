package session

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/go-iscsi/iscsi/login"
	"github.com/go-iscsi/iscsi/pdu"
	"github.com/go-iscsi/iscsi/scsi"
)

// quickSettings are settings for fast recoveries: no Time2Wait (the
// negotiated value is the larger of the two, RFC 7143 §13.15) and
// Time2Retain as given (the smaller of the two, §13.16).
func quickSettings(retain uint32, f func(*login.Settings)) *login.Settings {
	st := login.DefaultSettings()
	st.DefaultTime2Wait = 0
	st.DefaultTime2Retain = retain
	if f != nil {
		f(&st)
	}
	return &st
}

// good runs cmd until it completes with GOOD, taking the unit attentions a
// new I_T nexus reports (SAM-5 §5.14) on the way.
func good(ctx context.Context, s *Session, cmd *Command) error {
	for range 4 {
		resp, err := s.Execute(ctx, cmd)
		if err != nil {
			return err
		}
		if resp.Status == scsi.StatusGood {
			return nil
		}
	}
	return errors.New("never GOOD")
}

// TestInitiatorAbortRefCmdSN: the ABORT TASK sent for a cancelled command
// names it by ITT and by its CmdSN in RefCmdSN (RFC 7143 §11.5.4), as the
// target receives them.
func TestInitiatorAbortRefCmdSN(t *testing.T) {
	st := login.DefaultSettings()
	st.ImmediateData = false
	p := newFaultProxy(t, serveLoopback(t, newTestServer(t, &st)), true)
	s := dialTest(t, p.addr(), Options{Settings: &st})
	// A command or two more, so that the CmdSN of the aborted one differs
	// from the session's first.
	if err := good(context.Background(), s, &Command{CDB: make([]byte, 6)}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := write10(ctx, s, scsi.LUN{}, 0, make([]byte, 4096)); !errors.Is(err, context.Canceled) {
		t.Fatalf("Execute with a cancelled context: %v, want context.Canceled", err)
	}
	// The TMF response came before Execute returned; a NOP round trip
	// makes sure the tap has decoded everything before it.
	if err := good(context.Background(), s, &Command{CDB: make([]byte, 6)}); err != nil {
		t.Fatal(err)
	}
	s.Close()
	type sent struct{ ITT, CmdSN uint32 }
	var write, abort *sent
	for _, h := range p.headers() {
		switch h.Opcode() {
		case pdu.OpSCSICommand:
			if sc := h.SCSICommand(); sc.Write() {
				write = &sent{sc.InitiatorTaskTag(), sc.CmdSN()}
			}
		case pdu.OpTaskManagementRequest:
			if tm := h.TaskManagementRequest(); tm.Function() == pdu.TMFAbortTask {
				abort = &sent{tm.ReferencedTaskTag(), tm.RefCmdSN()}
			}
		}
	}
	if write == nil || abort == nil {
		t.Fatalf("WRITE %v, ABORT TASK %v: want both sent", write, abort)
	}
	if *abort != *write {
		t.Errorf("ABORT TASK Referenced Task Tag, RefCmdSN = %+v, want the WRITE's ITT, CmdSN %+v", *abort, *write)
	}
}

// TestInitiatorNoDataInAfterReturn closes the session while a large READ
// is receiving Data-In: once Execute has returned the caller owns DataIn,
// and nothing writes into it (the race detector sees any write).
func TestInitiatorNoDataInAfterReturn(t *testing.T) {
	p := newFaultProxy(t, serveLoopback(t, newTestServer(t, nil)), false)
	for i := range 5 {
		s := dialTest(t, p.addr(), Options{})
		buf := make([]byte, 4<<20)
		started := p.after(256 << 10)
		done := make(chan error, 1)
		go func() {
			_, err := read10(context.Background(), s, scsi.LUN{}, 0, buf)
			if err == nil {
				err = errors.New("completed")
			}
			// The caller reuses the buffer at once.
			for j := range buf {
				buf[j] = 0xa5
			}
			done <- err
		}()
		<-started
		s.Close()
		err := <-done
		if err.Error() == "completed" {
			continue // the READ won the race; nothing to check
		}
		if !errors.Is(err, ErrClosed) {
			t.Errorf("round %d: READ while closing: %v, want ErrClosed", i, err)
		}
		for j, b := range buf {
			if b != 0xa5 {
				t.Errorf("round %d: byte %d of the buffer was written after Execute returned", i, j)
				break
			}
		}
	}
}

// TestInitiatorNOPTimeout stops the target's traffic to the initiator: the
// keep-alive's unanswered NOP-Out declares the connection dead, the
// session is reinstated, and the command in flight fails (RecoveryFail)
// or is issued again and completes (RecoveryRetry).
func TestInitiatorNOPTimeout(t *testing.T) {
	for _, policy := range []RecoveryPolicy{RecoveryFail, RecoveryRetry} {
		t.Run(fmt.Sprint(policy), func(t *testing.T) {
			p := newFaultProxy(t, serveLoopback(t, newTestServer(t, quickSettings(20, nil))), false)
			s := dialTest(t, p.addr(), Options{Settings: quickSettings(20, nil), Recovery: policy,
				NOPInterval: 100 * time.Millisecond, NOPTimeout: time.Second})
			ctx := context.Background()
			data := bytes.Repeat([]byte{0x3c}, 4096)
			if err := good(ctx, s, &Command{CDB: rw10(0x2a, 100, 8), DataOut: data}); err != nil {
				t.Fatal(err)
			}
			tsih := s.TSIH()
			p.stall()
			buf := make([]byte, 4096)
			resp, err := read10(ctx, s, scsi.LUN{}, 100, buf)
			switch policy {
			case RecoveryFail:
				var ce *CommandError
				if !errors.As(err, &ce) || !errors.Is(err, ErrConnectionLost) {
					t.Fatalf("READ during the stall: %v, %v; want a *CommandError wrapping ErrConnectionLost", resp, err)
				}
				if err := good(ctx, s, &Command{CDB: rw10(0x28, 100, 8), DataIn: buf}); err != nil {
					t.Fatalf("READ after the reinstatement: %v", err)
				}
			case RecoveryRetry:
				if err != nil {
					t.Fatalf("READ during the stall: %v, want it retried", err)
				}
				if resp.Status != scsi.StatusGood {
					// The new I_T nexus reports its unit attention first.
					if err := good(ctx, s, &Command{CDB: rw10(0x28, 100, 8), DataIn: buf}); err != nil {
						t.Fatal(err)
					}
				}
			}
			if !bytes.Equal(buf, data) {
				t.Error("READ after the reinstatement returned other data")
			}
			st := s.Stats()
			if st.NOPTimeouts != 1 || st.Reinstatements != 1 {
				t.Errorf("Stats %+v, want 1 NOP timeout and 1 reinstatement", st)
			}
			if s.TSIH() == tsih {
				t.Errorf("TSIH %d unchanged by the reinstatement", tsih)
			}
		})
	}
}

// TestInitiatorRecoveryFaults cuts the connection at random moments while
// 8 goroutines write and read back their own blocks: every write reported
// done is on the logical unit afterwards, every read matches it, and every
// failure is a *CommandError wrapping ErrConnectionLost.
func TestInitiatorRecoveryFaults(t *testing.T) {
	for _, policy := range []RecoveryPolicy{RecoveryRetry, RecoveryFail} {
		t.Run(fmt.Sprint(policy), func(t *testing.T) {
			p := newFaultProxy(t, serveLoopback(t, newTestServer(t, quickSettings(20, nil))), false)
			s := dialTest(t, p.addr(), Options{Settings: quickSettings(20, nil), Recovery: policy})
			const workers, rounds, blocks = 8, 40, 64
			type state struct {
				want    []byte // what the blocks hold, if known
				unknown bool   // a write of unknown outcome came last
				failed  int
			}
			states := make([]state, workers)
			errs := make(chan error, workers)
			var wg sync.WaitGroup
			stop := make(chan struct{})
			for w := range workers {
				wg.Go(func() {
					r := rand.New(rand.NewPCG(uint64(w), 7))
					st := &states[w]
					lba := uint32(w * 2 * blocks)
					typed := func(op string, err error) bool {
						var ce *CommandError
						if errors.As(err, &ce) && errors.Is(err, ErrConnectionLost) {
							st.failed++
							return true
						}
						errs <- fmt.Errorf("worker %d %s: %v, want a *CommandError wrapping ErrConnectionLost", w, op, err)
						return false
					}
					for range rounds {
						data := make([]byte, blocks*512)
						for i := range data {
							data[i] = byte(r.Uint32())
						}
						resp, err := write10(context.Background(), s, scsi.LUN{}, lba, data)
						switch {
						case err != nil:
							if !typed("WRITE", err) {
								return
							}
							st.unknown = true
						case resp.Status == scsi.StatusGood:
							st.want, st.unknown = data, false
						default:
							// A retried WRITE answered with the new I_T
							// nexus's unit attention: its first issue may
							// or may not have run.
							st.unknown = true
						}
						got := make([]byte, len(data))
						resp, err = read10(context.Background(), s, scsi.LUN{}, lba, got)
						switch {
						case err != nil:
							if !typed("READ", err) {
								return
							}
						case resp.Status == scsi.StatusGood && st.want != nil && !st.unknown && !bytes.Equal(got, st.want):
							errs <- fmt.Errorf("worker %d: READ differs from the last WRITE reported done", w)
							return
						}
					}
				})
			}
			cuts := 0
			cutterDone := make(chan struct{})
			go func() {
				defer close(cutterDone)
				r := rand.New(rand.NewPCG(99, uint64(policy)))
				for range 6 {
					select {
					case <-p.after(int64(64<<10 + r.IntN(1<<20))):
					case <-stop:
						return
					}
					p.cut()
					cuts++
				}
			}()
			wg.Wait()
			close(stop)
			<-cutterDone
			close(errs)
			for err := range errs {
				t.Error(err)
			}
			// What the logical unit holds, read on the session as it is now.
			for w, st := range states {
				if st.want == nil || st.unknown {
					continue
				}
				got := make([]byte, len(st.want))
				if err := good(context.Background(), s, &Command{CDB: rw10(0x28, uint32(w*2*blocks), blocks), DataIn: got}); err != nil {
					t.Fatalf("final READ: %v", err)
				}
				if !bytes.Equal(got, st.want) {
					t.Errorf("worker %d: the last WRITE reported done is not on the logical unit", w)
				}
			}
			stats := s.Stats()
			t.Logf("%d cuts, stats %+v", cuts, stats)
			if cuts > 0 && stats.Reinstatements == 0 {
				t.Errorf("%d cuts and no reinstatement", cuts)
			}
			failed := 0
			for _, st := range states {
				failed += st.failed
			}
			if policy == RecoveryRetry && cuts > 0 && stats.CommandsRetried == 0 {
				t.Errorf("RecoveryRetry: no command retried over %d cuts", cuts)
			}
			if policy == RecoveryFail && stats.CommandsRetried != 0 {
				t.Errorf("RecoveryFail retried %d commands", stats.CommandsRetried)
			}
			if uint64(failed) > stats.CommandsFailed {
				t.Errorf("%d commands failed, Stats.CommandsFailed %d", failed, stats.CommandsFailed)
			}
		})
	}
}

// TestInitiatorRecoveryGiveUp: a target that refuses every new connection
// makes the recovery give up after DefaultTime2Retain with a
// *RecoveryError, having backed off between its logins.
func TestInitiatorRecoveryGiveUp(t *testing.T) {
	p := newFaultProxy(t, serveLoopback(t, newTestServer(t, quickSettings(1, nil))), false)
	s := dialTest(t, p.addr(), Options{Settings: quickSettings(1, nil)})
	for len(p.acceptCh) > 0 {
		<-p.acceptCh
	}
	p.refusing.Store(true)
	before := p.accepted.Load()
	p.cut()
	// The first refused login: the session is recovering, and a command
	// now waits for the recovery's outcome.
	<-p.acceptCh
	_, err := s.Execute(context.Background(), &Command{CDB: make([]byte, 6)})
	var re *RecoveryError
	if !errors.As(err, &re) || !errors.Is(err, ErrConnectionLost) {
		t.Fatalf("Execute once the target is gone: %v, want a *RecoveryError wrapping ErrConnectionLost", err)
	}
	attempts := p.accepted.Load() - before
	// 1 s with a backoff doubling from 25 ms holds about 6 logins; a
	// loop without backoff would make hundreds. The last attempt's dial
	// may be cut by the end of Time2Retain before the proxy accepts it.
	if n := int64(re.Attempts); attempts < 2 || attempts > 12 || n != attempts && n != attempts+1 {
		t.Errorf("%d connections, RecoveryError.Attempts %d; want 2 to 12, and as many attempts (or one more)", attempts, re.Attempts)
	}
	if _, err := s.Execute(context.Background(), &Command{CDB: make([]byte, 6)}); !errors.As(err, &re) {
		t.Errorf("Execute after the recovery failed: %v, want the *RecoveryError", err)
	}
}

// TestInitiatorDuringRecovery: a command issued while the session is
// being reinstated waits for the new session, as long as its context
// allows, and runs there; Close or
// Logout during a recovery end it, and the waiting command returns
// ErrClosed.
func TestInitiatorDuringRecovery(t *testing.T) {
	tests := []struct {
		name string
		end  func(*Session) error
		want error
	}{
		{"reinstated", nil, nil},
		{"Close", (*Session).Close, ErrClosed},
		{"Logout", func(s *Session) error { return s.Logout(context.Background()) }, ErrClosed},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := newFaultProxy(t, serveLoopback(t, newTestServer(t, quickSettings(20, nil))), false)
			s := dialTest(t, p.addr(), Options{Settings: quickSettings(20, nil)})
			for len(p.acceptCh) > 0 {
				<-p.acceptCh
			}
			p.refusing.Store(true)
			p.cut()
			// The first refused login: the session is recovering.
			<-p.acceptCh
			// The wait for the recovery is bounded by the context.
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
			if _, err := s.Execute(ctx, &Command{CDB: make([]byte, 6)}); !errors.Is(err, context.DeadlineExceeded) {
				t.Errorf("Execute with a deadline during the recovery: %v, want context.DeadlineExceeded", err)
			}
			cancel()
			done := make(chan error, 1)
			go func() { done <- good(context.Background(), s, &Command{CDB: make([]byte, 6)}) }()
			if tc.end != nil {
				if err := tc.end(s); err != nil {
					t.Errorf("%s during the recovery: %v", tc.name, err)
				}
			} else {
				p.refusing.Store(false)
			}
			err := <-done
			if tc.want == nil && err != nil || tc.want != nil && !errors.Is(err, tc.want) {
				t.Errorf("command issued during the recovery: %v, want %v", err, tc.want)
			}
			if st := s.Stats(); tc.want == nil && st.Reinstatements != 1 {
				t.Errorf("Stats %+v, want 1 reinstatement", st)
			}
		})
	}
}
