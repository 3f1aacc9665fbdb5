package session

import (
	"errors"
	"fmt"
	"time"

	"github.com/go-iscsi/iscsi/pdu"
	"github.com/go-iscsi/iscsi/scsi"
)

// This file is the initiator's ErrorRecoveryLevel 1 (RFC 7143 §7.1.4.1,
// §7.2, §7.3): within a connection, a Data-In, R2T or status PDU lost to a
// digest error is asked for again with a SNACK (§11.16) instead of the
// connection being dropped. What a SNACK does not bring back within
// Options.SNACKTimeout is left to the recovery of level 0: the connection
// is dropped, the session reinstated, the command failed or issued again
// as Options.Recovery says.

// maxSNGaps bounds the runs of DataSN (or R2TSN) one task may be missing at
// once; a task that loses more drops its connection. The runs are kept in
// the task, so recovery allocates nothing per PDU.
const maxSNGaps = 4

// maxTaskSNACKs bounds the Data/R2T SNACKs sent for one task: data that
// keeps arriving corrupted drops the connection instead.
const maxTaskSNACKs = 16

// snRun is a run of sequence numbers [lo, lo+n).
type snRun struct{ lo, n uint32 }

// snGaps are the runs of sequence numbers a task asked for again and has
// not received yet.
type snGaps struct {
	runs [maxSNGaps]snRun
	n    int
}

// add records [lo, lo+n) as missing; false when there is no room.
func (g *snGaps) add(lo, n uint32) bool {
	if g.n == len(g.runs) {
		return false
	}
	g.runs[g.n] = snRun{lo, n}
	g.n++
	return true
}

// fill removes sn from the missing runs and reports whether it was
// missing.
func (g *snGaps) fill(sn uint32) bool {
	for i := 0; i < g.n; i++ {
		r := &g.runs[i]
		d := sn - r.lo
		if d >= r.n {
			continue
		}
		switch {
		case r.n == 1:
			g.n--
			g.runs[i] = g.runs[g.n]
		case d == 0:
			r.lo++
			r.n--
		case d == r.n-1:
			r.n--
		default:
			// Split the run around sn.
			if g.n == len(g.runs) {
				// No room: keep sn missing; the resend of it is
				// dropped and the SNACK timeout decides.
				return false
			}
			g.runs[g.n] = snRun{sn + 1, r.n - d - 1}
			g.n++
			r.n = d
		}
		return true
	}
	return false
}

// first returns the lowest missing sequence number, in serial
// arithmetic, and whether there is one.
func (g *snGaps) first() (uint32, bool) {
	if g.n == 0 {
		return 0, false
	}
	best := g.runs[0].lo
	for i := 1; i < g.n; i++ {
		if lo := g.runs[i].lo; pdu.SerialLess(lo, best) {
			best = lo
		}
	}
	return best, true
}

func (g *snGaps) reset() { g.n = 0 }

// errSNACKTimeout is why a connection is dropped when the PDUs a SNACK
// asked for did not come (RFC 7143 §7.2: the initiator then escalates to
// the recovery of a lower level).
var errSNACKTimeout = errors.New("SNACK unanswered")

// snackTimeout is Options.SNACKTimeout or its default.
func (s *Session) snackTimeout() time.Duration {
	if s.opts.SNACKTimeout > 0 {
		return s.opts.SNACKTimeout
	}
	return DefaultSNACKTimeout
}

// sendSNACK writes a SNACK Request (RFC 7143 §11.16) on c. itt is the
// task's tag for a Data/R2T SNACK and 0xffffffff for a Status SNACK or a
// DataACK (§11.16.4); ttt is the Target Transfer Tag of the acknowledged
// Data-In for a DataACK, else 0xffffffff (§11.16.5).
func (c *initiatorConn) sendSNACK(typ pdu.SNACKType, lun uint64, itt, ttt, begRun, runLength uint32) error {
	var h pdu.BHS
	sn := h.SNACKRequest()
	sn.Init()
	sn.SetType(typ)
	sn.SetLUN(lun)
	sn.SetInitiatorTaskTag(itt)
	sn.SetTargetTransferTag(ttt)
	sn.SetBegRun(begRun)
	sn.SetRunLength(runLength)
	return c.write(&h, nil, true)
}

