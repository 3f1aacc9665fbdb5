package disk

import (
	"encoding/binary"
	"fmt"
	"sync"
	"testing"

	"github.com/go-iscsi/iscsi/scsi"
	"github.com/google/go-cmp/cmp"
)

// step is one command of a reservation scenario and its expected outcome.
type step struct {
	n      Nexus
	cdb    []byte
	out    []byte
	status scsi.Status
	code   scsi.ASC // for CHECK CONDITION
}

func runSteps(t *testing.T, lu *LU, steps []step) {
	t.Helper()
	for i, s := range steps {
		r, _ := run(lu, s.n, s.cdb, s.out, 4096)
		if r.Status != s.status || (s.status == scsi.StatusCheckCondition && r.Sense.Code != s.code) {
			t.Fatalf("step %d (%v from %s): status %v sense %v, want %v %v", i, scsi.OpCode(s.cdb[0]), s.n.InitiatorPort, r.Status, r.Sense, s.status, s.code)
		}
	}
}

const (
	good_     = scsi.StatusGood
	conflict_ = scsi.StatusReservationConflict
	check_    = scsi.StatusCheckCondition
)

func TestPersistentReservationTypes(t *testing.T) {
	read := cdbRW(scsi.OpRead10, 0, 1, 0)
	write := cdbRW(scsi.OpWrite10, 0, 1, 0)
	blk := make([]byte, 512)
	for _, tc := range []struct {
		typ byte
		// outcomes for: registered non-holder read, write; unregistered read, write
		regRead, regWrite, unRead, unWrite scsi.Status
	}{
		{prWriteExclusive, good_, conflict_, good_, conflict_},
		{prExclusiveAccess, conflict_, conflict_, conflict_, conflict_},
		{prWriteExclusiveRegistrantsOnly, good_, good_, good_, conflict_},
		{prExclusiveAccessRegistrantsOnly, good_, good_, conflict_, conflict_},
		{prWriteExclusiveAllRegistrants, good_, good_, good_, conflict_},
		{prExclusiveAccessAllRegistrants, good_, good_, conflict_, conflict_},
	} {
		t.Run(string(rune('0'+tc.typ)), func(t *testing.T) {
			lu := newLU(t, 1<<20, Config{})
			ready(t, lu, nexusA, nexusB, nexusC)
			runSteps(t, lu, []step{
				{nexusA, cdbPROut(proRegister, 0), prParams(0, 0xa), good_, 0},
				{nexusB, cdbPROut(proRegister, 0), prParams(0, 0xb), good_, 0},
				{nexusA, cdbPROut(proReserve, tc.typ), prParams(0xa, 0), good_, 0},
				// The holder does everything.
				{nexusA, read, nil, good_, 0},
				{nexusA, write, blk, good_, 0},
				{nexusB, read, nil, tc.regRead, 0},
				{nexusB, write, blk, tc.regWrite, 0},
				{nexusC, read, nil, tc.unRead, 0},
				{nexusC, write, blk, tc.unWrite, 0},
				// Always allowed: INQUIRY, READ CAPACITY, TUR, PR IN.
				{nexusC, cdbInquiry(false, 0, 36), nil, good_, 0},
				{nexusC, []byte{0x25, 0, 0, 0, 0, 0, 0, 0, 0, 0}, nil, good_, 0},
				{nexusC, cdbTUR(), nil, good_, 0},
				{nexusC, cdbPRIn(0, 100), nil, good_, 0},
				// A second reservation by a non-holder conflicts; by the holder
				// with the same type it is a no-op.
				{nexusA, cdbPROut(proReserve, tc.typ), prParams(0xa, 0), good_, 0},
				{nexusC, cdbPROut(proReserve, tc.typ), prParams(0xc, 0), conflict_, 0},
			})
		})
	}
}

