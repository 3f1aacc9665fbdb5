package session

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/go-iscsi/iscsi/login"
	"github.com/go-iscsi/iscsi/pdu"
)

// ErrorRecoveryLevel 2 on the initiator side (RFC 7143 §7.1.4.3
// connection recovery, §7.2.2 allegiance reassignment). When a connection
// of a session at level 2 fails, it is taken out of service and its CID
// logged in again with the session's ISID and TSIH (connection
// reinstatement, §6.3.4), which makes the target end the old connection
// and keep its tasks. Each command that had allegiance to it is then moved
// to the new connection with a TASK REASSIGN (§11.5.1, ExpDataSN 0: all of
// its Data-In again): a READ gets its Data-In and status again, a WRITE
// new R2Ts for the data the target lacks. A command the target does not
// know (its SCSI Command PDU was lost with the connection) is issued again
// on the new connection with its ITT and CmdSN, which fills the gap it
// left in the CmdSN sequence (§3.2.2.1); any other answer fails it. When
// no login succeeds within Time2Wait plus Time2Retain the session is
// recovered as at level 0 (Options.Recovery).
//
// With another connection in full feature phase (and
// RecoverOnOtherConnection) the failed connection is instead logged out on
// it with reason code 2 (§11.14.1; a Logout for a CID may go on another
// connection once the TCP connection of the CID has ended), and after the
// Time2Wait of the response (§11.15.3) its commands are reassigned to that
// connection in the same way (§7.2.2: the logout must complete before the
// reassignment); a new connection then takes the failed one's place.

// recoverConnLocked starts the recovery of the failed connection c alone
// (RFC 7143 §7.1.4.3) and runs it. It is called with s.mu held and
// unlocks it.
func (s *Session) recoverConnLocked(c *initiatorConn, lost error) {
	if i := slices.Index(s.conns, c); i >= 0 {
		s.conns = slices.Delete(s.conns, i, i+1)
	}
	if s.c == c && len(s.conns) > 0 {
		s.c = s.conns[0]
	}
	if len(s.conns) == 0 && s.mcs.rejoin == nil {
		s.mcs.rejoin = make(chan struct{})
	}
	// The CID stays taken, and the login counts against MaxConnections.
	if s.mcs.cids == nil {
		s.mcs.cids = make(map[uint16]bool)
	}
	s.mcs.cids[c.cid] = true
	s.mcs.joining++
	if s.mcs.settled == nil {
		s.mcs.settled = make(chan struct{})
	}
	s.mcs.reassigning++
	defer s.settle()
	var moved []*initiatorTask
	for itt, t := range s.tasks {
		if t.c != c {
			continue
		}
		if t.kind != kindSCSI {
			s.completeITTLocked(itt, t, lost)
			continue
		}
		moved = append(moved, t)
	}
	// In CmdSN order, so that a command issued again keeps its place.
	sortByCmdSN(moved)
	wait := time.Duration(s.res.Session.DefaultTime2Wait) * time.Second
	retain := time.Duration(s.res.Session.DefaultTime2Retain) * time.Second
	if s.waitSet {
		wait, retain, s.waitSet = s.wait, s.retain, false
	}
	retain = max(retain, minTime2Retain)
	j := loginJoin{tsih: s.res.TSIH, cid: c.cid, erl: s.res.Session.ErrorRecoveryLevel}
	var oc *initiatorConn
	if s.opts.ConnectionRecovery == RecoverOnOtherConnection {
		oc = s.leastLoadedLocked()
	}
	s.mu.Unlock()
	s.logger().Info("iscsi initiator: recovering connection", "cid", c.cid, "tasks", len(moved))
	if oc != nil && s.recoverOnOther(c, oc, moved, lost) {
		return
	}

	nc, err := s.relogin(j, wait, retain)

	s.mu.Lock()
	s.mcs.joining--
	if err == nil && (s.state != stateUp || s.res.TSIH != j.tsih) {
		nc.kill()
		err = fmt.Errorf("%w: the session ended during the login", ErrConnectionLost)
	}
	if err != nil {
		if s.state != stateUp {
			// Closed, or reinstated by the failure of another
			// connection: the commands were dealt with there.
			s.mu.Unlock()
			return
		}
		delete(s.mcs.cids, c.cid)
		s.logger().Warn("iscsi initiator: connection recovery failed, reinstating the session", "cid", c.cid, "err", err)
		s.reinstateLocked(c, lost)
		return
	}
	close(nc.ready)
	s.conns = append(s.conns, nc)
	if len(s.conns) == 1 {
		s.c = nc
	}
	s.stats.ConnectionsRecovered++
	// The commands move to nc before the target is asked for anything
	// about them: their Data-In and R2Ts come on it after the TASK
	// REASSIGN, and its failure finds them.
	for _, t := range moved {
		if s.tasks[t.itt] == t && t.c == c {
			s.bindLocked(t, nc)
		}
	}
	s.rejoinedLocked()
	s.loops.Add(1)
	s.mu.Unlock()
	s.logger().Info("iscsi initiator: connection reinstated", "cid", nc.cid)
	s.start(nc)
	for _, t := range moved {
		if !s.reassign(nc, t, lost) {
			break
		}
	}
}

