package session

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"sync"
	"time"

	"github.com/go-iscsi/iscsi/iqn"
	"github.com/go-iscsi/iscsi/login"
	"github.com/go-iscsi/iscsi/pdu"
	"github.com/go-iscsi/iscsi/scsi"
)

// DefaultLogoutWait is the Parameter3 of the Asynchronous Message that
// Shutdown sends when its context has no deadline: the seconds an initiator
// is given to log out (RFC 7143 §11.9.1, AsyncEvent 1).
const DefaultLogoutWait = 30 * time.Second

// ErrServerShutdown is returned by ServeConn for a connection the target
// dropped because Shutdown's context ended before its initiator logged out.
var ErrServerShutdown = errors.New("session: server shut down")

// ErrSessionDropped is returned by ServeConn for a connection the target
// dropped with DropSessions, after announcing it with an Asynchronous
// Message (RFC 7143 §11.9.1, AsyncEvent 2 or 3).
var ErrSessionDropped = errors.New("session: connection dropped by the target")

// asyncState is the part of a Server that Shutdown uses: whether it is
// shutting down, and a channel closed at each change of the session table.
type asyncState struct {
	mu       sync.Mutex
	shutdown bool
	logout   uint16 // Parameter3 of the logout request, in seconds
	changed  chan struct{}
}

// changedChan returns the channel closed at the next change of the session
// table.
func (a *asyncState) changedChan() chan struct{} {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.changed == nil {
		a.changed = make(chan struct{})
	}
	return a.changed
}

// sessionClosed wakes Shutdown after a session left the table.
func (a *asyncState) sessionClosed() {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.changed != nil {
		close(a.changed)
		a.changed = nil
	}
}

// shuttingDown reports whether Shutdown was called, and the Parameter3 it
// asks logouts with.
func (a *asyncState) shuttingDown() (bool, uint16) {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.shutdown, a.logout
}

// sendAsync queues an Asynchronous Message (RFC 7143 §11.9) on the
// connection's writer queue, behind the responses already queued. It is a
// status PDU: it carries StatSN and advances it (§11.9: "StatSN ... the
// StatSN of the Asynchronous Message"; §4.2.2.2), and its Initiator Task
// Tag is 0xffffffff. lun is meaningful for AsyncEvent 0 only (§11.9.3),
// whose data segment is a two-byte SenseLength, the sense data and no
// iSCSI event data (§11.9.4). closeAfter, when not nil, closes the
// connection with that cause once the message is written. It waits for
// room in the queue until ctx is done, and reports false if the message was
// not queued: ctx was done or the connection is closing.
func (c *conn) sendAsync(ctx context.Context, ev pdu.AsyncEvent, p1, p2, p3 uint16, lun scsi.LUN, sense []byte, closeAfter error) bool {
	o := outPDU{kind: outStatus, closeAfter: closeAfter}
	a := (*pdu.AsyncMessage)(&o.h)
	a.Init()
	a.SetAsyncEvent(ev)
	a.SetParameter1(p1)
	a.SetParameter2(p2)
	a.SetParameter3(p3)
	if ev == pdu.AsyncSCSIEvent {
		copy(o.h[8:16], lun[:])
		o.data = make([]byte, 2, 2+len(sense))
		binary.BigEndian.PutUint16(o.data, uint16(len(sense)))
		o.data = append(o.data, sense...)
	}
	c.queued.Add(1)
	select {
	case c.out <- o:
		return true
	case <-c.ctx.Done():
	case <-ctx.Done():
	}
	c.queued.Add(-1)
	return false
}

// fullFeatureConns returns the connections in full feature phase of the
// sessions match accepts, with their session.
func (s *Server) fullFeatureConns(match func(*session) bool) []*conn {
	s.mu.Lock()
	sessions := make([]*session, 0, len(s.sessions))
	for _, sess := range s.sessions {
		if match(sess) {
			sessions = append(sessions, sess)
		}
	}
	s.mu.Unlock()
	var out []*conn
	for _, sess := range sessions {
		sess.mu.Lock()
		if !sess.closing {
			out = append(out, sess.conns...)
		}
		sess.mu.Unlock()
	}
	return out
}

// targetMatcher returns a test for the sessions logged in to the target
// named name (normalized as in RFC 3722), or for every normal session when
// name is empty. Discovery sessions never match.
func targetMatcher(name string) (func(*session) bool, error) {
	if name == "" {
		return func(sess *session) bool { return sess.target != nil }, nil
	}
	n, err := iqn.Parse(name)
	if err != nil {
		return nil, err
	}
	want := n.String()
	return func(sess *session) bool {
		if sess.target == nil {
			return false
		}
		got, err := iqn.Parse(sess.targetName)
		return err == nil && got.String() == want
	}, nil
}

