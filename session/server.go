package session

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-iscsi/iscsi/iqn"

	"github.com/go-iscsi/iscsi/login"
	"github.com/go-iscsi/iscsi/pdu"
	"github.com/go-iscsi/iscsi/scsi"
)

// LogicalUnit is what a Target serves behind one LUN: a SCSI device server
// (SAM-5 §4.6) executing the commands of every I_T nexus that reaches it,
// each Request naming its nexus. *disk.LU satisfies it.
//
// Execute may be called from many goroutines at once. DataOutLength tells,
// before the Data-Out phase, how many bytes the command in cdb takes from
// the initiator, so that the target solicits no more (RFC 7143 §11.3.4).
// ITNexusLoss is called when the session of an I_T nexus ends (SAM-5
// §6.3.4); Reset for LOGICAL UNIT RESET and TARGET WARM/COLD RESET (RFC
// 7143 §11.5.1).
type LogicalUnit interface {
	Execute(ctx context.Context, req *scsi.Request) scsi.Response
	DataOutLength(cdb []byte) int
	ITNexusLoss(n scsi.Nexus)
	Reset(kind scsi.ResetKind)
}

// InlineUnit is a LogicalUnit that can tell the commands it completes
// without waiting: for I/O, for a lock held by a slow command, or for long
// computation (a READ or WRITE over memory). The reader of a connection
// runs such a command itself as soon as its data is in, instead of handing
// it to a worker, and hands its response to the connection's writer: a
// command then costs one wakeup of another goroutine instead of two
// (PERFORMANCE.md). While it runs the reader reads no
// PDU, so a command that does wait holds up the connection's task
// management and NOP-Outs; ExecutesInline must answer false for it, and
// quickly. *disk.LU implements it over a backend that is
// disk.NonBlocking. A type that embeds such a unit and wraps its Execute
// inherits ExecutesInline: if the wrapper may wait, it must override
// ExecutesInline as well.
type InlineUnit interface {
	LogicalUnit
	ExecutesInline(cdb []byte) bool
}

// Target is one iSCSI target node a Server offers (RFC 7143 §4.2.7): its
// name, its logical units, and who may log in to it.
type Target struct {
	// Name is the iSCSI name (RFC 7143 §4.2.7.1, §13.4); Alias, if set,
	// is sent as TargetAlias (§13.6).
	Name, Alias string
	// LUNs maps each logical unit number (SAM-5 §4.7) to its logical
	// unit. The target answers REPORT LUNS for the whole map, and commands
	// to a LUN outside it with LOGICAL UNIT NOT SUPPORTED (SPC-4 §6.6.2:
	// INQUIRY reports peripheral qualifier 011b instead).
	LUNs map[scsi.LUN]LogicalUnit
	// AuthMethods are the AuthMethod values (RFC 7143 §12.1) accepted,
	// in order of preference: {"CHAP"} requires CHAP (Server.CHAP finds
	// the secrets), nil means {"None"}.
	AuthMethods []string
	// Authorize, when set, decides whether an initiator (and the CHAP user
	// it authenticated as, empty without CHAP) may log in; false fails the
	// login with 0x0202 Authorization failure (RFC 7143 §11.13.5).
	Authorize func(initiatorName, chapUser string) bool
	// Allow, when set, decides by the initiator's iSCSI name and the
	// remote address of its connection whether it may see and use the
	// target, as IET's initiators.allow does: false fails a login with
	// 0x0202 Authorization failure (RFC 7143 §11.13.5) and leaves the
	// target out of the SendTargets response that initiator gets (§13.3).
	Allow func(initiatorName string, remote net.Addr) bool
	// Settings override Server.Settings for this target.
	Settings *login.Settings
}

