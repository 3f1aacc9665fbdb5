package pdu

import "testing"

func nopOutSpec() viewSpec {
	v := (*BHS).NOPOut
	return viewSpec{
		op:       OpNOPOut,
		init:     func(h *BHS) { h.NOPOut().Init() },
		validate: func(h *BHS) error { return h.NOPOut().Validate() },
		fields: []accessor{
			boolField(v, "Immediate", (*NOPOut).Immediate, (*NOPOut).SetImmediate),
			u64Field(v, "LUN", (*NOPOut).LUN, (*NOPOut).SetLUN),
			u32Field(v, "InitiatorTaskTag", (*NOPOut).InitiatorTaskTag, (*NOPOut).SetInitiatorTaskTag),
			u32Field(v, "TargetTransferTag", (*NOPOut).TargetTransferTag, (*NOPOut).SetTargetTransferTag),
			u32Field(v, "CmdSN", (*NOPOut).CmdSN, (*NOPOut).SetCmdSN),
			u32Field(v, "ExpStatSN", (*NOPOut).ExpStatSN, (*NOPOut).SetExpStatSN),
		},
		// RFC 7143 §11.18 figure.
		reserved: rsv(field{0, 0x80}, field{1, 0x7f}, [2]int{2, 4}, [2]int{32, 48}),
		// A ping: a valid ITT, no TTT (RFC 7143 §11.18.2).
		valid: func(h *BHS) { h.NOPOut().SetTargetTransferTag(ReservedTag) },
	}
}

func TestNOPOutRoundTrip(t *testing.T) { testRoundTrip(t, nopOutSpec()) }

func TestNOPOutValidate(t *testing.T) {
	s := nopOutSpec()
	testValidateReserved(t, s)
	testValidateInvalid(t, s, []invalidCase{
		{"F clear", func(h *BHS) { h.SetFinal(false) }, 1, false},
		{"ITT and TTT", func(h *BHS) { h.NOPOut().SetInitiatorTaskTag(1); h.NOPOut().SetTargetTransferTag(2) }, 20, false},
	})
}
