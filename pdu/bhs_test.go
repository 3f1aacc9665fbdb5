package pdu

import (
	"errors"
	"testing"
)

func allSpecs() []viewSpec {
	return []viewSpec{
		nopOutSpec(), scsiCommandSpec(), taskManagementRequestSpec(), loginRequestSpec(),
		textRequestSpec(), dataOutSpec(), logoutRequestSpec(), snackRequestSpec(),
		nopInSpec(), scsiResponseSpec(), taskManagementResponseSpec(), loginResponseSpec(),
		textResponseSpec(), dataInSpec(), logoutResponseSpec(), r2tSpec(),
		asyncMessageSpec(), rejectSpec(),
	}
}

func TestBHSCommonFields(t *testing.T) {
	var h BHS
	h.SetOpcode(OpSCSICommand)
	h.SetImmediate(true)
	h.SetFinal(true)
	h.SetTotalAHSLength(3)
	h.SetDataSegmentLength(0x123456)
	h.SetLUN(0x0001020304050607)
	h.SetInitiatorTaskTag(0xdeadbeef)
	want := BHS{0x41, 0x80, 0, 0, 3, 0x12, 0x34, 0x56, 0, 1, 2, 3, 4, 5, 6, 7, 0xde, 0xad, 0xbe, 0xef}
	if h != want {
		t.Fatalf("got  % x\nwant % x", h[:20], want[:20])
	}
	if h.Opcode() != OpSCSICommand || !h.Immediate() || !h.Final() || h.TotalAHSLength() != 3 ||
		h.DataSegmentLength() != 0x123456 || h.LUN() != 0x0001020304050607 || h.InitiatorTaskTag() != 0xdeadbeef {
		t.Fatal("getters disagree with setters")
	}
	h.SetOpcode(0xff) // only 6 bits are the opcode
	if h.Opcode() != 0x3f || !h.Immediate() || h[0]&0x80 != 0 {
		t.Fatalf("SetOpcode(0xff): byte 0 = %#x", h[0])
	}
	h.SetImmediate(false)
	h.SetFinal(false)
	h.SetDataSegmentLength(1<<24 | 5) // bits above 24 dropped
	if h.Immediate() || h.Final() || h.DataSegmentLength() != 5 {
		t.Fatal("clearing bits failed")
	}
	h.Reset()
	if h != (BHS{}) {
		t.Fatal("Reset left bytes")
	}
}

func TestPaddedLength(t *testing.T) {
	for n, want := range map[uint32]uint32{0: 0, 1: 4, 3: 4, 4: 4, 5: 8, 8191: 8192, MaxDataSegmentLength: 1 << 24} {
		if got := PaddedLength(n); got != want {
			t.Errorf("PaddedLength(%d) = %d, want %d", n, got, want)
		}
	}
}

func TestBHSValidateDispatch(t *testing.T) {
	for _, s := range allSpecs() {
		t.Run(s.op.String(), func(t *testing.T) {
			var h BHS
			s.init(&h)
			if s.valid != nil {
				s.valid(&h)
			}
			if err := h.Validate(); err != nil {
				t.Fatalf("valid %v: %v", s.op, err)
			}
			h[0] |= 0x80 // reserved in every PDU
			var rfe *ReservedFieldError
			if err := h.Validate(); !errors.As(err, &rfe) || rfe.Offset != 0 {
				t.Fatalf("byte 0 bit 7: %v", err)
			}
		})
	}
}

func TestBHSValidateUnknownOpcode(t *testing.T) {
	for _, op := range []Opcode{0x07, 0x0f, 0x11, 0x1b, 0x1f, 0x27, 0x30, 0x33, 0x3b} {
		var h BHS
		h.SetOpcode(op)
		err := h.Validate()
		var pe *ProtocolError
		var oe *OpcodeError
		if !errors.As(err, &pe) || pe.Reason != RejectCommandNotSupported || !errors.As(err, &oe) ||
			oe.Opcode != op || !errors.Is(err, ErrUnknownOpcode) {
			t.Errorf("opcode %#x: Validate = %v, want a ProtocolError (Command not supported) around an OpcodeError", op, err)
		}
	}
	for _, op := range []Opcode{0x1c, 0x1d, 0x1e, 0x3c, 0x3d, 0x3e} {
		var h BHS
		h.SetOpcode(op)
		if err := h.Validate(); err != nil {
			t.Errorf("vendor-specific opcode %#x: Validate = %v, want nil", op, err)
		}
	}
}

func TestViewsShareBytes(t *testing.T) {
	var h BHS
	h.DataIn().SetBufferOffset(0x01020304)
	if (*DataIn)(&h).BufferOffset() != 0x01020304 || h.DataIn().BHS() != &h || h[40] != 1 {
		t.Fatal("view does not alias the BHS")
	}
}

func TestViewConversionAllocs(t *testing.T) {
	var h BHS
	h.SCSICommand().Init()
	h.SCSICommand().SetFinal(true)
	var sink uint32
	n := testing.AllocsPerRun(100, func() {
		c := h.SCSICommand()
		if c.Validate() != nil {
			panic("invalid")
		}
		sink += c.CmdSN() + c.ExpectedDataTransferLength() + uint32(c.CDB()[0])
	})
	if n != 0 {
		t.Fatalf("view access allocates %v times", n)
	}
	_ = sink
}

func TestBHSString(t *testing.T) {
	var h BHS
	c := h.SCSICommand()
	c.Init()
	c.SetImmediate(true)
	c.SetFinal(true)
	c.SetInitiatorTaskTag(0x1f)
	h.SetTotalAHSLength(2)
	h.SetDataSegmentLength(512)
	if got, want := h.String(), "SCSI Command I F ITT=0x1f AHS=8 DSL=512"; got != want {
		t.Fatalf("String = %q, want %q", got, want)
	}
}
