package scsi

import (
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestModePagesRoundTrip(t *testing.T) {
	pages := []ModePageParameters{
		ReadWriteErrorRecoveryPage{AWRE: true, ARRE: true, TB: true, RC: true, EER: true, PER: true, DTE: true, DCR: true, ReadRetryCount: 3, LBPERE: true, WriteRetryCount: 4, RecoveryTimeLimit: 500},
		DisconnectReconnectPage{BufferFullRatio: 1, BufferEmptyRatio: 2, BusInactivityLimit: 3, DisconnectTimeLimit: 4, ConnectTimeLimit: 5, MaximumBurstSize: 512, EMDP: true, FairArbitration: 7, DIMM: true, DTDC: 5, FirstBurstSize: 128},
		CachingPage{IC: true, ABPF: true, CAP: true, DISC: true, SIZE: true, WCE: true, MF: true, RCD: true, DemandReadRetentionPriority: 1, WriteRetentionPriority: 2,
			DisablePrefetchTransferLength: 0xffff, MinimumPrefetch: 1, MaximumPrefetch: 2, MaximumPrefetchCeiling: 3, FSW: true, LBCSS: true, DRA: true, SyncProg: 2, NVDis: true, NumberOfCacheSegments: 20, CacheSegmentSize: 4096},
		ControlPage{TST: 1, TMFOnly: true, DPICZ: true, DSense: true, GLTSD: true, RLEC: true, QueueAlgorithmModifier: 1, NUAR: true, QErr: QErrAbortThisNexus,
			RAC: true, UAIntlckCtrl: 2, SWP: true, ATO: true, TAS: true, ATMPE: true, RWWP: true, SBLP: true, AutoloadMode: 2, BusyTimeoutPeriod: 0xffff, ExtendedSelfTestTime: 60},
		InformationalExceptionsPage{PERF: true, EBF: true, EWASC: true, DEXCPT: true, TEST: true, EBACKERR: true, LOGERR: true, MRIE: 6, IntervalTimer: 10, ReportCount: 1},
	}
	lengths := map[uint8]int{0x01: 10, 0x02: 14, 0x08: 18, 0x0a: 10, 0x1c: 10}
	var all []byte
	for _, p := range pages {
		all = AppendModePage(all, p, true)
	}
	var got []ModePageParameters
	for mp, err := range ModePages(all) {
		if err != nil {
			t.Fatal(err)
		}
		if !mp.PS || mp.SPF {
			t.Errorf("page 0x%02x: PS %v SPF %v", mp.PageCode, mp.PS, mp.SPF)
		}
		if len(mp.Parameters) != lengths[mp.PageCode] {
			t.Errorf("page 0x%02x: PAGE LENGTH %d, want %d", mp.PageCode, len(mp.Parameters), lengths[mp.PageCode])
		}
		var p ModePageParameters
		var err2 error
		switch mp.PageCode {
		case ModePageReadWriteErrorRecovery:
			p, err2 = ParseReadWriteErrorRecoveryPage(mp.Parameters)
		case ModePageDisconnectReconnect:
			p, err2 = ParseDisconnectReconnectPage(mp.Parameters)
		case ModePageCaching:
			p, err2 = ParseCachingPage(mp.Parameters)
		case ModePageControl:
			p, err2 = ParseControlPage(mp.Parameters)
		case ModePageInformationalExceptions:
			p, err2 = ParseInformationalExceptionsPage(mp.Parameters)
		}
		if err2 != nil {
			t.Fatal(err2)
		}
		got = append(got, p)
	}
	if diff := cmp.Diff(pages, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	// Parsers reject a page shorter than the standard's.
	for _, parse := range []func([]byte) error{
		func(b []byte) error { _, err := ParseReadWriteErrorRecoveryPage(b); return err },
		func(b []byte) error { _, err := ParseDisconnectReconnectPage(b); return err },
		func(b []byte) error { _, err := ParseCachingPage(b); return err },
		func(b []byte) error { _, err := ParseControlPage(b); return err },
		func(b []byte) error { _, err := ParseInformationalExceptionsPage(b); return err },
	} {
		if err := parse(make([]byte, 9)); !errors.Is(err, ErrInvalidParameterList) {
			t.Errorf("short page: %v", err)
		}
	}
}

func TestCachingPageGolden(t *testing.T) {
	b := AppendModePage(nil, CachingPage{WCE: true}, false)
	want := []byte{0x08, 0x12, 0x04, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}
	if diff := cmp.Diff(want, b); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	b = AppendModePage(nil, ControlPage{DSense: true, QErr: QErrAbortAll, SWP: true, TAS: true}, true)
	want = []byte{0x8a, 0x0a, 0x04, 0x02, 0x08, 0x40, 0, 0, 0, 0, 0, 0}
	if diff := cmp.Diff(want, b); diff != "" {
		t.Errorf("control (-want +got):\n%s", diff)
	}
}

// subpage is a mode page in the sub_page format, for the tests.
type subpage struct{ data []byte }

func (subpage) PageCode() uint8                      { return 0x0a }
func (subpage) SubpageCode() uint8                   { return 0x01 }
func (p subpage) AppendParameters(dst []byte) []byte { return append(dst, p.data...) }

func TestModeParameters(t *testing.T) {
	pages := AppendModePage(nil, CachingPage{WCE: true}, false)
	pages = AppendModePage(pages, subpage{[]byte{1, 2, 3}}, false)
	tests := []struct {
		name string
		op   OpCode
		m    ModeParameters
		head []byte
	}{
		{"MODE SENSE(6) short descriptor", OpModeSense6,
			ModeParameters{DeviceSpecific: DeviceSpecificDPOFUA, BlockDescriptors: []BlockDescriptor{{NumberOfBlocks: 0x20000, BlockLength: 512}}, Pages: pages},
			[]byte{byte(4 + 8 + len(pages) - 1), 0, 0x10, 8, 0, 2, 0, 0, 0, 0, 2, 0}},
		{"MODE SENSE(10) long descriptor", OpModeSense10,
			ModeParameters{DeviceSpecific: DeviceSpecificWP, LongLBA: true, BlockDescriptors: []BlockDescriptor{{NumberOfBlocks: 1 << 40, BlockLength: 4096}}, Pages: pages},
			[]byte{0, byte(8 + 16 + len(pages) - 2), 0, 0x80, 1, 0, 0, 16, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10, 0}},
		{"MODE SELECT(10) no descriptors", OpModeSelect10, ModeParameters{Pages: pages}, []byte{0, byte(8 + len(pages) - 2), 0, 0, 0, 0, 0, 0}},
		{"MODE SELECT(6) empty", OpModeSelect6, ModeParameters{}, []byte{3, 0, 0, 0}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := tt.m.Append(nil, tt.op)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.head, b[:len(tt.head)]); diff != "" {
				t.Errorf("header (-want +got):\n%s", diff)
			}
			got, err := ParseModeParameters(tt.op, b)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.m, got, cmpEmpty); diff != "" {
				t.Errorf("round trip (-want +got):\n%s", diff)
			}
		})
	}
	var codes [][2]uint8
	for p, err := range ModePages(pages) {
		if err != nil {
			t.Fatal(err)
		}
		codes = append(codes, [2]uint8{p.PageCode, p.SubpageCode})
	}
	if diff := cmp.Diff([][2]uint8{{0x08, 0}, {0x0a, 1}}, codes); diff != "" {
		t.Errorf("pages (-want +got):\n%s", diff)
	}
	// A short block descriptor holds at most 32 bits of block count.
	b, _ := ModeParameters{BlockDescriptors: []BlockDescriptor{{NumberOfBlocks: 1 << 33, BlockLength: 512}}}.Append(nil, OpModeSense6)
	if diff := cmp.Diff([]byte{0xff, 0xff, 0xff, 0xff}, b[4:8]); diff != "" {
		t.Errorf("clamped count (-want +got):\n%s", diff)
	}
}

