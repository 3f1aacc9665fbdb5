package session

import (
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	"github.com/go-iscsi/iscsi/login"
	"github.com/go-iscsi/iscsi/pdu"
	"github.com/go-iscsi/iscsi/scsi"
)

// readLoop reads every PDU of connection c and routes it to its task; when
// the connection fails it hands over to connEnded.
func (s *Session) readLoop(c *initiatorConn) {
	defer s.loops.Done()
	defer close(c.readDone)
	defer func() {
		if c.stat.timer != nil {
			c.stat.timer.Stop()
		}
	}()
	keepAlive := s.opts.NOPInterval > 0
	badHeaders := 0
	for {
		if s.opts.BusyPoll > 0 && c.r.Buffered() < pdu.BHSLength {
			c.r.SetBusyPoll(busyPollFor(s.opts.BusyPoll, int(c.loadNow.Load())), s.opts.BusyPoll)
		}
		p, err := c.r.ReadHeader()
		if err == nil {
			badHeaders = 0
			if keepAlive {
				c.lastRecv.Store(time.Now().UnixNano())
			}
			err = s.dispatch(c, p)
		} else if hde := (*pdu.HeaderDigestError)(nil); errors.As(err, &hde) && badHeaders < maxInitiatorBadHeaders {
			// RFC 7143 §7.8, §7.1.4.1: at ErrorRecoveryLevel 1 the PDU
			// is dropped and what it carried is asked for again once a
			// later PDU shows the gap.
			badHeaders++
			s.headerDigestError(c, hde)
			continue
		}
		if err != nil {
			switch {
			case errors.Is(err, pdu.ErrHeaderDigest):
				s.count(func(x *Stats) *uint64 { return &x.HeaderDigestErrors })
			case errors.Is(err, pdu.ErrDataDigest):
				s.count(func(x *Stats) *uint64 { return &x.DataDigestErrors })
			}
			c.kill()
			c.causeOnce.Do(func() { c.cause = err })
			s.connEnded(c, c.cause)
			return
		}
	}
}

// lookup returns the task registered under itt, or nil.
func (s *Session) lookup(itt uint32) *initiatorTask {
	s.mu.Lock()
	t := s.tasks[itt]
	s.mu.Unlock()
	return t
}

// lookupKind returns the task registered under itt if it is of kind, or
// nil. The kind is read under s.mu: a task that completes meanwhile may be
// released and reused by its caller (release clears its fields under
// s.mu and t.bufMu), so the read loop reads no field of a task it looked
// up without one of them, and checks under t.bufMu that the task is still
// registered before it writes into it.
func (s *Session) lookupKind(itt uint32, kind taskKind) *initiatorTask {
	s.mu.Lock()
	defer s.mu.Unlock()
	if t := s.tasks[itt]; t != nil && t.kind == kind {
		return t
	}
	return nil
}

// statSN advances ExpStatSN past a PDU that carries status (RFC 7143
// §4.2.2.2). R2T and Data-In without status carry StatSN but do not
// advance it (§11.8.3, §11.7.4). At ErrorRecoveryLevel 1 a gap in StatSN
// is asked for again (statSNERL1).
func (s *Session) statSN(c *initiatorConn, sn uint32) error {
	if c.erl > 0 {
		return s.statSNERL1(c, sn, statusReceived)
	}
	c.expStatSN.Store(sn + 1)
	return nil
}

// updateWindow takes ExpCmdSN and MaxCmdSN from a target PDU (RFC 7143
// §4.2.2.1): they are used only when MaxCmdSN ≥ ExpCmdSN−1 and only if
// they advance.
func (s *Session) updateWindow(c *initiatorConn, h *pdu.BHS) {
	exp := binary.BigEndian.Uint32(h[28:32])
	maxSN := binary.BigEndian.Uint32(h[32:36])
	if pdu.SerialLess(maxSN, exp-1) {
		return
	}
	s.mu.Lock()
	// RFC 7143 §4.2.2.1: the window is the session's, and the responses
	// of every connection carry it.
	if s.hasConnLocked(c) {
		if pdu.SerialLess(s.expCmdSN, exp) {
			s.expCmdSN = exp
		}
		if pdu.SerialLess(s.maxCmdSN, maxSN) {
			s.maxCmdSN = maxSN
			// A new channel only when someone waits on this one: an
			// open window costs nothing per command.
			if s.windowWanted {
				s.windowWanted = false
				close(s.window)
				s.window = make(chan struct{})
			}
		}
	}
	s.mu.Unlock()
}

