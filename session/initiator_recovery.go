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

// RecoveryError ends a session whose reinstatement failed: no login
// succeeded within DefaultTime2Retain after DefaultTime2Wait (RFC 7143
// §6.3.5, §13.15, §13.16), or the target refused it for good (a login
// status of class 2, initiator error). It wraps ErrConnectionLost and
// the error of the last login.
type RecoveryError struct {
	// Attempts is the number of logins tried.
	Attempts int
	// Err is the error of the last one.
	Err error
}

// Error says why the reinstatement failed.
func (e *RecoveryError) Error() string {
	return fmt.Sprintf("iscsi: session reinstatement failed after %d logins: %v", e.Attempts, e.Err)
}

// Unwrap returns ErrConnectionLost and the last login's error.
func (e *RecoveryError) Unwrap() []error { return []error{ErrConnectionLost, e.Err} }

// Redial backoff: the first retry of a failed login waits minRedialBackoff,
// each next one twice as long up to maxRedialBackoff.
const (
	minRedialBackoff = 25 * time.Millisecond
	maxRedialBackoff = 2 * time.Second
)

// minTime2Retain is the least time a recovery keeps trying: with a
// DefaultTime2Retain of 0 there is still room for one login.
const minTime2Retain = time.Second

// connEnded runs in the read loop of c once it has stopped reading: the
// session recovers (RFC 7143 §7.1.4.3: at ErrorRecoveryLevel 0 a
// connection failure is recovered by session reinstatement) or ends.
func (s *Session) connEnded(c *initiatorConn, cause error) {
	<-c.ready
	s.mu.Lock()
	if !s.hasConnLocked(c) || s.state == stateClosed {
		// A connection logged out on its own (RFC 7143 §11.14.1), or
		// one a recovery already dropped.
		s.mu.Unlock()
		return
	}
	if s.mcs.logoutOn != nil && s.mcs.logoutOn != c || s.state == stateRecovering {
		// RFC 7143 §11.14.1: a Logout closing the session closes its
		// other connections; the one it went on brings the answer. Or
		// a connection added by a recovery under way failed before the
		// session took commands again: it carries none.
		s.connLoggedOutLocked(c)
		s.mu.Unlock()
		return
	}
	lost := fmt.Errorf("%w: %v", ErrConnectionLost, cause)
	s.logger().Warn("iscsi initiator: connection failed", "err", cause)
	if s.mcs.logoutOn == c {
		// The connection a Logout closing the session went on failed
		// before the answer (RFC 7143 §11.14): the session ends as the
		// Logout meant it to, not by a reinstatement; the Logout learns
		// that its connection was lost, other callers that it closed.
		for itt, t := range s.tasks {
			if t.kind == kindLogout {
				s.completeITTLocked(itt, t, lost)
			}
		}
		s.closeLocked(ErrClosed)
		s.mu.Unlock()
		return
	}
	if s.opts.Recovery == RecoveryNone || s.logoutAsked || s.res.Session.SessionType != login.SessionNormal {
		s.closeLocked(lost)
		s.mu.Unlock()
		return
	}
	if s.res.Session.ErrorRecoveryLevel >= 2 && s.state == stateUp {
		// RFC 7143 §7.1.4.3: at ErrorRecoveryLevel 2 the connection
		// alone is recovered (initiator_reassign.go).
		s.recoverConnLocked(c, lost)
		return
	}
	s.reinstateLocked(c, lost)
}

