package session

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/go-iscsi/iscsi/login"
	"github.com/go-iscsi/iscsi/scsi"
	"github.com/go-iscsi/iscsi/scsi/disk"
)

// The load test's shape: loadSessions sessions, each with loadDepth
// commands outstanding, for loadDuration, through a proxy that kills at
// most loadFaults connections.
const (
	loadSessions  = 16
	loadDepth     = 8
	loadDuration  = 15 * time.Second
	loadFaults    = 20
	loadBlocks    = 65536 // 32 MiB of 512-byte blocks
	loadBlockSize = 512
	loadMaxXfer   = 256 // blocks per command
)

// loadProxy forwards TCP connections to a target and closes pairs of them
// at random moments, as a failing network would.
type loadProxy struct {
	l      net.Listener
	target string

	mu     sync.Mutex
	pairs  map[int][2]net.Conn
	next   int
	closed bool
	kills  int
	wg     sync.WaitGroup
}

func newLoadProxy(t *testing.T, target string) *loadProxy {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &loadProxy{l: l, target: target, pairs: make(map[int][2]net.Conn)}
	p.wg.Add(1)
	go p.accept()
	return p
}

func (p *loadProxy) addr() string { return p.l.Addr().String() }

func (p *loadProxy) accept() {
	defer p.wg.Done()
	for {
		c, err := p.l.Accept()
		if err != nil {
			return
		}
		u, err := net.Dial("tcp", p.target)
		if err != nil {
			c.Close()
			continue
		}
		p.mu.Lock()
		if p.closed {
			p.mu.Unlock()
			c.Close()
			u.Close()
			return
		}
		id := p.next
		p.next++
		p.pairs[id] = [2]net.Conn{c, u}
		p.wg.Add(2)
		p.mu.Unlock()
		pipe := func(dst, src net.Conn) {
			defer p.wg.Done()
			io.Copy(dst, src)
			dst.Close()
			src.Close()
			p.mu.Lock()
			delete(p.pairs, id)
			p.mu.Unlock()
		}
		go pipe(u, c)
		go pipe(c, u)
	}
}

// kill closes one live pair chosen at random and reports whether there was
// one.
func (p *loadProxy) kill(rng *rand.Rand) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.pairs) == 0 {
		return false
	}
	k := rng.IntN(len(p.pairs))
	for id, pr := range p.pairs {
		if k == 0 {
			pr[0].Close()
			pr[1].Close()
			delete(p.pairs, id)
			p.kills++
			return true
		}
		k--
	}
	return false
}

// close stops accepting, closes every pair and waits for the copies.
func (p *loadProxy) close() {
	p.l.Close()
	p.mu.Lock()
	p.closed = true
	for _, pr := range p.pairs {
		pr[0].Close()
		pr[1].Close()
	}
	p.mu.Unlock()
	p.wg.Wait()
}

// loadWrite is one WRITE the load test issued. issue and ack are times of
// the test's logical clock: issue taken before the command was sent, ack
// after its GOOD status arrived (zero: the outcome is unknown or it
// failed).
type loadWrite struct {
	id         uint64
	sess, seq  uint64
	lba        uint64
	n          int
	issue, ack uint64
}

// loadModel tracks, for every block, the writes it may hold: the last
// acknowledged ones (several when acknowledged writes overlapped in time)
// and every later write whose outcome is unknown. A write acknowledged at
// time a is superseded on a block by a write to it issued after a and
// acknowledged: the target executed that one after it.
type loadModel struct {
	mu     sync.Mutex
	clock  uint64
	writes []*loadWrite // by id; id 0 is the initial content, zeros
	cands  [][]uint64   // by block
}

func newLoadModel(blocks int) *loadModel {
	m := &loadModel{writes: []*loadWrite{{id: 0}}, cands: make([][]uint64, blocks)}
	for i := range m.cands {
		m.cands[i] = []uint64{0}
	}
	return m
}

