package disk

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"os"
	"sync"
	"syscall"
	"testing"

	"github.com/go-iscsi/iscsi/scsi"
	"github.com/google/go-cmp/cmp"
)

func TestRemovableMedium(t *testing.T) {
	lu := newLU(t, 1<<20, Config{Removable: true})
	ready(t, lu, nexusA, nexusB)
	eject := []byte{0x1b, 0, 0, 0, 0x02, 0}
	load := []byte{0x1b, 0, 0, 0, 0x03, 0}
	prevent := []byte{0x1e, 0, 0, 0, 1, 0}
	allow := []byte{0x1e, 0, 0, 0, 0, 0}
	runSteps(t, lu, []step{
		{nexusA, prevent, nil, good_, 0},
		{nexusB, eject, nil, check_, scsi.ASCMediumRemovalPrevented},
		{nexusA, allow, nil, good_, 0},
		{nexusB, eject, nil, good_, 0},
		{nexusA, cdbTUR(), nil, check_, scsi.ASCMediumNotPresent},
		{nexusA, cdbRW(scsi.OpRead10, 0, 1, 0), nil, check_, scsi.ASCMediumNotPresent},
		{nexusA, []byte{0x25, 0, 0, 0, 0, 0, 0, 0, 0, 0}, nil, check_, scsi.ASCMediumNotPresent},
		{nexusA, cdbInquiry(false, 0, 36), nil, good_, 0},
		// Loading is also prevented.
		{nexusB, prevent, nil, good_, 0},
		{nexusA, load, nil, check_, scsi.ASCMediumRemovalPrevented},
		{nexusB, allow, nil, good_, 0},
		{nexusA, load, nil, good_, 0},
		{nexusA, cdbTUR(), nil, good_, 0},
		{nexusB, cdbTUR(), nil, check_, scsi.ASCNotReadyToReadyChangeMediumMayHaveChanged},
		{nexusA, []byte{0x1e, 0, 0, 0, 2, 0}, nil, check_, scsi.ASCInvalidFieldInCDB},
		// A power condition makes LOEJ ignored.
		{nexusA, []byte{0x1b, 0, 0, 0, 0x12, 0}, nil, good_, 0},
		{nexusA, cdbTUR(), nil, good_, 0},
		// Nexus loss withdraws its prevention.
		{nexusA, prevent, nil, good_, 0},
	})
	lu.ITNexusLoss(nexusA)
	runSteps(t, lu, []step{{nexusB, cdbTUR(), nil, good_, 0}, {nexusB, eject, nil, good_, 0}})
	r, _ := run(lu, nexusB, []byte{0x03, 0, 0, 0, 18, 0}, nil, 18)
	mustGood(t, r, "request sense without medium")
	// REQUEST SENSE reports the not-ready state.
	_, d := run(lu, nexusB, []byte{0x03, 0, 0, 0, 18, 0}, nil, 18)
	if s, err := scsi.ParseSense(d); err != nil || s.Code != scsi.ASCMediumNotPresent {
		t.Fatalf("REQUEST SENSE without medium: %v %v", s, err)
	}

	// A fixed medium ignores LOEJ and accepts PREVENT.
	fixed := newLU(t, 1<<20, Config{})
	ready(t, fixed, nexusA)
	runSteps(t, fixed, []step{{nexusA, eject, nil, good_, 0}, {nexusA, prevent, nil, good_, 0}, {nexusA, cdbTUR(), nil, good_, 0}})
	_, d = run(fixed, nexusA, cdbInquiry(false, 0, 36), nil, 36)
	if d[1]&0x80 != 0 {
		t.Fatal("RMB set on a fixed medium")
	}
}

