package disk

import (
	"encoding/binary"
	"sync"
	"testing"

	"github.com/go-iscsi/iscsi/scsi"
)

// syncTracking is a Memory that counts the bytes changed since its last
// Flush, so that a test can tell whether a flush came after every change
// that preceded a status.
type syncTracking struct {
	*Memory
	mu      sync.Mutex
	dirty   int64
	total   int64
	flushes int
}

func (s *syncTracking) changed(n int64) {
	s.mu.Lock()
	s.dirty += n
	s.total += n
	s.mu.Unlock()
}

func (s *syncTracking) WriteAt(p []byte, off int64) (int, error) {
	n, err := s.Memory.WriteAt(p, off)
	s.changed(int64(n))
	return n, err
}

func (s *syncTracking) Deallocate(off, n int64) error {
	err := s.Memory.Deallocate(off, n)
	s.changed(n)
	return err
}

func (s *syncTracking) WriteZeroes(off, n int64) error {
	err := s.Memory.WriteZeroes(off, n)
	s.changed(n)
	return err
}

func (s *syncTracking) Flush() error {
	s.mu.Lock()
	s.dirty = 0
	s.flushes++
	s.mu.Unlock()
	return nil
}

// changes returns the bytes changed since the backend was made.
func (s *syncTracking) changes() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.total
}

// unsynced returns the bytes changed since the last flush.
func (s *syncTracking) unsynced() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.dirty
}

// setWCE sets the WCE bit of the Caching mode page (SBC-4 §6.5.5) with
// MODE SENSE(10) and MODE SELECT(10).
func setWCE(t *testing.T, lu *LU, on bool) {
	t.Helper()
	r, cur := run(lu, nexusA, cdbModeSense10(true, false, 0, pageCaching, 0, 255), nil, 255)
	mustGood(t, r, "mode sense caching")
	sel := append([]byte(nil), cur...)
	sel[0], sel[1] = 0, 0
	sel[8+2] &^= 0x04
	if on {
		sel[8+2] |= 0x04
	}
	mustGood(t, first(run(lu, nexusA, cdbModeSelect10(len(sel)), sel, 0)), "mode select WCE")
}

// cdbWriteAtomic16 builds WRITE ATOMIC(16) (SBC-4 §5.48) with no atomic
// boundary.
func cdbWriteAtomic16(lba uint64, n uint16) []byte {
	c := make([]byte, 16)
	c[0] = 0x9c
	binary.BigEndian.PutUint64(c[2:], lba)
	binary.BigEndian.PutUint16(c[12:], n)
	return c
}

// withFUA sets the FUA bit (byte 1 bit 3) of cdb.
func withFUA(cdb []byte) []byte {
	cdb[1] |= 0x08
	return cdb
}

// TestDurableBeforeGood: a command that changes the medium returns GOOD
// only after a flush that follows the change when FUA is set (SBC-4 §5.40,
// §5.44), when the write cache is off (WCE zero, SBC-4 §6.5.5), after
// WRITE AND VERIFY (its verification reads the medium, SBC-4 §5.45), and
// for SYNCHRONIZE CACHE (SBC-4 §5.24); with WCE one and no FUA a write may
// stay in the cache, which the first row shows the tracking can see.
func TestDurableBeforeGood(t *testing.T) {
	block := pattern(512, 3)
	blocks4 := pattern(4*512, 4)
	tests := []struct {
		name string
		wce  bool
		// before runs first (a write left in the cache), then cdb.
		before     []byte
		cdb        []byte
		data       []byte
		wantSynced bool
	}{
		{"WRITE(10) cached", true, nil, cdbRW(scsi.OpWrite10, 8, 4, 0), blocks4, false},
		{"WRITE(10) FUA", true, nil, cdbRW(scsi.OpWrite10, 8, 4, 0x08), blocks4, true},
		{"WRITE(12) FUA", true, nil, cdbRW(scsi.OpWrite12, 8, 4, 0x08), blocks4, true},
		{"WRITE(16) FUA", true, nil, cdbRW(scsi.OpWrite16, 8, 4, 0x08), blocks4, true},
		{"WRITE AND VERIFY(16)", true, nil, cdbRW(scsi.OpWriteAndVerify16, 8, 4, 0), blocks4, true},
		{"COMPARE AND WRITE cached", true, nil, cdbCAW(100, 1), append(make([]byte, 512), block...), false},
		{"COMPARE AND WRITE FUA", true, nil, withFUA(cdbCAW(100, 1)), append(make([]byte, 512), block...), true},
		{"WRITE ATOMIC(16) FUA", true, nil, withFUA(cdbWriteAtomic16(8, 4)), blocks4, true},
		{"SYNCHRONIZE CACHE(10)", true, cdbRW(scsi.OpWrite10, 8, 4, 0), []byte{0x35, 0, 0, 0, 0, 0, 0, 0, 0, 0}, nil, true},
		{"SYNCHRONIZE CACHE(16)", true, cdbRW(scsi.OpWrite10, 8, 4, 0), cat(u(0x91), make([]byte, 15)), nil, true},
		{"WRITE(6) WCE=0", false, nil, cdbRW(scsi.OpWrite6, 8, 4, 0), blocks4, true},
		{"WRITE(10) WCE=0", false, nil, cdbRW(scsi.OpWrite10, 8, 4, 0), blocks4, true},
		{"WRITE(16) WCE=0", false, nil, cdbRW(scsi.OpWrite16, 8, 4, 0), blocks4, true},
		{"WRITE SAME(16) WCE=0", false, nil, cdbWriteSame(true, 8, 16, 0), block, true},
		{"WRITE SAME(16) UNMAP WCE=0", false, nil, cdbWriteSame(true, 8, 16, 0x08), make([]byte, 512), true},
		{"COMPARE AND WRITE WCE=0", false, nil, cdbCAW(100, 1), append(make([]byte, 512), block...), true},
		{"UNMAP WCE=0", false, nil, cdbUnmap(24), unmapList([2]uint64{8, 16}), true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			be := &syncTracking{Memory: NewMemory(1 << 20)}
			lu, err := New(be, Config{ThinProvisioning: true, MaxCompareAndWriteLength: 4, MaxAtomicTransferLength: 4})
			if err != nil {
				t.Fatal(err)
			}
			ready(t, lu, nexusA)
			if !tc.wce {
				setWCE(t, lu, false)
			}
			if tc.before != nil {
				mustGood(t, first(run(lu, nexusA, tc.before, blocks4, 0)), "write before")
				if be.unsynced() == 0 {
					t.Fatal("a cached write was flushed: the row tests nothing")
				}
			}
			changed := be.changes()
			mustGood(t, first(run(lu, nexusA, tc.cdb, tc.data, 0)), tc.name)
			if tc.data != nil && be.changes() == changed {
				t.Fatal("the command changed nothing: the row tests nothing")
			}
			if got := be.unsynced() == 0; got != tc.wantSynced {
				t.Errorf("after GOOD, %d bytes not flushed (%d flushes); want synced %v", be.unsynced(), be.flushes, tc.wantSynced)
			}
		})
	}
}
