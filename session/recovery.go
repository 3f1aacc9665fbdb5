package session

import (
	"encoding/binary"
	"errors"
	"slices"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/go-iscsi/iscsi/pdu"
)

// ErrorRecoveryLevel 1 on the target side (RFC 7143 §7.1.4.1, §7.2,
// §13.20): recovery within a connection. A Data-Out whose data digest
// fails is rejected (§7.8) and its range asked for again with a recovery
// R2T; Data-Out lost to a header digest error shows as a gap in DataSN and
// BufferOffset and is asked for again the same way; the initiator's SNACKs
// (§11.16) are answered from the Data-In and responses the connection
// retains until the initiator acknowledges them, an R-Data SNACK with the
// Data-In resegmented to the initiator's MaxRecvDataSegmentLength of now
// (§11.16.3).

// maxErrorRecoveryLevel is the highest ErrorRecoveryLevel the target
// offers and accepts (RFC 7143 §13.20): 2, connection recovery with task
// reassignment (§7.1.4.3, §11.5.1 TASK REASSIGN; reassign.go).
const maxErrorRecoveryLevel = 2

// defaultRetainBytes is the default of Limits.RetainBytes.
const defaultRetainBytes = 16 << 20

// retainOverhead is what retaining one status PDU costs against
// Limits.RetainBytes besides the Data-In it keeps: the entry, or the task
// it keeps with its sense data.
var (
	statusRetainCost = int(unsafe.Sizeof(retained{}))
	taskRetainCost   = int(unsafe.Sizeof(task{})) + statusRetainCost
)

// maxBadHeaders is the number of PDUs in a row whose header digest may
// fail before the connection is dropped: after a corrupted length the
// stream is framed wrongly and every later header fails as well
// (pdu.Reader.SetHeaderDigestRecovery).
const maxBadHeaders = 4

// maxLostRanges bounds the ranges of Data-Out one command may have lost
// and not yet asked for again; beyond it the command fails with DATA
// PHASE ERROR.
const maxLostRanges = 64

// ServerStats are counters of a Server's error recovery and of how it
// executed commands, for monitoring and tests. The counters only grow;
// RetainedBytes is the current value.
type ServerStats struct {
	// DataDigestErrors counts PDUs received whose data digest did not
	// match (RFC 7143 §7.8), at any ErrorRecoveryLevel.
	DataDigestErrors uint64
	// HeaderDigestErrors counts PDUs received whose header digest did not
	// match (§7.8): at ErrorRecoveryLevel 1 they were discarded and the
	// connection went on; at 0 the connection ended.
	HeaderDigestErrors uint64
	// RecoveryR2Ts counts R2Ts sent to ask again for Data-Out lost to a
	// digest error or missing from its sequence (§7.2, §11.8).
	RecoveryR2Ts uint64
	// StalledDataOut counts the tasks whose Data-Out stopped coming at
	// ErrorRecoveryLevel 1 and 2 and were asked for it again with
	// recovery R2Ts after a NOP-In ping (§7.2).
	StalledDataOut uint64
	// DataSNACKs counts Data SNACKs answered with Data-In sent again
	// (§11.16.1, type 0 for a task with Data-In).
	DataSNACKs uint64
	// R2TSNACKs counts R2T SNACKs answered with R2Ts sent again (§11.16.1,
	// type 0 for a task collecting Data-Out).
	R2TSNACKs uint64
	// StatusSNACKs counts Status SNACKs answered with responses sent
	// again (§11.16.1, type 1).
	StatusSNACKs uint64
	// DataACKs counts DataACK SNACKs that released retained Data-In
	// (§11.16.1, type 2; §11.7.2 A bit).
	DataACKs uint64
	// RDataSNACKs counts R-Data SNACKs answered with the task's Data-In
	// sent again, resegmented, and its SCSI Response (§11.16.1, type 3;
	// §11.16.3).
	RDataSNACKs uint64
	// RejectedSNACKs counts SNACKs answered with a Reject: SNACKs for
	// PDUs or tasks never sent, already acknowledged or not retained
	// (Limits.RetainBytes).
	RejectedSNACKs uint64
	// RetainedBytes is what the connections of the Server retain for
	// SNACKs and reassignment now, as Limits.RetainBytes counts it; at
	// ErrorRecoveryLevel 2 the statuses kept beyond the bound are
	// counted as well (Limits.RetainBytes).
	RetainedBytes int64
	// ConnectionsRecovered counts the connections of sessions at
	// ErrorRecoveryLevel 2 that failed, were removed for recovery
	// (Logout reason code 2) or were reinstated with their tasks kept
	// for reassignment (RFC 7143 §7.1.4.3).
	ConnectionsRecovered uint64
	// TasksReassigned counts the tasks a TASK REASSIGN moved to another
	// connection (§11.5.1).
	TasksReassigned uint64
	// TasksDiscarded counts the tasks kept for reassignment that were
	// discarded instead: Time2Retain passed (§13.16), the session ended,
	// a task management function aborted them, or a TASK REASSIGN found
	// their Data-In neither retained nor to be read again
	// (Limits.RetainBytes).
	TasksDiscarded uint64
	// InlineCommands counts the commands the readers of connections ran
	// themselves, their logical unit being an InlineUnit that said they
	// complete without waiting.
	InlineCommands uint64
	// DirectResponses counts the responses of those commands that the
	// readers wrote themselves, the writer goroutine being idle and no
	// further PDU waiting to be read.
	DirectResponses uint64
}