// leastLoadedLocked returns the connection in full feature phase, not
// being logged out, with the fewest commands outstanding; nil if none.
func (s *Session) leastLoadedLocked() *initiatorConn {
	var best *initiatorConn
	for _, x := range s.conns {
		if !x.draining && (best == nil || x.load < best.load) {
			best = x
		}
	}
	return best
}

// recoverOnOther recovers the failed connection c onto oc, another
// connection of the session (RFC 7143 §7.2.2): a Logout on oc removes c
// for recovery (§11.14.1, reason 2), and after its Time2Wait (§11.15.3)
// the commands of c move to oc with TASK REASSIGN; a new connection is
// then logged in in place of c. It reports false, having changed nothing,
// when the target does not log c out, for the caller to reinstate c.
func (s *Session) recoverOnOther(c, oc *initiatorConn, moved []*initiatorTask, lost error) bool {
	ctx, cancel := context.WithTimeout(context.Background(), s.loginTimeout())
	code, t2w, err := s.logoutForRecovery(ctx, oc, c.cid)
	cancel()
	if err == nil && code == pdu.LogoutCIDNotFound {
		// RFC 7143 §11.15.1: the target holds nothing of the CID any
		// more (it kept none of its tasks: those it never acknowledged
		// are discarded, §11.14.1); the reassignments below find out
		// which commands it lacks.
		code, t2w = pdu.LogoutClosedSuccessfully, 0
	}
	if err != nil || code != pdu.LogoutClosedSuccessfully {
		s.logger().Warn("iscsi initiator: logout for recovery refused, reinstating the connection",
			"cid", c.cid, "on_cid", oc.cid, "response", code, "err", err)
		return false
	}
	wait := time.Duration(t2w) * time.Second
	waitCtx, stop := s.untilClosed(wait + time.Second)
	sleepCtx(waitCtx, wait)
	stop()

	s.mu.Lock()
	s.stats.RecoveryLogouts++
	// The target holds nothing of c's CID any more: it is free, and no
	// longer counts against MaxConnections.
	s.mcs.joining--
	delete(s.mcs.cids, c.cid)
	if s.state != stateUp {
		// Closed, or reinstated by the failure of another connection:
		// the commands were dealt with there.
		s.mu.Unlock()
		return true
	}
	if !s.hasConnLocked(oc) {
		// oc failed meanwhile: the commands go to whatever connection
		// the session has, or wait for one.
		oc = s.leastLoadedLocked()
	}
	if oc == nil {
		s.logger().Warn("iscsi initiator: no connection left to reassign to, reinstating the session", "cid", c.cid)
		s.reinstateLocked(c, lost)
		return true
	}
	s.stats.ConnectionsRecovered++
	for _, t := range moved {
		if s.tasks[t.itt] == t && t.c == c {
			s.bindLocked(t, oc)
		}
	}
	s.mu.Unlock()
	s.logger().Info("iscsi initiator: connection logged out for recovery", "cid", c.cid, "on_cid", oc.cid, "time2wait", t2w)
	for _, t := range moved {
		if !s.reassign(oc, t, lost) {
			break
		}
	}
	// A new connection in place of c (RFC 7143 §6.3.1: a new CID,
	// maybe c's own, now free).
	s.bg.Go(func() {
		ctx, cancel := s.untilClosed(2 * s.loginTimeout())
		defer cancel()
		if err := s.openConnections(ctx, stateUp); err != nil {
			s.logger().Warn("iscsi initiator: no connection in place of the one recovered", "cid", c.cid, "err", err)
		}
	})
	return true
}

// logoutForRecovery sends on oc a Logout removing connection cid for
// recovery (RFC 7143 §11.14.1, reason code 2) and returns the response
// code and its Time2Wait (§11.15.1, §11.15.3).
func (s *Session) logoutForRecovery(ctx context.Context, oc *initiatorConn, cid uint16) (pdu.LogoutResponseCode, uint16, error) {
	t, err := s.newTask(kindLogout, nil, 0, 0)
	if err != nil {
		return 0, 0, err
	}
	defer s.release(t)
	t.recoveryLogout = true
	if err := s.sendLogout(ctx, t, oc, pdu.LogoutRemoveConnectionForRecovery, cid); err != nil {
		return 0, 0, err
	}
	select {
	case <-t.done:
		return t.logout, t.time2Wait, t.err
	case <-ctx.Done():
		// An unanswered logout leaves oc untrusted (RFC 7143 §7.1.1).
		oc.kill()
		return 0, 0, ctx.Err()
	}
}

// settle ends the hold on new commands of a connection recovery.
func (s *Session) settle() {
	s.mu.Lock()
	s.mcs.reassigning--
	if s.mcs.reassigning == 0 && s.mcs.settled != nil {
		close(s.mcs.settled)
		s.mcs.settled = nil
	}
	s.mu.Unlock()
}

