package session

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-iscsi/iscsi/login"
	"github.com/go-iscsi/iscsi/pdu"
	"github.com/go-iscsi/iscsi/scsi"
)

// DefaultLoginTimeout bounds the login of one connection when
// Options.LoginTimeout is zero.
const DefaultLoginTimeout = 15 * time.Second

// DefaultSNACKTimeout bounds the wait for the answer to a SNACK (RFC 7143
// §7.2) when Options.SNACKTimeout is zero.
const DefaultSNACKTimeout = 5 * time.Second

// DefaultRetryTimeout is the Options.RetryTimeout used when it is zero.
const DefaultRetryTimeout = 2 * time.Second

// maxInitiatorERL is the highest ErrorRecoveryLevel the initiator
// implements (RFC 7143 §7.1.4: level 1, digest failure recovery; level 2,
// connection recovery).
const maxInitiatorERL = 2

// RecoveryPolicy says what happens when the connection of a session fails
// (a read or write error, a NOP-Out ping unanswered, an Asynchronous
// Message announcing the drop): with ErrorRecoveryLevel 0 the session is
// reinstated (RFC 7143 §6.3.5, §7.1.4.3: a login with the same ISID and
// TSIH 0 that replaces the old session) after DefaultTime2Wait, and the
// policy decides the fate of the commands that were unfinished.
type RecoveryPolicy uint8

const (
	// RecoveryFail reinstates the session and fails every unfinished
	// command with a *CommandError wrapping ErrConnectionLost: the target
	// may or may not have executed it.
	RecoveryFail RecoveryPolicy = iota
	// RecoveryRetry reinstates the session and issues the unfinished
	// commands again on it, in their original CmdSN order, each at most
	// Options.RetryLimit times; a command that runs out of retries, or
	// whose Data-Out comes from a DataOutReader that is not an io.Seeker
	// (which cannot be read twice), fails as with RecoveryFail.
	RecoveryRetry
	// RecoveryNone does not reinstate: the session ends with its
	// connection, and every command fails with ErrConnectionLost.
	RecoveryNone
)

// String names the policy as its constant does.
func (p RecoveryPolicy) String() string {
	switch p {
	case RecoveryFail:
		return "RecoveryFail"
	case RecoveryRetry:
		return "RecoveryRetry"
	case RecoveryNone:
		return "RecoveryNone"
	}
	return "RecoveryPolicy(" + strconv.Itoa(int(p)) + ")"
}

// RecoveryReissue is the former name of RecoveryRetry.
//
// Deprecated: use RecoveryRetry.
const RecoveryReissue = RecoveryRetry

// DefaultRetryLimit is the number of times RecoveryRetry issues a command
// again when Options.RetryLimit is zero.
const DefaultRetryLimit = 3

// AsyncEvent is a SCSI asynchronous event a target reported in an
// Asynchronous Message with AsyncEvent 0 (RFC 7143 §11.9.1): the LUN and
// the sense data that describes it.
type AsyncEvent struct {
	LUN scsi.LUN
	// Sense is the sense data as received (the data segment after its
	// 2-byte SenseLength, RFC 7143 §11.9.4); Parsed is its decoding, nil
	// when it does not parse.
	Sense  []byte
	Parsed *scsi.Sense
}

