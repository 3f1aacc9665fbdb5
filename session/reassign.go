package session

import (
	"context"
	"errors"
	"io"
	"time"

	"github.com/go-iscsi/iscsi/login"
	"github.com/go-iscsi/iscsi/pdu"
	"github.com/go-iscsi/iscsi/scsi"
)

// ErrorRecoveryLevel 2 on the target side (RFC 7143 §7.1.4.3 connection
// recovery, §7.2.2 allegiance reassignment, §13.20). When a connection of
// a session at level 2 fails (its TCP connection ends, a digest or framing
// error ends it, a NOP-In or Data-Out timeout drops it), is removed for
// recovery by a Logout with reason code 2 (§11.14.1), or is reinstated by
// a login with its CID (§6.3.4), its tasks are not aborted: they lose
// their connection allegiance and wait, for DefaultTime2Wait plus
// DefaultTime2Retain (§13.15, §13.16), for a TASK REASSIGN (§11.5.1) on a
// connection of the session to take them over, and are discarded after
// that. A session whose last connection failed so lives on, without
// connections, for as long, so that the initiator can log in again with
// its TSIH.

// errRecoveryLogout is the cause of a connection removed for recovery by
// a Logout with reason code 2 (RFC 7143 §11.14.1).
var errRecoveryLogout = errors.New("session: connection removed for recovery")

// recoveryState is the part of a session at ErrorRecoveryLevel 2 that
// outlives its connections; guarded by session.mu.
type recoveryState struct {
	// orphans are the tasks whose connection is gone, by Initiator Task
	// Tag, waiting for a TASK REASSIGN.
	orphans map[uint32]*task
	// gen numbers the expiries scheduled; each orphan carries the one
	// that discards it (0 until one is scheduled).
	gen uint64
	// dormant says the session's last connection failed and the session
	// waits for a new one within Time2Wait plus Time2Retain.
	dormant bool
	// over says the session ended: a task orphaned afterwards is
	// discarded at once.
	over bool
}

// erl2 reports whether the session runs at ErrorRecoveryLevel 2.
func (s *session) erl2() bool {
	return s.params.ErrorRecoveryLevel >= 2 && s.params.SessionType == login.SessionNormal
}

// retention returns how long the tasks of a failed connection are kept
// for reassignment (RFC 7143 §13.16: DefaultTime2Retain after the initial
// wait of DefaultTime2Wait, §13.15; a Time2Retain of 0 keeps nothing).
func (s *session) retention() time.Duration {
	if s.params.DefaultTime2Retain == 0 {
		return 0
	}
	return time.Duration(s.params.DefaultTime2Wait+s.params.DefaultTime2Retain) * time.Second
}

// keepTasks reports whether the tasks of the ended connection c are kept
// for reassignment: at ErrorRecoveryLevel 2, for a connection that failed,
// was removed for recovery or was reinstated, but not one closed by a
// Logout (reason 0 or 1), by the target closing its session or shutting
// down, or by the cancellation of ServeConn's context.
func (c *conn) keepTasks() bool {
	if !c.erl2 {
		return false
	}
	switch cause := context.Cause(c.ctx); {
	case cause == nil, cause == errLoggedOut, cause == ErrSessionClosed,
		cause == ErrServerShutdown, cause == ErrSessionDropped, errors.Is(cause, context.Canceled):
		return false
	case cause == errRecoveryLogout, cause == errConnReinstated, errors.Is(cause, io.EOF):
		return true
	}
	down, _ := c.srv.async.shuttingDown()
	return !down
}

// orphan keeps t, whose connection is ending, for a TASK REASSIGN; a task
// of a session that has ended, or with a DefaultTime2Retain of 0 (RFC 7143
// §13.16: no reassignment), is discarded at once.
func (c *conn) orphan(t *task) {
	s := c.sess
	s.mu.Lock()
	// A command still ahead of ExpCmdSN was never acknowledged: it is
	// discarded with its connection (RFC 7143 §11.14.1), and the
	// initiator issues it again.
	if s.rec.over || s.closing || s.retention() == 0 || t.deferState.Load() != deferNone {
		s.mu.Unlock()
		c.srv.discard(t)
		return
	}
	if s.rec.orphans == nil {
		s.rec.orphans = make(map[uint32]*task)
	}
	old := s.rec.orphans[t.itt]
	t.orphanGen = 0
	t.orphanCID = c.cid
	s.rec.orphans[t.itt] = t
	s.mu.Unlock()
	if old != nil && old != t {
		c.srv.discard(old)
	}
}

