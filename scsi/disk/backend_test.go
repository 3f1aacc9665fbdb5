package disk

import (
	"bytes"
	"errors"
	"io"
	"os"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
)

type mapRun struct {
	Mapped bool
	N      int64
}

func TestMemoryBackend(t *testing.T) {
	const tb = 1 << 40
	m := NewMemory(tb)
	if m.Size() != tb || m.AllocatedBytes() != 0 {
		t.Fatalf("new 1 TiB Memory: size %d allocated %d", m.Size(), m.AllocatedBytes())
	}
	data := pattern(100<<10, 4)
	if _, err := m.WriteAt(data, tb-int64(len(data))); err != nil {
		t.Fatal(err)
	}
	if m.AllocatedBytes() != 2*memoryChunk {
		t.Fatalf("100 KiB write at the end allocated %d bytes", m.AllocatedBytes())
	}
	got := make([]byte, len(data))
	if _, err := m.ReadAt(got, tb-int64(len(data))); err != nil || !bytes.Equal(got, data) {
		t.Fatalf("read back: %v", err)
	}
	for _, tc := range []struct {
		name string
		err  error
	}{
		{"read past end", func() error { _, err := m.ReadAt(make([]byte, 2), tb-1); return err }()},
		{"read negative", func() error { _, err := m.ReadAt(make([]byte, 2), -1); return err }()},
		{"write past end", func() error { _, err := m.WriteAt(make([]byte, 2), tb-1); return err }()},
		{"deallocate past end", m.Deallocate(tb-10, 11)},
		{"zeroes negative", m.WriteZeroes(-5, 1)},
		{"mapping at size", func() error { _, _, err := m.Mapping(tb); return err }()},
	} {
		var re *RangeError
		if !errors.Is(tc.err, ErrOutsideBackend) || !errors.As(tc.err, &re) {
			t.Errorf("%s: %v, want a *RangeError", tc.name, tc.err)
		}
	}
	if _, err := m.ReadAt(make([]byte, 1), tb); err != io.EOF {
		t.Errorf("read at size: %v, want io.EOF", err)
	}
	// Deallocate a range that covers one chunk wholly and two partly.
	start := tb - int64(len(data))
	if err := m.Deallocate(start+1000, 70<<10); err != nil {
		t.Fatal(err)
	}
	m.ReadAt(got, start)
	want := append([]byte(nil), data...)
	clear(want[1000 : 1000+70<<10])
	if !bytes.Equal(got, want) {
		t.Fatal("deallocated range does not read as zeros, or neighbours changed")
	}
	var runs []mapRun
	for off := start - 2*memoryChunk; off < tb; {
		mapped, n, err := m.Mapping(off)
		if err != nil || n <= 0 {
			t.Fatalf("Mapping(%d) = %v, %d, %v", off, mapped, n, err)
		}
		runs = append(runs, mapRun{mapped, n})
		off += n
	}
	// start is 28 KiB into the next-to-last chunk: the runs are the rest of
	// the two unwritten chunks before it, then the two written chunks
	// (partly deallocated, so still allocated).
	if diff := cmp.Diff([]mapRun{{false, 2*memoryChunk - 28<<10}, {true, 2 * memoryChunk}}, runs); diff != "" {
		t.Fatalf("mapping (-want +got):\n%s", diff)
	}
	if err := m.Deallocate(tb-3*memoryChunk, 3*memoryChunk); err != nil || m.AllocatedBytes() != 0 {
		t.Fatalf("deallocating every written chunk left %d bytes (%v)", m.AllocatedBytes(), err)
	}
	m.WriteAt(data[:10], 0)
	if err := m.WriteZeroes(0, 5); err != nil {
		t.Fatal(err)
	}
	m.ReadAt(got[:10], 0)
	if !bytes.Equal(got[:10], append(make([]byte, 5), data[5:10]...)) {
		t.Fatal("WriteZeroes")
	}
	m.Resize(100)
	if m.Size() != 100 || m.AllocatedBytes() != memoryChunk {
		t.Fatalf("shrunk to 100: size %d allocated %d", m.Size(), m.AllocatedBytes())
	}
	m.Resize(1 << 20)
	m.ReadAt(got[:200], 0)
	if !allZero(got[100:200]) {
		t.Fatal("data past a shrunk size came back after growing")
	}
	if NewMemory(-1).Size() != 0 {
		t.Fatal("negative size")
	}
}

func TestMemoryConcurrent(t *testing.T) {
	m := NewMemory(1 << 20)
	var wg sync.WaitGroup
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			buf := make([]byte, 4096)
			for i := 0; i < 200; i++ {
				off := int64((g*200+i)%256) * 4096
				m.WriteAt(buf, off)
				m.ReadAt(buf, off)
				m.Mapping(off)
				if i%50 == 0 {
					m.Deallocate(off, 4096)
				}
			}
		}(g)
	}
	wg.Wait()
}

