package session

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/go-iscsi/iscsi/login"
	"github.com/go-iscsi/iscsi/pdu"
	"github.com/go-iscsi/iscsi/scsi"
)

// This file holds the target's side of several connections per session
// (MC/S, RFC 7143 §4.2.2, §6.3.1, §6.3.4, §11.14): connections joining and
// leaving a session, the command order kept across them, and the task
// management functions and logouts that reach over them.

// errConnReinstated is the cause of a connection dropped because a login
// with the same CID replaced it (RFC 7143 §6.3.4).
var errConnReinstated = errors.New("session: connection reinstated by a new login with its CID")

// mcsState is what a session knows of its connections beyond the conns
// slice; guarded by session.mu.
type mcsState struct {
	// members counts the connections that keep the session alive: those
	// in full feature phase and the logins admitted to join it. The
	// session ends when the count drops to zero.
	members int
	// cids maps the CIDs in use to their connection, nil while the login
	// that claimed the CID is in progress.
	cids map[uint16]*conn
	// waiting are the connections whose reader holds a command ahead of
	// ExpCmdSN; each gets a token on its gapWake when ExpCmdSN advances or
	// a connection leaves, and looks again.
	waiting []*conn
	// early are the SCSI Commands received ahead of ExpCmdSN, by CmdSN
	// (cmdorder.go); gapTimer watches the gap before them, which stood
	// at gapExp when it last looked.
	early    map[uint32]earlyCmd
	gapTimer *time.Timer
	gapExp   uint32
	// ready is closed once the leading login has set the session's
	// parameters and first ExpCmdSN (session.attach), or the session
	// ended without them: a login adding a connection waits for it.
	ready chan struct{}
}

// readyLocked closes ready, once.
func (m *mcsState) readyLocked() {
	if m.ready != nil {
		select {
		case <-m.ready:
		default:
			close(m.ready)
		}
	}
}

// join counts a login admitted to the session under cid.
func (m *mcsState) join(cid uint16) {
	if m.cids == nil {
		m.cids = make(map[uint16]*conn)
	}
	m.cids[cid] = nil
	m.members++
}

// wakeLocked wakes the readers waiting for ExpCmdSN to move.
func (m *mcsState) wakeLocked() {
	for i, c := range m.waiting {
		select {
		case c.gapWake <- struct{}{}:
		default:
		}
		m.waiting[i] = nil
	}
	m.waiting = m.waiting[:0]
}

// AddConnection implements login.SessionRegistry for a login naming an open
// session (RFC 7143 §6.3.1: a nonzero TSIH). The session must be one of the
// same initiator port and target (else 0x020a Session does not exist,
// §11.13.5), not be ending, and have room under its negotiated
// MaxConnections (§13.2; else 0x0206 Too many connections). A session at
// ErrorRecoveryLevel 2 whose last connection failed waits for one within
// Time2Wait plus Time2Retain (reassign.go). A CID in use is connection
// reinstatement (§6.3.4): the old connection is logged out implicitly; at
// ErrorRecoveryLevel below 2 all its active tasks are ended without
// further notice to the initiator, at 2 they wait for a TASK REASSIGN; the
// login waits until the old connection has ended, and the session lives on
// with the new connection.
func (r *loginRegistry) AddConnection(key login.SessionKey, tsih uint16, cid uint16) (login.SessionParams, error) {
	r.srv.mu.Lock()
	sess := r.srv.sessions[tsih]
	r.srv.mu.Unlock()
	if sess == nil || sess.target == nil ||
		sess.nexus.InitiatorPort != scsi.ISCSIInitiatorPortName(key.InitiatorName, key.ISID) ||
		sess.targetName != key.TargetName {
		return login.SessionParams{}, login.ErrSessionNotFound
	}
	// The initiator may start this login as soon as it has the final
	// Login Response of the leading one, before the session is set up.
	sess.mu.Lock()
	ready := sess.mcs.ready
	sess.mu.Unlock()
	if ready != nil {
		<-ready
	}
	sess.mu.Lock()
	if sess.closing || sess.mcs.members == 0 && !sess.rec.dormant {
		sess.mu.Unlock()
		return login.SessionParams{}, fmt.Errorf("%w: the session is ending", login.ErrSessionNotFound)
	}
	old, inUse := sess.mcs.cids[cid]
	switch {
	case inUse && old == nil:
		// Another login claims the CID right now.
		sess.mu.Unlock()
		return login.SessionParams{}, fmt.Errorf("%w: CID %d is logging in on another connection", login.ErrCantIncludeInSession, cid)
	case !inUse && uint32(sess.mcs.members) >= max(sess.params.MaxConnections, 1):
		sess.mu.Unlock()
		return login.SessionParams{}, fmt.Errorf("%w: %d connections (MaxConnections %d)", login.ErrTooManyConnections, sess.mcs.members, sess.params.MaxConnections)
	}
	sess.mcs.join(cid)
	params := sess.params
	sess.mu.Unlock()
	r.joined, r.cid = sess, cid
	if old != nil {
		r.srv.log.Info("connection reinstatement", "tsih", tsih, "cid", cid)
		if !sess.erl2() {
			old.abortTasks(func(*task) bool { return true }, nil)
		}
		// At ErrorRecoveryLevel 2 the old connection's tasks are kept
		// for reassignment to the new one (§6.3.4, reassign.go).
		old.drop(errConnReinstated)
		<-old.gone
	}
	return params, nil
}

