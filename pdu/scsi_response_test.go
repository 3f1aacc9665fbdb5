package pdu

import "testing"

func scsiResponseSpec() viewSpec {
	v := (*BHS).SCSIResponse
	return viewSpec{
		op:       OpSCSIResponse,
		init:     func(h *BHS) { h.SCSIResponse().Init() },
		validate: func(h *BHS) error { return h.SCSIResponse().Validate() },
		fields: []accessor{
			boolField(v, "BidirectionalReadResidualOverflow", (*SCSIResponse).BidirectionalReadResidualOverflow, (*SCSIResponse).SetBidirectionalReadResidualOverflow),
			boolField(v, "BidirectionalReadResidualUnderflow", (*SCSIResponse).BidirectionalReadResidualUnderflow, (*SCSIResponse).SetBidirectionalReadResidualUnderflow),
			boolField(v, "ResidualOverflow", (*SCSIResponse).ResidualOverflow, (*SCSIResponse).SetResidualOverflow),
			boolField(v, "ResidualUnderflow", (*SCSIResponse).ResidualUnderflow, (*SCSIResponse).SetResidualUnderflow),
			u8Field(v, "Response", 8, (*SCSIResponse).Response, (*SCSIResponse).SetResponse),
			u8Field(v, "Status", 8, (*SCSIResponse).Status, (*SCSIResponse).SetStatus),
			u32Field(v, "InitiatorTaskTag", (*SCSIResponse).InitiatorTaskTag, (*SCSIResponse).SetInitiatorTaskTag),
			u32Field(v, "SNACKTag", (*SCSIResponse).SNACKTag, (*SCSIResponse).SetSNACKTag),
			u32Field(v, "StatSN", (*SCSIResponse).StatSN, (*SCSIResponse).SetStatSN),
			u32Field(v, "ExpCmdSN", (*SCSIResponse).ExpCmdSN, (*SCSIResponse).SetExpCmdSN),
			u32Field(v, "MaxCmdSN", (*SCSIResponse).MaxCmdSN, (*SCSIResponse).SetMaxCmdSN),
			u32Field(v, "ExpDataSN", (*SCSIResponse).ExpDataSN, (*SCSIResponse).SetExpDataSN),
			u32Field(v, "BidirectionalReadResidualCount", (*SCSIResponse).BidirectionalReadResidualCount, (*SCSIResponse).SetBidirectionalReadResidualCount),
			u32Field(v, "ResidualCount", (*SCSIResponse).ResidualCount, (*SCSIResponse).SetResidualCount),
		},
		// RFC 7143 §11.4 figure.
		reserved: rsv(field{0, 0xc0}, field{1, 0x61}, [2]int{8, 16}),
	}
}

func TestSCSIResponseRoundTrip(t *testing.T) { testRoundTrip(t, scsiResponseSpec()) }

func TestSCSIResponseValidate(t *testing.T) {
	s := scsiResponseSpec()
	testValidateReserved(t, s)
	testValidateInvalid(t, s, []invalidCase{
		{"F clear", func(h *BHS) { h.SetFinal(false) }, 1, false},
		{"o and u", func(h *BHS) {
			h.SCSIResponse().SetBidirectionalReadResidualOverflow(true)
			h.SCSIResponse().SetBidirectionalReadResidualUnderflow(true)
		}, 1, true},
		{"O and U", func(h *BHS) {
			h.SCSIResponse().SetResidualOverflow(true)
			h.SCSIResponse().SetResidualUnderflow(true)
		}, 1, true},
		{"reserved response 0x02", func(h *BHS) { h.SCSIResponse().SetResponse(2) }, 2, true},
		{"reserved response 0x7f", func(h *BHS) { h.SCSIResponse().SetResponse(0x7f) }, 2, true},
	})
	var h BHS
	h.SCSIResponse().Init()
	h.SCSIResponse().SetResponse(0x80)
	if err := h.Validate(); err != nil {
		t.Errorf("vendor-specific response 0x80: %v", err)
	}
}

func TestResponseCodeString(t *testing.T) {
	testStrings(t, map[ResponseCode]string{
		ResponseCommandCompleted: "Command Completed at Target",
		ResponseTargetFailure:    "Target Failure",
		0x80:                     "VendorSpecific(0x80)",
		0x02:                     "ResponseCode(0x2)",
	})
}