// Limits bound what one initiator can make a Server hold. The zero value of
// each field picks the documented default. With the defaults an idle
// session holds about 150 KiB in the target, most of it the stacks of its
// connection's MaxTasks workers (TestIdleSessionMemory measures it).
type Limits struct {
	// CmdSNWindow is the number of commands an initiator may have queued:
	// MaxCmdSN is ExpCmdSN+CmdSNWindow-1 (RFC 7143 §4.2.2.1). Default 32.
	CmdSNWindow uint32
	// MaxTasks bounds the commands of one connection that execute at
	// once on its workers; further commands wait in CmdSN order. The
	// commands of an InlineUnit run on the connection's reader, one at
	// a time, besides them. Default 32.
	MaxTasks int
	// MaxDataLength bounds the buffer of one command: Data-In beyond it
	// is not returned (the residual says so, RFC 7143 §11.4.5) and a
	// Data-Out longer than it fails the command. Default 32 MiB, the
	// default MAXIMUM TRANSFER LENGTH of a scsi/disk logical unit with
	// 512-byte blocks (65536 blocks). A WRITE's buffer grows with the
	// data the target solicits (dataout.go): before its data arrives it
	// holds at most FirstBurstLength plus MaxOutstandingR2T bursts of
	// MaxBurstLength (RFC 7143 §13.13-§13.17). A command's Data-In buffer
	// is allocated when it runs, as long as the CDB asks for (at most the
	// ExpectedDataTransferLength and this limit), so a connection holds
	// at most MaxTasks such buffers.
	MaxDataLength uint32
	// LoginTimeout bounds the login phase of a connection (RFC 7143
	// §6.3). Default 30 seconds.
	LoginTimeout time.Duration
	// NOPInInterval, when not zero, makes the target ping every connection
	// in full feature phase this often with a NOP-In carrying a Target
	// Transfer Tag, which the initiator must echo in a NOP-Out (RFC 7143
	// §11.19.1); zero sends no pings.
	NOPInInterval time.Duration
	// NOPInTimeout is how long an answer to a ping may take before the
	// connection is dropped with ErrNOPInTimeout; zero means
	// NOPInInterval.
	NOPInTimeout time.Duration
	// MaxConnections bounds the connections of one session (RFC 7143
	// §13.2): the target answers MaxConnections with at most this value,
	// and a login adding a connection beyond it fails with 0x0206 Too
	// many connections (§11.13.5). Settings.MaxConnections, when
	// smaller, is the bound; a Server without Settings offers this value.
	// Discovery sessions always have one connection (§13.21). Default 8.
	MaxConnections int
	// DataOutTimeout bounds how long a command waits for the Data-Out the
	// initiator owes it (solicited by an R2T, RFC 7143 §11.8, or announced
	// as unsolicited, §11.3.1); past it the connection is dropped with
	// ErrDataOutTimeout, which ends the command and frees its buffer.
	// Default 30 seconds; negative disables the bound.
	DataOutTimeout time.Duration
	// MaxSessions bounds the sessions, discovery sessions included, open
	// at once; a leading login beyond it fails with status 0x0302, out of
	// resources (RFC 7143 §11.13.5), unless it reinstates a session of
	// the same initiator port (§6.3.5). Default 1024.
	MaxSessions int
	// MaxLogins bounds the connections in their login phase at once: a
	// connection beyond it is closed before a byte is read, so that
	// clients which connect and stay silent (or trickle bytes) cannot hold
	// more than MaxLogins connections for longer than LoginTimeout.
	// Default 128.
	MaxLogins int
	// WriteTimeout bounds how long the target may take to send one
	// response (a status PDU, or the Data-In PDUs and status of one
	// command) to an initiator that does not read what it is sent. RFC
	// 7143 leaves the bound to the target; past it the connection is
	// dropped with ErrWriteTimeout, which ends its tasks and frees their
	// buffers, instead of holding them for as long as the initiator stays
	// silent. While the writer waits, the target stops reading commands
	// once its queues are full, so what a connection holds stays bounded
	// by MaxTasks and the queues. Default 60 seconds; negative disables
	// the bound.
	WriteTimeout time.Duration
	// MaxPendingTasks bounds the commands one connection holds at once:
	// received and not yet answered, whether waiting for Data-Out,
	// queued, running or held behind an ORDERED task. The command window
	// advances as commands arrive (RFC 7143 §4.2.2.1), so without this
	// bound an initiator could make the target hold a Data-Out buffer of
	// up to MaxDataLength for every command it sends. A command beyond
	// it is answered at once with SCSI status TASK SET FULL (SAM-5
	// §5.3.1), nothing transferred, and the initiator retries it later.
	// Default 128, the queue an open-iscsi session keeps (cmds_max).
	MaxPendingTasks int
	// RetainBytes bounds what one connection at ErrorRecoveryLevel 1
	// keeps for SNACKs (RFC 7143 §11.16): the Data-In of completed
	// commands, until a DataACK (§11.7.2 A bit) or the initiator's
	// ExpStatSN acknowledges them, and its status PDUs until ExpStatSN
	// passes them (§4.2.2.2), each counted with its data and a fixed
	// overhead. A response beyond the bound is sent but not retained: a
	// SNACK for it is answered with a Reject, reason SNACK Reject
	// (§11.17.1), after which the initiator recovers as at
	// ErrorRecoveryLevel 0 (aborting the task or reinstating the session).
	// At ErrorRecoveryLevel 2 the status of a task beyond the bound is
	// still kept until ExpStatSN passes it, for a TASK REASSIGN (§7.2.2)
	// or a Status SNACK, counted in ServerStats.RetainedBytes with the
	// fixed overhead but not refused by the bound; at most
	// MaxPendingTasks such statuses per connection. Its Data-In is not: a
	// reassigned READ(6/10/12/16) reads it again from the logical unit,
	// and any other command that needs it finds no task. Default 16 MiB;
	// negative retains no Data-In, and no status PDU but, at
	// ErrorRecoveryLevel 2, the status of a task.
	RetainBytes int
	// BusyPoll is how long a connection's reader, in full feature phase,
	// keeps trying a socket that has nothing to read before it waits to
	// be woken (see [pdu.Reader.SetBusyPoll]), while the connection holds
	// at most one command: it lowers the latency of each command at queue
	// depth 1, where the reader would otherwise sleep between a response
	// and the next command, at the price of CPU time spent spinning. With
	// more commands held it spins only for the rest of a PDU that has
	// begun to arrive. It suits few connections with cores to spare: with
	// many busy connections on few cores the spins compete with the work
	// (16 sessions at queue depth 8 on 2 cores, TestLoadWithFaults, did a
	// third fewer commands with it). Default 0, no spinning.
	BusyPoll time.Duration
}

