package session

import (
	"math/bits"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-iscsi/iscsi/pdu"
	"github.com/go-iscsi/iscsi/scsi"
)

// taskState is where a task is in its life on the target.
type taskState uint8

const (
	taskCollecting taskState = iota // waiting for Data-Out
	taskRunning                     // handed to its logical unit
	taskDone                        // status produced
)

// r2tState is one outstanding R2T of a task (RFC 7143 §11.8): the range it
// solicited and the Data-Out received for it.
type r2tState struct {
	ttt            uint32
	offset, length uint32
	received       uint32
	dataSN         uint32
	r2tSN          uint32
}

// task is one SCSI command on the target (RFC 7143 §4.6.1.1, §11.3): its
// Data-Out collection, its execution and its response.
type task struct {
	c      *conn
	itt    uint32
	cmdSN  uint32
	lun    uint64
	lu     LogicalUnit
	ref    *luRef // the task's hold on lu (lunchange.go)
	cdb    []byte
	cdbArr [pdu.CDBLength]byte
	attr   pdu.TaskAttribute
	edtl   uint32
	read   bool
	write  bool

	// Data-Out (reader goroutine only until the task runs).
	cdbOut      uint32 // Data-Out bytes the CDB asks for (lu.DataOutLength)
	cdbIn       uint32 // Data-In bytes a READ asks for (see dataInLength)
	want        uint32 // Data-Out bytes collected for the logical unit
	dataOut     *[]byte
	unsolicited bool   // an unsolicited Data-Out sequence is open
	unsolEnd    uint32 // end of the unsolicited data received so far
	unsolDataSN uint32
	solicitNext uint32 // next offset to ask for with an R2T
	r2tSN       uint32
	r2ts        []r2tState
	r2tArr      [4]r2tState
	// dataMissing says an R2T's sequence ended short: the command
	// fails instead of running on data the initiator never sent.
	dataMissing bool
	// lost are the ranges of Data-Out lost at ErrorRecoveryLevel 1 (to a
	// digest error, or missing from a sequence) and not yet asked for
	// again with a recovery R2T (recovery.go).
	lost []span

	// dataAt is when the task last received Data-Out, or when it was
	// created (UnixNano; set by the reader goroutine, read by the
	// connection's Data-Out watchdog).
	dataAt atomic.Int64

	// deferState says whether the command waits for its turn in CmdSN
	// order (cmdorder.go).
	deferState atomic.Uint32

	// Guarded by conn.mu.
	state   taskState
	aborted bool
	waiters []*sync.WaitGroup
	// unheld says the task left the session's held tasks without
	// starting, to end with its closing connection (taskOrder.takeHeld).
	unheld bool

	// Execution.
	dataIn *[]byte
	req    scsi.Request
	resp   scsi.Response
	sense  [2 + 254]byte

	// The layout of the response, set by writeTask (writer goroutine), by
	// which a SNACK is answered with the same PDUs (recovery.go).
	inLen, under, over uint32
	seg, burst         uint32
	status             uint8
	statusInData       bool
	statSN             uint32 // of the status
	dataSNs            uint32 // Data-In PDUs sent
	ackTTT             uint32 // Target Transfer Tag of the A bit, or reserved
	snackTag           uint32 // of the last R-Data SNACK on this connection, or 0
	dataAcked          bool   // a DataACK acknowledged the Data-In
	dataDropped        bool   // the Data-In sent was freed, the status kept (keepStatus)
	laidOut            bool   // the layout above is set

	// ErrorRecoveryLevel 2 (reassign.go): the expiry that discards the
	// task while it has no connection, the CID of the connection it had,
	// and the DataSN from which a reassignment sends its Data-In again.
	orphanGen  uint64
	orphanCID  uint16
	resendFrom uint32
}

// Data buffers come from size classes of powers of two, 4 KiB to 16 MiB,
// so that a steady stream of commands allocates none.
const (
	minBufShift = 12
	numBufClass = 13
)

var bufPools [numBufClass]sync.Pool

