package session

import (
	"context"
	"io"
	"net"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-iscsi/iscsi/login"
	"github.com/go-iscsi/iscsi/pdu"
)

// fuzzConnHeapBudget bounds how much the heap may grow over one fuzzed
// connection, beyond the blocks its writes allocate in the memory disks
// (at most 2 x testBlocks x 512 bytes over the whole run).
const fuzzConnHeapBudget = 64 << 20

// FuzzServeConnBounded plays the fuzz input to a whole target connection
// after a valid login, with the resource bounds small (MaxTasks 4,
// MaxPendingTasks 8, a short write and Data-Out timeout), while the
// initiator side reads everything the target sends. After the initiator
// closes, ServeConn must return, the goroutines of the connection must all
// be gone, and the heap must not have grown past fuzzConnHeapBudget plus
// the disks' blocks.
func FuzzServeConnBounded(f *testing.F) {
	for _, s := range fuzzSeeds() {
		f.Add(s)
	}
	open := login.DefaultSettings()
	open.InitialR2T = false
	srv := newTestServer(f, &open)
	srv.Limits.MaxTasks = 4
	srv.Limits.MaxPendingTasks = 8
	srv.Limits.WriteTimeout = 2 * time.Second
	srv.Limits.DataOutTimeout = 2 * time.Second
	var conns atomic.Uint32
	f.Fuzz(func(t *testing.T, stream []byte) {
		g0 := runtime.NumGoroutine()
		var m0 runtime.MemStats
		runtime.ReadMemStats(&m0)
		a, b := net.Pipe()
		served := make(chan error, 1)
		go func() { served <- srv.ServeConn(context.Background(), b) }()
		a.SetDeadline(time.Now().Add(10 * time.Second))
		r, w := pdu.NewReader(a), pdu.NewWriter(a)
		settings := open
		if _, err := login.Initiate(context.Background(), r, w, login.InitiatorConfig{
			InitiatorName: testInitiator, TargetName: testTarget,
			ISID: isid(uint16(conns.Add(1))), CmdSN: 1, Settings: &settings,
		}); err != nil {
			t.Fatal(err)
		}
		drained := make(chan struct{})
		go func() {
			io.Copy(io.Discard, a)
			close(drained)
		}()
		a.Write(stream)
		a.Close()
		<-drained
		select {
		case <-served:
		case <-time.After(30 * time.Second):
			t.Fatalf("ServeConn did not return after the initiator closed\n%s", goroutineDump())
		}
		var m1 runtime.MemStats
		runtime.ReadMemStats(&m1)
		if grew := int64(m1.HeapAlloc) - int64(m0.HeapAlloc); grew > fuzzConnHeapBudget+2*testBlocks*512 {
			t.Errorf("heap grew by %d MiB over one connection", grew>>20)
		}
		// Goroutines that have signalled their end may still be
		// exiting; give them a bounded time.
		for deadline := time.Now().Add(5 * time.Second); runtime.NumGoroutine() > g0 && time.Now().Before(deadline); {
			time.Sleep(time.Millisecond)
		}
		if n := runtime.NumGoroutine(); n > g0 {
			t.Fatalf("%d goroutines before the connection, %d after it ended\n%s", g0, n, goroutineDump())
		}
	})
}
