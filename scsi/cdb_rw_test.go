package scsi

import (
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestReadWriteGolden(t *testing.T) {
	tests := []struct {
		name string
		cdb  []byte
		want ReadWrite
	}{
		{"READ(6)", []byte{0x08, 0x1f, 0xff, 0xfe, 0x10, 0x00},
			ReadWrite{Op: OpRead6, LBA: 0x1ffffe, TransferLength: 16}},
		{"READ(6) length 0 is 256", []byte{0x08, 0, 0, 1, 0, 0x04},
			ReadWrite{Op: OpRead6, LBA: 1, TransferLength: 256, Control: 0x04}},
		{"WRITE(6)", []byte{0x0a, 0x00, 0x01, 0x00, 0x08, 0x00},
			ReadWrite{Op: OpWrite6, LBA: 0x100, TransferLength: 8}},
		{"READ(10) DPO FUA RARC group", []byte{0x28, 0x1c, 0x12, 0x34, 0x56, 0x78, 0x3f, 0x00, 0x80, 0x00},
			ReadWrite{Op: OpRead10, LBA: 0x12345678, TransferLength: 0x80, DPO: true, FUA: true, RARC: true, Group: 0x3f}},
		{"READ(10) RDPROTECT", []byte{0x28, 0xa0, 0, 0, 0, 1, 0, 0, 1, 0},
			ReadWrite{Op: OpRead10, LBA: 1, TransferLength: 1, Protect: 5}},
		{"READ(10) obsolete bits ignored", []byte{0x28, 0x03, 0, 0, 0, 1, 0, 0, 1, 0},
			ReadWrite{Op: OpRead10, LBA: 1, TransferLength: 1}},
		{"WRITE(10) FUA", []byte{0x2a, 0x08, 0, 0, 0x10, 0, 0, 0, 8, 0},
			ReadWrite{Op: OpWrite10, LBA: 0x1000, TransferLength: 8, FUA: true}},
		{"VERIFY(10) BYTCHK 1", []byte{0x2f, 0x02, 0, 0, 0, 0, 0, 0, 1, 0},
			ReadWrite{Op: OpVerify10, TransferLength: 1, BytChk: 1}},
		{"WRITE AND VERIFY(10) BYTCHK 3", []byte{0x2e, 0x16, 0, 0, 0, 0, 0, 0, 1, 0},
			ReadWrite{Op: OpWriteAndVerify10, TransferLength: 1, BytChk: 3, DPO: true}},
		{"READ(12)", []byte{0xa8, 0, 0, 0, 0, 9, 0x00, 0x01, 0x00, 0x00, 0x05, 0},
			ReadWrite{Op: OpRead12, LBA: 9, TransferLength: 0x10000, Group: 5}},
		{"READ(12) restricted bit 7 ignored", []byte{0xa8, 0, 0, 0, 0, 9, 0, 0, 0, 1, 0x80, 0},
			ReadWrite{Op: OpRead12, LBA: 9, TransferLength: 1}},
		{"WRITE(12)", []byte{0xaa, 0x08, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0, 0, 0},
			ReadWrite{Op: OpWrite12, LBA: 0xffffffff, FUA: true}},
		{"VERIFY(12)", []byte{0xaf, 0x02, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0},
			ReadWrite{Op: OpVerify12, LBA: 1, TransferLength: 2, BytChk: 1}},
		{"WRITE AND VERIFY(12)", []byte{0xae, 0x00, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0},
			ReadWrite{Op: OpWriteAndVerify12, LBA: 1, TransferLength: 2}},
		{"READ(16)", []byte{0x88, 0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0xff, 0xff, 0xff, 0xff, 0xc1, 0x00},
			ReadWrite{Op: OpRead16, LBA: 0x0102030405060708, TransferLength: 0xffffffff, Group: 1}},
		{"WRITE(16) max LBA, no blocks", []byte{0x8a, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0, 0, 0},
			ReadWrite{Op: OpWrite16, LBA: 0xffffffffffffffff}},
		{"VERIFY(16)", []byte{0x8f, 0x04, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0},
			ReadWrite{Op: OpVerify16, LBA: 1, TransferLength: 1, BytChk: 2}},
		{"WRITE AND VERIFY(16)", []byte{0x8e, 0x60, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0},
			ReadWrite{Op: OpWriteAndVerify16, LBA: 1, TransferLength: 1, Protect: 3}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseReadWrite(append(tt.cdb, 0xee, 0xee))
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Fatalf("ParseReadWrite (-want +got):\n%s", diff)
			}
			b, err := got.Append(nil)
			if err != nil {
				t.Fatal(err)
			}
			again, err := ParseReadWrite(b)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(got, again); diff != "" {
				t.Fatalf("rebuilt CDB % x decodes differently (-want +got):\n%s", b, diff)
			}
		})
	}
}

