package disk

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"testing"

	"github.com/go-iscsi/iscsi/scsi"
	"github.com/google/go-cmp/cmp"
)

func TestReadWriteAllSizes(t *testing.T) {
	lu := newLU(t, 1<<20, Config{})
	ready(t, lu, nexusA)
	for _, tc := range []struct {
		read, write scsi.OpCode
		lba         uint64
		n           uint32
	}{
		{scsi.OpRead6, scsi.OpWrite6, 3, 2},
		{scsi.OpRead10, scsi.OpWrite10, 100, 8},
		{scsi.OpRead12, scsi.OpWrite12, 200, 16},
		{scsi.OpRead16, scsi.OpWrite16, 2047, 1},
	} {
		t.Run(tc.write.String(), func(t *testing.T) {
			data := pattern(int(tc.n)*512, byte(tc.lba))
			r, _ := run(lu, nexusA, cdbRW(tc.write, tc.lba, tc.n, 0), data, 0)
			mustGood(t, r, "write")
			r, got := run(lu, nexusA, cdbRW(tc.read, tc.lba, tc.n, 0), nil, len(data))
			mustGood(t, r, "read")
			if diff := cmp.Diff(data, got); diff != "" {
				t.Fatalf("read back (-want +got):\n%s", diff)
			}
		})
	}
}

func TestReadWriteErrors(t *testing.T) {
	lu := newLU(t, 1<<20, Config{MaxTransferLength: 64}) // 2048 blocks
	ready(t, lu, nexusA)
	type want struct {
		Status scsi.Status
		Key    scsi.SenseKey
		Code   scsi.ASC
		Info   uint64
		InfoOK bool
		SKS    scsi.SenseKeySpecific
		DataIn int
	}
	fp := func(b uint16, bit int) scsi.SenseKeySpecific { return scsi.FieldPointer(true, b, bit) }
	rw10 := func(op scsi.OpCode, lba uint64, n uint32, flags byte) []byte { return cdbRW(op, lba, n, flags) }
	for _, tc := range []struct {
		name    string
		cdb     []byte
		dataOut int
		dataIn  int
		want    want
	}{
		{"read last block", rw10(scsi.OpRead10, 2047, 1, 0), 0, 512, want{DataIn: 512}},
		{"read past end", rw10(scsi.OpRead10, 2047, 2, 0), 0, 1024, want{Status: 2, Key: scsi.SenseIllegalRequest, Code: scsi.ASCLBAOutOfRange, Info: 2047, InfoOK: true}},
		{"read16 huge lba", rw10(scsi.OpRead16, 1<<63, 1, 0), 0, 512, want{Status: 2, Key: scsi.SenseIllegalRequest, Code: scsi.ASCLBAOutOfRange, Info: 1 << 63, InfoOK: true}},
		{"read16 lba+len wraps", rw10(scsi.OpRead16, ^uint64(0), 2, 0), 0, 512, want{Status: 2, Key: scsi.SenseIllegalRequest, Code: scsi.ASCLBAOutOfRange, Info: ^uint64(0), InfoOK: true}},
		{"write past end", rw10(scsi.OpWrite10, 2048, 1, 0), 512, 0, want{Status: 2, Key: scsi.SenseIllegalRequest, Code: scsi.ASCLBAOutOfRange, Info: 2048, InfoOK: true}},
		{"read10 zero length", rw10(scsi.OpRead10, 5, 0, 0), 0, 512, want{}},
		{"write10 zero length", rw10(scsi.OpWrite10, 5, 0, 0), 0, 0, want{}},
		{"read6 zero is 256", rw10(scsi.OpRead6, 0, 0, 0), 0, 256 * 512, want{Status: 2, Key: scsi.SenseIllegalRequest, Code: scsi.ASCInvalidFieldInCDB, SKS: fp(4, -1)}},
		{"read over max transfer", rw10(scsi.OpRead10, 0, 65, 0), 0, 65 * 512, want{Status: 2, Key: scsi.SenseIllegalRequest, Code: scsi.ASCInvalidFieldInCDB, SKS: fp(7, -1)}},
		{"write12 over max transfer", rw10(scsi.OpWrite12, 0, 65, 0), 65 * 512, 0, want{Status: 2, Key: scsi.SenseIllegalRequest, Code: scsi.ASCInvalidFieldInCDB, SKS: fp(6, -1)}},
		{"read16 over max transfer", rw10(scsi.OpRead16, 0, 1<<31, 0), 0, 0, want{Status: 2, Key: scsi.SenseIllegalRequest, Code: scsi.ASCInvalidFieldInCDB, SKS: fp(10, -1)}},
		{"rdprotect", rw10(scsi.OpRead10, 0, 1, 0x20), 0, 512, want{Status: 2, Key: scsi.SenseIllegalRequest, Code: scsi.ASCInvalidFieldInCDB, SKS: fp(1, 5)}},
		{"wrprotect", rw10(scsi.OpWrite16, 0, 1, 0x80), 512, 0, want{Status: 2, Key: scsi.SenseIllegalRequest, Code: scsi.ASCInvalidFieldInCDB, SKS: fp(1, 7)}},
		{"naca", append(rw10(scsi.OpRead10, 0, 1, 0)[:9], 0x04), 0, 512, want{Status: 2, Key: scsi.SenseIllegalRequest, Code: scsi.ASCInvalidFieldInCDB, SKS: fp(9, 2)}},
		{"short data-out writes what came", rw10(scsi.OpWrite10, 0, 2, 0), 512, 0, want{}},
		{"long data-out", rw10(scsi.OpWrite10, 0, 2, 0), 1536, 0, want{Status: 2, Key: scsi.SenseIllegalRequest, Code: scsi.ASCInvalidFieldInCommandInformationUnit}},
		{"short data-in buffer", rw10(scsi.OpRead10, 0, 2, 0), 0, 700, want{DataIn: 700}},
		{"fua dpo", rw10(scsi.OpWrite10, 0, 1, 0x18), 512, 0, want{}},
		{"fua_nv", rw10(scsi.OpWrite12, 0, 1, 0x0a), 512, 0, want{}},
		{"read fua_nv rarc", rw10(scsi.OpRead16, 0, 1, 0x0e), 0, 512, want{DataIn: 512}},
		{"write rarc bit reserved", rw10(scsi.OpWrite10, 0, 1, 0x04), 512, 0, want{Status: 2, Key: scsi.SenseIllegalRequest, Code: scsi.ASCInvalidFieldInCDB, SKS: fp(1, 2)}},
		{"cdb too short", []byte{0x28, 0, 0}, 0, 0, want{Status: 2, Key: scsi.SenseIllegalRequest, Code: scsi.ASCInvalidFieldInCDB}},
		{"unsupported opcode", []byte{0x8c, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}, 0, 0, want{Status: 2, Key: scsi.SenseIllegalRequest, Code: scsi.ASCInvalidCommandOperationCode}},
		{"unsupported service action", []byte{0x9e, 0x11, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 32, 0, 0}, 0, 32, want{Status: 2, Key: scsi.SenseIllegalRequest, Code: scsi.ASCInvalidFieldInCDB, SKS: fp(1, 4)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, _ := run(lu, nexusA, tc.cdb, make([]byte, tc.dataOut), tc.dataIn)
			got := want{Status: r.Status, Key: r.Sense.Key, Code: r.Sense.Code, Info: r.Sense.Information, InfoOK: r.Sense.InformationValid, SKS: r.Sense.SenseKeySpecific, DataIn: r.DataInLen}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Fatalf("(-want +got):\n%s", diff)
			}
		})
	}
}