const (
	defaultCmdSNWindow    = 32
	defaultMaxTasks       = 32
	defaultMaxDataLength  = 32 << 20
	defaultLoginTimeout   = 30 * time.Second
	defaultMaxSessions    = 1024
	defaultDataOutTimeout = 30 * time.Second
	defaultMaxLogins      = 128
	defaultWriteTimeout   = 60 * time.Second
	defaultMaxPending     = 128
	defaultMaxConnections = 8
)

func (l Limits) withDefaults() Limits {
	if l.CmdSNWindow == 0 {
		l.CmdSNWindow = defaultCmdSNWindow
	}
	if l.MaxTasks <= 0 {
		l.MaxTasks = defaultMaxTasks
	}
	if l.MaxDataLength == 0 {
		l.MaxDataLength = defaultMaxDataLength
	}
	if l.LoginTimeout <= 0 {
		l.LoginTimeout = defaultLoginTimeout
	}
	if l.NOPInTimeout <= 0 {
		l.NOPInTimeout = l.NOPInInterval
	}
	if l.DataOutTimeout == 0 {
		l.DataOutTimeout = defaultDataOutTimeout
	}
	if l.MaxSessions <= 0 {
		l.MaxSessions = defaultMaxSessions
	}
	if l.MaxLogins <= 0 {
		l.MaxLogins = defaultMaxLogins
	}
	if l.WriteTimeout == 0 {
		l.WriteTimeout = defaultWriteTimeout
	}
	if l.MaxPendingTasks <= 0 {
		l.MaxPendingTasks = defaultMaxPending
	}
	if l.RetainBytes == 0 {
		l.RetainBytes = defaultRetainBytes
	}
	if l.MaxConnections <= 0 {
		l.MaxConnections = defaultMaxConnections
	}
	l.MaxConnections = min(l.MaxConnections, 65535)
	return l
}

