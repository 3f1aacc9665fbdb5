package disk

import (
	"io"
	"sync"
)

// memoryChunk is the allocation unit of [Memory]: 64 KiB, a multiple of
// every supported logical block size.
const memoryChunk = 64 << 10

// memoryStripes is the number of locks over the bytes of the chunks of a
// [Memory]: chunk i is guarded by stripe i%memoryStripes.
const memoryStripes = 64

// Memory is a sparse in-memory [Backend]. Storage is a map of 64 KiB
// chunks allocated on the first write that touches them, so a 1 TiB Memory
// costs nothing until it is written. It implements [Deallocator] (whole
// chunks are freed), [ZeroWriter] and [AllocationMapper], so a logical
// unit over it is thin provisioned. It is safe for concurrent use: reads
// run in parallel, and so do writes to allocated chunks, each chunk's
// bytes under one of 64 striped locks; a write that allocates chunks,
// Resize, Deallocate and WriteZeroes exclude every other call. A read that
// overlaps a concurrent write spanning several chunks may see part of it
// (the logical unit orders the commands SBC-4 makes atomic itself).
type Memory struct {
	// mu guards size and the chunk map; stripes guard the chunks' bytes
	// for the calls that hold mu shared.
	mu      sync.RWMutex
	size    int64
	chunks  map[int64]*[memoryChunk]byte
	stripes [memoryStripes]sync.RWMutex
}

// NewMemory returns an empty (all zeros, all deallocated) Memory of size
// bytes. A negative size is treated as 0.
func NewMemory(size int64) *Memory {
	if size < 0 {
		size = 0
	}
	return &Memory{size: size, chunks: make(map[int64]*[memoryChunk]byte)}
}

// NonBlocking reports true: a Memory's calls are copies under its locks
// ([NonBlocking]).
func (m *Memory) NonBlocking() bool { return true }

// Size returns the capacity in bytes.
func (m *Memory) Size() int64 {
	m.mu.RLock()
	defer m.mu.RUnlock()
	return m.size
}

