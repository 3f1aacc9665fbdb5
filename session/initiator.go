package session

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
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

// RecoveryPolicy says what happens to unfinished commands when a session
// is reinstated after its connection failed (RFC 7143 §6.3.5, §7.1.4).
// Session reinstatement is not implemented yet: with either policy the
// unfinished commands fail with ErrConnectionLost.
type RecoveryPolicy uint8

const (
	// RecoveryFail fails every unfinished command with ErrConnectionLost.
	RecoveryFail RecoveryPolicy = iota
	// RecoveryReissue is meant to re-issue unfinished commands on the
	// reinstated session; it behaves as RecoveryFail until reinstatement
	// is implemented.
	RecoveryReissue
)

// AsyncEvent is a SCSI asynchronous event a target reported in an
// Asynchronous Message with AsyncEvent 0 (RFC 7143 §11.9.1): the LUN and
// the sense data that describes it.
type AsyncEvent struct {
	LUN   scsi.LUN
	Sense []byte
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
	// Settings are the operational values proposed; nil means
	// login.DefaultSettings().
	Settings *login.Settings
	// LoginTimeout bounds the login of one connection; zero means
	// DefaultLoginTimeout.
	LoginTimeout time.Duration
	// NOPInterval and NOPTimeout configure a NOP-Out keep-alive (RFC 7143
	// §11.18). Not implemented yet: the values are ignored. Target
	// NOP-In pings are always answered.
	NOPInterval, NOPTimeout time.Duration
	// Recovery says what happens to unfinished commands on reinstatement.
	Recovery RecoveryPolicy
	// Dialer opens the TCP connection; nil means a net.Dialer.
	Dialer func(ctx context.Context, network, addr string) (net.Conn, error)
	// Logger receives protocol events; nil means silent.
	Logger *slog.Logger
	// OnAsyncEvent, if set, is called from the connection's reader with
	// each SCSI asynchronous event (RFC 7143 §11.9); it must not block.
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

// Command is one SCSI command (RFC 7143 §11.3).
type Command struct {
	LUN scsi.LUN
	// CDB is the command descriptor block, at most 16 bytes (longer
	// CDBs need an Extended CDB AHS, RFC 7143 §11.3.3, not implemented).
	CDB       []byte
	Attribute pdu.TaskAttribute
	// DataOut is the data to write (W bit, RFC 7143 §11.3.1). As an
	// alternative, DataOutReader supplies DataOutLength bytes read in
	// order of buffer offset; the target must ask for them in order
	// (DataSequenceInOrder=Yes, the default).
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
// full feature phase, over one connection. Its methods are safe for
// concurrent use.
type Session struct {
	opts Options
	res  *login.Result
	c    *initiatorConn

	// seqMu orders the assignment of CmdSN with the write of the PDU that
	// carries it, so commands leave in CmdSN order (RFC 7143 §3.2.2.1).
	seqMu sync.Mutex

	mu       sync.Mutex
	cmdSN    uint32 // the CmdSN of the next non-immediate command
	expCmdSN uint32
	maxCmdSN uint32
	window   chan struct{} // closed when MaxCmdSN advances or the conn dies
	tasks    map[uint32]*initiatorTask
	nextITT  uint32
	closed   bool
	err      error // why the connection ended
	free     []*initiatorTask

	readDone chan struct{}
}

// initiatorConn is one connection of an initiator session: its framing
// and its own StatSN sequence (RFC 7143 §4.2.2.2).
type initiatorConn struct {
	nc        net.Conn
	r         *pdu.Reader
	wmu       sync.Mutex
	w         *pdu.Writer
	expStatSN atomic.Uint32
	cid       uint16
	maxXmit   uint32
}

// write sends one PDU, stamping ExpStatSN at offset 28 (all
// initiator PDUs that carry it, RFC 7143 §11) unless stamp is false.
func (c *initiatorConn) write(h *pdu.BHS, data []byte, stamp bool) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if stamp {
		binary.BigEndian.PutUint32(h[28:32], c.expStatSN.Load())
	}
	return c.w.Write(h, nil, data)
}

type taskKind uint8

const (
	kindSCSI taskKind = iota
	kindTMF
	kindLogout
)

// maxOutstandingR2T caps the MaxOutstandingR2T an initiator proposes
// (RFC 7143 §13.17).
const maxOutstandingR2T = 64

type r2tEvent struct {
	ttt, offset, length uint32
}

// initiatorTask is one outstanding task, keyed by ITT.
type initiatorTask struct {
	itt     uint32
	kind    taskKind
	cmd     *Command
	resp    Response
	r2t     chan r2tEvent
	done    chan struct{}
	err     error
	dataSN  uint32
	got     int
	tmfResp pdu.TaskManagementResponseCode
	logout  pdu.LogoutResponseCode
	sense   []byte
	scratch []byte
	tmfFn   pdu.TaskManagementFunction
	tmfLUN  uint64
}

// errAbortedByTMF is the cause of a CommandError for a command a task
// management function ended on the target (RFC 7143 §4.2.3.5, §11.5.1):
// the target sends no response for it.
var errAbortedByTMF = errors.New("aborted by task management")

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
// an authentication failure it is tried once more offering MD5 alone:
// some targets accept CHAP_A=7 (SHA-256) but compute SHA-1 for it, which
// no secret can satisfy.
func connect(ctx context.Context, addr string, opts *Options, st login.SessionType) (*initiatorConn, *login.Result, error) {
	md5Only := false
	for redirects := 0; ; {
		o := *opts
		if md5Only {
			o.CHAPAlgorithms = []login.CHAPAlgorithm{login.CHAPMD5}
		}
		c, res, err := loginOnce(ctx, addr, &o, st)
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
		case le.Status == pdu.LoginAuthenticationFailure && opts.CHAP != nil && !md5Only && offersBeyondMD5(opts.CHAPAlgorithms):
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

// loginOnce dials addr and logs in with st as the session type.
func loginOnce(ctx context.Context, addr string, opts *Options, st login.SessionType) (*initiatorConn, *login.Result, error) {
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
	c := &initiatorConn{nc: nc, r: pdu.NewReader(nc), w: pdu.NewWriter(nc)}
	res, err := login.Initiate(lctx, c.r, c.w, login.InitiatorConfig{
		InitiatorName: opts.InitiatorName, InitiatorAlias: opts.InitiatorAlias,
		TargetName: opts.TargetName, SessionType: st, ISID: opts.ISID,
		InitiatorTaskTag: 0, CmdSN: 1,
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
	c.cid = res.CID
	c.maxXmit = res.Conn.MaxXmitDataSegmentLength
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
	s := &Session{
		opts: opts, res: res, c: c,
		cmdSN: res.CmdSN, expCmdSN: res.ExpCmdSN, maxCmdSN: res.MaxCmdSN,
		window:   make(chan struct{}),
		tasks:    make(map[uint32]*initiatorTask),
		nextITT:  1,
		readDone: make(chan struct{}),
	}
	go s.readLoop()
	return s, nil
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
	x := &login.TextExchange{ITT: 1, CmdSN: res.CmdSN, ExpStatSN: c.expStatSN.Load(), MaxSegment: c.maxXmit}
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

// Params returns the negotiated session and connection parameters.
func (s *Session) Params() (login.SessionParams, login.ConnParams) {
	return s.res.Session, s.res.Conn
}

// TSIH returns the target-assigned session handle (RFC 7143 §11.13.3).
func (s *Session) TSIH() uint16 { return s.res.TSIH }

// ISID returns the session's ISID (RFC 7143 §11.12.5).
func (s *Session) ISID() pdu.ISID { return s.res.ISID }

// newTask registers a task under a fresh ITT. ITTs skip the reserved tag
// 0xffffffff and any still outstanding (RFC 7143 §11.1).
// The fields the read loop reads (cmd of a SCSI task, the function and
// LUN of a task management request) are set here under s.mu, before the
// task is visible to it.
func (s *Session) newTask(kind taskKind, cmd *Command, tmfFn pdu.TaskManagementFunction, tmfLUN uint64) (*initiatorTask, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, s.closedErr()
	}
	var t *initiatorTask
	if n := len(s.free); n > 0 {
		t = s.free[n-1]
		s.free = s.free[:n-1]
		*t = initiatorTask{r2t: t.r2t, sense: t.sense[:0], scratch: t.scratch}
	} else {
		t = &initiatorTask{r2t: make(chan r2tEvent, maxOutstandingR2T)}
	}
	for {
		itt := s.nextITT
		s.nextITT++
		if itt == pdu.ReservedTag || itt == 0 {
			continue
		}
		if _, busy := s.tasks[itt]; !busy {
			t.itt = itt
			break
		}
	}
	t.kind = kind
	t.done = make(chan struct{})
	t.cmd, t.tmfFn, t.tmfLUN = cmd, tmfFn, tmfLUN
	s.tasks[t.itt] = t
	return t, nil
}

func (s *Session) closedErr() error {
	if s.err != nil {
		return s.err
	}
	return ErrClosed
}

// release forgets a completed task so its ITT can be reused.
func (s *Session) release(t *initiatorTask) {
	s.mu.Lock()
	if s.tasks[t.itt] == t {
		delete(s.tasks, t.itt)
	}
	for len(t.r2t) > 0 {
		<-t.r2t
	}
	t.cmd = nil
	s.free = append(s.free, t)
	s.mu.Unlock()
}

// complete ends t with err (nil: a status was received). Called with
// s.mu held.
func (s *Session) completeLocked(t *initiatorTask, err error) {
	if _, ok := s.tasks[t.itt]; !ok {
		return
	}
	delete(s.tasks, t.itt)
	t.err = err
	close(t.done)
}

// reserveCmdSN waits until the CmdSN window is open (RFC 7143 §3.2.2.1:
// a command is sent only while CmdSN ≤ MaxCmdSN in serial arithmetic) and
// returns the CmdSN to use, advancing it if !immediate. s.seqMu is held.
func (s *Session) reserveCmdSN(ctx context.Context, immediate bool) (uint32, error) {
	for {
		s.mu.Lock()
		if s.closed {
			err := s.closedErr()
			s.mu.Unlock()
			return 0, err
		}
		if immediate || pdu.SerialLessOrEqual(s.cmdSN, s.maxCmdSN) {
			sn := s.cmdSN
			if !immediate {
				s.cmdSN++
			}
			s.mu.Unlock()
			return sn, nil
		}
		w := s.window
		s.mu.Unlock()
		select {
		case <-w:
		case <-ctx.Done():
			return 0, ctx.Err()
		}
	}
}

// Execute sends cmd and waits for its status (RFC 7143 §11.3, §11.4). A
// completed command returns a Response whatever its SCSI status; an error
// means no status came: a *CommandError, ErrClosed,
// ErrConnectionLost, or ctx.Err() after the task was aborted on the target
// (ABORT TASK, RFC 7143 §11.5.1), so that no Data-In lands in DataIn after
// Execute returned.
func (s *Session) Execute(ctx context.Context, cmd *Command) (*Response, error) {
	if len(cmd.CDB) == 0 || len(cmd.CDB) > 16 {
		return nil, fmt.Errorf("%w: CDB of %d bytes (1 to 16 supported)", ErrOptions, len(cmd.CDB))
	}
	outLen := len(cmd.DataOut)
	if cmd.DataOutReader != nil {
		if cmd.DataOut != nil {
			return nil, fmt.Errorf("%w: both DataOut and DataOutReader set", ErrOptions)
		}
		outLen = cmd.DataOutLength
	}
	if outLen > 0 && len(cmd.DataIn) > 0 {
		return nil, fmt.Errorf("%w: bidirectional commands are not supported", ErrOptions)
	}
	t, err := s.newTask(kindSCSI, cmd, 0, 0)
	if err != nil {
		return nil, err
	}
	sp := &s.res.Session
	maxXmit := s.c.maxXmit

	var h pdu.BHS
	sc := h.SCSICommand()
	sc.Init()
	sc.SetLUN(cmd.LUN.Uint64())
	sc.SetInitiatorTaskTag(t.itt)
	sc.SetAttributes(cmd.Attribute)
	sc.SetCDB(cmd.CDB)
	var immediate []byte
	var out *dataSource
	if outLen > 0 {
		out = &dataSource{buf: cmd.DataOut, r: cmd.DataOutReader, n: outLen}
		sc.SetWrite(true)
		sc.SetExpectedDataTransferLength(uint32(outLen))
	} else if len(cmd.DataIn) > 0 {
		sc.SetRead(true)
		sc.SetExpectedDataTransferLength(uint32(len(cmd.DataIn)))
	}
	// RFC 7143 §13.10, §13.11, §13.14: unsolicited data (immediate and
	// in Data-Out PDUs) is at most FirstBurstLength in all.
	unsolicited := 0
	if out != nil {
		unsolicited = min(outLen, int(sp.FirstBurstLength))
		if sp.ImmediateData {
			n := min(unsolicited, int(maxXmit))
			if immediate, err = out.next(n, s.scratchFor(t, n)); err != nil {
				s.failTask(t, err)
				s.release(t)
				return nil, err
			}
		}
		if sp.InitialR2T {
			unsolicited = len(immediate)
		}
	}
	sc.SetFinal(unsolicited == len(immediate))

	s.seqMu.Lock()
	sn, err := s.reserveCmdSN(ctx, false)
	if err == nil {
		sc.SetCmdSN(sn)
		err = s.c.write(&h, immediate, true)
	}
	s.seqMu.Unlock()
	if err != nil {
		s.failTask(t, err)
		s.release(t)
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, s.connErr(err)
	}
	if unsolicited > len(immediate) {
		if err := s.sendData(t, out, pdu.ReservedTag, uint32(len(immediate)), uint32(unsolicited-len(immediate))); err != nil {
			return s.abandon(ctx, t, err)
		}
	}
	for {
		select {
		case <-t.done:
			return s.finish(t)
		case ev := <-t.r2t:
			if err := s.sendData(t, out, ev.ttt, ev.offset, ev.length); err != nil {
				return s.abandon(ctx, t, err)
			}
		case <-ctx.Done():
			return s.abandon(ctx, t, ctx.Err())
		}
	}
}

// scratchFor returns a buffer of n bytes for data read from a
// DataOutReader.
func (s *Session) scratchFor(t *initiatorTask, n int) []byte {
	if cap(t.scratch) < n {
		t.scratch = make([]byte, n)
	}
	return t.scratch[:n]
}

// dataSource hands out a command's Data-Out in order of buffer offset.
type dataSource struct {
	buf []byte
	r   io.Reader
	n   int
	pos int
}

// at returns the length bytes at offset, reading them from r when the
// source is a reader.
func (d *dataSource) at(offset, length int, scratch []byte) ([]byte, error) {
	if offset < 0 || length < 0 || offset+length > d.n {
		return nil, fmt.Errorf("%w: data requested at %d+%d beyond %d bytes", errDataPhase, offset, length, d.n)
	}
	if d.r == nil {
		return d.buf[offset : offset+length], nil
	}
	if offset != d.pos {
		return nil, fmt.Errorf("%w: data requested at offset %d, reader is at %d", errDataPhase, offset, d.pos)
	}
	if _, err := io.ReadFull(d.r, scratch[:length]); err != nil {
		return nil, fmt.Errorf("iscsi: reading Data-Out: %w", err)
	}
	d.pos += length
	return scratch[:length], nil
}

func (d *dataSource) next(n int, scratch []byte) ([]byte, error) {
	return d.at(d.pos, n, scratch)
}

// sendData sends length bytes from offset as one Data-Out sequence
// (RFC 7143 §11.7): PDUs of at most the target's MaxRecvDataSegmentLength,
// DataSN from 0, the F bit on the last, ttt the Target Transfer Tag of the
// R2T (0xffffffff for unsolicited data).
func (s *Session) sendData(t *initiatorTask, out *dataSource, ttt, offset, length uint32) error {
	if out == nil {
		return &CommandError{ITT: t.itt, Err: fmt.Errorf("%w: R2T for a command without Data-Out", errDataPhase)}
	}
	maxXmit := s.c.maxXmit
	var h pdu.BHS
	do := h.DataOut()
	var sn uint32
	for sent := uint32(0); sent < length; sn++ {
		n := min(length-sent, maxXmit)
		data, err := out.at(int(offset+sent), int(n), s.scratchFor(t, int(n)))
		if err != nil {
			return &CommandError{ITT: t.itt, Err: err}
		}
		do.Init()
		do.SetLUN(t.cmd.LUN.Uint64())
		do.SetInitiatorTaskTag(t.itt)
		do.SetTargetTransferTag(ttt)
		do.SetDataSN(sn)
		do.SetBufferOffset(offset + sent)
		sent += n
		do.SetFinal(sent == length)
		if err := s.c.write(&h, data, true); err != nil {
			return s.connErr(err)
		}
	}
	return nil
}

// failTask completes t with err if it is still outstanding.
func (s *Session) failTask(t *initiatorTask, err error) {
	s.mu.Lock()
	s.completeLocked(t, err)
	s.mu.Unlock()
}

// abandon ends a command the caller gives up on or that cannot go on:
// the target is asked to abort it (ABORT TASK, RFC 7143 §11.5.1), and
// abandon waits for the task to end there, so no Data-In lands in the
// caller's buffer afterwards.
func (s *Session) abandon(ctx context.Context, t *initiatorTask, cause error) (*Response, error) {
	select {
	case <-t.done:
		if ctx.Err() == nil {
			return s.finish(t)
		}
	default:
		actx, cancel := context.WithTimeout(context.WithoutCancel(ctx), DefaultLoginTimeout)
		_, err := s.TaskManagement(actx, pdu.TMFAbortTask, t.cmd.LUN, t.itt)
		cancel()
		if err != nil {
			// No answer: the connection cannot be trusted with this
			// buffer any more (RFC 7143 §7.1.1).
			s.fail(fmt.Errorf("%w: ABORT TASK unanswered: %v", ErrConnectionLost, err))
		}
		s.failTask(t, cause)
		<-t.done
	}
	s.release(t)
	return nil, cause
}

// finish returns the outcome of a completed task and releases it.
func (s *Session) finish(t *initiatorTask) (*Response, error) {
	defer s.release(t)
	if t.err != nil {
		return nil, t.err
	}
	r := t.resp
	if len(t.sense) > 0 {
		r.RawSense = append([]byte(nil), t.sense...)
		if sn, err := scsi.ParseSense(r.RawSense); err == nil {
			r.Sense = &sn
		}
	}
	r.DataInLength = t.got
	return &r, nil
}

func (s *Session) connErr(err error) error {
	if errors.Is(err, ErrClosed) || errors.Is(err, ErrConnectionLost) {
		return err
	}
	return fmt.Errorf("%w: %v", ErrConnectionLost, err)
}

// TaskManagement sends a Task Management Function Request (RFC 7143
// §11.5) as an immediate command and returns the target's response code.
// ref is the ITT of the referenced task, used by ABORT TASK.
func (s *Session) TaskManagement(ctx context.Context, fn pdu.TaskManagementFunction, lun scsi.LUN, ref uint32) (pdu.TaskManagementResponseCode, error) {
	if fn >= pdu.TMFQueryTask && s.res.Session.ProtocolLevel < 2 {
		return 0, fmt.Errorf("%w: %v needs iSCSIProtocolLevel 2 (RFC 7144)", ErrOptions, fn)
	}
	t, err := s.newTask(kindTMF, nil, fn, lun.Uint64())
	if err != nil {
		return 0, err
	}
	defer s.release(t)
	var h pdu.BHS
	tm := h.TaskManagementRequest()
	tm.Init()
	tm.SetImmediate(true)
	tm.SetFunction(fn)
	tm.SetInitiatorTaskTag(t.itt)
	if fn == pdu.TMFAbortTask || fn == pdu.TMFAbortTaskSet || fn == pdu.TMFClearTaskSet || fn == pdu.TMFLogicalUnitReset || fn == pdu.TMFClearACA || fn >= pdu.TMFQueryTask {
		tm.SetLUN(lun.Uint64())
	}
	if fn == pdu.TMFAbortTask {
		tm.SetReferencedTaskTag(ref)
	} else {
		tm.SetReferencedTaskTag(pdu.ReservedTag)
	}
	s.seqMu.Lock()
	sn, err := s.reserveCmdSN(ctx, true)
	if err == nil {
		tm.SetCmdSN(sn)
		// RefCmdSN of ABORT TASK is the CmdSN of the referenced task
		// (RFC 7143 §11.5.4); the target here matches by ITT, so it is
		// the current CmdSN, which a fresh task's CmdSN precedes.
		tm.SetRefCmdSN(sn)
		err = s.c.write(&h, nil, true)
	}
	s.seqMu.Unlock()
	if err != nil {
		return 0, s.connErr(err)
	}
	select {
	case <-t.done:
	case <-ctx.Done():
		s.failTask(t, ctx.Err())
		<-t.done
	}
	if t.err != nil {
		return 0, t.err
	}
	return t.tmfResp, nil
}

// LogicalUnitReset resets the logical unit lun (RFC 7143 §11.5.1).
func (s *Session) LogicalUnitReset(ctx context.Context, lun scsi.LUN) (pdu.TaskManagementResponseCode, error) {
	return s.TaskManagement(ctx, pdu.TMFLogicalUnitReset, lun, pdu.ReservedTag)
}

// AbortTaskSet aborts every task of this session on lun (RFC 7143
// §11.5.1).
func (s *Session) AbortTaskSet(ctx context.Context, lun scsi.LUN) (pdu.TaskManagementResponseCode, error) {
	return s.TaskManagement(ctx, pdu.TMFAbortTaskSet, lun, pdu.ReservedTag)
}

// Logout closes the session with a Logout Request of reason "close the
// session" (RFC 7143 §11.14) and waits for the response, then closes the
// connection.
func (s *Session) Logout(ctx context.Context) error {
	t, err := s.newTask(kindLogout, nil, 0, 0)
	if err != nil {
		return err
	}
	defer s.release(t)
	var h pdu.BHS
	lr := h.LogoutRequest()
	lr.Init()
	lr.SetImmediate(true)
	lr.SetReasonCode(pdu.LogoutCloseSession)
	lr.SetInitiatorTaskTag(t.itt)
	lr.SetCID(s.c.cid)
	s.seqMu.Lock()
	sn, err := s.reserveCmdSN(ctx, true)
	if err == nil {
		lr.SetCmdSN(sn)
		err = s.c.write(&h, nil, true)
	}
	s.seqMu.Unlock()
	if err == nil {
		select {
		case <-t.done:
			err = t.err
			if err == nil && t.logout != pdu.LogoutClosedSuccessfully {
				err = fmt.Errorf("iscsi: logout refused: %v", t.logout)
			}
		case <-ctx.Done():
			err = ctx.Err()
		}
	}
	s.Close()
	return err
}

// Close closes the connection without logging out; outstanding commands
// fail with ErrClosed.
func (s *Session) Close() error {
	s.mu.Lock()
	already := s.closed
	if !already {
		s.closed = true
		s.err = ErrClosed
		s.failAllLocked(ErrClosed)
	}
	s.mu.Unlock()
	err := s.c.nc.Close()
	<-s.readDone
	if already {
		return nil
	}
	if errors.Is(err, net.ErrClosed) {
		err = nil
	}
	return err
}

func (s *Session) failAllLocked(err error) {
	for _, t := range s.tasks {
		s.completeLocked(t, err)
	}
	close(s.window)
	s.window = make(chan struct{})
}

// fail ends the connection with err: every outstanding task fails.
func (s *Session) fail(err error) {
	s.mu.Lock()
	if !s.closed {
		s.closed = true
		s.err = err
		s.failAllLocked(err)
	}
	s.mu.Unlock()
	s.c.nc.Close()
}

// updateWindow takes ExpCmdSN and MaxCmdSN from a target PDU (RFC 7143
// §4.2.2.1): they are used only when MaxCmdSN ≥ ExpCmdSN−1 and only if
// they advance.
func (s *Session) updateWindow(h *pdu.BHS) {
	exp := binary.BigEndian.Uint32(h[28:32])
	maxSN := binary.BigEndian.Uint32(h[32:36])
	if pdu.SerialLess(maxSN, exp-1) {
		return
	}
	s.mu.Lock()
	if pdu.SerialLess(s.expCmdSN, exp) {
		s.expCmdSN = exp
	}
	if pdu.SerialLess(s.maxCmdSN, maxSN) {
		s.maxCmdSN = maxSN
		close(s.window)
		s.window = make(chan struct{})
	}
	s.mu.Unlock()
}

// readLoop reads every PDU of the connection and routes it to its task.
func (s *Session) readLoop() {
	defer close(s.readDone)
	for {
		p, err := s.c.r.ReadHeader()
		if err == nil {
			err = s.dispatch(p)
		}
		if err != nil {
			s.mu.Lock()
			closed := s.closed
			s.mu.Unlock()
			if !closed {
				s.logger().Warn("iscsi initiator: connection failed", "err", err)
			}
			s.fail(fmt.Errorf("%w: %v", ErrConnectionLost, err))
			return
		}
	}
}

func (s *Session) lookup(itt uint32) *initiatorTask {
	s.mu.Lock()
	t := s.tasks[itt]
	s.mu.Unlock()
	return t
}

// statSN advances ExpStatSN past a PDU that carries status (RFC 7143
// §4.2.2.2).
func (s *Session) statSN(sn uint32) {
	s.c.expStatSN.Store(sn + 1)
}

func (s *Session) dispatch(p *pdu.PDU) error {
	h := &p.Header
	op := h.Opcode()
	if !op.FromTarget() {
		return fmt.Errorf("initiator opcode %v from the target", op)
	}
	s.updateWindow(h)
	switch op {
	case pdu.OpSCSIDataIn:
		return s.dataIn(h)
	case pdu.OpSCSIResponse:
		return s.scsiResponse(h)
	case pdu.OpR2T:
		r := h.R2T()
		s.statSNNoAdvance()
		t := s.lookup(r.InitiatorTaskTag())
		if err := s.c.r.DiscardData(); err != nil {
			return err
		}
		if t == nil || t.kind != kindSCSI {
			return nil
		}
		select {
		case t.r2t <- r2tEvent{ttt: r.TargetTransferTag(), offset: r.BufferOffset(), length: r.DesiredDataTransferLength()}:
		default:
			return fmt.Errorf("more outstanding R2Ts for ITT 0x%08x than MaxOutstandingR2T", r.InitiatorTaskTag())
		}
		return nil
	case pdu.OpNOPIn:
		n := h.NOPIn()
		if n.InitiatorTaskTag() != pdu.ReservedTag {
			s.statSN(n.StatSN())
		}
		var ping []byte
		if dsl := h.DataSegmentLength(); dsl > 0 {
			ping = make([]byte, dsl)
			if err := s.c.r.ReadData(ping); err != nil {
				return err
			}
		}
		if ttt := n.TargetTransferTag(); ttt != pdu.ReservedTag {
			// RFC 7143 §11.19.1: a ping the target wants answered, with
			// its TTT and data echoed, as an immediate NOP-Out.
			var out pdu.BHS
			no := out.NOPOut()
			no.Init()
			no.SetImmediate(true)
			no.SetLUN(n.LUN())
			no.SetInitiatorTaskTag(pdu.ReservedTag)
			no.SetTargetTransferTag(ttt)
			s.mu.Lock()
			no.SetCmdSN(s.cmdSN)
			s.mu.Unlock()
			return s.c.write(&out, ping, true)
		}
		return nil
	case pdu.OpTaskManagementResponse:
		r := h.TaskManagementResponse()
		s.statSN(binary.BigEndian.Uint32(h[24:28]))
		if err := s.c.r.DiscardData(); err != nil {
			return err
		}
		s.mu.Lock()
		if t := s.tasks[h.InitiatorTaskTag()]; t != nil && t.kind == kindTMF {
			t.tmfResp = r.Response()
			s.completeLocked(t, nil)
			if t.tmfResp == pdu.TMFResponseFunctionComplete {
				s.endAffectedLocked(t.tmfFn, t.tmfLUN)
			}
		}
		s.mu.Unlock()
		return nil
	case pdu.OpLogoutResponse:
		r := h.LogoutResponse()
		s.statSN(r.StatSN())
		if err := s.c.r.DiscardData(); err != nil {
			return err
		}
		s.mu.Lock()
		if t := s.tasks[r.InitiatorTaskTag()]; t != nil && t.kind == kindLogout {
			t.logout = r.Response()
			s.completeLocked(t, nil)
			if t.logout == pdu.LogoutClosedSuccessfully && !s.closed {
				// RFC 7143 §11.15: the target closes the connection
				// after a successful logout.
				s.closed = true
				s.err = ErrClosed
				s.failAllLocked(ErrClosed)
			}
		}
		s.mu.Unlock()
		return nil
	case pdu.OpReject:
		s.statSN(binary.BigEndian.Uint32(h[24:28]))
		hdr := make([]byte, h.DataSegmentLength())
		if err := s.c.r.ReadData(hdr); err != nil {
			return err
		}
		// RFC 7143 §11.17: the data segment is the rejected header; a
		// rejected command fails.
		if len(hdr) >= pdu.BHSLength {
			itt := binary.BigEndian.Uint32(hdr[16:20])
			s.mu.Lock()
			if t := s.tasks[itt]; t != nil {
				s.completeLocked(t, &CommandError{ITT: itt, Err: fmt.Errorf("rejected by the target: reason 0x%02x", h[2])})
			}
			s.mu.Unlock()
		}
		return nil
	case pdu.OpAsyncMessage:
		s.statSN(binary.BigEndian.Uint32(h[24:28]))
		data := make([]byte, h.DataSegmentLength())
		if err := s.c.r.ReadData(data); err != nil {
			return err
		}
		if h[36] == 0 && s.opts.OnAsyncEvent != nil {
			var ev AsyncEvent
			copy(ev.LUN[:], h[8:16])
			if len(data) >= 2 {
				n := min(int(binary.BigEndian.Uint16(data)), len(data)-2)
				ev.Sense = data[2 : 2+n]
			}
			s.opts.OnAsyncEvent(ev)
		}
		return nil
	default:
		s.logger().Debug("iscsi initiator: PDU ignored", "opcode", op)
		return s.c.r.DiscardData()
	}
}

// endAffectedLocked fails the SCSI tasks that a completed task management
// function of this session ended (RFC 7143 §11.5.1): those of lun for
// ABORT TASK SET, CLEAR TASK SET and LOGICAL UNIT RESET, all for the target
// resets. Their responses never come.
func (s *Session) endAffectedLocked(fn pdu.TaskManagementFunction, lun uint64) {
	all := fn == pdu.TMFTargetWarmReset || fn == pdu.TMFTargetColdReset
	if !all && fn != pdu.TMFAbortTaskSet && fn != pdu.TMFClearTaskSet && fn != pdu.TMFLogicalUnitReset {
		return
	}
	for _, t := range s.tasks {
		if t.kind == kindSCSI && (all || t.cmd.LUN.Uint64() == lun) {
			s.completeLocked(t, &CommandError{ITT: t.itt, Err: errAbortedByTMF})
		}
	}
}

// statSNNoAdvance: R2T and Data-In without status carry StatSN but do not
// advance it (RFC 7143 §11.8.3, §11.7.4).
func (s *Session) statSNNoAdvance() {}

// dataIn places a Data-In PDU at its BufferOffset (RFC 7143 §11.7.5) and
// checks DataSN (§11.7.4).
func (s *Session) dataIn(h *pdu.BHS) error {
	d := h.DataIn()
	t := s.lookup(d.InitiatorTaskTag())
	dsl := h.DataSegmentLength()
	if t == nil || t.kind != kindSCSI {
		// A task that is gone (aborted): its data is dropped.
		return s.c.r.DiscardData()
	}
	off := d.BufferOffset()
	if d.DataSN() != t.dataSN {
		return fmt.Errorf("Data-In DataSN %d for ITT 0x%08x, want %d", d.DataSN(), t.itt, t.dataSN)
	}
	t.dataSN++
	buf := t.cmd.DataIn
	if uint64(off)+uint64(dsl) > uint64(len(buf)) {
		return fmt.Errorf("Data-In at %d+%d beyond the %d-byte buffer of ITT 0x%08x", off, dsl, len(buf), t.itt)
	}
	if err := s.c.r.ReadData(buf[off : off+dsl]); err != nil {
		return err
	}
	if end := int(off + dsl); end > t.got {
		t.got = end
	}
	if d.StatusPresent() {
		s.statSN(d.StatSN())
		t.resp.Status = scsi.Status(d.Status())
		t.resp.ResidualCount = d.ResidualCount()
		t.resp.Underflow = d.ResidualUnderflow()
		t.resp.Overflow = d.ResidualOverflow()
		s.mu.Lock()
		s.completeLocked(t, nil)
		s.mu.Unlock()
	}
	return nil
}

// scsiResponse completes a command with its SCSI Response (RFC 7143
// §11.4).
func (s *Session) scsiResponse(h *pdu.BHS) error {
	r := h.SCSIResponse()
	s.statSN(r.StatSN())
	t := s.lookup(r.InitiatorTaskTag())
	dsl := int(h.DataSegmentLength())
	if t == nil || t.kind != kindSCSI {
		return s.c.r.DiscardData()
	}
	if cap(t.sense) < dsl {
		t.sense = make([]byte, dsl)
	}
	seg := t.sense[:dsl]
	if err := s.c.r.ReadData(seg); err != nil {
		return err
	}
	// RFC 7143 §11.4.7: SenseLength (2 bytes), then the sense data.
	t.sense = seg[:0]
	if dsl >= 2 {
		n := int(binary.BigEndian.Uint16(seg))
		if n > dsl-2 {
			return fmt.Errorf("SCSI Response SenseLength %d beyond its %d-byte data segment", n, dsl)
		}
		t.sense = seg[2 : 2+n]
	}
	var err error
	if r.Response() != pdu.ResponseCommandCompleted {
		t.sense = t.sense[:0]
		err = &CommandError{ITT: t.itt, Response: r.Response(), Err: errTargetFailure}
	}
	t.resp.Status = scsi.Status(r.Status())
	t.resp.ResidualCount = r.ResidualCount()
	t.resp.Underflow = r.ResidualUnderflow()
	t.resp.Overflow = r.ResidualOverflow()
	s.mu.Lock()
	s.completeLocked(t, err)
	s.mu.Unlock()
	return nil
}
