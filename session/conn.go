package session

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-iscsi/iscsi/login"
	"github.com/go-iscsi/iscsi/pdu"
	"github.com/go-iscsi/iscsi/scsi"
)

// ErrCmdSNGap is matched (errors.Is) by the error that ends a connection
// on which a command arrived with a CmdSN inside the command window but
// ahead of ExpCmdSN (RFC 7143 §4.2.2.1) that no other connection of the
// session fills (conn.awaitCmdSN). On a session of one connection this
// means a command PDU was lost, which ErrorRecoveryLevel 0 does not
// recover from within the session (RFC 7143 §7.1.5).
var ErrCmdSNGap = errors.New("session: CmdSN ahead of ExpCmdSN")

// CmdSNError reports a command whose CmdSN left a gap in the command
// sequence; it matches ErrCmdSNGap.
type CmdSNError struct {
	Opcode   pdu.Opcode
	CmdSN    uint32
	ExpCmdSN uint32
}

// Error reports the CmdSN seen and the one expected.
func (e *CmdSNError) Error() string {
	return fmt.Sprintf("session: %v with CmdSN %d while ExpCmdSN is %d", e.Opcode, e.CmdSN, e.ExpCmdSN)
}

// Is reports whether target is ErrCmdSNGap.
func (e *CmdSNError) Is(target error) bool { return target == ErrCmdSNGap }

// errLoggedOut ends the read loop after a successful Logout Response was
// queued.
var errLoggedOut = errors.New("logged out")

// ErrSessionClosed is returned by ServeConn for a connection the target
// closed itself: its session was reinstated by a new login of the same
// initiator port (RFC 7143 §6.3.5), ended by TARGET COLD RESET (§11.5.1),
// or, for a discovery session, ended by Server.Shutdown.
var ErrSessionClosed = errors.New("session: session closed by the target")

// ErrDataOutTimeout is returned by ServeConn for a connection dropped
// because a command waited longer than Limits.DataOutTimeout for Data-Out
// the initiator owed it (solicited by an R2T, or announced as unsolicited).
var ErrDataOutTimeout = errors.New("session: Data-Out not received in time")

// ErrWriteTimeout is matched (errors.Is) by the error ServeConn returns for
// a connection dropped because one response could not be sent within
// Limits.WriteTimeout: the initiator did not read what the target sent.
var ErrWriteTimeout = errors.New("session: response not sent in time")

// ErrNOPInTimeout is returned by ServeConn for a connection dropped because
// the initiator did not answer a NOP-In ping within Limits.NOPInTimeout (RFC
// 7143 §11.19.1).
var ErrNOPInTimeout = errors.New("session: no answer to a NOP-In ping")

// outKind says how the writer fills the sequence numbers of an outgoing
// PDU.
type outKind uint8

const (
	// outStatus: a response that carries StatSN and advances it (RFC 7143
	// §4.2.2.2).
	outStatus outKind = iota
	// outNoStatus: a PDU that carries the next StatSN without advancing
	// it (R2T, §11.8.3).
	outNoStatus
	// outTask: the Data-In PDUs and status of a completed task.
	outTask
	// outSNACK: a SNACK Request the writer answers from what the
	// connection retains (recovery.go).
	outSNACK
)

// outPDU is one item of the writer's queue.
type outPDU struct {
	h    pdu.BHS
	data []byte
	kind outKind
	task *task
	// closeAfter, if not nil, closes the connection with this cause once
	// the PDU is written (Logout Response, TARGET COLD RESET).
	closeAfter error
	// maxXmit, if not zero, is the initiator's MaxRecvDataSegmentLength
	// declared anew in the Text Request this Text Response answers (RFC
	// 7143 §13.12): the writer sends the data segments after it within
	// it.
	maxXmit uint32
}