// Server is the target side of iSCSI (RFC 7143 §4 to §11) for one portal
// group: it runs the login of each connection through package login,
// then the full feature phase, feeding SCSI commands to the logical units
// of its Targets.
//
// A Server is configured by setting its fields before the first call to
// Serve or ServeConn; they must not change afterwards, except that
// SetTargets replaces the targets while serving. Its methods are safe for
// use by many goroutines.
type Server struct {
	// Targets are the iSCSI targets first offered; SetTargets replaces
	// them. SendTargets reports each of them with the local address of the
	// connection it is asked on (RFC 7143 §13.3). Each Name must be a
	// valid iSCSI name (RFC 7143 §4.2.7); names are compared in their
	// normalized form (RFC 3722), so a target configured as
	// "iqn.2001-04.org.Gentoo:Disk1" is found by a login naming
	// "iqn.2001-04.org.gentoo:disk1".
	Targets []Target
	// PortalGroupTag is the target portal group tag (RFC 7143 §13.9).
	// Zero is taken as 1.
	PortalGroupTag uint16
	// CHAP finds the CHAP secret of an initiator (and the target's mutual
	// credentials) for the targets that require CHAP (RFC 7143 §12.1.3).
	CHAP login.CHAPLookup
	// CHAPAlgorithms are the CHAP_A values accepted, in order of
	// preference; nil means login.DefaultCHAPAlgorithms.
	CHAPAlgorithms []login.CHAPAlgorithm
	// AllowShortSecrets accepts CHAP secrets shorter than
	// login.MinCHAPSecretLength.
	AllowShortSecrets bool
	// DisableDiscovery refuses discovery sessions (RFC 7143 §13.21).
	DisableDiscovery bool
	// DiscoveryAuthMethods are the AuthMethod values (RFC 7143 §12.1)
	// accepted for discovery sessions, in order of preference; {"CHAP"}
	// requires CHAP, with CHAP called with an empty target name. Nil
	// means {"None"}.
	DiscoveryAuthMethods []string
	// Settings are the operational values negotiated at login (RFC 7143
	// §13); nil means login.DefaultSettings() with MaxConnections raised
	// to Limits.MaxConnections and ErrorRecoveryLevel 2 offered.
	// ErrorRecoveryLevel 0, 1 and 2 are implemented (RFC 7143 §7.1.4,
	// §13.20; level 2, connection recovery, in reassign.go); the outcome
	// is the lower of both offers. MaxConnections is answered at most
	// Limits.MaxConnections (§13.2).
	Settings *login.Settings
	// Logger receives the events of sessions and connections; nil
	// discards them.
	Logger *slog.Logger
	// Limits bound the resources one initiator can hold.
	Limits Limits

	initOnce sync.Once
	tpgt     uint16
	limits   Limits
	log      *slog.Logger
	targets  atomic.Pointer[targetSet]
	registry login.MemoryRegistry

	// logins holds a token for each connection in its login phase
	// (Limits.MaxLogins).
	logins chan struct{}

	mu       sync.Mutex
	sessions map[uint16]*session
	async    asyncState // Shutdown (async.go)

	// onCmdSNWait, when set (by tests), is called when a command starts
	// waiting for the commands before it (conn.awaitCmdSN).
	onCmdSNWait func(cmdSN uint32)
	lunReg      luRegistry  // logical units in use (lunchange.go)
	stats       serverStats // error recovery counters (recovery.go)
}