// discard drops an orphaned task: a command that never ran is not run, a
// response never acknowledged is not sent.
func (s *Server) discard(t *task) {
	s.stats.tasksDiscarded.Add(1)
	t.dropLU()
	t.release()
}

// keepForReassign orphans, once the connection's goroutines have stopped,
// its tasks still collecting Data-Out, the completed tasks whose response
// the writer did not send, and those whose response it sent and the
// initiator did not acknowledge (RFC 7143 §7.2.2: the initiator reassigns
// every task whose status it lacks).
func (c *conn) keepForReassign() {
	c.mu.Lock()
	var collecting []*task
	for itt, t := range c.tasks {
		if t.state == taskCollecting && !t.aborted {
			delete(c.tasks, itt)
			collecting = append(collecting, t)
		}
	}
	c.mu.Unlock()
	for _, t := range collecting {
		c.orphan(t)
	}
	for {
		select {
		case o := <-c.out:
			c.queued.Add(-1)
			if o.kind == outTask {
				c.orphan(o.task)
			}
			continue
		default:
		}
		break
	}
	// The responses the initiator acknowledged (RFC 7143 §4.2.2.2) are
	// not kept.
	c.pruneRetained()
	for i := c.head; i < len(c.ring); i++ {
		e := &c.ring[i]
		if t := e.t; t != nil {
			e.t = nil
			c.orphan(t)
		}
	}
	c.srv.stats.connectionsRecovered.Add(1)
}

// scheduleExpiry gives the orphans not yet scheduled the expiry it
// schedules after the session's retention (RFC 7143 §13.16), which also
// ends a session left without connections.
func (s *Server) scheduleExpiry(sess *session) {
	sess.mu.Lock()
	sess.rec.gen++
	gen := sess.rec.gen
	for _, t := range sess.rec.orphans {
		if t.orphanGen == 0 {
			t.orphanGen = gen
		}
	}
	d := sess.retention()
	sess.mu.Unlock()
	if d <= 0 {
		s.expire(sess, gen)
		return
	}
	time.AfterFunc(d, func() { s.expire(sess, gen) })
}

// expire discards the orphans of expiry gen and those before it, and ends
// the session if it is still without connections since the latest one.
func (s *Server) expire(sess *session, gen uint64) {
	sess.mu.Lock()
	var drop []*task
	for itt, t := range sess.rec.orphans {
		if t.orphanGen != 0 && t.orphanGen <= gen {
			delete(sess.rec.orphans, itt)
			drop = append(drop, t)
		}
	}
	end := sess.rec.dormant && sess.mcs.members == 0 && gen == sess.rec.gen && !sess.closing
	if end {
		sess.closing = true
		sess.rec.dormant = false
		sess.mcs.readyLocked()
	}
	sess.mu.Unlock()
	for _, t := range drop {
		s.discard(t)
	}
	if end {
		s.log.Info("session without connections ended after Time2Retain", "tsih", sess.tsih)
		s.retire(sess)
	}
}

// endDormantLocked marks a session without connections that waits for
// one as closing and reports whether it did so: the caller retires it.
func (s *session) endDormantLocked() bool {
	if !s.rec.dormant || s.mcs.members != 0 {
		return false
	}
	s.rec.dormant = false
	s.closing = true
	s.mcs.readyLocked()
	return true
}

// dropOrphansLocked ends the session's part in recovery: its orphans are
// returned to be discarded, and later ones are discarded at once.
func (s *session) dropOrphansLocked() []*task {
	s.rec.over = true
	var out []*task
	for itt, t := range s.rec.orphans {
		delete(s.rec.orphans, itt)
		out = append(out, t)
	}
	return out
}

// abortOrphans discards the orphans matching a task management function
// (ABORT TASK, ABORT TASK SET, CLEAR TASK SET) and returns how many.
func (s *session) abortOrphans(match func(*task) bool) int {
	s.mu.Lock()
	var drop []*task
	for itt, t := range s.rec.orphans {
		if match(t) {
			delete(s.rec.orphans, itt)
			drop = append(drop, t)
		}
	}
	s.mu.Unlock()
	for _, t := range drop {
		s.srv.discard(t)
	}
	return len(drop)
}

