package disk

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/go-iscsi/iscsi/scsi"
)

// The contract between a transport and a logical unit lives in package
// scsi, so that a logical unit other than this one need not import this
// package; the names below are kept for the code written against them.

// Nexus is [scsi.Nexus].
//
// Deprecated: use scsi.Nexus.
type Nexus = scsi.Nexus

// Request is [scsi.Request].
//
// Deprecated: use scsi.Request.
type Request = scsi.Request

// Response is [scsi.Response].
//
// Deprecated: use scsi.Response.
type Response = scsi.Response

// TaskAttribute is [scsi.TaskAttribute], itself
// [github.com/go-iscsi/iscsi/pdu.TaskAttribute]: the one task attribute
// type of the module, with the codes of RFC 7143 §11.3.1 (TaskSimple is 1,
// not 0 as it was here). The logical unit executes every command as it
// arrives; the attribute is the transport's to honour when it orders
// commands.
//
// Deprecated: use scsi.TaskAttribute.
type TaskAttribute = scsi.TaskAttribute

// Task attributes, the constants of package scsi.
//
// Deprecated: use scsi.TaskSimple, scsi.TaskOrdered, scsi.TaskHeadOfQueue
// and scsi.TaskACA.
const (
	TaskSimple      = scsi.TaskSimple
	TaskOrdered     = scsi.TaskOrdered
	TaskHeadOfQueue = scsi.TaskHeadOfQueue
	TaskACA         = scsi.TaskACA
)

// LU is a direct-access block device logical unit (SBC-4) over a
// [Backend]. Its methods are safe for use by many goroutines: reads run in
// parallel, and COMPARE AND WRITE and WRITE ATOMIC(16) are atomic with
// respect to every other command that writes the medium.
type LU struct {
	cfg     Config
	be      Backend
	flusher Flusher
	dealloc Deallocator
	zeroer  ZeroWriter
	mapper  AllocationMapper
	nb      NonBlocking
	bs      int64
	thin    bool

	// io orders media access: ordinary reads and writes share it, COMPARE
	// AND WRITE, WRITE ATOMIC(16) and SANITIZE hold it exclusively.
	io sync.RWMutex

	// table is the dispatch table, built by New from the configuration.
	table commandTable
	mode  modeState

	// noMedium: ejected by START STOP UNIT (removable only); sanitizing: a
	// SANITIZE is running. Atomics, so media access checks take no lock.
	// sanitizeFailed: the last sanitize operation failed (sanitize
	// failure mode, SBC-4 §4.11); sanitizeRun: the last sanitize
	// operation started, for its progress.
	noMedium       atomic.Bool
	sanitizing     atomic.Bool
	sanitizeFailed atomic.Bool
	sanitizeRun    atomic.Pointer[sanitizeOp]

	// mu guards the state below it.
	mu         sync.RWMutex
	nexuses    map[Nexus]*nexusState
	preventers map[Nexus]struct{} // PREVENT ALLOW MEDIUM REMOVAL (SPC-4 §6.15)

	// pr holds persistent and SPC-2 reservations under its own lock.
	pr reservations
}

// nexusState is what the logical unit keeps per I_T nexus.
type nexusState struct {
	ua     []scsi.ASC           // pending unit attention conditions, oldest first (SAM-5 §5.14)
	copies map[uint8]copyResult // EXTENDED COPY results by LIST IDENTIFIER (SPC-4 §6.18.2)
}

// maxPendingUA bounds a nexus's unit attention queue; SAM-5 §5.14 lets a
// logical unit drop conditions it cannot queue, keeping the most important.
const maxPendingUA = 16