func TestReadOnly(t *testing.T) {
	lu := newLU(t, 1<<20, Config{ReadOnly: true, ThinProvisioning: true})
	ready(t, lu, nexusA)
	for _, c := range [][]byte{
		cdbRW(scsi.OpWrite10, 0, 1, 0), cdbRW(scsi.OpWrite6, 0, 1, 0), cdbRW(scsi.OpWrite16, 0, 1, 0),
		cdbRW(scsi.OpWriteAndVerify10, 0, 1, 0), cdbWriteSame(true, 0, 1, 0), cdbUnmap(24), cdbCAW(0, 1),
		{0x48, 0x02, 0, 0, 0, 0, 0, 0, 0, 0},
	} {
		wantSense(t, first(run(lu, nexusA, c, make([]byte, 1024), 0)), scsi.SenseDataProtect, scsi.ASCWriteProtected, scsi.OpCode(c[0]).String())
	}
	mustGood(t, first(run(lu, nexusA, cdbRW(scsi.OpRead10, 0, 1, 0), nil, 512)), "read")
}

func TestReportSupportedOperationCodes(t *testing.T) {
	lu := newLU(t, 1<<20, Config{ThinProvisioning: true})
	ready(t, lu, nexusA)
	rsoc := func(opts byte, op byte, sa uint16, alloc uint32) []byte {
		c := []byte{0xa3, 0x0c, opts, op, byte(sa >> 8), byte(sa), 0, 0, 0, 0, 0, 0}
		binary.BigEndian.PutUint32(c[6:], alloc)
		return c
	}
	r, d := run(lu, nexusA, rsoc(0, 0, 0, 8192), nil, 8192)
	mustGood(t, r, "all commands")
	if int(binary.BigEndian.Uint32(d))+4 != len(d) {
		t.Fatalf("COMMAND DATA LENGTH %d for %d bytes", binary.BigEndian.Uint32(d), len(d))
	}
	// Every listed command is one the logical unit dispatches, and its CDB
	// usage data, sent back as a CDB, is accepted by the usage check.
	n := 0
	for p := d[4:]; len(p) >= 8; p = p[8:] {
		n++
		op, sa, servactv, cdbLen := p[0], binary.BigEndian.Uint16(p[2:]), p[5]&1 != 0, int(binary.BigEndian.Uint16(p[6:]))
		opts := byte(1)
		if servactv {
			opts = 2
		}
		r, one := run(lu, nexusA, rsoc(opts, op, sa, 512), nil, 512)
		mustGood(t, r, "one command")
		if one[1]&0x07 != 3 || int(binary.BigEndian.Uint16(one[2:])) != cdbLen || one[4] != op {
			t.Fatalf("op %#x sa %#x: one-command data % x", op, sa, one)
		}
		cdb := append([]byte(nil), one[4:4+cdbLen]...)
		if servactv {
			cdb[1] = cdb[1]&^0x1f | byte(sa)
		}
		c, _, ok := lu.lookupCommand(cdb)
		if !ok || byte(c.op) != op {
			t.Fatalf("op %#x listed but not dispatched", op)
		}
		if s, bad := checkUsage(c, cdb); bad {
			t.Fatalf("op %#x: its own usage data is rejected: %v", op, s)
		}
	}
	if n != 61 {
		t.Errorf("%d commands listed", n)
	}
	// RCTD adds timeouts descriptors.
	_, d = run(lu, nexusA, rsoc(0x80, 0, 0, 8192), nil, 8192)
	if len(d) != 4+n*20 {
		t.Fatalf("RCTD: %d bytes for %d commands", len(d), n)
	}
	_, d = run(lu, nexusA, rsoc(0x81, 0x28, 0, 512), nil, 512)
	if d[1] != 0x83 || len(d) != 4+10+12 {
		t.Fatalf("READ(10) with RCTD % x", d)
	}
	_, d = run(lu, nexusA, rsoc(1, 0x8c, 0, 512), nil, 512)
	if diff := cmp.Diff([]byte{0, 1, 0, 0}, d); diff != "" {
		t.Fatalf("READ ATTRIBUTE (-want +got):\n%s", diff)
	}
	wantSense(t, first(run(lu, nexusA, rsoc(1, 0x9e, 0, 512), nil, 512)), scsi.SenseIllegalRequest, scsi.ASCInvalidFieldInCDB, "opts 1 with service actions")
	wantSense(t, first(run(lu, nexusA, rsoc(2, 0x28, 0, 512), nil, 512)), scsi.SenseIllegalRequest, scsi.ASCInvalidFieldInCDB, "opts 2 without service actions")
	_, d = run(lu, nexusA, rsoc(3, 0x9e, 0x10, 512), nil, 512)
	if d[1]&7 != 3 || d[4] != 0x9e {
		t.Fatalf("opts 3 % x", d)
	}
}