// Options configure an initiator session or a discovery session.
type Options struct {
	// InitiatorName is this node's iSCSI name (RFC 7143 §4.2.7), required;
	// InitiatorAlias is optional (§13.7).
	InitiatorName, InitiatorAlias string
	// TargetName is the target to log in to (RFC 7143 §13.4); required
	// for Dial, unused by Discover.
	TargetName string
	// ISID is the initiator part of the session identifier (RFC 7143
	// §11.12.5); zero means a random ISID (pdu.RandomISID).
	ISID pdu.ISID
	// CHAP authenticates the initiator (RFC 7143 §12.1.3); MutualCHAP
	// also authenticates the target.
	CHAP, MutualCHAP *login.CHAPCredentials
	// CHAPAlgorithms are the CHAP_A values offered, strongest first; nil
	// means login.DefaultCHAPAlgorithms.
	CHAPAlgorithms []login.CHAPAlgorithm
	// HeaderDigest and DataDigest propose CRC32C with None as fallback
	// (RFC 7143 §13.1). They override the digests of Settings.
	HeaderDigest, DataDigest bool
	// ErrorRecoveryLevel is the ErrorRecoveryLevel proposed (RFC 7143
	// §13.20) when it is above Settings.ErrorRecoveryLevel; the target
	// answers the smaller of its value and ours. At level 1 a Data-In lost
	// to a digest error is asked again with a Data/R2T SNACK, a lost
	// response with a Status SNACK, and a Data-In with the A bit is
	// acknowledged (§7.1.4.1, §7.2, §11.16); level 1 and above also
	// proposes MaxOutstandingR2T 1 when DataSequenceInOrder is Yes, as
	// §13.19 requires. At level 2 a failed connection is recovered alone
	// (§7.1.4.3): a new connection with its CID takes its place and its
	// commands over with TASK REASSIGN (§11.5.1); a command the target
	// does not reassign, or all of them when no connection can be logged
	// in within Time2Retain, is recovered as at level 0 (Recovery).
	ErrorRecoveryLevel uint8
	// SNACKTimeout bounds the wait for the PDUs a SNACK asks for again
	// (RFC 7143 §7.2); when they do not come the connection is dropped and
	// recovered as at ErrorRecoveryLevel 0 (Recovery). Zero means
	// DefaultSNACKTimeout.
	SNACKTimeout time.Duration
	// RetryTimeout, at ErrorRecoveryLevel 1 and 2, is how long a command
	// may stay unacknowledged, the target's ExpCmdSN standing at its
	// CmdSN, before the initiator pings the connection and, if ExpCmdSN
	// still stands there (the target never got the command: its PDU was
	// dropped for a header digest error, §7.8), sends it again with its
	// ITT, CmdSN and data (a retry, RFC 7143 §6.2.1), which fills the gap
	// its loss left in the command sequence. Zero means
	// DefaultRetryTimeout. A command whose data comes from a
	// DataOutReader that is not an io.Seeker is not retried.
	RetryTimeout time.Duration
	// Settings are the operational values proposed; nil means
	// login.DefaultSettings().
	Settings *login.Settings
	// LoginTimeout bounds the login of one connection; zero means
	// DefaultLoginTimeout.
	LoginTimeout time.Duration
	// NOPInterval, when positive, turns on a NOP-Out keep-alive (RFC 7143
	// §11.18): after NOPInterval without any PDU from the target the
	// initiator sends a NOP-Out ping (ITT other than 0xffffffff, so the
	// target must answer with a NOP-In, §11.19); when no NOP-In comes
	// within NOPTimeout (zero means NOPInterval) the connection is
	// declared dead and recovered as Recovery says. Target NOP-In pings
	// are always answered.
	NOPInterval, NOPTimeout time.Duration
	// Recovery says what happens when the connection fails.
	Recovery RecoveryPolicy
	// RetryLimit bounds how many times RecoveryRetry issues one command
	// again; zero means DefaultRetryLimit.
	RetryLimit int
	// Dialer opens the TCP connection; nil means a net.Dialer.
	Dialer func(ctx context.Context, network, addr string) (net.Conn, error)
	// Logger receives protocol events; nil means silent.
	Logger *slog.Logger
	// BusyPoll is how long each connection's reader, in full feature
	// phase, keeps trying a socket that has nothing to read before it
	// waits to be woken (see [pdu.Reader.SetBusyPoll]), while the
	// connection has at most one command outstanding: it lowers the
	// latency of each command at queue depth 1, at the price of CPU time
	// spent spinning while a response is awaited. With more commands
	// outstanding it spins only for the rest of a PDU that has begun to
	// arrive. 0, the default, does not spin.
	BusyPoll time.Duration
	// Connections is the number of connections the session opens (RFC
	// 7143 §4.2.2, several connections per session); zero means 1. The
	// number used is the smaller of Connections and the MaxConnections
	// negotiated at the leading login (§13.2), which proposes Connections
	// when Settings proposes fewer. The first connection carries the
	// leading login; each further one logs in with the session's TSIH and
	// a CID of its own (§6.3.1).
	Connections int
	// ConnectionPolicy picks the connection each command is sent on when
	// the session has several; the command, its Data-Out and the target's
	// R2Ts, Data-In and status then stay on that connection (connection
	// allegiance, RFC 7143 §4.2.1).
	ConnectionPolicy ConnectionPolicy
	// ConnectionRecovery says how a failed connection of a session at
	// ErrorRecoveryLevel 2 is recovered (RFC 7143 §7.1.4.3): on another
	// connection of the session after a Logout removing it for recovery,
	// or by logging in again with its CID.
	ConnectionRecovery ConnectionRecoveryMethod
	// OnAsyncEvent, if set, is called from the connection's reader with
	// each SCSI asynchronous event (AsyncEvent 0, RFC 7143 §11.9.1); it
	// must not block. The other events are acted on by the session.
	OnAsyncEvent func(AsyncEvent)
}