// TestPartialWrite checks that a WRITE or WRITE AND VERIFY whose Data-Out
// stops short of the CDB's transfer (an iSCSI ExpectedDataTransferLength
// below it, RFC 7143 §11.4.5.1) writes the bytes received, leaves the rest
// of the range alone and ends GOOD.
func TestPartialWrite(t *testing.T) {
	for _, tc := range []struct {
		name string
		op   scsi.OpCode
		n    uint32
		sent int
	}{
		{"write10 one of two blocks", scsi.OpWrite10, 2, 512},
		{"write12 200 bytes of a block", scsi.OpWrite12, 1, 200},
		{"write16 nothing", scsi.OpWrite16, 1, 0},
		{"write and verify10 one of two", scsi.OpWriteAndVerify10, 2, 512},
		{"write and verify12 200 bytes", scsi.OpWriteAndVerify12, 1, 200},
		{"write and verify16 600 bytes", scsi.OpWriteAndVerify16, 2, 600},
	} {
		t.Run(tc.name, func(t *testing.T) {
			lu := newLU(t, 1<<20, Config{})
			ready(t, lu, nexusA)
			old := bytes.Repeat([]byte{'a'}, 1024)
			mustGood(t, first(run(lu, nexusA, cdbRW(scsi.OpWrite10, 0, 2, 0), old, 0)), "write a")
			mustGood(t, first(run(lu, nexusA, cdbRW(tc.op, 0, tc.n, 0), bytes.Repeat([]byte{'b'}, tc.sent), 0)), "short write")
			r, got := run(lu, nexusA, cdbRW(scsi.OpRead10, 0, 2, 0), nil, 1024)
			mustGood(t, r, "read")
			want := append(bytes.Repeat([]byte{'b'}, tc.sent), old[tc.sent:]...)
			if diff := cmp.Diff(want, got); diff != "" {
				t.Fatalf("read back (-want +got):\n%s", diff)
			}
		})
	}
}

func TestRead6ZeroMeans256(t *testing.T) {
	lu := newLU(t, 1<<20, Config{})
	ready(t, lu, nexusA)
	data := pattern(256*512, 9)
	mustGood(t, first(run(lu, nexusA, cdbRW(scsi.OpWrite10, 10, 256, 0), data, 0)), "write")
	r, got := run(lu, nexusA, cdbRW(scsi.OpRead6, 10, 0, 0), nil, 256*512)
	mustGood(t, r, "read(6) length 0")
	if !bytes.Equal(got, data) {
		t.Fatal("READ(6) with TRANSFER LENGTH 0 did not read 256 blocks")
	}
}