func TestFileBackend(t *testing.T) {
	dir := t.TempDir()
	path := dir + "/img"
	if _, err := OpenFile(path, FileOptions{}); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("open missing file: %v", err)
	}
	f, err := OpenFile(path, FileOptions{Create: true, Size: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	if f.Size() != 1<<20 {
		t.Fatalf("size %d", f.Size())
	}
	data := pattern(8192, 2)
	if _, err := f.WriteAt(data, 4096); err != nil {
		t.Fatal(err)
	}
	if err := f.Flush(); err != nil {
		t.Fatal(err)
	}
	got := make([]byte, len(data))
	if _, err := f.ReadAt(got, 4096); err != nil || !bytes.Equal(got, data) {
		t.Fatalf("read back: %v", err)
	}
	if err := f.Deallocate(4096, 4096); err != nil {
		t.Fatal(err)
	}
	if err := f.WriteZeroes(8192+100, 100); err != nil {
		t.Fatal(err)
	}
	f.ReadAt(got, 4096)
	want := append(make([]byte, 4096), data[4096:]...)
	clear(want[4096+100 : 4096+200])
	if !bytes.Equal(got, want) {
		t.Fatal("Deallocate/WriteZeroes")
	}
	if _, err := f.WriteAt([]byte{1}, 1<<20); !errors.Is(err, ErrOutsideBackend) {
		t.Fatalf("write past end: %v", err)
	}
	if _, err := f.ReadAt(make([]byte, 2), 1<<20-1); !errors.Is(err, ErrOutsideBackend) {
		t.Fatalf("read past end: %v", err)
	}
	if err := f.Deallocate(0, 1<<21); !errors.Is(err, ErrOutsideBackend) {
		t.Fatalf("deallocate past end: %v", err)
	}
	if _, _, err := f.Mapping(1 << 20); !errors.Is(err, ErrOutsideBackend) {
		t.Fatalf("mapping at end: %v", err)
	}
	if mapped, n, err := f.Mapping(0); err != nil || n <= 0 || n > 1<<20 {
		t.Fatalf("Mapping(0) = %v %d %v", mapped, n, err)
	}
	if err := f.Resize(2 << 20); err != nil || f.Size() != 2<<20 {
		t.Fatalf("resize: %v size %d", err, f.Size())
	}
	if err := f.Resize(-1); err == nil {
		t.Fatal("negative resize accepted")
	}
	f.Close()

	// Read-only, with a smaller presented size.
	ro, err := OpenFile(path, FileOptions{ReadOnly: true, Size: 4096})
	if err != nil {
		t.Fatal(err)
	}
	defer ro.Close()
	if ro.Size() != 4096 {
		t.Fatalf("read-only size %d", ro.Size())
	}
	if _, err := ro.WriteAt(make([]byte, 512), 0); err == nil {
		t.Fatal("write to a read-only file succeeded")
	}
	if _, err := OpenFile(dir, FileOptions{}); err == nil {
		t.Fatal("opened a directory")
	}
}

// TestFileLU runs a logical unit over a file: writes, FUA, read-back.
func TestFileLU(t *testing.T) {
	f, err := OpenFile(t.TempDir()+"/lu.img", FileOptions{Create: true, Size: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	lu, err := New(f, Config{BlockSize: 4096})
	if err != nil {
		t.Fatal(err)
	}
	ready(t, lu, nexusA)
	data := pattern(3*4096, 8)
	mustGood(t, first(run(lu, nexusA, cdbRW(0x8a, 250, 3, 0x08), data, 0)), "write16 FUA")
	_, got := run(lu, nexusA, cdbRW(0x88, 250, 3, 0), nil, len(data))
	if !bytes.Equal(got, data) {
		t.Fatal("read back")
	}
	wantSenseLBA := first(run(lu, nexusA, cdbRW(0x88, 254, 3, 0), nil, len(data)))
	if wantSenseLBA.Sense.Information != 254 {
		t.Fatalf("out of range: %v", wantSenseLBA.Sense)
	}
	mustGood(t, first(run(lu, nexusA, []byte{0x35, 0, 0, 0, 0, 0, 0, 0, 0, 0}, nil, 0)), "synchronize cache")
}

// TestCommandFamiliesOnFile runs the command family tests again with the
// logical unit over a File instead of a Memory.
func TestCommandFamiliesOnFile(t *testing.T) {
	saved := newTestBackend
	newTestBackend = fileBackend
	defer func() { newTestBackend = saved }()
	for _, tc := range []struct {
		name string
		f    func(*testing.T)
	}{
		{"ReadWriteAllSizes", TestReadWriteAllSizes},
		{"ReadWriteErrors", TestReadWriteErrors},
		{"Read6ZeroMeans256", TestRead6ZeroMeans256},
		{"Verify", TestVerify},
		{"CompareAndWrite", TestCompareAndWrite},
		{"CompareAndWriteAtomic", TestCompareAndWriteAtomic},
		{"UnitAttentions", TestUnitAttentions},
		{"DescriptorSense", TestDescriptorSense},
		{"Inquiry", TestInquiry},
		{"ModeSense", TestModeSense},
		{"ModeSelectErrors", TestModeSelectErrors},
		{"PersistentReservationTypes", TestPersistentReservationTypes},
		{"PersistentReservationLifecycle", TestPersistentReservationLifecycle},
		{"PersistentReserveIn", TestPersistentReserveIn},
		{"SPC2Reservations", TestSPC2Reservations},
		{"ReservationsConcurrent", TestReservationsConcurrent},
		{"RemovableMedium", TestRemovableMedium},
		{"ReadOnly", TestReadOnly},
		{"ReportSupportedOperationCodes", TestReportSupportedOperationCodes},
		{"ReportLUNsAndDefects", TestReportLUNsAndDefects},
		{"Sanitize", TestSanitize},
	} {
		t.Run(tc.name, tc.f)
	}
}