// serverStats are the counters behind ServerStats.
type serverStats struct {
	dataDigestErrors, headerDigestErrors, recoveryR2Ts         atomic.Uint64
	dataSNACKs, r2tSNACKs, statusSNACKs, dataACKs, rejectSNACK atomic.Uint64
	rDataSNACKs                                                atomic.Uint64
	retainedBytes                                              atomic.Int64
	stalledDataOut                                             atomic.Uint64
	connectionsRecovered, tasksReassigned, tasksDiscarded      atomic.Uint64
	inlineCommands, directResponses                            atomic.Uint64
}

// Stats returns the Server's error recovery and execution counters.
func (s *Server) Stats() ServerStats {
	st := &s.stats
	return ServerStats{
		DataDigestErrors:   st.dataDigestErrors.Load(),
		HeaderDigestErrors: st.headerDigestErrors.Load(),
		RecoveryR2Ts:       st.recoveryR2Ts.Load(),
		StalledDataOut:     st.stalledDataOut.Load(),
		DataSNACKs:         st.dataSNACKs.Load(),
		R2TSNACKs:          st.r2tSNACKs.Load(),
		StatusSNACKs:       st.statusSNACKs.Load(),
		DataACKs:           st.dataACKs.Load(),
		RDataSNACKs:        st.rDataSNACKs.Load(),
		RejectedSNACKs:     st.rejectSNACK.Load(),
		RetainedBytes:      st.retainedBytes.Load(),

		ConnectionsRecovered: st.connectionsRecovered.Load(),
		TasksReassigned:      st.tasksReassigned.Load(),
		TasksDiscarded:       st.tasksDiscarded.Load(),
		InlineCommands:       st.inlineCommands.Load(),
		DirectResponses:      st.directResponses.Load(),
	}
}

// span is a range of a command's Data-Out, [from, to).
type span struct{ from, to uint32 }

// addLost records Data-Out the target lost, to ask for again with a
// recovery R2T (RFC 7143 §7.2); bytes beyond what the logical unit takes
// are not asked for.
func (t *task) addLost(from, to uint32) {
	to = min(to, t.want)
	if from >= to {
		return
	}
	if n := len(t.lost); n > 0 && t.lost[n-1].to == from {
		t.lost[n-1].to = to
		return
	}
	if len(t.lost) >= maxLostRanges {
		t.dataMissing = true
		return
	}
	t.lost = append(t.lost, span{from, to})
}

// recoverData handles the failure to read the data segment of a Data-Out
// or of a command's immediate data for task t at offset off. A data digest
// error at ErrorRecoveryLevel 1 is answered with a Reject, reason Data
// Digest Error (RFC 7143 §7.8), and the range recorded to be asked for
// again with a recovery R2T (§7.8 option a, §7.2); the PDU counts as
// received, so that its sequence goes on. It reports false when the
// connection must end: any other error, or ErrorRecoveryLevel 0, where a
// lost Data-Out cannot be asked for again (§7.1.5).
func (c *conn) recoverData(h *pdu.BHS, t *task, off, n uint32, err error) bool {
	var pe *pdu.ProtocolError
	if !errors.As(err, &pe) || !errors.Is(err, pdu.ErrDataDigest) {
		return false
	}
	c.srv.stats.dataDigestErrors.Add(1)
	if !c.erl1 {
		return false
	}
	c.log.Debug("data digest error: range asked for again", "itt", t.itt, "offset", off, "length", n)
	c.reject(h, pdu.RejectDataDigestError)
	t.addLost(off, off+n)
	return true
}