func (s *Session) dispatch(c *initiatorConn, p *pdu.PDU) error {
	h := &p.Header
	op := h.Opcode()
	if !op.FromTarget() {
		return fmt.Errorf("initiator opcode %v from the target", op)
	}
	s.updateWindow(c, h)
	switch op {
	case pdu.OpSCSIDataIn:
		return s.dataIn(c, h)
	case pdu.OpSCSIResponse:
		return s.scsiResponse(c, h)
	case pdu.OpR2T:
		r := h.R2T()
		t := s.lookupKind(r.InitiatorTaskTag(), kindSCSI)
		if err := c.r.DiscardData(); err != nil {
			return err
		}
		if t == nil {
			return nil
		}
		// Under t.bufMu the task cannot be released: an R2T of a task
		// that has just completed does not reach the task's next use.
		t.bufMu.Lock()
		defer t.bufMu.Unlock()
		if !s.registered(r.InitiatorTaskTag(), t) {
			return nil
		}
		if c.erl > 0 {
			if ok, err := s.r2tERL1(c, t, r); !ok || err != nil {
				return err
			}
		}
		select {
		case t.r2t <- r2tEvent{c: c, ttt: r.TargetTransferTag(), offset: r.BufferOffset(), length: r.DesiredDataTransferLength()}:
		default:
			return fmt.Errorf("more outstanding R2Ts for ITT 0x%08x than MaxOutstandingR2T", r.InitiatorTaskTag())
		}
		return nil
	case pdu.OpNOPIn:
		return s.nopIn(c, h)
	case pdu.OpTaskManagementResponse:
		r := h.TaskManagementResponse()
		if err := s.statSN(c, binary.BigEndian.Uint32(h[24:28])); err != nil {
			return err
		}
		if err := c.r.DiscardData(); err != nil {
			return err
		}
		itt := h.InitiatorTaskTag()
		s.mu.Lock()
		if t := s.tasks[itt]; t != nil && t.kind == kindTMF {
			t.tmfResp = r.Response()
			s.completeITTLocked(itt, t, nil)
			if t.tmfResp == pdu.TMFResponseFunctionComplete {
				s.endAffectedLocked(t.tmfFn, t.tmfLUN)
				if t.tmfFn == pdu.TMFTargetColdReset {
					// RFC 7143 §11.5.1: after a TARGET COLD RESET the
					// target drops all its connections; the session is
					// over, not to be reinstated.
					s.closeLocked(fmt.Errorf("%w: TARGET COLD RESET", ErrClosed))
				}
			}
		}
		s.mu.Unlock()
		return nil
	case pdu.OpLogoutResponse:
		r := h.LogoutResponse()
		if err := s.statSN(c, r.StatSN()); err != nil {
			return err
		}
		if err := c.r.DiscardData(); err != nil {
			return err
		}
		itt := r.InitiatorTaskTag()
		s.mu.Lock()
		if t := s.tasks[itt]; t != nil && t.kind == kindLogout {
			t.logout = r.Response()
			t.time2Wait = r.Time2Wait()
			s.completeITTLocked(itt, t, nil)
			if t.logout == pdu.LogoutClosedSuccessfully && !t.recoveryLogout {
				// RFC 7143 §11.15: the target closes the connection
				// after a successful logout; a logout of one
				// connection (§11.14.1, reason 1) leaves the others.
				if t.logoutConn != nil {
					s.connLoggedOutLocked(t.logoutConn)
				} else {
					s.closeLocked(ErrClosed)
				}
			}
		}
		s.mu.Unlock()
		return nil
	case pdu.OpReject:
		if err := s.statSN(c, binary.BigEndian.Uint32(h[24:28])); err != nil {
			return err
		}
		hdr := make([]byte, h.DataSegmentLength())
		if err := c.r.ReadData(hdr); err != nil {
			return err
		}
		// RFC 7143 §11.17: the data segment is the rejected header; a
		// rejected command fails. At ErrorRecoveryLevel 1 a Data-Out
		// rejected for its data digest is asked for again by the
		// target with a recovery R2T (§7.8, §7.2.2): its command goes on.
		if c.erl > 0 && pdu.RejectReason(h[2]) == pdu.RejectDataDigestError {
			s.logger().Debug("iscsi initiator: PDU rejected for its data digest", "cid", c.cid)
			return nil
		}
		if len(hdr) >= pdu.BHSLength {
			itt := binary.BigEndian.Uint32(hdr[16:20])
			if t := s.lookup(itt); t != nil {
				t.bufMu.Lock()
				s.mu.Lock()
				s.completeITTLocked(itt, t, &CommandError{ITT: itt, Err: fmt.Errorf("rejected by the target: reason 0x%02x", h[2])})
				s.mu.Unlock()
				t.bufMu.Unlock()
			}
		}
		return nil
	case pdu.OpAsyncMessage:
		return s.asyncMessage(c, h)
	case pdu.OpTextResponse:
		return s.textResponse(c, h)
	default:
		s.logger().Debug("iscsi initiator: PDU ignored", "opcode", op)
		return c.r.DiscardData()
	}
}

