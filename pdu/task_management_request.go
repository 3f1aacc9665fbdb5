package pdu

import (
	"strconv"
)

// TaskManagementFunction is the Function field of a Task Management
// Function Request (RFC 7143 §11.5.1; codes 9-12 from RFC 7144).
type TaskManagementFunction uint8

// Task management functions, RFC 7143 §11.5.1 and RFC 7144.
const (
	TMFAbortTask              TaskManagementFunction = 1  // ABORT TASK
	TMFAbortTaskSet           TaskManagementFunction = 2  // ABORT TASK SET
	TMFClearACA               TaskManagementFunction = 3  // CLEAR ACA
	TMFClearTaskSet           TaskManagementFunction = 4  // CLEAR TASK SET
	TMFLogicalUnitReset       TaskManagementFunction = 5  // LOGICAL UNIT RESET
	TMFTargetWarmReset        TaskManagementFunction = 6  // TARGET WARM RESET
	TMFTargetColdReset        TaskManagementFunction = 7  // TARGET COLD RESET
	TMFTaskReassign           TaskManagementFunction = 8  // TASK REASSIGN
	TMFQueryTask              TaskManagementFunction = 9  // QUERY TASK (RFC 7144)
	TMFQueryTaskSet           TaskManagementFunction = 10 // QUERY TASK SET (RFC 7144)
	TMFITNexusReset           TaskManagementFunction = 11 // I_T NEXUS RESET (RFC 7144)
	TMFQueryAsynchronousEvent TaskManagementFunction = 12 // QUERY ASYNCHRONOUS EVENT (RFC 7144)
)

// String returns the function name as SAM spells it.
func (f TaskManagementFunction) String() string {
	switch f {
	case TMFAbortTask:
		return "ABORT TASK"
	case TMFAbortTaskSet:
		return "ABORT TASK SET"
	case TMFClearACA:
		return "CLEAR ACA"
	case TMFClearTaskSet:
		return "CLEAR TASK SET"
	case TMFLogicalUnitReset:
		return "LOGICAL UNIT RESET"
	case TMFTargetWarmReset:
		return "TARGET WARM RESET"
	case TMFTargetColdReset:
		return "TARGET COLD RESET"
	case TMFTaskReassign:
		return "TASK REASSIGN"
	case TMFQueryTask:
		return "QUERY TASK"
	case TMFQueryTaskSet:
		return "QUERY TASK SET"
	case TMFITNexusReset:
		return "I_T NEXUS RESET"
	case TMFQueryAsynchronousEvent:
		return "QUERY ASYNCHRONOUS EVENT"
	}
	return "TaskManagementFunction(" + strconv.Itoa(int(f)) + ")"
}

// TaskManagementRequest is a view of the BHS of a SCSI Task Management
// Function Request PDU (RFC 7143 §11.5).
type TaskManagementRequest BHS

// BHS returns p as its Basic Header Segment.
func (p *TaskManagementRequest) BHS() *BHS { return (*BHS)(p) }

// Init zeroes the header and sets the opcode and the bit fixed at 1
// (RFC 7143 §11.5).
func (p *TaskManagementRequest) Init() {
	*p = TaskManagementRequest{}
	p[0] = byte(OpTaskManagementRequest)
	p[1] = 0x80
}

// Immediate returns the I bit: the request is for immediate delivery
// (RFC 7143 §11.2.1.1).
func (p *TaskManagementRequest) Immediate() bool { return p[0]&0x40 != 0 }

// SetImmediate sets Immediate (RFC 7143 §11.2.1.1).
func (p *TaskManagementRequest) SetImmediate(v bool) { setBit(&p[0], 0x40, v) }

// Function returns the task management function (RFC 7143 §11.5.1).
func (p *TaskManagementRequest) Function() TaskManagementFunction {
	return TaskManagementFunction(p[1] >> 0 & 0x7f)
}

// SetFunction sets Function (RFC 7143 §11.5.1).
func (p *TaskManagementRequest) SetFunction(v TaskManagementFunction) {
	p[1] = p[1]&^(0x7f<<0) | byte(v)&0x7f<<0
}