// conn is one connection of a session in full feature phase (RFC 7143
// §4.2.5): its own StatSN (§4.2.2.2), its PDU reader and the writer
// goroutine, and the tasks allegiant to it.
type conn struct {
	sess   *session
	srv    *Server
	nc     net.Conn
	r      *pdu.Reader
	w      *pdu.Writer
	cid    uint16
	params login.ConnParams // MaxXmitDataSegmentLength: writer goroutine (handleText)
	log    *slog.Logger

	ctx    context.Context
	cancel context.CancelCauseFunc

	out        chan outPDU
	writerDone chan struct{}
	// wmu is held by whoever writes to the connection: the writer
	// goroutine, or the reader sending the response of a task it ran
	// itself (respond). The state marked "writer goroutine only" is the
	// holder's. queued counts the PDUs sent to out and not yet taken
	// under wmu; direct says the reader may write (a TCP connection, no
	// busy polling).
	wmu     sync.Mutex
	queued  atomic.Int32
	direct  bool
	work    chan *task
	workers sync.WaitGroup
	statSN  uint32 // writer goroutine only
	// executing counts the tasks in execution, whose responses are still
	// to come: while it is not zero the writer yields once for them
	// before it writes.
	executing atomic.Int32
	// sent are the tasks whose responses the writer has queued and not
	// yet flushed: their buffers go back to the pool after the flush
	// (writer goroutine only).
	sent []*task
	// kept are the tasks queued since the last flush whose status alone
	// is retained (keepStatus): their data is dropped after the flush.
	kept []*task

	scratch []byte // reader goroutine only
	text    login.TextResponder

	// pingTTT is the Target Transfer Tag of the NOP-In ping awaiting its
	// NOP-Out, or the reserved tag; pong receives the answer.
	pingTTT atomic.Uint32
	pong    chan struct{}
	// stallTTT is the Target Transfer Tag of the NOP-In the Data-Out
	// watchdog sent for Data-Out that stopped coming at ErrorRecoveryLevel
	// 1, or the reserved tag (recovery.go).
	stallTTT atomic.Uint32

	// gone is closed once the connection has left its session (mcs.go);
	// commands counts the SCSI commands it received.
	gone     chan struct{}
	commands atomic.Uint64
	// erl1 says the session runs at ErrorRecoveryLevel 1 or 2
	// (recovery.go), erl2 at 2 (reassign.go).
	erl1, erl2 bool
	// stopped says the connection's workers have ended: no task of it
	// starts any more (guarded by mu).
	stopped bool
	// execCtx is the context commands execute in: at ErrorRecoveryLevel
	// 2 it is not cancelled with the connection, whose tasks outlive it.
	execCtx context.Context
	// expStatSN is the initiator's last ExpStatSN, with bit 32 set once
	// one arrived (set by the reader, read by the writer; ERL 1 only).
	expStatSN atomic.Uint64
	// The status PDUs retained for SNACKs, in StatSN order from head on,
	// what they cost against Limits.RetainBytes, and the DataACKs not yet
	// applied (writer goroutine only).
	ring          []retained
	head          int
	retainedBytes int
	statusOnly    int // entries of the ring that keep a status alone
	acked         int
	// lateAcks are the Target Transfer Tags of the last A-bit Data-In
	// freed by the initiator's ExpStatSN before their DataACK came, which
	// may still be on its way (writer goroutine only).
	lateAcks [16]uint32
	lateNext int
	// badHeaders counts the header digest errors in a row (reader
	// goroutine only).
	badHeaders int

	// gapTimer bounds a wait in awaitCmdSN (reader goroutine only);
	// gapWake wakes it (mcsState.waiting; made under session.mu).
	gapTimer *time.Timer
	gapWake  chan struct{}

	mu      sync.Mutex
	tasks   map[uint32]*task // by Initiator Task Tag
	nextTTT uint32
	// running counts the tasks started and not ended; their order under
	// the task attributes is the session's (session.order, mcs.go).
	running sync.WaitGroup
}

func newConn(ctx context.Context, cancel context.CancelCauseFunc, sess *session, nc net.Conn, r *pdu.Reader, w *pdu.Writer, res *login.Result) *conn {
	c := &conn{
		sess: sess, srv: sess.srv, nc: nc, r: r, w: w, cid: res.CID, params: res.Conn,
		log:    sess.srv.log.With("tsih", res.TSIH, "cid", res.CID),
		ctx:    ctx,
		cancel: cancel,
		out:    make(chan outPDU, 64), writerDone: make(chan struct{}),
		work:   make(chan *task, 2*sess.srv.limits.CmdSNWindow),
		statSN: res.ExpStatSN,
		tasks:  make(map[uint32]*task),
		pong:   make(chan struct{}, 1),
		gone:   make(chan struct{}),
	}
	c.pingTTT.Store(pdu.ReservedTag)
	c.stallTTT.Store(pdu.ReservedTag)
	if _, tcp := nc.(*net.TCPConn); tcp && sess.srv.limits.BusyPoll == 0 {
		c.direct = true
	}
	if sess.params.ErrorRecoveryLevel >= 1 && sess.params.SessionType == login.SessionNormal {
		// RFC 7143 §7.8, §7.1.4.1: a PDU with a header digest error is
		// discarded and the connection goes on.
		c.erl1 = true
		r.SetHeaderDigestRecovery(true)
	}
	c.execCtx = ctx
	if sess.erl2() {
		c.erl2 = true
		c.execCtx = context.WithoutCancel(ctx)
	}
	c.text = login.TextResponder{
		Targets:                  c.discoveredTargets,
		Discovery:                res.Session.SessionType == login.SessionDiscovery,
		CurrentTarget:            res.Session.TargetName,
		MaxXmitDataSegmentLength: res.Conn.MaxXmitDataSegmentLength,
		MaxRecvDataSegmentLength: res.Conn.MaxRecvDataSegmentLength,
	}
	return c
}

