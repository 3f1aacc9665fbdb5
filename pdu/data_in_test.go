package pdu

import "testing"

func dataInSpec() viewSpec {
	v := (*BHS).DataIn
	return viewSpec{
		op:       OpSCSIDataIn,
		init:     func(h *BHS) { h.DataIn().Init() },
		validate: func(h *BHS) error { return h.DataIn().Validate() },
		fields: []accessor{
			boolField(v, "Final", (*DataIn).Final, (*DataIn).SetFinal),
			boolField(v, "Acknowledge", (*DataIn).Acknowledge, (*DataIn).SetAcknowledge),
			boolField(v, "ResidualOverflow", (*DataIn).ResidualOverflow, (*DataIn).SetResidualOverflow),
			boolField(v, "ResidualUnderflow", (*DataIn).ResidualUnderflow, (*DataIn).SetResidualUnderflow),
			boolField(v, "StatusPresent", (*DataIn).StatusPresent, (*DataIn).SetStatusPresent),
			u8Field(v, "Status", 8, (*DataIn).Status, (*DataIn).SetStatus),
			u64Field(v, "LUN", (*DataIn).LUN, (*DataIn).SetLUN),
			u32Field(v, "InitiatorTaskTag", (*DataIn).InitiatorTaskTag, (*DataIn).SetInitiatorTaskTag),
			u32Field(v, "TargetTransferTag", (*DataIn).TargetTransferTag, (*DataIn).SetTargetTransferTag),
			u32Field(v, "StatSN", (*DataIn).StatSN, (*DataIn).SetStatSN),
			u32Field(v, "ExpCmdSN", (*DataIn).ExpCmdSN, (*DataIn).SetExpCmdSN),
			u32Field(v, "MaxCmdSN", (*DataIn).MaxCmdSN, (*DataIn).SetMaxCmdSN),
			u32Field(v, "DataSN", (*DataIn).DataSN, (*DataIn).SetDataSN),
			u32Field(v, "BufferOffset", (*DataIn).BufferOffset, (*DataIn).SetBufferOffset),
			u32Field(v, "ResidualCount", (*DataIn).ResidualCount, (*DataIn).SetResidualCount),
		},
		// RFC 7143 §11.7 figure (Data-In).
		reserved: rsv(field{0, 0xc0}, field{1, 0x38}, field{2, 0xff}),
		valid:    func(h *BHS) { h.DataIn().SetFinal(true) },
	}
}

func TestDataInRoundTrip(t *testing.T) { testRoundTrip(t, dataInSpec()) }

func TestDataInValidate(t *testing.T) {
	s := dataInSpec()
	testValidateReserved(t, s)
	testValidateInvalid(t, s, []invalidCase{
		{"S without F", func(h *BHS) { h.DataIn().SetFinal(false); h.DataIn().SetStatusPresent(true) }, 1, false},
		{"O and U", func(h *BHS) {
			h.DataIn().SetStatusPresent(true)
			h.DataIn().SetResidualOverflow(true)
			h.DataIn().SetResidualUnderflow(true)
		}, 1, true},
	})
}
