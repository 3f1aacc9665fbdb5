package pdu

import "testing"

func textResponseSpec() viewSpec {
	v := (*BHS).TextResponse
	return viewSpec{
		op:       OpTextResponse,
		init:     func(h *BHS) { h.TextResponse().Init() },
		validate: func(h *BHS) error { return h.TextResponse().Validate() },
		fields: []accessor{
			boolField(v, "Final", (*TextResponse).Final, (*TextResponse).SetFinal),
			boolField(v, "Continue", (*TextResponse).Continue, (*TextResponse).SetContinue),
			u64Field(v, "LUN", (*TextResponse).LUN, (*TextResponse).SetLUN),
			u32Field(v, "InitiatorTaskTag", (*TextResponse).InitiatorTaskTag, (*TextResponse).SetInitiatorTaskTag),
			u32Field(v, "TargetTransferTag", (*TextResponse).TargetTransferTag, (*TextResponse).SetTargetTransferTag),
			u32Field(v, "StatSN", (*TextResponse).StatSN, (*TextResponse).SetStatSN),
			u32Field(v, "ExpCmdSN", (*TextResponse).ExpCmdSN, (*TextResponse).SetExpCmdSN),
			u32Field(v, "MaxCmdSN", (*TextResponse).MaxCmdSN, (*TextResponse).SetMaxCmdSN),
		},
		// RFC 7143 §11.11 figure.
		reserved: rsv(field{0, 0xc0}, field{1, 0x3f}, [2]int{2, 4}, [2]int{36, 48}),
	}
}

func TestTextResponseRoundTrip(t *testing.T) { testRoundTrip(t, textResponseSpec()) }

func TestTextResponseValidate(t *testing.T) {
	s := textResponseSpec()
	testValidateReserved(t, s)
	testValidateInvalid(t, s, []invalidCase{
		{"F and C", func(h *BHS) { h.TextResponse().SetFinal(true); h.TextResponse().SetContinue(true) }, 1, false},
	})
}
