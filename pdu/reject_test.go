package pdu

import "testing"

func rejectSpec() viewSpec {
	v := (*BHS).Reject
	return viewSpec{
		op:       OpReject,
		init:     func(h *BHS) { h.Reject().Init() },
		validate: func(h *BHS) error { return h.Reject().Validate() },
		fields: []accessor{
			u8Field(v, "Reason", 8, (*Reject).Reason, (*Reject).SetReason),
			u32Field(v, "StatSN", (*Reject).StatSN, (*Reject).SetStatSN),
			u32Field(v, "ExpCmdSN", (*Reject).ExpCmdSN, (*Reject).SetExpCmdSN),
			u32Field(v, "MaxCmdSN", (*Reject).MaxCmdSN, (*Reject).SetMaxCmdSN),
			u32Field(v, "DataSN", (*Reject).DataSN, (*Reject).SetDataSN),
		},
		// RFC 7143 §11.17 figure.
		reserved: rsv(field{0, 0xc0}, field{1, 0x7f}, field{3, 0xff}, [2]int{8, 16}, [2]int{20, 24}, [2]int{40, 48}),
	}
}

func TestRejectRoundTrip(t *testing.T) { testRoundTrip(t, rejectSpec()) }

func TestRejectValidate(t *testing.T) {
	s := rejectSpec()
	testValidateReserved(t, s)
	testValidateInvalid(t, s, []invalidCase{
		{"F clear", func(h *BHS) { h.SetFinal(false) }, 1, false},
		{"ITT not 0xffffffff", func(h *BHS) { h.SetInitiatorTaskTag(0) }, 16, false},
	})
}

func TestRejectReasonString(t *testing.T) {
	testStrings(t, map[RejectReason]string{
		RejectReserved:               "Reserved",
		RejectDataDigestError:        "Data (payload) Digest Error",
		RejectSNACKReject:            "SNACK Reject",
		RejectProtocolError:          "Protocol Error",
		RejectCommandNotSupported:    "Command not supported",
		RejectImmediateCommandReject: "Immediate command reject - too many immediate commands",
		RejectTaskInProgress:         "Task in progress",
		RejectInvalidDataAck:         "Invalid data ack",
		RejectInvalidPDUField:        "Invalid PDU field",
		RejectLongOperationReject:    "Long op reject - Can't generate Target Transfer Tag - out of resources",
		RejectDeprecated:             "Deprecated; MUST NOT be used",
		RejectWaitingForLogout:       "Waiting for Logout",
		0x0d:                         "RejectReason(0xd)",
	})
}