// seconds converts d to the whole seconds of a 16-bit Asynchronous Message
// parameter (RFC 7143 §11.9.1), clamped to [0, 65535].
func seconds(d time.Duration) uint16 {
	switch s := d / time.Second; {
	case s <= 0:
		return 0
	case s >= math.MaxUint16:
		return math.MaxUint16
	default:
		return uint16(s)
	}
}

// Shutdown ends the Server gracefully. It refuses new sessions (a leading
// login fails with status 0x0302 Out of resources, RFC 7143 §11.13.5),
// closes discovery sessions (their ServeConn returns ErrSessionClosed,
// whether they reached full feature phase before Shutdown or after), and
// sends each session in full feature phase an Asynchronous Message with
// AsyncEvent 1, "logout requested" (RFC 7143 §11.9.1), whose Parameter3 is the seconds left until ctx's deadline (at
// least 1), or DefaultLogoutWait without a deadline. It then waits for the
// initiators to log out (§11.14). It returns nil once every session has
// ended, or, when ctx is done first, drops the connections left with
// ErrServerShutdown and returns ctx.Err().
//
// Shutdown does not close the listeners of Serve: cancel Serve's context
// after it returns.
func (s *Server) Shutdown(ctx context.Context) error {
	if err := s.init(); err != nil {
		return err
	}
	wait := DefaultLogoutWait
	if d, ok := ctx.Deadline(); ok {
		wait = max(time.Until(d), time.Second)
	}
	s.async.mu.Lock()
	s.async.shutdown = true
	s.async.logout = max(seconds(wait), 1)
	p3 := s.async.logout
	s.async.mu.Unlock()
	s.log.Info("shutdown: logout requested", "within", time.Duration(p3)*time.Second)
	s.mu.Lock()
	var discovery []*session
	for _, sess := range s.sessions {
		sess.mu.Lock()
		dormant := sess.rec.dormant && sess.mcs.members == 0
		sess.mu.Unlock()
		// A session without connections waiting for one at
		// ErrorRecoveryLevel 2 (reassign.go) gets no logout request.
		if sess.target == nil || dormant {
			discovery = append(discovery, sess)
		}
	}
	s.mu.Unlock()
	for _, sess := range discovery {
		sess.close()
	}
	for _, c := range s.fullFeatureConns(func(sess *session) bool { return sess.target != nil }) {
		c.sendAsync(ctx, pdu.AsyncLogoutRequested, 0, 0, p3, scsi.LUN{}, nil, nil)
	}
	for {
		changed := s.async.changedChan()
		s.mu.Lock()
		n := len(s.sessions)
		s.mu.Unlock()
		if n == 0 {
			return nil
		}
		select {
		case <-changed:
		case <-ctx.Done():
			s.mu.Lock()
			left := make([]*session, 0, len(s.sessions))
			for _, sess := range s.sessions {
				left = append(left, sess)
			}
			s.mu.Unlock()
			s.log.Warn("shutdown: sessions not logged out in time", "sessions", len(left))
			for _, sess := range left {
				sess.dropAll(ErrServerShutdown)
			}
			return ctx.Err()
		}
	}
}

// joinedDuringShutdown sends the logout request of Shutdown to a connection
// that reached full feature phase after Shutdown began (its session was
// admitted before), or drops it with ErrSessionClosed if it belongs to a
// discovery session, as Shutdown does with the discovery sessions it finds.
func (c *conn) joinedDuringShutdown() {
	down, p3 := c.srv.async.shuttingDown()
	switch {
	case !down:
	case c.sess.target == nil:
		c.drop(ErrSessionClosed)
	default:
		c.sendAsync(c.ctx, pdu.AsyncLogoutRequested, 0, 0, p3, scsi.LUN{}, nil, nil)
	}
}

// dropAll drops every connection of the session with cause.
func (s *session) dropAll(cause error) {
	s.mu.Lock()
	retire := s.endDormantLocked()
	s.closing = true
	conns := append([]*conn(nil), s.conns...)
	s.mu.Unlock()
	for _, c := range conns {
		c.drop(cause)
	}
	if retire {
		s.srv.retire(s)
	}
}

