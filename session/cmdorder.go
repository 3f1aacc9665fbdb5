package session

import (
	"time"

	"github.com/go-iscsi/iscsi/pdu"
)

// Commands ahead of ExpCmdSN (RFC 7143 §3.2.2.1, §4.2.2.1). The target
// delivers non-immediate commands to the SCSI layer in CmdSN order across
// all the connections of a session. A SCSI Command that arrives with a
// CmdSN inside the command window but ahead of ExpCmdSN is not waited for
// on the connection's reader: its immediate and unsolicited data are taken
// in, its R2Ts sent, but it starts only once the commands before it have
// arrived (on another connection of the session, or as a retry of a lost
// command, §6.2.1). The reader meanwhile goes on reading, so the immediate
// requests that follow on the same connection (a Logout removing a failed
// connection for recovery, a TASK REASSIGN, a NOP-Out) are answered, and
// the missing command itself can arrive after it. Such a command is not
// acknowledged: ExpCmdSN stays below it, and when its connection ends it
// is discarded (§11.14.1: requests not yet acknowledged via ExpCmdSN), so
// that the initiator can issue it again. A gap left open longer than
// Limits.DataOutTimeout ends the connections holding commands behind it
// with a *CmdSNError.

// earlyCmd is a SCSI Command received ahead of ExpCmdSN: its connection,
// and its task once it has one (nil for a command rejected or ended
// before its turn, which still takes its place in the sequence).
type earlyCmd struct {
	c *conn
	t *task
}

// The states of task.deferState.
const (
	deferNone    uint32 = iota // delivered in order: starts when its data is in
	deferWaiting               // ahead of ExpCmdSN, data still arriving
	deferReady                 // ahead of ExpCmdSN, data in: the delivery starts it
)

// admitCommand applies the command window to the SCSI Command h like
// admit, but defers one ahead of ExpCmdSN when the session can still fill
// the gap: it has several connections, or runs at ErrorRecoveryLevel 1 or
// 2, where the initiator retries a lost command (RFC 7143 §6.2.1). It
// reports whether to process the command, and whether it was deferred.
func (c *conn) admitCommand(h *pdu.BHS) (ok, early bool, err error) {
	cmdSN, imm, _ := carriesCmdSN(h)
	if imm {
		return true, false, nil
	}
	s := c.sess
	s.mu.Lock()
	switch v, ready := s.admitLocked(cmdSN); v {
	case cmdAccept:
		s.mu.Unlock()
		startDelivered(ready)
		return true, false, nil
	case cmdIgnore:
		s.mu.Unlock()
		c.log.Debug("request outside the command window ignored", "opcode", h.Opcode().String(), "cmdsn", cmdSN)
		return false, false, nil
	}
	if _, dup := s.mcs.early[cmdSN]; dup {
		// A retry of a command already here (RFC 7143 §6.2.1).
		s.mu.Unlock()
		c.log.Debug("command received again ahead of ExpCmdSN ignored", "cmdsn", cmdSN)
		return false, false, nil
	}
	if s.closing || s.mcs.members <= 1 && !c.erl1 {
		s.mu.Unlock()
		ok, err := c.awaitCmdSN(h, cmdSN)
		return ok, false, err
	}
	if s.mcs.early == nil {
		s.mcs.early = make(map[uint32]earlyCmd)
	}
	s.mcs.early[cmdSN] = earlyCmd{c: c}
	s.armGapTimerLocked()
	s.mu.Unlock()
	if hook := c.srv.onCmdSNWait; hook != nil {
		hook(cmdSN)
	}
	return true, true, nil
}

// deferTask makes t, the task of a command admitCommand deferred, wait
// for its turn; a command whose turn came meanwhile starts as any other.
func (s *session) deferTask(t *task) {
	t.deferState.Store(deferWaiting)
	s.mu.Lock()
	if e, ok := s.mcs.early[t.cmdSN]; ok && e.c == t.c && e.t == nil {
		e.t = t
		s.mcs.early[t.cmdSN] = e
	} else {
		t.deferState.Store(deferNone)
	}
	s.mu.Unlock()
}