// count adds one to the counter f picks, under s.mu.
func (s *Session) count(f func(*Stats) *uint64) {
	s.mu.Lock()
	*f(&s.stats)++
	s.mu.Unlock()
}

// taskSNACK asks for the Data-In (or, r2t, the R2Ts) [begRun,
// begRun+runLength) of t again with a Data/R2T SNACK (RFC 7143 §11.16.1,
// type 0) and arms the task's SNACK timeout. The caller holds t.bufMu.
func (s *Session) taskSNACK(c *initiatorConn, t *initiatorTask, r2t bool, begRun, runLength uint32) error {
	if t.snacks >= maxTaskSNACKs {
		// §7.2: the recovery within the connection is not converging;
		// the connection is dropped and recovered as at level 0.
		return fmt.Errorf("ITT 0x%08x: %d SNACKs without its data coming whole", t.itt, t.snacks)
	}
	t.snacks++
	if err := c.sendSNACK(pdu.SNACKDataR2T, t.cmd.LUN.Uint64(), t.itt, pdu.ReservedTag, begRun, runLength); err != nil {
		return err
	}
	s.mu.Lock()
	if r2t {
		s.stats.R2TSNACKs++
	} else {
		s.stats.DataSNACKs++
	}
	s.mu.Unlock()
	// One timer per task, made at its first SNACK and kept with the
	// pooled task; each SNACK pushes the deadline back.
	t.snackC = c
	if t.snackTimer == nil {
		t.snackTimer = time.AfterFunc(s.snackTimeout(), func() { s.taskSNACKExpired(t) })
	} else {
		t.snackTimer.Reset(s.snackTimeout())
	}
	return nil
}

// taskSNACKExpired drops the connection of t when t still misses PDUs its
// last SNACK asked for: the connection is recovered as at
// ErrorRecoveryLevel 0 (RFC 7143 §7.1.4.1, §7.2).
func (s *Session) taskSNACKExpired(t *initiatorTask) {
	t.bufMu.Lock()
	c, itt := t.snackC, t.itt
	missing := c != nil && (t.dataGaps.n > 0 || t.r2tGaps.n > 0) && s.registered(itt, t)
	t.bufMu.Unlock()
	if missing {
		s.logger().Warn("iscsi initiator: SNACK unanswered, dropping the connection", "itt", itt, "cid", c.cid)
		s.dropConn(c, errSNACKTimeout)
	}
}

// dropConn kills c for a SNACK unanswered, cause being the reason its
// read loop reports.
func (s *Session) dropConn(c *initiatorConn, cause error) {
	s.count(func(x *Stats) *uint64 { return &x.SNACKTimeouts })
	c.causeOnce.Do(func() { c.cause = cause })
	c.kill()
}

// How statSNERL1 takes a StatSN.
const (
	statusReceived = iota // a response that arrived whole
	statusPeek            // the next StatSN, of a NOP-In that does not advance it
	statusLost            // a response dropped for a data digest error
	statusHeld            // a response received whose task still misses Data-In
)