func first(r Response, _ []byte) Response { return r }

func TestFUAAndWriteCache(t *testing.T) {
	be := &countingBackend{Memory: NewMemory(1 << 20)}
	lu, err := New(be, Config{})
	if err != nil {
		t.Fatal(err)
	}
	ready(t, lu, nexusA, nexusB)
	data := make([]byte, 512)
	mustGood(t, first(run(lu, nexusA, cdbRW(scsi.OpWrite10, 0, 1, 0), data, 0)), "write")
	if n := be.flushes.Load(); n != 0 {
		t.Fatalf("write with WCE=1 flushed %d times", n)
	}
	mustGood(t, first(run(lu, nexusA, cdbRW(scsi.OpWrite10, 0, 1, 0x08), data, 0)), "write FUA")
	if n := be.flushes.Load(); n != 1 {
		t.Fatalf("FUA write flushed %d times, want 1", n)
	}
	sync := []byte{0x35, 0, 0, 0, 0, 0, 0, 0, 0, 0}
	mustGood(t, first(run(lu, nexusA, sync, nil, 0)), "synchronize cache")
	if n := be.flushes.Load(); n != 2 {
		t.Fatalf("SYNCHRONIZE CACHE flushed %d times total, want 2", n)
	}
	// Clear WCE with MODE SELECT: writes become write-through.
	r, cur := run(lu, nexusA, cdbModeSense10(true, false, 0, pageCaching, 0, 255), nil, 255)
	mustGood(t, r, "mode sense caching")
	if cur[8+2]&0x04 == 0 {
		t.Fatal("WCE is not set by default over a Flusher")
	}
	sel := append([]byte(nil), cur...)
	sel[0], sel[1] = 0, 0
	sel[8+2] &^= 0x04
	mustGood(t, first(run(lu, nexusA, cdbModeSelect10(len(sel)), sel, 0)), "mode select WCE=0")
	mustGood(t, first(run(lu, nexusA, cdbRW(scsi.OpWrite10, 0, 1, 0), data, 0)), "write WCE=0")
	if n := be.flushes.Load(); n != 3 {
		t.Fatalf("write with WCE=0 did not flush: %d flushes", n)
	}
	// The other nexus learns of the change (SPC-4 §7.5.1); the changer does not.
	wantSense(t, first(run(lu, nexusB, cdbTUR(), nil, 0)), scsi.SenseUnitAttention, scsi.ASCModeParametersChanged, "other nexus")
	mustGood(t, first(run(lu, nexusA, cdbTUR(), nil, 0)), "changing nexus")
	synced := []byte{0x91, 0, 0, 0, 0, 0, 0, 0, 0x10, 0, 0, 0, 0, 0, 0, 0}
	wantSense(t, first(run(lu, nexusA, synced, nil, 0)), scsi.SenseIllegalRequest, scsi.ASCLBAOutOfRange, "sync cache 16 past end")
}

func TestVerify(t *testing.T) {
	lu := newLU(t, 1<<20, Config{})
	ready(t, lu, nexusA)
	data := pattern(4*512, 1)
	mustGood(t, first(run(lu, nexusA, cdbRW(scsi.OpWrite10, 8, 4, 0), data, 0)), "write")
	same := bytes.Repeat([]byte{0xab}, 512)
	mustGood(t, first(run(lu, nexusA, cdbRW(scsi.OpWrite10, 20, 1, 0), same, 0)), "write")
	mustGood(t, first(run(lu, nexusA, cdbRW(scsi.OpWrite10, 21, 1, 0), same, 0)), "write")
	bad := append([]byte(nil), data...)
	bad[1000] ^= 0xff
	for _, tc := range []struct {
		name    string
		cdb     []byte
		dataOut []byte
		key     scsi.SenseKey
		info    uint64
	}{
		{"bytchk 0", cdbRW(scsi.OpVerify10, 8, 4, 0), nil, 0, 0},
		{"bytchk 1 match", cdbRW(scsi.OpVerify10, 8, 4, 0x02), data, 0, 0},
		{"bytchk 1 miscompare", cdbRW(scsi.OpVerify16, 8, 4, 0x02), bad, scsi.SenseMiscompare, 1000},
		{"verify12 match", cdbRW(scsi.OpVerify12, 8, 4, 0x02), data, 0, 0},
		{"bytchk 3 match", cdbRW(scsi.OpVerify10, 20, 2, 0x06), same, 0, 0},
		{"bytchk 3 miscompare", cdbRW(scsi.OpVerify10, 19, 3, 0x06), same, scsi.SenseMiscompare, 0},
		{"bytchk 2 reserved", cdbRW(scsi.OpVerify10, 8, 1, 0x04), data, scsi.SenseIllegalRequest, 0},
		{"past end", cdbRW(scsi.OpVerify10, 2047, 2, 0), nil, scsi.SenseIllegalRequest, 2047},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, _ := run(lu, nexusA, tc.cdb, tc.dataOut, 0)
			if tc.key == 0 {
				mustGood(t, r, tc.name)
				return
			}
			if r.Sense.Key != tc.key || r.Sense.Information != tc.info {
				t.Fatalf("sense %v info %d, want %v info %d", r.Sense, r.Sense.Information, tc.key, tc.info)
			}
			if tc.key == scsi.SenseMiscompare && (r.Sense.Code != scsi.ASCMiscompareDuringVerifyOperation || !r.Sense.InformationValid) {
				t.Fatalf("miscompare sense %+v", r.Sense)
			}
		})
	}
}