// noteExpStatSN takes the ExpStatSN of a PDU from the initiator (bytes 28
// to 31 in every initiator PDU of RFC 7143 §11): the responses before it
// are acknowledged (§4.2.2.2) and no longer retained.
func (c *conn) noteExpStatSN(h *pdu.BHS) {
	switch h.Opcode() {
	case pdu.OpNOPOut, pdu.OpSCSICommand, pdu.OpTaskManagementRequest, pdu.OpTextRequest,
		pdu.OpLogoutRequest, pdu.OpSCSIDataOut, pdu.OpSNACKRequest:
		c.expStatSN.Store(uint64(binary.BigEndian.Uint32(h[28:32])) | 1<<32)
	}
}

// retained is one status PDU the connection keeps for a Status SNACK
// (RFC 7143 §11.16.1) until the initiator's ExpStatSN passes it. t, when
// set, is the task whose status it is, kept with its Data-In for Data
// SNACKs; else h and data are the PDU as sent.
type retained struct {
	statSN uint32
	t      *task
	h      pdu.BHS
	data   []byte
	cost   int
	// statusOnly says the entry keeps a task's status without its
	// Data-In, for a TASK REASSIGN at ErrorRecoveryLevel 2 (keepStatus).
	statusOnly bool
}

// retain keeps the status PDU with statSN (writer goroutine) within
// Limits.RetainBytes; it reports false when the bound leaves no room.
func (c *conn) retain(e retained) bool {
	if c.retainedBytes+e.cost > c.srv.limits.RetainBytes {
		return false
	}
	c.retainedBytes += e.cost
	c.srv.stats.retainedBytes.Add(int64(e.cost))
	c.ring = append(c.ring, e)
	return true
}

// keepStatus keeps the status of task t (writer goroutine), whose Data-In
// Limits.RetainBytes leaves no room for, at ErrorRecoveryLevel 2: the
// initiator reassigns a task whose status it lacks (RFC 7143 §7.2.2), and
// a WRITE that completed must not be reported failed because its response
// was lost with its connection. The entry is counted in RetainedBytes but
// not refused by the bound; instead at most Limits.MaxPendingTasks such
// entries are kept, the tasks a connection may hold, beyond which a status
// is not kept (as at ErrorRecoveryLevel 1). The Data-In, queued uncopied,
// is dropped once flushed (dropData), and a reassignment reads it again
// (regenerate). It reports whether the status is kept.
func (c *conn) keepStatus(t *task) bool {
	if !c.erl2 || c.statusOnly >= c.srv.limits.MaxPendingTasks {
		return false
	}
	c.statusOnly++
	c.retainedBytes += taskRetainCost
	c.srv.stats.retainedBytes.Add(int64(taskRetainCost))
	c.ring = append(c.ring, retained{statSN: t.statSN, t: t, cost: taskRetainCost, statusOnly: true})
	return true
}

// dropData frees the data buffers of a task whose status alone is kept,
// once its Data-In has been flushed; dataDropped records that the
// initiator may lack Data-In the target no longer has.
func (t *task) dropData() {
	if t.dataIn != nil {
		putBuf(t.dataIn)
		t.dataIn = nil
		t.dataDropped = t.inLen > 0
	}
	putBuf(t.dataOut)
	t.dataOut = nil
}

// free drops what the entry keeps.
func (c *conn) free(e *retained) {
	if e.statusOnly {
		c.statusOnly--
	}
	c.retainedBytes -= e.cost
	c.srv.stats.retainedBytes.Add(-int64(e.cost))
	if e.t != nil {
		e.t.release()
	}
	*e = retained{}
}