// LoginError is a login the target refused (RFC 7143 §11.13.5): its
// Status holds the Status-Class and Status-Detail, and Redirect the
// TargetAddress of a redirection (class 1).
type LoginError = login.LoginError

var (
	// ErrClosed: the initiator session was closed or logged out; no
	// command can be sent on it.
	ErrClosed = errors.New("iscsi: initiator session closed")
	// ErrConnectionLost: the connection failed before the command or
	// request completed; the target may or may not have executed it.
	ErrConnectionLost = errors.New("iscsi: connection lost")
	// ErrLogoutUnanswered: the target closed the connection after the
	// Logout Request was sent, without a Logout Response (the error also
	// matches ErrConnectionLost). The session ends with its last
	// connection all the same, unless the target keeps its state for a
	// reinstatement within DefaultTime2Retain (RFC 7143 §6.3.5).
	ErrLogoutUnanswered = errors.New("iscsi: connection closed before the Logout Response")
	// ErrOptions: the Options or the Command are not usable.
	ErrOptions = errors.New("iscsi: invalid options")
)

// CommandError is a SCSI command that did not complete with a status:
// the target answered with an iSCSI Response other than Command Completed
// (RFC 7143 §11.4.3), or the data phase broke a rule of RFC 7143 §11.7 /
// §11.8, or the connection was lost. A non-GOOD SCSI status is not a
// CommandError: it is in Response.Status.
type CommandError struct {
	// ITT is the Initiator Task Tag of the command.
	ITT uint32
	// Response is the iSCSI Response code when the target sent one.
	Response pdu.ResponseCode
	// Err is the cause.
	Err error
}

// Error says which command failed and why.
func (e *CommandError) Error() string {
	return fmt.Sprintf("iscsi: command ITT 0x%08x: %v", e.ITT, e.Err)
}

// Unwrap returns the cause.
func (e *CommandError) Unwrap() error { return e.Err }

// errTargetFailure is the cause of a CommandError for a SCSI Response with
// Response 0x01, Target Failure (RFC 7143 §11.4.3).
var errTargetFailure = errors.New("target failure")

// errDataPhase is the cause of a CommandError for data that breaks the
// rules of RFC 7143 §11.7 or §11.8.
var errDataPhase = errors.New("data phase violation")

// MaxCDBLength is the longest CDB a [Command] may carry, the longest SAM-5
// allows: 16 bytes go in the SCSI Command's CDB field and the rest, up to
// 244, in an Extended CDB AHS (RFC 7143 §11.2.2.3).
const MaxCDBLength = 260

// Command is one SCSI command (RFC 7143 §11.3).
type Command struct {
	LUN scsi.LUN
	// CDB is the command descriptor block, 1 to MaxCDBLength bytes. The
	// first 16 go in the SCSI Command's CDB field, the rest in an Extended
	// CDB AHS (RFC 7143 §11.2.2.3, §11.3.5).
	CDB       []byte
	Attribute pdu.TaskAttribute
	// DataOut is the data to write (W bit, RFC 7143 §11.3.1). As an
	// alternative, DataOutReader supplies DataOutLength bytes read in
	// order of buffer offset; the target must ask for them in order
	// (DataSequenceInOrder=Yes, the default). A DataOutReader that is also
	// an io.Seeker (an *os.File, a *bytes.Reader, an *io.SectionReader)
	// is read again from the position it had when the command was issued
	// whenever the data is asked for again (a retry, a reassignment, a
	// recovery R2T); one that is not cannot be sent twice.
	DataOut       []byte
	DataOutReader io.Reader
	DataOutLength int
	// DataIn receives the data read (R bit): each Data-In PDU is placed
	// straight into it at its BufferOffset (RFC 7143 §11.7.5). Its length
	// is the ExpectedDataTransferLength.
	DataIn []byte
}

// Response is the outcome of a SCSI command that completed with a status
// (RFC 7143 §11.4).
type Response struct {
	Status scsi.Status
	// Sense is the sense data, nil when none came (RFC 7143 §11.4.7);
	// RawSense the bytes as received.
	Sense    *scsi.Sense
	RawSense []byte
	// DataInLength is the number of bytes placed in DataIn.
	DataInLength int
	// ResidualCount, Underflow and Overflow are the residual fields of
	// RFC 7143 §11.4.5.
	ResidualCount       uint32
	Underflow, Overflow bool
}