// statSNERL1 advances ExpStatSN past sn at ErrorRecoveryLevel 1 (RFC 7143
// §4.2.2.2, §7.2.2): a StatSN beyond the next expected one means the
// responses between were lost; they are asked for once with a Status SNACK
// (§11.16.1, type 1), and ExpStatSN stays at the first of them, so the
// target keeps them, until they come or Options.SNACKTimeout passes. A
// StatSN already received is a duplicate and changes nothing. A response
// dropped for a data digest error (mode statusLost) is asked for as well.
// The status of a task that still misses Data-In (mode statusHeld) is not
// acknowledged until the data is in, so the target keeps the Data-In for
// the SNACKs (§4.2.2.2: acknowledging a status acknowledges its data);
// it is acknowledged later with mode statusReceived.
// Only the read loop of c calls it.
func (s *Session) statSNERL1(c *initiatorConn, sn uint32, mode int) error {
	st := &c.stat
	exp := c.expStatSN.Load()
	if pdu.SerialLess(sn, exp) {
		return nil
	}
	if d := sn - exp; d >= statWindow {
		return fmt.Errorf("StatSN %d is %d beyond ExpStatSN %d", sn, d, exp)
	}
	begRun, end := st.next, sn
	if mode == statusLost {
		end = sn + 1
		if pdu.SerialLess(sn, st.next) {
			begRun = sn
		}
	}
	if pdu.SerialLess(begRun, end) {
		// §7.2.2: the responses [begRun, end) were lost.
		if err := c.sendSNACK(pdu.SNACKStatus, 0, pdu.ReservedTag, pdu.ReservedTag, begRun, end-begRun); err != nil {
			return err
		}
		s.count(func(x *Stats) *uint64 { return &x.StatusSNACKs })
		// One timer per connection; each Status SNACK pushes the
		// deadline back and the StatSN to wait for forward.
		c.statusUntil.Store(end)
		if st.timer == nil {
			st.timer = time.AfterFunc(s.snackTimeout(), func() { s.statusSNACKExpired(c) })
		} else {
			st.timer.Reset(s.snackTimeout())
		}
	}
	if pdu.SerialLessOrEqual(st.next, sn) {
		st.next = sn
		if mode != statusPeek {
			st.next++
		}
	}
	if mode != statusReceived {
		return nil
	}
	st.set(sn)
	for st.take(exp) {
		exp++
	}
	c.expStatSN.Store(exp)
	return nil
}

// statusSNACKExpired drops c when responses its Status SNACKs asked for
// are still missing (RFC 7143 §7.2.2).
func (s *Session) statusSNACKExpired(c *initiatorConn) {
	if exp, until := c.expStatSN.Load(), c.statusUntil.Load(); pdu.SerialLess(exp, until) {
		s.logger().Warn("iscsi initiator: Status SNACK unanswered, dropping the connection", "cid", c.cid, "expstatsn", exp, "until", until)
		s.dropConn(c, errSNACKTimeout)
	}
}

// statusLost asks again for the response of StatSN sn, dropped for a data
// digest error (RFC 7143 §7.8).
func (s *Session) statusLost(c *initiatorConn, sn uint32) error {
	return s.statSNERL1(c, sn, statusLost)
}

// statWindow is how far beyond ExpStatSN a StatSN may be while responses
// before it are missing; further, the connection is dropped.
const statWindow = 256

// statTracker is the StatSN state of a connection at ErrorRecoveryLevel 1:
// next is one past the highest StatSN received, and seen has the bit of
// sn mod statWindow set for each StatSN received beyond ExpStatSN.
type statTracker struct {
	next uint32
	seen [statWindow / 64]uint64
	// timer is the Status SNACK timeout (statusSNACKExpired), made at
	// the first Status SNACK and stopped when the read loop ends.
	timer *time.Timer
}

func (st *statTracker) set(sn uint32) {
	i := sn % statWindow
	st.seen[i/64] |= 1 << (i % 64)
}

// take clears the bit of sn and reports whether it was set.
func (st *statTracker) take(sn uint32) bool {
	i := sn % statWindow
	w, b := &st.seen[i/64], uint64(1)<<(i%64)
	set := *w&b != 0
	*w &^= b
	return set
}

// isDataDigest reports whether err is a data digest error (RFC 7143 §7.8),
// after which the PDU has been consumed and reading goes on.
func isDataDigest(err error) bool {
	var ce *pdu.ConnectionError
	return errors.Is(err, pdu.ErrDataDigest) && !errors.As(err, &ce)
}