func TestReportLUNsAndDefects(t *testing.T) {
	lu := newLU(t, 1<<20, Config{LUNs: []scsi.LUN{{}, {0, 1}}})
	_, d := run(lu, nexusA, []byte{0xa0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0}, nil, 256)
	if diff := cmp.Diff([]byte{0, 0, 0, 16, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0}, d); diff != "" {
		t.Fatalf("REPORT LUNS (-want +got):\n%s", diff)
	}
	wantSense(t, first(run(lu, nexusA, []byte{0xa0, 0, 0, 0, 0, 0, 0, 0, 0, 8, 0, 0}, nil, 8)), scsi.SenseIllegalRequest, scsi.ASCInvalidFieldInCDB, "allocation length < 16")
	wantSense(t, first(run(lu, nexusA, []byte{0xa0, 0, 0x10, 0, 0, 0, 0, 0, 1, 0, 0, 0}, nil, 256)), scsi.SenseIllegalRequest, scsi.ASCInvalidFieldInCDB, "select report")
	ready(t, lu, nexusA)
	_, d = run(lu, nexusA, []byte{0x37, 0, 0x1d, 0, 0, 0, 0, 0, 255, 0}, nil, 255)
	if diff := cmp.Diff([]byte{0, 0x1d, 0, 0}, d); diff != "" {
		t.Fatalf("READ DEFECT DATA(10) (-want +got):\n%s", diff)
	}
	_, d = run(lu, nexusA, []byte{0xb7, 0x0c, 0, 0, 0, 0, 0, 0, 0, 255, 0, 0}, nil, 255)
	if diff := cmp.Diff([]byte{0, 0x0c, 0, 0, 0, 0, 0, 0}, d); diff != "" {
		t.Fatalf("READ DEFECT DATA(12) (-want +got):\n%s", diff)
	}
}