// discoveredTargets lists the Server's targets for SendTargets (RFC 7143
// §13.3), at the address the initiator reached this connection on.
func (c *conn) discoveredTargets() []login.DiscoveredTarget {
	var addrs []login.TargetAddress
	if host, port, err := net.SplitHostPort(c.nc.LocalAddr().String()); err == nil {
		if p, err := strconv.Atoi(port); err == nil {
			addrs = []login.TargetAddress{{Host: host, Port: p, PortalGroupTag: c.srv.tpgt, HasPortalGroupTag: true}}
		}
	}
	c.sess.mu.Lock()
	initiator := c.sess.params.InitiatorName
	c.sess.mu.Unlock()
	var out []login.DiscoveredTarget
	for _, t := range c.srv.visibleTargets(initiator, c.nc.RemoteAddr()) {
		out = append(out, login.DiscoveredTarget{Name: t.Name, Addresses: addrs})
	}
	return out
}

// serve runs the full feature phase until logout or failure, then ends
// every task of the connection.
func (c *conn) serve() error {
	c.sess.addConn(c)
	go c.writeLoop()
	for range c.srv.limits.MaxTasks {
		c.workers.Add(1)
		go c.worker()
	}
	if c.srv.limits.NOPInInterval > 0 {
		c.workers.Add(1)
		go c.pinger()
	}
	if c.srv.limits.DataOutTimeout > 0 && c.sess.target != nil {
		c.workers.Add(1)
		go c.dataOutWatchdog()
	}
	err := c.readLoop()
	if err == errLoggedOut || err == errRecoveryLogout {
		<-c.writerDone
	}
	c.drop(err)
	// The commands it holds ahead of ExpCmdSN go now, before a delivery
	// from another connection could acknowledge them (cmdorder.go).
	c.sess.mu.Lock()
	c.sess.dropEarlyLocked(c)
	c.sess.mu.Unlock()
	// The reader alone queues tasks; the ones the workers left are ended
	// here.
	c.workers.Wait()
	// From here no task of c starts (a delivery of commands received
	// ahead of ExpCmdSN may come from another connection's reader,
	// cmdorder.go): those still collecting end below, or wait for a
	// reassignment.
	c.mu.Lock()
	c.stopped = true
	c.mu.Unlock()
	for {
		t := c.sess.order.takeHeld(c)
		if t == nil && len(c.work) > 0 {
			t = <-c.work
		}
		if t == nil {
			break
		}
		runChain(t)
	}
	c.running.Wait()
	<-c.writerDone
	if c.keepTasks() {
		// RFC 7143 §7.1.4.3: at ErrorRecoveryLevel 2 the tasks wait
		// for a TASK REASSIGN on another connection (reassign.go).
		c.keepForReassign()
	}
	c.dropCollecting()
	c.freeRetained()
	switch cause := context.Cause(c.ctx); {
	case cause == errLoggedOut, cause == errRecoveryLogout, errors.Is(cause, io.EOF):
		return nil
	default:
		return cause
	}
}

// drop closes the connection for cause (the first cause given wins): every
// read and write on it fails, tasks see their context done.
func (c *conn) drop(cause error) {
	c.cancel(cause)
	c.nc.Close()
}

// send queues o for the writer; it reports false if the connection is
// closing.
func (c *conn) send(o *outPDU) bool {
	c.queued.Add(1)
	select {
	case c.out <- *o:
		return true
	case <-c.ctx.Done():
		c.queued.Add(-1)
		return false
	}
}

// maxDirectBytes bounds the Data-In of a response the reader writes
// itself (respond): while it writes it reads nothing, and a larger one
// is better batched by the writer.
const maxDirectBytes = 256 << 10

// respond sends the response of the task t. Called by the reader, which
// ran t itself, it writes the response at once when nothing is queued for
// the writer, no further PDU is in the reader's buffer and the writer is
// idle: the command then costs no wakeup of the writer goroutine, and the
// reader was about to wait for the next PDU anyway. Otherwise, or from a
// worker, the response goes to the writer, which batches it with others.
// Responses keep their order: the reader writes only when no PDU is
// queued, under wmu, which the writer takes for every PDU it takes. It
// reports false if the connection is closing.
func (c *conn) respond(t *task, reader bool) bool {
	o := outPDU{kind: outTask, task: t}
	if reader && c.direct && (t.dataIn == nil || len(*t.dataIn) <= maxDirectBytes) && c.queued.Load() == 0 && c.r.Buffered() == 0 && c.wmu.TryLock() {
		if c.queued.Load() == 0 && c.ctx.Err() == nil {
			// writeBatch releases t, or keeps it for a reassignment, also
			// when the write fails.
			c.srv.stats.directResponses.Add(1)
			c.writeBatch(&o)
			c.wmu.Unlock()
			return true
		}
		c.wmu.Unlock()
	}
	return c.send(&o)
}

