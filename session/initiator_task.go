package session

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/go-iscsi/iscsi/pdu"
	"github.com/go-iscsi/iscsi/scsi"
)

type taskKind uint8

const (
	kindSCSI taskKind = iota
	kindTMF
	kindLogout
	kindNOP
	kindText
)

// maxOutstandingR2T caps the MaxOutstandingR2T an initiator proposes
// (RFC 7143 §13.17).
const maxOutstandingR2T = 64

// r2tEvent is an R2T (RFC 7143 §11.8) for the task's goroutine, with the
// connection it came on: the Data-Out answering it goes there.
type r2tEvent struct {
	c                   *initiatorConn
	ttt, offset, length uint32
}

// initiatorTask is one outstanding task, keyed by ITT. Tasks are pooled:
// a command in the steady state allocates none.
type initiatorTask struct {
	itt  uint32
	kind taskKind
	cmd  *Command
	r2t  chan r2tEvent
	// finishingOn is the connection whose finishing count the task's
	// completion raised, until it is released.
	finishingOn *initiatorConn
	// done receives one token when the task completes; it is reused with
	// the task.
	done chan struct{}
	err  error
	// bufMu is held by the read loop while it writes into the task (its
	// DataIn buffer, sense, response fields) and by a recovery while it
	// sends the task's data again; whoever completes the task from
	// another goroutine takes it before the caller gets its buffers back.
	bufMu   sync.Mutex
	resp    Response
	dataSN  uint32
	got     int
	tmfResp pdu.TaskManagementResponseCode
	logout  pdu.LogoutResponseCode
	sense   []byte
	scratch []byte
	tmfFn   pdu.TaskManagementFunction
	tmfLUN  uint64
	// At ErrorRecoveryLevel 1 (initiator_snack.go), under bufMu: the
	// Data-In and R2Ts asked for again and not yet received, the next
	// R2TSN expected, the bytes of Data-In received, whether the status
	// came (held until the data is all in), and the SNACK timeout with
	// the connection of the last SNACK.
	dataGaps, r2tGaps snGaps
	r2tSN             uint32
	recvd             int
	held              bool
	statSN            uint32 // of the status held
	snacks            int    // Data/R2T SNACKs sent (maxTaskSNACKs)
	snackTimer        *time.Timer
	snackC            *initiatorConn
	// A DataACK asked for by a Data-In with the A bit (RFC 7143
	// §11.7.2): its Target Transfer Tag and LUN, whether it waits for
	// missing Data-In, and whether it was sent.
	ackTTT           uint32
	ackLUN           uint64
	ackWanted, acked bool
	// r2tResync says the task was reassigned (initiator_reassign.go):
	// its next R2T sets the R2TSN expected.
	r2tResync bool

	// The SCSI Command PDU as sent, its immediate data and the length of
	// its unsolicited data, kept to issue it again after a reinstatement.
	hdr pdu.BHS
	// ahs is the SCSI Command's Additional Header Segments: an Extended
	// CDB AHS when the CDB is longer than 16 bytes (RFC 7143 §11.2.2.3),
	// else empty. Its array is kept with the task for reuse.
	ahs         []byte
	immediate   []byte
	unsolicited int
	src         dataSource
	// c is the connection the task was last issued on and cmdSN its CmdSN
	// there (the RefCmdSN of an ABORT TASK, RFC 7143 §11.5.4); both are
	// set under Session.mu. tries counts the times it was issued again;
	// retry marks it for a recovery in progress.
	c      *initiatorConn
	cmdSN  uint32
	issued bool
	tries  int
	retry  bool
	// loadOn is the connection whose load counts the task (bindLocked);
	// logoutConn, for a logout, the connection it closes (nil: the
	// session). Both under Session.mu.
	loadOn     *initiatorConn
	logoutConn *initiatorConn
	// recoveryLogout, for a logout, says it removes a failed connection
	// for recovery (RFC 7143 §11.14.1, reason 2), and time2Wait is the
	// Time2Wait of its response (§11.15.3).
	recoveryLogout bool
	time2Wait      uint16
}

// errAbortedByTMF is the cause of a CommandError for a command a task
// management function ended on the target (RFC 7143 §4.2.3.5, §11.5.1):
// the target sends no response for it.
var errAbortedByTMF = errors.New("aborted by task management")