func TestReadWriteAppendGolden(t *testing.T) {
	tests := []struct {
		rw   ReadWrite
		want []byte
	}{
		{ReadWrite{Op: OpRead6, LBA: 0x10203, TransferLength: 256}, []byte{0x08, 0x01, 0x02, 0x03, 0x00, 0x00}},
		{ReadWrite{Op: OpWrite10, LBA: 0x01020304, TransferLength: 0x0506, FUA: true, DPO: true, Protect: 1, Group: 2, Control: 4},
			[]byte{0x2a, 0x38, 1, 2, 3, 4, 2, 5, 6, 4}},
		{ReadWrite{Op: OpRead12, LBA: 7, TransferLength: 0x01020304}, []byte{0xa8, 0, 0, 0, 0, 7, 1, 2, 3, 4, 0, 0}},
		{ReadWrite{Op: OpVerify16, LBA: 0x0102030405060708, TransferLength: 9, BytChk: 1, DPO: true},
			[]byte{0x8f, 0x12, 1, 2, 3, 4, 5, 6, 7, 8, 0, 0, 0, 9, 0, 0}},
	}
	for _, tt := range tests {
		got, err := tt.rw.Append([]byte{0xaa})
		if err != nil {
			t.Fatalf("%v: %v", tt.rw.Op, err)
		}
		if diff := cmp.Diff(append([]byte{0xaa}, tt.want...), got); diff != "" {
			t.Errorf("%v (-want +got):\n%s", tt.rw.Op, diff)
		}
	}
}

func TestParseReadWriteErrors(t *testing.T) {
	tests := []struct {
		name  string
		cdb   []byte
		sense Sense
		short bool
	}{
		{"empty", nil, NewSense(SenseIllegalRequest, ASCInvalidFieldInCDB), true},
		{"short READ(10)", []byte{0x28, 0, 0, 0, 0, 0, 0, 0, 1}, NewSense(SenseIllegalRequest, ASCInvalidFieldInCDB), true},
		{"short READ(16)", make16(0x88)[:15], NewSense(SenseIllegalRequest, ASCInvalidFieldInCDB), true},
		{"not a read or write", []byte{0x12, 0, 0, 0, 0, 0}, NewSense(SenseIllegalRequest, ASCInvalidCommandOperationCode), false},
		{"READ(6) reserved byte 1", []byte{0x08, 0x20, 0, 0, 1, 0}, InvalidFieldInCDB(1, 5), false},
		{"WRITE(10) reserved bit 2", []byte{0x2a, 0x04, 0, 0, 0, 0, 0, 0, 1, 0}, InvalidFieldInCDB(1, 2), false},
		{"VERIFY(10) FUA position reserved", []byte{0x2f, 0x08, 0, 0, 0, 0, 0, 0, 1, 0}, InvalidFieldInCDB(1, 3), false},
		{"READ(10) group byte reserved", []byte{0x28, 0, 0, 0, 0, 0, 0x40, 0, 1, 0}, InvalidFieldInCDB(6, 6), false},
		{"READ(12) group byte reserved", []byte{0xa8, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0x40, 0}, InvalidFieldInCDB(10, 6), false},
		{"READ(16) LBA+length overflow", []byte{0x88, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 1, 0, 0}, NewSense(SenseIllegalRequest, ASCLBAOutOfRange), false},
		{"WRITE(16) LBA+length overflow", []byte{0x8a, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xf0, 0, 0, 0, 0x11, 0, 0}, NewSense(SenseIllegalRequest, ASCLBAOutOfRange), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseReadWrite(tt.cdb)
			if !errors.Is(err, ErrInvalidCDB) {
				t.Fatalf("err = %v, want ErrInvalidCDB", err)
			}
			if errors.Is(err, ErrShortCDB) != tt.short {
				t.Errorf("errors.Is(err, ErrShortCDB) = %v, want %v", !tt.short, tt.short)
			}
			var s Sense
			if !errors.As(err, &s) {
				t.Fatal("error does not unwrap to a Sense")
			}
			if diff := cmp.Diff(tt.sense, s); diff != "" {
				t.Errorf("sense (-want +got):\n%s", diff)
			}
		})
	}
}

