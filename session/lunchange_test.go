package session

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/go-iscsi/iscsi/scsi"
	"github.com/go-iscsi/iscsi/scsi/disk"
)

// heldWriteLU is a logical unit whose WRITEs wait for the test: entered
// receives one value when a WRITE starts, and the WRITE goes on once gate
// is closed.
type heldWriteLU struct {
	*disk.LU
	entered chan struct{}
	gate    chan struct{}
}

func (g *heldWriteLU) Execute(ctx context.Context, req *scsi.Request) scsi.Response {
	if scsi.OpCode(req.CDB[0]) == scsi.OpWrite10 {
		g.entered <- struct{}{}
		<-g.gate
	}
	return g.LU.Execute(ctx, req)
}

// ExecutesInline keeps the WRITEs it holds off the connection's reader,
// which must go on reading while they wait (InlineUnit).
func (g *heldWriteLU) ExecutesInline(cdb []byte) bool {
	return scsi.OpCode(cdb[0]) != scsi.OpWrite10 && g.LU.ExecutesInline(cdb)
}

func newMemoryLU(t testing.TB, serial string) *disk.LU {
	t.Helper()
	lu, err := disk.New(disk.NewMemory(testBlocks*512), disk.Config{SerialNumber: serial})
	if err != nil {
		t.Fatal(err)
	}
	return lu
}

func lunN(n uint16) scsi.LUN {
	l, _ := scsi.EncodeLUN(n)
	return l
}

// tur sends TEST UNIT READY to lun and returns its status and sense (zero
// with GOOD).
func tur(t testing.TB, s *Session, lun scsi.LUN) (scsi.Status, scsi.Sense) {
	t.Helper()
	resp, err := s.Execute(context.Background(), &Command{LUN: lun, CDB: make([]byte, 6)})
	if err != nil {
		t.Fatalf("TEST UNIT READY to LUN %d: %v", lun.Uint64(), err)
	}
	var sense scsi.Sense
	if resp.Sense != nil {
		sense = *resp.Sense
	}
	return resp.Status, sense
}

type senseResult struct {
	Status scsi.Status
	Key    scsi.SenseKey
	Code   scsi.ASC
}

func turResult(t testing.TB, s *Session, lun scsi.LUN) senseResult {
	t.Helper()
	st, sense := tur(t, s, lun)
	return senseResult{st, sense.Key, sense.Code}
}

var (
	resultGood          = senseResult{Status: scsi.StatusGood}
	resultLUNsChanged   = senseResult{scsi.StatusCheckCondition, scsi.SenseUnitAttention, scsi.ASCReportedLUNsDataHasChanged}
	resultNotSupported  = senseResult{scsi.StatusCheckCondition, scsi.SenseIllegalRequest, scsi.ASCLogicalUnitNotSupported}
	resultPowerOnReset  = senseResult{scsi.StatusCheckCondition, scsi.SenseUnitAttention, scsi.ASCPowerOnResetOrBusDeviceResetOccurred}
	resultCapacityDelta = senseResult{scsi.StatusCheckCondition, scsi.SenseUnitAttention, scsi.ASCCapacityDataHasChanged}
)