// Session is the initiator side of one iSCSI session (RFC 7143 §3.4) in
// full feature phase, over Options.Connections connections (§4.2.1) at
// ErrorRecoveryLevel 0 or 1: when any of them fails the session is
// reinstated, with all its connections, as Options.Recovery says; at level
// 1 PDUs lost to digest errors are first asked for again with SNACKs
// (§7.2, §11.16). Its methods are safe for concurrent use.
type Session struct {
	opts Options
	addr string

	// seqMu orders the assignment of CmdSN with the write of the PDU that
	// carries it, so commands leave in CmdSN order (RFC 7143 §3.2.2.1).
	seqMu sync.Mutex

	mu       sync.Mutex
	res      *login.Result
	c        *initiatorConn // the current connection
	state    sessionState
	up       chan struct{} // closed when a recovery ends
	cmdSN    uint32        // the CmdSN of the next non-immediate command
	expCmdSN uint32
	maxCmdSN uint32
	window   chan struct{} // closed when MaxCmdSN advances or the conn dies
	// windowWanted says a goroutine waits on window.
	windowWanted bool
	// conns are the connections in full feature phase (c is the first of
	// them); mcs the rest of the connection bookkeeping (initiator_mcs.go).
	conns   []*initiatorConn
	mcs     initiatorMCS
	tasks   map[uint32]*initiatorTask
	nextITT uint32
	err     error // why the session ended
	free    []*initiatorTask
	stats   Stats
	// wait and retain override DefaultTime2Wait and DefaultTime2Retain
	// for the next recovery when waitSet (Parameter2 and Parameter3 of an
	// Asynchronous Message, RFC 7143 §11.9.1); logoutAsked is set once the
	// target asked for a logout.
	wait, retain time.Duration
	waitSet      bool
	logoutAsked  bool

	// closing is closed by Close: it ends a recovery in progress.
	closing   chan struct{}
	closeOnce sync.Once
	bg        sync.WaitGroup // keep-alive, logout and renegotiation goroutines
	loops     sync.WaitGroup // read loops (and the recoveries they run)
	// inflight counts the SCSI tasks not yet released; idle, when not
	// nil, is closed when it drops to zero.
	inflight int
	idle     chan struct{}
}

type sessionState uint8

const (
	stateUp sessionState = iota
	stateRecovering
	stateClosed
)

// Stats are counters of a session's life, for monitoring and tests.
type Stats struct {
	// Reinstatements counts the logins that replaced the session after
	// its connection failed (RFC 7143 §6.3.5).
	Reinstatements uint64
	// ConnectionsRecovered counts the failed connections recovered at
	// ErrorRecoveryLevel 2 (RFC 7143 §7.1.4.3), by reinstatement or onto
	// another connection; TasksReassigned the commands moved with TASK
	// REASSIGN (§11.5.1); RecoveryLogouts the Logouts with reason code 2,
	// "remove the connection for recovery" (§11.14.1), the target
	// accepted for a failed connection.
	ConnectionsRecovered, TasksReassigned, RecoveryLogouts uint64
	// CommandsRetried counts the commands issued again: on a reinstated
	// session, after a TASK REASSIGN found them unknown, or, as
	// LostCommandsRetried also counts, at ErrorRecoveryLevel 1 and 2 when
	// the target did not receive them (Options.RetryTimeout);
	// CommandsFailed those failed because their connection was lost
	// (RecoveryFail, an exhausted RetryLimit, or a failed recovery).
	CommandsRetried, CommandsFailed, LostCommandsRetried uint64
	// NOPTimeouts counts the NOP-Out pings that went unanswered within
	// Options.NOPTimeout (RFC 7143 §11.18).
	NOPTimeouts uint64
	// DataDigestErrors counts the PDUs received with a data digest error
	// (RFC 7143 §7.8); at ErrorRecoveryLevel 1 each is asked for again.
	DataDigestErrors uint64
	// HeaderDigestErrors counts the PDUs received with a header digest
	// error (RFC 7143 §7.8).
	HeaderDigestErrors uint64
	// DataSNACKs counts the Data/R2T SNACKs asking for Data-In again
	// (RFC 7143 §11.16.1, §7.2.1); R2TSNACKs those asking for R2Ts.
	DataSNACKs, R2TSNACKs uint64
	// StatusSNACKs counts the Status SNACKs asking for lost responses
	// (RFC 7143 §11.16.1, §7.2.2).
	StatusSNACKs uint64
	// DataACKs counts the DataACK SNACKs answering Data-In with the A bit
	// (RFC 7143 §11.7.2, §11.16.1).
	DataACKs uint64
	// SNACKTimeouts counts the connections dropped because a SNACK went
	// unanswered within Options.SNACKTimeout (RFC 7143 §7.2).
	SNACKTimeouts uint64
	// ReconnectAttempts counts the logins tried by recoveries, successful
	// or not.
	ReconnectAttempts uint64
	// Connections is the number of connections of the session in full
	// feature phase (RFC 7143 §4.2.2), and PerConnection the counters of
	// each, in the order they joined.
	Connections   int
	PerConnection []ConnectionStats
}