func TestSanitize(t *testing.T) {
	lu := newLU(t, 1<<20, Config{})
	ready(t, lu, nexusA)
	data := pattern(4096, 1)
	mustGood(t, first(run(lu, nexusA, cdbRW(scsi.OpWrite10, 0, 8, 0), data, 0)), "write")
	ow := []byte{0x01, 0, 0, 2, 0xde, 0xad}
	mustGood(t, first(run(lu, nexusA, []byte{0x48, 0x01, 0, 0, 0, 0, 0, 0, 6, 0}, ow, 0)), "overwrite")
	_, d := run(lu, nexusA, cdbRW(scsi.OpRead10, 2047, 1, 0), nil, 512)
	if !bytes.Equal(d, bytes.Repeat([]byte{0xde, 0xad}, 256)) {
		t.Fatal("OVERWRITE pattern not on the last block")
	}
	// INVERT with an even count leaves the inverted pattern.
	mustGood(t, first(run(lu, nexusA, []byte{0x48, 0x01, 0, 0, 0, 0, 0, 0, 6, 0}, []byte{0x82, 0, 0, 2, 0xde, 0xad}, 0)), "overwrite invert")
	_, d = run(lu, nexusA, cdbRW(scsi.OpRead10, 5, 1, 0), nil, 512)
	if !bytes.Equal(d, bytes.Repeat([]byte{0x21, 0x52}, 256)) {
		t.Fatalf("OVERWRITE with INVERT, 2 passes: % x", d[:4])
	}
	mustGood(t, first(run(lu, nexusA, []byte{0x48, 0x02, 0, 0, 0, 0, 0, 0, 0, 0}, nil, 0)), "block erase")
	_, d = run(lu, nexusA, cdbRW(scsi.OpRead10, 0, 1, 0), nil, 512)
	if !allZero(d) {
		t.Fatal("BLOCK ERASE left data")
	}
	mustGood(t, first(run(lu, nexusA, []byte{0x48, 0x1f, 0, 0, 0, 0, 0, 0, 0, 0}, nil, 0)), "exit failure mode")
	for _, tc := range []struct {
		name string
		cdb  []byte
		p    []byte
		want scsi.Sense
	}{
		{"crypto erase", []byte{0x48, 0x03, 0, 0, 0, 0, 0, 0, 0, 0}, nil, scsi.InvalidFieldInCDB(1, 4)},
		{"overwrite test", []byte{0x48, 0x01, 0, 0, 0, 0, 0, 0, 6, 0}, []byte{0x21, 0, 0, 2, 1, 2}, scsi.InvalidFieldInParameterList(0, 6)},
		{"overwrite count", []byte{0x48, 0x01, 0, 0, 0, 0, 0, 0, 6, 0}, []byte{0x00, 0, 0, 2, 1, 2}, scsi.InvalidFieldInParameterList(0, 4)},
		{"pattern length", []byte{0x48, 0x01, 0, 0, 0, 0, 0, 0, 6, 0}, []byte{0x01, 0, 0, 3, 1, 2}, scsi.InvalidFieldInParameterList(2, -1)},
		{"short list", []byte{0x48, 0x01, 0, 0, 0, 0, 0, 0, 4, 0}, []byte{0x01, 0, 0, 0}, scsi.InvalidFieldInCDB(7, -1)},
		{"block erase with list", []byte{0x48, 0x02, 0, 0, 0, 0, 0, 0, 4, 0}, make([]byte, 4), scsi.InvalidFieldInCDB(7, -1)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, _ := run(lu, nexusA, tc.cdb, tc.p, 0)
			if diff := cmp.Diff(tc.want, r.Sense); r.Status != scsi.StatusCheckCondition || diff != "" {
				t.Fatalf("status %v (-want +got):\n%s", r.Status, diff)
			}
		})
	}
}

// TestCompareAndWriteAtomic has goroutines on two nexuses increment a
// counter in block 0 with COMPARE AND WRITE while others overwrite block 1
// with WRITE(10): the final count equals the number of successful
// COMPARE AND WRITEs, which would not hold if a compare and its write
// could interleave with another's.
func TestCompareAndWriteAtomic(t *testing.T) {
	lu := newLU(t, 1<<20, Config{})
	ready(t, lu, nexusA, nexusB)
	const workers, tries = 4, 100
	var wg sync.WaitGroup
	success := make([]int, workers)
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			n := []Nexus{nexusA, nexusB}[w%2]
			buf := make([]byte, 1024)
			for i := 0; i < tries; i++ {
				_, cur := run(lu, n, cdbRW(scsi.OpRead10, 0, 1, 0), nil, 512)
				copy(buf, cur)
				copy(buf[512:], cur)
				binary.BigEndian.PutUint64(buf[512:], binary.BigEndian.Uint64(cur)+1)
				r, _ := run(lu, n, cdbCAW(0, 1), buf, 0)
				switch {
				case r.Status == scsi.StatusGood:
					success[w]++
				case r.Sense.Key != scsi.SenseMiscompare:
					t.Errorf("COMPARE AND WRITE: %v %v", r.Status, r.Sense)
					return
				}
				run(lu, n, cdbRW(scsi.OpWrite10, 1, 1, 0), buf[:512], 0)
			}
		}(w)
	}
	wg.Wait()
	total := 0
	for _, s := range success {
		total += s
	}
	_, d := run(lu, nexusA, cdbRW(scsi.OpRead10, 0, 1, 0), nil, 512)
	if got := binary.BigEndian.Uint64(d); got != uint64(total) || total == 0 {
		t.Fatalf("counter %d after %d successful COMPARE AND WRITEs", got, total)
	}
}