// ErrTooManyLogins is returned by ServeConn for a connection it closed at
// once because Limits.MaxLogins connections were already logging in.
var ErrTooManyLogins = errors.New("session: too many connections in their login phase")

// ErrInvalidConfig is matched (errors.Is) by the *ConfigError that Serve
// and ServeConn return for a Server whose configuration cannot be served,
// as disk.ErrInvalidConfig is by the *disk.ConfigError of disk.New.
var ErrInvalidConfig = errors.New("session: invalid target configuration")

// ErrTargetConfig is the old name of ErrInvalidConfig, the same error value.
//
// Deprecated: use ErrInvalidConfig.
var ErrTargetConfig = ErrInvalidConfig

// ConfigError is a Server configuration that cannot be served: Field names
// the field, Reason what is wrong with it.
type ConfigError struct {
	Field  string
	Reason string
}

// Error reports the field and the reason.
func (e *ConfigError) Error() string {
	return "session: invalid configuration: " + e.Field + ": " + e.Reason
}

// Is reports whether target is ErrInvalidConfig.
func (e *ConfigError) Is(target error) bool { return target == ErrInvalidConfig }

// targetSet is one configuration of targets, looked up by normalized name.
type targetSet struct {
	list   []*Target
	byName map[string]*Target
}

// newTargetSet validates ts as a whole and indexes it.
func newTargetSet(ts []Target) (*targetSet, error) {
	set := &targetSet{byName: make(map[string]*Target, len(ts))}
	for i := range ts {
		t := &ts[i]
		field := fmt.Sprintf("Targets[%d].Name", i)
		if t.Name == "" {
			return nil, &ConfigError{Field: field, Reason: "empty"}
		}
		n, err := iqn.Parse(t.Name)
		if err != nil {
			return nil, &ConfigError{Field: field, Reason: err.Error()}
		}
		if _, dup := set.byName[n.String()]; dup {
			return nil, &ConfigError{Field: field, Reason: "duplicate name " + t.Name}
		}
		numbers := make(map[uint16]scsi.LUN, len(t.LUNs))
		for lun, lu := range t.LUNs {
			lf := fmt.Sprintf("Targets[%d].LUNs[%v]", i, lun)
			if lu == nil {
				return nil, &ConfigError{Field: lf, Reason: "nil logical unit"}
			}
			// SAM-5 §4.7: REPORT LUNS and the BHS name each logical unit
			// by one single-level LUN; two encodings of one number
			// would be one logical unit to an initiator.
			n, err := lun.Number()
			if err != nil {
				return nil, &ConfigError{Field: lf, Reason: err.Error()}
			}
			if other, dup := numbers[n]; dup {
				return nil, &ConfigError{Field: lf, Reason: fmt.Sprintf("same logical unit number as %x", other[:2])}
			}
			numbers[n] = lun
		}
		set.byName[n.String()] = t
		set.list = append(set.list, t)
	}
	return set, nil
}

// target returns the target named name, compared in normalized form.
func (s *Server) target(name string) *Target {
	set := s.targets.Load()
	if set == nil {
		return nil
	}
	if t, ok := set.byName[name]; ok {
		return t
	}
	n, err := iqn.Parse(name)
	if err != nil {
		return nil
	}
	return set.byName[n.String()]
}

