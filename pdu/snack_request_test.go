package pdu

import "testing"

func snackRequestSpec() viewSpec {
	v := (*BHS).SNACKRequest
	return viewSpec{
		op:       OpSNACKRequest,
		init:     func(h *BHS) { h.SNACKRequest().Init() },
		validate: func(h *BHS) error { return h.SNACKRequest().Validate() },
		fields: []accessor{
			u8Field(v, "Type", 4, (*SNACKRequest).Type, (*SNACKRequest).SetType),
			u64Field(v, "LUN", (*SNACKRequest).LUN, (*SNACKRequest).SetLUN),
			u32Field(v, "InitiatorTaskTag", (*SNACKRequest).InitiatorTaskTag, (*SNACKRequest).SetInitiatorTaskTag),
			u32Field(v, "TargetTransferTag", (*SNACKRequest).TargetTransferTag, (*SNACKRequest).SetTargetTransferTag),
			u32Field(v, "ExpStatSN", (*SNACKRequest).ExpStatSN, (*SNACKRequest).SetExpStatSN),
			u32Field(v, "BegRun", (*SNACKRequest).BegRun, (*SNACKRequest).SetBegRun),
			u32Field(v, "RunLength", (*SNACKRequest).RunLength, (*SNACKRequest).SetRunLength),
		},
		// RFC 7143 §11.16 figure: byte 0 has no I bit.
		reserved: rsv(field{0, 0xc0}, field{1, 0x70}, [2]int{2, 4}, [2]int{24, 28}, [2]int{32, 40}),
		// A Data/R2T SNACK for task 1 (RFC 7143 §11.16.4, §11.16.5).
		valid: func(h *BHS) {
			h.SNACKRequest().SetInitiatorTaskTag(1)
			h.SNACKRequest().SetTargetTransferTag(ReservedTag)
		},
	}
}

func TestSNACKRequestRoundTrip(t *testing.T) { testRoundTrip(t, snackRequestSpec()) }

func TestSNACKRequestValidate(t *testing.T) {
	s := snackRequestSpec()
	testValidateReserved(t, s)
	testValidateInvalid(t, s, []invalidCase{
		{"F clear", func(h *BHS) { h.SetFinal(false) }, 1, false},
		{"type 4", func(h *BHS) { h.SNACKRequest().SetType(4) }, 1, true},
		{"Status SNACK with an ITT", func(h *BHS) { h.SNACKRequest().SetType(SNACKStatus) }, 16, false},
		{"Status SNACK with a TTT", func(h *BHS) {
			h.SNACKRequest().SetType(SNACKStatus)
			h.SNACKRequest().SetInitiatorTaskTag(ReservedTag)
			h.SNACKRequest().SetTargetTransferTag(5)
		}, 20, false},
		{"Data/R2T SNACK with a TTT", func(h *BHS) { h.SNACKRequest().SetTargetTransferTag(5) }, 20, false},
		{"R-Data SNACK Tag 0", func(h *BHS) {
			h.SNACKRequest().SetType(SNACKRData)
			h.SNACKRequest().SetTargetTransferTag(0)
		}, 20, false},
		{"R-Data SNACK Tag 0xffffffff", func(h *BHS) { h.SNACKRequest().SetType(SNACKRData) }, 20, false},
		{"R-Data with BegRun", func(h *BHS) {
			h.SNACKRequest().SetType(SNACKRData)
			h.SNACKRequest().SetTargetTransferTag(9)
			h.SNACKRequest().SetBegRun(1)
		}, 40, false},
		{"DataACK with RunLength", func(h *BHS) {
			h.SNACKRequest().SetType(SNACKDataACK)
			h.SNACKRequest().SetInitiatorTaskTag(ReservedTag)
			h.SNACKRequest().SetRunLength(1)
		}, 44, false},
		{"DataACK with an Initiator Task Tag", func(h *BHS) {
			h.SNACKRequest().SetType(SNACKDataACK)
			h.SNACKRequest().SetInitiatorTaskTag(7)
		}, 16, false},
		{"R-Data with RunLength", func(h *BHS) {
			h.SNACKRequest().SetType(SNACKRData)
			h.SNACKRequest().SetTargetTransferTag(9)
			h.SNACKRequest().SetRunLength(3)
		}, 44, false},
	})
	valid := []func(*SNACKRequest){
		func(s *SNACKRequest) {
			s.SetType(SNACKStatus)
			s.SetInitiatorTaskTag(ReservedTag)
			s.SetBegRun(3)
			s.SetRunLength(2)
		},
		func(s *SNACKRequest) {
			s.SetType(SNACKDataACK)
			s.SetInitiatorTaskTag(ReservedTag)
			s.SetTargetTransferTag(0x42)
			s.SetBegRun(7)
		},
		func(s *SNACKRequest) {
			s.SetType(SNACKRData)
			s.SetTargetTransferTag(0x42)
		},
	}
	for i, set := range valid {
		var h BHS
		h.SNACKRequest().Init()
		h.SNACKRequest().SetInitiatorTaskTag(1)
		h.SNACKRequest().SetTargetTransferTag(ReservedTag)
		set(h.SNACKRequest())
		if err := h.Validate(); err != nil {
			t.Errorf("valid SNACK %d: %v", i, err)
		}
	}
}

func TestSNACKTypeString(t *testing.T) {
	testStrings(t, map[SNACKType]string{
		SNACKDataR2T: "Data/R2T", SNACKStatus: "Status", SNACKDataACK: "DataACK", SNACKRData: "R-Data",
		4: "SNACKType(4)",
	})
}