func cdbCAW(lba uint64, n byte) []byte {
	c := make([]byte, 16)
	c[0] = 0x89
	binary.BigEndian.PutUint64(c[2:], lba)
	c[13] = n
	return c
}

func TestCompareAndWrite(t *testing.T) {
	lu := newLU(t, 1<<20, Config{MaxCompareAndWriteLength: 2})
	ready(t, lu, nexusA)
	old, next := pattern(1024, 3), pattern(1024, 77)
	mustGood(t, first(run(lu, nexusA, cdbRW(scsi.OpWrite10, 4, 2, 0), old, 0)), "write")
	mustGood(t, first(run(lu, nexusA, cdbCAW(4, 2), append(append([]byte(nil), old...), next...), 0)), "compare and write")
	_, got := run(lu, nexusA, cdbRW(scsi.OpRead10, 4, 2, 0), nil, 1024)
	if !bytes.Equal(got, next) {
		t.Fatal("COMPARE AND WRITE did not write")
	}
	// Miscompare: nothing written, INFORMATION = offset of first difference.
	wrongVerify := append([]byte(nil), next...)
	wrongVerify[600] ^= 1
	r, _ := run(lu, nexusA, cdbCAW(4, 2), append(wrongVerify, old...), 0)
	wantSense(t, r, scsi.SenseMiscompare, scsi.ASCMiscompareDuringVerifyOperation, "miscompare")
	if !r.Sense.InformationValid || r.Sense.Information != 600 {
		t.Fatalf("miscompare INFORMATION %d valid %v, want 600", r.Sense.Information, r.Sense.InformationValid)
	}
	_, got = run(lu, nexusA, cdbRW(scsi.OpRead10, 4, 2, 0), nil, 1024)
	if !bytes.Equal(got, next) {
		t.Fatal("a miscompared COMPARE AND WRITE changed the medium")
	}
	r, _ = run(lu, nexusA, cdbCAW(4, 3), make([]byte, 3*1024), 0)
	wantSense(t, r, scsi.SenseIllegalRequest, scsi.ASCInvalidFieldInCDB, "over max")
	if diff := cmp.Diff(scsi.FieldPointer(true, 13, -1), r.Sense.SenseKeySpecific); diff != "" {
		t.Fatalf("field pointer (-want +got):\n%s", diff)
	}
	mustGood(t, first(run(lu, nexusA, cdbCAW(4, 0), nil, 0)), "zero blocks")
	wantSense(t, first(run(lu, nexusA, cdbCAW(2047, 2), make([]byte, 2048), 0)), scsi.SenseIllegalRequest, scsi.ASCLBAOutOfRange, "past end")
	wantSense(t, first(run(lu, nexusA, cdbCAW(4, 2), make([]byte, 1024), 0)), scsi.SenseIllegalRequest, scsi.ASCInvalidFieldInCommandInformationUnit, "short data-out")
	wantSense(t, first(run(lu, nexusA, cdbCAW(4, 1), make([]byte, 2048), 0)), scsi.SenseIllegalRequest, scsi.ASCInvalidFieldInCommandInformationUnit, "long data-out")
}