// issue records a write about to be sent and returns it.
func (m *loadModel) issue(sess, seq, lba uint64, n int) *loadWrite {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.clock++
	w := &loadWrite{id: uint64(len(m.writes)), sess: sess, seq: seq, lba: lba, n: n, issue: m.clock}
	m.writes = append(m.writes, w)
	for b := lba; b < lba+uint64(n); b++ {
		m.cands[b] = append(m.cands[b], w.id)
	}
	return w
}

// acked records the GOOD status of w and drops from its blocks the
// acknowledged writes it supersedes.
func (m *loadModel) acked(w *loadWrite) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.clock++
	w.ack = m.clock
	for b := w.lba; b < w.lba+uint64(w.n); b++ {
		keep := m.cands[b][:0]
		for _, id := range m.cands[b] {
			c := m.writes[id]
			superseded := id != w.id && (c.ack != 0 || id == 0) && c.ack < w.issue
			if !superseded {
				keep = append(keep, id)
			}
		}
		m.cands[b] = keep
	}
}

// fillBlock writes the self-describing content of block lba of w into b: a
// header naming the write (id, session, sequence number, LBA) and a body
// derived from it.
func fillBlock(b []byte, w *loadWrite, lba uint64) {
	binary.BigEndian.PutUint64(b[0:], w.id)
	binary.BigEndian.PutUint64(b[8:], w.sess)
	binary.BigEndian.PutUint64(b[16:], w.seq)
	binary.BigEndian.PutUint64(b[24:], lba)
	x := w.id*0x9e3779b97f4a7c15 ^ lba
	for i := 32; i < len(b); i += 8 {
		x += 0x9e3779b97f4a7c15
		z := x
		z = (z ^ z>>30) * 0xbf58476d1ce4e5b9
		z = (z ^ z>>27) * 0x94d049bb133111eb
		binary.BigEndian.PutUint64(b[i:], z^z>>31)
	}
}

// decodeBlock returns the id of the write whose content block lba holds,
// 0 for zeros, or an error for content no write of the test produced
// there.
func (m *loadModel) decodeBlock(b []byte, lba uint64) (uint64, error) {
	if allZeroBytes(b) {
		return 0, nil
	}
	id := binary.BigEndian.Uint64(b)
	if id == 0 || id >= uint64(len(m.writes)) {
		return 0, fmt.Errorf("block %d: write id %d was never issued", lba, id)
	}
	w := m.writes[id]
	want := make([]byte, len(b))
	fillBlock(want, w, lba)
	if !bytes.Equal(b, want) {
		return 0, fmt.Errorf("block %d: content is not block %d of write %d (session %d seq %d LBA %d+%d)", lba, lba, id, w.sess, w.seq, w.lba, w.n)
	}
	return id, nil
}

func allZeroBytes(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}

// rw16 builds a READ(16) or WRITE(16) CDB (SBC-4 §5.16, §5.44).
func rw16(op byte, lba uint64, blocks uint32) []byte {
	cdb := make([]byte, 16)
	cdb[0] = op
	binary.BigEndian.PutUint64(cdb[2:], lba)
	binary.BigEndian.PutUint32(cdb[10:], blocks)
	return cdb
}

// loadSettings are the operational values both sides of the load test
// propose: the defaults of RFC 7143 §13 with ImmediateData, so that a
// WRITE longer than FirstBurstLength (64 KiB, §13.14) sends its first
// burst unsolicited and the rest in answer to R2Ts (§11.8), and data
// moves in segments of MaxRecvDataSegmentLength (8 KiB, §13.12).
func loadSettings() *login.Settings {
	st := login.DefaultSettings()
	st.ImmediateData = true
	return &st
}

// loadStats are the figures the load test reports.
type loadStats struct {
	reads, writes, acked, unknown, notGood atomic.Int64
	bytes                                  atomic.Int64
	dials, redials, dialFailures           atomic.Int64
}

