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

// BenchmarkInitiator measures Session.ExecuteInto against session.Server
// and a memory logical unit over loopback TCP: 4 KiB random and 128 KiB
// sequential READ(10) and WRITE(10), issued by QD goroutines at once,
// without and with CRC32C digests. allocs/op counts both sides, which are
// in the same process.
func BenchmarkInitiator(b *testing.B) {
	type workload struct {
		name   string
		write  bool
		size   int
		random bool
		qd     int
	}
	loads := []workload{
		{"randread-4k-qd32", false, 4 << 10, true, 32},
		{"randwrite-4k-qd32", true, 4 << 10, true, 32},
		{"seqread-128k-qd1", false, 128 << 10, false, 1},
		{"seqread-128k-qd32", false, 128 << 10, false, 32},
		{"seqwrite-128k-qd1", true, 128 << 10, false, 1},
		{"seqwrite-128k-qd32", true, 128 << 10, false, 32},
	}
	for _, digests := range []bool{false, true} {
		for _, w := range loads {
			name := w.name
			if digests {
				name += "-crc32c"
			}
			b.Run(name, func(b *testing.B) {
				st := login.DefaultSettings()
				st.MaxRecvDataSegmentLength = 64 << 10
				if digests {
					st.HeaderDigest, st.DataDigest = login.DigestPrefer, login.DigestPrefer
				}
				addr := serveLoopback(b, newTestServer(b, &st))
				s := dialTest(b, addr, Options{Settings: &st, HeaderDigest: digests, DataDigest: digests})
				blocks := w.size / 512
				stripe := testBlocks / w.qd / blocks * blocks // blocks per goroutine
				var next atomic.Int64
				var failed atomic.Value
				var wg sync.WaitGroup
				b.SetBytes(int64(w.size))
				b.ReportAllocs()
				b.ResetTimer()
				for g := range w.qd {
					wg.Go(func() {
						r := rand.New(rand.NewPCG(uint64(g), 3))
						buf := make([]byte, w.size)
						cdb := make([]byte, 10)
						cmd := Command{CDB: cdb}
						if w.write {
							cmd.DataOut = buf
							cdb[0] = 0x2a
						} else {
							cmd.DataIn = buf
							cdb[0] = 0x28
						}
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

// putRW10 fills the LBA and TRANSFER LENGTH of a READ(10) or WRITE(10)
// CDB (SBC-4 §5.16, §5.40).
func putRW10(cdb []byte, lba uint32, n uint16) {
	cdb[2], cdb[3], cdb[4], cdb[5] = byte(lba>>24), byte(lba>>16), byte(lba>>8), byte(lba)
	cdb[7], cdb[8] = byte(n>>8), byte(n)
}

// TestInitiatorExecuteAllocs checks that a READ and a WRITE allocate
// nothing in the steady state, both sides counted.
func TestInitiatorExecuteAllocs(t *testing.T) {
	t.Run("ERL 0", func(t *testing.T) { initiatorExecuteAllocs(t, 0) })
	// RFC 7143 §7.1.4.1: at ErrorRecoveryLevel 1, with digests and a
	// DataACK for every READ, the steady state allocates nothing either.
	t.Run("ERL 1", func(t *testing.T) { initiatorExecuteAllocs(t, 1) })
}

func initiatorExecuteAllocs(t *testing.T, erl uint8) {
	if raceEnabled {
		t.Skip("the race detector allocates")
	}
	st := login.DefaultSettings()
	st.ErrorRecoveryLevel, st.MaxOutstandingR2T = erl, 1
	addr := serveLoopback(t, newTestServer(t, &st))
	s := dialTest(t, addr, Options{ErrorRecoveryLevel: erl, HeaderDigest: erl > 0, DataDigest: erl > 0})
	if sp, _ := s.Params(); sp.ErrorRecoveryLevel != erl {
		t.Fatalf("ErrorRecoveryLevel %d, want %d", sp.ErrorRecoveryLevel, erl)
	}
	for _, write := range []bool{false, true} {
		buf := make([]byte, 4096)
		cdb := make([]byte, 10)
		cmd := Command{CDB: cdb}
		if write {
			cmd.DataOut, cdb[0] = buf, 0x2a
		} else {
			cmd.DataIn, cdb[0] = buf, 0x28
		}
		putRW10(cdb, 64, 8)
		var resp Response
		run := func() {
			if err := s.ExecuteInto(context.Background(), &cmd, &resp); err != nil || resp.Status != scsi.StatusGood {
				t.Fatalf("%v %v", resp.Status, err)
			}
		}
		for range 10 {
			run()
		}
		if n := testing.AllocsPerRun(200, run); n > 0 {
			t.Errorf("write=%v: %.1f allocations per command, want 0", write, n)
		}
	}
	if st := s.Stats(); erl > 0 && st.DataACKs == 0 {
		t.Error("no DataACK sent at ErrorRecoveryLevel 1")
	}
}