// blockingBackend holds each Deallocate until a value comes on release
// (or release is closed), after telling entered, so that a test can look
// at the logical unit while a SANITIZE runs. With fail set Deallocate
// fails.
type blockingBackend struct {
	*Memory
	entered chan struct{} // buffered: one value per call
	release chan struct{}
	fail    error
}

func newBlockingBackend(size int64) *blockingBackend {
	return &blockingBackend{Memory: NewMemory(size), entered: make(chan struct{}, 64), release: make(chan struct{})}
}

func (b *blockingBackend) Deallocate(off, n int64) error {
	b.entered <- struct{}{}
	<-b.release
	if b.fail != nil {
		return b.fail
	}
	return b.Memory.Deallocate(off, n)
}

// sanitizeEnd returns the channel closed when lu's last sanitize
// operation ends.
func sanitizeEnd(lu *LU) <-chan struct{} { return lu.sanitizeRun.Load().end }

var (
	cdbBlockEraseImmed = []byte{0x48, 0x82, 0, 0, 0, 0, 0, 0, 0, 0}
	cdbBlockErase      = []byte{0x48, 0x02, 0, 0, 0, 0, 0, 0, 0, 0}
	cdbExitFailureMode = []byte{0x48, 0x1f, 0, 0, 0, 0, 0, 0, 0, 0}
	cdbRequestSense    = []byte{0x03, 0, 0, 0, 18, 0}
)

// TestSanitizeInProgress checks SBC-4 §4.11 while a SANITIZE with IMMED
// runs: the command has already completed with GOOD, and every command
// but INQUIRY, REPORT LUNS, REPORT SUPPORTED OPERATION CODES and REQUEST
// SENSE fails with NOT READY, SANITIZE IN PROGRESS and a progress
// indication that REQUEST SENSE reports too.
func TestSanitizeInProgress(t *testing.T) {
	be := newBlockingBackend(4 * sanitizeChunk)
	lu, err := New(be, Config{ThinProvisioning: true})
	if err != nil {
		t.Fatal(err)
	}
	ready(t, lu, nexusA, nexusB)
	mustGood(t, first(run(lu, nexusA, cdbBlockEraseImmed, nil, 0)), "sanitize with IMMED")
	<-be.entered
	be.release <- struct{}{}
	<-be.entered // a quarter is done, the second chunk is under way
	const quarter = 65536 / 4
	for _, tc := range []struct {
		name string
		cdb  []byte
	}{
		{"TEST UNIT READY", cdbTUR()},
		{"READ(16)", cdbRW(scsi.OpRead16, 0, 1, 0)},
		{"START STOP UNIT", []byte{0x1b, 1, 0, 0, 1, 0}},
		{"MODE SENSE(6)", []byte{0x1a, 0, 0x3f, 0, 255, 0}},
		{"SANITIZE", cdbBlockEraseImmed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, _ := run(lu, nexusB, tc.cdb, nil, 512)
			want := scsi.NewSense(scsi.SenseNotReady, scsi.ASCLogicalUnitNotReadySanitizeInProgress)
			want.SenseKeySpecific = scsi.ProgressIndication(quarter)
			if diff := cmp.Diff(want, r.Sense); r.Status != scsi.StatusCheckCondition || diff != "" {
				t.Fatalf("status %v (-want +got):\n%s", r.Status, diff)
			}
		})
	}
	mustGood(t, first(run(lu, nexusB, cdbInquiry(false, 0, 36), nil, 36)), "inquiry during sanitize")
	mustGood(t, first(run(lu, nexusB, []byte{0xa0, 0, 0, 0, 0, 0, 0, 0, 0, 64, 0, 0}, nil, 64)), "report luns during sanitize")
	_, d := run(lu, nexusB, cdbRequestSense, nil, 18)
	s, err := scsi.ParseSense(d)
	if err != nil || s.Key != scsi.SenseNotReady || s.Code != scsi.ASCLogicalUnitNotReadySanitizeInProgress || s.SenseKeySpecific != scsi.ProgressIndication(quarter) {
		t.Fatalf("REQUEST SENSE during sanitize: %v %+v %v", s, s.SenseKeySpecific, err)
	}
	close(be.release)
	<-sanitizeEnd(lu)
	mustGood(t, first(run(lu, nexusB, cdbRW(scsi.OpRead16, 0, 1, 0), nil, 512)), "read after sanitize")
	_, d = run(lu, nexusB, cdbRequestSense, nil, 18)
	if s, err := scsi.ParseSense(d); err != nil || s.Key != scsi.SenseNoSense {
		t.Fatalf("REQUEST SENSE after sanitize: %v %v", s, err)
	}
}