// pruneRetained drops, after a flush (writer goroutine), the responses the
// initiator acknowledged with its ExpStatSN (RFC 7143 §4.2.2.2: a status
// acknowledgment also acknowledges the task's Data-In, §11.7.2) and the
// Data-In it acknowledged with DataACK SNACKs.
func (c *conn) pruneRetained() {
	if v := c.expStatSN.Load(); v != 0 {
		exp := uint32(v)
		if pdu.SerialLessOrEqual(exp, c.statSN) {
			for c.head < len(c.ring) && pdu.SerialLess(c.ring[c.head].statSN, exp) {
				if t := c.ring[c.head].t; t != nil && t.ackTTT != pdu.ReservedTag && !t.dataAcked {
					c.lateAcks[c.lateNext] = t.ackTTT
					c.lateNext = (c.lateNext + 1) % len(c.lateAcks)
				}
				c.free(&c.ring[c.head])
				c.head++
			}
		}
	}
	if c.head == len(c.ring) {
		c.ring = c.ring[:0]
		c.head = 0
	} else if c.head > len(c.ring)/2 && c.head >= 64 {
		n := copy(c.ring, c.ring[c.head:])
		clear(c.ring[n:])
		c.ring = c.ring[:n]
		c.head = 0
	}
	if c.acked == 0 {
		return
	}
	c.acked = 0
	for i := c.head; i < len(c.ring); i++ {
		e := &c.ring[i]
		if t := e.t; t != nil && t.dataAcked && t.dataIn != nil {
			n := len(*t.dataIn)
			putBuf(t.dataIn)
			t.dataIn = nil
			e.cost -= n
			c.retainedBytes -= n
			c.srv.stats.retainedBytes.Add(-int64(n))
		}
	}
}

// freeRetained drops everything the connection retains, once its writer
// has stopped.
func (c *conn) freeRetained() {
	for i := c.head; i < len(c.ring); i++ {
		c.free(&c.ring[i])
	}
	c.ring, c.head = nil, 0
}

// findStatus returns the index in the ring of the entry of statSN, or -1.
func (c *conn) findStatus(statSN uint32) int {
	for i := c.head; i < len(c.ring); i++ {
		if c.ring[i].statSN == statSN {
			return i
		}
	}
	return -1
}

// findTask returns the latest retained task matching f, or nil: an
// Initiator Task Tag may be in use again once a task's status arrived.
func (c *conn) findTask(f func(*task) bool) *task {
	for i := len(c.ring) - 1; i >= c.head; i-- {
		if t := c.ring[i].t; t != nil && f(t) {
			return t
		}
	}
	return nil
}

// handleSNACK takes a SNACK Request (RFC 7143 §11.16) at ErrorRecoveryLevel
// 1. An R2T SNACK, for a task still collecting Data-Out, is answered here
// with its outstanding R2Ts (reader goroutine); the others go to the
// writer, which holds the Data-In and responses retained (answerSNACK).
func (c *conn) handleSNACK(h *pdu.BHS) error {
	s := h.SNACKRequest()
	switch s.Type() {
	case pdu.SNACKDataR2T:
		c.mu.Lock()
		t := c.tasks[s.InitiatorTaskTag()]
		collecting := t != nil && t.state == taskCollecting && !t.aborted
		c.mu.Unlock()
		if collecting {
			c.resendR2Ts(h, t)
			return nil
		}
	}
	c.send(&outPDU{kind: outSNACK, h: *h})
	return nil
}

// resendR2Ts answers an R2T SNACK (RFC 7143 §11.16.1) with the
// outstanding R2Ts of t whose R2TSN is in BegRun..BegRun+RunLength-1
// (RunLength 0: from BegRun on), as they were first sent (§11.8: same
// Target Transfer Tag, R2TSN, BufferOffset and length). A SNACK naming no
// outstanding R2T is rejected with reason Protocol Error (§11.16: an R2T
// never sent, or answered already).
func (c *conn) resendR2Ts(h *pdu.BHS, t *task) {
	s := h.SNACKRequest()
	beg, run := s.BegRun(), s.RunLength()
	sent := 0
	for _, r := range t.r2ts {
		if pdu.SerialLess(r.r2tSN, beg) || run != 0 && !pdu.SerialLess(r.r2tSN, beg+run) {
			continue
		}
		c.sendR2T(t, &r)
		sent++
	}
	if sent == 0 {
		c.srv.stats.rejectSNACK.Add(1)
		c.reject(h, pdu.RejectProtocolError)
		return
	}
	c.srv.stats.r2tSNACKs.Add(1)
}

