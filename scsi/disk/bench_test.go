package disk

import (
	"context"
	"testing"

	"github.com/go-iscsi/iscsi/scsi"
)

// hotLU returns a logical unit with its first 1 MiB written, and a nexus
// past its power-on unit attention.
func hotLU(tb testing.TB) *LU {
	lu := newLU(tb, 64<<20, Config{})
	ready(tb, lu, nexusA)
	buf := make([]byte, 1<<20)
	if r, _ := run(lu, nexusA, cdbRW(scsi.OpWrite10, 0, 2048, 0), buf, 0); r.Status != scsi.StatusGood {
		tb.Fatal(r.Sense)
	}
	return lu
}

// TestReadWriteZeroAllocs checks that READ(10) and WRITE(10) allocate
// nothing once the backend's chunks exist.
func TestReadWriteZeroAllocs(t *testing.T) {
	lu := hotLU(t)
	ctx := context.Background()
	rd := &Request{Nexus: nexusA, CDB: cdbRW(scsi.OpRead10, 16, 16, 0), DataIn: make([]byte, 8192)}
	wr := &Request{Nexus: nexusA, CDB: cdbRW(scsi.OpWrite10, 16, 16, 0x08), DataOut: make([]byte, 8192)}
	rd16 := &Request{Nexus: nexusA, CDB: cdbRW(scsi.OpRead16, 300, 256, 0), DataIn: make([]byte, 128<<10)}
	for name, req := range map[string]*Request{"READ(10)": rd, "WRITE(10) FUA": wr, "READ(16)": rd16} {
		if allocs := testing.AllocsPerRun(100, func() {
			if r := lu.Execute(ctx, req); r.Status != scsi.StatusGood {
				t.Fatal(r.Sense)
			}
		}); allocs != 0 {
			t.Errorf("%s: %v allocs per run, want 0", name, allocs)
		}
	}
}

func benchRW(b *testing.B, op scsi.OpCode, size int) {
	lu := hotLU(b)
	ctx := context.Background()
	blocks := uint32(size / 512)
	req := &Request{Nexus: nexusA, CDB: cdbRW(op, 0, blocks, 0), DataIn: make([]byte, size), DataOut: make([]byte, size)}
	b.SetBytes(int64(size))
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		// Walk the first 1 MiB so reads and writes touch allocated chunks.
		lba := uint32(i) * blocks % (2048 - blocks)
		req.CDB[2], req.CDB[3], req.CDB[4], req.CDB[5] = byte(lba>>24), byte(lba>>16), byte(lba>>8), byte(lba)
		if r := lu.Execute(ctx, req); r.Status != scsi.StatusGood {
			b.Fatal(r.Sense)
		}
	}
}

func BenchmarkRead10_8KiB(b *testing.B)    { benchRW(b, scsi.OpRead10, 8<<10) }
func BenchmarkRead10_128KiB(b *testing.B)  { benchRW(b, scsi.OpRead10, 128<<10) }
func BenchmarkWrite10_8KiB(b *testing.B)   { benchRW(b, scsi.OpWrite10, 8<<10) }
func BenchmarkWrite10_128KiB(b *testing.B) { benchRW(b, scsi.OpWrite10, 128<<10) }

// BenchmarkRead10Parallel measures reads from many goroutines at once.
func BenchmarkRead10Parallel_8KiB(b *testing.B) {
	lu := hotLU(b)
	b.SetBytes(8 << 10)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		req := &Request{Nexus: nexusA, CDB: cdbRW(scsi.OpRead10, 32, 16, 0), DataIn: make([]byte, 8<<10)}
		for pb.Next() {
			if r := lu.Execute(context.Background(), req); r.Status != scsi.StatusGood {
				b.Error(r.Sense)
				return
			}
		}
	})
}