// hasOrphansOf reports whether tasks of connection cid wait for
// reassignment.
func (s *session) hasOrphansOf(cid uint16) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, t := range s.rec.orphans {
		if t.orphanCID == cid {
			return true
		}
	}
	return false
}

// awaitEnding waits until the connections of the session other than c
// that are closing have left it, so that their tasks are orphaned.
func (s *session) awaitEnding(c *conn) {
	for _, x := range s.otherConns(c) {
		if x.ctx.Err() != nil {
			<-x.gone
		}
	}
}

// allegiant reports whether a live connection of the session holds a task
// with Initiator Task Tag itt.
func (s *session) allegiant(itt uint32) bool {
	s.mu.Lock()
	conns := append([]*conn(nil), s.conns...)
	s.mu.Unlock()
	for _, x := range conns {
		x.mu.Lock()
		t := x.tasks[itt]
		x.mu.Unlock()
		if t != nil && !t.aborted {
			return true
		}
	}
	return false
}

// reassign performs TASK REASSIGN (RFC 7143 §11.5.1, §7.2.2) at
// ErrorRecoveryLevel 2: the task with the Referenced Task Tag, whose
// connection was logged out for recovery, reinstated or found failed, is
// made allegiant to this connection. The Task Management Function
// Response comes first (§11.5.1: it is issued before the reassignment
// becomes effective); then a READ gets its Data-In again from the
// request's ExpDataSN (0: all of it) and its status with a new StatSN of
// this connection, a command whose status was produced gets that status,
// and a WRITE still collecting Data-Out gets R2Ts for all the data not yet
// received (§7.2.2). A task still allegiant to a live connection is
// answered "Task still allegiant" (§11.6.1), an unknown one "Task does not
// exist".
func (c *conn) reassign(h *pdu.BHS) error {
	tm := h.TaskManagementRequest()
	ref := tm.ReferencedTaskTag()
	s := c.sess
	s.awaitEnding(c)
	s.mu.Lock()
	t := s.rec.orphans[ref]
	if t != nil {
		delete(s.rec.orphans, ref)
	}
	s.mu.Unlock()
	code := pdu.TMFResponseFunctionComplete
	if t == nil {
		code = pdu.TMFResponseTaskDoesNotExist
		if s.allegiant(ref) {
			code = pdu.TMFResponseTaskStillAllegiant
		}
	} else {
		c.mu.Lock()
		if old, busy := c.tasks[ref]; busy && !old.aborted {
			c.mu.Unlock()
			c.orphan(t)
			code = pdu.TMFResponseTaskStillAllegiant
			t = nil
		} else {
			t.c = c
			if t.state == taskCollecting {
				c.tasks[ref] = t
			}
			c.mu.Unlock()
		}
	}
	if t != nil && t.state != taskCollecting && t.dataDropped && pdu.SerialLess(tm.ExpDataSN(), t.dataSNs) && !c.regenerate(t) {
		// The initiator lacks Data-In the target did not retain
		// (keepStatus) and cannot read again: the task fails at the
		// initiator as one not kept.
		c.log.Debug("task reassign: Data-In not retained", "itt", ref, "opcode", scsi.OpCode(t.cdb[0]).String())
		c.srv.discard(t)
		t = nil
		code = pdu.TMFResponseTaskDoesNotExist
	}
	o := outPDU{kind: outStatus}
	r := o.h.TaskManagementResponse()
	r.Init()
	r.SetInitiatorTaskTag(tm.InitiatorTaskTag())
	r.SetResponse(code)
	c.log.Debug("task reassign", "itt", ref, "response", code.String())
	if !c.send(&o) || t == nil {
		if t != nil {
			c.orphan(t)
		}
		return nil
	}
	c.srv.stats.tasksReassigned.Add(1)
	if t.state == taskCollecting {
		c.resumeDataOut(t)
		return c.advance(t)
	}
	t.resendFrom = tm.ExpDataSN()
	if !c.send(&outPDU{kind: outTask, task: t}) {
		c.orphan(t)
	}
	return nil
}