// deliverLocked advances ExpCmdSN past a command delivered in order and
// past the commands received ahead of it that follow on, and returns the
// tasks among those whose data is in, to start in CmdSN order.
func (s *session) deliverLocked() (ready []*task) {
	s.expCmdSN++
	for len(s.mcs.early) > 0 {
		e, ok := s.mcs.early[s.expCmdSN]
		if !ok {
			break
		}
		delete(s.mcs.early, s.expCmdSN)
		s.expCmdSN++
		if t := e.t; t != nil && !t.deferState.CompareAndSwap(deferWaiting, deferNone) {
			// deferReady: its data is in, and its reader left it to us.
			t.deferState.Store(deferNone)
			ready = append(ready, t)
		}
	}
	s.mcs.wakeLocked()
	return ready
}

// startDelivered starts tasks a delivery made ready, in order.
func startDelivered(ready []*task) {
	for _, t := range ready {
		t.c.start(t, false)
	}
}

// startInOrder starts t, whose data is in, now if it has been delivered
// in CmdSN order, or leaves it to the delivery that reaches its CmdSN.
func (c *conn) startInOrder(t *task) {
	if t.deferState.Load() == deferNone || !t.deferState.CompareAndSwap(deferWaiting, deferReady) {
		c.start(t, true)
	}
}

// forgetEarly marks the CmdSN of t, a deferred task that ends before its
// turn, as received with nothing to start.
func (t *task) forgetEarly() {
	s := t.c.sess
	s.mu.Lock()
	if e, ok := s.mcs.early[t.cmdSN]; ok && e.t == t {
		e.t = nil
		s.mcs.early[t.cmdSN] = e
	}
	s.mu.Unlock()
}

// dropEarlyLocked discards the commands connection c holds ahead of
// ExpCmdSN, as its connection ends: they were never acknowledged (RFC 7143
// §11.14.1), and the initiator may issue them again.
func (s *session) dropEarlyLocked(c *conn) {
	for sn, e := range s.mcs.early {
		if e.c == c {
			delete(s.mcs.early, sn)
		}
	}
}

// armGapTimerLocked starts the watch on the CmdSN gap, if none runs.
func (s *session) armGapTimerLocked() {
	if s.mcs.gapTimer != nil {
		return
	}
	limit := s.srv.limits.gapTimeout()
	s.mcs.gapExp = s.expCmdSN
	s.mcs.gapTimer = time.AfterFunc(limit, func() { s.gapExpired(limit) })
}

// gapExpired ends the connections that hold commands behind a CmdSN gap
// that did not move for limit.
func (s *session) gapExpired(limit time.Duration) {
	s.mu.Lock()
	switch {
	case s.mcs.gapTimer == nil:
		// Stopped: the session ended.
		s.mu.Unlock()
		return
	case len(s.mcs.early) == 0:
		s.mcs.gapTimer = nil
		s.mu.Unlock()
		return
	case s.expCmdSN != s.mcs.gapExp:
		s.mcs.gapExp = s.expCmdSN
		s.mcs.gapTimer.Reset(limit)
		s.mu.Unlock()
		return
	}
	s.mcs.gapTimer = nil
	exp := s.expCmdSN
	var drop []*conn
	first := map[*conn]uint32{}
	for sn, e := range s.mcs.early {
		if f, seen := first[e.c]; !seen || pdu.SerialLess(sn, f) {
			if !seen {
				drop = append(drop, e.c)
			}
			first[e.c] = sn
		}
	}
	s.mu.Unlock()
	for _, c := range drop {
		c.log.Info("CmdSN gap not filled in time", "cmdsn", first[c], "expcmdsn", exp, "timeout", limit)
		c.drop(&CmdSNError{Opcode: pdu.OpSCSICommand, CmdSN: first[c], ExpCmdSN: exp})
	}
}