// Stats returns the session's counters.
func (s *Session) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.stats
	s.connStatsLocked(&st)
	return st
}

// initiatorConn is one connection of an initiator session: its framing
// and its own StatSN sequence (RFC 7143 §4.2.2.2).
type initiatorConn struct {
	nc        net.Conn
	r         *pdu.Reader
	expStatSN atomic.Uint32
	cid       uint16
	maxXmit   atomic.Uint32
	lastRecv  atomic.Int64 // UnixNano of the last PDU header read
	// erl is the session's ErrorRecoveryLevel (RFC 7143 §13.20), stat
	// the StatSN state the read loop keeps at level 1; cause, set once,
	// is why the connection was dropped when the read loop's error does
	// not say it.
	erl     uint8
	stat    statTracker
	probing atomic.Bool // a NOP-Out ping after a header digest error is out
	// statusUntil is the StatSN that ExpStatSN must pass before the
	// Status SNACK timeout.
	statusUntil atomic.Uint32
	cause       error
	causeOnce   sync.Once

	dead     chan struct{} // closed by kill
	deadOnce sync.Once
	readDone chan struct{} // closed when the read loop has ended
	// ready is closed once the recovery that opened the connection has
	// issued the retried commands on it.
	ready chan struct{}

	// Guarded by Session.mu: load counts the SCSI commands issued on the
	// connection and not yet released, issued all that were ever issued
	// on it; draining says it takes no new command (it is being logged
	// out), and drained, when not nil, is closed once load is zero.
	load int
	// loadNow is load for the read loop, which reads it without the
	// session's lock to decide whether to spin (Options.BusyPoll).
	loadNow  atomic.Int32
	issued   uint64
	draining bool
	drained  chan struct{}

	// Guarded by wmu: the PDUs of goroutines that write at once go out
	// in one vectored write (see queue). w holds the PDUs queued and not
	// yet being sent, the batch numbered batch; spare is the other
	// Writer, nil while a goroutine sends its queue (sending). sent
	// counts the batches whose write has returned; werr is the first
	// write error and errBatch its batch: that batch and every later one
	// failed, and the connection is unusable.
	wmu   sync.Mutex
	wcond sync.Cond
	// finishing counts the SCSI tasks of the connection that have
	// completed and whose callers have not yet released them.
	finishing atomic.Int32
	w         *pdu.Writer
	spare     *pdu.Writer
	sending   bool
	batch     uint64
	sent      uint64
	werr      error
	errBatch  uint64
}

func newInitiatorConn(nc net.Conn) *initiatorConn {
	c := &initiatorConn{
		nc: nc, r: pdu.NewReader(nc), w: pdu.NewWriter(nc), spare: pdu.NewWriter(nc),
		dead: make(chan struct{}), readDone: make(chan struct{}), ready: make(chan struct{}),
	}
	c.wcond.L = &c.wmu
	return c
}

// kill closes the connection; its read loop then ends and the session
// recovers or ends (RFC 7143 §7.1.1: a connection in doubt is dropped).
func (c *initiatorConn) kill() {
	c.deadOnce.Do(func() {
		close(c.dead)
		c.nc.Close()
	})
}

// write sends one PDU, stamping ExpStatSN at offset 28 (all
// initiator PDUs that carry it, RFC 7143 §11) unless stamp is false. It
// returns once the PDU is written, with the same guarantees as
// [pdu.Writer.Write]: data may be reused then.
func (c *initiatorConn) write(h *pdu.BHS, data []byte, stamp bool) error {
	b, err := c.queue(h, nil, data, stamp)
	if err != nil {
		return err
	}
	return c.flushed(b)
}