// newTask registers a task under a fresh ITT. ITTs skip the reserved tag
// 0xffffffff, 0 and any still outstanding (RFC 7143 §11.1).
// The fields the read loop reads (cmd of a SCSI task, the function and
// LUN of a task management request) are set here under s.mu, before the
// task is visible to it.
func (s *Session) newTask(kind taskKind, cmd *Command, tmfFn pdu.TaskManagementFunction, tmfLUN uint64) (*initiatorTask, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.state == stateClosed {
		return nil, s.closedErr()
	}
	if kind == kindSCSI && s.logoutAsked {
		return nil, fmt.Errorf("%w: the target asked for a logout (RFC 7143 §11.9.1)", ErrClosed)
	}
	var t *initiatorTask
	if n := len(s.free); n > 0 {
		t = s.free[n-1]
		s.free = s.free[:n-1]
	} else {
		t = &initiatorTask{r2t: make(chan r2tEvent, maxOutstandingR2T), done: make(chan struct{}, 1)}
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
	if kind == kindSCSI {
		s.inflight++
	}
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

// release forgets a completed task so its ITT can be reused, and returns
// it to the pool clean.
func (s *Session) release(t *initiatorTask) {
	t.bufMu.Lock()
	s.mu.Lock()
	if s.tasks[t.itt] == t {
		delete(s.tasks, t.itt)
	}
	s.unloadLocked(t)
	if t.finishingOn != nil {
		t.finishingOn.finishing.Add(-1)
		t.finishingOn = nil
	}
	if t.kind == kindSCSI {
		s.inflight--
		if s.inflight == 0 && s.idle != nil {
			close(s.idle)
			s.idle = nil
		}
	}
	for len(t.r2t) > 0 {
		<-t.r2t
	}
	select {
	case <-t.done:
	default:
	}
	// Every field but bufMu, which is held, back to its zero value.
	t.itt, t.kind, t.cmd, t.err = 0, 0, nil, nil
	t.resp, t.dataSN, t.got, t.tmfResp, t.logout = Response{}, 0, 0, 0, 0
	t.sense = t.sense[:0]
	t.tmfFn, t.tmfLUN = 0, 0
	t.resetERL1()
	t.hdr, t.ahs, t.immediate, t.unsolicited, t.src = pdu.BHS{}, t.ahs[:0], nil, 0, dataSource{}
	t.c, t.cmdSN, t.issued, t.tries, t.retry = nil, 0, false, 0, false
	t.logoutConn = nil
	t.recoveryLogout, t.time2Wait = false, 0
	s.free = append(s.free, t)
	s.mu.Unlock()
	t.bufMu.Unlock()
}

// completeLocked ends t with err (nil: a status was received) if it is
// still registered under its ITT. Called with s.mu held.
func (s *Session) completeLocked(t *initiatorTask, err error) {
	s.completeITTLocked(t.itt, t, err)
}

// completeITTLocked ends t if it is still the task registered under itt:
// a reader holding a task it looked up for a PDU must not complete the
// task's next use.
func (s *Session) completeITTLocked(itt uint32, t *initiatorTask, err error) {
	if s.tasks[itt] != t {
		return
	}
	delete(s.tasks, itt)
	t.err = err
	if t.kind == kindSCSI && t.c != nil {
		t.finishingOn = t.c
		t.c.finishing.Add(1)
	}
	t.done <- struct{}{}
}

// failTask completes t with err if it is still outstanding.
func (s *Session) failTask(t *initiatorTask, err error) {
	s.mu.Lock()
	s.completeLocked(t, err)
	s.mu.Unlock()
}

// registered reports whether t is still the task of itt. The caller holds
// t.bufMu.
func (s *Session) registered(itt uint32, t *initiatorTask) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.tasks[itt] == t
}

// awaitUp waits until no recovery is in progress.
func (s *Session) awaitUp(ctx context.Context) error {
	for {
		s.mu.Lock()
		st, up := s.state, s.up
		err := s.closedErr()
		s.mu.Unlock()
		switch st {
		case stateUp:
			return nil
		case stateClosed:
			return err
		}
		select {
		case <-up:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// reserve waits until the session is up and the CmdSN window is open (RFC
// 7143 §3.2.2.1: a command is sent only while CmdSN ≤ MaxCmdSN in serial
// arithmetic), and returns with s.seqMu held, the connection to send on
// and the CmdSN to use, advancing it if !immediate. A task t, if not nil,
// is bound to the connection and CmdSN in the same step, so a connection
// failure finds every task issued on it.
func (s *Session) reserve(ctx context.Context, immediate bool, t *initiatorTask) (*initiatorConn, uint32, error) {
	return s.reserveOn(ctx, immediate, t, nil)
}

// reserveOn is reserve on connection want, or, when want is nil, on the
// connection the session's ConnectionPolicy picks. A want that is no
// longer a connection of the session fails with ErrConnectionLost.
func (s *Session) reserveOn(ctx context.Context, immediate bool, t *initiatorTask, want *initiatorConn) (*initiatorConn, uint32, error) {
	for {
		if err := s.awaitUp(ctx); err != nil {
			return nil, 0, err
		}
		s.seqMu.Lock()
		s.mu.Lock()
		switch {
		case s.state != stateUp:
			s.mu.Unlock()
			s.seqMu.Unlock()
			continue
		case want != nil && !s.hasConnLocked(want):
			s.mu.Unlock()
			s.seqMu.Unlock()
			return nil, 0, fmt.Errorf("%w: CID %d is no longer a connection of the session", ErrConnectionLost, want.cid)
		case !immediate && s.mcs.settled != nil:
			settled := s.mcs.settled
			s.mu.Unlock()
			s.seqMu.Unlock()
			select {
			case <-settled:
			case <-ctx.Done():
				return nil, 0, ctx.Err()
			}
			continue
		case len(s.conns) == 0:
			// The last connection is being recovered at
			// ErrorRecoveryLevel 2 (initiator_reassign.go).
			rejoin := s.mcs.rejoin
			s.mu.Unlock()
			s.seqMu.Unlock()
			if rejoin == nil {
				continue
			}
			select {
			case <-rejoin:
			case <-ctx.Done():
				return nil, 0, ctx.Err()
			}
			continue
		case immediate || pdu.SerialLessOrEqual(s.cmdSN, s.maxCmdSN):
			c, sn := want, s.cmdSN
			if c == nil {
				c = s.pickLocked()
			}
			if !immediate {
				s.cmdSN++
			}
			if t != nil {
				s.bindLocked(t, c)
				t.cmdSN, t.issued = sn, true
			}
			s.mu.Unlock()
			return c, sn, nil
		}
		w, c := s.window, s.c
		s.windowWanted = true
		s.mu.Unlock()
		s.seqMu.Unlock()
		select {
		case <-w:
		case <-c.dead:
		case <-ctx.Done():
			return nil, 0, ctx.Err()
		}
	}
}

// Execute sends cmd and waits for its status (RFC 7143 §11.3, §11.4). A
// completed command returns a Response whatever its SCSI status; an error
// means no status came: a *CommandError (wrapping ErrConnectionLost when
// the connection failed with the command unfinished: the target may or
// may not have executed it), ErrClosed, or ctx.Err() after the task was
// aborted on the target (ABORT TASK, RFC 7143 §11.5.1). Once Execute has
// returned nothing writes into cmd.DataIn or reads cmd.DataOut any more.
// While the session is being reinstated Execute waits, bounded by ctx,
// and then runs the command on the new session.
func (s *Session) Execute(ctx context.Context, cmd *Command) (*Response, error) {
	r := new(Response)
	if err := s.ExecuteInto(ctx, cmd, r); err != nil {
		return nil, err
	}
	return r, nil
}

// ExecuteInto is Execute storing the outcome in *resp, which lets a caller
// reuse one Response: a command then allocates nothing in the steady
// state. resp.RawSense reuses its capacity, and resp.Sense is a new value
// only when there is sense data.
func (s *Session) ExecuteInto(ctx context.Context, cmd *Command, resp *Response) error {
	if len(cmd.CDB) == 0 || len(cmd.CDB) > MaxCDBLength {
		return fmt.Errorf("%w: CDB of %d bytes (1 to %d supported)", ErrOptions, len(cmd.CDB), MaxCDBLength)
	}
	outLen := len(cmd.DataOut)
	if cmd.DataOutReader != nil {
		if cmd.DataOut != nil {
			return fmt.Errorf("%w: both DataOut and DataOutReader set", ErrOptions)
		}
		outLen = cmd.DataOutLength
	}
	if outLen > 0 && len(cmd.DataIn) > 0 {
		return fmt.Errorf("%w: bidirectional commands are not supported", ErrOptions)
	}
	// The session parameters of the connection the command is built for;
	// a reinstatement renegotiates the same proposals, and a change of
	// the burst limits there is caught by the target's checks.
	if err := s.awaitUp(ctx); err != nil {
		return err
	}
	t, err := s.newTask(kindSCSI, cmd, 0, 0)
	if err != nil {
		return err
	}
	s.mu.Lock()
	sp := &s.res.Session
	firstBurst, immData, initialR2T := int(sp.FirstBurstLength), sp.ImmediateData, sp.InitialR2T
	maxXmit := s.minXmitLocked()
	s.mu.Unlock()

	sc := t.hdr.SCSICommand()
	sc.Init()
	sc.SetLUN(cmd.LUN.Uint64())
	sc.SetInitiatorTaskTag(t.itt)
	sc.SetAttributes(cmd.Attribute)
	sc.SetCDB(cmd.CDB)
	if len(cmd.CDB) > pdu.CDBLength {
		// Cannot fail: the length is checked above. The Writer sets
		// TotalAHSLength.
		t.ahs, _ = pdu.AppendExtendedCDBAHS(t.ahs[:0], cmd.CDB)
	}
	var out *dataSource
	if outLen > 0 {
		t.src = newDataSource(cmd.DataOut, cmd.DataOutReader, outLen)
		out = &t.src
		sc.SetWrite(true)
		sc.SetExpectedDataTransferLength(uint32(outLen))
	} else if len(cmd.DataIn) > 0 {
		sc.SetRead(true)
		sc.SetExpectedDataTransferLength(uint32(len(cmd.DataIn)))
	}
	// RFC 7143 §13.10, §13.11, §13.14: unsolicited data (immediate and
	// in Data-Out PDUs) is at most FirstBurstLength in all.
	if out != nil {
		t.unsolicited = min(outLen, firstBurst)
		if immData {
			n := min(t.unsolicited, maxXmit)
			if t.immediate, err = out.next(n, s.scratchFor(t, n)); err != nil {
				s.release(t)
				return err
			}
		}
		if initialR2T {
			t.unsolicited = len(t.immediate)
		}
	}
	sc.SetFinal(t.unsolicited == len(t.immediate))

	c, sn, err := s.reserve(ctx, false, t)
	if err != nil {
		s.release(t)
		return err
	}
	sc.SetCmdSN(sn)
	// Queued in CmdSN order under seqMu, written after it: commands
	// issued at once share one vectored write.
	batch, err := c.queue(&t.hdr, t.ahs, t.immediate, true)
	s.seqMu.Unlock()
	if err == nil {
		err = c.flushed(batch)
	}
	if err != nil {
		// The connection's failure decides the task's fate (recovery).
		c.kill()
	} else if t.unsolicited > len(t.immediate) {
		if err := s.sendData(c, t, pdu.ReservedTag, uint32(len(t.immediate)), uint32(t.unsolicited-len(t.immediate))); err != nil {
			if !errors.Is(err, ErrConnectionLost) {
				return s.abandon(ctx, t, err, resp)
			}
			c.kill()
		}
	}
	for {
		select {
		case <-t.done:
			return s.finish(t, resp)
		case ev := <-t.r2t:
			// A cancelled command sends no more data: the select
			// picks among ready cases at random.
			if ctx.Err() != nil {
				return s.abandon(ctx, t, ctx.Err(), resp)
			}
			if err := s.sendData(ev.c, t, ev.ttt, ev.offset, ev.length); err != nil {
				if !errors.Is(err, ErrConnectionLost) {
					return s.abandon(ctx, t, err, resp)
				}
				ev.c.kill()
			}
		case <-ctx.Done():
			return s.abandon(ctx, t, ctx.Err(), resp)
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

// rereadImmediate reads the immediate data of t, whose Data-Out comes from
// a reader, again before the command is sent again: its bytes were read
// into the task's scratch buffer, which its Data-Out PDUs reuse.
func (s *Session) rereadImmediate(t *initiatorTask) error {
	if t.src.r == nil || len(t.immediate) == 0 {
		return nil
	}
	// In place: the slice itself is read by the command's goroutine.
	if _, err := t.src.at(0, len(t.immediate), t.immediate); err != nil {
		return &CommandError{ITT: t.itt, Err: err}
	}
	return nil
}

// dataSource hands out a command's Data-Out in order of buffer offset.
type dataSource struct {
	buf []byte
	r   io.Reader
	n   int
	pos int
	// seeker is r when it is an io.Seeker that told its position, start,
	// when the command was built: the data can then be read again from
	// any offset (a retry, a reassignment, a recovery R2T).
	seeker io.Seeker
	start  int64
}

// newDataSource returns the Data-Out of a command: buf, or n bytes read
// from r.
func newDataSource(buf []byte, r io.Reader, n int) dataSource {
	d := dataSource{buf: buf, r: r, n: n}
	if sk, ok := r.(io.Seeker); ok {
		if start, err := sk.Seek(0, io.SeekCurrent); err == nil {
			d.seeker, d.start = sk, start
		}
	}
	return d
}

// replayable reports whether the data can be sent again: it is a buffer,
// or a reader that seeks.
func (d *dataSource) replayable() bool { return d.r == nil || d.seeker != nil }

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
		if d.seeker == nil {
			return nil, fmt.Errorf("%w: data requested at offset %d, reader is at %d", errDataPhase, offset, d.pos)
		}
		if _, err := d.seeker.Seek(d.start+int64(offset), io.SeekStart); err != nil {
			return nil, fmt.Errorf("iscsi: seeking Data-Out to offset %d: %w", offset, err)
		}
		d.pos = offset
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

// sendData sends length bytes from offset as one Data-Out sequence on c
// (RFC 7143 §11.7): PDUs of at most the target's MaxRecvDataSegmentLength,
// DataSN from 0, the F bit on the last, ttt the Target Transfer Tag of the
// R2T (0xffffffff for unsolicited data). A write error is returned
// wrapping ErrConnectionLost, a data error as a *CommandError.
func (s *Session) sendData(c *initiatorConn, t *initiatorTask, ttt, offset, length uint32) error {
	if t.src.n == 0 {
		return &CommandError{ITT: t.itt, Err: fmt.Errorf("%w: R2T for a command without Data-Out", errDataPhase)}
	}
	maxXmit := c.maxXmit.Load()
	var h pdu.BHS
	do := h.DataOut()
	var sn uint32
	for sent := uint32(0); sent < length; sn++ {
		n := min(length-sent, maxXmit)
		data, err := t.src.at(int(offset+sent), int(n), s.scratchFor(t, int(n)))
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
		if err := c.write(&h, data, true); err != nil {
			return connErr(err)
		}
	}
	return nil
}

// abandon ends a command the caller gives up on or that cannot go on:
// the target is asked to abort it (ABORT TASK, RFC 7143 §11.5.1) when its
// connection is up; when the ABORT TASK goes unanswered the connection is
// dropped (RFC 7143 §7.1.1: it cannot be trusted with the buffers any
// more). abandon returns after the read loop has stopped writing into the
// task, so no Data-In lands in the caller's buffer afterwards.
func (s *Session) abandon(ctx context.Context, t *initiatorTask, cause error, resp *Response) error {
	select {
	case <-t.done:
		t.quiesce()
		if ctx.Err() == nil {
			return s.finishDone(t, resp)
		}
		s.release(t)
		return cause
	default:
	}
	s.mu.Lock()
	c, sn := t.c, t.cmdSN
	live := s.state == stateUp && s.hasConnLocked(c)
	s.mu.Unlock()
	if live {
		actx, cancel := context.WithTimeout(context.WithoutCancel(ctx), DefaultLoginTimeout)
		_, err := s.taskManagement(actx, pdu.TMFAbortTask, t.cmd.LUN, t.itt, sn)
		cancel()
		if err != nil {
			c.kill()
		}
	}
	s.failTask(t, cause)
	s.release(t)
	return cause
}

// quiesce waits until no reader or recovery is inside the task's buffers.
func (t *initiatorTask) quiesce() {
	t.bufMu.Lock()
	//lint:ignore SA2001 the lock is taken only to wait for its holder
	t.bufMu.Unlock()
}

// finish returns the outcome of a completed task into resp and releases
// the task.
func (s *Session) finish(t *initiatorTask, resp *Response) error {
	// A task completed by another goroutine than the read loop: wait for
	// the read loop to be out of its buffers.
	t.quiesce()
	return s.finishDone(t, resp)
}

func (s *Session) finishDone(t *initiatorTask, resp *Response) error {
	defer s.release(t)
	if t.err != nil {
		return t.err
	}
	if resp == nil {
		return nil
	}
	raw := resp.RawSense[:0]
	*resp = t.resp
	resp.RawSense = nil
	if len(t.sense) > 0 {
		resp.RawSense = append(raw, t.sense...)
		if sn, err := scsi.ParseSense(resp.RawSense); err == nil {
			resp.Sense = &sn
		}
	}
	resp.DataInLength = t.got
	return nil
}

func connErr(err error) error {
	if errors.Is(err, ErrClosed) || errors.Is(err, ErrConnectionLost) {
		return err
	}
	return fmt.Errorf("%w: %v", ErrConnectionLost, err)
}