// rejoinedLocked wakes the commands waiting for a connection of the
// session.
func (s *Session) rejoinedLocked() {
	if s.mcs.rejoin != nil {
		close(s.mcs.rejoin)
		s.mcs.rejoin = nil
	}
}

// relogin logs in connection j.cid of session j.tsih again (RFC 7143
// §6.3.4) after wait, retrying with a growing backoff until wait plus
// retain have passed.
func (s *Session) relogin(j loginJoin, wait, retain time.Duration) (*initiatorConn, error) {
	ctx, cancel := s.untilClosed(wait + retain)
	defer cancel()
	if !sleepCtx(ctx, wait) {
		return nil, ctx.Err()
	}
	backoff := minRedialBackoff
	for {
		s.mu.Lock()
		s.stats.ReconnectAttempts++
		opts := s.opts
		j.cmdSN = s.cmdSN
		s.mu.Unlock()
		c, _, err := loginOnce(ctx, s.addr, &opts, login.SessionNormal, j)
		if err == nil {
			return c, nil
		}
		s.logger().Warn("iscsi initiator: connection reinstatement login failed", "cid", j.cid, "err", err)
		var le *LoginError
		if errors.As(err, &le) && le.Status.Class() == 2 || !sleepCtx(ctx, backoff) {
			return nil, err
		}
		backoff = min(2*backoff, maxRedialBackoff)
	}
}

// reassign moves command t to the reinstated connection nc (RFC 7143
// §7.2.2) and reports whether the recovery goes on with the next one; on
// a failure of nc its own recovery takes the commands over.
func (s *Session) reassign(nc *initiatorConn, t *initiatorTask, lost error) bool {
	t.bufMu.Lock()
	s.mu.Lock()
	itt := t.itt
	if s.tasks[itt] != t || t.c != nc {
		// Completed meanwhile (abandoned), or moved on again.
		s.mu.Unlock()
		t.bufMu.Unlock()
		return true
	}
	lun, sn := t.cmd.LUN, t.cmdSN
	// ExpDataSN 0: the target sends all the Data-In again.
	t.dataSN, t.got = 0, 0
	t.resetERL1()
	t.r2tResync = true
	t.resp = Response{}
	t.sense = t.sense[:0]
	for len(t.r2t) > 0 {
		<-t.r2t
	}
	s.mu.Unlock()
	t.bufMu.Unlock()

	ctx, cancel := context.WithTimeout(context.Background(), s.loginTimeout())
	code, err := s.taskManagementOn(ctx, pdu.TMFTaskReassign, lun, itt, sn, 0, nc)
	cancel()
	if err != nil {
		// An unanswered TASK REASSIGN leaves nc untrusted (RFC 7143
		// §7.1.1); its recovery reassigns the commands again.
		s.logger().Warn("iscsi initiator: TASK REASSIGN failed", "itt", itt, "err", err)
		nc.kill()
		return false
	}
	switch code {
	case pdu.TMFResponseFunctionComplete:
		s.mu.Lock()
		s.stats.TasksReassigned++
		s.mu.Unlock()
		return true
	case pdu.TMFResponseTaskDoesNotExist:
		// A command the target never acknowledged (its CmdSN not below
		// the ExpCmdSN it sent) is sent again; one it acknowledged and
		// then lost would be ignored as outside the window (§4.2.2.1),
		// so it fails.
		s.mu.Lock()
		acked := pdu.SerialLess(t.cmdSN, s.expCmdSN)
		s.mu.Unlock()
		if t.src.replayable() && !acked {
			return s.retrySameSN(nc, t, sn)
		}
	}
	s.logger().Warn("iscsi initiator: command not reassigned", "itt", itt, "response", code)
	t.bufMu.Lock()
	s.mu.Lock()
	if s.tasks[itt] == t {
		s.stats.CommandsFailed++
		s.completeITTLocked(itt, t, &CommandError{ITT: itt, Err: fmt.Errorf("%w (TASK REASSIGN: %v)", lost, code)})
	}
	s.mu.Unlock()
	t.bufMu.Unlock()
	return true
}

// retrySameSN issues command t, which the target never received, again
// on nc with its ITT and CmdSN (a retry, RFC 7143 §6.2.1), and its
// unsolicited data.
func (s *Session) retrySameSN(nc *initiatorConn, t *initiatorTask, sn uint32) bool {
	t.bufMu.Lock()
	defer t.bufMu.Unlock()
	s.mu.Lock()
	if s.tasks[t.itt] != t || t.c != nc || t.cmdSN != sn {
		// Completed meanwhile, and maybe reused for another command.
		s.mu.Unlock()
		return true
	}
	t.tries++
	s.stats.CommandsRetried++
	s.mu.Unlock()
	if err := s.rereadImmediate(t); err != nil {
		s.failTask(t, err)
		return true
	}
	err := nc.writeCommand(t)
	if err == nil && t.unsolicited > len(t.immediate) {
		err = s.sendData(nc, t, pdu.ReservedTag, uint32(len(t.immediate)), uint32(t.unsolicited-len(t.immediate)))
	}
	if err != nil {
		nc.kill()
		return false
	}
	return true
}