func bufClass(n int) int {
	if n <= 1<<minBufShift {
		return 0
	}
	k := bits.Len(uint(n-1)) - minBufShift
	if k >= numBufClass {
		return -1
	}
	return k
}

func getBuf(n int) *[]byte {
	if n <= 0 {
		return nil
	}
	k := bufClass(n)
	if k < 0 {
		b := make([]byte, n)
		return &b
	}
	if p, _ := bufPools[k].Get().(*[]byte); p != nil {
		*p = (*p)[:n]
		return p
	}
	b := make([]byte, n, 1<<(minBufShift+k))
	return &b
}

func putBuf(p *[]byte) {
	if p == nil {
		return
	}
	k := bufClass(cap(*p))
	if k < 0 || cap(*p) != 1<<(minBufShift+k) {
		return
	}
	bufPools[k].Put(p)
}

func bytesOf(p *[]byte) []byte {
	if p == nil {
		return nil
	}
	return *p
}

var taskPool = sync.Pool{New: func() any { return new(task) }}

// release returns the task and its buffers to their pools once nothing
// refers to it: it has left the connection's task map and its response,
// if any, has been written.
func (t *task) release() {
	if t.deferState.Load() != deferNone {
		t.forgetEarly()
	}
	putBuf(t.dataIn)
	putBuf(t.dataOut)
	*t = task{}
	taskPool.Put(t)
}

// handleCommand takes a SCSI Command (RFC 7143 §11.3) in CmdSN order,
// gathers its immediate data and starts its Data-Out or its execution.
func (c *conn) handleCommand(h *pdu.BHS, ahs []byte) error {
	ok, early, err := c.admitCommand(h)
	if !ok || err != nil {
		return err
	}
	c.commands.Add(1)
	cmd := h.SCSICommand()
	t := taskPool.Get().(*task)
	t.c, t.itt, t.cmdSN, t.lun = c, cmd.InitiatorTaskTag(), cmd.CmdSN(), cmd.LUN()
	t.edtl, t.read, t.write = cmd.ExpectedDataTransferLength(), cmd.Read(), cmd.Write()
	t.attr = cmd.Attributes()
	t.r2ts = t.r2tArr[:0]
	cdb, err := cmd.FullCDB(t.cdbArr[:0], ahs)
	if err != nil {
		t.release()
		c.reject(h, pdu.RejectInvalidPDUField)
		return nil
	}
	t.cdb = cdb
	sp := &c.sess.params
	dsl := h.DataSegmentLength()
	// RFC 7143 §4.2.5.2, §11.3.6: immediate data is outgoing data, so
	// only with W set; only with ImmediateData=Yes (§13.11), within
	// FirstBurstLength (§13.14) and the Expected Data Transfer Length
	// (§11.3.4).
	if dsl > 0 && (!t.write || !sp.ImmediateData || dsl > sp.FirstBurstLength || dsl > t.edtl) {
		t.release()
		c.reject(h, pdu.RejectProtocolError)
		return nil
	}
	// RFC 7143 §11.3.1: F clear announces unsolicited Data-Out, which
	// InitialR2T=Yes forbids (§13.10).
	if !cmd.Final() && (!t.write || sp.InitialR2T) {
		t.release()
		c.reject(h, pdu.RejectProtocolError)
		return nil
	}
	t.lu, t.ref = c.sess.holdLU(t.lun)
	c.mu.Lock()
	if old, busy := c.tasks[t.itt]; busy && !old.aborted {
		c.mu.Unlock()
		t.dropLU()
		t.release()
		c.reject(h, pdu.RejectTaskInProgress)
		return nil
	}
	t.dataAt.Store(time.Now().UnixNano())
	c.tasks[t.itt] = t
	c.mu.Unlock()
	if early {
		c.sess.deferTask(t)
	}

	if t.lu != nil {
		t.cdbOut = uint32(t.lu.DataOutLength(t.cdb))
		t.cdbIn = dataInLength(t.lu, t.cdb)
	}
	if t.write && t.edtl > 0 {
		t.want = min(t.cdbOut, t.edtl, c.srv.limits.MaxDataLength)
		t.dataOut = getBuf(int(c.initialDataOut(t)))
		if dsl > 0 {
			if err := c.placeData(h, t, 0, dsl); err != nil && !c.recoverData(h, t, 0, dsl, err) {
				return err
			}
		}
		t.unsolEnd = dsl
		t.unsolicited = !cmd.Final()
	}
	return c.advance(t)
}

