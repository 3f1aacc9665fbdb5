package scsi

import (
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestPROutParameters(t *testing.T) {
	p := PROutParameters{ReservationKey: 0x1122334455667788, ServiceActionReservationKey: 0xabcdef, AllTgPt: true, APTPL: true}
	b := p.Append(nil)
	want := []byte{0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0, 0, 0, 0, 0, 0xab, 0xcd, 0xef, 0, 0, 0, 0, 0x05, 0, 0, 0}
	if diff := cmp.Diff(want, b); diff != "" {
		t.Fatalf("(-want +got):\n%s", diff)
	}
	got, err := ParsePROutParameters(b)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(p, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	tid, _ := TransportID{Name: "iqn.i"}.Append(nil)
	p = PROutParameters{ReservationKey: 1, SpecIPT: true, TransportIDs: tid}
	b = p.Append(nil)
	if len(b) != 28+len(tid) || b[20] != 0x08 {
		t.Fatalf("SPEC_I_PT list: % x", b)
	}
	got, err = ParsePROutParameters(b)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(p, got); diff != "" {
		t.Errorf("SPEC_I_PT (-want +got):\n%s", diff)
	}

	lenErr := NewSense(SenseIllegalRequest, ASCParameterListLengthError)
	bad := []struct {
		name  string
		b     []byte
		sense Sense
	}{
		{"short", make([]byte, 23), lenErr},
		{"long without SPEC_I_PT", make([]byte, 25), lenErr},
		{"SPEC_I_PT without length", append(make([]byte, 20), 0x08, 0, 0, 0), lenErr},
		{"SPEC_I_PT length mismatch", append(append(make([]byte, 20), 0x08, 0, 0, 0), 0, 0, 0, 9, 1, 2, 3, 4), lenErr},
		{"reserved byte 20 bit 1", append(make([]byte, 20), 0x02, 0, 0, 0), InvalidFieldInParameterList(20, 1)},
		{"reserved byte 21", append(make([]byte, 20), 0, 0x10, 0, 0), InvalidFieldInParameterList(21, 4)},
	}
	for _, tt := range bad {
		_, err := ParsePROutParameters(tt.b)
		if !errors.Is(err, ErrInvalidParameterList) {
			t.Errorf("%s: %v", tt.name, err)
			continue
		}
		s, _ := SenseOf(err)
		if diff := cmp.Diff(tt.sense, s); diff != "" {
			t.Errorf("%s (-want +got):\n%s", tt.name, diff)
		}
	}
}

func TestRegisterAndMoveParameters(t *testing.T) {
	tid, _ := TransportID{Name: "iqn.new", HasISID: true, ISID: [6]byte{1, 2, 3, 4, 5, 6}}.Append(nil)
	p := RegisterAndMoveParameters{ReservationKey: 5, ServiceActionReservationKey: 6, Unreg: true, APTPL: true, RelativeTargetPortID: 2, TransportID: tid}
	b := p.Append(nil)
	if diff := cmp.Diff([]byte{0, 0x03, 0, 2, 0, 0, 0, byte(len(tid))}, b[16:24]); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	got, err := ParseRegisterAndMoveParameters(b)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(p, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	for name, b := range map[string][]byte{
		"short":    make([]byte, 23),
		"reserved": append(make([]byte, 16), 1, 0, 0, 0, 0, 0, 0, 0),
		"flags":    append(make([]byte, 17), 4, 0, 0, 0, 0, 0, 0),
		"overrun":  append(make([]byte, 20), 0, 0, 0, 1),
	} {
		if _, err := ParseRegisterAndMoveParameters(b); !errors.Is(err, ErrInvalidParameterList) {
			t.Errorf("%s: %v", name, err)
		}
	}
}

func TestPRInData(t *testing.T) {
	b := AppendPRInReadKeys(nil, 7, []uint64{1, 0xffffffffffffffff})
	k, err := ParsePRInReadKeys(b)
	if err != nil || k.Generation != 7 || k.Len() != 2 || k.Key(1) != 0xffffffffffffffff || k.AdditionalLength != 16 {
		t.Errorf("READ KEYS: %+v, %v", k, err)
	}
	if k, err := ParsePRInReadKeys(b[:20]); err != nil || k.Len() != 1 {
		t.Errorf("READ KEYS cut: %+v, %v", k, err)
	}
	if _, err := ParsePRInReadKeys([]byte{0, 0, 0, 0, 0, 0, 0, 7}); !errors.Is(err, ErrMalformed) {
		t.Errorf("READ KEYS length 7: %v", err)
	}
	if _, err := ParsePRInReadKeys(b[:7]); !errors.Is(err, ErrShortData) {
		t.Errorf("READ KEYS short: %v", err)
	}

	for _, r := range []PRInReservation{{Generation: 3}, {Generation: 4, Held: true, ReservationKey: 9, Type: ExclusiveAccessAllRegistrants}} {
		b := r.Append(nil)
		got, err := ParsePRInReadReservation(b)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(r, got); diff != "" {
			t.Errorf("READ RESERVATION (-want +got):\n%s", diff)
		}
	}
	held := PRInReservation{Held: true, ReservationKey: 1, Type: WriteExclusive}.Append(nil)
	if diff := cmp.Diff([]byte{0, 0, 0, 0, 0, 0, 0, 16, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0x01, 0, 0}, held); diff != "" {
		t.Errorf("READ RESERVATION bytes (-want +got):\n%s", diff)
	}
	if _, err := ParsePRInReadReservation(held[:21]); !errors.Is(err, ErrShortData) {
		t.Errorf("READ RESERVATION cut: %v", err)
	}
	if _, err := ParsePRInReadReservation([]byte{0, 0, 0, 0, 0, 0, 0, 8}); !errors.Is(err, ErrMalformed) {
		t.Errorf("READ RESERVATION length 8: %v", err)
	}

	c := PRCapabilities{CRH: true, SIPC: true, ATPC: true, PTPLC: true, TMV: true, AllowCommands: 1, PTPLA: true,
		TypeMask: 1<<WriteExclusive | 1<<ExclusiveAccess | 1<<WriteExclusiveRegistrantsOnly | 1<<ExclusiveAccessRegistrantsOnly | 1<<WriteExclusiveAllRegistrants | 1<<ExclusiveAccessAllRegistrants}
	b = c.Append(nil)
	if diff := cmp.Diff([]byte{0, 8, 0x1d, 0x91, 0xea, 0x01, 0, 0}, b); diff != "" {
		t.Errorf("REPORT CAPABILITIES (-want +got):\n%s", diff)
	}
	gotC, err := ParsePRInReportCapabilities(b)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(c, gotC); diff != "" {
		t.Errorf("REPORT CAPABILITIES round trip (-want +got):\n%s", diff)
	}
	if _, err := ParsePRInReportCapabilities(b[:5]); !errors.Is(err, ErrShortData) {
		t.Errorf("capabilities short: %v", err)
	}
	if _, err := ParsePRInReportCapabilities([]byte{0, 5, 0, 0, 0, 0}); !errors.Is(err, ErrMalformed) {
		t.Errorf("capabilities length 5: %v", err)
	}

	t1, _ := TransportID{Name: "iqn.one"}.Append(nil)
	t2, _ := TransportID{Name: "iqn.two", HasISID: true}.Append(nil)
	regs := []PRFullStatus{
		{ReservationKey: 1, ReservationHolder: true, Type: WriteExclusive, RelativeTargetPortID: 1, TransportID: t1},
		{ReservationKey: 2, AllTgPt: true, TransportID: t2},
	}
	b = AppendPRInReadFullStatus(nil, 11, regs)
	fs, err := ParsePRInReadFullStatus(b)
	if err != nil {
		t.Fatal(err)
	}
	var got []PRFullStatus
	for d := range fs.All() {
		got = append(got, d)
	}
	if diff := cmp.Diff(regs, got); diff != "" || fs.Generation != 11 {
		t.Errorf("READ FULL STATUS (-want +got):\n%s", diff)
	}
	cut, err := ParsePRInReadFullStatus(b[:len(b)-1])
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for range cut.All() {
		n++
	}
	if n != 1 {
		t.Errorf("cut READ FULL STATUS yielded %d", n)
	}
	bad := append([]byte(nil), b...)
	bad[8+20+3] = 0xff // ADDITIONAL DESCRIPTOR LENGTH overruns ADDITIONAL LENGTH
	if _, err := ParsePRInReadFullStatus(bad); !errors.Is(err, ErrMalformed) {
		t.Errorf("overrun: %v", err)
	}
	if _, err := ParsePRInReadFullStatus(b[:7]); !errors.Is(err, ErrShortData) {
		t.Errorf("short: %v", err)
	}
}

func TestReservationType(t *testing.T) {
	for ty := range ReservationType(16) {
		valid := ty == 1 || ty == 3 || (ty >= 5 && ty <= 8)
		if ty.Valid() != valid {
			t.Errorf("%d.Valid() = %v", ty, ty.Valid())
		}
		if valid && ty.String()[:4] == "TYPE" {
			t.Errorf("%d has no name", ty)
		}
	}
	if WriteExclusiveAllRegistrants.String() != "Write Exclusive - All Registrants" || ReservationType(2).String() != "TYPE 0x02" {
		t.Error("ReservationType.String")
	}
}
