package session

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	"github.com/go-iscsi/iscsi/login"
	"github.com/go-iscsi/iscsi/pdu"
)

// This file holds the initiator's side of several connections per session
// (MC/S, RFC 7143 §4.2.1, §4.2.2, §6.3.1, §11.14): opening and closing
// connections of a session and spreading commands over them.

// ConnectionPolicy says which connection of a session a new command goes
// on (RFC 7143 §4.2.1: the initiator chooses; the command and all the PDUs
// of its task then stay on that connection).
type ConnectionPolicy uint8

const (
	// RoundRobin sends each command on the connection after the one the
	// previous command went on.
	RoundRobin ConnectionPolicy = iota
	// LeastLoaded sends each command on the connection with the fewest
	// commands outstanding, the first of them in joining order on a tie.
	LeastLoaded
)

// String names the policy as its constant does.
func (p ConnectionPolicy) String() string {
	switch p {
	case RoundRobin:
		return "RoundRobin"
	case LeastLoaded:
		return "LeastLoaded"
	}
	return "ConnectionPolicy(" + strconv.Itoa(int(p)) + ")"
}

// ConnectionRecoveryMethod says how a session at ErrorRecoveryLevel 2
// recovers a failed connection (RFC 7143 §7.1.4.3, §7.2.2).
type ConnectionRecoveryMethod uint8

const (
	// RecoverOnOtherConnection, when the session has another connection
	// in full feature phase, logs the failed connection out on it with
	// reason code 2, "remove the connection for recovery" (§11.14.1),
	// waits the Time2Wait of the Logout Response (§11.15.3), moves each
	// of the failed connection's commands to it with TASK REASSIGN
	// (§11.5.1) and then logs in a new connection in place of the failed
	// one. A session without another connection, or whose target refuses
	// the logout, recovers as RecoverByReinstatement.
	RecoverOnOtherConnection ConnectionRecoveryMethod = iota
	// RecoverByReinstatement logs in a new connection with the failed
	// connection's CID (connection reinstatement, §6.3.4), which logs the
	// old one out implicitly, and reassigns the commands to it.
	RecoverByReinstatement
)

// String names the method as its constant does.
func (m ConnectionRecoveryMethod) String() string {
	switch m {
	case RecoverOnOtherConnection:
		return "RecoverOnOtherConnection"
	case RecoverByReinstatement:
		return "RecoverByReinstatement"
	}
	return "ConnectionRecoveryMethod(" + strconv.Itoa(int(m)) + ")"
}

// ConnectionStats are the counters of one connection of a session.
type ConnectionStats struct {
	// CID is the connection ID (RFC 7143 §11.12.7).
	CID uint16
	// Commands counts the SCSI commands issued on the connection,
	// Outstanding those not yet completed.
	Commands    uint64
	Outstanding int
}

// ErrTooManyConnections is matched (errors.Is) by the error of
// AddConnection when the session has as many connections as the
// negotiated MaxConnections (RFC 7143 §13.2).
var ErrTooManyConnections = errors.New("iscsi: session has MaxConnections connections")

// loginJoin names the session a login adds a connection to (RFC 7143
// §6.3.1): its TSIH, the new CID and the CmdSN the login carries. The zero
// value is a leading login.
type loginJoin struct {
	tsih  uint16
	cid   uint16
	cmdSN uint32
	// erl is the session's ErrorRecoveryLevel, negotiated at the leading
	// login only (RFC 7143 §13.20, LeadingOnly).
	erl uint8
}

// initiatorMCS is the connection bookkeeping of a Session; guarded by
// Session.mu.
type initiatorMCS struct {
	next    int // round-robin position
	joining int // AddConnection logins in progress
	cids    map[uint16]bool
	// logoutOn is the connection a Logout closing the session went on.
	logoutOn *initiatorConn
	// rejoin, while the session has no connection because its last one
	// is being recovered (initiator_reassign.go), is closed when one
	// joins or the session ends or is reinstated.
	rejoin chan struct{}
	// settled, while connections are being recovered (reassigning of
	// them), holds new commands back: a command lost with the failed
	// connection is issued again with its CmdSN first, and no CmdSN may
	// pass it (RFC 7143 §3.2.2.1).
	settled     chan struct{}
	reassigning int
}

// loggingOutOn records that a Logout closing the session was sent on c:
// the target closes the other connections (RFC 7143 §11.14.1), which is no
// failure to recover from.
func (s *Session) loggingOutOn(c *initiatorConn) {
	s.mu.Lock()
	s.mcs.logoutOn = c
	s.mu.Unlock()
}

// hasConnLocked reports whether c is a connection of the session in full
// feature phase.
func (s *Session) hasConnLocked(c *initiatorConn) bool {
	for _, x := range s.conns {
		if x == c {
			return true
		}
	}
	return false
}