// maxBatchBytes bounds the bytes of the responses the writer puts in one
// vectored write.
const maxBatchBytes = 512 << 10

func (c *conn) writeLoop() {
	defer close(c.writerDone)
	for {
		select {
		case <-c.ctx.Done():
			return
		case o := <-c.out:
			c.wmu.Lock()
			c.queued.Add(-1)
			ok := c.writeBatch(&o)
			c.wmu.Unlock()
			if !ok {
				return
			}
		}
	}
}

// writeBatch sends o and the PDUs queued behind it, up to maxBatchBytes, in
// one vectored write, then releases the tasks whose responses it carried.
// It reports false once the connection is closing.
func (c *conn) writeBatch(o *outPDU) bool {
	var closeAfter, err error
	yielded := false
	if wt := c.srv.limits.WriteTimeout; wt > 0 {
		c.nc.SetWriteDeadline(time.Now().Add(wt))
	}
	for {
		if err = c.write(o); err != nil {
			break
		}
		if o.closeAfter != nil {
			closeAfter = o.closeAfter
			break
		}
		if c.w.Queued() >= maxBatchBytes {
			break
		}
		if c.next(o) {
			continue
		}
		if yielded || c.executing.Load() == 0 {
			break
		}
		// Tasks are executing: let them run once before the system call,
		// so that the responses they are about to queue join this write.
		yielded = true
		runtime.Gosched()
		if !c.next(o) {
			break
		}
	}
	if ferr := c.w.Flush(); err == nil {
		err = ferr
	}
	if err != nil && errors.Is(err, os.ErrDeadlineExceeded) {
		err = fmt.Errorf("%w: %v", ErrWriteTimeout, err)
		c.log.Info("response not sent in time", "timeout", c.srv.limits.WriteTimeout)
	}
	keep := false
	if err != nil && c.erl2 {
		// A response that may not have left is kept for a TASK
		// REASSIGN at ErrorRecoveryLevel 2 (reassign.go).
		c.drop(err)
		keep = c.keepTasks()
	}
	for i, t := range c.sent {
		if keep {
			c.orphan(t)
		} else {
			t.release()
		}
		c.sent[i] = nil
	}
	c.sent = c.sent[:0]
	for i, t := range c.kept {
		if !keep {
			// The Data-In left; after a failed write the task keeps it
			// for its reassignment (keepForReassign).
			t.dropData()
		}
		c.kept[i] = nil
	}
	c.kept = c.kept[:0]
	if c.erl1 {
		c.pruneRetained()
	}
	switch {
	case err != nil:
		c.log.Debug("write failed", "err", err)
		c.drop(err)
		return false
	case closeAfter != nil:
		c.drop(closeAfter)
		return false
	}
	return true
}

// next takes the next queued PDU into o without waiting.
func (c *conn) next(o *outPDU) bool {
	select {
	case n := <-c.out:
		c.queued.Add(-1)
		*o = n
		return true
	default:
		return false
	}
}

// stamp fills StatSN, ExpCmdSN and MaxCmdSN, which every PDU a target
// sends holds at bytes 24 to 35 (the target PDU layouts of RFC 7143 §11.4
// to §11.19).
func stamp(h *pdu.BHS, statSN, expCmdSN, maxCmdSN uint32) {
	binary.BigEndian.PutUint32(h[24:28], statSN)
	binary.BigEndian.PutUint32(h[28:32], expCmdSN)
	binary.BigEndian.PutUint32(h[32:36], maxCmdSN)
}

func (c *conn) write(o *outPDU) error {
	switch o.kind {
	case outTask:
		return c.writeTask(o.task)
	case outSNACK:
		return c.answerSNACK(&o.h)
	}
	exp, maxCmdSN := c.sess.cmdWindow()
	stamp(&o.h, c.statSN, exp, maxCmdSN)
	if o.kind == outStatus {
		if c.erl1 {
			// RFC 7143 §11.16.1: kept for a Status SNACK until
			// acknowledged, within Limits.RetainBytes.
			c.retain(retained{statSN: c.statSN, h: o.h, data: o.data, cost: statusRetainCost + len(o.data)})
		}
		c.statSN++
	}
	err := c.w.Queue(&o.h, nil, o.data)
	if o.maxXmit != 0 {
		// RFC 7143 §13.12: the initiator's new MaxRecvDataSegmentLength
		// bounds what follows the Text Response that acknowledges it;
		// the Data-In sent before keep their segments, which an R-Data
		// SNACK asks for resegmented (§11.16.3).
		c.params.MaxXmitDataSegmentLength = o.maxXmit
	}
	return err
}

