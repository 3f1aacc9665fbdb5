package session

import (
	"bytes"
	"errors"
	"net"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/go-iscsi/iscsi/pdu"
)

// gatedConn is a net.Conn whose Writes are recorded; the first Write waits
// for gate, and the Write numbered failAt (from 1) fails.
type gatedConn struct {
	net.Conn
	gate   chan struct{}
	failAt int

	mu     sync.Mutex
	writes int
	buf    bytes.Buffer
}

var errGatedWrite = errors.New("gated write failed")

func (g *gatedConn) Write(b []byte) (int, error) {
	g.mu.Lock()
	g.writes++
	n := g.writes
	g.mu.Unlock()
	if n == 1 {
		<-g.gate
	}
	if n == g.failAt {
		return 0, errGatedWrite
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.buf.Write(b)
}

// waitFor polls cond under c.wmu until it holds.
func waitFor(t *testing.T, c *initiatorConn, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(time.Millisecond) {
		c.wmu.Lock()
		ok := cond()
		c.wmu.Unlock()
		if ok {
			return
		}
	}
	t.Fatal("condition not reached")
}

// TestInitiatorWritesShareOneWrite checks that PDUs written while another
// write runs go out together in the next one, in the order queued, and
// that each writer returns once its own PDU is written.
func TestInitiatorWritesShareOneWrite(t *testing.T) {
	g := &gatedConn{gate: make(chan struct{})}
	c := newInitiatorConn(g)
	first := make(chan error, 1)
	go func() { first <- c.write(nopOutWithTag(100), nil, true) }()
	waitFor(t, c, func() bool { return c.sending })

	const n = 10
	var order []uint32 // ITTs in the order queued
	var omu sync.Mutex
	errs := make(chan error, n)
	for i := range n {
		go func() {
			// queue and flushed as ExecuteInto uses them: the order is
			// that of queue.
			omu.Lock()
			b, err := c.queue(nopOutWithTag(uint32(i)), nil, nil, true)
			order = append(order, uint32(i))
			omu.Unlock()
			if err == nil {
				err = c.flushed(b)
			}
			errs <- err
		}()
	}
	waitFor(t, c, func() bool { return c.w.Queued() == n*pdu.BHSLength })
	select {
	case err := <-errs:
		t.Fatalf("a writer returned (%v) before its PDU was written", err)
	default:
	}
	close(g.gate)
	if err := <-first; err != nil {
		t.Fatal(err)
	}
	for range n {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	if c.sent != 2 {
		t.Errorf("%d vectored writes, want 2: the first, then the %d PDUs queued behind it", c.sent, n)
	}
	var got []uint32
	r := pdu.NewReader(bytes.NewReader(g.buf.Bytes()))
	for {
		p, err := r.Read()
		if err != nil {
			break
		}
		got = append(got, p.Header.InitiatorTaskTag())
	}
	if want := append([]uint32{100}, order...); !slices.Equal(got, want) {
		t.Errorf("PDUs written in ITT order %v, want %v", got, want)
	}
}

// TestInitiatorWriteError checks that a failed write fails its batch and
// every later one, and not the batches written before it.
func TestInitiatorWriteError(t *testing.T) {
	g := &gatedConn{gate: make(chan struct{}), failAt: 2}
	close(g.gate)
	c := newInitiatorConn(g)
	if err := c.write(nopOutWithTag(1), nil, true); err != nil {
		t.Fatalf("first write: %v", err)
	}
	b, err := c.queue(nopOutWithTag(2), nil, nil, true)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.flushed(b); !errors.Is(err, errGatedWrite) {
		t.Fatalf("second write: %v, want %v", err, errGatedWrite)
	}
	if err := c.flushed(0); err != nil {
		t.Errorf("the batch written before the failure reports %v", err)
	}
	if err := c.write(nopOutWithTag(3), nil, true); !errors.Is(err, errGatedWrite) {
		t.Errorf("write after the failure: %v, want %v", err, errGatedWrite)
	}
}
