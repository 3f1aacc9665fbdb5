package pdu

import "testing"

func nopInSpec() viewSpec {
	v := (*BHS).NOPIn
	return viewSpec{
		op:       OpNOPIn,
		init:     func(h *BHS) { h.NOPIn().Init() },
		validate: func(h *BHS) error { return h.NOPIn().Validate() },
		fields: []accessor{
			u64Field(v, "LUN", (*NOPIn).LUN, (*NOPIn).SetLUN),
			u32Field(v, "InitiatorTaskTag", (*NOPIn).InitiatorTaskTag, (*NOPIn).SetInitiatorTaskTag),
			u32Field(v, "TargetTransferTag", (*NOPIn).TargetTransferTag, (*NOPIn).SetTargetTransferTag),
			u32Field(v, "StatSN", (*NOPIn).StatSN, (*NOPIn).SetStatSN),
			u32Field(v, "ExpCmdSN", (*NOPIn).ExpCmdSN, (*NOPIn).SetExpCmdSN),
			u32Field(v, "MaxCmdSN", (*NOPIn).MaxCmdSN, (*NOPIn).SetMaxCmdSN),
		},
		// RFC 7143 §11.19 figure.
		reserved: rsv(field{0, 0xc0}, field{1, 0x7f}, [2]int{2, 4}, [2]int{36, 48}),
		// A target ping: no ITT (RFC 7143 §11.19.1).
		valid: func(h *BHS) { h.NOPIn().SetInitiatorTaskTag(ReservedTag) },
	}
}

func TestNOPInRoundTrip(t *testing.T) { testRoundTrip(t, nopInSpec()) }

func TestNOPInValidate(t *testing.T) {
	s := nopInSpec()
	testValidateReserved(t, s)
	testValidateInvalid(t, s, []invalidCase{
		{"F clear", func(h *BHS) { h.SetFinal(false) }, 1, false},
		{"ITT and TTT", func(h *BHS) { h.NOPIn().SetInitiatorTaskTag(1); h.NOPIn().SetTargetTransferTag(2) }, 20, false},
	})
}