// TestLoadWithFaults runs loadSessions sessions of the initiator, each
// with loadDepth commands outstanding, of mixed READ(16) and WRITE(16) of
// 1 to 256 blocks at random LBAs against a file logical unit, through a
// proxy that kills up to loadFaults connections at random moments. A
// session whose connection died is replaced by a new one. At the end
// every block must hold its last acknowledged write or a later write whose
// outcome the initiator could not know (ErrConnectionLost): nothing else.
func TestLoadWithFaults(t *testing.T) {
	g0, h0 := settle(0, 0)
	path := filepath.Join(t.TempDir(), "lu.img")
	be, err := disk.OpenFile(path, disk.FileOptions{Create: true, Size: loadBlocks * loadBlockSize})
	if err != nil {
		t.Fatal(err)
	}
	defer be.Close()
	lu, err := disk.New(be, disk.Config{SerialNumber: "LOAD0"})
	if err != nil {
		t.Fatal(err)
	}
	lun, _ := scsi.EncodeLUN(0)
	srv := &Server{Targets: []Target{{Name: testTarget, LUNs: map[scsi.LUN]LogicalUnit{lun: lu}}}, Settings: loadSettings(),
		Limits: Limits{BusyPoll: loadBusyPoll}}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	sctx, stopServer := context.WithCancel(context.Background())
	served := make(chan struct{})
	go func() { srv.Serve(sctx, l); close(served) }()
	defer func() { stopServer(); <-served }()
	proxy := newLoadProxy(t, l.Addr().String())

	model := newLoadModel(loadBlocks)
	var st loadStats
	var mismatches atomic.Int64
	deadline := time.Now().Add(loadDuration)
	ctx, cancel := context.WithDeadline(context.Background(), deadline)
	defer cancel()

	// The fault injector: at most loadFaults kills, at random moments
	// spread over the load.
	faultsDone := make(chan struct{})
	go func() {
		defer close(faultsDone)
		rng := rand.New(rand.NewPCG(1, 2))
		mean := loadDuration / (loadFaults + 2)
		timer := time.NewTimer(mean)
		defer timer.Stop()
		for kills := 0; kills < loadFaults; {
			select {
			case <-ctx.Done():
				return
			case <-timer.C:
			}
			if proxy.kill(rng) {
				kills++
			}
			timer.Reset(mean/2 + time.Duration(rng.Int64N(int64(mean))))
		}
	}()

	var wg sync.WaitGroup
	for s := range loadSessions {
		wg.Add(1)
		go func() {
			defer wg.Done()
			runLoadSession(ctx, t, proxy.addr(), uint64(s), model, &st, &mismatches)
		}()
	}
	wg.Wait()
	<-faultsDone
	proxy.close()
	// Serve returns once every connection, and every task of it, ended:
	// no unknown-outcome write lands after this.
	stopServer()
	<-served

	// Read every block back over iSCSI from a new target on the same
	// logical unit, and check it against the model.
	verify := &Server{Targets: []Target{{Name: testTarget, LUNs: map[scsi.LUN]LogicalUnit{lun: lu}}}}
	s := dialTest(t, serveLoopback(t, verify), Options{})
	buf := make([]byte, loadMaxXfer*loadBlockSize)
	var holdsUnknown int
	for lba := uint64(0); lba < loadBlocks; lba += loadMaxXfer {
		resp, err := s.Execute(context.Background(), &Command{LUN: lun, CDB: rw16(0x88, lba, loadMaxXfer), DataIn: buf})
		if err != nil || resp.Status != scsi.StatusGood {
			t.Fatalf("verifying READ(16) at %d: %v %+v", lba, err, resp)
		}
		for i := range uint64(loadMaxXfer) {
			b := lba + i
			id, err := model.decodeBlock(buf[i*loadBlockSize:(i+1)*loadBlockSize], b)
			if err == nil && !containsID(model.cands[b], id) {
				err = fmt.Errorf("block %d holds write %d, not one of %v", b, id, model.cands[b])
			}
			if err != nil {
				if mismatches.Add(1) <= 10 {
					t.Error(err)
				}
				continue
			}
			if id != 0 && model.writes[id].ack == 0 {
				holdsUnknown++
			}
		}
	}
	s.Close()

	g1, h1 := settle(g0, h0)
	t.Logf("load: %d sessions x depth %d for %v: %d reads, %d writes (%d acknowledged, %d unknown outcome, %d not GOOD), %d MiB moved",
		loadSessions, loadDepth, loadDuration, st.reads.Load(), st.writes.Load(), st.acked.Load(), st.unknown.Load(), st.notGood.Load(), st.bytes.Load()>>20)
	t.Logf("faults: %d connections killed, %d sessions dialed (%d after a lost connection, %d dial attempts failed); %d blocks hold an unknown-outcome write; mismatches %d",
		proxy.kills, st.dials.Load(), st.redials.Load(), st.dialFailures.Load(), holdsUnknown, mismatches.Load())
	t.Logf("goroutines %d before, %d after; heap in use %d KiB before, %d KiB after", g0, g1, h0>>10, h1>>10)
	if proxy.kills == 0 {
		t.Error("no connection was killed: the faults were not exercised")
	}
	if st.acked.Load() == 0 || st.reads.Load() == 0 {
		t.Error("no write was acknowledged or no read done")
	}
	if g1 > g0+2 {
		t.Errorf("goroutines: %d before, %d after\n%s", g0, g1, goroutineDump())
	}
}

