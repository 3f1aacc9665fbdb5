package pdu

import "testing"

func logoutRequestSpec() viewSpec {
	v := (*BHS).LogoutRequest
	return viewSpec{
		op:       OpLogoutRequest,
		init:     func(h *BHS) { h.LogoutRequest().Init() },
		validate: func(h *BHS) error { return h.LogoutRequest().Validate() },
		fields: []accessor{
			boolField(v, "Immediate", (*LogoutRequest).Immediate, (*LogoutRequest).SetImmediate),
			u8Field(v, "ReasonCode", 7, (*LogoutRequest).ReasonCode, (*LogoutRequest).SetReasonCode),
			u32Field(v, "InitiatorTaskTag", (*LogoutRequest).InitiatorTaskTag, (*LogoutRequest).SetInitiatorTaskTag),
			u16Field(v, "CID", (*LogoutRequest).CID, (*LogoutRequest).SetCID),
			u32Field(v, "CmdSN", (*LogoutRequest).CmdSN, (*LogoutRequest).SetCmdSN),
			u32Field(v, "ExpStatSN", (*LogoutRequest).ExpStatSN, (*LogoutRequest).SetExpStatSN),
		},
		// RFC 7143 §11.14 figure.
		reserved: rsv(field{0, 0x80}, [2]int{2, 4}, [2]int{8, 16}, [2]int{22, 24}, [2]int{32, 48}),
	}
}

func TestLogoutRequestRoundTrip(t *testing.T) { testRoundTrip(t, logoutRequestSpec()) }

func TestLogoutRequestValidate(t *testing.T) {
	s := logoutRequestSpec()
	testValidateReserved(t, s)
	testValidateInvalid(t, s, []invalidCase{
		{"F clear", func(h *BHS) { h.SetFinal(false) }, 1, false},
		{"reason 3", func(h *BHS) { h.LogoutRequest().SetReasonCode(3) }, 1, true},
		{"AHS", func(h *BHS) { h.SetTotalAHSLength(1) }, 4, false},
		{"data", func(h *BHS) { h.SetDataSegmentLength(8) }, 4, false},
	})
}

func TestLogoutReasonString(t *testing.T) {
	testStrings(t, map[LogoutReason]string{
		LogoutCloseSession:                "close the session",
		LogoutCloseConnection:             "close the connection",
		LogoutRemoveConnectionForRecovery: "remove the connection for recovery",
		9:                                 "LogoutReason(9)",
	})
}
