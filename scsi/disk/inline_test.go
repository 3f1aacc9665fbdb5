package disk

import (
	"testing"

	"github.com/go-iscsi/iscsi/scsi"
)

// opaqueBackend hides every optional method of the Memory it wraps.
type opaqueBackend struct{ m *Memory }

func (b opaqueBackend) ReadAt(p []byte, off int64) (int, error)  { return b.m.ReadAt(p, off) }
func (b opaqueBackend) WriteAt(p []byte, off int64) (int, error) { return b.m.WriteAt(p, off) }
func (b opaqueBackend) Size() int64                              { return b.m.Size() }

func TestExecutesInline(t *testing.T) {
	const size = 64 << 20
	mem, err := New(NewMemory(size), Config{})
	if err != nil {
		t.Fatal(err)
	}
	opaque, err := New(opaqueBackend{NewMemory(size)}, Config{})
	if err != nil {
		t.Fatal(err)
	}
	blocks := uint32(InlineMaxBytes / 512)
	for _, tc := range []struct {
		name string
		lu   *LU
		cdb  []byte
		want bool
	}{
		{"READ(10) 4 KiB", mem, cdbRW(scsi.OpRead10, 0, 8, 0), true},
		{"READ(6) 256 blocks", mem, cdbRW(scsi.OpRead6, 0, 0, 0), true},
		{"READ(12) at the bound", mem, cdbRW(scsi.OpRead12, 0, blocks, 0), true},
		{"READ(16) beyond the bound", mem, cdbRW(scsi.OpRead16, 0, blocks+1, 0), false},
		{"WRITE(10) 64 KiB", mem, cdbRW(scsi.OpWrite10, 8, 128, 0), true},
		{"WRITE(16) FUA", mem, cdbRW(scsi.OpWrite16, 8, 128, 0x08), true},
		{"WRITE(12) beyond the bound", mem, cdbRW(scsi.OpWrite12, 0, 1<<16, 0), false},
		{"TEST UNIT READY", mem, cdbTUR(), true},
		{"INQUIRY", mem, cdbInquiry(false, 0, 96), false},
		{"WRITE SAME(16)", mem, make16(scsi.OpWriteSame16), false},
		{"COMPARE AND WRITE", mem, make16(scsi.OpCompareAndWrite), false},
		{"short READ(10)", mem, []byte{byte(scsi.OpRead10), 0, 0}, false},
		{"empty CDB", mem, nil, false},
		{"READ(10) on an opaque backend", opaque, cdbRW(scsi.OpRead10, 0, 8, 0), false},
		{"TEST UNIT READY on an opaque backend", opaque, cdbTUR(), true},
	} {
		if got := tc.lu.ExecutesInline(tc.cdb); got != tc.want {
			t.Errorf("%s: ExecutesInline = %v, want %v", tc.name, got, tc.want)
		}
	}
	// While a sanitize operation runs, nothing is inline (SBC-4 §4.11).
	mem.sanitizing.Store(true)
	if mem.ExecutesInline(cdbRW(scsi.OpRead10, 0, 8, 0)) {
		t.Error("READ(10) inline during a sanitize operation")
	}
	mem.sanitizing.Store(false)
}

func make16(op scsi.OpCode) []byte {
	c := make([]byte, 16)
	c[0] = byte(op)
	c[13] = 1
	return c
}
