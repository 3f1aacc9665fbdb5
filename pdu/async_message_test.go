package pdu

import "testing"

func asyncMessageSpec() viewSpec {
	v := (*BHS).AsyncMessage
	return viewSpec{
		op:       OpAsyncMessage,
		init:     func(h *BHS) { h.AsyncMessage().Init() },
		validate: func(h *BHS) error { return h.AsyncMessage().Validate() },
		fields: []accessor{
			u64Field(v, "LUN", (*AsyncMessage).LUN, (*AsyncMessage).SetLUN),
			u32Field(v, "StatSN", (*AsyncMessage).StatSN, (*AsyncMessage).SetStatSN),
			u32Field(v, "ExpCmdSN", (*AsyncMessage).ExpCmdSN, (*AsyncMessage).SetExpCmdSN),
			u32Field(v, "MaxCmdSN", (*AsyncMessage).MaxCmdSN, (*AsyncMessage).SetMaxCmdSN),
			u8Field(v, "AsyncEvent", 8, (*AsyncMessage).AsyncEvent, (*AsyncMessage).SetAsyncEvent),
			u8Field(v, "AsyncVCode", 8, (*AsyncMessage).AsyncVCode, (*AsyncMessage).SetAsyncVCode),
			u16Field(v, "Parameter1", (*AsyncMessage).Parameter1, (*AsyncMessage).SetParameter1),
			u16Field(v, "Parameter2", (*AsyncMessage).Parameter2, (*AsyncMessage).SetParameter2),
			u16Field(v, "Parameter3", (*AsyncMessage).Parameter3, (*AsyncMessage).SetParameter3),
		},
		// RFC 7143 §11.9 figure.
		reserved: rsv(field{0, 0xc0}, field{1, 0x7f}, [2]int{2, 4}, [2]int{20, 24}, [2]int{44, 48}),
	}
}

func TestAsyncMessageRoundTrip(t *testing.T) { testRoundTrip(t, asyncMessageSpec()) }

func TestAsyncMessageValidate(t *testing.T) {
	s := asyncMessageSpec()
	testValidateReserved(t, s)
	testValidateInvalid(t, s, []invalidCase{
		{"F clear", func(h *BHS) { h.SetFinal(false) }, 1, false},
		{"ITT not 0xffffffff", func(h *BHS) { h.SetInitiatorTaskTag(7) }, 16, false},
	})
}

func TestAsyncEventString(t *testing.T) {
	testStrings(t, map[AsyncEvent]string{
		AsyncSCSIEvent:             "SCSI asynchronous event",
		AsyncLogoutRequested:       "target requests logout",
		AsyncConnectionDropped:     "target will drop the connection",
		AsyncAllConnectionsDropped: "target will drop all connections",
		AsyncNegotiationRequested:  "target requests parameter negotiation",
		AsyncVendorSpecific:        "vendor-specific iSCSI event",
		AsyncTaskTermination:       "task termination",
		6:                          "AsyncEvent(6)",
		247:                        "AsyncEvent(247)",
		248:                        "vendor-specific iSCSI event",
	})
}