// writeCommand sends t's SCSI Command again as it was built, with its
// AHS and immediate data.
func (c *initiatorConn) writeCommand(t *initiatorTask) error {
	b, err := c.queue(&t.hdr, t.ahs, t.immediate, true)
	if err != nil {
		return err
	}
	return c.flushed(b)
}

// queue frames one PDU as write does and returns the batch it is in; the
// PDU goes out, in the order queued, once [initiatorConn.flushed] is
// called for its batch. A caller that must keep PDUs in order (CmdSN, RFC
// 7143 §3.2.2.1) queues under its own lock and waits for the write after
// releasing it, so that goroutines issuing commands at once share one
// vectored write instead of taking turns at the socket. h is copied; data
// must stay unchanged until flushed returns.
func (c *initiatorConn) queue(h *pdu.BHS, ahs, data []byte, stamp bool) (uint64, error) {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if c.werr != nil {
		return 0, c.werr
	}
	if stamp {
		binary.BigEndian.PutUint32(h[28:32], c.expStatSN.Load())
	}
	if err := c.w.Queue(h, ahs, data); err != nil {
		return 0, err
	}
	return c.batch, nil
}

// flushed returns once batch b has been written, writing it itself when no
// other goroutine is writing: the first goroutine to wait sends every PDU
// queued so far, while the others queue behind it for the next write.
func (c *initiatorConn) flushed(b uint64) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	for c.sent <= b {
		if c.werr != nil && b >= c.errBatch {
			return c.werr
		}
		if c.sending {
			c.wcond.Wait()
			continue
		}
		// No write is running, so batch b is the one being filled.
		c.sending = true
		if c.finishing.Load() > 0 {
			// Callers whose commands just completed are about to issue
			// their next ones: let them queue into this write.
			c.wmu.Unlock()
			runtime.Gosched()
			c.wmu.Lock()
		}
		w := c.w
		c.spare.SetDigests(w.Digests())
		c.w, c.spare = c.spare, nil
		c.batch++
		c.wmu.Unlock()
		err := w.Flush()
		c.wmu.Lock()
		c.spare, c.sending = w, false
		if err != nil && c.werr == nil {
			c.werr, c.errBatch = err, c.sent
		}
		c.sent++
		c.wcond.Broadcast()
	}
	if c.werr != nil && b >= c.errBatch {
		return c.werr
	}
	return nil
}

func (s *Session) logger() *slog.Logger {
	if s.opts.Logger != nil {
		return s.opts.Logger
	}
	return slog.New(slog.DiscardHandler)
}

func withPort(addr string) string {
	if _, _, err := net.SplitHostPort(addr); err == nil {
		return addr
	}
	return net.JoinHostPort(trimBrackets(addr), strconv.Itoa(DefaultPort))
}

func trimBrackets(h string) string {
	if len(h) > 1 && h[0] == '[' && h[len(h)-1] == ']' {
		return h[1 : len(h)-1]
	}
	return h
}

// maxRedirects bounds the temporary redirections a login follows.
const maxRedirects = 2

// connect logs in as loginOnce does, following temporary redirections
// (status 0x0101, RFC 7143 §11.13.5) up to maxRedirects times; a permanent
// redirection (0x0102) is returned as a *LoginError for the caller to act
// on. When a CHAP login offering stronger algorithms than MD5 fails with
// an authentication failure (0x0201) or an initiator error (0x0200) it is
// tried once more offering MD5 alone: some targets accept CHAP_A=7
// (SHA-256) but compute SHA-1 for it, which no secret can satisfy, and
// fail the login with either status.
func connect(ctx context.Context, addr string, opts *Options, st login.SessionType) (*initiatorConn, *login.Result, error) {
	return connectAs(ctx, addr, opts, st, loginJoin{})
}