// New returns a logical unit serving be as cfg describes. It returns a
// [*ConfigError] for a bad configuration, including ThinProvisioning over
// a backend that is not a [Deallocator].
func New(be Backend, cfg Config) (*LU, error) {
	if be == nil {
		return nil, &ConfigError{"backend", "is nil"}
	}
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	// SBC-4 §4.5: the medium is a whole number of logical blocks, at
	// least one (READ CAPACITY reports the last LBA).
	if size := be.Size(); size <= 0 || size%int64(cfg.BlockSize) != 0 {
		return nil, &ConfigError{"backend", fmt.Sprintf("size %d is not a positive multiple of the block size %d", size, cfg.BlockSize)}
	}
	lu := &LU{
		cfg:        cfg,
		be:         be,
		bs:         int64(cfg.BlockSize),
		nexuses:    make(map[Nexus]*nexusState),
		preventers: make(map[Nexus]struct{}),
	}
	lu.flusher, _ = be.(Flusher)
	lu.dealloc, _ = be.(Deallocator)
	lu.zeroer, _ = be.(ZeroWriter)
	lu.mapper, _ = be.(AllocationMapper)
	lu.nb, _ = be.(NonBlocking)
	if cfg.ThinProvisioning {
		if lu.dealloc == nil {
			return nil, &ConfigError{"ThinProvisioning", "the backend does not implement Deallocator"}
		}
		lu.thin = true
	}
	lu.resetMode()
	lu.buildTable()
	return lu, nil
}

// Config returns the configuration in effect, defaults filled in.
func (lu *LU) Config() Config { return lu.cfg }

// BlockSize returns the logical block length in bytes.
func (lu *LU) BlockSize() int { return int(lu.bs) }

// blocks returns the number of logical blocks of the medium now.
func (lu *LU) blocks() uint64 {
	n := lu.be.Size()
	if n <= 0 {
		return 0
	}
	return uint64(n / lu.bs)
}

// ResetKind is [scsi.ResetKind].
//
// Deprecated: use scsi.ResetKind.
type ResetKind = scsi.ResetKind

// Reset kinds, the constants of package scsi.
//
// Deprecated: use scsi.LogicalUnitReset and scsi.TargetReset.
const (
	LogicalUnitReset = scsi.LogicalUnitReset
	TargetReset      = scsi.TargetReset
)

// Reset applies a reset (SAM-5 §6.3): it releases the SPC-2 reservation
// (persistent reservations survive, SPC-4 §5.12.1), allows medium removal,
// restores the mode parameters to their defaults and establishes a unit
// attention for every known I_T nexus. Aborting the tasks in flight is
// the transport's job; the logical unit holds none.
func (lu *LU) Reset(kind scsi.ResetKind) {
	code := scsi.ASCBusDeviceResetFunctionOccurred
	if kind == scsi.TargetReset {
		code = scsi.ASCPowerOnResetOrBusDeviceResetOccurred
	}
	lu.pr.releaseSPC2(nil)
	lu.mu.Lock()
	defer lu.mu.Unlock()
	lu.resetMode()
	clear(lu.preventers)
	for _, ns := range lu.nexuses {
		ns.ua = ns.ua[:0]
		queueUA(ns, code)
	}
}

// ITNexusLoss tells the logical unit that the I_T nexus n is gone (SAM-5
// §6.3.4): its SPC-2 reservation and medium removal prevention end and
// its pending unit attentions are dropped; its persistent reservation
// registrations stay (SPC-4 §5.12.1). A nexus that comes back gets POWER
// ON, RESET, OR BUS DEVICE RESET OCCURRED on its first command.
func (lu *LU) ITNexusLoss(n scsi.Nexus) {
	lu.pr.releaseSPC2(&n)
	lu.mu.Lock()
	defer lu.mu.Unlock()
	delete(lu.nexuses, n)
	delete(lu.preventers, n)
}

// CapacityChanged establishes a CAPACITY DATA HAS CHANGED unit attention
// (SBC-4 §4.10) for every known I_T nexus. Call it after resizing the
// backend.
func (lu *LU) CapacityChanged() { lu.broadcastUA(nil, scsi.ASCCapacityDataHasChanged) }

// InquiryDataChanged establishes INQUIRY DATA HAS CHANGED (SPC-4 §6.6.1)
// for every known I_T nexus.
func (lu *LU) InquiryDataChanged() { lu.broadcastUA(nil, scsi.ASCInquiryDataHasChanged) }