func TestPersistentReservationLifecycle(t *testing.T) {
	var aborted [][]Nexus
	lu := newLU(t, 1<<20, Config{AbortTasks: func(n []Nexus) { aborted = append(aborted, n) }})
	ready(t, lu, nexusA, nexusB, nexusC)
	runSteps(t, lu, []step{
		// REGISTER with a nonzero key from an unregistered nexus conflicts.
		{nexusA, cdbPROut(proRegister, 0), prParams(5, 0xa), conflict_, 0},
		{nexusA, cdbPROut(proRegister, 0), prParams(0, 0xa), good_, 0},
		{nexusB, cdbPROut(proRegisterAndIgnoreExisting, 0), prParams(0, 0xb), good_, 0},
		{nexusC, cdbPROut(proRegister, 0), prParams(0, 0xc), good_, 0},
		// Wrong key.
		{nexusA, cdbPROut(proReserve, prWriteExclusive), prParams(0xb, 0), conflict_, 0},
		// Bad type and scope.
		{nexusA, cdbPROut(proReserve, 2), prParams(0xa, 0), check_, scsi.ASCInvalidFieldInCDB},
		{nexusA, cdbPROut(proReserve, 0x10|prWriteExclusive), prParams(0xa, 0), check_, scsi.ASCInvalidFieldInCDB},
		// APTPL is not supported.
		{nexusA, cdbPROut(proRegister, 0), append(prParams(0xa, 0xa)[:20], 1, 0, 0, 0), check_, scsi.ASCInvalidFieldInParameterList},
		{nexusA, []byte{0x5f, 0, 0, 0, 0, 0, 0, 0, 23, 0}, make([]byte, 23), check_, scsi.ASCParameterListLengthError},
		{nexusA, cdbPROut(proReserve, prWriteExclusiveRegistrantsOnly), prParams(0xa, 0), good_, 0},
		// RELEASE with the wrong type.
		{nexusA, cdbPROut(proRelease, prWriteExclusive), prParams(0xa, 0), check_, scsi.ASCInvalidReleaseOfPersistentReservation},
		// RELEASE by a non-holder is a no-op.
		{nexusB, cdbPROut(proRelease, prWriteExclusiveRegistrantsOnly), prParams(0xb, 0), good_, 0},
		{nexusA, cdbPROut(proRelease, prWriteExclusiveRegistrantsOnly), prParams(0xa, 0), good_, 0},
		// Registrants-only release: RESERVATIONS RELEASED to the others.
		{nexusB, cdbTUR(), nil, check_, scsi.ASCReservationsReleased},
		{nexusC, cdbTUR(), nil, check_, scsi.ASCReservationsReleased},
		{nexusA, cdbTUR(), nil, good_, 0},
		{nexusA, cdbPROut(proReserve, prExclusiveAccess), prParams(0xa, 0), good_, 0},
		// B preempts A's reservation: A's registration goes, A sees
		// REGISTRATIONS PREEMPTED, C (type changed) RESERVATIONS RELEASED.
		{nexusB, cdbPROut(proPreempt, prWriteExclusive), prParams(0xb, 0xa), good_, 0},
		{nexusA, cdbTUR(), nil, check_, scsi.ASCRegistrationsPreempted},
		{nexusA, cdbRW(scsi.OpWrite10, 0, 1, 0), make([]byte, 512), conflict_, 0},
		{nexusA, cdbRW(scsi.OpRead10, 0, 1, 0), nil, good_, 0},
		{nexusC, cdbTUR(), nil, check_, scsi.ASCReservationsReleased},
		// PREEMPT of a key nobody has conflicts; a zero key is invalid.
		{nexusB, cdbPROut(proPreempt, prWriteExclusive), prParams(0xb, 0x77), conflict_, 0},
		{nexusB, cdbPROut(proPreemptAndAbort, prWriteExclusive), prParams(0xb, 0), check_, scsi.ASCInvalidFieldInParameterList},
		// PREEMPT AND ABORT of a registrant that is not the holder.
		{nexusB, cdbPROut(proPreemptAndAbort, prWriteExclusive), prParams(0xb, 0xc), good_, 0},
		{nexusC, cdbTUR(), nil, check_, scsi.ASCRegistrationsPreempted},
	})
	if diff := cmp.Diff([][]Nexus{{nexusC}}, aborted); diff != "" {
		t.Fatalf("AbortTasks calls (-want +got):\n%s", diff)
	}
	runSteps(t, lu, []step{
		{nexusC, cdbPROut(proRegister, 0), prParams(0, 0xc), good_, 0},
		// CLEAR: everything goes; others see RESERVATIONS PREEMPTED.
		{nexusC, cdbPROut(proClear, 0), prParams(0xc, 0), good_, 0},
		{nexusB, cdbTUR(), nil, check_, scsi.ASCReservationsPreempted},
		{nexusA, cdbRW(scsi.OpWrite10, 0, 1, 0), make([]byte, 512), good_, 0},
		// Unregister the holder of a registrants-only reservation.
		{nexusA, cdbPROut(proRegister, 0), prParams(0, 0xa), good_, 0},
		{nexusB, cdbPROut(proRegister, 0), prParams(0, 0xb), good_, 0},
		{nexusA, cdbPROut(proReserve, prExclusiveAccessRegistrantsOnly), prParams(0xa, 0), good_, 0},
		{nexusA, cdbPROut(proRegister, 0), prParams(0xa, 0), good_, 0},
		{nexusB, cdbTUR(), nil, check_, scsi.ASCReservationsReleased},
		{nexusC, cdbRW(scsi.OpRead10, 0, 1, 0), nil, good_, 0},
	})
}

