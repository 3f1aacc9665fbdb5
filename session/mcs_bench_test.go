package session

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/go-iscsi/iscsi/login"
	"github.com/go-iscsi/iscsi/scsi"
)

// BenchmarkMCS measures one session of 1, 2 and 4 connections (RFC 7143
// §4.2.1) between Session and Server over loopback TCP, with a memory
// logical unit: 4 KiB random and 128 KiB sequential READ(10), 32 commands
// in flight, spread round-robin. allocs/op counts both sides, which are
// in the same process.
func BenchmarkMCS(b *testing.B) {
	loads := []struct {
		name   string
		size   int
		random bool
	}{
		{"randread-4k-qd32", 4 << 10, true},
		{"seqread-128k-qd32", 128 << 10, false},
	}
	const qd = 32
	for _, w := range loads {
		for _, conns := range []int{1, 2, 4} {
			b.Run(fmt.Sprintf("%s/conns-%d", w.name, conns), func(b *testing.B) {
				st := login.DefaultSettings()
				st.MaxRecvDataSegmentLength = 64 << 10
				st.MaxConnections = uint32(conns)
				s := dialTest(b, serveLoopback(b, newTestServer(b, &st)), Options{Settings: &st, Connections: conns})
				if got := s.Stats().Connections; got != conns {
					b.Fatalf("%d connections, want %d", got, conns)
				}
				blocks := w.size / 512
				stripe := testBlocks / qd / blocks * blocks
				var next atomic.Int64
				var failed atomic.Value
				var wg sync.WaitGroup
				b.SetBytes(int64(w.size))
				b.ReportAllocs()
				b.ResetTimer()
				for g := range qd {
					wg.Go(func() {
						r := rand.New(rand.NewPCG(uint64(g), 5))
						buf := make([]byte, w.size)
						cdb := make([]byte, 10)
						cdb[0] = 0x28
						cmd := Command{CDB: cdb, DataIn: buf}
						var resp Response
						base, off := g*stripe, 0
						for next.Add(1) <= int64(b.N) {
							lba := base + off
							if w.random {
								lba = base + r.IntN(stripe/blocks)*blocks
							} else if off += blocks; off >= stripe {
								off = 0
							}
							putRW10(cdb, uint32(lba), uint16(blocks))
							if err := s.ExecuteInto(context.Background(), &cmd, &resp); err != nil || resp.Status != scsi.StatusGood {
								failed.Store(fmt.Sprintf("%v %v", resp.Status, err))
								return
							}
						}
					})
				}
				wg.Wait()
				b.StopTimer()
				if f := failed.Load(); f != nil {
					b.Fatal(f)
				}
			})
		}
	}
}
