package disk

import (
	"bytes"
	"fmt"
	"sync"
	"testing"
)

// TestMemoryParallelWrites runs writes to allocated chunks, writes that
// allocate chunks, and reads, all at once: every region ends with its last
// write, and a read never sees a torn copy within one chunk.
func TestMemoryParallelWrites(t *testing.T) {
	const (
		region  = 96 << 10 // spans a chunk boundary
		writers = 6
		rounds  = 40
	)
	m := NewMemory(2 << 20)
	// The first MiB is allocated; the second is left for allocating writes.
	if _, err := m.WriteAt(make([]byte, 1<<20), 0); err != nil {
		t.Fatal(err)
	}
	offOf := func(g int) int64 { return int64(g)*(128<<10) + 32<<10 }
	var wg sync.WaitGroup
	errs := make(chan error, 2*writers+1)
	for g := range writers {
		wg.Add(2)
		go func() {
			defer wg.Done()
			buf := make([]byte, region)
			for r := range rounds {
				for i := range buf {
					buf[i] = byte(g*rounds + r)
				}
				if _, err := m.WriteAt(buf, offOf(g)); err != nil {
					errs <- err
					return
				}
			}
		}()
		go func() {
			defer wg.Done()
			buf := make([]byte, region)
			for range rounds {
				off := offOf(g)
				if _, err := m.ReadAt(buf, off); err != nil {
					errs <- err
					return
				}
				// Each chunk's part of the read is one copy under its lock.
				for start := 0; start < region; {
					end := min(region, start+int(memoryChunk-(off+int64(start))%memoryChunk))
					part := buf[start:end]
					if bytes.Count(part, part[:1]) != len(part) {
						errs <- fmt.Errorf("region %d: torn read in [%d, %d)", g, start, end)
						return
					}
					start = end
				}
			}
		}()
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		buf := bytes.Repeat([]byte{0xee}, 4096)
		for i := range 256 {
			if _, err := m.WriteAt(buf, 1<<20+int64(i)*4096); err != nil {
				errs <- err
				return
			}
		}
	}()
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	got := make([]byte, region)
	for g := range writers {
		if _, err := m.ReadAt(got, offOf(g)); err != nil {
			t.Fatal(err)
		}
		if want := bytes.Repeat([]byte{byte(g*rounds + rounds - 1)}, region); !bytes.Equal(got, want) {
			t.Errorf("region %d does not hold its last write", g)
		}
	}
	if n := m.AllocatedBytes(); n != 2<<20 {
		t.Errorf("AllocatedBytes = %d, want %d", n, 2<<20)
	}
}