// SetTargets replaces the targets offered, while serving. ts is validated
// as a whole, as Targets is: on error nothing changes. A login after
// SetTargets returns sees the new targets; a session already logged in to
// a target that ts no longer holds keeps its target and logical units
// until it ends (RFC 7143 §11.14 logout, or connection loss). A session
// logged in to a target that ts holds with another LUN map reaches the
// new map at once: REPORT LUNS lists it, a LUN no longer in it answers
// LOGICAL UNIT NOT SUPPORTED (SPC-4 §4.2.1) while the tasks already sent
// to it complete on it, and the session gets the unit attention REPORTED
// LUNS DATA HAS CHANGED on its next command (SPC-4 §6.33, SAM-5 §5.14) and
// an Asynchronous Message with AsyncEvent 0 carrying it (RFC 7143
// §11.9.1). Released tells when a logical unit that ts no longer holds is
// unused, so that its backend may be closed. The Server keeps ts: it must
// not change afterwards.
func (s *Server) SetTargets(ts []Target) error {
	if err := s.init(); err != nil {
		return err
	}
	set, err := newTargetSet(ts)
	if err != nil {
		return err
	}
	s.updateLUNs(set)
	s.log.Info("targets replaced", "targets", len(set.list))
	return nil
}

func (s *Server) init() error {
	var err error
	s.initOnce.Do(func() {
		s.limits = s.Limits.withDefaults()
		s.log = s.Logger
		if s.log == nil {
			s.log = slog.New(slog.DiscardHandler)
		}
		s.tpgt = s.PortalGroupTag
		if s.tpgt == 0 {
			s.tpgt = 1
		}
		var set *targetSet
		if set, err = newTargetSet(s.Targets); err != nil {
			return
		}
		s.targets.Store(set)
		s.sessions = make(map[uint16]*session)
		s.logins = make(chan struct{}, s.limits.MaxLogins)
		s.registry.OnClose = s.reinstate
	})
	if err == nil && s.targets.Load() == nil {
		err = &ConfigError{Field: "Targets", Reason: "a previous call found the configuration invalid"}
	}
	return err
}

// settings returns the operational values offered for t, with the values
// this implementation supports forced: ErrorRecoveryLevel at most
// maxErrorRecoveryLevel (RFC 7143 §13.20), and at most
// Limits.MaxConnections connections per session (§13.2); for both the
// result is the minimum of both offers.
func (s *Server) settings(t *Target) *login.Settings {
	var st login.Settings
	switch {
	case t != nil && t.Settings != nil:
		st = *t.Settings
	case s.Settings != nil:
		st = *s.Settings
	default:
		st = login.DefaultSettings()
		st.MaxConnections = uint32(s.limits.MaxConnections)
		st.ErrorRecoveryLevel = maxErrorRecoveryLevel
	}
	st.ErrorRecoveryLevel = min(st.ErrorRecoveryLevel, maxErrorRecoveryLevel)
	st.MaxConnections = max(1, min(st.MaxConnections, uint32(s.limits.MaxConnections)))
	return &st
}

// visibleTargets returns the targets an initiator at remote may see.
func (s *Server) visibleTargets(initiatorName string, remote net.Addr) []*Target {
	var out []*Target
	for _, t := range s.targets.Load().list {
		if t.Allow == nil || t.Allow(initiatorName, remote) {
			out = append(out, t)
		}
	}
	return out
}

// authorizer combines t's Allow, for a connection from remote, with its
// Authorize.
func authorizer(t *Target, remote net.Addr) func(initiatorName, chapUser string) bool {
	if t.Allow == nil {
		return t.Authorize
	}
	return func(initiatorName, chapUser string) bool {
		if !t.Allow(initiatorName, remote) {
			return false
		}
		return t.Authorize == nil || t.Authorize(initiatorName, chapUser)
	}
}

func (s *Server) loginConfig(reg login.SessionRegistry, remote net.Addr) login.TargetConfig {
	return login.TargetConfig{
		Lookup: func(name string) (login.TargetInfo, bool) {
			t := s.target(name)
			if t == nil {
				return login.TargetInfo{}, false
			}
			return login.TargetInfo{
				Name: t.Name, Alias: t.Alias, AuthMethods: t.AuthMethods,
				Authorize: authorizer(t, remote), Settings: s.settings(t),
			}, true
		},
		PortalGroupTag:       s.tpgt,
		DisableDiscovery:     s.DisableDiscovery,
		DiscoveryAuthMethods: s.DiscoveryAuthMethods,
		CHAP:                 s.CHAP,
		CHAPAlgorithms:       s.CHAPAlgorithms,
		AllowShortSecrets:    s.AllowShortSecrets,
		Settings:             s.settings(nil),
		Sessions:             reg,
		CmdSNWindow:          s.limits.CmdSNWindow,
		// libiscsi repeats operational keys in every Login Request of the
		// operational stage (see login.TargetConfig.AllowRepeatedKeys).
		AllowRepeatedKeys: true,
	}
}