func TestPersistentReserveIn(t *testing.T) {
	lu := newLU(t, 1<<20, Config{})
	ready(t, lu, nexusA, nexusB)
	runSteps(t, lu, []step{
		{nexusA, cdbPROut(proRegister, 0), prParams(0, 0x1111), good_, 0},
		{nexusB, cdbPROut(proRegister, 0), prParams(0, 0x2222), good_, 0},
		{nexusB, cdbPROut(proRegister, 0), prParams(0x2222, 0x3333), good_, 0},
		{nexusA, cdbPROut(proReserve, prWriteExclusive), prParams(0x1111, 0), good_, 0},
	})
	_, d := run(lu, nexusB, cdbPRIn(0, 100), nil, 100)
	want := []byte{0, 0, 0, 3, 0, 0, 0, 16, 0, 0, 0, 0, 0, 0, 0x11, 0x11, 0, 0, 0, 0, 0, 0, 0x33, 0x33}
	if diff := cmp.Diff(want, d); diff != "" {
		t.Fatalf("READ KEYS (-want +got):\n%s", diff)
	}
	_, d = run(lu, nexusB, cdbPRIn(1, 100), nil, 100)
	want = []byte{0, 0, 0, 3, 0, 0, 0, 16, 0, 0, 0, 0, 0, 0, 0x11, 0x11, 0, 0, 0, 0, 0, prWriteExclusive, 0, 0}
	if diff := cmp.Diff(want, d); diff != "" {
		t.Fatalf("READ RESERVATION (-want +got):\n%s", diff)
	}
	_, d = run(lu, nexusB, cdbPRIn(2, 100), nil, 100)
	if diff := cmp.Diff([]byte{0, 8, 0x10, 0x90, 0xea, 0x01, 0, 0}, d); diff != "" {
		t.Fatalf("REPORT CAPABILITIES (-want +got):\n%s", diff)
	}
	_, d = run(lu, nexusB, cdbPRIn(3, 1024), nil, 1024)
	type full struct {
		Key    uint64
		Holder bool
		Type   byte
		RelTP  uint16
		TID    string
	}
	var got []full
	for p := d[8:]; len(p) >= 24; {
		l := int(binary.BigEndian.Uint32(p[20:]))
		tid := p[24 : 24+l]
		if tid[0] != 0x45 || int(binary.BigEndian.Uint16(tid[2:])) != l-4 {
			t.Fatalf("TransportID header % x", tid[:4])
		}
		name := string(tid[4:])
		for len(name) > 0 && name[len(name)-1] == 0 {
			name = name[:len(name)-1]
		}
		got = append(got, full{binary.BigEndian.Uint64(p), p[12]&1 != 0, p[13], binary.BigEndian.Uint16(p[18:]), name})
		p = p[24+l:]
	}
	wantFull := []full{
		{0x1111, true, prWriteExclusive, 1, nexusA.InitiatorPort},
		{0x3333, false, 0, 1, nexusB.InitiatorPort},
	}
	if diff := cmp.Diff(wantFull, got); diff != "" {
		t.Fatalf("READ FULL STATUS (-want +got):\n%s", diff)
	}
	if gen := binary.BigEndian.Uint32(d); gen != 3 {
		t.Fatalf("PRGENERATION %d, want 3", gen)
	}
	// READ KEYS truncated to 8 bytes still reports the full length.
	r, d := run(lu, nexusB, cdbPRIn(0, 8), nil, 100)
	if r.DataInLen != 8 || binary.BigEndian.Uint32(d[4:]) != 16 {
		t.Fatalf("truncated READ KEYS % x", d)
	}
	wantSense(t, first(run(lu, nexusB, cdbPRIn(4, 100), nil, 100)), scsi.SenseIllegalRequest, scsi.ASCInvalidFieldInCDB, "unknown PR IN service action")
	wantSense(t, first(run(lu, nexusB, cdbPROut(7, 0), prParams(0x3333, 0), 0)), scsi.SenseIllegalRequest, scsi.ASCInvalidFieldInCDB, "REGISTER AND MOVE")
}

