package disk

import (
	"bytes"
	"encoding/binary"
	"testing"

	"github.com/go-iscsi/iscsi/scsi"
	"github.com/google/go-cmp/cmp"
)

type lbaStatus struct {
	LBA    uint64
	Blocks uint32
	Status byte
}

func getLBAStatus(t *testing.T, lu *LU, n Nexus, lba uint64, alloc uint32) []lbaStatus {
	t.Helper()
	c := make([]byte, 16)
	c[0], c[1] = 0x9e, 0x12
	binary.BigEndian.PutUint64(c[2:], lba)
	binary.BigEndian.PutUint32(c[10:], alloc)
	r, d := run(lu, n, c, nil, int(alloc))
	mustGood(t, r, "get lba status")
	if got := int(binary.BigEndian.Uint32(d)) + 4; got != len(d) {
		t.Fatalf("PARAMETER DATA LENGTH + 4 = %d, data %d bytes", got, len(d))
	}
	var out []lbaStatus
	for p := d[8:]; len(p) >= 16; p = p[16:] {
		out = append(out, lbaStatus{binary.BigEndian.Uint64(p), binary.BigEndian.Uint32(p[8:]), p[12]})
	}
	return out
}

func cdbWriteSame(sixteen bool, lba uint64, n uint32, flags byte) []byte {
	if sixteen {
		c := make([]byte, 16)
		c[0], c[1] = 0x93, flags
		binary.BigEndian.PutUint64(c[2:], lba)
		binary.BigEndian.PutUint32(c[10:], n)
		return c
	}
	c := []byte{0x41, flags, 0, 0, 0, 0, 0, 0, 0, 0}
	binary.BigEndian.PutUint32(c[2:], uint32(lba))
	binary.BigEndian.PutUint16(c[7:], uint16(n))
	return c
}

func unmapList(descs ...[2]uint64) []byte {
	p := make([]byte, 8, 8+16*len(descs))
	binary.BigEndian.PutUint16(p[0:], uint16(6+16*len(descs)))
	binary.BigEndian.PutUint16(p[2:], uint16(16*len(descs)))
	for _, d := range descs {
		var b [16]byte
		binary.BigEndian.PutUint64(b[0:], d[0])
		binary.BigEndian.PutUint32(b[8:], uint32(d[1]))
		p = append(p, b[:]...)
	}
	return p
}

func cdbUnmap(plen int) []byte {
	return []byte{0x42, 0, 0, 0, 0, 0, 0, byte(plen >> 8), byte(plen), 0}
}