// answerSNACK answers, on the writer goroutine, a Data SNACK, a Status
// SNACK, a DataACK or an R-Data SNACK (RFC 7143 §11.16.1) from what the
// connection retains.
func (c *conn) answerSNACK(h *pdu.BHS) error {
	s := h.SNACKRequest()
	exp, maxCmdSN := c.sess.cmdWindow()
	beg, run := s.BegRun(), s.RunLength()
	switch s.Type() {
	case pdu.SNACKDataR2T:
		// Data SNACK: the Data-In PDUs with DataSN BegRun to
		// BegRun+RunLength-1, all from BegRun on for RunLength 0.
		t := c.findTask(func(t *task) bool { return t.itt == s.InitiatorTaskTag() })
		if t == nil || t.dataDropped {
			// Not retained: the Data-In was acknowledged with the status,
			// never sent, or beyond Limits.RetainBytes.
			return c.rejectSNACK(h, pdu.RejectSNACKReject, exp, maxCmdSN)
		}
		end := t.dataSNs
		if run != 0 {
			end = beg + run
		}
		if t.dataIn == nil || !pdu.SerialLess(beg, end) || pdu.SerialLess(t.dataSNs, end) {
			// §11.16: Data-In never sent, or acknowledged by a DataACK.
			return c.rejectSNACK(h, pdu.RejectProtocolError, exp, maxCmdSN)
		}
		c.srv.stats.dataSNACKs.Add(1)
		return c.queueDataIn(t, beg, end, exp, maxCmdSN)
	case pdu.SNACKStatus:
		end := c.statSN
		if run != 0 {
			end = beg + run
		}
		acked := false
		if v := c.expStatSN.Load(); v != 0 {
			acked = pdu.SerialLess(beg, uint32(v))
		}
		if acked || !pdu.SerialLess(beg, end) || pdu.SerialLess(c.statSN, end) {
			// §11.16: a response never sent, or acknowledged already.
			return c.rejectSNACK(h, pdu.RejectProtocolError, exp, maxCmdSN)
		}
		// The ring is in StatSN order: the run is consecutive entries.
		i := c.findStatus(beg)
		for sn := beg; sn != end; sn, i = sn+1, i+1 {
			if i < 0 || i >= len(c.ring) || c.ring[i].statSN != sn {
				// Not retained: beyond Limits.RetainBytes.
				return c.rejectSNACK(h, pdu.RejectSNACKReject, exp, maxCmdSN)
			}
			if err := c.resendStatus(&c.ring[i], exp, maxCmdSN); err != nil {
				return err
			}
		}
		c.srv.stats.statusSNACKs.Add(1)
		return nil
	case pdu.SNACKDataACK:
		// §11.16.1, §11.7.2: the Data-In before DataSN BegRun of the
		// transfer whose last Data-In carried the A bit and this Target
		// Transfer Tag arrived; its buffer is freed after this flush.
		ttt := s.TargetTransferTag()
		t := c.findTask(func(t *task) bool { return t.ackTTT == ttt && ttt != pdu.ReservedTag })
		if t == nil && ttt != pdu.ReservedTag && slices.Contains(c.lateAcks[:], ttt) {
			// The initiator's ExpStatSN acknowledged the task's status,
			// and with it its Data-In (§4.2.2.2), before this DataACK,
			// sent earlier, was read: nothing is left to free.
			c.srv.stats.dataACKs.Add(1)
			return nil
		}
		if t == nil || t.dataAcked || beg != t.dataSNs {
			return c.rejectSNACK(h, pdu.RejectInvalidDataAck, exp, maxCmdSN)
		}
		t.dataAcked = true
		c.acked++
		c.srv.stats.dataACKs.Add(1)
		return nil
	case pdu.SNACKRData:
		// §11.16.3: the task named by the Initiator Task Tag, whose
		// status the initiator has not acknowledged (§11.16.1: an
		// R-Data SNACK precedes it); one not retained (its status
		// acknowledged, not sent yet, or beyond Limits.RetainBytes)
		// cannot be served.
		t := c.findTask(func(t *task) bool { return t.itt == s.InitiatorTaskTag() })
		if t == nil || t.dataDropped {
			// A task whose status alone is kept (keepStatus) has not
			// its Data-In either.
			return c.rejectSNACK(h, pdu.RejectSNACKReject, exp, maxCmdSN)
		}
		if v := c.expStatSN.Load(); v != 0 && pdu.SerialLess(t.statSN, uint32(v)) {
			// §11.16.1: the SNACK itself acknowledges the status.
			return c.rejectSNACK(h, pdu.RejectProtocolError, exp, maxCmdSN)
		}
		c.srv.stats.rDataSNACKs.Add(1)
		return c.answerRData(t, s.TargetTransferTag(), exp, maxCmdSN)
	}
	return c.rejectSNACK(h, pdu.RejectProtocolError, exp, maxCmdSN)
}