// TestSetTargetsLUNChange: SetTargets adding LUN 2 and removing LUN 1 of a
// target with a session logged in gives that session an Asynchronous
// Message with REPORTED LUNS DATA HAS CHANGED (RFC 7143 §11.9.1), the same
// unit attention once on its next command (SPC-4 §6.33, SAM-5 §5.14),
// REPORT LUNS listing 0 and 2, LOGICAL UNIT NOT SUPPORTED at LUN 1, and
// the new logical unit at LUN 2. The removed logical unit is released at
// once, the kept one is not.
func TestSetTargetsLUNChange(t *testing.T) {
	tests := []struct {
		name string
		// first is what the session sends first after the change.
		first func(t *testing.T, s *Session) any
		want  any
		// then is what TEST UNIT READY to LUN 0 answers next.
		then senseResult
	}{
		{
			name:  "TEST UNIT READY",
			first: func(t *testing.T, s *Session) any { return turResult(t, s, scsi.LUN{}) },
			want:  resultLUNsChanged,
			then:  resultGood,
		},
		{
			name: "REPORT LUNS clears it",
			first: func(t *testing.T, s *Session) any {
				luns, err := ReportLUNs(context.Background(), s)
				if err != nil {
					t.Fatal(err)
				}
				return luns
			},
			want: []scsi.LUN{lunN(0), lunN(2)},
			then: resultGood,
		},
		{
			name: "REQUEST SENSE returns it",
			first: func(t *testing.T, s *Session) any {
				buf := make([]byte, 252)
				resp, err := s.Execute(context.Background(), &Command{CDB: []byte{0x03, 0, 0, 0, 252, 0}, DataIn: buf})
				if err != nil {
					t.Fatal(err)
				}
				sense, err := scsi.ParseSense(buf[:resp.DataInLength])
				if err != nil {
					t.Fatal(err)
				}
				return senseResult{resp.Status, sense.Key, sense.Code}
			},
			want: senseResult{scsi.StatusGood, scsi.SenseUnitAttention, scsi.ASCReportedLUNsDataHasChanged},
			then: resultGood,
		},
		{
			name:  "not to a removed LUN",
			first: func(t *testing.T, s *Session) any { return turResult(t, s, lunN(1)) },
			want:  resultNotSupported,
			then:  resultLUNsChanged,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			lu0, lu1, lu2 := newMemoryLU(t, "LU0"), newMemoryLU(t, "LU1"), newMemoryLU(t, "LU2")
			srv := &Server{Targets: []Target{{Name: testTarget, LUNs: map[scsi.LUN]LogicalUnit{lunN(0): lu0, lunN(1): lu1}}}}
			addr := serveLoopback(t, srv)
			events := make(chan AsyncEvent, 4)
			s := dialTest(t, addr, Options{OnAsyncEvent: func(e AsyncEvent) { events <- e }})
			if got := turResult(t, s, lunN(1)); got != resultPowerOnReset {
				t.Fatalf("first command to LUN 1: %+v", got)
			}
			if err := srv.SetTargets([]Target{{Name: testTarget, LUNs: map[scsi.LUN]LogicalUnit{lunN(0): lu0, lunN(2): lu2}}}); err != nil {
				t.Fatal(err)
			}
			select {
			case <-srv.Released(lu1):
			default:
				t.Error("removed logical unit not released")
			}
			select {
			case <-srv.Released(lu0):
				t.Error("kept logical unit released")
			default:
			}
			ev := <-events
			if ev.Parsed == nil || ev.LUN != lunN(0) || ev.Parsed.Key != scsi.SenseUnitAttention || ev.Parsed.Code != scsi.ASCReportedLUNsDataHasChanged {
				t.Errorf("asynchronous event: LUN %d, sense %v; want LUN 0, REPORTED LUNS DATA HAS CHANGED", ev.LUN.Uint64(), ev.Parsed)
			}
			if diff := cmp.Diff(tc.want, tc.first(t, s)); diff != "" {
				t.Errorf("first command (-want +got):\n%s", diff)
			}
			if got := turResult(t, s, scsi.LUN{}); got != tc.then {
				t.Errorf("then TEST UNIT READY to LUN 0: %+v, want %+v", got, tc.then)
			}
			if got := turResult(t, s, scsi.LUN{}); got != resultGood {
				t.Errorf("unit attention reported twice: %+v", got)
			}
			// The new logical unit reports its own power-on condition to
			// its first command from this I_T nexus (SAM-5 §6.3.1).
			if got := []senseResult{turResult(t, s, lunN(2)), turResult(t, s, lunN(2))}; !cmp.Equal(got, []senseResult{resultPowerOnReset, resultGood}) {
				t.Errorf("LUN 2: %+v", got)
			}
			if got := turResult(t, s, lunN(1)); got != resultNotSupported {
				t.Errorf("LUN 1 after the change: %+v", got)
			}
		})
	}
}