// cmpEmpty treats nil and empty slices alike.
var cmpEmpty = cmp.Comparer(func(a, b []byte) bool { return string(a) == string(b) })

func TestModeParametersErrors(t *testing.T) {
	tests := []struct {
		name  string
		op    OpCode
		b     []byte
		sense Sense
	}{
		{"short header", OpModeSelect10, []byte{0, 0, 0, 0, 0, 0, 0}, NewSense(SenseIllegalRequest, ASCParameterListLengthError)},
		{"descriptor length not a multiple", OpModeSelect6, []byte{0, 0, 0, 4, 0, 0, 0, 0}, NewSense(SenseIllegalRequest, ASCParameterListLengthError)},
		{"descriptor overruns", OpModeSelect6, []byte{0, 0, 0, 8, 0, 0, 0, 0}, NewSense(SenseIllegalRequest, ASCParameterListLengthError)},
		{"reserved LONGLBA byte", OpModeSelect10, []byte{0, 0, 0, 0, 0x02, 0, 0, 0}, InvalidFieldInParameterList(4, 1)},
		{"page overruns", OpModeSelect6, []byte{0, 0, 0, 0, 0x08, 0x12, 0}, NewSense(SenseIllegalRequest, ASCParameterListLengthError)},
		{"page header cut", OpModeSelect6, []byte{0, 0, 0, 0, 0x08}, NewSense(SenseIllegalRequest, ASCParameterListLengthError)},
		{"subpage header cut", OpModeSelect6, []byte{0, 0, 0, 0, 0x4a, 1, 0}, NewSense(SenseIllegalRequest, ASCParameterListLengthError)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseModeParameters(tt.op, tt.b)
			var pe *ParameterError
			if !errors.As(err, &pe) || pe.Op != tt.op {
				t.Fatalf("err = %v, want *ParameterError for %v", err, tt.op)
			}
			if diff := cmp.Diff(tt.sense, pe.Sense); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
	// MODE SENSE data is cut to its MODE DATA LENGTH.
	m, err := ParseModeParameters(OpModeSense6, []byte{3, 0, 0, 0, 0xee, 0xee})
	if err != nil || len(m.Pages) != 0 {
		t.Errorf("MODE SENSE cut: %+v, %v", m, err)
	}
	for _, tt := range []struct {
		m  ModeParameters
		op OpCode
	}{
		{ModeParameters{LongLBA: true}, OpModeSense6},
		{ModeParameters{BlockDescriptors: []BlockDescriptor{{BlockLength: 1 << 24}}}, OpModeSense10},
		{ModeParameters{Pages: make([]byte, 253)}, OpModeSense6},
		{ModeParameters{Pages: make([]byte, 0xfffa)}, OpModeSense10},
	} {
		if b, err := tt.m.Append([]byte{7}, tt.op); !errors.Is(err, ErrFieldRange) || len(b) != 1 {
			t.Errorf("Append(%v) = %d bytes, %v", tt.op, len(b), err)
		}
	}
}

func TestCheckModeSelectPage(t *testing.T) {
	current := CachingPage{WCE: true}.AppendParameters(nil)
	changeable := CachingPage{WCE: true, RCD: true}.AppendParameters(nil)
	pagesAt := 4 // after a MODE SELECT(6) header, no block descriptors
	sent := func(p CachingPage, ps bool) ModePage {
		b := AppendModePage(nil, p, ps)
		for mp := range ModePages(b) {
			return mp
		}
		panic("no page")
	}
	tests := []struct {
		name string
		page ModePage
		want error
	}{
		{"unchanged", sent(CachingPage{WCE: true}, false), nil},
		{"changeable bits", sent(CachingPage{RCD: true}, false), nil},
		{"PS set", sent(CachingPage{WCE: true}, true), InvalidFieldInParameterList(4, 7)},
		{"unchangeable bit", sent(CachingPage{WCE: true, DRA: true}, false), InvalidFieldInParameterList(4+2+10, 5)},
		{"wrong length", ModePage{PageCode: 8, Parameters: make([]byte, 10)}, InvalidFieldInParameterList(4+1, -1)},
	}
	for _, tt := range tests {
		err := CheckModeSelectPage(OpModeSelect6, tt.page, current, changeable, pagesAt)
		if tt.want == nil {
			if err != nil {
				t.Errorf("%s: %v", tt.name, err)
			}
			continue
		}
		s, _ := SenseOf(err)
		if diff := cmp.Diff(tt.want, error(s)); diff != "" {
			t.Errorf("%s (-want +got):\n%s", tt.name, diff)
		}
	}
}

func TestSelectModePage(t *testing.T) {
	cur, ch, def := []byte{1}, []byte{2}, []byte{3}
	for pc, want := range map[PageControl][]byte{PageControlCurrent: cur, PageControlChangeable: ch, PageControlDefault: def} {
		if got, err := SelectModePage(pc, cur, ch, def, false); err != nil || got[0] != want[0] {
			t.Errorf("%v: %v, %v", pc, got, err)
		}
	}
	if got, err := SelectModePage(PageControlSaved, cur, ch, def, true); err != nil || got[0] != 1 {
		t.Errorf("saved: %v, %v", got, err)
	}
	_, err := SelectModePage(PageControlSaved, cur, ch, def, false)
	if s, ok := SenseOf(err); !ok || s.Code != ASCSavingParametersNotSupported {
		t.Errorf("saved unsupported: %v", err)
	}
	if PageControlSaved.String() != "saved" || PageControl(4).String() != "PC 0x04" {
		t.Error("PageControl.String")
	}
}

func TestAppendRequestedModePages(t *testing.T) {
	pages := []ModePageParameters{ReadWriteErrorRecoveryPage{}, CachingPage{WCE: true}, ControlPage{}, subpage{[]byte{9}}}
	codes := func(b []byte) [][2]uint8 {
		var c [][2]uint8
		for p, err := range ModePages(b) {
			if err != nil {
				t.Fatal(err)
			}
			c = append(c, [2]uint8{p.PageCode, p.SubpageCode})
		}
		return c
	}
	tests := []struct {
		page, sub uint8
		want      [][2]uint8
		err       error
	}{
		{0x3f, 0x00, [][2]uint8{{1, 0}, {8, 0}, {0x0a, 0}}, nil},
		{0x3f, 0xff, [][2]uint8{{1, 0}, {8, 0}, {0x0a, 0}, {0x0a, 1}}, nil},
		{0x0a, 0xff, [][2]uint8{{0x0a, 0}, {0x0a, 1}}, nil},
		{0x0a, 0x01, [][2]uint8{{0x0a, 1}}, nil},
		{0x08, 0x00, [][2]uint8{{8, 0}}, nil},
		{0x08, 0x05, nil, InvalidFieldInCDB(3, -1)},
		{0x19, 0x00, nil, InvalidFieldInCDB(2, 5)},
	}
	for _, tt := range tests {
		b, err := AppendRequestedModePages(nil, pages, tt.page, tt.sub, false)
		if diff := cmp.Diff(tt.err, err); diff != "" {
			t.Errorf("page 0x%02x/0x%02x error (-want +got):\n%s", tt.page, tt.sub, diff)
		}
		if diff := cmp.Diff(tt.want, codes(b)); diff != "" {
			t.Errorf("page 0x%02x/0x%02x (-want +got):\n%s", tt.page, tt.sub, diff)
		}
	}
}