// connectAs is connect for a leading login (j zero) or a login adding a
// connection to the session j names.
func connectAs(ctx context.Context, addr string, opts *Options, st login.SessionType, j loginJoin) (*initiatorConn, *login.Result, error) {
	md5Only := false
	for redirects := 0; ; {
		o := *opts
		if md5Only {
			o.CHAPAlgorithms = []login.CHAPAlgorithm{login.CHAPMD5}
		}
		c, res, err := loginOnce(ctx, addr, &o, st, j)
		opts.ISID = o.ISID
		var le *LoginError
		if !errors.As(err, &le) {
			return c, res, err
		}
		switch {
		case le.Status == pdu.LoginTargetMovedTemporarily && len(le.Redirect) > 0 && redirects < maxRedirects:
			redirects++
			to := le.Redirect[0]
			addr = net.JoinHostPort(to.Host, strconv.Itoa(to.Port))
			if l := opts.Logger; l != nil {
				l.Info("iscsi initiator: login redirected", "to", addr)
			}
		case (le.Status == pdu.LoginAuthenticationFailure || le.Status == pdu.LoginInitiatorError) && opts.CHAP != nil && !md5Only && offersBeyondMD5(opts.CHAPAlgorithms):
			md5Only = true
		default:
			return nil, nil, err
		}
	}
}

func offersBeyondMD5(algs []login.CHAPAlgorithm) bool {
	if algs == nil {
		algs = login.DefaultCHAPAlgorithms
	}
	for _, a := range algs {
		if a != login.CHAPMD5 {
			return true
		}
	}
	return false
}

// loginOnce dials addr and logs in with st as the session type: a leading
// login when j is zero, else a login adding connection j.cid to session
// j.tsih (RFC 7143 §6.3.1).
func loginOnce(ctx context.Context, addr string, opts *Options, st login.SessionType, j loginJoin) (*initiatorConn, *login.Result, error) {
	if opts.InitiatorName == "" {
		return nil, nil, fmt.Errorf("%w: InitiatorName is required", ErrOptions)
	}
	if st == login.SessionNormal && opts.TargetName == "" {
		return nil, nil, fmt.Errorf("%w: TargetName is required", ErrOptions)
	}
	if opts.ISID == (pdu.ISID{}) {
		opts.ISID = pdu.RandomISID()
	}
	dial := opts.Dialer
	if dial == nil {
		var d net.Dialer
		dial = d.DialContext
	}
	timeout := opts.LoginTimeout
	if timeout <= 0 {
		timeout = DefaultLoginTimeout
	}
	lctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	nc, err := dial(lctx, "tcp", withPort(addr))
	if err != nil {
		return nil, nil, err
	}
	stop := context.AfterFunc(lctx, func() { nc.SetDeadline(time.Unix(1, 0)) })
	settings := login.DefaultSettings()
	if opts.Settings != nil {
		settings = *opts.Settings
	}
	// The R2T queue of a task holds maxOutstandingR2T entries.
	settings.MaxOutstandingR2T = min(settings.MaxOutstandingR2T, maxOutstandingR2T)
	if opts.HeaderDigest {
		settings.HeaderDigest = login.DigestPrefer
	}
	if opts.DataDigest {
		settings.DataDigest = login.DigestPrefer
	}
	// RFC 7143 §13.20: levels 0 to 2.
	settings.ErrorRecoveryLevel = min(max(settings.ErrorRecoveryLevel, opts.ErrorRecoveryLevel), maxInitiatorERL)
	if st != login.SessionNormal {
		// §13.21: a discovery session is at level 0.
		settings.ErrorRecoveryLevel = 0
	}
	if settings.ErrorRecoveryLevel > 0 && settings.DataSequenceInOrder {
		// §13.19: MaxOutstandingR2T is 1 at ErrorRecoveryLevel above
		// 0 with DataSequenceInOrder Yes.
		settings.MaxOutstandingR2T = 1
	}
	// RFC 7143 §13.2: propose as many connections as the session opens.
	if n := uint32(opts.Connections); st == login.SessionNormal && n > settings.MaxConnections {
		settings.MaxConnections = min(n, 65535)
	}
	cmdSN := uint32(1)
	if j.tsih != 0 {
		cmdSN = j.cmdSN
	}
	c := newInitiatorConn(nc)
	res, err := login.Initiate(lctx, c.r, c.w, login.InitiatorConfig{
		InitiatorName: opts.InitiatorName, InitiatorAlias: opts.InitiatorAlias,
		TargetName: opts.TargetName, SessionType: st, ISID: opts.ISID,
		InitiatorTaskTag: 0, CmdSN: cmdSN, TSIH: j.tsih, CID: j.cid,
		CHAP: opts.CHAP, MutualCHAP: opts.MutualCHAP, CHAPAlgorithms: opts.CHAPAlgorithms,
		SkipSecurity: opts.CHAP == nil, Settings: &settings,
	})
	if !stop() || err != nil {
		nc.Close()
		if err == nil || lctx.Err() != nil && ctx.Err() != nil {
			err = ctx.Err()
		} else if lctx.Err() != nil {
			err = fmt.Errorf("iscsi login: %w", context.DeadlineExceeded)
		}
		return nil, nil, err
	}
	nc.SetDeadline(time.Time{})
	c.expStatSN.Store(res.ExpStatSN)
	c.stat.next = res.ExpStatSN
	c.erl = res.Session.ErrorRecoveryLevel
	if j.tsih != 0 {
		c.erl = j.erl
	}
	// RFC 7143 §7.8, §7.1.4.1: at level 1 a PDU with a header digest
	// error is dropped, not the connection.
	c.r.SetHeaderDigestRecovery(c.erl > 0)
	c.cid = res.CID
	c.maxXmit.Store(res.Conn.MaxXmitDataSegmentLength)
	return c, res, nil
}

