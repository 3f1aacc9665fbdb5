package pdu

import "testing"

func logoutResponseSpec() viewSpec {
	v := (*BHS).LogoutResponse
	return viewSpec{
		op:       OpLogoutResponse,
		init:     func(h *BHS) { h.LogoutResponse().Init() },
		validate: func(h *BHS) error { return h.LogoutResponse().Validate() },
		fields: []accessor{
			u8Field(v, "Response", 8, (*LogoutResponse).Response, (*LogoutResponse).SetResponse),
			u32Field(v, "InitiatorTaskTag", (*LogoutResponse).InitiatorTaskTag, (*LogoutResponse).SetInitiatorTaskTag),
			u32Field(v, "StatSN", (*LogoutResponse).StatSN, (*LogoutResponse).SetStatSN),
			u32Field(v, "ExpCmdSN", (*LogoutResponse).ExpCmdSN, (*LogoutResponse).SetExpCmdSN),
			u32Field(v, "MaxCmdSN", (*LogoutResponse).MaxCmdSN, (*LogoutResponse).SetMaxCmdSN),
			u16Field(v, "Time2Wait", (*LogoutResponse).Time2Wait, (*LogoutResponse).SetTime2Wait),
			u16Field(v, "Time2Retain", (*LogoutResponse).Time2Retain, (*LogoutResponse).SetTime2Retain),
		},
		// RFC 7143 §11.15 figure.
		reserved: rsv(field{0, 0xc0}, field{1, 0x7f}, field{3, 0xff}, [2]int{8, 16}, [2]int{20, 24}, [2]int{36, 40}, [2]int{44, 48}),
	}
}

func TestLogoutResponseRoundTrip(t *testing.T) { testRoundTrip(t, logoutResponseSpec()) }

func TestLogoutResponseValidate(t *testing.T) {
	s := logoutResponseSpec()
	testValidateReserved(t, s)
	testValidateInvalid(t, s, []invalidCase{
		{"F clear", func(h *BHS) { h.SetFinal(false) }, 1, false},
		{"response 4", func(h *BHS) { h.LogoutResponse().SetResponse(4) }, 2, true},
		{"AHS", func(h *BHS) { h.SetTotalAHSLength(1) }, 4, false},
		{"data", func(h *BHS) { h.SetDataSegmentLength(8) }, 4, false},
	})
}

func TestLogoutResponseCodeString(t *testing.T) {
	testStrings(t, map[LogoutResponseCode]string{
		LogoutClosedSuccessfully:   "connection or session closed successfully",
		LogoutCIDNotFound:          "CID not found",
		LogoutRecoveryNotSupported: "connection recovery is not supported",
		LogoutCleanupFailed:        "cleanup failed for various reasons",
		4:                          "LogoutResponseCode(4)",
	})
}