// reinstateLocked starts the recovery of the session by reinstatement
// after the failure of its connection c (RFC 7143 §6.3.5), deciding the
// fate of the unfinished commands by Options.Recovery, and runs it. It is
// called with s.mu held and unlocks it.
func (s *Session) reinstateLocked(c *initiatorConn, lost error) {
	if s.state == stateRecovering {
		close(s.up)
	}
	s.state = stateRecovering
	s.up = make(chan struct{})
	s.rejoinedLocked()
	// RFC 7143 §7.1.4.3, §6.3.5: at ErrorRecoveryLevel 0 the loss of
	// any connection is recovered by reinstating the session, which ends
	// all its connections and their tasks.
	others := s.conns
	s.conns = nil
	for _, x := range others {
		if x != c {
			x.kill()
		}
	}
	close(s.window)
	s.window = make(chan struct{})
	limit := s.opts.RetryLimit
	if limit <= 0 {
		limit = DefaultRetryLimit
	}
	for itt, t := range s.tasks {
		if t.c == nil {
			// Not issued yet: it waits for the session to be up.
			continue
		}
		if t.kind != kindSCSI {
			s.completeITTLocked(itt, t, lost)
			continue
		}
		if s.opts.Recovery == RecoveryRetry && t.src.replayable() && t.tries < limit {
			t.retry = true
			continue
		}
		s.stats.CommandsFailed++
		s.completeITTLocked(itt, t, &CommandError{ITT: itt, Err: lost})
	}
	wait := time.Duration(s.res.Session.DefaultTime2Wait) * time.Second
	retain := time.Duration(s.res.Session.DefaultTime2Retain) * time.Second
	if s.waitSet {
		wait, retain, s.waitSet = s.wait, s.retain, false
	}
	retain = max(retain, minTime2Retain)
	s.mu.Unlock()
	s.recover(wait, retain)
}

// recover reinstates the session (RFC 7143 §6.3.5): after Time2Wait it
// logs in with the same ISID, InitiatorName and TargetName and TSIH 0,
// which makes the target end the old session, retrying with a growing
// backoff until Time2Retain has passed.
func (s *Session) recover(wait, retain time.Duration) {
	ctx, cancel := s.untilClosed(wait + retain)
	defer cancel()
	if !sleepCtx(ctx, wait) {
		s.giveUp(&RecoveryError{Err: fmt.Errorf("closed while waiting Time2Wait: %w", ctx.Err())})
		return
	}
	backoff := minRedialBackoff
	for attempt := 1; ; attempt++ {
		s.mu.Lock()
		s.stats.ReconnectAttempts++
		opts := s.opts
		s.mu.Unlock()
		c, res, err := connect(ctx, s.addr, &opts, login.SessionNormal)
		if err == nil {
			s.install(c, res)
			return
		}
		s.logger().Warn("iscsi initiator: reinstatement login failed", "attempt", attempt, "err", err)
		var le *LoginError
		if errors.As(err, &le) && le.Status.Class() == 2 || !sleepCtx(ctx, backoff) {
			s.giveUp(&RecoveryError{Attempts: attempt, Err: err})
			return
		}
		backoff = min(2*backoff, maxRedialBackoff)
	}
}

// untilClosed returns a context that ends after d, or when the session
// closes.
func (s *Session) untilClosed(d time.Duration) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	go func() {
		select {
		case <-s.closing:
			cancel()
		case <-ctx.Done():
		}
	}()
	return ctx, cancel
}

