package pdu

import "testing"

func r2tSpec() viewSpec {
	v := (*BHS).R2T
	return viewSpec{
		op:       OpR2T,
		init:     func(h *BHS) { h.R2T().Init() },
		validate: func(h *BHS) error { return h.R2T().Validate() },
		fields: []accessor{
			u64Field(v, "LUN", (*R2T).LUN, (*R2T).SetLUN),
			u32Field(v, "InitiatorTaskTag", (*R2T).InitiatorTaskTag, (*R2T).SetInitiatorTaskTag),
			u32Field(v, "TargetTransferTag", (*R2T).TargetTransferTag, (*R2T).SetTargetTransferTag),
			u32Field(v, "StatSN", (*R2T).StatSN, (*R2T).SetStatSN),
			u32Field(v, "ExpCmdSN", (*R2T).ExpCmdSN, (*R2T).SetExpCmdSN),
			u32Field(v, "MaxCmdSN", (*R2T).MaxCmdSN, (*R2T).SetMaxCmdSN),
			u32Field(v, "R2TSN", (*R2T).R2TSN, (*R2T).SetR2TSN),
			u32Field(v, "BufferOffset", (*R2T).BufferOffset, (*R2T).SetBufferOffset),
			u32Field(v, "DesiredDataTransferLength", (*R2T).DesiredDataTransferLength, (*R2T).SetDesiredDataTransferLength),
		},
		// RFC 7143 §11.8 figure.
		reserved: rsv(field{0, 0xc0}, field{1, 0x7f}, [2]int{2, 4}),
		valid:    func(h *BHS) { h.R2T().SetDesiredDataTransferLength(65536) },
	}
}

func TestR2TRoundTrip(t *testing.T) { testRoundTrip(t, r2tSpec()) }

func TestR2TValidate(t *testing.T) {
	s := r2tSpec()
	testValidateReserved(t, s)
	testValidateInvalid(t, s, []invalidCase{
		{"F clear", func(h *BHS) { h.SetFinal(false) }, 1, false},
		{"AHS", func(h *BHS) { h.SetTotalAHSLength(1) }, 4, false},
		{"data", func(h *BHS) { h.SetDataSegmentLength(8) }, 4, false},
		{"zero length", func(h *BHS) { h.R2T().SetDesiredDataTransferLength(0) }, 44, false},
		{"reserved TTT", func(h *BHS) { h.R2T().SetTargetTransferTag(ReservedTag) }, 20, false},
	})
}