// nopIn answers a target's ping (TTT other than 0xffffffff, RFC 7143
// §11.19.1) with its TTT and data echoed in an immediate NOP-Out, and
// completes the keep-alive ping a NOP-In with our ITT answers (§11.18).
func (s *Session) nopIn(c *initiatorConn, h *pdu.BHS) error {
	n := h.NOPIn()
	itt := n.InitiatorTaskTag()
	if itt != pdu.ReservedTag {
		if err := s.statSN(c, n.StatSN()); err != nil {
			return err
		}
	} else if c.erl > 0 {
		// RFC 7143 §11.19.2: a NOP-In of the target's own carries the
		// next StatSN without advancing it, so it shows responses lost
		// before it.
		if err := s.statSNERL1(c, n.StatSN(), statusPeek); err != nil {
			return err
		}
	}
	var ping []byte
	if dsl := h.DataSegmentLength(); dsl > 0 {
		ping = make([]byte, dsl)
		if err := c.r.ReadData(ping); err != nil {
			return err
		}
	}
	if itt != pdu.ReservedTag {
		s.mu.Lock()
		if t := s.tasks[itt]; t != nil && t.kind == kindNOP {
			s.completeITTLocked(itt, t, nil)
		}
		s.mu.Unlock()
	}
	if ttt := n.TargetTransferTag(); ttt != pdu.ReservedTag {
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
		return c.write(&out, ping, true)
	}
	return nil
}

// endAffectedLocked fails the SCSI tasks that a completed task management
// function of this session ended (RFC 7143 §11.5.1): those of lun for
// ABORT TASK SET, CLEAR TASK SET and LOGICAL UNIT RESET, all for the target
// resets and I_T NEXUS RESET. Their responses never come. The read loop
// calls it, so none of them is being written into.
func (s *Session) endAffectedLocked(fn pdu.TaskManagementFunction, lun uint64) {
	all := fn == pdu.TMFTargetWarmReset || fn == pdu.TMFTargetColdReset || fn == pdu.TMFITNexusReset
	if !all && fn != pdu.TMFAbortTaskSet && fn != pdu.TMFClearTaskSet && fn != pdu.TMFLogicalUnitReset {
		return
	}
	for itt, t := range s.tasks {
		if t.kind == kindSCSI && t.issued && (all || t.cmd.LUN.Uint64() == lun) {
			s.completeITTLocked(itt, t, &CommandError{ITT: itt, Err: errAbortedByTMF})
		}
	}
}

// dataIn places a Data-In PDU at its BufferOffset (RFC 7143 §11.7.5) and
// checks DataSN (§11.7.4).
func (s *Session) dataIn(c *initiatorConn, h *pdu.BHS) error {
	d := h.DataIn()
	itt := d.InitiatorTaskTag()
	t := s.lookupKind(itt, kindSCSI)
	dsl := h.DataSegmentLength()
	if t == nil {
		// A task that is gone (aborted): its data is dropped.
		return c.r.DiscardData()
	}
	t.bufMu.Lock()
	defer t.bufMu.Unlock()
	if !s.registered(itt, t) {
		return c.r.DiscardData()
	}
	if c.erl > 0 {
		return s.dataInERL1(c, t, h)
	}
	off := d.BufferOffset()
	if d.DataSN() != t.dataSN {
		return fmt.Errorf("Data-In DataSN %d for ITT 0x%08x, want %d", d.DataSN(), itt, t.dataSN)
	}
	t.dataSN++
	buf := t.cmd.DataIn
	if uint64(off)+uint64(dsl) > uint64(len(buf)) {
		return fmt.Errorf("Data-In at %d+%d beyond the %d-byte buffer of ITT 0x%08x", off, dsl, len(buf), itt)
	}
	if err := c.r.ReadData(buf[off : off+dsl]); err != nil {
		return err
	}
	if end := int(off + dsl); end > t.got {
		t.got = end
	}
	if d.StatusPresent() {
		if err := s.statSN(c, d.StatSN()); err != nil {
			return err
		}
		t.setStatus(d)
		s.mu.Lock()
		s.completeITTLocked(itt, t, nil)
		s.mu.Unlock()
	}
	return nil
}