// placeData reads the data segment of the PDU h into t's Data-Out buffer
// at offset off; bytes beyond what the logical unit takes are dropped.
func (c *conn) placeData(h *pdu.BHS, t *task, off, n uint32) error {
	buf := bytesOf(t.dataOut)
	if uint64(off)+uint64(n) <= uint64(len(buf)) {
		return c.r.ReadData(buf[off : off+n])
	}
	data, err := c.readData(h)
	if err != nil {
		return err
	}
	if off < uint32(len(buf)) {
		copy(buf[off:], data)
	}
	return nil
}

// advance moves a task on once its unsolicited data is in: it sends R2Ts
// for the rest of the Data-Out (RFC 7143 §11.8), at most MaxOutstandingR2T
// at a time (§13.17) and each at most MaxBurstLength long (§13.13), and
// starts the task when all its data has arrived.
func (c *conn) advance(t *task) error {
	if t.unsolicited {
		return nil
	}
	if t.solicitNext < t.unsolEnd {
		t.solicitNext = t.unsolEnd
	}
	sp := &c.sess.params
	maxR2T := int(max(sp.MaxOutstandingR2T, 1))
	maxR2T = min(maxR2T, len(t.r2tArr))
	for len(t.r2ts) < maxR2T && (len(t.lost) > 0 || t.solicitNext < t.want) {
		var off, n uint32
		if len(t.lost) > 0 {
			// RFC 7143 §7.2, §7.8: a recovery R2T for Data-Out lost at
			// ErrorRecoveryLevel 1, before any new R2T, so that with
			// DataSequenceInOrder it retries the last sequence (§13.19).
			l := &t.lost[0]
			off, n = l.from, min(l.to-l.from, sp.MaxBurstLength)
			if l.from += n; l.from == l.to {
				t.lost = t.lost[1:]
			}
			c.srv.stats.recoveryR2Ts.Add(1)
		} else {
			off, n = t.solicitNext, min(t.want-t.solicitNext, sp.MaxBurstLength)
			t.solicitNext += n
		}
		t.growDataOut(off + n)
		c.mu.Lock()
		c.nextTTT++
		if c.nextTTT == pdu.ReservedTag {
			c.nextTTT = 1
		}
		ttt := c.nextTTT
		c.mu.Unlock()
		t.r2ts = append(t.r2ts, r2tState{ttt: ttt, offset: off, length: n, r2tSN: t.r2tSN})
		t.r2tSN++
		if !c.sendR2T(t, &t.r2ts[len(t.r2ts)-1]) {
			return nil
		}
	}
	if len(t.r2ts) == 0 && len(t.lost) == 0 && t.solicitNext >= t.want {
		c.startInOrder(t)
	}
	return nil
}

// sendR2T queues the R2T r of t (RFC 7143 §11.8); it reports false if the
// connection is closing.
func (c *conn) sendR2T(t *task, r *r2tState) bool {
	var o outPDU
	o.kind = outNoStatus
	p := o.h.R2T()
	p.Init()
	p.SetLUN(t.lun)
	p.SetInitiatorTaskTag(t.itt)
	p.SetTargetTransferTag(r.ttt)
	p.SetR2TSN(r.r2tSN)
	p.SetBufferOffset(r.offset)
	p.SetDesiredDataTransferLength(r.length)
	return c.send(&o)
}