// answerRData answers an R-Data SNACK with SNACK Tag tag for the retained
// task t (RFC 7143 §11.16.3): the initiator discarded the Data-In it had
// not acknowledged, which are sent again laid out anew in segments of its
// MaxRecvDataSegmentLength of now (§13.12), DataSN from 0 on, and then a
// SCSI Response with the same StatSN carrying the SNACK Tag (§11.4.4),
// even when the status was in the last Data-In: that response is the
// command's last, and a later Status SNACK gets it again, SNACK Tag
// included. A DataACK here acknowledges all the Data-In of its task
// (§11.7.2: the A bit is on the last); after one nothing is left to send
// but the response, whose ExpDataSN is the DataACK's BegRun.
func (c *conn) answerRData(t *task, tag, exp, maxCmdSN uint32) error {
	t.snackTag = tag
	t.statusInData = false
	if t.dataIn != nil && !t.dataAcked && t.inLen > 0 {
		t.seg = c.xmitSegment()
		t.dataSNs = dataInPDUs(t.inLen, t.seg, t.burst)
		if err := c.queueDataIn(t, 0, t.dataSNs, exp, maxCmdSN); err != nil {
			return err
		}
	}
	return c.queueResponse(t, exp, maxCmdSN)
}

// rejectSNACK queues, on the writer goroutine, a Reject of the SNACK h
// (RFC 7143 §11.17).
func (c *conn) rejectSNACK(h *pdu.BHS, reason pdu.RejectReason, exp, maxCmdSN uint32) error {
	c.srv.stats.rejectSNACK.Add(1)
	c.log.Debug("SNACK rejected", "type", h.SNACKRequest().Type().String(), "reason", reason.String())
	o := outPDU{kind: outStatus, data: append([]byte(nil), h[:]...)}
	rj := o.h.Reject()
	rj.Init()
	rj.SetReason(reason)
	return c.write(&o)
}

// resendStatus sends a retained response again with its StatSN (RFC 7143
// §11.16.1 Status SNACK) and the current ExpCmdSN and MaxCmdSN.
func (c *conn) resendStatus(e *retained, exp, maxCmdSN uint32) error {
	t := e.t
	if t == nil {
		h := e.h
		stamp(&h, e.statSN, exp, maxCmdSN)
		return c.w.Queue(&h, nil, e.data)
	}
	if t.statusInData && t.dataIn != nil {
		return c.queueDataIn(t, t.dataSNs-1, t.dataSNs, exp, maxCmdSN)
	}
	// The status was in the last Data-In, whose data a DataACK released
	// or which was not retained (keepStatus): the status alone goes in a
	// SCSI Response (§11.4) with the same StatSN.
	return c.queueResponse(t, exp, maxCmdSN)
}

// recoverStalled runs in the reader when the initiator answers the NOP-In
// the Data-Out watchdog sent (conn.go): every task whose Data-Out stopped
// coming for half of Limits.DataOutTimeout is asked again, with recovery
// R2Ts (RFC 7143 §7.2, §7.8), for what its open sequences still lack: the
// rest of each outstanding R2T (the final Data-Out of its sequence, or the
// R2T itself, was lost to a header digest error; DataPDUInOrder tells
// what arrived), and the data of an unsolicited sequence that never ended,
// which is solicited instead. Both sides have kept the connection's order,
// so what the initiator had sent before its answer has been read.
func (c *conn) recoverStalled() error {
	if !c.erl1 || !c.sess.params.DataPDUInOrder {
		return nil
	}
	limit := c.srv.limits.DataOutTimeout
	stalled := time.Now().Add(-limit / 2).UnixNano()
	var tasks []*task
	c.mu.Lock()
	for _, t := range c.tasks {
		if t.state == taskCollecting && !t.aborted && t.deferState.Load() != deferReady && t.dataAt.Load() < stalled {
			tasks = append(tasks, t)
		}
	}
	c.mu.Unlock()
	for _, t := range tasks {
		c.log.Debug("Data-Out stopped: asked for again", "itt", t.itt, "r2ts", len(t.r2ts), "unsolicited", t.unsolicited)
		for _, r := range t.r2ts {
			if r.received < r.length {
				t.addLost(r.offset+r.received, r.offset+r.length)
			}
		}
		t.r2ts = t.r2ts[:0]
		// An unsolicited sequence whose final PDU was lost: the rest
		// is solicited (advance asks from unsolEnd on).
		t.unsolicited = false
		t.dataAt.Store(time.Now().UnixNano())
		c.srv.stats.stalledDataOut.Add(1)
		if err := c.advance(t); err != nil {
			return err
		}
	}
	return nil
}