func containsID(ids []uint64, id uint64) bool {
	for _, x := range ids {
		if x == id {
			return true
		}
	}
	return false
}

// isConnectionError reports whether err leaves the outcome of a command
// unknown and the session unusable.
func isConnectionError(err error) bool {
	return errors.Is(err, ErrConnectionLost) || errors.Is(err, ErrClosed)
}

// runLoadSession keeps one session slot busy until ctx is done: it dials a
// session, runs loadDepth workers on it until its connection fails, and
// dials again.
func runLoadSession(ctx context.Context, t *testing.T, addr string, slot uint64, m *loadModel, st *loadStats, mismatches *atomic.Int64) {
	rng := rand.New(rand.NewPCG(slot, 7))
	var seq atomic.Uint64
	lun, _ := scsi.EncodeLUN(0)
	failures := 0
	for gen := 0; ctx.Err() == nil; gen++ {
		// The login has its own bound, not the load's deadline: a dial
		// started just before the deadline is not cut short by it.
		dctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		// Every other session's reader spins (Options.BusyPoll), as
		// the target's do, so that spinning reads meet killed
		// connections too.
		s, err := dialLoad(dctx, addr, lun, time.Duration(slot%2)*loadBusyPoll)
		cancel()
		if err != nil {
			// The proxy may kill a connection in its login; try again,
			// a bounded number of times in a row.
			st.dialFailures.Add(1)
			if failures++; failures > 20 {
				t.Errorf("session %d: %d dials failed in a row: %v", slot, failures, err)
				return
			}
			continue
		}
		failures = 0
		st.dials.Add(1)
		if gen > 0 {
			st.redials.Add(1)
		}
		var wg sync.WaitGroup
		broken := make(chan struct{})
		var once sync.Once
		for range loadDepth {
			seed := rng.Uint64()
			wg.Add(1)
			go func() {
				defer wg.Done()
				r := rand.New(rand.NewPCG(seed, slot))
				buf := make([]byte, loadMaxXfer*loadBlockSize)
				for ctx.Err() == nil {
					select {
					case <-broken:
						return
					default:
					}
					n := 1 + r.IntN(loadMaxXfer)
					lba := uint64(r.IntN(loadBlocks - n + 1))
					data := buf[:n*loadBlockSize]
					var cmd Command
					var w *loadWrite
					if r.IntN(2) == 0 {
						cmd = Command{LUN: lun, CDB: rw16(0x88, lba, uint32(n)), DataIn: data}
					} else {
						w = m.issue(slot, seq.Add(1), lba, n)
						st.writes.Add(1)
						for i := range n {
							fillBlock(data[i*loadBlockSize:(i+1)*loadBlockSize], w, lba+uint64(i))
						}
						cmd = Command{LUN: lun, CDB: rw16(0x8a, lba, uint32(n)), DataOut: data}
					}
					resp, err := s.Execute(context.Background(), &cmd)
					switch {
					case err != nil:
						if !isConnectionError(err) {
							t.Errorf("session %d: unexpected error: %v", slot, err)
						}
						if w != nil {
							st.unknown.Add(1)
						}
						once.Do(func() { close(broken) })
						return
					case resp.Status != scsi.StatusGood:
						if w != nil {
							st.notGood.Add(1)
						}
						continue
					}
					st.bytes.Add(int64(len(data)))
					if w == nil {
						// A read racing overlapping writes may return a
						// block torn between two of them (SBC-4 does not
						// order overlapping commands of different
						// nexuses), so reads are checked at the end only.
						st.reads.Add(1)
						continue
					}
					st.acked.Add(1)
					m.acked(w)
				}
			}()
		}
		wg.Wait()
		s.Close()
	}
}

