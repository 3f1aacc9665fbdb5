package pdu

import "testing"

func dataOutSpec() viewSpec {
	v := (*BHS).DataOut
	return viewSpec{
		op:       OpSCSIDataOut,
		init:     func(h *BHS) { h.DataOut().Init() },
		validate: func(h *BHS) error { return h.DataOut().Validate() },
		fields: []accessor{
			boolField(v, "Final", (*DataOut).Final, (*DataOut).SetFinal),
			u64Field(v, "LUN", (*DataOut).LUN, (*DataOut).SetLUN),
			u32Field(v, "InitiatorTaskTag", (*DataOut).InitiatorTaskTag, (*DataOut).SetInitiatorTaskTag),
			u32Field(v, "TargetTransferTag", (*DataOut).TargetTransferTag, (*DataOut).SetTargetTransferTag),
			u32Field(v, "ExpStatSN", (*DataOut).ExpStatSN, (*DataOut).SetExpStatSN),
			u32Field(v, "DataSN", (*DataOut).DataSN, (*DataOut).SetDataSN),
			u32Field(v, "BufferOffset", (*DataOut).BufferOffset, (*DataOut).SetBufferOffset),
		},
		// RFC 7143 §11.7 figure (Data-Out): byte 0 has no I bit.
		reserved: rsv(field{0, 0xc0}, field{1, 0x7f}, [2]int{2, 4}, [2]int{24, 28}, [2]int{32, 36}, [2]int{44, 48}),
	}
}

func TestDataOutRoundTrip(t *testing.T) { testRoundTrip(t, dataOutSpec()) }

func TestDataOutValidate(t *testing.T) {
	s := dataOutSpec()
	testValidateReserved(t, s)
	testValidateInvalid(t, s, nil)
}