func TestWriteAtomicAndWriteAndVerify(t *testing.T) {
	be := &countingBackend{Memory: NewMemory(1 << 20)}
	lu, err := New(be, Config{MaxAtomicTransferLength: 4})
	if err != nil {
		t.Fatal(err)
	}
	ready(t, lu, nexusA)
	wa := func(lba uint64, n uint16) []byte {
		c := make([]byte, 16)
		c[0] = 0x9c
		binary.BigEndian.PutUint64(c[2:], lba)
		binary.BigEndian.PutUint16(c[12:], n)
		return c
	}
	data := pattern(4*512, 5)
	mustGood(t, first(run(lu, nexusA, wa(10, 4), data, 0)), "write atomic")
	_, got := run(lu, nexusA, cdbRW(scsi.OpRead16, 10, 4, 0), nil, len(data))
	if !bytes.Equal(got, data) {
		t.Fatal("WRITE ATOMIC(16) data not read back")
	}
	r, _ := run(lu, nexusA, wa(10, 5), make([]byte, 5*512), 0)
	wantSense(t, r, scsi.SenseIllegalRequest, scsi.ASCInvalidFieldInCDB, "over max atomic")
	if r.Sense.SenseKeySpecific.FieldPointer != 12 {
		t.Fatalf("field pointer %d, want 12", r.Sense.SenseKeySpecific.FieldPointer)
	}
	// Past the end of the medium the range error wins over the length
	// error (libiscsi's WriteAtomic16.BeyondEol).
	wantSense(t, first(run(lu, nexusA, wa(2047, 5), make([]byte, 5*512), 0)), scsi.SenseIllegalRequest, scsi.ASCLBAOutOfRange, "past the end and over max atomic")
	boundary := wa(10, 1)
	boundary[11] = 1
	wantSense(t, first(run(lu, nexusA, boundary, make([]byte, 512), 0)), scsi.SenseIllegalRequest, scsi.ASCInvalidFieldInCDB, "atomic boundary")
	flushes := be.flushes.Load()
	for _, op := range []scsi.OpCode{scsi.OpWriteAndVerify10, scsi.OpWriteAndVerify12, scsi.OpWriteAndVerify16} {
		mustGood(t, first(run(lu, nexusA, cdbRW(op, 30, 4, 0x02), data, 0)), op.String())
		_, got := run(lu, nexusA, cdbRW(scsi.OpRead10, 30, 4, 0), nil, len(data))
		if !bytes.Equal(got, data) {
			t.Fatalf("%v data not read back", op)
		}
	}
	if be.flushes.Load() != flushes+3 {
		t.Fatalf("WRITE AND VERIFY flushed %d times, want 3", be.flushes.Load()-flushes)
	}
}

func TestPreFetchAndReadCapacity(t *testing.T) {
	lu := newLU(t, 1<<20, Config{})
	ready(t, lu, nexusA)
	mustGood(t, first(run(lu, nexusA, cdbRW(scsi.OpPreFetch10, 0, 2048, 0), nil, 0)), "pre-fetch whole")
	wantSense(t, first(run(lu, nexusA, cdbRW(scsi.OpPreFetch16, 2048, 1, 0), nil, 0)), scsi.SenseIllegalRequest, scsi.ASCLBAOutOfRange, "pre-fetch past end")

	r, d := run(lu, nexusA, []byte{0x25, 0, 0, 0, 0, 0, 0, 0, 0, 0}, nil, 8)
	mustGood(t, r, "read capacity 10")
	if diff := cmp.Diff([]byte{0, 0, 0x07, 0xff, 0, 0, 2, 0}, d); diff != "" {
		t.Fatalf("READ CAPACITY(10) (-want +got):\n%s", diff)
	}
	rc16 := []byte{0x9e, 0x10, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 32, 0, 0}
	r, d = run(lu, nexusA, rc16, nil, 32)
	mustGood(t, r, "read capacity 16")
	want := make([]byte, 32)
	binary.BigEndian.PutUint64(want, 2047)
	binary.BigEndian.PutUint32(want[8:], 512)
	if diff := cmp.Diff(want, d); diff != "" {
		t.Fatalf("READ CAPACITY(16) (-want +got):\n%s", diff)
	}
	// Allocation length truncates.
	rc16[13] = 12
	if r, d = run(lu, nexusA, rc16, nil, 32); r.DataInLen != 12 || !bytes.Equal(d, want[:12]) {
		t.Fatalf("READ CAPACITY(16) with allocation length 12: %d bytes", r.DataInLen)
	}

	// A 64 TiB, 4096-byte-block thin disk: READ CAPACITY(10) says FFFFFFFFh.
	big := newLU(t, 64<<40, Config{BlockSize: 4096, ThinProvisioning: true})
	ready(t, big, nexusA)
	_, d = run(big, nexusA, []byte{0x25, 0, 0, 0, 0, 0, 0, 0, 0, 0}, nil, 8)
	if diff := cmp.Diff([]byte{0xff, 0xff, 0xff, 0xff, 0, 0, 0x10, 0}, d); diff != "" {
		t.Fatalf("READ CAPACITY(10) of 64 TiB (-want +got):\n%s", diff)
	}
	rc16[13] = 32
	_, d = run(big, nexusA, rc16, nil, 32)
	if last := binary.BigEndian.Uint64(d); last != 1<<34-1 || d[14] != 0xc0 {
		t.Fatalf("READ CAPACITY(16) of 64 TiB: last LBA %d, byte 14 %#x", last, d[14])
	}
}