// dataInERL1 receives a Data-In at ErrorRecoveryLevel 1 (RFC 7143 §7.2.1,
// §11.7): a DataSN beyond the next expected one asks for the ones between
// with a Data/R2T SNACK, a data digest error asks for the PDU itself, a
// resent PDU fills its gap, a duplicate is dropped; the data lands at its
// BufferOffset in the caller's buffer; the status, when it comes before
// the missing data, is held until the data is all in. The caller holds
// t.bufMu and has checked t is registered.
func (s *Session) dataInERL1(c *initiatorConn, t *initiatorTask, h *pdu.BHS) error {
	d := h.DataIn()
	itt, sn, off, dsl := d.InitiatorTaskTag(), d.DataSN(), d.BufferOffset(), h.DataSegmentLength()
	buf := t.cmd.DataIn
	if uint64(off)+uint64(dsl) > uint64(len(buf)) {
		return fmt.Errorf("Data-In at %d+%d beyond the %d-byte buffer of ITT 0x%08x", off, dsl, len(buf), itt)
	}
	switch {
	case sn == t.dataSN:
		t.dataSN++
	case pdu.SerialLess(t.dataSN, sn):
		// §7.2.1: the Data-In [dataSN, sn) were lost.
		if !t.dataGaps.add(t.dataSN, sn-t.dataSN) {
			return fmt.Errorf("ITT 0x%08x misses more than %d runs of Data-In", itt, maxSNGaps)
		}
		if err := s.taskSNACK(c, t, false, t.dataSN, sn-t.dataSN); err != nil {
			return err
		}
		t.dataSN = sn + 1
	case !t.dataGaps.fill(sn):
		// A Data-In received twice (the SNACK crossed it): the first
		// copy is in place.
		return c.r.DiscardData()
	}
	if err := c.r.ReadData(buf[off : off+dsl]); err != nil {
		if !isDataDigest(err) {
			return err
		}
		// §7.8, §7.2.1: the PDU is dropped and asked for again; its
		// header, digest-checked, is good (its status among it).
		s.count(func(x *Stats) *uint64 { return &x.DataDigestErrors })
		if !t.dataGaps.add(sn, 1) {
			return fmt.Errorf("ITT 0x%08x misses more than %d runs of Data-In", itt, maxSNGaps)
		}
		if err := s.taskSNACK(c, t, false, sn, 1); err != nil {
			return err
		}
	} else {
		t.recvd += int(dsl)
		if end := int(off + dsl); end > t.got {
			t.got = end
		}
		if d.Acknowledge() && !(t.acked && t.ackTTT == d.TargetTransferTag()) {
			t.ackTTT, t.ackLUN, t.ackWanted = d.TargetTransferTag(), d.LUN(), true
		}
	}
	if t.ackWanted && t.dataGaps.n == 0 {
		// §11.7.2, §11.16.1: a DataACK acknowledges every Data-In
		// before BegRun, so it waits until none is missing; once per
		// Target Transfer Tag (a resent Data-In has the A bit again).
		// A status received and acknowledged by ExpStatSN meanwhile
		// acknowledged the data with it (§4.2.2.2): the target has let
		// the task go and would reject the DataACK.
		if !t.held || !pdu.SerialLess(t.statSN, c.expStatSN.Load()) {
			if err := c.sendSNACK(pdu.SNACKDataACK, t.ackLUN, pdu.ReservedTag, t.ackTTT, t.dataSN, 0); err != nil {
				return err
			}
			s.count(func(x *Stats) *uint64 { return &x.DataACKs })
		}
		t.ackWanted, t.acked = false, true
	}
	if d.StatusPresent() && !t.held {
		if err := s.statSNERL1(c, d.StatSN(), statusHeld); err != nil {
			return err
		}
		t.setStatus(d)
		t.held, t.statSN = true, d.StatSN()
	}
	return s.completeHeld(c, t)
}

