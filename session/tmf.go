package session

import (
	"sync"

	"github.com/go-iscsi/iscsi/pdu"
	"github.com/go-iscsi/iscsi/scsi"
)

// abortTasks aborts the tasks of the connection that match (SAM-5 §7.2,
// RFC 7143 §11.5.1): a task still waiting for Data-Out is dropped at once
// (its later Data-Out PDUs are discarded); a running one is marked so that
// it sends no response, and wg, if not nil, is released when it has ended.
// It returns how many tasks it aborted.
func (c *conn) abortTasks(match func(*task) bool, wg *sync.WaitGroup) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for itt, t := range c.tasks {
		if !match(t) {
			continue
		}
		n++
		t.aborted = true
		switch t.state {
		case taskCollecting:
			delete(c.tasks, itt)
			t.state = taskDone
			t.dropLU()
		case taskRunning:
			if wg != nil {
				wg.Add(1)
				t.waiters = append(t.waiters, wg)
			}
		}
	}
	return n
}

// abortEverywhere aborts the matching tasks of every session of the
// target, as LOGICAL UNIT RESET and TARGET WARM/COLD RESET do for all
// initiators (RFC 7143 §11.5.1): those of every connection, and at
// ErrorRecoveryLevel 2 those waiting for reassignment, which a later TASK
// REASSIGN must not bring back to run after the reset (SAM-5 §7.7).
func (c *conn) abortEverywhere(match func(*task) bool, wg *sync.WaitGroup) {
	for _, s := range c.srv.sessionsOf(c.sess.target) {
		s.abortTasks(match, wg)
	}
}

// handleTMF performs a Task Management Function Request (RFC 7143 §11.5)
// and answers it (§11.6) once the tasks it covers have ended, so that no
// response of theirs follows the Task Management Function Response
// (§11.5.1). Supported: ABORT TASK, ABORT TASK SET, CLEAR TASK SET, LOGICAL
// UNIT RESET, TARGET WARM RESET and TARGET COLD RESET; TASK REASSIGN at
// ErrorRecoveryLevel 2 (reassign.go), below it answered "Task allegiance
// reassignment not supported" (§11.6.1); the others are
// answered "Task management function not supported" (§11.6.1).
func (c *conn) handleTMF(h *pdu.BHS) error {
	if ok, err := c.admit(h); !ok || err != nil {
		return err
	}
	tm := h.TaskManagementRequest()
	if tm.Function() == pdu.TMFTaskReassign && c.erl2 {
		return c.reassign(h)
	}
	lun := tm.LUN()
	lu, lunOK := c.sess.lookupLU(lun)
	wg := new(sync.WaitGroup)
	code := pdu.TMFResponseFunctionComplete
	var after func()
	last := false
	switch fn := tm.Function(); fn {
	case pdu.TMFAbortTask:
		code = c.abortTask(tm, wg)
	case pdu.TMFAbortTaskSet, pdu.TMFClearTaskSet:
		// With TST 000b (one task set per I_T nexus, SPC-4 §7.5.8) both
		// act on this session's tasks of the logical unit, on every
		// connection of the session.
		if !lunOK {
			code = pdu.TMFResponseLUNDoesNotExist
			break
		}
		c.sess.abortTasks(func(t *task) bool { return t.lun == lun }, wg)
	case pdu.TMFLogicalUnitReset:
		if !lunOK {
			code = pdu.TMFResponseLUNDoesNotExist
			break
		}
		c.abortEverywhere(func(t *task) bool { return t.lun == lun }, wg)
		after = func() { lu.Reset(scsi.LogicalUnitReset) }
	case pdu.TMFTargetWarmReset, pdu.TMFTargetColdReset:
		c.abortEverywhere(func(*task) bool { return true }, wg)
		view := c.sess.currentView()
		after = func() {
			if view == nil {
				return
			}
			for _, r := range view.luns {
				r.lu.Reset(scsi.TargetReset)
			}
		}
		// RFC 7143 §11.5.1: TARGET COLD RESET is a power-on event that
		// ends every session of the target.
		last = fn == pdu.TMFTargetColdReset
	case pdu.TMFTaskReassign:
		code = pdu.TMFResponseReassignmentNotSupported
	default:
		code = pdu.TMFResponseFunctionNotSupported
	}
	o := outPDU{kind: outStatus}
	if last {
		o.closeAfter = ErrSessionClosed
	}
	r := o.h.TaskManagementResponse()
	r.Init()
	r.SetInitiatorTaskTag(tm.InitiatorTaskTag())
	r.SetResponse(code)
	c.log.Debug("task management", "function", tm.Function().String(), "response", code.String())
	c.running.Add(1)
	go func() {
		defer c.running.Done()
		wg.Wait()
		if after != nil {
			after()
		}
		c.send(&o)
		if last {
			for _, s := range c.srv.sessionsOf(c.sess.target) {
				if s != c.sess {
					s.close()
				}
			}
		}
	}()
	return nil
}

// abortTask performs ABORT TASK (RFC 7143 §11.5.1): a task of the
// session, on any of its connections, with the Referenced Task Tag is aborted ("Function complete");
// with none, a RefCmdSN inside the valid CmdSN window and less than the
// request's CmdSN names a command not yet received, which the target must
// consider received ("Function complete"); a RefCmdSN outside the window
// gets "Task does not exist".
func (c *conn) abortTask(tm *pdu.TaskManagementRequest, wg *sync.WaitGroup) pdu.TaskManagementResponseCode {
	ref := tm.ReferencedTaskTag()
	// The task is found and marked under one hold of the lock: a task
	// that ends in between has sent its response, and answering
	// "Function complete" for it would follow a response the abort
	// claims never came (SAM-5 §7.2); it gets "Task does not exist".
	// The task may be allegiant to another connection of the session
	// (RFC 7143 §11.5.1: the function applies to the session's tasks).
	if c.sess.abortTasks(func(x *task) bool { return x.itt == ref && !x.aborted }, wg) > 0 {
		return pdu.TMFResponseFunctionComplete
	}
	exp, maxCmdSN := c.sess.cmdWindow()
	if pdu.SerialInWindow(tm.RefCmdSN(), exp, maxCmdSN) && pdu.SerialLess(tm.RefCmdSN(), tm.CmdSN()) {
		return pdu.TMFResponseFunctionComplete
	}
	return pdu.TMFResponseTaskDoesNotExist
}
