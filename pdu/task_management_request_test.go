package pdu

import "testing"

func taskManagementRequestSpec() viewSpec {
	v := (*BHS).TaskManagementRequest
	return viewSpec{
		op:       OpTaskManagementRequest,
		init:     func(h *BHS) { h.TaskManagementRequest().Init() },
		validate: func(h *BHS) error { return h.TaskManagementRequest().Validate() },
		fields: []accessor{
			boolField(v, "Immediate", (*TaskManagementRequest).Immediate, (*TaskManagementRequest).SetImmediate),
			u8Field(v, "Function", 7, (*TaskManagementRequest).Function, (*TaskManagementRequest).SetFunction),
			u64Field(v, "LUN", (*TaskManagementRequest).LUN, (*TaskManagementRequest).SetLUN),
			u32Field(v, "InitiatorTaskTag", (*TaskManagementRequest).InitiatorTaskTag, (*TaskManagementRequest).SetInitiatorTaskTag),
			u32Field(v, "ReferencedTaskTag", (*TaskManagementRequest).ReferencedTaskTag, (*TaskManagementRequest).SetReferencedTaskTag),
			u32Field(v, "CmdSN", (*TaskManagementRequest).CmdSN, (*TaskManagementRequest).SetCmdSN),
			u32Field(v, "ExpStatSN", (*TaskManagementRequest).ExpStatSN, (*TaskManagementRequest).SetExpStatSN),
			u32Field(v, "RefCmdSN", (*TaskManagementRequest).RefCmdSN, (*TaskManagementRequest).SetRefCmdSN),
			u32Field(v, "ExpDataSN", (*TaskManagementRequest).ExpDataSN, (*TaskManagementRequest).SetExpDataSN),
		},
		// RFC 7143 §11.5 figure.
		reserved: rsv(field{0, 0x80}, [2]int{2, 4}, [2]int{40, 48}),
		valid:    func(h *BHS) { h.TaskManagementRequest().SetFunction(TMFAbortTask) },
	}
}

func TestTaskManagementRequestRoundTrip(t *testing.T) { testRoundTrip(t, taskManagementRequestSpec()) }

func TestTaskManagementRequestValidate(t *testing.T) {
	s := taskManagementRequestSpec()
	testValidateReserved(t, s)
	testValidateInvalid(t, s, []invalidCase{
		{"F clear", func(h *BHS) { h.SetFinal(false) }, 1, false},
		{"function 0", func(h *BHS) { h.TaskManagementRequest().SetFunction(0) }, 1, true},
		{"function 13", func(h *BHS) { h.TaskManagementRequest().SetFunction(13) }, 1, true},
		{"AHS", func(h *BHS) { h.SetTotalAHSLength(1) }, 4, false},
		{"data", func(h *BHS) { h.SetDataSegmentLength(4) }, 4, false},
	})
}

func TestTaskManagementFunctionString(t *testing.T) {
	testStrings(t, map[TaskManagementFunction]string{
		TMFAbortTask: "ABORT TASK", TMFAbortTaskSet: "ABORT TASK SET", TMFClearACA: "CLEAR ACA",
		TMFClearTaskSet: "CLEAR TASK SET", TMFLogicalUnitReset: "LOGICAL UNIT RESET",
		TMFTargetWarmReset: "TARGET WARM RESET", TMFTargetColdReset: "TARGET COLD RESET",
		TMFTaskReassign: "TASK REASSIGN", TMFQueryTask: "QUERY TASK", TMFQueryTaskSet: "QUERY TASK SET",
		TMFITNexusReset: "I_T NEXUS RESET", TMFQueryAsynchronousEvent: "QUERY ASYNCHRONOUS EVENT",
		0: "TaskManagementFunction(0)",
	})
}
