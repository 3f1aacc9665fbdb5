package session

import (
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-iscsi/iscsi/login"
)

// fuzzConnHeapBudget bounds how much the heap may grow over one fuzzed
// connection, beyond the blocks its writes allocate in the memory disks
// (at most 2 x testBlocks x 512 bytes over the whole run).
const fuzzConnHeapBudget = 64 << 20

// projectGoroutines returns, by goroutine ID, the stacks of the goroutines
// that run code of this module, other than the caller and the testing
// package's runners. The fuzzing engine's own goroutines come and go and
// are not counted.
func projectGoroutines() map[string]string {
	buf := make([]byte, 1<<20)
	stacks := strings.Split(string(buf[:runtime.Stack(buf, true)]), "\n\n")
	out := make(map[string]string)
	for _, g := range stacks[1:] { // stacks[0] is the caller
		if !strings.Contains(g, "github.com/go-iscsi/iscsi/") ||
			strings.Contains(g, "testing.tRunner") || strings.Contains(g, "testing.(*F)") {
			continue
		}
		id, _, _ := strings.Cut(strings.TrimPrefix(g, "goroutine "), " ")
		out[id] = g
	}
	return out
}

// waitProjectGoroutines waits, a bounded time, until every goroutine
// running this module's code was already there in before (goroutines
// another test left are not this call's), and returns the stacks of the
// new ones left.
func waitProjectGoroutines(before map[string]string) string {
	deadline := time.Now().Add(5 * time.Second)
	for {
		var left []string
		for id, g := range projectGoroutines() {
			if _, old := before[id]; !old {
				left = append(left, g)
			}
		}
		if len(left) == 0 || time.Now().After(deadline) {
			return strings.Join(left, "\n\n")
		}
		time.Sleep(time.Millisecond)
	}
}

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
		before := projectGoroutines()
		var m0 runtime.MemStats
		runtime.ReadMemStats(&m0)
		served := playAfterLogin(t, srv, open, uint16(conns.Add(1)), stream)
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
		if left := waitProjectGoroutines(before); left != "" {
			t.Fatalf("goroutines of the connection left after it ended:\n%s", left)
		}
	})
}