// handleDataOut places one Data-Out PDU (RFC 7143 §11.7) of an unsolicited
// sequence or of an R2T, checking its DataSN and BufferOffset (§11.7.5,
// §11.7.6). Data-Out for a task that is gone (aborted, or never known) is
// dropped.
func (c *conn) handleDataOut(h *pdu.BHS) error {
	d := h.DataOut()
	c.mu.Lock()
	t := c.tasks[d.InitiatorTaskTag()]
	ok := t != nil && t.state == taskCollecting && !t.aborted
	c.mu.Unlock()
	if !ok {
		c.log.Debug("Data-Out for no task in its Data-Out phase dropped", "itt", d.InitiatorTaskTag())
		return nil
	}
	t.dataAt.Store(time.Now().UnixNano())
	sp := &c.sess.params
	off, n := d.BufferOffset(), h.DataSegmentLength()
	end := uint64(off) + uint64(n)
	if ttt := d.TargetTransferTag(); ttt == pdu.ReservedTag {
		// RFC 7143 §11.7.4: the reserved Target Transfer Tag marks
		// unsolicited data, whose DataSN counts within the sequence
		// (§11.7.5) and which stays within FirstBurstLength (§4.2.5.2,
		// §13.14) and the expected length; this target takes it in order.
		limit := uint64(min(sp.FirstBurstLength, t.edtl))
		if sn := d.DataSN(); c.erl1 && t.unsolicited && pdu.SerialLess(t.unsolDataSN, sn) && off > t.unsolEnd && end <= limit {
			// RFC 7143 §7.1.4.1: at ErrorRecoveryLevel 1 Data-Out lost
			// to a header digest error leaves a gap in DataSN and
			// BufferOffset, asked for again once the sequence ends.
			t.addLost(t.unsolEnd, off)
			t.unsolDataSN, t.unsolEnd = sn, off
		}
		if !t.unsolicited || d.DataSN() != t.unsolDataSN || off != t.unsolEnd || end > limit {
			c.reject(h, pdu.RejectProtocolError)
			return nil
		}
		if err := c.placeData(h, t, off, n); err != nil && !c.recoverData(h, t, off, n, err) {
			return err
		}
		t.unsolDataSN++
		t.unsolEnd += n
		if d.Final() {
			t.unsolicited = false
			return c.advance(t)
		}
		return nil
	} else {
		i := 0
		for i < len(t.r2ts) && t.r2ts[i].ttt != ttt {
			i++
		}
		if i == len(t.r2ts) {
			c.reject(h, pdu.RejectInvalidPDUField)
			return nil
		}
		r := &t.r2ts[i]
		if pos, sn := r.offset+r.received, d.DataSN(); c.erl1 && sp.DataPDUInOrder && pdu.SerialLess(r.dataSN, sn) &&
			off > pos && end <= uint64(r.offset)+uint64(r.length) {
			// A gap in the sequence at ErrorRecoveryLevel 1, as for
			// unsolicited data above.
			t.addLost(pos, off)
			r.received, r.dataSN = off-r.offset, sn
		}
		inOrder := !sp.DataPDUInOrder || off == r.offset+r.received
		if d.DataSN() != r.dataSN || off < r.offset || end > uint64(r.offset)+uint64(r.length) || !inOrder {
			c.reject(h, pdu.RejectProtocolError)
			return nil
		}
		if err := c.placeData(h, t, off, n); err != nil && !c.recoverData(h, t, off, n, err) {
			return err
		}
		r.dataSN++
		r.received += n
		if !d.Final() {
			return nil
		}
		switch {
		case r.received != r.length && c.erl1 && sp.DataPDUInOrder:
			// RFC 7143 §7.2: at ErrorRecoveryLevel 1 the rest of the
			// sequence is asked for again with a recovery R2T.
			t.addLost(r.offset+r.received, r.offset+r.length)
		case r.received != r.length:
			// The final PDU ended the sequence short of the Desired Data
			// Transfer Length the initiator must deliver (RFC 7143
			// §4.2.5.2, §11.8.4); at ErrorRecoveryLevel 0 no recovery R2T
			// can ask again (§7.8), nor at 1 without DataPDUInOrder,
			// where the missing range is unknown, so the command fails
			// rather than write what was never sent.
			c.log.Debug("R2T sequence ended short", "itt", t.itt, "ttt", ttt, "received", r.received, "desired", r.length)
			t.dataMissing = true
		}
		t.r2ts = append(t.r2ts[:i], t.r2ts[i+1:]...)
		return c.advance(t)
	}
}