func testThin(t *testing.T, be Backend) {
	// 4 MiB, 512-byte blocks: 8192 blocks; chunks of 128 blocks.
	lu, err := New(be, Config{ThinProvisioning: true, MaxUnmapBlockDescriptorCount: 4, MaxUnmapLBACount: 4096, MaxWriteSameLength: 4096})
	if err != nil {
		t.Fatal(err)
	}
	ready(t, lu, nexusA)
	if diff := cmp.Diff([]lbaStatus{{0, 8192, lbaDeallocated}}, getLBAStatus(t, lu, nexusA, 0, 1024)); diff != "" {
		t.Fatalf("fresh disk (-want +got):\n%s", diff)
	}
	// Fill 1024 blocks with a pattern using WRITE SAME(16).
	blk := pattern(512, 3)
	mustGood(t, first(run(lu, nexusA, cdbWriteSame(true, 0, 1024, 0), blk, 0)), "write same")
	_, d := run(lu, nexusA, cdbRW(scsi.OpRead10, 1000, 2, 0), nil, 1024)
	if !bytes.Equal(d[:512], blk) || !bytes.Equal(d[512:], blk) {
		t.Fatal("WRITE SAME data not read back")
	}
	if diff := cmp.Diff([]lbaStatus{{0, 1024, lbaMapped}, {1024, 8192 - 1024, lbaDeallocated}}, getLBAStatus(t, lu, nexusA, 0, 1024)); diff != "" {
		t.Fatalf("after write same (-want +got):\n%s", diff)
	}
	// WRITE SAME(10) with UNMAP and zero data deallocates [256, 512).
	mustGood(t, first(run(lu, nexusA, cdbWriteSame(false, 256, 256, 0x08), make([]byte, 512), 0)), "write same unmap")
	// UNMAP [768, 896).
	p := unmapList([2]uint64{768, 128})
	mustGood(t, first(run(lu, nexusA, cdbUnmap(len(p)), p, 0)), "unmap")
	want := []lbaStatus{{0, 256, lbaMapped}, {256, 256, lbaDeallocated}, {512, 256, lbaMapped}, {768, 128, lbaDeallocated}, {896, 128, lbaMapped}, {1024, 8192 - 1024, lbaDeallocated}}
	if diff := cmp.Diff(want, getLBAStatus(t, lu, nexusA, 0, 1024)); diff != "" {
		t.Fatalf("after unmap (-want +got):\n%s", diff)
	}
	// Starting inside a run; allocation length for two descriptors.
	if diff := cmp.Diff(want[2:3], getLBAStatus(t, lu, nexusA, 600, 24)[:1]); diff != "" && getLBAStatus(t, lu, nexusA, 600, 24)[0].LBA != 600 {
		t.Fatalf("from 600 (-want +got):\n%s", diff)
	}
	_, d = run(lu, nexusA, cdbRW(scsi.OpRead10, 300, 1, 0), nil, 512)
	if !allZero(d) {
		t.Fatal("deallocated block does not read as zeros (LBPRZ=1)")
	}
	// NDOB writes zeros without Data-Out.
	mustGood(t, first(run(lu, nexusA, cdbWriteSame(true, 0, 8, 0x01), nil, 0)), "write same ndob")
	_, d = run(lu, nexusA, cdbRW(scsi.OpRead10, 0, 8, 0), nil, 8*512)
	if !allZero(d) {
		t.Fatal("NDOB did not write zeros")
	}

	// WSNZ=0 (SBC-4 §5.49): zero blocks writes from the LBA through the
	// last LBA, here the last 10 blocks, and no block before them.
	mustGood(t, first(run(lu, nexusA, cdbRW(scsi.OpWrite10, 8181, 1, 0), bytes.Repeat([]byte{7}, 512), 0)), "write")
	for _, sixteen := range []bool{false, true} {
		mustGood(t, first(run(lu, nexusA, cdbWriteSame(sixteen, 8182, 0, 0), bytes.Repeat([]byte{0x5c}, 512), 0)), "write same zero blocks")
		_, d = run(lu, nexusA, cdbRW(scsi.OpRead10, 8181, 11, 0), nil, 11*512)
		if !bytes.Equal(d[:512], bytes.Repeat([]byte{7}, 512)) || !bytes.Equal(d[512:], bytes.Repeat([]byte{0x5c}, 10*512)) {
			t.Fatalf("WRITE SAME (16: %v) with zero blocks did not write exactly LBA 8182 through the last", sixteen)
		}
		mustGood(t, first(run(lu, nexusA, cdbWriteSame(sixteen, 8192, 0, 0), make([]byte, 512), 0)), "write same zero blocks after the last LBA")
	}
	_, d = run(lu, nexusA, cdbInquiry(true, 0xb0, 64), nil, 64)
	if d[4]&0x01 != 0 {
		t.Fatal("Block Limits WSNZ set")
	}

	c := make([]byte, 16)
	c[0], c[1] = 0x9e, 0x12
	binary.BigEndian.PutUint64(c[2:], 8192)
	binary.BigEndian.PutUint32(c[10:], 100)
	wantSense(t, first(run(lu, nexusA, c, nil, 100)), scsi.SenseIllegalRequest, scsi.ASCLBAOutOfRange, "get lba status past end")

	for _, tc := range []struct {
		name string
		cdb  []byte
		p    []byte
		want scsi.Sense
	}{
		{"ws zero blocks: to the last LBA, over max", cdbWriteSame(false, 0, 0, 0), make([]byte, 512), scsi.InvalidFieldInCDB(7, -1)},
		{"ws16 zero blocks: to the last LBA, over max", cdbWriteSame(true, 4095, 0, 0), make([]byte, 512), scsi.InvalidFieldInCDB(10, -1)},
		{"ws over max", cdbWriteSame(true, 0, 4097, 0), make([]byte, 512), scsi.InvalidFieldInCDB(10, -1)},
		{"ws past end", cdbWriteSame(true, 8000, 193, 0), make([]byte, 512), scsi.LBAOutOfRange(8000)},
		{"ws anchor", cdbWriteSame(true, 0, 1, 0x10), make([]byte, 512), scsi.InvalidFieldInCDB(1, 4)},
		{"ws zero blocks past end", cdbWriteSame(false, 8193, 0, 0), make([]byte, 512), scsi.LBAOutOfRange(8193)},
		{"ws long data-out", cdbWriteSame(false, 0, 1, 0), make([]byte, 1024), scsi.NewSense(scsi.SenseIllegalRequest, scsi.ASCInvalidFieldInCommandInformationUnit)},
		{"ws ndob with data-out", cdbWriteSame(true, 0, 1, 0x01), make([]byte, 512), scsi.NewSense(scsi.SenseIllegalRequest, scsi.ASCInvalidFieldInCommandInformationUnit)},
		{"ws short data-out", cdbWriteSame(false, 0, 1, 0), make([]byte, 100), scsi.NewSense(scsi.SenseIllegalRequest, scsi.ASCInvalidFieldInCommandInformationUnit)},
		{"unmap list too short", cdbUnmap(6), make([]byte, 6), scsi.NewSense(scsi.SenseIllegalRequest, scsi.ASCParameterListLengthError)},
		{"unmap descriptor length", cdbUnmap(24), func() []byte { p := unmapList([2]uint64{0, 1}); p[3] = 32; return p }(), scsi.NewSense(scsi.SenseIllegalRequest, scsi.ASCParameterListLengthError)},
		{"unmap too many descriptors", cdbUnmap(8 + 5*16), unmapList([2]uint64{0, 1}, [2]uint64{1, 1}, [2]uint64{2, 1}, [2]uint64{3, 1}, [2]uint64{4, 1}), scsi.InvalidFieldInParameterList(2, -1)},
		{"unmap too many blocks", cdbUnmap(24), unmapList([2]uint64{0, 4097}), scsi.InvalidFieldInParameterList(16, -1)},
		{"unmap too many blocks in total", cdbUnmap(40), unmapList([2]uint64{0, 4000}, [2]uint64{5000, 97}), scsi.InvalidFieldInParameterList(32, -1)},
		{"unmap past end", cdbUnmap(40), unmapList([2]uint64{0, 1}, [2]uint64{8191, 2}), scsi.LBAOutOfRange(8191)},
		{"unmap anchor", []byte{0x42, 1, 0, 0, 0, 0, 0, 0, 24, 0}, unmapList([2]uint64{0, 1}), scsi.InvalidFieldInCDB(1, 0)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, _ := run(lu, nexusA, tc.cdb, tc.p, 0)
			if diff := cmp.Diff(tc.want, r.Sense); r.Status != scsi.StatusCheckCondition || diff != "" {
				t.Fatalf("status %v (-want +got):\n%s", r.Status, diff)
			}
		})
	}
	mustGood(t, first(run(lu, nexusA, cdbUnmap(0), nil, 0)), "unmap empty")
}