func TestReadWriteAppendErrors(t *testing.T) {
	tests := []struct {
		name string
		rw   ReadWrite
	}{
		{"unknown op", ReadWrite{Op: OpInquiry}},
		{"READ(6) LBA too big", ReadWrite{Op: OpRead6, LBA: 0x200000, TransferLength: 1}},
		{"READ(6) zero length", ReadWrite{Op: OpRead6}},
		{"READ(6) 257 blocks", ReadWrite{Op: OpRead6, TransferLength: 257}},
		{"WRITE(6) FUA", ReadWrite{Op: OpWrite6, TransferLength: 1, FUA: true}},
		{"WRITE(6) group", ReadWrite{Op: OpWrite6, TransferLength: 1, Group: 1}},
		{"READ(10) LBA too big", ReadWrite{Op: OpRead10, LBA: 1 << 32}},
		{"READ(10) length too big", ReadWrite{Op: OpRead10, TransferLength: 1 << 16}},
		{"READ(12) LBA too big", ReadWrite{Op: OpRead12, LBA: 1 << 32}},
		{"VERIFY FUA", ReadWrite{Op: OpVerify16, FUA: true}},
		{"WRITE RARC", ReadWrite{Op: OpWrite16, RARC: true}},
		{"READ BYTCHK", ReadWrite{Op: OpRead16, BytChk: 1}},
		{"VERIFY BYTCHK 4", ReadWrite{Op: OpVerify16, BytChk: 4}},
		{"protect 8", ReadWrite{Op: OpRead16, Protect: 8}},
		{"group 64", ReadWrite{Op: OpRead16, Group: 64}},
		{"overflow", ReadWrite{Op: OpRead16, LBA: ^uint64(0), TransferLength: 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := tt.rw.Append(nil)
			if !errors.Is(err, ErrInvalidCDB) {
				t.Fatalf("Append = % x, %v; want ErrInvalidCDB", b, err)
			}
		})
	}
}

func TestReadWriteDirection(t *testing.T) {
	tests := []struct {
		rw          ReadWrite
		in, out, ok bool
	}{
		{ReadWrite{Op: OpRead10}, true, false, true},
		{ReadWrite{Op: OpWrite16}, false, true, true},
		{ReadWrite{Op: OpVerify10}, false, false, true},
		{ReadWrite{Op: OpVerify10, BytChk: 1}, false, true, true},
		{ReadWrite{Op: OpWriteAndVerify12}, false, true, true},
		{ReadWrite{Op: OpInquiry}, false, false, false},
	}
	for _, tt := range tests {
		if tt.rw.DataIn() != tt.in || tt.rw.DataOut() != tt.out || IsReadWrite(tt.rw.Op) != tt.ok || tt.rw.OperationCode() != tt.rw.Op {
			t.Errorf("%v: DataIn %v DataOut %v IsReadWrite %v", tt.rw.Op, tt.rw.DataIn(), tt.rw.DataOut(), IsReadWrite(tt.rw.Op))
		}
	}
}

func TestParseReadWriteAllocs(t *testing.T) {
	cdb := []byte{0x2a, 0x08, 0, 0, 0x10, 0, 0, 0, 8, 0, 0, 0, 0, 0, 0, 0}
	buf := make([]byte, 0, 16)
	if n := testing.AllocsPerRun(100, func() {
		rw, err := ParseReadWrite(cdb)
		if err != nil {
			t.Fatal(err)
		}
		if buf, err = rw.Append(buf[:0]); err != nil {
			t.Fatal(err)
		}
	}); n != 0 {
		t.Errorf("ParseReadWrite+Append allocate %v times, want 0", n)
	}
}

func BenchmarkParseReadWrite16(b *testing.B) {
	cdb := []byte{0x88, 0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0, 0, 1, 0, 0, 0}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ParseReadWrite(cdb); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkReadWriteAppend10(b *testing.B) {
	rw := ReadWrite{Op: OpWrite10, LBA: 0x1000, TransferLength: 8, FUA: true}
	buf := make([]byte, 0, 16)
	b.ReportAllocs()
	for b.Loop() {
		buf, _ = rw.Append(buf[:0])
	}
}

// make16 returns a 16-byte CDB with operation code op and zeros.
func make16(op OpCode) []byte {
	b := make([]byte, 16)
	b[0] = byte(op)
	return b
}

func TestNewReadWrite(t *testing.T) {
	tests := []struct {
		write  bool
		lba    uint64
		blocks uint32
		want   OpCode
	}{
		{false, 0, 8, OpRead10},
		{true, 0, 8, OpWrite10},
		{false, 1<<32 - 8, 8, OpRead10},
		{false, 1<<32 - 8, 9, OpRead16},
		{true, 1 << 40, 1, OpWrite16},
		{false, 0, 0xffff, OpRead10},
		{true, 0, 0x10000, OpWrite16},
	}
	for _, tt := range tests {
		rw := NewReadWrite(tt.write, tt.lba, tt.blocks)
		if rw.Op != tt.want || rw.LBA != tt.lba || rw.TransferLength != tt.blocks {
			t.Errorf("NewReadWrite(%v, %d, %d) = %+v, want %v", tt.write, tt.lba, tt.blocks, rw, tt.want)
		}
		if _, err := rw.Append(nil); err != nil {
			t.Errorf("NewReadWrite(%v, %d, %d): Append: %v", tt.write, tt.lba, tt.blocks, err)
		}
	}
}
