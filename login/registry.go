package login

import (
	"errors"
	"sync"

	"github.com/go-iscsi/iscsi/pdu"
)

// SessionKey identifies a session on the target side, RFC 7143 §2.2 (the
// I_T nexus) and §6.3.5: the initiator port (InitiatorName and ISID) and
// the target portal group (TargetName and TargetPortalGroupTag).
type SessionKey struct {
	InitiatorName  string
	ISID           pdu.ISID
	TargetName     string
	PortalGroupTag uint16
}

// Errors a SessionRegistry returns; the target login machine answers them
// with the status RFC 7143 §11.13.5 gives.
var (
	// ErrSessionNotFound: a login with a nonzero TSIH names no session of
	// this initiator port (status 0x020a Session does not exist).
	ErrSessionNotFound = errors.New("login: session does not exist")
	// ErrTooManyConnections: the session already has MaxConnections
	// connections (status 0x0206 Too many connections).
	ErrTooManyConnections = errors.New("login: too many connections")
	// ErrCantIncludeInSession: the connection cannot join the session, for
	// example a second connection of a discovery session (status 0x0208).
	ErrCantIncludeInSession = errors.New("login: connection cannot be included in the session")
	// ErrOutOfResources: no TSIH or other resource is left (status 0x0302
	// Out of resources).
	ErrOutOfResources = errors.New("login: out of resources")
)

// SessionRegistry holds the target's sessions for the login machine: it
// hands out TSIHs and decides whether a connection may join a session. The
// session layer implements it; MemoryRegistry is a simple one for tests
// and single-process targets. Methods may be called from many connections
// at once.
type SessionRegistry interface {
	// OpenSession records a new session after its leading login succeeded
	// and returns its nonzero TSIH (RFC 7143 §11.13.3). When a session
	// with the same key exists, this is session reinstatement (RFC 7143
	// §6.3.5): the registry must close the old session (reinstated true).
	OpenSession(key SessionKey, params SessionParams, cid uint16) (tsih uint16, reinstated bool, err error)
	// AddConnection checks that connection cid may join the session tsih
	// of the initiator port in key (RFC 7143 §6.3.1: TSIH, ISID and names
	// must match) and returns the session's parameters. A cid already in
	// the session is connection reinstatement (RFC 7143 §6.3.4): the old
	// connection must be closed. Errors: ErrSessionNotFound,
	// ErrTooManyConnections, ErrCantIncludeInSession.
	AddConnection(key SessionKey, tsih uint16, cid uint16) (SessionParams, error)
}

// SessionWindow is implemented by a SessionRegistry that knows the command
// window of its sessions: the Login Responses of a login that adds a
// connection to session tsih then carry the session's ExpCmdSN and
// MaxCmdSN (RFC 7143 §4.2.2.1: the window is the session's, shared by its
// connections), not numbers derived from the login's own CmdSN. ok is
// false when the session is unknown.
type SessionWindow interface {
	CmdSNWindow(tsih uint16) (expCmdSN, maxCmdSN uint32, ok bool)
}

// MemoryRegistry is a SessionRegistry in memory. Its zero value is ready.
type MemoryRegistry struct {
	mu       sync.Mutex
	sessions map[uint16]*memSession
	next     uint16
	// OnClose, when set, is called (without the lock held) with the TSIH
	// of a session closed by reinstatement, or (tsih, cid) of a connection
	// being reinstated.
	OnClose func(tsih uint16, cid uint16, wholeSession bool)
}

type memSession struct {
	key    SessionKey
	params SessionParams
	conns  map[uint16]bool
}

// OpenSession implements SessionRegistry.
func (r *MemoryRegistry) OpenSession(key SessionKey, params SessionParams, cid uint16) (uint16, bool, error) {
	r.mu.Lock()
	if r.sessions == nil {
		r.sessions = make(map[uint16]*memSession)
	}
	var old uint16
	for tsih, s := range r.sessions {
		if s.key == key {
			old = tsih
			delete(r.sessions, tsih)
			break
		}
	}
	var tsih uint16
	for range 1 << 16 {
		r.next++
		if r.next == 0 {
			r.next = 1
		}
		if _, used := r.sessions[r.next]; !used {
			tsih = r.next
			break
		}
	}
	if tsih == 0 {
		r.mu.Unlock()
		return 0, false, ErrOutOfResources
	}
	r.sessions[tsih] = &memSession{key: key, params: params, conns: map[uint16]bool{cid: true}}
	onClose := r.OnClose
	r.mu.Unlock()
	if old != 0 && onClose != nil {
		onClose(old, 0, true)
	}
	return tsih, old != 0, nil
}

// AddConnection implements SessionRegistry.
func (r *MemoryRegistry) AddConnection(key SessionKey, tsih uint16, cid uint16) (SessionParams, error) {
	r.mu.Lock()
	s, ok := r.sessions[tsih]
	if !ok || s.key != key {
		r.mu.Unlock()
		return SessionParams{}, ErrSessionNotFound
	}
	if s.params.SessionType == SessionDiscovery {
		r.mu.Unlock()
		return SessionParams{}, ErrCantIncludeInSession
	}
	reinstate := s.conns[cid]
	if !reinstate && uint32(len(s.conns)) >= s.params.MaxConnections {
		r.mu.Unlock()
		return SessionParams{}, ErrTooManyConnections
	}
	s.conns[cid] = true
	params := s.params
	onClose := r.OnClose
	r.mu.Unlock()
	if reinstate && onClose != nil {
		onClose(tsih, cid, false)
	}
	return params, nil
}

// RemoveConnection forgets connection cid of session tsih, and the session
// with its last connection.
func (r *MemoryRegistry) RemoveConnection(tsih, cid uint16) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if s, ok := r.sessions[tsih]; ok {
		delete(s.conns, cid)
		if len(s.conns) == 0 {
			delete(r.sessions, tsih)
		}
	}
}

// Len returns the number of sessions.
func (r *MemoryRegistry) Len() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.sessions)
}