func TestThinMemory(t *testing.T) { testThin(t, NewMemory(4<<20)) }

func TestThinFile(t *testing.T) {
	f, err := OpenFile(t.TempDir()+"/disk.img", FileOptions{Size: 4 << 20, Create: true})
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, _, ok := seekMapping(f.f, 0, f.Size()); !ok {
		t.Skip("file system without SEEK_HOLE")
	}
	testThin(t, f)
}

func TestNotThin(t *testing.T) {
	lu := newLU(t, 1<<20, Config{})
	ready(t, lu, nexusA)
	wantSense(t, first(run(lu, nexusA, cdbUnmap(24), unmapList([2]uint64{0, 1}), 0)), scsi.SenseIllegalRequest, scsi.ASCInvalidCommandOperationCode, "unmap")
	r, _ := run(lu, nexusA, cdbWriteSame(false, 0, 1, 0x08), make([]byte, 512), 0)
	if diff := cmp.Diff(scsi.InvalidFieldInCDB(1, 3), r.Sense); diff != "" {
		t.Fatalf("WRITE SAME UNMAP without thin provisioning (-want +got):\n%s", diff)
	}
	// A fully provisioned logical unit reports every block mapped.
	if diff := cmp.Diff([]lbaStatus{{0, 2048, lbaMapped}}, getLBAStatus(t, lu, nexusA, 0, 100)); diff != "" {
		t.Fatalf("(-want +got):\n%s", diff)
	}
	_, d := run(lu, nexusA, cdbInquiry(true, 0xb2, 100), nil, 100)
	if d[5] != 0 || d[6] != 0 {
		t.Fatalf("logical block provisioning page of a fully provisioned LU % x", d)
	}
	// So does a thin one whose backend has no AllocationMapper.
	lu2, _ := New(noMapper{NewMemory(1 << 20)}, Config{ThinProvisioning: true})
	ready(t, lu2, nexusA)
	if diff := cmp.Diff([]lbaStatus{{0, 2048, lbaMapped}}, getLBAStatus(t, lu2, nexusA, 0, 100)); diff != "" {
		t.Fatalf("(-want +got):\n%s", diff)
	}
}

// noMapper is a Memory without its AllocationMapper.
type noMapper struct{ m *Memory }

func (b noMapper) ReadAt(p []byte, off int64) (int, error)  { return b.m.ReadAt(p, off) }
func (b noMapper) WriteAt(p []byte, off int64) (int, error) { return b.m.WriteAt(p, off) }
func (b noMapper) Size() int64                              { return b.m.Size() }
func (b noMapper) Deallocate(off, n int64) error            { return b.m.Deallocate(off, n) }