// readData reads the data segment of the PDU just read into the scratch
// buffer; the result is valid until the next call.
func (c *conn) readData(h *pdu.BHS) ([]byte, error) {
	n := int(h.DataSegmentLength())
	if cap(c.scratch) < n {
		c.scratch = make([]byte, n)
	}
	b := c.scratch[:n]
	return b, c.r.ReadData(b)
}

// carriesCmdSN reports whether the request h carries a CmdSN (RFC 7143
// §4.2.2.1), and whether it is immediate.
func carriesCmdSN(h *pdu.BHS) (cmdSN uint32, immediate, ok bool) {
	switch h.Opcode() {
	case pdu.OpNOPOut, pdu.OpSCSICommand, pdu.OpTaskManagementRequest, pdu.OpTextRequest, pdu.OpLogoutRequest:
		return binary.BigEndian.Uint32(h[24:28]), h.Immediate(), true
	}
	return 0, false, false
}

// admit applies the command window to request h: it returns false for a
// request to ignore, and an error for a gap.
func (c *conn) admit(h *pdu.BHS) (bool, error) {
	cmdSN, imm, ok := carriesCmdSN(h)
	if !ok {
		return true, nil
	}
	switch c.sess.admit(cmdSN, imm) {
	case cmdIgnore:
		c.log.Debug("request outside the command window ignored", "opcode", h.Opcode().String(), "cmdsn", cmdSN)
		return false, nil
	case cmdGap:
		// RFC 7143 §4.2.2.1: ordering is per session; the missing
		// commands may be on their way over another connection.
		return c.awaitCmdSN(h, cmdSN)
	}
	return true, nil
}

func (c *conn) readLoop() error {
	busyPoll := c.srv.limits.BusyPoll
	for {
		if busyPoll > 0 && c.r.Buffered() < pdu.BHSLength {
			// Only a read that may wait needs the verdict.
			c.mu.Lock()
			n := len(c.tasks)
			c.mu.Unlock()
			c.r.SetBusyPoll(busyPollFor(busyPoll, n), busyPoll)
		}
		p, err := c.r.ReadHeader()
		if err != nil {
			if err = c.readError(err); err != nil {
				return err
			}
			continue
		}
		c.badHeaders = 0
		h := p.Header
		if c.erl1 {
			c.noteExpStatSN(&h)
		}
		if err := c.handle(&h, p.AHS); err != nil {
			return err
		}
	}
}

// readError handles an error of the PDU reader: at ErrorRecoveryLevel 1 a
// PDU with a header digest error has been skipped (RFC 7143 §7.8) and
// reading goes on, unless maxBadHeaders came in a row; every other error
// ends the connection.
func (c *conn) readError(err error) error {
	if !errors.Is(err, pdu.ErrHeaderDigest) {
		return err
	}
	c.srv.stats.headerDigestErrors.Add(1)
	var hde *pdu.HeaderDigestError
	if !errors.As(err, &hde) {
		return err
	}
	if c.badHeaders++; c.badHeaders >= maxBadHeaders {
		c.log.Info("header digest errors in a row", "count", c.badHeaders)
		return &pdu.ConnectionError{Err: err}
	}
	c.log.Debug("PDU with a header digest error discarded", "err", err)
	return nil
}

// handle processes one PDU whose header was read. It reads or skips the
// data segment.
func (c *conn) handle(h *pdu.BHS, ahs []byte) error {
	switch op := h.Opcode(); {
	case op == pdu.OpSNACKRequest && !c.erl1:
		// RFC 7143 §11.16 requires support of SNACK only at
		// ErrorRecoveryLevel > 0; at level 0 this target rejects SNACK.
		return c.rejectRequest(h, pdu.RejectProtocolError)
	case op.Known() && !op.FromInitiator(), op == pdu.OpLoginRequest:
		// A PDU only a target sends, or a Login Request in full feature
		// phase (RFC 7143 §4.2.4: Login Requests are used exclusively
		// during login, and no second Login Phase occurs on a connection).
		return c.rejectRequest(h, pdu.RejectProtocolError)
	case !op.Known():
		// RFC 7143 §11.17.1: an opcode this target does not implement,
		// vendor-specific ones included.
		return c.rejectRequest(h, pdu.RejectCommandNotSupported)
	}
	if err := h.Validate(); err != nil {
		var rf *pdu.ReservedFieldError
		var pe *pdu.ProtocolError
		switch {
		case errors.As(err, &rf):
			// RFC 7143 §11: receivers ignore reserved fields.
		case errors.As(err, &pe):
			return c.rejectRequest(h, pe.Reason)
		default:
			return c.rejectRequest(h, pdu.RejectProtocolError)
		}
	}
	if err := checkAHS(ahs); err != nil {
		// RFC 7143 §11.2.2: the AHSs fill TotalAHSLength exactly, each
		// AHSLength within it; one that overruns it is a malformed PDU,
		// rejected (§11.17.1) whatever its opcode.
		c.log.Debug("malformed AHS rejected", "opcode", h.Opcode(), "err", err)
		return c.rejectRequest(h, pdu.RejectProtocolError)
	}
	discovery := c.sess.target == nil
	switch h.Opcode() {
	case pdu.OpNOPOut:
		return c.handleNOPOut(h)
	case pdu.OpTextRequest:
		return c.handleText(h)
	case pdu.OpLogoutRequest:
		return c.handleLogout(h)
	}
	if discovery {
		// RFC 7143 §4.3: a discovery session accepts only Text Requests
		// with SendTargets and a Logout Request closing the session, and
		// rejects all other requests (this target also answers NOP-Out).
		return c.rejectRequest(h, pdu.RejectProtocolError)
	}
	switch h.Opcode() {
	case pdu.OpSCSICommand:
		c.mu.Lock()
		full := len(c.tasks) >= c.srv.limits.MaxPendingTasks
		c.mu.Unlock()
		if full {
			return c.taskSetFull(h)
		}
		return c.handleCommand(h, ahs)
	case pdu.OpSCSIDataOut:
		return c.handleDataOut(h)
	case pdu.OpTaskManagementRequest:
		return c.handleTMF(h)
	case pdu.OpSNACKRequest:
		return c.handleSNACK(h)
	}
	return c.rejectRequest(h, pdu.RejectCommandNotSupported)
}

