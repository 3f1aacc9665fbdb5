package pdu

import "testing"

func loginResponseSpec() viewSpec {
	v := (*BHS).LoginResponse
	return viewSpec{
		op:       OpLoginResponse,
		init:     func(h *BHS) { h.LoginResponse().Init() },
		validate: func(h *BHS) error { return h.LoginResponse().Validate() },
		fields: []accessor{
			boolField(v, "Transit", (*LoginResponse).Transit, (*LoginResponse).SetTransit),
			boolField(v, "Continue", (*LoginResponse).Continue, (*LoginResponse).SetContinue),
			u8Field(v, "CSG", 2, (*LoginResponse).CSG, (*LoginResponse).SetCSG),
			u8Field(v, "NSG", 2, (*LoginResponse).NSG, (*LoginResponse).SetNSG),
			u8Field(v, "VersionMax", 8, (*LoginResponse).VersionMax, (*LoginResponse).SetVersionMax),
			u8Field(v, "VersionActive", 8, (*LoginResponse).VersionActive, (*LoginResponse).SetVersionActive),
			isidField(v, (*LoginResponse).ISID, (*LoginResponse).SetISID),
			u16Field(v, "TSIH", (*LoginResponse).TSIH, (*LoginResponse).SetTSIH),
			u32Field(v, "InitiatorTaskTag", (*LoginResponse).InitiatorTaskTag, (*LoginResponse).SetInitiatorTaskTag),
			u32Field(v, "StatSN", (*LoginResponse).StatSN, (*LoginResponse).SetStatSN),
			u32Field(v, "ExpCmdSN", (*LoginResponse).ExpCmdSN, (*LoginResponse).SetExpCmdSN),
			u32Field(v, "MaxCmdSN", (*LoginResponse).MaxCmdSN, (*LoginResponse).SetMaxCmdSN),
			u8Field(v, "StatusClass", 8, (*LoginResponse).StatusClass, (*LoginResponse).SetStatusClass),
			u8Field(v, "StatusDetail", 8, (*LoginResponse).StatusDetail, (*LoginResponse).SetStatusDetail),
		},
		// RFC 7143 §11.13 figure.
		reserved: rsv(field{0, 0xc0}, field{1, 0x30}, [2]int{20, 24}, [2]int{38, 48}),
	}
}

func TestLoginResponseRoundTrip(t *testing.T) { testRoundTrip(t, loginResponseSpec()) }

func TestLoginResponseValidate(t *testing.T) {
	s := loginResponseSpec()
	testValidateReserved(t, s)
	testValidateInvalid(t, s, []invalidCase{
		{"T and C", func(h *BHS) { h.LoginResponse().SetTransit(true); h.LoginResponse().SetContinue(true) }, 1, false},
		{"CSG 2", func(h *BHS) { h.LoginResponse().SetCSG(2) }, 1, true},
		{"NSG 2 with T", func(h *BHS) { h.LoginResponse().SetTransit(true); h.LoginResponse().SetNSG(2) }, 1, true},
	})
}

func TestLoginResponseStatus(t *testing.T) {
	var h BHS
	p := h.LoginResponse()
	p.Init()
	p.SetStatus(LoginAuthenticationFailure)
	if p.StatusClass() != StatusClassInitiatorError || p.StatusDetail() != 0x01 || h[36] != 0x02 || h[37] != 0x01 {
		t.Fatalf("SetStatus(0x0201): class %v detail %v, bytes % x", p.StatusClass(), p.StatusDetail(), h[36:38])
	}
	p.SetStatusClass(StatusClassTargetError)
	p.SetStatusDetail(2)
	if p.Status() != LoginOutOfResources || NewLoginStatus(3, 2) != LoginOutOfResources {
		t.Fatalf("Status = %v, want Out of resources", p.Status())
	}
	if s := LoginStatus(0x0203); s.Class() != StatusClassInitiatorError || s.Detail() != 3 {
		t.Fatalf("0x0203: class %v detail %v", s.Class(), s.Detail())
	}
}

func TestLoginStatusString(t *testing.T) {
	testStrings(t, map[LoginStatus]string{
		LoginSuccess:                 "Success",
		LoginTargetMovedTemporarily:  "Target moved temporarily",
		LoginTargetMovedPermanently:  "Target moved permanently",
		LoginInitiatorError:          "Initiator error",
		LoginAuthenticationFailure:   "Authentication failure",
		LoginAuthorizationFailure:    "Authorization failure",
		LoginNotFound:                "Not found",
		LoginTargetRemoved:           "Target removed",
		LoginUnsupportedVersion:      "Unsupported version",
		LoginTooManyConnections:      "Too many connections",
		LoginMissingParameter:        "Missing parameter",
		LoginCantIncludeInSession:    "Can't include in session",
		LoginSessionTypeNotSupported: "Session type not supported",
		LoginSessionDoesNotExist:     "Session does not exist",
		LoginInvalidDuringLogin:      "Invalid during login",
		LoginTargetError:             "Target error",
		LoginServiceUnavailable:      "Service unavailable",
		LoginOutOfResources:          "Out of resources",
		0x020c:                       "Initiator Error 0x020c",
		0x0400:                       "StatusClass(0x4) 0x0400",
	})
	testStrings(t, map[StatusClass]string{
		StatusClassSuccess:        "Success",
		StatusClassRedirection:    "Redirection",
		StatusClassInitiatorError: "Initiator Error",
		StatusClassTargetError:    "Target Error",
	})
	testStrings(t, map[StatusDetail]string{0x0b: "0xb"})
}