func TestAllRegistrantsPreempt(t *testing.T) {
	lu := newLU(t, 1<<20, Config{})
	ready(t, lu, nexusA, nexusB, nexusC)
	runSteps(t, lu, []step{
		{nexusA, cdbPROut(proRegister, 0), prParams(0, 0xa), good_, 0},
		{nexusB, cdbPROut(proRegister, 0), prParams(0, 0xb), good_, 0},
		{nexusA, cdbPROut(proReserve, prWriteExclusiveAllRegistrants), prParams(0xa, 0), good_, 0},
		// Every registrant holds an all-registrants reservation.
		{nexusB, cdbPROut(proRelease, prWriteExclusiveAllRegistrants), prParams(0xb, 0), good_, 0},
		{nexusA, cdbTUR(), nil, check_, scsi.ASCReservationsReleased},
		{nexusC, cdbRW(scsi.OpWrite10, 0, 1, 0), make([]byte, 512), good_, 0},
		{nexusA, cdbPROut(proReserve, prWriteExclusiveAllRegistrants), prParams(0xa, 0), good_, 0},
		{nexusC, cdbRW(scsi.OpWrite10, 0, 1, 0), make([]byte, 512), conflict_, 0},
		// PREEMPT with key zero takes over with a new type.
		{nexusB, cdbPROut(proPreempt, prExclusiveAccess), prParams(0xb, 0), good_, 0},
		{nexusA, cdbTUR(), nil, check_, scsi.ASCRegistrationsPreempted},
		{nexusA, cdbRW(scsi.OpRead10, 0, 1, 0), nil, conflict_, 0},
		{nexusB, cdbRW(scsi.OpRead10, 0, 1, 0), nil, good_, 0},
	})
	_, d := run(lu, nexusB, cdbPRIn(1, 100), nil, 100)
	if d[21] != prExclusiveAccess || binary.BigEndian.Uint64(d[8:]) != 0xb {
		t.Fatalf("READ RESERVATION after preempt % x", d)
	}
}

func TestSPC2Reservations(t *testing.T) {
	lu := newLU(t, 1<<20, Config{})
	ready(t, lu, nexusA, nexusB)
	reserve6, release6 := []byte{0x16, 0, 0, 0, 0, 0}, []byte{0x17, 0, 0, 0, 0, 0}
	reserve10, release10 := []byte{0x56, 0, 0, 0, 0, 0, 0, 0, 0, 0}, []byte{0x57, 0, 0, 0, 0, 0, 0, 0, 0, 0}
	runSteps(t, lu, []step{
		{nexusA, reserve6, nil, good_, 0},
		{nexusA, reserve6, nil, good_, 0},
		{nexusB, reserve10, nil, conflict_, 0},
		{nexusB, cdbTUR(), nil, conflict_, 0},
		{nexusB, cdbRW(scsi.OpRead10, 0, 1, 0), nil, conflict_, 0},
		{nexusB, cdbInquiry(false, 0, 36), nil, good_, 0},
		{nexusB, []byte{0xa0, 0, 0, 0, 0, 0, 0, 0, 0, 16, 0, 0}, nil, good_, 0},
		{nexusB, []byte{0x03, 0, 0, 0, 18, 0}, nil, good_, 0},
		{nexusB, cdbPROut(proRegister, 0), prParams(0, 0xb), conflict_, 0},
		{nexusB, release6, nil, good_, 0}, // not the holder: no-op
		{nexusB, cdbTUR(), nil, conflict_, 0},
		{nexusA, cdbRW(scsi.OpWrite10, 0, 1, 0), make([]byte, 512), good_, 0},
		{nexusA, release10, nil, good_, 0},
		{nexusB, cdbTUR(), nil, good_, 0},
		// With persistent registrations present (CRH=1): registered nexuses
		// get GOOD without effect, others RESERVATION CONFLICT.
		{nexusA, cdbPROut(proRegister, 0), prParams(0, 0xa), good_, 0},
		{nexusA, reserve6, nil, good_, 0},
		{nexusB, cdbTUR(), nil, good_, 0},
		{nexusB, reserve6, nil, conflict_, 0},
	})
	// I_T nexus loss releases an SPC-2 reservation.
	lu2 := newLU(t, 1<<20, Config{})
	ready(t, lu2, nexusA, nexusB)
	runSteps(t, lu2, []step{{nexusA, reserve6, nil, good_, 0}, {nexusB, cdbTUR(), nil, conflict_, 0}})
	lu2.ITNexusLoss(nexusA)
	runSteps(t, lu2, []step{{nexusB, cdbTUR(), nil, good_, 0}})
	runSteps(t, lu2, []step{{nexusB, reserve6, nil, good_, 0}})
	lu2.Reset(LogicalUnitReset)
	runSteps(t, lu2, []step{{nexusA, cdbTUR(), nil, check_, scsi.ASCPowerOnResetOrBusDeviceResetOccurred}, {nexusA, cdbTUR(), nil, good_, 0}})
}