func TestDataOutLength(t *testing.T) {
	lu := newLU(t, 1<<20, Config{ThinProvisioning: true, BlockSize: 4096})
	caw := cdbCAW(0, 3)
	for _, tc := range []struct {
		name string
		cdb  []byte
		want int
	}{
		{"read", cdbRW(scsi.OpRead10, 0, 8, 0), 0},
		{"write6 zero is 256", cdbRW(scsi.OpWrite6, 0, 0, 0), 256 * 4096},
		{"write16", cdbRW(scsi.OpWrite16, 0, 3, 0), 3 * 4096},
		{"write and verify12", cdbRW(scsi.OpWriteAndVerify12, 0, 2, 0), 2 * 4096},
		{"verify bytchk 0", cdbRW(scsi.OpVerify10, 0, 2, 0), 0},
		{"verify bytchk 1", cdbRW(scsi.OpVerify10, 0, 2, 0x02), 2 * 4096},
		{"verify bytchk 3", cdbRW(scsi.OpVerify16, 0, 2, 0x06), 4096},
		{"write same 10", cdbWriteSame(false, 0, 9, 0), 4096},
		{"write same 16 ndob", cdbWriteSame(true, 0, 9, 0x01), 0},
		{"compare and write", caw, 6 * 4096},
		{"unmap", cdbUnmap(40), 40},
		{"mode select 6", []byte{0x15, 0x10, 0, 0, 28, 0}, 28},
		{"mode select 10", cdbModeSelect10(300), 300},
		{"pr out", cdbPROut(proRegister, 0), 24},
		{"sanitize", []byte{0x48, 0x01, 0, 0, 0, 0, 0, 0, 9, 0}, 9},
		{"unsupported", []byte{0x8c, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}, 0},
		{"extended copy", []byte{0x83, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01, 0x10, 0, 0}, 0x110},
		{"short", []byte{0x2a, 0}, 0},
		{"empty", nil, 0},
	} {
		if got := lu.DataOutLength(tc.cdb); got != tc.want {
			t.Errorf("%s: DataOutLength = %d, want %d", tc.name, got, tc.want)
		}
	}
}

// TestDecodeAgreesWithScsiPackage checks decodeLBA against the CDBs that
// package scsi builds for the READ, WRITE, VERIFY and WRITE AND VERIFY
// families.
func TestDecodeAgreesWithScsiPackage(t *testing.T) {
	ops := []scsi.OpCode{scsi.OpRead6, scsi.OpRead10, scsi.OpRead12, scsi.OpRead16, scsi.OpWrite6, scsi.OpWrite10,
		scsi.OpWrite12, scsi.OpWrite16, scsi.OpVerify10, scsi.OpVerify12, scsi.OpVerify16,
		scsi.OpWriteAndVerify10, scsi.OpWriteAndVerify12, scsi.OpWriteAndVerify16}
	lbas := []uint64{0, 1, 0x1fffff, 0xffffffff, 1 << 40, ^uint64(0)}
	lens := []uint32{1, 255, 256, 0xffff, 0x10000, 0xffffffff}
	checked := 0
	for _, op := range ops {
		for _, lba := range lbas {
			for _, n := range lens {
				cdb, err := scsi.ReadWrite{Op: op, LBA: lba, TransferLength: n}.Append(nil)
				if err != nil {
					continue // does not fit this CDB length
				}
				gotLBA, gotN := decodeLBA(cdb)
				if gotLBA != lba || gotN != n {
					t.Errorf("%v LBA %d length %d: decoded LBA %d length %d from % x", op, lba, n, gotLBA, gotN, cdb)
				}
				rw, err := scsi.ParseReadWrite(cdb)
				if err != nil || rw.LBA != gotLBA || rw.TransferLength != gotN {
					t.Errorf("%v: scsi.ParseReadWrite = %+v, %v", op, rw, err)
				}
				checked++
			}
		}
	}
	if checked < len(ops)*4 {
		t.Fatalf("only %d CDBs checked", checked)
	}
}