// CmdSNWindow implements login.SessionWindow: the Login Responses of a
// connection joining a session carry the session's ExpCmdSN and MaxCmdSN
// (RFC 7143 §4.2.2.1).
func (r *loginRegistry) CmdSNWindow(tsih uint16) (expCmdSN, maxCmdSN uint32, ok bool) {
	if r.joined == nil || r.joined.tsih != tsih {
		return 0, 0, false
	}
	expCmdSN, maxCmdSN = r.joined.cmdWindow()
	return expCmdSN, maxCmdSN, true
}

// leave ends connection c's part in its session (c is nil for a login that
// failed after it was admitted under cid); with the last connection the
// session ends, and with it the I_T nexus (SAM-5 §6.3.4; RFC 7143 §6.3.5:
// session closure).
func (s *Server) leave(sess *session, c *conn, cid uint16) {
	sess.mu.Lock()
	if c != nil {
		for i, x := range sess.conns {
			if x == c {
				sess.conns = append(sess.conns[:i], sess.conns[i+1:]...)
				break
			}
		}
	}
	if cur, ok := sess.mcs.cids[cid]; ok && cur == c {
		delete(sess.mcs.cids, cid)
	}
	if c != nil {
		sess.dropEarlyLocked(c)
	}
	sess.mcs.members--
	last := sess.mcs.members <= 0
	kept := c != nil && c.keepTasks()
	dormant := false
	if last && !sess.closing && sess.erl2() && sess.retention() > 0 && (kept || c == nil && sess.rec.dormant) {
		// RFC 7143 §7.1.4.3: at ErrorRecoveryLevel 2 the session
		// outlives its last connection's failure, for a new connection
		// to take over its tasks within Time2Wait plus Time2Retain.
		sess.rec.dormant = true
		dormant = true
	} else if last {
		sess.closing = true
		sess.rec.dormant = false
		sess.mcs.readyLocked()
	}
	sess.mcs.wakeLocked()
	sess.mu.Unlock()
	if c != nil {
		close(c.gone)
	}
	if kept || dormant {
		s.scheduleExpiry(sess)
	}
	if !last || dormant {
		return
	}
	s.retire(sess)
}