// start hands a task whose data is in to the connection's workers, or
// holds it behind an ORDERED task of the session (SAM-5 §8.6). reader says
// the caller is the connection's reader, which runs the task itself when
// its logical unit says the command completes without waiting
// (InlineUnit): a command then costs no handoff to a worker.
func (c *conn) start(t *task, reader bool) {
	c.mu.Lock()
	if t.aborted || t.state != taskCollecting || c.stopped {
		c.mu.Unlock()
		return
	}
	t.state = taskRunning
	c.running.Add(1)
	if !c.sess.order.admit(t) {
		c.mu.Unlock()
		return
	}
	c.mu.Unlock()
	if reader && t.inline() {
		for {
			c.srv.stats.inlineCommands.Add(1)
			if t = t.run(true); t == nil {
				return
			}
			if t.c != c || !t.inline() {
				break
			}
		}
		// A held task its end let start, of another kind: on a
		// goroutine of its own, as run's other released tasks.
		go runChain(t)
		return
	}
	select {
	case c.work <- t:
	case <-c.ctx.Done():
		runChain(t)
	}
}

// inline reports whether t's logical unit completes its command without
// waiting (InlineUnit).
func (t *task) inline() bool {
	if t.lu == nil || t.dataMissing || scsi.OpCode(t.cdb[0]) == scsi.OpReportLUNs {
		return false
	}
	u, ok := t.lu.(InlineUnit)
	return ok && u.ExecutesInline(t.cdb)
}

// runChain runs t and then the held tasks its end lets start.
func runChain(t *task) {
	for t != nil {
		t = t.run(false)
	}
}

// worker executes queued tasks until the connection closes; Limits.MaxTasks
// workers bound the commands of a connection that execute at once.
func (c *conn) worker() {
	defer c.workers.Done()
	for {
		select {
		case t := <-c.work:
			runChain(t)
		case <-c.ctx.Done():
			return
		}
	}
}

// run executes the task, unless it was aborted or the connection is
// closing, and sends its response, unless it was aborted; reader says the
// caller is the connection's reader (respond). It returns a held task
// that may now start, for the caller to run.
func (t *task) run(reader bool) (next *task) {
	c := t.c
	defer c.running.Done()
	c.mu.Lock()
	skip := t.aborted
	c.mu.Unlock()
	c.executing.Add(1)
	// At ErrorRecoveryLevel 2 a task outlives its failed connection
	// (reassign.go): it runs, and its response waits for a TASK REASSIGN.
	if !skip && (c.ctx.Err() == nil || c.keepTasks()) {
		t.execute()
	}
	c.mu.Lock()
	if c.tasks[t.itt] == t {
		delete(c.tasks, t.itt)
	}
	t.dropLU()
	aborted := t.aborted
	waiters := t.waiters
	t.waiters = nil
	t.state = taskDone
	next, extra := c.sess.order.release(t)
	c.mu.Unlock()
	// SAM-5 §7.2: an aborted task gets no response.
	c.executing.Add(-1)
	if aborted || c.ctx.Err() != nil || !c.respond(t, reader) {
		if !aborted && c.keepTasks() {
			c.orphan(t)
		} else {
			t.release()
		}
	}
	for _, w := range waiters {
		w.Done()
	}
	// A released task may be of another connection, whose workers may be
	// gone: it runs on a goroutine of its own.
	for _, x := range extra {
		go runChain(x)
	}
	return next
}