// TestReservationsConcurrent runs two I_T nexuses against each other:
// one holds a Write Exclusive reservation and writes, the other reads and
// tries to write; every write of the other must conflict.
func TestReservationsConcurrent(t *testing.T) {
	lu := newLU(t, 1<<20, Config{})
	ready(t, lu, nexusA, nexusB)
	runSteps(t, lu, []step{
		{nexusA, cdbPROut(proRegister, 0), prParams(0, 0xa), good_, 0},
		{nexusA, cdbPROut(proReserve, prWriteExclusive), prParams(0xa, 0), good_, 0},
	})
	var wg sync.WaitGroup
	errs := make(chan string, 4)
	wg.Add(2)
	go func() {
		defer wg.Done()
		blk := pattern(512, 1)
		for i := 0; i < 200; i++ {
			if r, _ := run(lu, nexusA, cdbRW(scsi.OpWrite10, uint64(i%16), 1, 0), blk, 0); r.Status != scsi.StatusGood {
				errs <- "holder write: " + r.Status.String()
				return
			}
		}
	}()
	go func() {
		defer wg.Done()
		for i := 0; i < 200; i++ {
			if r, _ := run(lu, nexusB, cdbRW(scsi.OpRead10, uint64(i%16), 1, 0), nil, 512); r.Status != scsi.StatusGood {
				errs <- "other read: " + r.Status.String()
				return
			}
			if r, _ := run(lu, nexusB, cdbRW(scsi.OpWrite10, uint64(i%16), 1, 0), make([]byte, 512), 0); r.Status != scsi.StatusReservationConflict {
				errs <- "other write: " + r.Status.String()
				return
			}
		}
	}()
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
}

func TestRegistrationLimits(t *testing.T) {
	lu := newLU(t, 1<<20, Config{})
	ready(t, lu, nexusA)
	// REGISTER of key zero by an unregistered nexus does nothing.
	runSteps(t, lu, []step{{nexusA, cdbPROut(proRegister, 0), prParams(0, 0), good_, 0}})
	_, d := run(lu, nexusA, cdbPRIn(0, 100), nil, 100)
	if diff := cmp.Diff([]byte{0, 0, 0, 0, 0, 0, 0, 0}, d); diff != "" {
		t.Fatalf("READ KEYS after a no-op REGISTER (-want +got):\n%s", diff)
	}
	for i := 0; i < maxRegistrations; i++ {
		n := Nexus{InitiatorPort: fmt.Sprintf("iqn.2024-01.test:%d,i,0x1", i)}
		run(lu, n, cdbTUR(), nil, 0) // the power-on unit attention
		if r, _ := run(lu, n, cdbPROut(proRegisterAndIgnoreExisting, 0), prParams(0, uint64(i+1)), 0); r.Status != scsi.StatusGood {
			t.Fatalf("registration %d: %v %v", i, r.Status, r.Sense)
		}
	}
	wantSense(t, first(run(lu, nexusA, cdbPROut(proRegister, 0), prParams(0, 7), 0)), scsi.SenseIllegalRequest, scsi.ASCInsufficientRegistrationResources, "one too many")
}
