package pdu

import "testing"

func taskManagementResponseSpec() viewSpec {
	v := (*BHS).TaskManagementResponse
	return viewSpec{
		op:       OpTaskManagementResponse,
		init:     func(h *BHS) { h.TaskManagementResponse().Init() },
		validate: func(h *BHS) error { return h.TaskManagementResponse().Validate() },
		fields: []accessor{
			u8Field(v, "Response", 8, (*TaskManagementResponse).Response, (*TaskManagementResponse).SetResponse),
			u32Field(v, "InitiatorTaskTag", (*TaskManagementResponse).InitiatorTaskTag, (*TaskManagementResponse).SetInitiatorTaskTag),
			u32Field(v, "StatSN", (*TaskManagementResponse).StatSN, (*TaskManagementResponse).SetStatSN),
			u32Field(v, "ExpCmdSN", (*TaskManagementResponse).ExpCmdSN, (*TaskManagementResponse).SetExpCmdSN),
			u32Field(v, "MaxCmdSN", (*TaskManagementResponse).MaxCmdSN, (*TaskManagementResponse).SetMaxCmdSN),
		},
		// RFC 7143 §11.6 figure.
		reserved: rsv(field{0, 0xc0}, field{1, 0x7f}, field{3, 0xff}, [2]int{8, 16}, [2]int{20, 24}, [2]int{36, 48}),
	}
}

func TestTaskManagementResponseRoundTrip(t *testing.T) {
	testRoundTrip(t, taskManagementResponseSpec())
}

func TestTaskManagementResponseValidate(t *testing.T) {
	s := taskManagementResponseSpec()
	testValidateReserved(t, s)
	testValidateInvalid(t, s, []invalidCase{
		{"F clear", func(h *BHS) { h.SetFinal(false) }, 1, false},
		{"AHS", func(h *BHS) { h.SetTotalAHSLength(2) }, 4, false},
		{"data", func(h *BHS) { h.SetDataSegmentLength(1) }, 4, false},
	})
}

func TestTaskManagementResponseCodeString(t *testing.T) {
	testStrings(t, map[TaskManagementResponseCode]string{
		TMFResponseFunctionComplete:            "Function complete",
		TMFResponseTaskDoesNotExist:            "Task does not exist",
		TMFResponseLUNDoesNotExist:             "LUN does not exist",
		TMFResponseTaskStillAllegiant:          "Task still allegiant",
		TMFResponseReassignmentNotSupported:    "Task allegiance reassignment not supported",
		TMFResponseFunctionNotSupported:        "Task management function not supported",
		TMFResponseFunctionAuthorizationFailed: "Function authorization failed",
		TMFResponseFunctionSucceeded:           "Function succeeded",
		TMFResponseFunctionRejected:            "Function rejected",
		8:                                      "TaskManagementResponseCode(8)",
	})
}