// taskSetFull answers a command beyond Limits.MaxPendingTasks with SCSI
// status TASK SET FULL (SAM-5 §5.3.1) and a residual underflow of its whole
// Expected Data Transfer Length (RFC 7143 §11.4.5), having taken its place
// in the command sequence and dropped its immediate data. Unsolicited
// Data-Out that follows it finds no task and is dropped as for any ended
// task.
func (c *conn) taskSetFull(h *pdu.BHS) error {
	if ok, err := c.admit(h); !ok || err != nil {
		return err
	}
	if err := c.r.DiscardData(); err != nil {
		return c.dataError(h, err)
	}
	cmd := h.SCSICommand()
	c.log.Debug("TASK SET FULL", "itt", cmd.InitiatorTaskTag(), "max_pending_tasks", c.srv.limits.MaxPendingTasks)
	o := outPDU{kind: outStatus}
	r := o.h.SCSIResponse()
	r.Init()
	r.SetInitiatorTaskTag(cmd.InitiatorTaskTag())
	r.SetResponse(pdu.ResponseCommandCompleted)
	r.SetStatus(uint8(scsi.StatusTaskSetFull))
	if n := cmd.ExpectedDataTransferLength(); n > 0 {
		r.SetResidualUnderflow(true)
		r.SetResidualCount(n)
	}
	c.send(&o)
	return nil
}

// rejectRequest answers h with a Reject PDU (RFC 7143 §11.17). A rejected
// request that carries a CmdSN still takes its place in the command
// sequence, so that the commands after it are not held up.
func (c *conn) rejectRequest(h *pdu.BHS, reason pdu.RejectReason) error {
	if ok, err := c.admit(h); err != nil {
		return err
	} else if !ok {
		return nil
	}
	c.reject(h, reason)
	return nil
}

// reject queues a Reject PDU whose data segment is the header of the
// rejected PDU (RFC 7143 §11.17).
func (c *conn) reject(h *pdu.BHS, reason pdu.RejectReason) {
	c.log.Debug("reject", "opcode", h.Opcode().String(), "reason", reason.String())
	o := outPDU{kind: outStatus, data: append([]byte(nil), h[:]...)}
	rj := o.h.Reject()
	rj.Init()
	rj.SetReason(reason)
	c.send(&o)
}

// handleNOPOut answers a ping (RFC 7143 §11.18, §11.19): a NOP-Out with a
// valid Initiator Task Tag gets a NOP-In echoing its data; one with the
// reserved tag answers a NOP-In of the target, which sends none, and gets
// nothing.
func (c *conn) handleNOPOut(h *pdu.BHS) error {
	if ok, err := c.admit(h); !ok || err != nil {
		return err
	}
	n := h.NOPOut()
	if n.InitiatorTaskTag() == pdu.ReservedTag {
		// The answer to a ping of the target (RFC 7143 §11.18.2).
		if ttt := n.TargetTransferTag(); ttt != pdu.ReservedTag && c.pingTTT.CompareAndSwap(ttt, pdu.ReservedTag) {
			select {
			case c.pong <- struct{}{}:
			default:
			}
		} else if ttt != pdu.ReservedTag && c.stallTTT.CompareAndSwap(ttt, pdu.ReservedTag) {
			return c.recoverStalled()
		}
		return nil
	}
	data, err := c.readData(h)
	if err != nil {
		return c.dataError(h, err)
	}
	o := outPDU{kind: outStatus}
	if len(data) > 0 {
		o.data = append([]byte(nil), data...)
	}
	in := o.h.NOPIn()
	in.Init()
	in.SetInitiatorTaskTag(n.InitiatorTaskTag())
	in.SetTargetTransferTag(pdu.ReservedTag)
	in.SetLUN(n.LUN())
	c.send(&o)
	return nil
}