// retire removes a session that has ended from the Server and ends its
// I_T nexus.
func (s *Server) retire(sess *session) {
	s.registry.RemoveConnection(sess.tsih, sess.cid)
	s.mu.Lock()
	if s.sessions[sess.tsih] == sess {
		delete(s.sessions, sess.tsih)
	}
	s.mu.Unlock()
	sess.mu.Lock()
	if sess.mcs.gapTimer != nil {
		// No connection is left to hold a command behind a gap.
		sess.mcs.gapTimer.Stop()
		sess.mcs.gapTimer = nil
	}
	sess.mu.Unlock()
	sess.end()
	s.async.sessionClosed()
}

// lastConn reports whether c is the only connection of its session.
func (s *session) lastConn(c *conn) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.mcs.members <= 1
}

// otherConns returns the connections of the session other than c.
func (s *session) otherConns(c *conn) []*conn {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]*conn, 0, len(s.conns))
	for _, x := range s.conns {
		if x != c {
			out = append(out, x)
		}
	}
	return out
}

// abortTasks aborts the matching tasks of every connection of the session
// (a task set is the session's, RFC 7143 §11.5.1), as conn.abortTasks does
// for one, and returns how many it aborted.
func (s *session) abortTasks(match func(*task) bool, wg *sync.WaitGroup) int {
	s.mu.Lock()
	conns := append([]*conn(nil), s.conns...)
	s.mu.Unlock()
	n := 0
	for _, c := range conns {
		n += c.abortTasks(match, wg)
	}
	// Tasks waiting for reassignment at ErrorRecoveryLevel 2 are the
	// session's as well (reassign.go).
	return n + s.abortOrphans(match)
}

// closeOthers ends the connections of the session other than c, for a
// Logout that closes the session (RFC 7143 §11.14.1: reason 0 closes all
// its connections; §11.14: their pending commands end with no response),
// and returns when they are gone. No connection joins afterwards.
func (s *session) closeOthers(c *conn) {
	s.mu.Lock()
	s.closing = true
	s.mu.Unlock()
	for _, x := range s.otherConns(c) {
		x.abortTasks(func(*task) bool { return true }, nil)
		x.drop(errLoggedOut)
		<-x.gone
	}
}

// closeConnection ends connection cid of the session for a Logout naming
// it from another connection (RFC 7143 §11.14.1, reason 1), once its tasks
// have ended without response (§11.14), and returns the Logout Response
// code (§11.15.1): "CID not found" when no connection of the session has
// that CID.
func (s *session) closeConnection(cid uint16) pdu.LogoutResponseCode {
	s.mu.Lock()
	x := s.mcs.cids[cid]
	s.mu.Unlock()
	if x == nil {
		return pdu.LogoutCIDNotFound
	}
	x.abortTasks(func(*task) bool { return true }, nil)
	x.drop(errLoggedOut)
	<-x.gone
	return pdu.LogoutClosedSuccessfully
}

// awaitCmdSN holds a request whose CmdSN is inside the command window but
// ahead of ExpCmdSN until the commands before it have been delivered: RFC
// 7143 §4.2.2.1 orders commands per session, so on a session of several
// connections they may arrive over another connection after this one. It
// returns (true, nil) once the request is delivered in order, false for a
// request that has fallen outside the window, and a *CmdSNError when the
// gap cannot be filled: the session has (or is left with) this one
// connection, on which commands arrive in order (at ErrorRecoveryLevel 0 a
// lost command is not recovered within the session, §7.1.5), or the gap
// stays open longer than Limits.DataOutTimeout (30 seconds when that is
// disabled).
func (c *conn) awaitCmdSN(h *pdu.BHS, cmdSN uint32) (bool, error) {
	s := c.sess
	limit := c.srv.limits.gapTimeout()
	var timeout <-chan time.Time
	for {
		s.mu.Lock()
		exp := s.expCmdSN
		v, ready := s.admitLocked(cmdSN)
		switch v {
		case cmdAccept:
			s.mu.Unlock()
			startDelivered(ready)
			return true, nil
		case cmdIgnore:
			s.mu.Unlock()
			c.log.Debug("request outside the command window ignored", "opcode", h.Opcode().String(), "cmdsn", cmdSN)
			return false, nil
		}
		if s.mcs.members <= 1 || s.closing {
			s.mu.Unlock()
			return false, &CmdSNError{Opcode: h.Opcode(), CmdSN: cmdSN, ExpCmdSN: exp}
		}
		if c.gapWake == nil {
			c.gapWake = make(chan struct{}, 1)
		}
		s.mcs.waiting = append(s.mcs.waiting, c)
		s.mu.Unlock()
		if timeout == nil {
			if hook := c.srv.onCmdSNWait; hook != nil {
				hook(cmdSN)
			}
			// One timer per connection, reused: on a session of
			// several connections commands often arrive out of order.
			if c.gapTimer == nil {
				c.gapTimer = time.NewTimer(limit)
			} else {
				c.gapTimer.Reset(limit)
			}
			defer c.gapTimer.Stop()
			timeout = c.gapTimer.C
		}
		select {
		case <-c.gapWake:
		case <-c.ctx.Done():
			return false, context.Cause(c.ctx)
		case <-timeout:
			c.log.Info("CmdSN gap not filled in time", "cmdsn", cmdSN, "expcmdsn", exp, "timeout", limit)
			return false, &CmdSNError{Opcode: h.Opcode(), CmdSN: cmdSN, ExpCmdSN: exp}
		}
	}
}

