package pdu

import (
	"strconv"
)

// TaskManagementResponseCode is the Response field of a Task Management
// Function Response (RFC 7143 §11.6.1; code 7 from RFC 7144).
type TaskManagementResponseCode uint8

// Task management responses, RFC 7143 §11.6.1 and RFC 7144.
const (
	TMFResponseFunctionComplete            TaskManagementResponseCode = 0
	TMFResponseTaskDoesNotExist            TaskManagementResponseCode = 1
	TMFResponseLUNDoesNotExist             TaskManagementResponseCode = 2
	TMFResponseTaskStillAllegiant          TaskManagementResponseCode = 3
	TMFResponseReassignmentNotSupported    TaskManagementResponseCode = 4
	TMFResponseFunctionNotSupported        TaskManagementResponseCode = 5
	TMFResponseFunctionAuthorizationFailed TaskManagementResponseCode = 6
	TMFResponseFunctionSucceeded           TaskManagementResponseCode = 7
	TMFResponseFunctionRejected            TaskManagementResponseCode = 255
)

// String returns the description of RFC 7143 §11.6.1's table.
func (r TaskManagementResponseCode) String() string {
	switch r {
	case TMFResponseFunctionComplete:
		return "Function complete"
	case TMFResponseTaskDoesNotExist:
		return "Task does not exist"
	case TMFResponseLUNDoesNotExist:
		return "LUN does not exist"
	case TMFResponseTaskStillAllegiant:
		return "Task still allegiant"
	case TMFResponseReassignmentNotSupported:
		return "Task allegiance reassignment not supported"
	case TMFResponseFunctionNotSupported:
		return "Task management function not supported"
	case TMFResponseFunctionAuthorizationFailed:
		return "Function authorization failed"
	case TMFResponseFunctionSucceeded:
		return "Function succeeded"
	case TMFResponseFunctionRejected:
		return "Function rejected"
	}
	return "TaskManagementResponseCode(" + strconv.Itoa(int(r)) + ")"
}

// TaskManagementResponse is a view of the BHS of a SCSI Task Management
// Function Response PDU (RFC 7143 §11.6).
type TaskManagementResponse BHS

// BHS returns p as its Basic Header Segment.
func (p *TaskManagementResponse) BHS() *BHS { return (*BHS)(p) }

// Init zeroes the header and sets the opcode and the bit fixed at 1
// (RFC 7143 §11.6).
func (p *TaskManagementResponse) Init() {
	*p = TaskManagementResponse{}
	p[0] = byte(OpTaskManagementResponse)
	p[1] = 0x80
}

// Response returns the outcome of the function (RFC 7143 §11.6.1).
func (p *TaskManagementResponse) Response() TaskManagementResponseCode {
	return TaskManagementResponseCode(p[2])
}

// SetResponse sets Response (RFC 7143 §11.6.1).
func (p *TaskManagementResponse) SetResponse(v TaskManagementResponseCode) { p[2] = byte(v) }

// InitiatorTaskTag returns the tag of the task management request
// (RFC 7143 §11.6).
func (p *TaskManagementResponse) InitiatorTaskTag() uint32 { return p.BHS().u32(16) }

// SetInitiatorTaskTag sets InitiatorTaskTag (RFC 7143 §11.6).
func (p *TaskManagementResponse) SetInitiatorTaskTag(v uint32) { p.BHS().setU32(16, v) }

// StatSN returns the status sequence number (RFC 7143 §11.6).
func (p *TaskManagementResponse) StatSN() uint32 { return p.BHS().u32(24) }

// SetStatSN sets StatSN (RFC 7143 §11.6).
func (p *TaskManagementResponse) SetStatSN(v uint32) { p.BHS().setU32(24, v) }

// ExpCmdSN returns the next expected CmdSN (RFC 7143 §11.6).
func (p *TaskManagementResponse) ExpCmdSN() uint32 { return p.BHS().u32(28) }

// SetExpCmdSN sets ExpCmdSN (RFC 7143 §11.6).
func (p *TaskManagementResponse) SetExpCmdSN(v uint32) { p.BHS().setU32(28, v) }

// MaxCmdSN returns the maximum CmdSN the target accepts (RFC 7143 §11.6).
func (p *TaskManagementResponse) MaxCmdSN() uint32 { return p.BHS().u32(32) }

// SetMaxCmdSN sets MaxCmdSN (RFC 7143 §11.6).
func (p *TaskManagementResponse) SetMaxCmdSN(v uint32) { p.BHS().setU32(32, v) }

var taskManagementResponseReserved = fields(rsvByte0Target, []field{{1, 0x7f}, {3, 0xff}}, span(8, 16), span(20, 24), span(36, 48))

// Validate checks the opcode, the fixed bit, that reserved fields are zero,
// and that TotalAHSLength and DataSegmentLength are 0 (RFC 7143 §11.6.2).
func (p *TaskManagementResponse) Validate() error {
	h := p.BHS()
	if err := h.checkHeader(OpTaskManagementResponse, taskManagementResponseReserved, oneFinal); err != nil {
		return err
	}
	if h[4] != 0 || h.DataSegmentLength() != 0 {
		return h.invalid(4, h.u32(4), "TotalAHSLength and DataSegmentLength must be 0 (RFC 7143 §11.6.2)")
	}
	return nil
}