// LUN returns bytes 8-15, the Logical Unit Number or reserved
// (RFC 7143 §11.5.3).
func (p *TaskManagementRequest) LUN() uint64 { return p.BHS().LUN() }

// SetLUN sets LUN (RFC 7143 §11.5.3).
func (p *TaskManagementRequest) SetLUN(v uint64) { p.BHS().SetLUN(v) }

// InitiatorTaskTag returns the tag of this task management task
// (RFC 7143 §11.5).
func (p *TaskManagementRequest) InitiatorTaskTag() uint32 { return p.BHS().u32(16) }

// SetInitiatorTaskTag sets InitiatorTaskTag (RFC 7143 §11.5).
func (p *TaskManagementRequest) SetInitiatorTaskTag(v uint32) { p.BHS().setU32(16, v) }

// ReferencedTaskTag returns the Initiator Task Tag of the task to abort or
// reassign, or 0xffffffff (RFC 7143 §11.5.4).
func (p *TaskManagementRequest) ReferencedTaskTag() uint32 { return p.BHS().u32(20) }

// SetReferencedTaskTag sets ReferencedTaskTag (RFC 7143 §11.5.4).
func (p *TaskManagementRequest) SetReferencedTaskTag(v uint32) { p.BHS().setU32(20, v) }

// CmdSN returns the command sequence number (RFC 7143 §11.5).
func (p *TaskManagementRequest) CmdSN() uint32 { return p.BHS().u32(24) }

// SetCmdSN sets CmdSN (RFC 7143 §11.5).
func (p *TaskManagementRequest) SetCmdSN(v uint32) { p.BHS().setU32(24, v) }

// ExpStatSN returns the next expected status sequence number
// (RFC 7143 §11.5).
func (p *TaskManagementRequest) ExpStatSN() uint32 { return p.BHS().u32(28) }

// SetExpStatSN sets ExpStatSN (RFC 7143 §11.5).
func (p *TaskManagementRequest) SetExpStatSN(v uint32) { p.BHS().setU32(28, v) }

// RefCmdSN returns, for ABORT TASK, the CmdSN of the referenced task, or
// the CmdSN of this request when that task was created by an immediate
// command; for other functions it is reserved (RFC 7143 §11.5.5).
func (p *TaskManagementRequest) RefCmdSN() uint32 { return p.BHS().u32(32) }

// SetRefCmdSN sets RefCmdSN (RFC 7143 §11.5.5).
func (p *TaskManagementRequest) SetRefCmdSN(v uint32) { p.BHS().setU32(32, v) }

// ExpDataSN returns for TASK REASSIGN, the next data sequence number the
// initiator expects; otherwise reserved (RFC 7143 §11.5.6).
func (p *TaskManagementRequest) ExpDataSN() uint32 { return p.BHS().u32(36) }

// SetExpDataSN sets ExpDataSN (RFC 7143 §11.5.6).
func (p *TaskManagementRequest) SetExpDataSN(v uint32) { p.BHS().setU32(36, v) }

var taskManagementRequestReserved = fields(rsvByte0Initiator, []field{{2, 0xff}, {3, 0xff}}, span(40, 48))

// Validate checks the opcode, the fixed bit, that reserved fields are zero,
// that TotalAHSLength and DataSegmentLength are 0 (RFC 7143 §11.5.2), and
// that Function is defined (RFC 7143 §11.5.1, RFC 7144).
func (p *TaskManagementRequest) Validate() error {
	h := p.BHS()
	if err := h.checkHeader(OpTaskManagementRequest, taskManagementRequestReserved, oneFinal); err != nil {
		return err
	}
	if h[4] != 0 || h.DataSegmentLength() != 0 {
		return h.invalid(4, h.u32(4), "TotalAHSLength and DataSegmentLength must be 0 (RFC 7143 §11.5.2)")
	}
	if f := TaskManagementFunction(h[1] & 0x7f); f == 0 || f > TMFQueryAsynchronousEvent {
		return h.protocolViolation(1, uint32(f), "reserved task management function")
	}
	return nil
}