// statusPDU is what a final Data-In with the S bit (RFC 7143 §11.7.4) and
// a SCSI Response (§11.4) both carry: the SCSI status and the residual.
type statusPDU interface {
	Status() uint8
	ResidualCount() uint32
	ResidualUnderflow() bool
	ResidualOverflow() bool
}

// setStatus records the status and residual of p in the task's response.
func (t *initiatorTask) setStatus(p statusPDU) {
	t.resp.Status = scsi.Status(p.Status())
	t.resp.ResidualCount = p.ResidualCount()
	t.resp.Underflow = p.ResidualUnderflow()
	t.resp.Overflow = p.ResidualOverflow()
}

// scsiResponse completes a command with its SCSI Response (RFC 7143
// §11.4).
func (s *Session) scsiResponse(c *initiatorConn, h *pdu.BHS) error {
	r := h.SCSIResponse()
	itt := r.InitiatorTaskTag()
	t := s.lookupKind(itt, kindSCSI)
	dsl := int(h.DataSegmentLength())
	if t != nil {
		t.bufMu.Lock()
		defer t.bufMu.Unlock()
		if !s.registered(itt, t) {
			t = nil
		}
	}
	if t == nil || c.erl == 0 {
		if err := s.statSN(c, r.StatSN()); err != nil {
			return err
		}
	}
	if t == nil {
		return c.r.DiscardData()
	}
	if cap(t.sense) < dsl {
		t.sense = make([]byte, dsl)
	}
	seg := t.sense[:dsl]
	if err := c.r.ReadData(seg); err != nil {
		if c.erl == 0 || !isDataDigest(err) {
			return err
		}
		// RFC 7143 §7.8: a response whose data digest fails is dropped
		// and asked for again with a Status SNACK.
		s.count(func(x *Stats) *uint64 { return &x.DataDigestErrors })
		t.sense = t.sense[:0]
		return s.statusLost(c, r.StatSN())
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
		err = &CommandError{ITT: itt, Response: r.Response(), Err: errTargetFailure}
	}
	t.setStatus(r)
	if c.erl > 0 && err == nil {
		// RFC 7143 §11.4.8, §7.2.1: ExpDataSN is the number of Data-In
		// the target sent; those not received are asked for again, and
		// the status waits for them.
		if n := r.ExpDataSN(); len(t.cmd.DataIn) > 0 && pdu.SerialLess(t.dataSN, n) {
			if !t.dataGaps.add(t.dataSN, n-t.dataSN) {
				return fmt.Errorf("ITT 0x%08x misses more than %d runs of Data-In", itt, maxSNGaps)
			}
			if err := s.taskSNACK(c, t, false, t.dataSN, n-t.dataSN); err != nil {
				return err
			}
			t.dataSN = n
		}
		if err := s.statSNERL1(c, r.StatSN(), statusHeld); err != nil {
			return err
		}
		t.held, t.statSN = true, r.StatSN()
		return s.completeHeld(c, t)
	}
	if c.erl > 0 {
		if err := s.statSN(c, r.StatSN()); err != nil {
			return err
		}
	}
	s.mu.Lock()
	s.completeITTLocked(itt, t, err)
	s.mu.Unlock()
	return nil
}

// textResponse collects the text of a Text Response for the renegotiation
// task it answers (RFC 7143 §11.11); a response with the C bit or without
// the F bit is continued with an empty Text Request carrying its TTT
// (§11.10.2, §11.10.4).
func (s *Session) textResponse(c *initiatorConn, h *pdu.BHS) error {
	r := h.TextResponse()
	if err := s.statSN(c, r.StatSN()); err != nil {
		return err
	}
	itt := r.InitiatorTaskTag()
	data := make([]byte, h.DataSegmentLength())
	if err := c.r.ReadData(data); err != nil {
		return err
	}
	t := s.lookupKind(itt, kindText)
	if t == nil {
		return nil
	}
	t.bufMu.Lock()
	if !s.registered(itt, t) {
		t.bufMu.Unlock()
		return nil
	}
	t.sense = append(t.sense, data...)
	text := t.sense
	t.bufMu.Unlock()
	if r.Final() && !r.Continue() {
		s.applyTextAnswer(c, text)
		s.mu.Lock()
		s.completeITTLocked(itt, t, nil)
		s.mu.Unlock()
		return nil
	}
	var out pdu.BHS
	tr := out.TextRequest()
	tr.Init()
	tr.SetImmediate(true)
	tr.SetFinal(true)
	tr.SetInitiatorTaskTag(itt)
	tr.SetTargetTransferTag(r.TargetTransferTag())
	s.mu.Lock()
	tr.SetCmdSN(s.cmdSN)
	s.mu.Unlock()
	return c.write(&out, nil, true)
}