// Resize changes the capacity to size bytes. Data beyond a shrunk size is
// dropped; growth reads as zeros. The logical unit notices at once; tell it
// with [LU.CapacityChanged] so that initiators get a CAPACITY DATA HAS
// CHANGED unit attention.
func (m *Memory) Resize(size int64) {
	if size < 0 {
		size = 0
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if size < m.size {
		for idx := range m.chunks {
			if idx*memoryChunk >= size {
				delete(m.chunks, idx)
			}
		}
		if c := m.chunks[size/memoryChunk]; c != nil {
			clear(c[size%memoryChunk:])
		}
	}
	m.size = size
}

// ReadAt copies len(p) bytes at off into p; never-written and deallocated
// ranges read as zeros. A read that is not inside [0, Size()) returns a
// [*RangeError] (or io.EOF when it starts exactly at Size with len(p) > 0,
// as io.ReaderAt asks).
func (m *Memory) ReadAt(p []byte, off int64) (int, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	if off == m.size && len(p) > 0 {
		return 0, io.EOF
	}
	if err := checkRange("read", off, int64(len(p)), m.size); err != nil {
		return 0, err
	}
	n := 0
	for n < len(p) {
		idx, in := (off+int64(n))/memoryChunk, int((off+int64(n))%memoryChunk)
		k := min(len(p)-n, memoryChunk-in)
		if c := m.chunks[idx]; c != nil {
			st := &m.stripes[idx%memoryStripes]
			st.RLock()
			copy(p[n:n+k], c[in:])
			st.RUnlock()
		} else {
			clear(p[n : n+k])
		}
		n += k
	}
	return n, nil
}

// WriteAt copies p to off, allocating the chunks it touches. A write that
// is not inside [0, Size()) writes nothing and returns a [*RangeError].
func (m *Memory) WriteAt(p []byte, off int64) (int, error) {
	m.mu.RLock()
	if err := checkRange("write", off, int64(len(p)), m.size); err != nil {
		m.mu.RUnlock()
		return 0, err
	}
	if m.allocatedLocked(off, len(p)) {
		// Every chunk exists: copy under the chunks' stripes, in parallel
		// with other writes and reads.
		m.copyInLocked(p, off, true)
		m.mu.RUnlock()
		return len(p), nil
	}
	m.mu.RUnlock()
	m.mu.Lock()
	defer m.mu.Unlock()
	// The size may have changed while no lock was held.
	if err := checkRange("write", off, int64(len(p)), m.size); err != nil {
		return 0, err
	}
	m.copyInLocked(p, off, false)
	return len(p), nil
}

// allocatedLocked reports whether every chunk of [off, off+n) exists.
func (m *Memory) allocatedLocked(off int64, n int) bool {
	if n == 0 {
		return true
	}
	for idx := off / memoryChunk; idx <= (off+int64(n)-1)/memoryChunk; idx++ {
		if m.chunks[idx] == nil {
			return false
		}
	}
	return true
}

// copyInLocked copies p to off. With shared, m.mu is held shared, every
// chunk exists, and each copy holds its chunk's stripe; without, m.mu is
// held exclusively and missing chunks are allocated.
func (m *Memory) copyInLocked(p []byte, off int64, shared bool) {
	n := 0
	for n < len(p) {
		idx, in := (off+int64(n))/memoryChunk, int((off+int64(n))%memoryChunk)
		k := min(len(p)-n, memoryChunk-in)
		c := m.chunks[idx]
		if c == nil {
			c = new([memoryChunk]byte)
			m.chunks[idx] = c
		}
		if shared {
			st := &m.stripes[idx%memoryStripes]
			st.Lock()
			copy(c[in:], p[n:n+k])
			st.Unlock()
		} else {
			copy(c[in:], p[n:n+k])
		}
		n += k
	}
}

// Deallocate frees the chunks that lie wholly inside [off, off+n) and
// zeros the parts of the chunks at either end.
func (m *Memory) Deallocate(off, n int64) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := checkRange("deallocate", off, n, m.size); err != nil {
		return err
	}
	m.zeroLocked(off, n, true)
	return nil
}

// WriteZeroes zeros [off, off+n). Chunks that are already deallocated stay
// so (they read as zeros); allocated chunks are zeroed in place.
func (m *Memory) WriteZeroes(off, n int64) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := checkRange("write zeroes", off, n, m.size); err != nil {
		return err
	}
	m.zeroLocked(off, n, false)
	return nil
}

func (m *Memory) zeroLocked(off, n int64, free bool) {
	end := off + n
	for off < end {
		idx, in := off/memoryChunk, off%memoryChunk
		k := min(end-off, memoryChunk-in)
		if c := m.chunks[idx]; c != nil {
			if free && in == 0 && k == memoryChunk {
				delete(m.chunks, idx)
			} else {
				clear(c[in : in+k])
			}
		}
		off += k
	}
}

// Mapping reports whether the chunk holding off is allocated and the
// length of the run of chunks from off with the same state. A partly
// deallocated chunk counts as mapped.
func (m *Memory) Mapping(off int64) (bool, int64, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	if off < 0 || off >= m.size {
		return false, 0, &RangeError{Op: "mapping", Off: off, Len: 1, Size: m.size}
	}
	idx := off / memoryChunk
	mapped := m.chunks[idx] != nil
	last := (m.size - 1) / memoryChunk
	// Bounded: a run reported at once is at most 4096 chunks (256 MiB).
	for stop := idx + 4096; idx < last && idx < stop && (m.chunks[idx+1] != nil) == mapped; {
		idx++
	}
	return mapped, min((idx+1)*memoryChunk, m.size) - off, nil
}

// AllocatedBytes returns the bytes of memory held by allocated chunks.
func (m *Memory) AllocatedBytes() int64 {
	m.mu.RLock()
	defer m.mu.RUnlock()
	return int64(len(m.chunks)) * memoryChunk
}