// TestSanitizeSurvivesAbort checks that a SANITIZE without IMMED waits for
// its operation, and that aborting the command (its context ends) ends
// the command alone: the operation goes on (SBC-4 §4.11).
func TestSanitizeSurvivesAbort(t *testing.T) {
	be := newBlockingBackend(2 * sanitizeChunk)
	lu, err := New(be, Config{ThinProvisioning: true})
	if err != nil {
		t.Fatal(err)
	}
	ready(t, lu, nexusA)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan Response)
	go func() { done <- lu.Execute(ctx, &Request{Nexus: nexusA, CDB: cdbBlockErase}) }()
	<-be.entered
	cancel()
	if r := <-done; r.Status != scsi.StatusTaskAborted {
		t.Fatalf("aborted SANITIZE: status %v, want TASK ABORTED", r.Status)
	}
	wantSense(t, first(run(lu, nexusA, cdbTUR(), nil, 0)), scsi.SenseNotReady, scsi.ASCLogicalUnitNotReadySanitizeInProgress, "TUR after the abort")
	close(be.release)
	<-sanitizeEnd(lu)
	mustGood(t, first(run(lu, nexusA, cdbTUR(), nil, 0)), "TUR after the sanitize")

	// Without an abort the command ends with the operation.
	go func() { done <- lu.Execute(context.Background(), &Request{Nexus: nexusA, CDB: cdbBlockErase}) }()
	mustGood(t, <-done, "SANITIZE without IMMED")
	select {
	case <-sanitizeEnd(lu):
	default:
		t.Fatal("SANITIZE without IMMED completed before its operation")
	}
}

// TestSanitizeFailureMode checks SBC-4 §4.11: after a sanitize operation
// fails, media access fails with MEDIUM ERROR, SANITIZE COMMAND FAILED
// until EXIT FAILURE MODE.
func TestSanitizeFailureMode(t *testing.T) {
	be := newBlockingBackend(sanitizeChunk)
	be.fail = errors.New("EIO")
	close(be.release)
	lu, err := New(be, Config{ThinProvisioning: true})
	if err != nil {
		t.Fatal(err)
	}
	ready(t, lu, nexusA)
	wantSense(t, first(run(lu, nexusA, cdbBlockErase, nil, 0)), scsi.SenseMediumError, scsi.ASCSanitizeCommandFailed, "failed sanitize")
	wantSense(t, first(run(lu, nexusA, cdbRW(scsi.OpRead16, 0, 1, 0), nil, 512)), scsi.SenseMediumError, scsi.ASCSanitizeCommandFailed, "read in failure mode")
	mustGood(t, first(run(lu, nexusA, cdbExitFailureMode, nil, 0)), "exit failure mode")
	mustGood(t, first(run(lu, nexusA, cdbRW(scsi.OpRead16, 0, 1, 0), nil, 512)), "read after exit failure mode")
}

// failingBackend fails reads, writes and flushes with the errors it holds.
type failingBackend struct {
	*Memory
	readErr, writeErr, flushErr error
}

