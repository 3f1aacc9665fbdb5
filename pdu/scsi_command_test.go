package pdu

import (
	"bytes"
	"errors"
	"testing"
)

func scsiCommandSpec() viewSpec {
	v := (*BHS).SCSICommand
	return viewSpec{
		op:       OpSCSICommand,
		init:     func(h *BHS) { h.SCSICommand().Init() },
		validate: func(h *BHS) error { return h.SCSICommand().Validate() },
		fields: []accessor{
			boolField(v, "Immediate", (*SCSICommand).Immediate, (*SCSICommand).SetImmediate),
			boolField(v, "Final", (*SCSICommand).Final, (*SCSICommand).SetFinal),
			boolField(v, "Read", (*SCSICommand).Read, (*SCSICommand).SetRead),
			boolField(v, "Write", (*SCSICommand).Write, (*SCSICommand).SetWrite),
			u8Field(v, "Attributes", 3, (*SCSICommand).Attributes, (*SCSICommand).SetAttributes),
			u64Field(v, "LUN", (*SCSICommand).LUN, (*SCSICommand).SetLUN),
			u32Field(v, "InitiatorTaskTag", (*SCSICommand).InitiatorTaskTag, (*SCSICommand).SetInitiatorTaskTag),
			u32Field(v, "ExpectedDataTransferLength", (*SCSICommand).ExpectedDataTransferLength, (*SCSICommand).SetExpectedDataTransferLength),
			u32Field(v, "CmdSN", (*SCSICommand).CmdSN, (*SCSICommand).SetCmdSN),
			u32Field(v, "ExpStatSN", (*SCSICommand).ExpStatSN, (*SCSICommand).SetExpStatSN),
			{"CDB", 16,
				func(h *BHS) uint64 { return uint64(h.SCSICommand().CDB()[0])<<8 | uint64(h.SCSICommand().CDB()[15]) },
				func(h *BHS, x uint64) {
					cdb := bytes.Clone(h.SCSICommand().CDB())
					cdb[0], cdb[15] = byte(x>>8), byte(x)
					h.SCSICommand().SetCDB(cdb)
				}},
		},
		// RFC 7143 §11.3 figure.
		reserved: rsv(field{0, 0x80}, field{1, 0x18}, [2]int{2, 4}),
		valid:    func(h *BHS) { h.SCSICommand().SetFinal(true) },
	}
}

func TestSCSICommandRoundTrip(t *testing.T) { testRoundTrip(t, scsiCommandSpec()) }

func TestSCSICommandValidate(t *testing.T) {
	s := scsiCommandSpec()
	testValidateReserved(t, s)
	testValidateInvalid(t, s, []invalidCase{
		{"W and F clear", func(h *BHS) { h.SCSICommand().SetFinal(false) }, 1, false},
		{"ATTR 5", func(h *BHS) { h.SCSICommand().SetAttributes(5) }, 1, true},
		{"ATTR 7", func(h *BHS) { h.SCSICommand().SetAttributes(7) }, 1, true},
		{"length without R or W", func(h *BHS) { h.SCSICommand().SetExpectedDataTransferLength(512) }, 20, false},
	})
	// R or W with a length of 0 is allowed (RFC 7143 §11.3.1).
	var rw BHS
	rw.SCSICommand().Init()
	rw.SCSICommand().SetFinal(true)
	rw.SCSICommand().SetRead(true)
	if err := rw.Validate(); err != nil {
		t.Errorf("R with length 0: %v", err)
	}
	// W without F is fine: unsolicited Data-Out follows.
	var h BHS
	h.SCSICommand().Init()
	h.SCSICommand().SetWrite(true)
	if err := h.Validate(); err != nil {
		t.Errorf("W without F: %v", err)
	}
}

func TestSCSICommandCDB(t *testing.T) {
	tests := []struct {
		name string
		cdb  []byte
	}{
		{"6-byte", []byte{0x12, 0, 0, 0, 0x24, 0}},
		{"16-byte", bytes.Repeat([]byte{0xa5}, 16)},
		{"17-byte", seq(17)},
		{"32-byte", seq(32)},
		{"260-byte", seq(260)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var h BHS
			c := h.SCSICommand()
			c.Init()
			for i := range c.CDB() {
				c.CDB()[i] = 0xff // SetCDB must clear what a short CDB leaves
			}
			c.SetCDB(tt.cdb)
			ahs, err := AppendExtendedCDBAHS(nil, tt.cdb)
			if err != nil {
				t.Fatal(err)
			}
			if len(ahs)%4 != 0 {
				t.Fatalf("AHS length %d not a multiple of 4", len(ahs))
			}
			if len(tt.cdb) > 16 {
				if got := int(ahs[0])<<8 | int(ahs[1]); got != len(tt.cdb)-15 {
					t.Fatalf("AHSLength = %d, want %d (RFC 7143 §11.2.2.3)", got, len(tt.cdb)-15)
				}
			}
			ahs = AppendBidirectionalReadDataLengthAHS(ahs, 4096)
			full, err := c.FullCDB(nil, ahs)
			if err != nil {
				t.Fatal(err)
			}
			want := tt.cdb
			if len(want) < 16 {
				want = append(append([]byte{}, want...), make([]byte, 16-len(want))...)
			}
			if !bytes.Equal(full, want) {
				t.Fatalf("FullCDB = % x, want % x", full, want)
			}
			n, ok, err := BidirectionalReadDataLength(ahs)
			if n != 4096 || !ok || err != nil {
				t.Fatalf("BidirectionalReadDataLength = %d, %v, %v", n, ok, err)
			}
		})
	}
	if _, err := AppendExtendedCDBAHS(nil, make([]byte, 1100)); !errors.Is(err, ErrBadAHS) {
		t.Fatalf("1100-byte CDB: %v, want ErrBadAHS", err)
	}
	var h BHS
	h.SCSICommand().Init()
	if _, err := h.SCSICommand().FullCDB(nil, []byte{0, 9, 1}); !errors.Is(err, ErrBadAHS) {
		t.Fatalf("FullCDB over a short AHS area: %v, want ErrBadAHS", err)
	}
	if _, err := h.SCSICommand().FullCDB(nil, []byte{0, 0, 1, 0}); !errors.Is(err, ErrBadAHS) {
		t.Fatalf("FullCDB over an empty Extended-CDB AHS: %v, want ErrBadAHS", err)
	}
}

func seq(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i + 1)
	}
	return b
}

func TestTaskAttributeString(t *testing.T) {
	testStrings(t, map[TaskAttribute]string{
		TaskUntagged: "Untagged", TaskSimple: "Simple", TaskOrdered: "Ordered",
		TaskHeadOfQueue: "Head of Queue", TaskACA: "ACA", 5: "TaskAttribute(5)",
	})
}
