package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/go-iscsi/iscsi/scsi"
	"github.com/go-iscsi/iscsi/session"
)

// The durability test's shape: durabilityRounds kills of the target
// process, durabilityWriters writers each with its own range of
// durabilityRegion blocks.
const (
	durabilityRounds  = 5
	durabilityWriters = 4
	durabilityRegion  = 4096
	durabilityBlocks  = durabilityWriters * durabilityRegion
	durabilityMaxXfer = 64
)

// durableWrite is one write of the durability test.
type durableWrite struct {
	id, round, writer, seq uint64
	lba                    uint64
	n                      int
}

// durabilityBlock fills b with block lba of w: a header naming the write
// and a body derived from it.
func durabilityBlock(b []byte, w *durableWrite, lba uint64) {
	binary.BigEndian.PutUint64(b[0:], w.id)
	binary.BigEndian.PutUint64(b[8:], w.round)
	binary.BigEndian.PutUint64(b[16:], w.seq)
	binary.BigEndian.PutUint64(b[24:], lba)
	x := w.id ^ lba<<20
	for i := 32; i < len(b); i += 8 {
		x = x*6364136223846793005 + 1442695040888963407
		binary.BigEndian.PutUint64(b[i:], x)
	}
}

// durabilityModel holds, for every block, the writes it may hold in
// order: the first is the last write known durable (or what the file was
// seen to hold), the rest came after it and are not known durable.
type durabilityModel struct {
	mu     sync.Mutex
	writes []*durableWrite // by id; 0 is zeros
	cands  [][]uint64
}

func (m *durabilityModel) add(w *durableWrite) {
	m.mu.Lock()
	defer m.mu.Unlock()
	w.id = uint64(len(m.writes))
	m.writes = append(m.writes, w)
	for b := w.lba; b < w.lba+uint64(w.n); b++ {
		m.cands[b] = append(m.cands[b], w.id)
	}
}

// durable records that w reached stable storage: the writes before it on
// its blocks no longer count. A writer's writes to its range are
// sequential, so none after w has been sent yet.
func (m *durabilityModel) durable(w *durableWrite) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for b := w.lba; b < w.lba+uint64(w.n); b++ {
		c := m.cands[b]
		for i, id := range c {
			if id == w.id {
				m.cands[b] = append(c[:0], c[i:]...)
				break
			}
		}
	}
}

// check compares the file with the model, and then takes what the file
// holds as each block's durable content.
func (m *durabilityModel) check(t *testing.T, image []byte) (lost, newer int) {
	t.Helper()
	for b := range m.cands {
		blk := image[b*512 : (b+1)*512]
		id := uint64(0)
		if !allZero(blk) {
			id = binary.BigEndian.Uint64(blk)
			ok := id < uint64(len(m.writes)) && id != 0
			if ok {
				want := make([]byte, 512)
				durabilityBlock(want, m.writes[id], uint64(b))
				ok = bytes.Equal(want, blk)
			}
			if !ok {
				t.Errorf("block %d holds content no write of the test put there (id %d)", b, id)
				lost++
				continue
			}
		}
		i := indexOf(m.cands[b], id)
		switch {
		case i < 0:
			t.Errorf("block %d holds write %d, not its last durable write %d or a later one %v", b, id, m.cands[b][0], m.cands[b][1:])
			lost++
			continue
		case i > 0:
			newer++
		}
		m.cands[b] = []uint64{id}
	}
	return lost, newer
}

func allZero(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}

func indexOf(ids []uint64, id uint64) int {
	for i, x := range ids {
		if x == id {
			return i
		}
	}
	return -1
}

// targetProcess is the built command running as a child process.
type targetProcess struct {
	cmd  *exec.Cmd
	addr string
	done chan error
}

// startTargetProcess runs bin with args on 127.0.0.1:0 and waits for the
// address it serves on, from its JSON log.
func startTargetProcess(t *testing.T, bin string, args ...string) *targetProcess {
	t.Helper()
	cmd := exec.Command(bin, append([]string{"-listen", "127.0.0.1:0", "-log-format", "json"}, args...)...)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &targetProcess{cmd: cmd, done: make(chan error, 1)}
	addr := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			var rec struct{ Msg, Addr string }
			if json.Unmarshal(sc.Bytes(), &rec) == nil && rec.Msg == "serving" && rec.Addr != "" {
				select {
				case addr <- rec.Addr:
				default:
				}
			}
		}
		p.done <- cmd.Wait()
	}()
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			cmd.Process.Kill()
			<-p.done
		}
	})
	select {
	case p.addr = <-addr:
	case err := <-p.done:
		t.Fatalf("target exited before serving: %v", err)
	case <-time.After(30 * time.Second):
		t.Fatal("target did not report its address within 30s")
	}
	return p
}

