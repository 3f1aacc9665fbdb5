package session

import (
	"sync"

	"github.com/go-iscsi/iscsi/login"
	"github.com/go-iscsi/iscsi/pdu"
	"github.com/go-iscsi/iscsi/scsi"
)

// session is the target side of one iSCSI session (RFC 7143 §4.4): the
// I_T nexus, the negotiated parameters, the command numbering that all its
// connections share (§4.2.2.1) and its connections.
type session struct {
	srv    *Server
	target *Target // nil in a discovery session
	tsih   uint16
	// targetName is the TargetName of the login, empty for discovery.
	targetName string
	params     login.SessionParams
	nexus      scsi.Nexus
	// cid is the connection ID of the leading login, the session's one
	// connection (set before the session is visible to other logins).
	cid uint16

	mu       sync.Mutex
	expCmdSN uint32
	window   uint32
	conns    []*conn
	closing  bool
	// mcs tracks the connections of the session (mcs.go).
	mcs mcsState
	// order applies the task attributes to the tasks of all the
	// session's connections (mcs.go).
	order taskOrder
	// rec keeps the tasks of failed connections at ErrorRecoveryLevel 2
	// (reassign.go).
	rec recoveryState

	endOnce sync.Once
	ended   chan struct{}

	inv lunState // LUN view and its changes (lunchange.go)
}

func newSession(srv *Server, t *Target, key login.SessionKey, tsih uint16, params login.SessionParams) *session {
	s := &session{
		srv: srv, target: t, tsih: tsih, params: params, targetName: key.TargetName,
		window: srv.limits.CmdSNWindow, ended: make(chan struct{}),
	}
	s.nexus = scsi.Nexus{
		InitiatorPort:      scsi.ISCSIInitiatorPortName(key.InitiatorName, key.ISID),
		TargetPort:         scsi.ISCSITargetPortName(key.TargetName, srv.tpgt),
		RelativeTargetPort: 1,
		TargetPortGroup:    srv.tpgt,
	}
	return s
}

// attach takes the outcome of the login that opened the session: the
// parameters in force and the first ExpCmdSN (RFC 7143 §11.13).
func (s *session) attach(res *login.Result) {
	s.mu.Lock()
	s.params = res.Session
	s.expCmdSN = res.ExpCmdSN
	s.mcs.readyLocked()
	s.mu.Unlock()
}

// cmdVerdict is what the CmdSN rules of RFC 7143 §4.2.2.1 make of a request.
type cmdVerdict uint8

const (
	cmdAccept cmdVerdict = iota // deliver it
	cmdIgnore                   // outside the window: silently ignore
	cmdGap                      // inside the window but ahead of ExpCmdSN
)

// admit applies RFC 7143 §4.2.2.1 to a request carrying cmdSN. An immediate
// request is delivered at once and does not advance ExpCmdSN; a
// non-immediate one is delivered in CmdSN order and advances ExpCmdSN; a
// non-immediate one outside [ExpCmdSN, MaxCmdSN] is silently ignored (the
// CmdSN of an immediate request may lie outside that range).
func (s *session) admit(cmdSN uint32, immediate bool) cmdVerdict {
	if immediate {
		return cmdAccept
	}
	s.mu.Lock()
	v, ready := s.admitLocked(cmdSN)
	s.mu.Unlock()
	startDelivered(ready)
	return v
}

// admitLocked is admit for a non-immediate request, with s.mu held: a
// request delivered in order advances ExpCmdSN past it and past the
// commands held ahead of it that follow on, and those of them whose data
// is in are returned, to start (startDelivered) once s.mu is released.
func (s *session) admitLocked(cmdSN uint32) (cmdVerdict, []*task) {
	switch {
	case cmdSN == s.expCmdSN:
		return cmdAccept, s.deliverLocked()
	case pdu.SerialInWindow(cmdSN, s.expCmdSN, s.expCmdSN+s.window-1):
		return cmdGap, nil
	default:
		return cmdIgnore, nil
	}
}

// cmdWindow returns ExpCmdSN and MaxCmdSN for the next response (RFC 7143
// §4.2.2.1).
func (s *session) cmdWindow() (exp, max uint32) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.expCmdSN, s.expCmdSN + s.window - 1
}

// addConn makes c a connection of the session; a session already being
// closed drops it at once.
func (s *session) addConn(c *conn) {
	s.mu.Lock()
	closing := s.closing
	if !closing {
		s.conns = append(s.conns, c)
		s.mcs.cids[c.cid] = c
	}
	s.mu.Unlock()
	if closing {
		c.drop(ErrSessionClosed)
		return
	}
	c.joinedDuringShutdown()
}

// close drops every connection of the session (session reinstatement,
// TARGET COLD RESET).
func (s *session) close() {
	s.mu.Lock()
	retire := s.endDormantLocked()
	s.closing = true
	conns := append([]*conn(nil), s.conns...)
	s.mu.Unlock()
	for _, c := range conns {
		c.drop(ErrSessionClosed)
	}
	if retire {
		s.srv.retire(s)
	}
}

// end runs when the last connection of the session is gone: the I_T nexus
// is lost for every logical unit of the target (SAM-5 §6.3.4).
func (s *session) end() {
	s.endOnce.Do(func() {
		s.mu.Lock()
		orphans := s.dropOrphansLocked()
		s.mu.Unlock()
		for _, t := range orphans {
			s.srv.discard(t)
		}
		for _, lu := range s.endLUNs() {
			lu.ITNexusLoss(s.nexus)
		}
		close(s.ended)
	})
}

// lookupLU returns the logical unit at the LUN field of a PDU.
func (s *session) lookupLU(lun uint64) (LogicalUnit, bool) {
	v := s.currentView()
	if v == nil {
		return nil, false
	}
	r, ok := v.luns[scsi.LUNFromUint64(lun)]
	if !ok {
		return nil, false
	}
	return r.lu, true
}