// completeHeld completes t once it has its status and all its data, and
// acknowledges the status then (RFC 7143 §4.2.2.2). A GOOD status with
// fewer bytes than the transfer length less the residual (§11.4.5) means
// data was lost unseen: the command fails rather than report data it does
// not have. The caller holds t.bufMu.
func (s *Session) completeHeld(c *initiatorConn, t *initiatorTask) error {
	if !t.held || t.dataGaps.n > 0 {
		return nil
	}
	if err := s.statSNERL1(c, t.statSN, statusReceived); err != nil {
		return err
	}
	var err error
	if want := len(t.cmd.DataIn); want > 0 && t.resp.Status == scsi.StatusGood {
		if t.resp.Underflow {
			want -= int(min(t.resp.ResidualCount, uint32(want)))
		}
		if t.recvd < want {
			err = &CommandError{ITT: t.itt, Err: fmt.Errorf("%w: %d of %d bytes of Data-In received", errDataPhase, t.recvd, want)}
		}
	}
	s.mu.Lock()
	s.completeITTLocked(t.itt, t, err)
	s.mu.Unlock()
	return nil
}

// r2tERL1 checks the R2TSN of an R2T at ErrorRecoveryLevel 1 (RFC 7143
// §7.2.1, §11.8.3): a gap asks for the R2Ts between with a Data/R2T
// SNACK; an R2T received again, or a recovery R2T for data already sent
// (§7.2.2, §11.8), is answered as any other. It reports whether the R2T
// is to be answered.
func (s *Session) r2tERL1(c *initiatorConn, t *initiatorTask, r *pdu.R2T) (bool, error) {
	sn := r.R2TSN()
	if t.r2tResync {
		// The first R2T after a TASK REASSIGN sets the R2TSN that
		// follows (RFC 7143 §7.2.2, initiator_reassign.go).
		t.r2tResync = false
		t.r2tSN = sn
	}
	switch {
	case sn == t.r2tSN:
		t.r2tSN++
	case pdu.SerialLess(t.r2tSN, sn):
		if !t.r2tGaps.add(t.r2tSN, sn-t.r2tSN) {
			return false, fmt.Errorf("ITT 0x%08x misses more than %d runs of R2Ts", t.itt, maxSNGaps)
		}
		if err := s.taskSNACK(c, t, true, t.r2tSN, sn-t.r2tSN); err != nil {
			return false, err
		}
		t.r2tSN = sn + 1
	default:
		t.r2tGaps.fill(sn)
	}
	return true, nil
}

// resetERL1 forgets the recovery state of a task issued again or
// released, its SNACK timeout stopped. The caller holds t.bufMu, which a
// timeout firing meanwhile waits for; it then finds nothing missing.
func (t *initiatorTask) resetERL1() {
	t.dataGaps.reset()
	t.r2tGaps.reset()
	t.r2tSN, t.recvd, t.held, t.snacks = 0, 0, false, 0
	t.r2tResync = false
	t.ackTTT, t.ackLUN, t.ackWanted, t.acked = 0, 0, false, false
	if t.snackTimer != nil {
		t.snackTimer.Stop()
	}
	t.snackC = nil
}

// maxInitiatorBadHeaders is the number of PDUs in a row with a header digest error
// after which the connection is dropped: the lengths of a corrupted header
// may have put the framing out of step (pdu.Reader.SetHeaderDigestRecovery).
const maxInitiatorBadHeaders = 3

// headerDigestError counts a PDU the Reader dropped for its header digest
// (RFC 7143 §7.8) and pings the target (§11.18) unless a probe is already
// out: the NOP-In's StatSN shows a response lost with the PDU, which a
// Status SNACK then asks for; Data-In and R2Ts lost show as gaps in the
// PDUs of their task that follow.
func (s *Session) headerDigestError(c *initiatorConn, e *pdu.HeaderDigestError) {
	s.count(func(x *Stats) *uint64 { return &x.HeaderDigestErrors })
	s.logger().Debug("iscsi initiator: PDU dropped for its header digest", "err", e, "cid", c.cid)
	if !c.probing.CompareAndSwap(false, true) {
		return
	}
	s.bg.Go(func() {
		defer c.probing.Store(false)
		s.ping(c, s.snackTimeout())
	})
}