// regenerate reads again, for a reassigned task whose Data-In was sent
// but not retained (keepStatus), the Data-In the initiator may lack (RFC
// 7143 §7.2.2: after a reassignment the target sends the Data-In not
// acknowledged): the command runs once more on its logical unit, on the
// reader goroutine, before the Task Management Function Response. Only
// READ(6/10/12/16) are run again: they read the medium and change
// nothing (SBC-4 READ(10) §5.15, READ(16) §5.17, and their 6- and 12-byte
// forms), whereas other commands with Data-In may
// (REQUEST SENSE clears the sense data, REPORT LUNS a unit attention, a
// vendor command anything). The logical unit must be the one that ran it,
// still at its LUN, and the outcome the first one's: the same status and
// as many bytes; else it reports false. A block written since, by a later
// command, reads as it is now, and a unit attention the logical unit
// reports to the second run is taken by it (the task is then not found).
func (c *conn) regenerate(t *task) bool {
	switch scsi.OpCode(t.cdb[0]) {
	case scsi.OpRead6, scsi.OpRead10, scsi.OpRead12, scsi.OpRead16:
	default:
		return false
	}
	if !t.read || t.lu == nil {
		return false
	}
	lu, ref := c.sess.holdLU(t.lun)
	if ref == nil {
		return false
	}
	defer ref.release()
	// LogicalUnits are comparable: the session's registry is keyed by
	// them (lunchange.go).
	if lu != t.lu {
		return false
	}
	buf := getBuf(c.dataInSize(t))
	t.req = scsi.Request{Nexus: c.sess.nexus, CDB: t.cdb, DataIn: bytesOf(buf), TaskAttribute: t.attr}
	resp := lu.Execute(c.execCtx, &t.req)
	t.req = scsi.Request{}
	if uint8(resp.Status) != t.status || uint32(min(max0(resp.DataInLen), len(bytesOf(buf)))) != t.inLen {
		putBuf(buf)
		return false
	}
	t.dataIn = buf
	t.dataDropped = false
	return true
}

// resumeDataOut prepares a reassigned WRITE still collecting Data-Out for
// its new connection (RFC 7143 §7.2.2): the ranges of its outstanding R2Ts
// not yet received, and the rest of an unsolicited sequence, are asked for
// again with new R2Ts (their Target Transfer Tags are this connection's).
func (c *conn) resumeDataOut(t *task) {
	sp := &c.sess.params
	for _, r := range t.r2ts {
		from := r.offset
		if sp.DataPDUInOrder {
			from += r.received
		}
		t.addLost(from, r.offset+r.length)
	}
	t.r2ts = t.r2tArr[:0]
	t.unsolicited = false
	t.dataAt.Store(time.Now().UnixNano())
}

// recoveryLogout answers a Logout with reason code 2, "remove the
// connection for recovery" (RFC 7143 §11.14.1), at ErrorRecoveryLevel 2:
// the connection named by CID, this one or another, ends and its tasks
// wait for reassignment. The response carries Time2Wait and Time2Retain
// (§11.15.3, §11.15.4: the session's DefaultTime2Wait and
// DefaultTime2Retain). A CID of no connection of the session is "CID not
// found" (§11.15.1), unless that connection failed and its tasks wait.
func (c *conn) recoveryLogout(lr *pdu.LogoutRequest) error {
	s := c.sess
	code := pdu.LogoutClosedSuccessfully
	self := lr.CID() == c.cid
	if !self {
		s.mu.Lock()
		x := s.mcs.cids[lr.CID()]
		s.mu.Unlock()
		switch {
		case x != nil:
			x.drop(errRecoveryLogout)
			<-x.gone
		case !s.hasOrphansOf(lr.CID()):
			code = pdu.LogoutCIDNotFound
		}
	}
	o := outPDU{kind: outStatus}
	resp := o.h.LogoutResponse()
	resp.Init()
	resp.SetResponse(code)
	resp.SetInitiatorTaskTag(lr.InitiatorTaskTag())
	if code == pdu.LogoutClosedSuccessfully {
		resp.SetTime2Wait(uint16(min(s.params.DefaultTime2Wait, 0xffff)))
		resp.SetTime2Retain(uint16(min(s.params.DefaultTime2Retain, 0xffff)))
	}
	c.log.Info("logout for recovery", "logout_cid", lr.CID(), "response", code.String())
	if !self {
		c.send(&o)
		return nil
	}
	o.closeAfter = errRecoveryLogout
	c.send(&o)
	return errRecoveryLogout
}