// pickLocked returns the connection a new command goes on, by the
// session's ConnectionPolicy, among the connections not being logged out.
func (s *Session) pickLocked() *initiatorConn {
	if len(s.conns) == 1 {
		return s.conns[0]
	}
	var best *initiatorConn
	switch s.opts.ConnectionPolicy {
	case LeastLoaded:
		for _, c := range s.conns {
			if !c.draining && (best == nil || c.load < best.load) {
				best = c
			}
		}
	default:
		for range s.conns {
			c := s.conns[s.mcs.next%len(s.conns)]
			s.mcs.next++
			if !c.draining {
				best = c
				break
			}
		}
	}
	if best == nil {
		best = s.c
	}
	return best
}

// bindLocked makes c the connection of task t (connection allegiance, RFC
// 7143 §4.2.1) and counts t in c's load when it is a SCSI command.
func (s *Session) bindLocked(t *initiatorTask, c *initiatorConn) {
	if t.kind == kindSCSI {
		s.unloadLocked(t)
		c.load++
		c.loadNow.Store(int32(c.load))
		c.issued++
		t.loadOn = c
	}
	t.c = c
}

// unloadLocked takes t out of the load of the connection it was counted on.
func (s *Session) unloadLocked(t *initiatorTask) {
	c := t.loadOn
	if c == nil {
		return
	}
	t.loadOn = nil
	c.load--
	c.loadNow.Store(int32(c.load))
	if c.load == 0 && c.drained != nil {
		close(c.drained)
		c.drained = nil
	}
}

// minXmitLocked returns the smallest MaxXmitDataSegmentLength of the
// session's connections: immediate data is cut before the connection of
// the command is chosen.
func (s *Session) minXmitLocked() int {
	n := s.c.maxXmit.Load()
	for _, c := range s.conns {
		n = min(n, c.maxXmit.Load())
	}
	return int(n)
}

// connStatsLocked fills the connection counters of st.
func (s *Session) connStatsLocked(st *Stats) {
	st.Connections = len(s.conns)
	if s.state != stateUp {
		st.Connections = 0
	}
	st.PerConnection = make([]ConnectionStats, 0, len(s.conns))
	for _, c := range s.conns {
		st.PerConnection = append(st.PerConnection, ConnectionStats{CID: c.cid, Commands: c.issued, Outstanding: c.load})
	}
}

// wantedConnectionsLocked is the number of connections the session keeps:
// Options.Connections, at most the negotiated MaxConnections (RFC 7143
// §13.2).
func (s *Session) wantedConnectionsLocked() int {
	n := max(s.opts.Connections, 1)
	return min(n, int(max(s.res.Session.MaxConnections, 1)))
}

// openConnections adds connections until the session has as many as it
// keeps (wantedConnectionsLocked), while it is in state during.
func (s *Session) openConnections(ctx context.Context, during sessionState) error {
	for {
		s.mu.Lock()
		more := s.state == during && len(s.conns)+s.mcs.joining < s.wantedConnectionsLocked()
		s.mu.Unlock()
		if !more {
			return nil
		}
		if _, err := s.addConnection(ctx, during); err != nil {
			return err
		}
	}
}

// ConnectionIDs returns the CIDs of the session's connections in full
// feature phase, in the order they joined.
func (s *Session) ConnectionIDs() []uint16 {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]uint16, 0, len(s.conns))
	for _, c := range s.conns {
		out = append(out, c.cid)
	}
	return out
}

// AddConnection opens one more connection of the session: a login with the
// session's ISID and TSIH and a CID not in use (RFC 7143 §6.3.1), which
// negotiates the connection's own keys; the session's keys stay as the
// leading login set them. It fails with ErrTooManyConnections when the
// session already has MaxConnections connections (§13.2), and with the
// target's *LoginError when the target refuses the login. New commands may
// go on the connection once it returns.
func (s *Session) AddConnection(ctx context.Context) (uint16, error) {
	return s.addConnection(ctx, stateUp)
}

// addConnection is AddConnection for a session in state during: up, or
// being reinstated (install reopens the connections of the session).
func (s *Session) addConnection(ctx context.Context, during sessionState) (uint16, error) {
	s.mu.Lock()
	if s.state != during {
		err := s.closedErr()
		if s.state == stateRecovering {
			err = fmt.Errorf("%w: the session is being reinstated", ErrConnectionLost)
		}
		s.mu.Unlock()
		return 0, err
	}
	if maxConns := int(max(s.res.Session.MaxConnections, 1)); len(s.conns)+s.mcs.joining >= maxConns {
		s.mu.Unlock()
		return 0, fmt.Errorf("%w (%d)", ErrTooManyConnections, maxConns)
	}
	if s.mcs.cids == nil {
		s.mcs.cids = make(map[uint16]bool)
	}
	for _, c := range s.conns {
		s.mcs.cids[c.cid] = true
	}
	var cid uint16
	for s.mcs.cids[cid] {
		cid++
	}
	s.mcs.cids[cid] = true
	s.mcs.joining++
	res0 := s.res
	// RFC 7143 §11.12.8: a Login Request is immediate; it carries the
	// CmdSN of the next command.
	j := loginJoin{tsih: res0.TSIH, cid: cid, cmdSN: s.cmdSN, erl: res0.Session.ErrorRecoveryLevel}
	opts := s.opts
	s.mu.Unlock()

	c, _, err := loginOnce(ctx, s.addr, &opts, login.SessionNormal, j)

	s.mu.Lock()
	s.mcs.joining--
	if err == nil && (s.state != during || s.res.TSIH != j.tsih) {
		// The session ended or was reinstated during the login.
		err = s.closedErr()
		if s.state != stateClosed {
			err = fmt.Errorf("%w: the session was reinstated during the login", ErrConnectionLost)
		}
		c.kill()
	}
	if err != nil {
		delete(s.mcs.cids, cid)
		s.mu.Unlock()
		return 0, err
	}
	close(c.ready)
	s.conns = append(s.conns, c)
	s.loops.Add(1)
	s.mu.Unlock()
	s.logger().Info("iscsi initiator: connection added", "tsih", j.tsih, "cid", cid)
	// The ExpCmdSN and MaxCmdSN of the Login Response are not taken: the
	// login machine of a target answers them from the login's own CmdSN,
	// not from the session's window; the next response on any connection
	// brings the session's values (§4.2.2.1).
	s.start(c)
	return cid, nil
}