// kill sends SIGKILL to the target process and waits for it to end.
func (p *targetProcess) kill(t *testing.T) {
	t.Helper()
	if err := p.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	if err := <-p.done; err == nil {
		t.Fatal("the killed target exited with status 0")
	}
}

func cdb16(op byte, lba uint64, n uint32, fua bool) []byte {
	c := make([]byte, 16)
	c[0] = op
	if fua {
		c[1] = 0x08
	}
	binary.BigEndian.PutUint64(c[2:], lba)
	binary.BigEndian.PutUint32(c[10:], n)
	return c
}

// setWriteCache clears or sets WCE in the Caching mode page (SBC-4
// §6.5.5) with MODE SENSE(10) and MODE SELECT(10) (SPC-4 §6.12, §6.15),
// and reads it back.
func setWriteCache(ctx context.Context, s *session.Session, lun scsi.LUN, on bool) error {
	sense := func() ([]byte, error) {
		buf := make([]byte, 255)
		resp, err := s.Execute(ctx, &session.Command{LUN: lun, CDB: []byte{0x5a, 0x08, 0x08, 0, 0, 0, 0, 0, 255, 0}, DataIn: buf})
		if err != nil {
			return nil, err
		}
		if resp.Status != scsi.StatusGood || resp.DataInLength < 8+20 {
			return nil, fmt.Errorf("MODE SENSE(10) caching page: status %v, %d bytes", resp.Status, resp.DataInLength)
		}
		return buf[:resp.DataInLength], nil
	}
	cur, err := sense()
	if err != nil {
		return err
	}
	sel := append([]byte(nil), cur...)
	sel[0], sel[1] = 0, 0
	sel[8] &^= 0x80 // PS is reserved in MODE SELECT (SPC-4 §7.5.7)
	sel[8+2] &^= 0x04
	if on {
		sel[8+2] |= 0x04
	}
	resp, err := s.Execute(ctx, &session.Command{LUN: lun, CDB: []byte{0x55, 0x10, 0, 0, 0, 0, 0, 0, byte(len(sel)), 0}, DataOut: sel})
	if err != nil {
		return err
	}
	if resp.Status != scsi.StatusGood {
		return fmt.Errorf("MODE SELECT(10): status %v %v", resp.Status, resp.Sense)
	}
	if cur, err = sense(); err != nil {
		return err
	}
	if got := cur[8+2]&0x04 != 0; got != on {
		return fmt.Errorf("WCE reads %v after MODE SELECT set it %v", got, on)
	}
	return nil
}