// Serve accepts connections on l and serves each with ServeConn on its own
// goroutine, until ctx is done or l fails. It closes l, waits for the
// connections it started to end (they end when ctx is done), and returns
// the error that stopped it: ctx.Err() after cancellation.
func (s *Server) Serve(ctx context.Context, l net.Listener) error {
	if err := s.init(); err != nil {
		l.Close()
		return err
	}
	stop := context.AfterFunc(ctx, func() { l.Close() })
	defer stop()
	var wg sync.WaitGroup
	defer wg.Wait()
	for {
		nc, err := l.Accept()
		if err != nil {
			l.Close()
			if ctx.Err() != nil {
				return ctx.Err()
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				continue
			}
			return err
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := s.ServeConn(ctx, nc); err != nil {
				s.log.Debug("connection ended", "remote", nc.RemoteAddr().String(), "err", err)
			}
		}()
	}
}

// ServeConn serves one connection: the login (RFC 7143 §6.3, bounded by
// Limits.LoginTimeout), then the full feature phase until the initiator
// logs out (§11.14), the connection fails, or ctx is done. It closes c
// before it returns. The error is nil after a logout or a clean close by
// the initiator between PDUs; otherwise it says why the connection ended
// (a *login.LoginError for a failed login).
func (s *Server) ServeConn(ctx context.Context, c net.Conn) error {
	defer c.Close()
	if err := s.init(); err != nil {
		return err
	}
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	stop := context.AfterFunc(ctx, func() { c.Close() })
	defer stop()

	select {
	case s.logins <- struct{}{}:
	default:
		s.log.Warn("connection refused: too many logins at once", "remote", c.RemoteAddr().String(), "max", s.limits.MaxLogins)
		return ErrTooManyLogins
	}
	r, w := pdu.NewReader(c), pdu.NewWriter(c)
	c.SetDeadline(time.Now().Add(s.limits.LoginTimeout))
	reg := &loginRegistry{srv: s}
	res, err := login.Accept(ctx, r, w, s.loginConfig(reg, c.RemoteAddr()))
	<-s.logins
	if err != nil {
		switch {
		case reg.opened != nil:
			s.leave(reg.opened, nil, reg.cid)
		case reg.joined != nil:
			s.leave(reg.joined, nil, reg.cid)
		}
		s.log.Warn("login failed", "remote", c.RemoteAddr().String(), "err", err)
		return err
	}
	c.SetDeadline(time.Time{})
	sess := reg.opened
	if sess != nil {
		sess.attach(res)
	} else {
		// A login that added a connection to an open session (RFC 7143
		// §6.3.1: the session's TSIH and a new CID); the session's
		// parameters and command numbering stay as they are.
		sess = reg.joined
	}
	cn := newConn(ctx, cancel, sess, c, r, w, res)
	s.log.Info("login", "remote", c.RemoteAddr().String(), "initiator", res.Session.InitiatorName,
		"target", res.Session.TargetName, "tsih", res.TSIH, "type", res.Session.SessionType.String(),
		"auth", res.AuthMethod, "chap_user", res.CHAPUser, "mutual_chap", res.MutualCHAP,
		slog.Group("negotiated",
			"header_digest", res.Conn.HeaderDigest, "data_digest", res.Conn.DataDigest,
			"max_recv_data_segment_length", res.Conn.MaxRecvDataSegmentLength,
			"max_xmit_data_segment_length", res.Conn.MaxXmitDataSegmentLength,
			"initial_r2t", res.Session.InitialR2T, "immediate_data", res.Session.ImmediateData,
			"max_burst_length", res.Session.MaxBurstLength, "first_burst_length", res.Session.FirstBurstLength,
			"max_outstanding_r2t", res.Session.MaxOutstandingR2T,
			"error_recovery_level", res.Session.ErrorRecoveryLevel))
	err = cn.serve()
	s.leave(sess, cn, cn.cid)
	return err
}

