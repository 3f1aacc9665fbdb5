package pdu

import "testing"

func textRequestSpec() viewSpec {
	v := (*BHS).TextRequest
	return viewSpec{
		op:       OpTextRequest,
		init:     func(h *BHS) { h.TextRequest().Init() },
		validate: func(h *BHS) error { return h.TextRequest().Validate() },
		fields: []accessor{
			boolField(v, "Immediate", (*TextRequest).Immediate, (*TextRequest).SetImmediate),
			boolField(v, "Final", (*TextRequest).Final, (*TextRequest).SetFinal),
			boolField(v, "Continue", (*TextRequest).Continue, (*TextRequest).SetContinue),
			u64Field(v, "LUN", (*TextRequest).LUN, (*TextRequest).SetLUN),
			u32Field(v, "InitiatorTaskTag", (*TextRequest).InitiatorTaskTag, (*TextRequest).SetInitiatorTaskTag),
			u32Field(v, "TargetTransferTag", (*TextRequest).TargetTransferTag, (*TextRequest).SetTargetTransferTag),
			u32Field(v, "CmdSN", (*TextRequest).CmdSN, (*TextRequest).SetCmdSN),
			u32Field(v, "ExpStatSN", (*TextRequest).ExpStatSN, (*TextRequest).SetExpStatSN),
		},
		// RFC 7143 §11.10 figure.
		reserved: rsv(field{0, 0x80}, field{1, 0x3f}, [2]int{2, 4}, [2]int{32, 48}),
	}
}

func TestTextRequestRoundTrip(t *testing.T) { testRoundTrip(t, textRequestSpec()) }

func TestTextRequestValidate(t *testing.T) {
	s := textRequestSpec()
	testValidateReserved(t, s)
	testValidateInvalid(t, s, []invalidCase{
		{"F and C", func(h *BHS) { h.TextRequest().SetFinal(true); h.TextRequest().SetContinue(true) }, 1, false},
	})
}
