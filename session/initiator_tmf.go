package session

import (
	"context"
	"errors"
	"fmt"

	"github.com/go-iscsi/iscsi/pdu"
	"github.com/go-iscsi/iscsi/scsi"
)

// ErrProtocolLevel: the request needs an iSCSIProtocolLevel the session
// did not negotiate (RFC 7144 §2.1: the task management functions of
// RFC 7144 need iSCSIProtocolLevel 2 or more).
var ErrProtocolLevel = errors.New("iscsi: not supported at the negotiated iSCSIProtocolLevel")

// TaskManagement sends a Task Management Function Request (RFC 7143
// §11.5) as an immediate command and returns the target's response code.
// ref is the ITT of the referenced task, used by ABORT TASK and QUERY TASK;
// when it is a command of this session still outstanding, RefCmdSN is its
// CmdSN (RFC 7143 §11.5.4). The RFC 7144 functions (QUERY TASK, QUERY TASK
// SET, I_T NEXUS RESET, QUERY ASYNCHRONOUS EVENT) fail with
// ErrProtocolLevel unless iSCSIProtocolLevel 2 was negotiated. A
// completed function that ends commands of this session (ABORT TASK SET,
// CLEAR TASK SET, LOGICAL UNIT RESET, the target resets, I_T NEXUS RESET)
// makes them return a *CommandError; a completed TARGET COLD RESET ends
// the session (§11.5.1: the target drops its connections).
func (s *Session) TaskManagement(ctx context.Context, fn pdu.TaskManagementFunction, lun scsi.LUN, ref uint32) (pdu.TaskManagementResponseCode, error) {
	refSN, ok := s.cmdSNOf(ref)
	if !ok {
		// A task not of this session (or gone): the current CmdSN, which
		// every earlier task's CmdSN precedes.
		s.mu.Lock()
		refSN = s.cmdSN
		s.mu.Unlock()
	}
	return s.taskManagement(ctx, fn, lun, ref, refSN)
}

// cmdSNOf returns the CmdSN the outstanding SCSI command itt was issued
// with.
func (s *Session) cmdSNOf(itt uint32) (uint32, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.tasks[itt]
	if t == nil || t.kind != kindSCSI || !t.issued {
		return 0, false
	}
	return t.cmdSN, true
}

func (s *Session) taskManagement(ctx context.Context, fn pdu.TaskManagementFunction, lun scsi.LUN, ref, refCmdSN uint32) (pdu.TaskManagementResponseCode, error) {
	return s.taskManagementOn(ctx, fn, lun, ref, refCmdSN, 0, nil)
}