// loginRegistry is the login.SessionRegistry of one connection's login. It
// records the session a leading login opens in the Server as soon as the
// login machine opens it, before the final Login Response is sent, so that
// no reset or reinstatement misses a session its initiator already sees.
type loginRegistry struct {
	srv    *Server
	opened *session
	// joined is the open session a login adds a connection to.
	joined *session
	cid    uint16
}

// OpenSession implements login.SessionRegistry.
func (r *loginRegistry) OpenSession(key login.SessionKey, params login.SessionParams, cid uint16) (uint16, bool, error) {
	if err := r.srv.admitSession(key); err != nil {
		return 0, false, err
	}
	tsih, reinstated, err := r.srv.registry.OpenSession(key, params, cid)
	if err != nil {
		return tsih, reinstated, err
	}
	var t *Target
	if params.SessionType == login.SessionNormal {
		t = r.srv.target(key.TargetName)
	}
	sess := newSession(r.srv, t, key, tsih, params)
	sess.cid = cid
	sess.mcs.join(cid)
	sess.mcs.ready = make(chan struct{})
	r.srv.mu.Lock()
	r.srv.sessions[tsih] = sess
	r.srv.mu.Unlock()
	sess.initLUNs()
	r.opened, r.cid = sess, cid
	return tsih, reinstated, nil
}

// admitSession refuses a new session beyond Limits.MaxSessions, unless it
// reinstates one of the same initiator port and target (RFC 7143 §6.3.5),
// which replaces a session rather than adding one.
func (s *Server) admitSession(key login.SessionKey) error {
	if err := s.refuseDuringShutdown(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.sessions) < s.limits.MaxSessions {
		return nil
	}
	port := scsi.ISCSIInitiatorPortName(key.InitiatorName, key.ISID)
	for _, ss := range s.sessions {
		if ss.nexus.InitiatorPort == port && ss.targetName == key.TargetName {
			return nil
		}
	}
	return fmt.Errorf("%w: %d sessions open (Limits.MaxSessions)", login.ErrOutOfResources, s.limits.MaxSessions)
}

// reinstate closes the session a new login replaces (RFC 7143 §6.3.5:
// session reinstatement) and waits until it has ended, so that its tasks
// are gone before the new session's first command.
func (s *Server) reinstate(tsih, cid uint16, wholeSession bool) {
	s.mu.Lock()
	sess := s.sessions[tsih]
	s.mu.Unlock()
	if sess == nil {
		return
	}
	s.log.Info("session reinstatement", "tsih", tsih)
	sess.close()
	<-sess.ended
}

// sessionsOf returns the sessions of target t, by normalized name: a
// session logged in before SetTargets replaced t counts.
func (s *Server) sessionsOf(t *Target) []*session {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []*session
	for _, sess := range s.sessions {
		if sess.target == t || t != nil && sess.target != nil && normalizedName(sess.targetName) == normalizedName(t.Name) {
			out = append(out, sess)
		}
	}
	return out
}

// gapTimeout is how long a gap in the command sequence may stay open
// (conn.awaitCmdSN, cmdorder.go): DataOutTimeout, or its default when that
// is disabled.
func (l *Limits) gapTimeout() time.Duration {
	if l.DataOutTimeout <= 0 {
		return defaultDataOutTimeout
	}
	return l.DataOutTimeout
}