// taskOrder applies the task attributes of SAM-5 §8.6 to the tasks of a
// session, whatever connection they came on (RFC 7143 §4.2.2.1: ordering
// is per session; the task set is the I_T nexus's): a HEAD OF QUEUE task
// starts at once; a SIMPLE (or untagged, or ACA) task waits for the
// ORDERED tasks before it; an ORDERED task waits for every task before it.
// Lock order: conn.mu, then taskOrder.mu.
type taskOrder struct {
	mu sync.Mutex
	// active counts the tasks started and not ended; orderedActive says
	// one of them is ORDERED; held are the tasks waiting, in CmdSN order.
	active        int
	orderedActive bool
	held          []*task
}

// admit reports whether t may start now, counting it as started; if not,
// t is held until release lets it start.
func (o *taskOrder) admit(t *task) bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	var ok bool
	switch t.attr {
	case pdu.TaskHeadOfQueue:
		ok = true
	case pdu.TaskOrdered:
		ok = !o.orderedActive && o.active == 0 && len(o.held) == 0
	default:
		ok = !o.orderedActive && len(o.held) == 0
	}
	if !ok {
		o.held = append(o.held, t)
		return false
	}
	o.dispatchLocked(t)
	return true
}

func (o *taskOrder) dispatchLocked(t *task) {
	o.active++
	if t.attr == pdu.TaskOrdered {
		o.orderedActive = true
	}
}

// release ends t's part in the ordering and starts the held tasks that may
// now run: the first is returned as next, any others as extra. They may be
// of any connection of the session.
func (o *taskOrder) release(t *task) (next *task, extra []*task) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if t.unheld {
		return nil, nil
	}
	o.active--
	if t.attr == pdu.TaskOrdered {
		o.orderedActive = false
	}
	for len(o.held) > 0 {
		h := o.held[0]
		if o.orderedActive || h.attr == pdu.TaskOrdered && o.active > 0 {
			break
		}
		o.held = append(o.held[:0], o.held[1:]...)
		o.dispatchLocked(h)
		if next == nil {
			next = h
		} else {
			extra = append(extra, h)
		}
	}
	return next, extra
}

// takeHeld removes the first held task of connection c, for a connection
// that is closing to end it without running it; nil when c has none. The
// task takes no part in the ordering any more: the tasks held behind it
// start at the next release, which the task that holds them back brings.
func (o *taskOrder) takeHeld(c *conn) *task {
	o.mu.Lock()
	defer o.mu.Unlock()
	for i, h := range o.held {
		if h.c == c {
			o.held = append(o.held[:i], o.held[i+1:]...)
			h.unheld = true
			return h
		}
	}
	return nil
}