// taskManagementOn is taskManagement on connection on (nil: the one the
// ConnectionPolicy picks), with expDataSN the ExpDataSN of a TASK
// REASSIGN (RFC 7143 §11.5.6).
func (s *Session) taskManagementOn(ctx context.Context, fn pdu.TaskManagementFunction, lun scsi.LUN, ref, refCmdSN, expDataSN uint32, on *initiatorConn) (pdu.TaskManagementResponseCode, error) {
	if fn >= pdu.TMFQueryTask {
		if sp, _ := s.Params(); sp.ProtocolLevel < 2 {
			return 0, fmt.Errorf("%w: %v needs iSCSIProtocolLevel 2 (RFC 7144), %d negotiated", ErrProtocolLevel, fn, sp.ProtocolLevel)
		}
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
	// RFC 7143 §11.5.2: the LUN field of functions that act on a logical
	// unit; RFC 7144 §4.1: QUERY TASK, QUERY TASK SET and QUERY
	// ASYNCHRONOUS EVENT too.
	switch fn {
	case pdu.TMFAbortTask, pdu.TMFAbortTaskSet, pdu.TMFClearTaskSet, pdu.TMFLogicalUnitReset, pdu.TMFClearACA,
		pdu.TMFQueryTask, pdu.TMFQueryTaskSet, pdu.TMFQueryAsynchronousEvent:
		tm.SetLUN(lun.Uint64())
	}
	// RFC 7143 §11.5.3, §11.5.4: Referenced Task Tag and RefCmdSN name
	// the task of ABORT TASK (and QUERY TASK, RFC 7144 §4.1); otherwise
	// 0xffffffff and reserved.
	switch fn {
	case pdu.TMFAbortTask, pdu.TMFQueryTask:
		tm.SetReferencedTaskTag(ref)
		tm.SetRefCmdSN(refCmdSN)
	case pdu.TMFTaskReassign:
		// §11.5.1, §11.5.6: the task reassigned and the first Data-In
		// DataSN not acknowledged (0: all of them).
		tm.SetLUN(lun.Uint64())
		tm.SetReferencedTaskTag(ref)
		tm.SetRefCmdSN(refCmdSN)
		tm.SetExpDataSN(expDataSN)
	default:
		tm.SetReferencedTaskTag(pdu.ReservedTag)
	}
	c, sn, err := s.reserveOn(ctx, true, t, on)
	if err != nil {
		return 0, err
	}
	tm.SetCmdSN(sn)
	err = c.write(&h, nil, true)
	s.seqMu.Unlock()
	if err != nil {
		c.kill()
		return 0, connErr(err)
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

// AbortTask aborts the command with Initiator Task Tag itt (ABORT TASK,
// RFC 7143 §11.5.1), which must be a command of this session on lun.
// Execute aborts a command this way by itself when its context ends.
func (s *Session) AbortTask(ctx context.Context, lun scsi.LUN, itt uint32) (pdu.TaskManagementResponseCode, error) {
	return s.TaskManagement(ctx, pdu.TMFAbortTask, lun, itt)
}

// AbortTaskSet aborts every task of this session on lun (RFC 7143
// §11.5.1).
func (s *Session) AbortTaskSet(ctx context.Context, lun scsi.LUN) (pdu.TaskManagementResponseCode, error) {
	return s.TaskManagement(ctx, pdu.TMFAbortTaskSet, lun, pdu.ReservedTag)
}

// ClearTaskSet aborts every task on lun, of all initiators when the task
// set is shared (CLEAR TASK SET, RFC 7143 §11.5.1, SAM-5 §7.4).
func (s *Session) ClearTaskSet(ctx context.Context, lun scsi.LUN) (pdu.TaskManagementResponseCode, error) {
	return s.TaskManagement(ctx, pdu.TMFClearTaskSet, lun, pdu.ReservedTag)
}

// LogicalUnitReset resets the logical unit lun (RFC 7143 §11.5.1).
func (s *Session) LogicalUnitReset(ctx context.Context, lun scsi.LUN) (pdu.TaskManagementResponseCode, error) {
	return s.TaskManagement(ctx, pdu.TMFLogicalUnitReset, lun, pdu.ReservedTag)
}

// TargetWarmReset resets every logical unit of the target (TARGET WARM
// RESET, RFC 7143 §11.5.1); the target may drop the connections of other
// sessions.
func (s *Session) TargetWarmReset(ctx context.Context) (pdu.TaskManagementResponseCode, error) {
	return s.TaskManagement(ctx, pdu.TMFTargetWarmReset, scsi.LUN{}, pdu.ReservedTag)
}

// TargetColdReset resets the target as a power cycle would (TARGET COLD
// RESET, RFC 7143 §11.5.1): the target drops all its connections after
// the response, and the session ends (it is not reinstated).
func (s *Session) TargetColdReset(ctx context.Context) (pdu.TaskManagementResponseCode, error) {
	return s.TaskManagement(ctx, pdu.TMFTargetColdReset, scsi.LUN{}, pdu.ReservedTag)
}

// QueryTask asks whether the command itt of this session is still in the
// task set of lun (QUERY TASK, RFC 7144 §4.1, SAM-5 §7.9); needs
// iSCSIProtocolLevel 2.
func (s *Session) QueryTask(ctx context.Context, lun scsi.LUN, itt uint32) (pdu.TaskManagementResponseCode, error) {
	return s.TaskManagement(ctx, pdu.TMFQueryTask, lun, itt)
}

// QueryTaskSet asks whether any task of this I_T nexus is in the task set
// of lun (QUERY TASK SET, RFC 7144 §4.1, SAM-5 §7.10); needs
// iSCSIProtocolLevel 2.
func (s *Session) QueryTaskSet(ctx context.Context, lun scsi.LUN) (pdu.TaskManagementResponseCode, error) {
	return s.TaskManagement(ctx, pdu.TMFQueryTaskSet, lun, pdu.ReservedTag)
}

// ITNexusReset ends every task of this I_T nexus on all logical units
// (I_T NEXUS RESET, RFC 7144 §4.1, SAM-5 §7.6); needs iSCSIProtocolLevel
// 2.
func (s *Session) ITNexusReset(ctx context.Context) (pdu.TaskManagementResponseCode, error) {
	return s.TaskManagement(ctx, pdu.TMFITNexusReset, scsi.LUN{}, pdu.ReservedTag)
}

// QueryAsyncEvent asks whether lun has a unit attention or deferred error
// pending for this I_T nexus (QUERY ASYNCHRONOUS EVENT, RFC 7144 §4.1,
// SAM-5 §7.8); needs iSCSIProtocolLevel 2.
func (s *Session) QueryAsyncEvent(ctx context.Context, lun scsi.LUN) (pdu.TaskManagementResponseCode, error) {
	return s.TaskManagement(ctx, pdu.TMFQueryAsynchronousEvent, lun, pdu.ReservedTag)
}

// Logout closes the session with a Logout Request of reason "close the
// session" (RFC 7143 §11.14) and waits for the response, then closes the
// connection. During a recovery there is no connection to log out on:
// Logout ends the recovery and closes the session.
func (s *Session) Logout(ctx context.Context) error {
	s.mu.Lock()
	st := s.state
	s.mu.Unlock()
	if st == stateRecovering {
		return s.Close()
	}
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
	c, sn, err := s.reserve(ctx, true, t)
	if err == nil {
		s.loggingOutOn(c)
		lr.SetCID(c.cid)
		lr.SetCmdSN(sn)
		err = c.write(&h, nil, true)
		s.seqMu.Unlock()
	}
	if err == nil {
		select {
		case <-t.done:
			err = t.err
			if err == nil && t.logout != pdu.LogoutClosedSuccessfully {
				err = fmt.Errorf("iscsi: logout refused: %v", t.logout)
			}
			if errors.Is(err, ErrConnectionLost) {
				err = fmt.Errorf("%w: %w", ErrLogoutUnanswered, err)
			}
		case <-ctx.Done():
			err = ctx.Err()
		}
	}
	s.Close()
	return err
}

// Close closes the connection without logging out and ends a recovery in
// progress; outstanding commands fail with ErrClosed. It returns once the
// connection's reader has stopped.
func (s *Session) Close() error {
	// Closed first, so that a recovery ended by closing says ErrClosed.
	s.mu.Lock()
	s.closeLocked(ErrClosed)
	s.mu.Unlock()
	s.closeOnce.Do(func() { close(s.closing) })
	s.loops.Wait()
	return nil
}