// dataOutWatchdog drops the connection when a task has waited for Data-Out
// for longer than Limits.DataOutTimeout. RFC 7143 leaves the bound to the
// target; at ErrorRecoveryLevel 0 no recovery R2T can ask again (§7.1.5),
// so the connection goes, which ends the task and frees its buffer, and
// the initiator recovers the session (§7.1.5, §6.3.5). At level 1 and
// above, when Data-Out has stopped coming for half that time (the final
// PDU of a sequence, or an R2T, lost to a header digest error), it first
// sends a NOP-In ping; the reader, on its answer, asks again for what is
// missing with recovery R2Ts (recovery.go, recoverStalled).
func (c *conn) dataOutWatchdog() {
	defer c.workers.Done()
	limit := c.srv.limits.DataOutTimeout
	tick := time.NewTicker(max(limit/4, time.Millisecond))
	defer tick.Stop()
	var stallSeq uint32
	for {
		select {
		case <-tick.C:
		case <-c.ctx.Done():
			return
		}
		now := time.Now()
		oldest := now.Add(-limit).UnixNano()
		stalled := now.Add(-limit / 2).UnixNano()
		var late *task
		nudge := false
		c.mu.Lock()
		for _, t := range c.tasks {
			// A command with all its data, held for its turn in CmdSN
			// order, waits for no Data-Out (cmdorder.go bounds that).
			if t.state != taskCollecting || t.aborted || t.deferState.Load() == deferReady {
				continue
			}
			if at := t.dataAt.Load(); at < oldest {
				late = t
				break
			} else if at < stalled && c.erl1 {
				nudge = true
			}
		}
		var itt uint32
		if late != nil {
			itt = late.itt
		}
		c.mu.Unlock()
		if late != nil {
			c.log.Info("Data-Out not received in time", "itt", itt, "timeout", limit)
			c.drop(ErrDataOutTimeout)
			return
		}
		if nudge && c.stallTTT.Load() == pdu.ReservedTag {
			// Tags of their own, apart from the pinger's.
			stallSeq++
			ttt := 0x80000000 | stallSeq&0x7fffffff
			if ttt == pdu.ReservedTag {
				ttt = 0x80000000
			}
			c.stallTTT.Store(ttt)
			if !c.sendPing(ttt) {
				return
			}
		}
	}
}

// sendPing queues a NOP-In ping with Target Transfer Tag ttt (RFC 7143
// §11.19.1) and the reserved Initiator Task Tag (§11.19.2); it reports
// false if the connection is closing.
func (c *conn) sendPing(ttt uint32) bool {
	o := outPDU{kind: outNoStatus}
	in := o.h.NOPIn()
	in.Init()
	in.SetInitiatorTaskTag(pdu.ReservedTag)
	in.SetTargetTransferTag(ttt)
	return c.send(&o)
}

// pinger sends a NOP-In ping every Limits.NOPInInterval (RFC 7143
// §11.19.1: a valid Target Transfer Tag the initiator echoes in a NOP-Out;
// §11.19.2: the reserved Initiator Task Tag, which leaves StatSN where it
// is) and drops the connection when an answer takes longer than
// Limits.NOPInTimeout.
func (c *conn) pinger() {
	defer c.workers.Done()
	lim := c.srv.limits
	tick := time.NewTicker(lim.NOPInInterval)
	defer tick.Stop()
	wait := time.NewTimer(lim.NOPInTimeout)
	wait.Stop()
	for ttt := uint32(1); ; ttt++ {
		select {
		case <-tick.C:
		case <-c.ctx.Done():
			return
		}
		if ttt == pdu.ReservedTag {
			ttt = 1
		}
		c.pingTTT.Store(ttt)
		if !c.sendPing(ttt) {
			return
		}
		wait.Reset(lim.NOPInTimeout)
		select {
		case <-c.pong:
			wait.Stop()
		case <-wait.C:
			c.log.Info("no answer to NOP-In", "ttt", ttt)
			c.drop(ErrNOPInTimeout)
			return
		case <-c.ctx.Done():
			return
		}
	}
}

// dataError handles the failure to read a data segment: a data digest error
// (a *pdu.ProtocolError) is answered with a Reject (RFC 7143 §7.8) and the
// PDU dropped; any other error ends the connection.
func (c *conn) dataError(h *pdu.BHS, err error) error {
	var pe *pdu.ProtocolError
	if errors.As(err, &pe) {
		if errors.Is(err, pdu.ErrDataDigest) {
			c.srv.stats.dataDigestErrors.Add(1)
		}
		c.reject(h, pe.Reason)
		return nil
	}
	return err
}