// DropSessions drops the connections of each session in full feature phase
// logged in to the target named targetName (every normal session when
// targetName is empty), announcing it first on each with an Asynchronous
// Message: AsyncEvent 3, "the target will drop all the connections of this
// session" (RFC 7143 §11.9.1), with
// Parameter2 = time2Wait and Parameter3 = time2Retain in whole seconds
// (clamped to 0-65535). The initiator may log in again after Time2Wait and
// within Time2Retain, reinstating the session (§6.3.5); at
// ErrorRecoveryLevel 0 the target keeps no task across the drop (§7.1.5),
// so the initiator issues its unfinished commands again. The connection is
// closed once the message is written, behind the responses already
// queued; its ServeConn returns ErrSessionDropped. DropSessions returns the
// number of connections it dropped. Like SendSCSIEvent, it may wait for
// room in the queue of a connection whose initiator does not read, at most
// Limits.WriteTimeout.
func (s *Server) DropSessions(targetName string, time2Wait, time2Retain time.Duration) (int, error) {
	if err := s.init(); err != nil {
		return 0, err
	}
	match, err := targetMatcher(targetName)
	if err != nil {
		return 0, fmt.Errorf("session: DropSessions: %w", err)
	}
	n := 0
	for _, c := range s.fullFeatureConns(match) {
		if c.sendAsync(context.Background(), pdu.AsyncAllConnectionsDropped, 0, seconds(time2Wait), seconds(time2Retain), scsi.LUN{}, nil, ErrSessionDropped) {
			n++
		}
	}
	s.log.Info("sessions dropped", "target", targetName, "connections", n)
	return n, nil
}

// SendSCSIEvent reports a SCSI asynchronous event (SAM-5 §5.14) of the
// logical unit at lun to every session in full feature phase logged in to
// the target named targetName that has a logical unit at lun: an
// Asynchronous Message with AsyncEvent 0 whose LUN field is lun and whose
// data segment is the sense data (RFC 7143 §11.9.1, §11.9.4), in fixed
// format (SPC-4 §4.5.3) unless descriptor is set. No negotiation gates it:
// iSCSI has no key for it (RFC 7143 §13), and SPC-4 made the asynchronous
// event reporting control bits of the Control mode page obsolete (SPC-4
// §7.5.8), so every such session gets the event. The message does not
// replace the unit attention, if any, that the logical unit establishes:
// an initiator that ignores it still learns of the condition from its next
// command (SAM-5 §5.14). It returns the number of connections the event
// was queued on.
func (s *Server) SendSCSIEvent(targetName string, lun scsi.LUN, sense scsi.Sense, descriptor bool) (int, error) {
	if err := s.init(); err != nil {
		return 0, err
	}
	if targetName == "" {
		return 0, errors.New("session: SendSCSIEvent: empty target name")
	}
	match, err := targetMatcher(targetName)
	if err != nil {
		return 0, fmt.Errorf("session: SendSCSIEvent: %w", err)
	}
	data := sense.Append(nil, descriptor)
	n := 0
	for _, c := range s.fullFeatureConns(func(sess *session) bool {
		if !match(sess) {
			return false
		}
		v := sess.currentView()
		if v == nil {
			return false
		}
		_, ok := v.luns[lun]
		return ok
	}) {
		if c.sendAsync(context.Background(), pdu.AsyncSCSIEvent, 0, 0, 0, lun, data, nil) {
			n++
		}
	}
	return n, nil
}

// capacityNotifier is a logical unit that establishes CAPACITY DATA HAS
// CHANGED itself; *disk.LU is one.
type capacityNotifier interface{ CapacityChanged() }

// CapacityChanged reports that the capacity of the logical unit at lun of
// the target named targetName changed (call it after resizing its
// backend): the logical unit, if it has a CapacityChanged method as
// *disk.LU does, establishes the unit attention CAPACITY DATA HAS CHANGED
// (SBC-4 §4.10) for every I_T nexus, and every session of the target
// having that LUN gets it at once as a SCSI asynchronous event (RFC 7143
// §11.9.1, AsyncEvent 0) with sense key UNIT ATTENTION and ASC/ASCQ
// 2Ah/09h, as SendSCSIEvent sends it. It returns the number of connections
// the event was queued on.
func (s *Server) CapacityChanged(targetName string, lun scsi.LUN) (int, error) {
	if err := s.init(); err != nil {
		return 0, err
	}
	t := s.target(targetName)
	if t == nil {
		return 0, fmt.Errorf("session: CapacityChanged: no target %q", targetName)
	}
	lu, ok := t.LUNs[lun]
	if !ok {
		return 0, fmt.Errorf("session: CapacityChanged: target %q has no LUN %v", targetName, lun)
	}
	if cn, ok := lu.(capacityNotifier); ok {
		cn.CapacityChanged()
	}
	return s.SendSCSIEvent(targetName, lun, scsi.NewSense(scsi.SenseUnitAttention, scsi.ASCCapacityDataHasChanged), false)
}

// refuseDuringShutdown is the error admitSession gives a new session once
// Shutdown has begun.
func (s *Server) refuseDuringShutdown() error {
	if down, _ := s.async.shuttingDown(); down {
		return fmt.Errorf("%w: server shutting down", login.ErrOutOfResources)
	}
	return nil
}