// CloseConnection logs out connection cid of the session (RFC 7143
// §11.14.1, reason code 1, "close the connection") while the others carry
// on: no new command goes on it, the commands already on it complete,
// then the Logout Request is sent on it and, once the target answers, the
// connection is closed. The session's last connection cannot be closed
// this way: Logout closes the session.
func (s *Session) CloseConnection(ctx context.Context, cid uint16) error {
	s.mu.Lock()
	var c *initiatorConn
	for _, x := range s.conns {
		if x.cid == cid {
			c = x
		}
	}
	switch {
	case s.state != stateUp:
		s.mu.Unlock()
		return s.closedErr()
	case c == nil:
		s.mu.Unlock()
		return fmt.Errorf("%w: no connection with CID %d", ErrOptions, cid)
	case len(s.conns) == 1:
		s.mu.Unlock()
		return fmt.Errorf("%w: CID %d is the session's last connection (use Logout)", ErrOptions, cid)
	}
	c.draining = true
	var drained chan struct{}
	if c.load > 0 {
		c.drained = make(chan struct{})
		drained = c.drained
	}
	s.mu.Unlock()
	if drained != nil {
		select {
		case <-drained:
		case <-c.dead:
			return fmt.Errorf("%w: CID %d failed while its commands completed", ErrConnectionLost, cid)
		case <-ctx.Done():
			s.mu.Lock()
			c.draining = false
			c.drained = nil
			s.mu.Unlock()
			return ctx.Err()
		}
	}

	t, err := s.newTask(kindLogout, nil, 0, 0)
	if err != nil {
		return err
	}
	defer s.release(t)
	t.logoutConn = c
	if err := s.sendLogout(ctx, t, c, pdu.LogoutCloseConnection, cid); err != nil {
		return err
	}
	select {
	case <-t.done:
		err = t.err
		if err == nil && t.logout != pdu.LogoutClosedSuccessfully {
			err = fmt.Errorf("iscsi: logout of CID %d refused: %v", cid, t.logout)
			s.mu.Lock()
			c.draining = false
			s.mu.Unlock()
		}
	case <-ctx.Done():
		// A connection whose logout goes unanswered cannot be trusted
		// (RFC 7143 §7.1.1): it is dropped, and the session recovers.
		err = ctx.Err()
		c.kill()
	}
	if err == nil {
		<-c.readDone
	}
	return err
}

// sendLogout sends on c the Logout Request of task t, an immediate
// request (RFC 7143 §11.14) with reason and cid (§11.14.1, §11.14.3); a
// write failure drops c.
func (s *Session) sendLogout(ctx context.Context, t *initiatorTask, c *initiatorConn, reason pdu.LogoutReason, cid uint16) error {
	var h pdu.BHS
	lr := h.LogoutRequest()
	lr.Init()
	lr.SetImmediate(true)
	lr.SetReasonCode(reason)
	lr.SetInitiatorTaskTag(t.itt)
	lr.SetCID(cid)
	_, sn, err := s.reserveOn(ctx, true, t, c)
	if err != nil {
		return err
	}
	lr.SetCmdSN(sn)
	err = c.write(&h, nil, true)
	s.seqMu.Unlock()
	if err != nil {
		c.kill()
		return connErr(err)
	}
	return nil
}

// connLoggedOutLocked forgets connection c after its successful Logout
// Response (RFC 7143 §11.15): it is closed, and its reader ends without
// recovery.
func (s *Session) connLoggedOutLocked(c *initiatorConn) {
	for i, x := range s.conns {
		if x == c {
			s.conns = append(s.conns[:i], s.conns[i+1:]...)
			break
		}
	}
	delete(s.mcs.cids, c.cid)
	if s.c == c && len(s.conns) > 0 {
		s.c = s.conns[0]
	}
	c.kill()
}