// broadcastUA queues code for every known nexus except except.
func (lu *LU) broadcastUA(except *Nexus, code scsi.ASC) {
	lu.mu.Lock()
	defer lu.mu.Unlock()
	for n, ns := range lu.nexuses {
		if except != nil && n == *except {
			continue
		}
		queueUA(ns, code)
	}
}

// uaTo queues code for each nexus in ns that the logical unit knows.
func (lu *LU) uaTo(code scsi.ASC, targets []Nexus) {
	if len(targets) == 0 {
		return
	}
	lu.mu.Lock()
	defer lu.mu.Unlock()
	for _, n := range targets {
		if ns := lu.nexuses[n]; ns != nil {
			queueUA(ns, code)
		}
	}
}

// queueUA adds code unless it is already pending (SAM-5 §5.14: a logical
// unit need not queue duplicates).
func queueUA(ns *nexusState, code scsi.ASC) {
	for _, c := range ns.ua {
		if c == code {
			return
		}
	}
	if len(ns.ua) >= maxPendingUA {
		return
	}
	ns.ua = append(ns.ua, code)
}

// Execute performs one command and returns its status, sense data and
// the length of its Data-In. It never panics and never touches the
// backend outside [0, Size()). READ and WRITE allocate nothing.
//
// Before the command runs, SAM-5 §5.14 and SPC-4 §5.12 apply in this
// order: a pending unit attention fails any command but INQUIRY, REPORT
// LUNS and REQUEST SENSE; then a reservation held by another I_T nexus
// gives RESERVATION CONFLICT to the commands SPC-4 table 62 and SBC-4
// table 11 mark as conflicting. A cancelled ctx gives TASK ABORTED.
func (lu *LU) Execute(ctx context.Context, req *scsi.Request) scsi.Response {
	if ctx != nil && ctx.Err() != nil {
		return scsi.Response{Status: scsi.StatusTaskAborted}
	}
	r := lu.execute(ctx, req)
	if r.Status == scsi.StatusCheckCondition {
		r.DescriptorSense = lu.mode.dsense.Load()
	}
	return r
}

func (lu *LU) execute(ctx context.Context, req *Request) Response {
	cdb := req.CDB
	var (
		cmd   *command
		sense = scsi.NewSense(scsi.SenseIllegalRequest, scsi.ASCInvalidCommandOperationCode)
		ok    bool
	)
	if len(cdb) > 0 {
		cmd, sense, ok = lu.lookupCommand(cdb)
	}
	if !ok {
		// A pending unit attention is still reported first (SAM-5 §5.14),
		// whatever the operation code.
		if r, blocked := lu.admit(req.Nexus, nil); blocked {
			return r
		}
		return checkCondition(sense)
	}
	if r, blocked := lu.admit(req.Nexus, cmd); blocked {
		return r
	}
	if s, bad := checkUsage(cmd, cdb); bad {
		return checkCondition(s)
	}
	// SBC-4 §4.11: while a sanitize operation is in progress, every
	// command but INQUIRY, REPORT LUNS, REPORT SUPPORTED OPERATION CODES
	// and REQUEST SENSE fails with NOT READY, LOGICAL UNIT NOT READY,
	// SANITIZE IN PROGRESS and a progress indication.
	if cmd.flags&fDuringSanitize == 0 && lu.sanitizing.Load() {
		return checkCondition(lu.sanitizeInProgress())
	}
	if cmd.flags&fMedium != 0 {
		if lu.noMedium.Load() {
			return checkCondition(scsi.NewSense(scsi.SenseNotReady, scsi.ASCMediumNotPresent))
		}
		// SBC-4 §4.11: in sanitize failure mode media access fails
		// with MEDIUM ERROR, SANITIZE COMMAND FAILED until a sanitize
		// operation completes or EXIT FAILURE MODE ends the mode.
		if cmd.handler != hSanitize && lu.sanitizeFailed.Load() {
			return checkCondition(scsi.NewSense(scsi.SenseMediumError, scsi.ASCSanitizeCommandFailed))
		}
	}
	if cmd.flags&fWrite != 0 {
		if lu.cfg.ReadOnly {
			return checkCondition(scsi.NewSense(scsi.SenseDataProtect, scsi.ASCWriteProtected))
		}
		// SPC-4 §7.5.8: with SWP set the medium is software write protected.
		if lu.mode.swp.Load() {
			return checkCondition(scsi.NewSense(scsi.SenseDataProtect, scsi.ASCLogicalUnitSoftwareWriteProtected))
		}
	}
	if cmd.handler == hSanitize {
		return lu.sanitize(ctx, req)
	}
	return lu.dispatch(cmd.handler, req)
}