// TestORWrite checks ORWRITE(16) (SBC-4 §5.8): the blocks become old OR
// new, and the errors of a WRITE(16)-shaped CDB.
func TestORWrite(t *testing.T) {
	lu := newLU(t, 1<<20, Config{MaxTransferLength: 8, ThinProvisioning: true})
	ready(t, lu, nexusA)
	fill := func(b byte, n int) []byte { return bytes.Repeat([]byte{b}, n) }
	mustGood(t, first(run(lu, nexusA, cdbRW(scsi.OpWrite16, 4, 2, 0), fill(0xa5, 1024), 0)), "write")
	mustGood(t, first(run(lu, nexusA, cdbRW(scsi.OpOrWrite, 4, 2, 0), fill(0x5a, 1024), 0)), "orwrite")
	if _, got := run(lu, nexusA, cdbRW(scsi.OpRead16, 4, 2, 0), nil, 1024); !bytes.Equal(got, fill(0xff, 1024)) {
		t.Fatal("ORWRITE did not OR the data into the blocks")
	}
	mustGood(t, first(run(lu, nexusA, cdbRW(scsi.OpOrWrite, 0, 1, 0x18), fill(0x01, 512), 0)), "orwrite with DPO and FUA")
	if _, got := run(lu, nexusA, cdbRW(scsi.OpRead16, 0, 1, 0), nil, 512); !bytes.Equal(got, fill(0x01, 512)) {
		t.Fatal("ORWRITE over zeros is not the data")
	}
	for _, tc := range []struct {
		name     string
		cdb      []byte
		data     []byte
		key      scsi.SenseKey
		asc      scsi.ASC
		fieldPtr int
	}{
		{"past the end", cdbRW(scsi.OpOrWrite, 2047, 2, 0), make([]byte, 1024), scsi.SenseIllegalRequest, scsi.ASCLBAOutOfRange, -1},
		{"over MAXIMUM TRANSFER LENGTH", cdbRW(scsi.OpOrWrite, 0, 9, 0), make([]byte, 9*512), scsi.SenseIllegalRequest, scsi.ASCInvalidFieldInCDB, 10},
		{"ORPROTECT", cdbRW(scsi.OpOrWrite, 0, 1, 0x20), make([]byte, 512), scsi.SenseIllegalRequest, scsi.ASCInvalidFieldInCDB, 1},
		{"short data-out", cdbRW(scsi.OpOrWrite, 0, 2, 0), make([]byte, 512), scsi.SenseIllegalRequest, scsi.ASCInvalidFieldInCommandInformationUnit, -1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, _ := run(lu, nexusA, tc.cdb, tc.data, 0)
			wantSense(t, r, tc.key, tc.asc, tc.name)
			if tc.fieldPtr >= 0 && int(r.Sense.SenseKeySpecific.FieldPointer) != tc.fieldPtr {
				t.Fatalf("field pointer %d, want %d", r.Sense.SenseKeySpecific.FieldPointer, tc.fieldPtr)
			}
		})
	}
	mustGood(t, first(run(lu, nexusA, cdbRW(scsi.OpOrWrite, 4, 0, 0), nil, 0)), "zero blocks")
	if n := lu.DataOutLength(cdbRW(scsi.OpOrWrite, 4, 3, 0)); n != 3*512 {
		t.Fatalf("DataOutLength %d, want %d", n, 3*512)
	}
	ro := newLU(t, 1<<20, Config{ReadOnly: true})
	ready(t, ro, nexusA)
	wantSense(t, first(run(ro, nexusA, cdbRW(scsi.OpOrWrite, 0, 1, 0), make([]byte, 512), 0)), scsi.SenseDataProtect, scsi.ASCWriteProtected, "read-only")
}

// TestDataOutBufferSize checks that the logical block data that must have
// exactly the CDB's length fails with INVALID FIELD IN COMMAND
// INFORMATION UNIT, writing nothing, when the initiator's Data-Out buffer
// (Request.DataOutBufferSize) is larger than the data the transport
// moved, and that WRITE keeps writing what it got (RFC 7143 §11.4.5.2
// underflow).
func TestDataOutBufferSize(t *testing.T) {
	lu := newLU(t, 1<<20, Config{ThinProvisioning: true})
	ready(t, lu, nexusA)
	old := pattern(512, 9)
	exec := func(cdb, dataOut []byte, bufSize int64) Response {
		req := &Request{Nexus: nexusA, CDB: cdb, DataOut: dataOut, DataOutBufferSize: bufSize}
		return lu.Execute(context.Background(), req)
	}
	ws := func(sixteen bool, flags byte) []byte { return cdbWriteSame(sixteen, 8, 1, flags) }
	verify := cdbRW(scsi.OpVerify10, 8, 1, 0x02)
	for _, tc := range []struct {
		name    string
		cdb     []byte
		dataOut []byte
		bufSize int64
	}{
		{"WRITE SAME(10)", ws(false, 0), pattern(512, 1), 1024},
		{"WRITE SAME(10) with UNMAP", ws(false, 0x08), make([]byte, 512), 1024},
		{"WRITE SAME(16)", ws(true, 0), pattern(512, 1), 1024},
		{"WRITE SAME(16) with NDOB", ws(true, 0x01), nil, 512},
		{"COMPARE AND WRITE", cdbCAW(8, 1), append(append([]byte(nil), old...), pattern(512, 2)...), 2048},
		{"VERIFY(10) with BYTCHK", verify, old, 1024},
	} {
		mustGood(t, first(run(lu, nexusA, cdbRW(scsi.OpWrite10, 8, 1, 0), old, 0)), "write")
		wantSense(t, exec(tc.cdb, tc.dataOut, tc.bufSize), scsi.SenseIllegalRequest, scsi.ASCInvalidFieldInCommandInformationUnit, tc.name)
		if _, got := run(lu, nexusA, cdbRW(scsi.OpRead10, 8, 1, 0), nil, 512); !bytes.Equal(got, old) {
			t.Fatalf("%s with a larger Data-Out buffer changed the medium", tc.name)
		}
		// With the buffer the CDB's length the command runs.
		mustGood(t, exec(tc.cdb, tc.dataOut, int64(len(tc.dataOut))), tc.name+" with an exact buffer")
	}
	// WRITE writes the block it got; the rest is the transport's residual.
	mustGood(t, exec(cdbRW(scsi.OpWrite10, 8, 1, 0), pattern(512, 3), 1024), "WRITE with a larger buffer")
	if _, got := run(lu, nexusA, cdbRW(scsi.OpRead10, 8, 1, 0), nil, 512); !bytes.Equal(got, pattern(512, 3)) {
		t.Fatal("WRITE with a larger Data-Out buffer did not write")
	}
}