func (f *failingBackend) ReadAt(p []byte, off int64) (int, error) {
	if f.readErr != nil {
		return 0, f.readErr
	}
	return f.Memory.ReadAt(p, off)
}

func (f *failingBackend) WriteAt(p []byte, off int64) (int, error) {
	if f.writeErr != nil {
		return 0, f.writeErr
	}
	return f.Memory.WriteAt(p, off)
}

func (f *failingBackend) Flush() error { return f.flushErr }

func TestBackendErrors(t *testing.T) {
	be := &failingBackend{Memory: NewMemory(1 << 20)}
	lu, err := New(be, Config{})
	if err != nil {
		t.Fatal(err)
	}
	ready(t, lu, nexusA)
	be.readErr = errors.New("EIO")
	for _, c := range [][]byte{cdbRW(scsi.OpRead10, 7, 1, 0), cdbRW(scsi.OpVerify16, 7, 1, 0)} {
		r, _ := run(lu, nexusA, c, nil, 512)
		wantSense(t, r, scsi.SenseMediumError, scsi.ASCUnrecoveredReadError, scsi.OpCode(c[0]).String())
		if !r.Sense.InformationValid || r.Sense.Information != 7 {
			t.Fatalf("%v: INFORMATION %d", scsi.OpCode(c[0]), r.Sense.Information)
		}
	}
	be.readErr = nil
	be.writeErr = errors.New("EIO")
	wantSense(t, first(run(lu, nexusA, cdbRW(scsi.OpWrite10, 3, 1, 0), make([]byte, 512), 0)), scsi.SenseMediumError, scsi.ASCWriteError, "write")
	be.writeErr = &os.PathError{Op: "write", Path: "x", Err: syscall.ENOSPC}
	wantSense(t, first(run(lu, nexusA, cdbRW(scsi.OpWrite10, 3, 1, 0), make([]byte, 512), 0)), scsi.SenseDataProtect, scsi.ASCSpaceAllocationFailedWriteProtect, "write ENOSPC")
	be.writeErr = nil
	be.flushErr = errors.New("EIO")
	wantSense(t, first(run(lu, nexusA, cdbRW(scsi.OpWrite10, 3, 1, 0x08), make([]byte, 512), 0)), scsi.SenseMediumError, scsi.ASCWriteError, "FUA write with failing flush")
	wantSense(t, first(run(lu, nexusA, []byte{0x35, 0, 0, 0, 0, 0, 0, 0, 0, 0}, nil, 0)), scsi.SenseMediumError, scsi.ASCWriteError, "synchronize cache")
}

// TestSynchronizeCacheSyncNV checks that SYNCHRONIZE CACHE (10/16) take
// the obsolete SYNC_NV bit (SBC-4 §5.26, §5.27) as initiators send it:
// GOOD with the medium in, NOT READY, MEDIUM NOT PRESENT with it ejected
// (libiscsi's NoMedia.NoMediaSBC), never INVALID FIELD IN CDB.
func TestSynchronizeCacheSyncNV(t *testing.T) {
	lu := newLU(t, 1<<20, Config{Removable: true})
	ready(t, lu, nexusA)
	sync10 := []byte{0x35, 0x06, 0, 0, 0, 0, 0, 0, 1, 0}
	sync16 := []byte{0x91, 0x06, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0}
	for _, c := range [][]byte{sync10, sync16} {
		mustGood(t, first(run(lu, nexusA, c, nil, 0)), "SYNCHRONIZE CACHE with SYNC_NV and IMMED")
	}
	mustGood(t, first(run(lu, nexusA, []byte{0x1b, 0, 0, 0, 0x02, 0}, nil, 0)), "eject")
	for _, c := range [][]byte{sync10, sync16} {
		wantSense(t, first(run(lu, nexusA, c, nil, 0)), scsi.SenseNotReady, scsi.ASCMediumNotPresent, "SYNCHRONIZE CACHE without medium")
	}
}