// loadBusyPoll is the spin of the target's readers and of half of the
// initiators' in the load test (Limits.BusyPoll, Options.BusyPoll).
const loadBusyPoll = 100 * time.Microsecond

// dialLoad logs in through the proxy and clears the power-on unit
// attention of the new I_T nexus (SAM-5 §5.14) with TEST UNIT READY.
func dialLoad(ctx context.Context, addr string, lun scsi.LUN, busyPoll time.Duration) (*Session, error) {
	s, err := Dial(ctx, addr, Options{InitiatorName: testInitiator, TargetName: testTarget, LoginTimeout: 5 * time.Second, Settings: loadSettings(), BusyPoll: busyPoll})
	if err != nil {
		return nil, err
	}
	for range 3 {
		resp, err := s.Execute(ctx, &Command{LUN: lun, CDB: make([]byte, 6)})
		if err != nil {
			s.Close()
			return nil, err
		}
		if resp.Status == scsi.StatusGood {
			return s, nil
		}
	}
	s.Close()
	return nil, errors.New("TEST UNIT READY never GOOD")
}

// TestLoadModel checks the load test's bookkeeping: which writes a block
// may hold after a history of issues and acknowledgements, and that a
// block no write produced is told apart.
func TestLoadModel(t *testing.T) {
	type step struct {
		issue bool // issue write w (lba 0, 1 block), else acknowledge it
		w     int
	}
	tests := []struct {
		name  string
		steps []step
		want  []uint64
	}{
		{"untouched", nil, []uint64{0}},
		{"acknowledged", []step{{true, 1}, {false, 1}}, []uint64{1}},
		{"unknown outcome", []step{{true, 1}}, []uint64{0, 1}},
		{"later write supersedes", []step{{true, 1}, {false, 1}, {true, 2}, {false, 2}}, []uint64{2}},
		{"overlapping in time", []step{{true, 1}, {true, 2}, {false, 1}, {false, 2}}, []uint64{1, 2}},
		{"unknown never superseded", []step{{true, 1}, {true, 2}, {false, 2}, {true, 3}, {false, 3}}, []uint64{1, 3}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m := newLoadModel(1)
			ws := map[int]*loadWrite{}
			for _, s := range tc.steps {
				if s.issue {
					ws[s.w] = m.issue(1, uint64(s.w), 0, 1)
				} else {
					m.acked(ws[s.w])
				}
			}
			if diff := cmp.Diff(tc.want, m.cands[0]); diff != "" {
				t.Errorf("candidates (-want +got):\n%s", diff)
			}
		})
	}

	m := newLoadModel(4)
	w := m.issue(3, 9, 1, 2)
	b := make([]byte, loadBlockSize)
	fillBlock(b, w, 2)
	if id, err := m.decodeBlock(b, 2); err != nil || id != w.id {
		t.Errorf("decodeBlock of block 2 of write %d: %d, %v", w.id, id, err)
	}
	if _, err := m.decodeBlock(b, 1); err == nil {
		t.Error("block 2 of a write read at LBA 1 was not told apart")
	}
	b[100] ^= 1
	if _, err := m.decodeBlock(b, 2); err == nil {
		t.Error("a changed byte was not told apart")
	}
	if id, err := m.decodeBlock(make([]byte, loadBlockSize), 0); err != nil || id != 0 {
		t.Errorf("zeros: %d, %v", id, err)
	}
}