// TestDurabilityKill builds the target, serves a file with it, and kills
// the process with SIGKILL at random moments while writers keep writing:
// with FUA, with WRITE then SYNCHRONIZE CACHE, and, in odd rounds, with
// the write cache turned off (WCE=0) so that plain writes are durable at
// GOOD. After each kill every write acknowledged as durable must be in the
// file (or a later write of the same writer on those blocks), and the
// restarted target must serve what the file holds. A process kill keeps
// the page cache, so this checks that GOOD follows the write into the
// file; that the flush precedes GOOD is checked in scsi/disk
// (TestDurableBeforeGood).
func TestDurabilityKill(t *testing.T) {
	gobin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command to build the target with")
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "target")
	if out, err := exec.Command(gobin, "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	image := filepath.Join(dir, "lu.img")
	const name = "iqn.2026-11.org.example.go-iscsi:durable"
	lun, _ := scsi.EncodeLUN(0)
	m := &durabilityModel{writes: []*durableWrite{{}}, cands: make([][]uint64, durabilityBlocks)}
	for i := range m.cands {
		m.cands[i] = []uint64{0}
	}
	rng := rand.New(rand.NewPCG(11, 13))
	var totalDurable, totalUnknown, totalNewer int
	for round := range durabilityRounds {
		p := startTargetProcess(t, bin, "-target", name, "-file", image, "-size", fmt.Sprint(durabilityBlocks*512))
		ctx := context.Background()
		// The restarted target serves what the file holds.
		if round > 0 {
			s, err := session.Dial(ctx, p.addr, session.Options{InitiatorName: "iqn.2026-11.org.example.go-iscsi:verify", TargetName: name})
			if err != nil {
				t.Fatalf("round %d: dial for verification: %v", round, err)
			}
			want, err := os.ReadFile(image)
			if err != nil {
				t.Fatal(err)
			}
			got := make([]byte, len(want))
			for off := 0; off < len(got); off += 1 << 20 {
				var resp *session.Response
				for range 3 { // the first command reports the power-on unit attention
					resp, err = s.Execute(ctx, &session.Command{LUN: lun, CDB: cdb16(0x88, uint64(off/512), 2048, false), DataIn: got[off : off+1<<20]})
					if err != nil || resp.Status == scsi.StatusGood {
						break
					}
				}
				if err != nil || resp.Status != scsi.StatusGood {
					t.Fatalf("round %d: READ(16) at %d: %v %+v", round, off/512, err, resp)
				}
			}
			s.Close()
			if !bytes.Equal(got, want) {
				t.Fatalf("round %d: the restarted target does not serve what the file holds", round)
			}
		}
		wceOff := round%2 == 1
		if wceOff {
			s, err := session.Dial(ctx, p.addr, session.Options{InitiatorName: "iqn.2026-11.org.example.go-iscsi:mode", TargetName: name})
			if err != nil {
				t.Fatalf("round %d: dial: %v", round, err)
			}
			for range 3 {
				if resp, err := s.Execute(ctx, &session.Command{LUN: lun, CDB: make([]byte, 6)}); err != nil || resp.Status == scsi.StatusGood {
					break
				}
			}
			if err := setWriteCache(ctx, s, lun, false); err != nil {
				t.Fatalf("round %d: turning the write cache off: %v", round, err)
			}
			s.Close()
		}
		var wg sync.WaitGroup
		var mu sync.Mutex
		durableN, unknownN := 0, 0
		// The kill comes after a random number of durable writes.
		killAt := 20 + rng.IntN(300)
		killNow := make(chan struct{})
		for wr := range durabilityWriters {
			seed := rng.Uint64()
			wg.Add(1)
			go func() {
				defer wg.Done()
				r := rand.New(rand.NewPCG(seed, uint64(wr)))
				s, err := session.Dial(ctx, p.addr, session.Options{InitiatorName: fmt.Sprintf("iqn.2026-11.org.example.go-iscsi:writer%d", wr), TargetName: name})
				if err != nil {
					t.Errorf("round %d writer %d: dial: %v", round, wr, err)
					return
				}
				defer s.Close()
				// Power-on unit attention (SAM-5 §5.14).
				for range 3 {
					if resp, err := s.Execute(ctx, &session.Command{LUN: lun, CDB: make([]byte, 6)}); err != nil || resp.Status == scsi.StatusGood {
						break
					}
				}
				buf := make([]byte, durabilityMaxXfer*512)
				for seq := uint64(1); ; seq++ {
					n := 1 + r.IntN(durabilityMaxXfer)
					lba := uint64(wr*durabilityRegion + r.IntN(durabilityRegion-n+1))
					w := &durableWrite{round: uint64(round), writer: uint64(wr), seq: seq, lba: lba, n: n}
					m.add(w)
					data := buf[:n*512]
					for i := range n {
						durabilityBlock(data[i*512:(i+1)*512], w, lba+uint64(i))
					}
					// Odd rounds: WCE=0, a plain write is durable at
					// GOOD. Even rounds: FUA or WRITE + SYNCHRONIZE
					// CACHE(10).
					fua := !wceOff && r.IntN(2) == 0
					resp, err := s.Execute(ctx, &session.Command{LUN: lun, CDB: cdb16(0x8a, lba, uint32(n), fua), DataOut: data})
					if err == nil && resp.Status == scsi.StatusGood && !fua && !wceOff {
						resp, err = s.Execute(ctx, &session.Command{LUN: lun, CDB: []byte{0x35, 0, 0, 0, 0, 0, 0, 0, 0, 0}})
					}
					if err != nil {
						if !errors.Is(err, session.ErrConnectionLost) && !errors.Is(err, session.ErrClosed) {
							t.Errorf("round %d writer %d: %v", round, wr, err)
						}
						mu.Lock()
						unknownN++
						mu.Unlock()
						return
					}
					if resp.Status != scsi.StatusGood {
						t.Errorf("round %d writer %d: status %v %v", round, wr, resp.Status, resp.Sense)
						return
					}
					m.durable(w)
					mu.Lock()
					durableN++
					if durableN == killAt {
						close(killNow)
					}
					mu.Unlock()
				}
			}()
		}
		select {
		case <-killNow:
		case <-time.After(2 * time.Minute):
			t.Errorf("round %d: %d durable writes in 2 minutes, fewer than %d", round, durableN, killAt)
		}
		p.kill(t)
		wg.Wait()
		img, err := os.ReadFile(image)
		if err != nil {
			t.Fatal(err)
		}
		lost, newer := m.check(t, img)
		t.Logf("round %d (write cache %s): %d writes acknowledged durable, %d cut by the kill, %d blocks hold a write not yet known durable, %d lost",
			round, map[bool]string{true: "off", false: "on, FUA or SYNCHRONIZE CACHE"}[wceOff], durableN, unknownN, newer, lost)
		totalDurable += durableN
		totalUnknown += unknownN
		totalNewer += newer
		if durableN == 0 {
			t.Errorf("round %d: no write was acknowledged before the kill", round)
		}
	}
	t.Logf("%d rounds: %d durable writes, %d cut by a kill, %d blocks found newer than their last durable write", durabilityRounds, totalDurable, totalUnknown, totalNewer)
}