// admit applies unit attention and reservation rules to a command; cmd
// nil stands for an unsupported operation code. blocked tells the caller
// to return r instead of running the command.
func (lu *LU) admit(n Nexus, cmd *command) (r Response, blocked bool) {
	lu.mu.RLock()
	ns := lu.nexuses[n]
	pending := ns == nil || len(ns.ua) > 0
	lu.mu.RUnlock()
	if pending {
		lu.mu.Lock()
		ns = lu.nexuses[n]
		if ns == nil {
			// SAM-5 §6.3.1: the first command of a new I_T nexus sees the
			// power-on unit attention.
			ns = &nexusState{}
			lu.nexuses[n] = ns
			queueUA(ns, scsi.ASCPowerOnResetOrBusDeviceResetOccurred)
		}
		if len(ns.ua) > 0 && (cmd == nil || cmd.flags&fNoUA == 0) {
			code := ns.ua[0]
			ns.ua = append(ns.ua[:0], ns.ua[1:]...)
			lu.mu.Unlock()
			return checkCondition(scsi.NewSense(scsi.SenseUnitAttention, code)), true
		}
		lu.mu.Unlock()
	}
	if cmd == nil {
		return Response{}, false
	}
	if lu.pr.conflicts(n, cmd) {
		return Response{Status: scsi.StatusReservationConflict}, true
	}
	return Response{}, false
}

// takeUA removes and returns the oldest pending unit attention of n, for
// REQUEST SENSE (SPC-4 §6.39).
func (lu *LU) takeUA(n Nexus) (scsi.ASC, bool) {
	lu.mu.Lock()
	defer lu.mu.Unlock()
	ns := lu.nexuses[n]
	if ns == nil || len(ns.ua) == 0 {
		return 0, false
	}
	code := ns.ua[0]
	ns.ua = append(ns.ua[:0], ns.ua[1:]...)
	return code, true
}

// PendingUnitAttentions returns the unit attention conditions queued for
// n, oldest first, without clearing them.
func (lu *LU) PendingUnitAttentions(n scsi.Nexus) []scsi.ASC {
	lu.mu.RLock()
	defer lu.mu.RUnlock()
	if ns := lu.nexuses[n]; ns != nil {
		return append([]scsi.ASC(nil), ns.ua...)
	}
	return nil
}

func checkCondition(s scsi.Sense) Response {
	return Response{Status: scsi.StatusCheckCondition, Sense: s}
}

func good(n int) Response { return Response{Status: scsi.StatusGood, DataInLen: n} }

// invalidCDB is INVALID FIELD IN CDB pointing at byte and bit (bit -1 for
// the whole byte).
func invalidCDB(byteOff int, bit int) Response {
	return checkCondition(scsi.InvalidFieldInCDB(uint16(byteOff), bit))
}

// invalidParam is INVALID FIELD IN PARAMETER LIST pointing at byte, bit.
func invalidParam(byteOff int, bit int) Response {
	return checkCondition(scsi.InvalidFieldInParameterList(uint16(byteOff), bit))
}

func senseResponse(key scsi.SenseKey, code scsi.ASC) Response {
	return checkCondition(scsi.NewSense(key, code))
}
