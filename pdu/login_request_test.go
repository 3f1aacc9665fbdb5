package pdu

import "testing"

func loginRequestSpec() viewSpec {
	v := (*BHS).LoginRequest
	return viewSpec{
		op:       OpLoginRequest,
		init:     func(h *BHS) { h.LoginRequest().Init() },
		validate: func(h *BHS) error { return h.LoginRequest().Validate() },
		fields: []accessor{
			boolField(v, "Transit", (*LoginRequest).Transit, (*LoginRequest).SetTransit),
			boolField(v, "Continue", (*LoginRequest).Continue, (*LoginRequest).SetContinue),
			u8Field(v, "CSG", 2, (*LoginRequest).CSG, (*LoginRequest).SetCSG),
			u8Field(v, "NSG", 2, (*LoginRequest).NSG, (*LoginRequest).SetNSG),
			u8Field(v, "VersionMax", 8, (*LoginRequest).VersionMax, (*LoginRequest).SetVersionMax),
			u8Field(v, "VersionMin", 8, (*LoginRequest).VersionMin, (*LoginRequest).SetVersionMin),
			isidField(v, (*LoginRequest).ISID, (*LoginRequest).SetISID),
			u16Field(v, "TSIH", (*LoginRequest).TSIH, (*LoginRequest).SetTSIH),
			u32Field(v, "InitiatorTaskTag", (*LoginRequest).InitiatorTaskTag, (*LoginRequest).SetInitiatorTaskTag),
			u16Field(v, "CID", (*LoginRequest).CID, (*LoginRequest).SetCID),
			u32Field(v, "CmdSN", (*LoginRequest).CmdSN, (*LoginRequest).SetCmdSN),
			u32Field(v, "ExpStatSN", (*LoginRequest).ExpStatSN, (*LoginRequest).SetExpStatSN),
		},
		// RFC 7143 §11.12 figure.
		reserved: rsv(field{0, 0x80}, field{1, 0x30}, [2]int{22, 24}, [2]int{32, 48}),
	}
}

func TestLoginRequestRoundTrip(t *testing.T) { testRoundTrip(t, loginRequestSpec()) }

func TestLoginRequestValidate(t *testing.T) {
	s := loginRequestSpec()
	testValidateReserved(t, s)
	testValidateInvalid(t, s, []invalidCase{
		{"I bit clear", func(h *BHS) { h.SetImmediate(false) }, 0, false},
		{"T and C", func(h *BHS) { h.LoginRequest().SetTransit(true); h.LoginRequest().SetContinue(true) }, 1, false},
		{"CSG 2", func(h *BHS) { h.LoginRequest().SetCSG(2) }, 1, true},
		{"NSG 2 with T", func(h *BHS) { h.LoginRequest().SetTransit(true); h.LoginRequest().SetNSG(2) }, 1, true},
	})
	// NSG is not examined while T is 0 (RFC 7143 §11.12.3).
	var h BHS
	h.LoginRequest().Init()
	h.LoginRequest().SetNSG(2)
	if err := h.Validate(); err != nil {
		t.Errorf("NSG 2 without T: Validate = %v, want nil", err)
	}
}

func TestLoginRequestLayout(t *testing.T) {
	// Bytes of a leading Login Request as RFC 7143 §11.12 lays them out.
	var h BHS
	p := h.LoginRequest()
	p.Init()
	p.SetTransit(true)
	p.SetCSG(SecurityNegotiation)
	p.SetNSG(LoginOperationalNegotiation)
	p.SetVersionMax(0)
	p.SetISID(NewISID(ISIDOUI, 0x01, 0x0203, 0x04, 0x0506))
	p.SetTSIH(0x0708)
	p.SetInitiatorTaskTag(0x090a0b0c)
	p.SetCID(0x0d0e)
	p.SetCmdSN(0x11121314)
	p.SetExpStatSN(0x15161718)
	want := BHS{
		0x43, 0x81, 0, 0, 0, 0, 0, 0,
		0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08,
		0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0, 0,
		0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17, 0x18,
	}
	if h != want {
		t.Fatalf("header\n got % x\nwant % x", h[:], want[:])
	}
}

func TestStageString(t *testing.T) {
	testStrings(t, map[Stage]string{
		SecurityNegotiation:         "SecurityNegotiation",
		LoginOperationalNegotiation: "LoginOperationalNegotiation",
		FullFeaturePhase:            "FullFeaturePhase",
		2:                           "Stage(2)",
	})
}