// asyncMessage acts on an Asynchronous Message (RFC 7143 §11.9).
func (s *Session) asyncMessage(c *initiatorConn, h *pdu.BHS) error {
	a := (*pdu.AsyncMessage)(h)
	if err := s.statSN(c, a.StatSN()); err != nil {
		return err
	}
	data := make([]byte, h.DataSegmentLength())
	if err := c.r.ReadData(data); err != nil {
		return err
	}
	ev := a.AsyncEvent()
	log := s.logger()
	switch ev {
	case pdu.AsyncSCSIEvent:
		// §11.9.4: the data segment is SenseLength, sense data, then
		// iSCSI event data.
		var e AsyncEvent
		copy(e.LUN[:], h[8:16])
		if len(data) >= 2 {
			n := min(int(binary.BigEndian.Uint16(data)), len(data)-2)
			e.Sense = data[2 : 2+n]
			if sn, err := scsi.ParseSense(e.Sense); err == nil {
				e.Parsed = &sn
			}
		}
		log.Info("iscsi initiator: SCSI asynchronous event", "lun", e.LUN, "sense", e.Parsed)
		if s.opts.OnAsyncEvent != nil {
			s.opts.OnAsyncEvent(e)
		}
	case pdu.AsyncLogoutRequested:
		// §11.9.1: log out no later than Parameter3 seconds, no new
		// commands meanwhile.
		within := time.Duration(a.Parameter3()) * time.Second
		log.Info("iscsi initiator: target requests logout", "within", within)
		s.mu.Lock()
		start := !s.logoutAsked && s.state != stateClosed
		s.logoutAsked = true
		s.mu.Unlock()
		if start {
			s.bg.Go(func() { s.requestedLogout(within) })
		}
	case pdu.AsyncConnectionDropped, pdu.AsyncAllConnectionsDropped:
		// §11.9.1: the target drops the connection (Parameter1 is its
		// CID) or all of them; reconnect after Parameter2 seconds
		// (Time2Wait), within Parameter3 (Time2Retain).
		if ev == pdu.AsyncConnectionDropped && a.Parameter1() != c.cid {
			log.Info("iscsi initiator: target drops another connection", "cid", a.Parameter1())
			return nil
		}
		log.Info("iscsi initiator: target will drop the connection", "event", ev, "time2wait", a.Parameter2(), "time2retain", a.Parameter3())
		s.mu.Lock()
		s.wait, s.waitSet = time.Duration(a.Parameter2())*time.Second, true
		s.retain = time.Duration(a.Parameter3()) * time.Second
		s.mu.Unlock()
		return fmt.Errorf("asynchronous message: %v", ev)
	case pdu.AsyncNegotiationRequested:
		// §11.9.1: start a negotiation within Parameter3 seconds.
		within := time.Duration(a.Parameter3()) * time.Second
		log.Info("iscsi initiator: target requests negotiation", "within", within)
		s.bg.Go(func() { s.renegotiate(c, within) })
	default:
		log.Info("iscsi initiator: asynchronous message", "event", ev, "vcode", a.AsyncVCode(),
			"parameter1", a.Parameter1(), "parameter2", a.Parameter2(), "parameter3", a.Parameter3(), "data", len(data))
	}
	return nil
}

// operationalDeclarations are the keys an initiator declares again in a
// renegotiation in full feature phase: of the operational keys of RFC
// 7143 §13 only MaxRecvDataSegmentLength (§13.12) may be negotiated
// outside the login phase (its use is ALL); the others are leading-only or
// initialize-only.
func (s *Session) operationalDeclarations() []login.Pair {
	s.mu.Lock()
	n := s.res.Conn.MaxRecvDataSegmentLength
	s.mu.Unlock()
	return []login.Pair{{Key: "MaxRecvDataSegmentLength", Value: fmt.Sprint(n)}}
}

// busyPollFor is how long a connection's reader spins between PDUs
// (Options.BusyPoll, Limits.BusyPoll) when it has n commands outstanding:
// all of d with one or none, when the next PDU is the answer to the one
// command in flight or the next command, and nothing with more. At higher
// queue depths the next PDU is seldom far off, and a reader spinning
// between PDUs takes a processor from the work of the commands in flight:
// 128 KiB reads at queue depth 32 lost a fifth of their rate to it. The
// rest of a PDU that has begun to arrive is worth spinning for at any
// depth.
func busyPollFor(d time.Duration, n int) time.Duration {
	if n > 1 {
		return 0
	}
	return d
}