// Dial connects to the target portal at addr ("host[:port]", port 3260 by
// default), logs in to opts.TargetName as a normal session (RFC 7143
// §6.3), and returns the session in full feature phase.
func Dial(ctx context.Context, addr string, opts Options) (*Session, error) {
	c, res, err := connect(ctx, addr, &opts, login.SessionNormal)
	if err != nil {
		return nil, err
	}
	close(c.ready)
	s := &Session{
		opts: opts, addr: addr, res: res, c: c, conns: []*initiatorConn{c},
		cmdSN: res.CmdSN, expCmdSN: res.ExpCmdSN, maxCmdSN: res.MaxCmdSN,
		window:  make(chan struct{}),
		up:      make(chan struct{}),
		tasks:   make(map[uint32]*initiatorTask),
		nextITT: 1,
		closing: make(chan struct{}),
	}
	s.loops.Add(1)
	s.start(c)
	if err := s.openConnections(ctx, stateUp); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

// start runs the read loop of c and, when configured, its keep-alive.
func (s *Session) start(c *initiatorConn) {
	c.lastRecv.Store(time.Now().UnixNano())
	go s.readLoop(c)
	if s.opts.NOPInterval > 0 {
		s.bg.Go(func() { s.keepAlive(c) })
	}
	if c.erl > 0 {
		// Sessions are normal sessions here: Discover runs its own.
		s.bg.Go(func() { s.watchLost(c) })
	}
}

// Discover opens a discovery session to the portal at addr, asks for
// SendTargets=All (RFC 7143 §13.3, Appendix C), logs out and returns the
// targets with their portals and aliases.
func Discover(ctx context.Context, addr string, opts Options) ([]login.DiscoveredTarget, error) {
	opts.TargetName = ""
	c, res, err := connect(ctx, addr, &opts, login.SessionDiscovery)
	if err != nil {
		return nil, err
	}
	defer c.nc.Close()
	stop := context.AfterFunc(ctx, func() { c.nc.SetDeadline(time.Unix(1, 0)) })
	defer stop()
	x := &login.TextExchange{ITT: 1, CmdSN: res.CmdSN, ExpStatSN: c.expStatSN.Load(), MaxXmitDataSegmentLength: c.maxXmit.Load()}
	targets, err := login.SendTargets(ctx, c.r, c.w, x, "All")
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, err
	}
	// RFC 7143 §11.14: close the discovery session; a failure here does
	// not lose the answer already received.
	var h pdu.BHS
	lr := h.LogoutRequest()
	lr.Init()
	lr.SetImmediate(true)
	lr.SetReasonCode(pdu.LogoutCloseSession)
	lr.SetInitiatorTaskTag(2)
	lr.SetCmdSN(res.CmdSN)
	lr.SetExpStatSN(x.ExpStatSN)
	if c.w.Write(&h, nil, nil) == nil {
		c.r.Read()
	}
	return targets, nil
}

// Params returns the negotiated session parameters (MaxConnections among
// them, RFC 7143 §13.2; Stats tells the connections open) and the
// connection parameters of the session's first connection (a reinstatement
// negotiates them again).
func (s *Session) Params() (login.SessionParams, login.ConnParams) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.res.Session, s.res.Conn
}

// TSIH returns the target-assigned session handle (RFC 7143 §11.13.3); a
// reinstated session has a new one.
func (s *Session) TSIH() uint16 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.res.TSIH
}

// ISID returns the session's ISID (RFC 7143 §11.12.5); it survives
// reinstatement.
func (s *Session) ISID() pdu.ISID { return s.opts.ISID }