// execute runs the command: REPORT LUNS and commands to a LUN outside the
// map are answered by the target, the rest by the logical unit.
func (t *task) execute() {
	c := t.c
	if t.read && t.edtl > 0 {
		t.dataIn = getBuf(c.dataInSize(t))
	}
	switch {
	case t.dataMissing:
		// SPC-4 Annex D: DATA PHASE ERROR, the data transfer failed.
		t.checkCondition(scsi.NewSense(scsi.SenseAbortedCommand, scsi.ASCDataPhaseError))
	case scsi.OpCode(t.cdb[0]) == scsi.OpReportLUNs:
		t.reportLUNs()
	case t.lu == nil:
		t.noLogicalUnit()
	case t.reportInventoryChange():
	default:
		t.req = scsi.Request{
			Nexus: c.sess.nexus, CDB: t.cdb,
			DataOut: bytesOf(t.dataOut), DataIn: bytesOf(t.dataIn),
			TaskAttribute: t.attr,
		}
		if t.write {
			// SAM-5 §5.1 Data-Out Buffer Size: the Expected Data
			// Transfer Length of a write (RFC 7143 §11.3.4).
			t.req.DataOutBufferSize = int64(t.edtl)
		}
		t.resp = t.lu.Execute(c.execCtx, &t.req)
	}
}

// writeTask queues the outcome of a task (writer goroutine): its Data-In
// PDUs (RFC 7143 §11.7) in sequences of at most MaxBurstLength (§13.13)
// made of segments of at most the initiator's MaxRecvDataSegmentLength
// (§13.12), and its status: in the last Data-In (§11.7.3 S bit), which
// the RFC allows only for a command that completed successfully and never
// with sense data, or else in a SCSI Response (§11.4) carrying the sense
// data after its 2-byte SenseLength (§11.4.7). Residuals follow §11.4.5.
func (c *conn) writeTask(t *task) error {
	exp, maxCmdSN := c.sess.cmdWindow()
	if t.laidOut {
		return c.rewriteTask(t, exp, maxCmdSN)
	}
	in := bytesOf(t.dataIn)
	n := uint32(0)
	if t.read {
		n = uint32(min(max0(t.resp.DataInLen), len(in)))
	}
	// RFC 7143 §11.4.5: overflow counts what the command wanted to move
	// beyond ExpectedDataTransferLength, underflow what it moved short of
	// it.
	var under, over uint32
	switch {
	case t.write || t.cdbOut > 0:
		if t.cdbOut > t.edtl {
			over = t.cdbOut - t.edtl
		} else {
			under = t.edtl - t.cdbOut
		}
	case t.cdbIn > t.edtl:
		over = t.cdbIn - t.edtl
	case n < t.edtl:
		under = t.edtl - n
	}
	t.inLen, t.under, t.over = n, under, over
	t.status = uint8(t.resp.Status)
	// RFC 7143 §11.7.3: the last Data-In may carry the status only for a
	// command that completed without sense data: GOOD, CONDITION MET,
	// INTERMEDIATE or INTERMEDIATE-CONDITION MET. Any other status goes
	// in a SCSI Response after the data.
	t.statusInData = n > 0 && statusFitsDataIn(t.resp.Status)
	t.seg = c.xmitSegment()
	t.burst = max(c.sess.params.MaxBurstLength, 512)
	t.dataSNs = 0
	if n > 0 {
		t.dataSNs = dataInPDUs(n, t.seg, t.burst)
	}
	t.laidOut = true
	return c.sendTask(t, 0, exp, maxCmdSN)
}