// sleepCtx waits d or until ctx is done, and reports whether d passed.
func sleepCtx(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return ctx.Err() == nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// giveUp ends a session whose recovery failed.
func (s *Session) giveUp(err error) {
	s.mu.Lock()
	s.closeLocked(err)
	s.mu.Unlock()
}

// install makes c, just logged in, the session's connection, issues the
// commands to retry on it in their old CmdSN order, and opens the session
// to new commands.
func (s *Session) install(c *initiatorConn, res *login.Result) {
	s.mu.Lock()
	if s.state == stateClosed {
		s.mu.Unlock()
		c.kill()
		close(c.ready)
		return
	}
	s.c, s.res = c, res
	s.conns = []*initiatorConn{c}
	s.mcs.cids, s.mcs.logoutOn = nil, nil
	s.cmdSN, s.expCmdSN, s.maxCmdSN = res.CmdSN, res.ExpCmdSN, res.MaxCmdSN
	close(s.window)
	s.window = make(chan struct{})
	s.stats.Reinstatements++
	var retry []*initiatorTask
	for _, t := range s.tasks {
		if t.retry {
			retry = append(retry, t)
		}
	}
	// Sorted under the lock: with several connections, a reader of one
	// that is going may still complete (and release) a task to retry.
	sortByCmdSN(retry)
	s.mu.Unlock()
	s.logger().Info("iscsi initiator: session reinstated", "tsih", res.TSIH, "retrying", len(retry))
	s.loops.Add(1)
	s.start(c)
	s.seqMu.Lock()
	for _, t := range retry {
		s.reissue(c, t)
	}
	s.seqMu.Unlock()
	// The reinstated session gets its other connections back (RFC 7143
	// §6.3.1: logins with the new TSIH) before new commands go on it.
	ctx, cancel := s.untilClosed(s.loginTimeout())
	if err := s.openConnections(ctx, stateRecovering); err != nil {
		s.logger().Warn("iscsi initiator: reinstated session runs with fewer connections", "err", err)
	}
	cancel()
	s.mu.Lock()
	if s.state == stateRecovering {
		s.state = stateUp
		close(s.up)
	}
	s.mu.Unlock()
	close(c.ready)
}

// loginTimeout is Options.LoginTimeout or its default.
func (s *Session) loginTimeout() time.Duration {
	if s.opts.LoginTimeout > 0 {
		return s.opts.LoginTimeout
	}
	return DefaultLoginTimeout
}

// reissue sends a command again on the reinstated session's connection c
// with a new CmdSN, its data state reset. s.seqMu is held.
func (s *Session) reissue(c *initiatorConn, t *initiatorTask) {
	t.bufMu.Lock()
	defer t.bufMu.Unlock()
	s.mu.Lock()
	itt := t.itt
	if s.tasks[itt] != t || !t.retry {
		s.mu.Unlock()
		return
	}
	t.retry = false
	s.bindLocked(t, c)
	t.tries++
	s.stats.CommandsRetried++
	for !pdu.SerialLessOrEqual(s.cmdSN, s.maxCmdSN) {
		w := s.window
		s.windowWanted = true
		s.mu.Unlock()
		select {
		case <-w:
		case <-c.dead:
			return
		case <-s.closing:
			return
		}
		s.mu.Lock()
		if s.tasks[itt] != t {
			s.mu.Unlock()
			return
		}
	}
	sn := s.cmdSN
	s.cmdSN++
	t.cmdSN = sn
	t.dataSN, t.got = 0, 0
	t.resetERL1()
	t.resp = Response{}
	t.sense = t.sense[:0]
	for len(t.r2t) > 0 {
		<-t.r2t
	}
	s.mu.Unlock()
	t.hdr.SCSICommand().SetCmdSN(sn)
	if err := s.rereadImmediate(t); err != nil {
		s.failTask(t, err)
		return
	}
	if err := c.writeCommand(t); err != nil {
		c.kill()
		return
	}
	if t.unsolicited > len(t.immediate) {
		if err := s.sendData(c, t, pdu.ReservedTag, uint32(len(t.immediate)), uint32(t.unsolicited-len(t.immediate))); err != nil {
			c.kill()
		}
	}
}

// closeLocked ends the session with err: every outstanding task fails, a
// recovery in progress stops. Called with s.mu held.
func (s *Session) closeLocked(err error) {
	if s.state == stateClosed {
		return
	}
	if s.state == stateRecovering {
		close(s.up)
	}
	s.state = stateClosed
	s.err = err
	s.rejoinedLocked()
	for itt, t := range s.tasks {
		if t.kind == kindSCSI && t.issued {
			if errors.Is(err, ErrConnectionLost) {
				s.stats.CommandsFailed++
			}
			s.completeITTLocked(itt, t, &CommandError{ITT: itt, Err: err})
			continue
		}
		s.completeITTLocked(itt, t, err)
	}
	close(s.window)
	s.window = make(chan struct{})
	s.c.kill()
	for _, c := range s.conns {
		c.kill()
	}
}

// keepAlive pings the target over c after each NOPInterval without a PDU
// from it (RFC 7143 §11.18) and drops the connection when a ping goes
// unanswered for NOPTimeout.
func (s *Session) keepAlive(c *initiatorConn) {
	interval := s.opts.NOPInterval
	timeout := s.opts.NOPTimeout
	if timeout <= 0 {
		timeout = interval
	}
	timer := time.NewTimer(interval)
	defer timer.Stop()
	for {
		select {
		case <-timer.C:
		case <-c.dead:
			return
		case <-s.closing:
			return
		}
		if idle := time.Since(time.Unix(0, c.lastRecv.Load())); idle < interval {
			timer.Reset(interval - idle)
			continue
		}
		if !s.ping(c, timeout) {
			return
		}
		timer.Reset(interval)
	}
}

// ping sends one NOP-Out ping on c, ITT from the task table and TTT
// 0xffffffff (RFC 7143 §11.18.2, §11.18.3), as an immediate PDU, and
// waits for its NOP-In. It reports whether the keep-alive goes on.
func (s *Session) ping(c *initiatorConn, timeout time.Duration) bool {
	t, err := s.newTask(kindNOP, nil, 0, 0)
	if err != nil {
		return false
	}
	defer s.release(t)
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	var h pdu.BHS
	no := h.NOPOut()
	no.Init()
	no.SetImmediate(true)
	no.SetInitiatorTaskTag(t.itt)
	no.SetTargetTransferTag(pdu.ReservedTag)
	// RFC 7143 §11.18: each connection is kept alive on its own.
	_, sn, err := s.reserveOn(ctx, true, t, c)
	if err != nil {
		return false
	}
	no.SetCmdSN(sn)
	err = c.write(&h, nil, true)
	s.seqMu.Unlock()
	if err != nil {
		c.kill()
		return false
	}
	select {
	case <-t.done:
		return t.err == nil
	case <-c.dead:
		return false
	case <-ctx.Done():
		s.mu.Lock()
		s.stats.NOPTimeouts++
		s.mu.Unlock()
		s.logger().Warn("iscsi initiator: NOP-Out ping unanswered", "timeout", timeout)
		c.kill()
		return false
	}
}

// requestedLogout logs out as the target asked with AsyncEvent 1 (RFC
// 7143 §11.9.1): once the commands in flight have ended, or three
// quarters of the allowed time have passed, whichever comes first.
func (s *Session) requestedLogout(within time.Duration) {
	deadline := time.Now().Add(within)
	s.mu.Lock()
	var idle chan struct{}
	if s.inflight > 0 {
		s.idle = make(chan struct{})
		idle = s.idle
	}
	s.mu.Unlock()
	if idle != nil {
		t := time.NewTimer(within * 3 / 4)
		select {
		case <-idle:
		case <-t.C:
		case <-s.closing:
		}
		t.Stop()
	}
	if soon := time.Now().Add(time.Second); deadline.Before(soon) {
		deadline = soon
	}
	ctx, cancel := context.WithDeadline(context.Background(), deadline)
	defer cancel()
	if err := s.Logout(ctx); err != nil {
		s.logger().Warn("iscsi initiator: requested logout failed", "err", err)
	}
}

// renegotiate answers AsyncEvent 4 (RFC 7143 §11.9.1) with a Text Request
// in full feature phase (§11.10) that declares again the operational keys
// negotiable there; the read loop applies the answer (applyTextAnswer).
func (s *Session) renegotiate(c *initiatorConn, within time.Duration) {
	ctx, cancel := context.WithTimeout(context.Background(), max(within, DefaultLoginTimeout))
	defer cancel()
	t, err := s.newTask(kindText, nil, 0, 0)
	if err != nil {
		return
	}
	defer s.release(t)
	var h pdu.BHS
	tr := h.TextRequest()
	tr.Init()
	tr.SetFinal(true)
	tr.SetInitiatorTaskTag(t.itt)
	tr.SetTargetTransferTag(pdu.ReservedTag)
	data := login.AppendText(nil, s.operationalDeclarations()...)
	// The renegotiation is of c's own keys; a connection that is gone
	// negotiated nothing more (a new one negotiates at its login).
	_, sn, err := s.reserveOn(ctx, false, t, c)
	if err != nil {
		return
	}
	tr.SetCmdSN(sn)
	err = c.write(&h, data, true)
	s.seqMu.Unlock()
	if err != nil {
		c.kill()
		return
	}
	select {
	case <-t.done:
	case <-ctx.Done():
		s.failTask(t, ctx.Err())
	}
	if t.err != nil {
		s.logger().Warn("iscsi initiator: renegotiation failed", "err", t.err)
		return
	}
}

// applyTextAnswer takes MaxRecvDataSegmentLength from the text a target
// answered a renegotiation with, when it declares it (RFC 7143 §13.12).
// The read loop calls it before it reads the next PDU.
func (s *Session) applyTextAnswer(c *initiatorConn, text []byte) {
	pairs, err := login.ParseText(text)
	if err != nil {
		s.logger().Warn("iscsi initiator: renegotiation answer", "err", err)
		return
	}
	for _, p := range pairs {
		if p.Key != "MaxRecvDataSegmentLength" {
			continue
		}
		// RFC 7143 §13.12: 512 to 2^24-1.
		n, err := login.ParseNumber(p.Value)
		if err != nil || n < 512 || n > 1<<24-1 {
			s.logger().Warn("iscsi initiator: renegotiated MaxRecvDataSegmentLength out of range", "value", p.Value)
			continue
		}
		c.maxXmit.Store(uint32(n))
		s.mu.Lock()
		if s.c == c {
			res := *s.res
			res.Conn.MaxXmitDataSegmentLength = uint32(n)
			s.res = &res
		}
		s.mu.Unlock()
		s.logger().Info("iscsi initiator: renegotiated", "MaxXmitDataSegmentLength", n)
	}
}

// sortByCmdSN puts tasks in CmdSN order, in serial number arithmetic
// (RFC 7143 §4.2.2.1, RFC 1982).
func sortByCmdSN(ts []*initiatorTask) {
	slices.SortFunc(ts, func(a, b *initiatorTask) int {
		switch {
		case a.cmdSN == b.cmdSN:
			return 0
		case pdu.SerialLess(a.cmdSN, b.cmdSN):
			return -1
		}
		return 1
	})
}

// watchLost retries, at ErrorRecoveryLevel 1 and 2, the command of c that
// the target did not receive (RFC 7143 §6.2.1): the one at the target's
// ExpCmdSN when ExpCmdSN has stood at it for Options.RetryTimeout and
// still does after a ping on c. The ping goes on the command's own
// connection, after the command, so its answer shows whether the target
// read it; a command the target has is never sent twice.
func (s *Session) watchLost(c *initiatorConn) {
	limit := s.opts.RetryTimeout
	if limit <= 0 {
		limit = DefaultRetryTimeout
	}
	tick := time.NewTicker(limit / 4)
	defer tick.Stop()
	var watched *initiatorTask
	var watchedSN uint32
	var since time.Time
	for {
		select {
		case <-tick.C:
		case <-c.dead:
			return
		case <-s.closing:
			return
		}
		// t is only compared once s.mu is released: the task may
		// complete and be reused meanwhile.
		s.mu.Lock()
		t := s.unacknowledgedLocked(c)
		var sn uint32
		if t != nil {
			sn = t.cmdSN
		}
		s.mu.Unlock()
		switch {
		case t == nil:
			watched = nil
			continue
		case t != watched || sn != watchedSN:
			watched, watchedSN, since = t, sn, time.Now()
			continue
		case time.Since(since) < limit:
			continue
		}
		// A target slow to answer is not taken for a dead one sooner
		// than a keep-alive or a SNACK would take it.
		if !s.ping(c, max(limit, s.opts.NOPTimeout, DefaultSNACKTimeout)) {
			return
		}
		watched = nil
		s.mu.Lock()
		lost := s.unacknowledgedLocked(c) == t && t.cmdSN == watchedSN && t.src.replayable()
		var itt uint32
		if lost {
			s.stats.LostCommandsRetried++
			itt = t.itt
		}
		s.mu.Unlock()
		if lost {
			s.logger().Info("iscsi initiator: command not received by the target, sent again", "cid", c.cid, "itt", itt, "cmdsn", watchedSN)
			if !s.retrySameSN(c, t, watchedSN) {
				return
			}
		}
	}
}

// unacknowledgedLocked returns the SCSI command on c whose CmdSN is the
// ExpCmdSN the target last sent, if any: the command the target is
// waiting for.
func (s *Session) unacknowledgedLocked(c *initiatorConn) *initiatorTask {
	if s.state != stateUp {
		return nil
	}
	for _, t := range s.tasks {
		if t.kind == kindSCSI && t.c == c && t.issued && t.cmdSN == s.expCmdSN {
			return t
		}
	}
	return nil
}