// TestSetTargetsRemovedLUNDrains: a WRITE in progress on a LUN that
// SetTargets removes completes with GOOD and its data in the logical unit;
// meanwhile the LUN already answers LOGICAL UNIT NOT SUPPORTED, and the
// logical unit is released only after the WRITE has ended.
func TestSetTargetsRemovedLUNDrains(t *testing.T) {
	lu0 := newMemoryLU(t, "LU0")
	lu1 := &heldWriteLU{LU: newMemoryLU(t, "LU1"), entered: make(chan struct{}, 1), gate: make(chan struct{})}
	srv := &Server{Targets: []Target{{Name: testTarget, LUNs: map[scsi.LUN]LogicalUnit{lunN(0): lu0, lunN(1): lu1}}}}
	addr := serveLoopback(t, srv)
	s := dialTest(t, addr, Options{})
	tur(t, s, lunN(1)) // the power-on unit attention
	data := make([]byte, 4096)
	for i := range data {
		data[i] = byte(i*7 + 1)
	}
	written := make(chan error, 1)
	go func() {
		resp, err := write10(context.Background(), s, lunN(1), 8, data)
		if err == nil && resp.Status != scsi.StatusGood {
			err = fmt.Errorf("status %v, sense %v", resp.Status, resp.Sense)
		}
		written <- err
	}()
	<-lu1.entered
	if err := srv.SetTargets([]Target{{Name: testTarget, LUNs: map[scsi.LUN]LogicalUnit{lunN(0): lu0}}}); err != nil {
		t.Fatal(err)
	}
	released := srv.Released(lu1)
	// The session's next command takes the unit attention; then LUN 1 is
	// gone while its WRITE is still running.
	if got := turResult(t, s, lunN(0)); got != resultLUNsChanged {
		t.Errorf("LUN 0 after the change: %+v", got)
	}
	if got := turResult(t, s, lunN(1)); got != resultNotSupported {
		t.Errorf("LUN 1 while its WRITE runs: %+v", got)
	}
	select {
	case <-released:
		t.Fatal("logical unit released while a WRITE to it is running")
	default:
	}
	close(lu1.gate)
	if err := <-written; err != nil {
		t.Fatalf("WRITE to the removed LUN: %v", err)
	}
	select {
	case <-released:
	case <-time.After(30 * time.Second):
		t.Fatal("logical unit not released after its last task ended")
	}
	got := make([]byte, len(data))
	var resp scsi.Response
	for range 2 { // the first takes this new nexus's power-on unit attention
		resp = lu1.LU.Execute(context.Background(), &scsi.Request{CDB: rw10(0x28, 8, uint16(len(got)/512)), DataIn: got})
	}
	if resp.Status != scsi.StatusGood || !cmp.Equal(data, got) {
		t.Errorf("the acknowledged WRITE is not in the logical unit (status %v)", resp.Status)
	}
}

// TestSetTargetsCapacityChanged: CapacityChanged on a LUN after SetTargets
// reaches a session logged in before, through its LUN view.
func TestSetTargetsCapacityChanged(t *testing.T) {
	mem := disk.NewMemory(testBlocks * 512)
	lu0, err := disk.New(mem, disk.Config{})
	if err != nil {
		t.Fatal(err)
	}
	srv := &Server{Targets: []Target{{Name: testTarget, LUNs: map[scsi.LUN]LogicalUnit{lunN(0): lu0}}}}
	addr := serveLoopback(t, srv)
	events := make(chan AsyncEvent, 4)
	s := dialTest(t, addr, Options{OnAsyncEvent: func(e AsyncEvent) { events <- e }})
	// A new Target value with the same LUN map: no inventory change.
	if err := srv.SetTargets([]Target{{Name: testTarget, Alias: "renamed", LUNs: map[scsi.LUN]LogicalUnit{lunN(0): lu0}}}); err != nil {
		t.Fatal(err)
	}
	mem.Resize(2 * testBlocks * 512)
	if n, err := srv.CapacityChanged(testTarget, lunN(0)); err != nil || n != 1 {
		t.Fatalf("CapacityChanged = %d, %v; want 1 connection", n, err)
	}
	ev := <-events
	if ev.Parsed == nil || ev.Parsed.Code != scsi.ASCCapacityDataHasChanged {
		t.Errorf("asynchronous event: %v, want CAPACITY DATA HAS CHANGED", ev.Parsed)
	}
	if got := []senseResult{turResult(t, s, lunN(0)), turResult(t, s, lunN(0))}; !cmp.Equal(got, []senseResult{resultCapacityDelta, resultGood}) {
		t.Errorf("TEST UNIT READY after the resize: %+v", got)
	}
	rc, err := ReadCapacity(context.Background(), s, lunN(0))
	if err != nil || rc.LastLBA != 2*testBlocks-1 {
		t.Errorf("READ CAPACITY after the resize: last LBA %d, %v", rc.LastLBA, err)
	}
}