// handleText answers a Text Request in full feature phase (RFC 7143 §6.4,
// §11.10) through login.TextResponder: SendTargets (§13.3), and
// MaxRecvDataSegmentLength (§13.12), the one key of §13 declared anew in
// full feature phase, answered with the target's own declaration and
// applied to the data segments the connection sends after the answer;
// other keys of §13 are answered Reject, unknown keys NotUnderstood
// (§6.2.1). A request breaking the rules of the exchange, or proposing a
// reserved constant (§6.2), is rejected.
func (c *conn) handleText(h *pdu.BHS) error {
	if ok, err := c.admit(h); !ok || err != nil {
		return err
	}
	data, err := c.readData(h)
	if err != nil {
		return c.dataError(h, err)
	}
	xmit := c.text.MaxXmitDataSegmentLength
	resp, _, err := c.text.Next(&pdu.PDU{Header: *h, Data: data})
	if err != nil || resp == nil {
		c.text.MaxXmitDataSegmentLength = xmit
		c.reject(h, pdu.RejectProtocolError)
		return nil
	}
	o := outPDU{kind: outStatus, h: resp.Header}
	if n := c.text.MaxXmitDataSegmentLength; n != xmit {
		c.log.Debug("MaxRecvDataSegmentLength declared in full feature phase", "max_xmit_data_segment_length", n)
		o.maxXmit = n
	}
	if len(resp.Data) > 0 {
		o.data = append([]byte(nil), resp.Data...)
	}
	c.send(&o)
	return nil
}

// handleLogout answers a Logout Request (RFC 7143 §11.14, §11.15). Closing
// the session or this connection succeeds once the tasks of the connection
// have ended; removing a connection for recovery (reason code 2) keeps its
// tasks for reassignment at ErrorRecoveryLevel 2 (recoveryLogout) and is
// answered "connection recovery is not supported" below it.
func (c *conn) handleLogout(h *pdu.BHS) error {
	if ok, err := c.admit(h); !ok || err != nil {
		return err
	}
	lr := h.LogoutRequest()
	code := pdu.LogoutClosedSuccessfully
	switch lr.ReasonCode() {
	case pdu.LogoutCloseSession:
		// RFC 7143 §11.14.1: closes every connection of the session.
		c.sess.closeOthers(c)
	case pdu.LogoutCloseConnection:
		if lr.CID() != c.cid {
			// RFC 7143 §11.14.1: a Logout for another CID closes that
			// connection; this one carries on.
			code = c.sess.closeConnection(lr.CID())
			o := outPDU{kind: outStatus}
			resp := o.h.LogoutResponse()
			resp.Init()
			resp.SetResponse(code)
			resp.SetInitiatorTaskTag(lr.InitiatorTaskTag())
			c.send(&o)
			c.log.Info("logout of another connection", "logout_cid", lr.CID(), "response", code.String())
			return nil
		}
	case pdu.LogoutRemoveConnectionForRecovery:
		if !c.erl2 {
			code = pdu.LogoutRecoveryNotSupported
			break
		}
		return c.recoveryLogout(lr)
	default:
		code = pdu.LogoutRecoveryNotSupported
	}
	o := outPDU{kind: outStatus}
	resp := o.h.LogoutResponse()
	resp.Init()
	resp.SetResponse(code)
	resp.SetInitiatorTaskTag(lr.InitiatorTaskTag())
	if code != pdu.LogoutClosedSuccessfully {
		c.send(&o)
		return nil
	}
	// RFC 7143 §11.14: on "close the connection" or "close the session"
	// the target terminates all pending commands of the connection or
	// session, and no further responses follow for them.
	c.abortTasks(func(*task) bool { return true }, nil)
	c.running.Wait()
	// Closing the session, or its last connection, ends the session, and
	// with it the I_T nexus (SAM-5 §6.3.4): its state (a PREVENT ALLOW
	// MEDIUM REMOVAL, reservations, unit attentions) goes before the
	// response, so that an initiator logging in again at once never finds
	// the old nexus's state in place.
	if lr.ReasonCode() == pdu.LogoutCloseSession || c.sess.lastConn(c) {
		c.sess.end()
	}
	o.closeAfter = errLoggedOut
	c.send(&o)
	c.log.Info("logout", "reason", lr.ReasonCode().String())
	return errLoggedOut
}

// checkAHS walks the Additional Header Segments of a PDU and returns the
// first error in their framing (RFC 7143 §11.2.2).
func checkAHS(ahs []byte) error {
	it := pdu.NewAHSIterator(ahs)
	for {
		_, ok, err := it.Next()
		if err != nil || !ok {
			return err
		}
	}
}