// rewriteTask sends again, on the connection a TASK REASSIGN made it
// allegiant to (RFC 7143 §7.2.2, §11.5.1), the outcome of a task sent
// before: its Data-In from DataSN t.resendFrom, the initiator's ExpDataSN
// (all of them when its data segments on this connection are of another
// length, whose DataSNs differ; none when a DataACK released them), and
// its status with a new StatSN of this connection.
func (c *conn) rewriteTask(t *task, exp, maxCmdSN uint32) error {
	from := t.resendFrom
	if seg := c.xmitSegment(); seg != t.seg && t.dataIn != nil {
		t.seg, from = seg, 0
		t.dataSNs = 0
		if t.inLen > 0 {
			t.dataSNs = dataInPDUs(t.inLen, t.seg, t.burst)
		}
	}
	if t.dataIn == nil || !pdu.SerialLess(from, t.dataSNs) {
		// The status alone, in a SCSI Response (§11.4).
		from = t.dataSNs
		t.statusInData = false
	}
	t.dataAcked = false
	// RFC 7143 §11.4.4: a SNACK Tag is of the connection that accepted
	// the R-Data SNACK.
	t.snackTag = 0
	return c.sendTask(t, from, exp, maxCmdSN)
}

// sendTask queues the Data-In of t from DataSN from and its status, with
// the next StatSN of the connection.
func (c *conn) sendTask(t *task, from, exp, maxCmdSN uint32) error {
	n := t.inLen
	if t.dataIn == nil {
		n = 0
	}
	t.statSN = c.statSN
	c.statSN++
	t.ackTTT = pdu.ReservedTag
	// RFC 7143 §11.16, §11.7.2: at ErrorRecoveryLevel 1 the task is
	// retained, within Limits.RetainBytes, for SNACKs until its status is
	// acknowledged; the last Data-In asks for a DataACK with the A bit.
	if c.erl1 && c.retain(retained{statSN: t.statSN, t: t, cost: taskRetainCost + int(n)}) {
		if n > 0 {
			t.ackTTT = c.newTTT()
		}
	} else if c.keepStatus(t) {
		// ErrorRecoveryLevel 2 beyond Limits.RetainBytes: the status is
		// kept for a TASK REASSIGN, the Data-In dropped once flushed.
		c.kept = append(c.kept, t)
	} else {
		// The Data-In segments are queued uncopied from t's buffer,
		// which goes back to its pool once they are flushed.
		c.sent = append(c.sent, t)
	}
	if err := c.queueDataIn(t, from, t.dataSNs, exp, maxCmdSN); err != nil {
		return err
	}
	if t.statusInData {
		return nil
	}
	return c.queueResponse(t, exp, maxCmdSN)
}

// xmitSegment returns the largest data segment the connection sends now
// (writer goroutine): the initiator's MaxRecvDataSegmentLength, declared
// at login or later in full feature phase (RFC 7143 §13.12), at least 512.
func (c *conn) xmitSegment() uint32 {
	return max(c.params.MaxXmitDataSegmentLength, 512)
}

// newTTT returns a Target Transfer Tag of the connection.
func (c *conn) newTTT() uint32 {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.nextTTT++
	if c.nextTTT == pdu.ReservedTag {
		c.nextTTT = 1
	}
	return c.nextTTT
}

// dataInPDUs returns the number of Data-In PDUs that carry n bytes in
// sequences of burst bytes made of segments of seg bytes.
func dataInPDUs(n, seg, burst uint32) uint32 {
	full := n / burst
	perBurst := (burst + seg - 1) / seg
	k := full * perBurst
	if rest := n % burst; rest > 0 {
		k += (rest + seg - 1) / seg
	}
	return k
}