// TestPhysicalBlockSize checks a 512e logical unit (Config.PhysicalBlockSize
// 4096 over 512-byte blocks): READ CAPACITY(16) reports LOGICAL BLOCKS PER
// PHYSICAL BLOCK EXPONENT 3 with LOWEST ALIGNED LOGICAL BLOCK ADDRESS 0
// (SBC-4 §5.21.2), the Block Limits granularities default to a physical
// block (SBC-4 §6.6.3), and an UNMAP or WRITE SAME with UNMAP of part of a
// physical block succeeds and reads back as zeros.
func TestPhysicalBlockSize(t *testing.T) {
	for _, tc := range []struct {
		bs, pbs int
		lbppbe  byte
		gran    uint32 // optimal transfer and unmap granularity, blocks
	}{
		{512, 0, 0, 8},
		{512, 4096, 3, 8},
		{512, 65536, 7, 128},
		{4096, 16384, 2, 4},
		{4096, 0, 0, 1},
	} {
		lu := newLU(t, 1<<20, Config{BlockSize: tc.bs, PhysicalBlockSize: tc.pbs, ThinProvisioning: true})
		ready(t, lu, nexusA)
		_, d := run(lu, nexusA, []byte{0x9e, 0x10, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 32, 0, 0}, nil, 32)
		rc, err := scsi.ParseReadCapacity16Data(d)
		if err != nil || rc.LBPPBE != tc.lbppbe || rc.LowestAlignedLBA != 0 || rc.BlockLength != uint32(tc.bs) {
			t.Errorf("%d/%d: READ CAPACITY(16) %+v %v, want LBPPBE %d", tc.bs, tc.pbs, rc, err, tc.lbppbe)
		}
		_, d = run(lu, nexusA, cdbInquiry(true, 0xb0, 64), nil, 64)
		bl := scsi.ParseBlockLimits(d[4:])
		if uint32(bl.OptimalTransferLengthGranularity) != tc.gran || bl.OptimalUnmapGranularity != tc.gran || !bl.UGAValid || bl.UnmapGranularityAlignment != 0 {
			t.Errorf("%d/%d: block limits %+v, want granularities %d", tc.bs, tc.pbs, bl, tc.gran)
		}
	}
	lu := newLU(t, 1<<20, Config{PhysicalBlockSize: 4096, ThinProvisioning: true})
	ready(t, lu, nexusA)
	mustGood(t, first(run(lu, nexusA, cdbRW(scsi.OpWrite10, 0, 16, 0), pattern(16*512, 4), 0)), "write")
	mustGood(t, first(run(lu, nexusA, cdbWriteSame(false, 1, 7, 0x08), make([]byte, 512), 0)), "unaligned WRITE SAME(10) with UNMAP")
	mustGood(t, first(run(lu, nexusA, cdbWriteSame(true, 9, 3, 0x08), make([]byte, 512), 0)), "unaligned WRITE SAME(16) with UNMAP")
	_, got := run(lu, nexusA, cdbRW(scsi.OpRead10, 0, 16, 0), nil, 16*512)
	want := pattern(16*512, 4)
	clear(want[512 : 8*512])
	clear(want[9*512 : 12*512])
	if !bytes.Equal(got, want) {
		t.Fatal("partly unmapped physical blocks do not read back as written and zeros")
	}
}

func TestPhysicalBlockSizeConfig(t *testing.T) {
	for _, c := range []Config{
		{PhysicalBlockSize: 256},
		{PhysicalBlockSize: 1536},
		{PhysicalBlockSize: 3 * 512 * 2},
		{PhysicalBlockSize: 512 << 16},
		{BlockSize: 4096, PhysicalBlockSize: 2048},
	} {
		_, err := New(NewMemory(1<<20), c)
		var ce *ConfigError
		if !errors.As(err, &ce) || ce.Field != "PhysicalBlockSize" {
			t.Errorf("%d/%d: %v, want a *ConfigError on PhysicalBlockSize", c.BlockSize, c.PhysicalBlockSize, err)
		}
	}
	lu, err := New(NewMemory(1<<20), Config{PhysicalBlockSize: 512 << 15})
	if err != nil || lu.Config().PhysicalBlockSize != 512<<15 {
		t.Fatalf("2^15 logical blocks per physical block: %v", err)
	}
	if lu := newLU(t, 1<<20, Config{BlockSize: 2048}); lu.Config().PhysicalBlockSize != 2048 {
		t.Fatalf("default PhysicalBlockSize %d, want BlockSize", lu.Config().PhysicalBlockSize)
	}
}