// queueDataIn queues the Data-In PDUs of t with DataSN from to to-1, as
// writeTask laid them out: sequences of at most MaxBurstLength (§13.13)
// made of segments of at most the initiator's MaxRecvDataSegmentLength
// (§13.12), the status in the last one when it fits there (§11.7.3). A
// SNACK gets the same PDUs (§11.16.1), with the current ExpCmdSN and
// MaxCmdSN.
func (c *conn) queueDataIn(t *task, from, to, exp, maxCmdSN uint32) error {
	in := bytesOf(t.dataIn)
	n := t.inLen
	var dataSN, off uint32
	for off < n && dataSN < to {
		seqEnd := min(off+t.burst, n)
		for off < seqEnd && dataSN < to {
			l := min(t.seg, seqEnd-off)
			if dataSN >= from {
				var h pdu.BHS
				d := h.DataIn()
				d.Init()
				d.SetInitiatorTaskTag(t.itt)
				d.SetLUN(t.lun)
				d.SetTargetTransferTag(pdu.ReservedTag)
				d.SetDataSN(dataSN)
				d.SetBufferOffset(off)
				d.SetExpCmdSN(exp)
				d.SetMaxCmdSN(maxCmdSN)
				if off+l == seqEnd {
					d.SetFinal(true)
				}
				if off+l == n && t.ackTTT != pdu.ReservedTag {
					// RFC 7143 §11.7.2: the A bit on the Data-In that
					// concludes the transfer, with a Target Transfer
					// Tag for the DataACK.
					d.SetAcknowledge(true)
					d.SetTargetTransferTag(t.ackTTT)
				}
				if off+l == n && t.statusInData {
					d.SetStatusPresent(true)
					d.SetStatus(t.status)
					d.SetStatSN(t.statSN)
					d.SetResidualUnderflow(t.under > 0)
					d.SetResidualOverflow(t.over > 0)
					d.SetResidualCount(t.under + t.over)
				}
				if err := c.w.Queue(&h, nil, in[off:off+l]); err != nil {
					return err
				}
			}
			off += l
			dataSN++
		}
	}
	return nil
}

// queueResponse queues the SCSI Response of t (RFC 7143 §11.4) with the
// StatSN writeTask gave it, and its sense data after a 2-byte SenseLength
// (§11.4.7).
func (c *conn) queueResponse(t *task, exp, maxCmdSN uint32) error {
	var h pdu.BHS
	r := h.SCSIResponse()
	r.Init()
	r.SetInitiatorTaskTag(t.itt)
	r.SetResponse(pdu.ResponseCommandCompleted)
	r.SetStatus(t.status)
	r.SetExpDataSN(t.dataSNs)
	// RFC 7143 §11.4.4: the SNACK Tag of the last R-Data SNACK the
	// connection accepted for the command, else 0.
	r.SetSNACKTag(t.snackTag)
	r.SetResidualUnderflow(t.under > 0)
	r.SetResidualOverflow(t.over > 0)
	r.SetResidualCount(t.under + t.over)
	stamp(&h, t.statSN, exp, maxCmdSN)
	var data []byte
	if t.resp.Status == scsi.StatusCheckCondition {
		data = t.resp.AppendSense(t.sense[:2])
		l := len(data) - 2
		data[0], data[1] = byte(l>>8), byte(l)
	}
	return c.w.Queue(&h, nil, data)
}

// blockSizer is a LogicalUnit that tells its logical block length, as
// *disk.LU does.
type blockSizer interface{ BlockSize() int }

// dataInLength returns how many bytes of Data-In a READ(6/10/12/16) asks
// for, when lu tells its block length; 0 for other commands, whose
// allocation lengths cap their data without making an overflow (SPC-4
// §4.2.5.6).
func dataInLength(lu LogicalUnit, cdb []byte) uint32 {
	switch scsi.OpCode(cdb[0]) {
	case scsi.OpRead6, scsi.OpRead10, scsi.OpRead12, scsi.OpRead16:
	default:
		return 0
	}
	bs, ok := lu.(blockSizer)
	if !ok {
		return 0
	}
	rw, err := scsi.ParseReadWrite(cdb)
	if err != nil {
		return 0
	}
	n := uint64(rw.TransferLength) * uint64(bs.BlockSize())
	return uint32(min(n, 1<<32-1))
}

func max0(n int) int {
	if n < 0 {
		return 0
	}
	return n
}

// statusFitsDataIn reports whether st may be sent in the last Data-In PDU
// of a command (RFC 7143 §11.7.3; INTERMEDIATE and INTERMEDIATE-CONDITION
// MET, which it also names, are obsolete since SAM-4 and never produced
// here).
func statusFitsDataIn(st scsi.Status) bool {
	switch st {
	case scsi.StatusGood, scsi.StatusConditionMet:
		return true
	}
	return false
}
