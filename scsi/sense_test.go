package scsi

import (
	"errors"
	"fmt"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestSenseFixedGolden(t *testing.T) {
	tests := []struct {
		name  string
		sense Sense
		want  []byte
	}{
		{
			name:  "invalid field in CDB byte 2 bit 4",
			sense: InvalidFieldInCDB(2, 4),
			want:  []byte{0x70, 0, 0x05, 0, 0, 0, 0, 10, 0, 0, 0, 0, 0x24, 0x00, 0, 0xcc, 0x00, 0x02},
		},
		{
			name:  "invalid field in parameter list byte 7, no bit",
			sense: InvalidFieldInParameterList(7, -1),
			want:  []byte{0x70, 0, 0x05, 0, 0, 0, 0, 10, 0, 0, 0, 0, 0x26, 0x00, 0, 0x80, 0x00, 0x07},
		},
		{
			name:  "LBA out of range with information",
			sense: LBAOutOfRange(0x12345678),
			want:  []byte{0xf0, 0, 0x05, 0x12, 0x34, 0x56, 0x78, 10, 0, 0, 0, 0, 0x21, 0x00, 0, 0, 0, 0},
		},
		{
			name:  "information above 32 bits clears VALID",
			sense: LBAOutOfRange(0x1_0000_0000),
			want:  []byte{0x70, 0, 0x05, 0, 0, 0, 0, 10, 0, 0, 0, 0, 0x21, 0x00, 0, 0, 0, 0},
		},
		{
			name:  "deferred medium error with flags, FRU, retry count, command specific",
			sense: Sense{Key: SenseMediumError, Code: ASCUnrecoveredReadError, Deferred: true, Filemark: true, EOM: true, ILI: true, FRU: 9, CommandSpecific: 0xdeadbeef, SenseKeySpecific: ActualRetryCount(0x0102)},
			want:  []byte{0x71, 0, 0xe3, 0, 0, 0, 0, 10, 0xde, 0xad, 0xbe, 0xef, 0x11, 0x00, 9, 0x80, 0x01, 0x02},
		},
		{
			name:  "unit attention power on",
			sense: NewSense(SenseUnitAttention, ASCPowerOnResetOrBusDeviceResetOccurred),
			want:  []byte{0x70, 0, 0x06, 0, 0, 0, 0, 10, 0, 0, 0, 0, 0x29, 0x00, 0, 0, 0, 0},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := tt.sense.AppendFixed([]byte{0xaa})
			if diff := cmp.Diff(append([]byte{0xaa}, tt.want...), got); diff != "" {
				t.Fatalf("AppendFixed (-want +got):\n%s", diff)
			}
			back, err := ParseSense(got[1:])
			if err != nil {
				t.Fatal(err)
			}
			want := tt.sense
			if want.Information > 0xffffffff {
				want.Information, want.InformationValid = 0, false
			}
			want.CommandSpecific &= 0xffffffff
			if diff := cmp.Diff(want, back); diff != "" {
				t.Fatalf("ParseSense (-want +got):\n%s", diff)
			}
		})
	}
}

func TestSenseDescriptorGolden(t *testing.T) {
	tests := []struct {
		name  string
		sense Sense
		want  []byte
	}{
		{
			name:  "no descriptors",
			sense: NewSense(SenseNotReady, ASCMediumNotPresent),
			want:  []byte{0x72, 0x02, 0x3a, 0x00, 0, 0, 0, 0},
		},
		{
			name:  "information and field pointer",
			sense: Sense{Key: SenseIllegalRequest, Code: ASCLBAOutOfRange, Information: 0x0102030405060708, InformationValid: true, SenseKeySpecific: FieldPointer(true, 2, -1)},
			want: []byte{0x72, 0x05, 0x21, 0x00, 0, 0, 0, 20,
				0x00, 0x0a, 0x80, 0, 1, 2, 3, 4, 5, 6, 7, 8,
				0x02, 0x06, 0, 0, 0xc0, 0x00, 0x02, 0},
		},
		{
			name: "deferred, every descriptor",
			sense: Sense{Key: SenseCopyAborted, Code: ASCCopyTargetDeviceNotReachable, Deferred: true, Information: 1, InformationValid: true,
				CommandSpecific: 0xffff_0000_0000_0001, SenseKeySpecific: SegmentPointer(true, 0x20, 3), FRU: 0x42, Filemark: true, ILI: true},
			want: []byte{0x73, 0x0a, 0x0d, 0x02, 0, 0, 0, 40,
				0x00, 0x0a, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 1,
				0x01, 0x0a, 0, 0, 0xff, 0xff, 0, 0, 0, 0, 0, 1,
				0x02, 0x06, 0, 0, 0xab, 0x00, 0x20, 0,
				0x03, 0x02, 0, 0x42,
				0x04, 0x02, 0, 0xa0},
		},
		{
			name:  "block commands ILI",
			sense: Sense{Key: SenseIllegalRequest, Code: ASCInvalidFieldInCDB, ILI: true},
			want:  []byte{0x72, 0x05, 0x24, 0x00, 0, 0, 0, 4, 0x05, 0x02, 0, 0x20},
		},
		{
			name:  "progress indication",
			sense: Sense{Key: SenseNotReady, Code: ASCLogicalUnitNotReadyFormatInProgress, SenseKeySpecific: ProgressIndication(0x8000)},
			want:  []byte{0x72, 0x02, 0x04, 0x04, 0, 0, 0, 8, 0x02, 0x06, 0, 0, 0x80, 0x80, 0x00, 0},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := tt.sense.AppendDescriptor(nil)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Fatalf("AppendDescriptor (-want +got):\n%s", diff)
			}
			if n := tt.sense.DescriptorLength(); n != len(got) {
				t.Fatalf("DescriptorLength = %d, appended %d", n, len(got))
			}
			back, err := ParseSense(got)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.sense, back); diff != "" {
				t.Fatalf("ParseSense (-want +got):\n%s", diff)
			}
		})
	}
}

func TestSenseAppendChoosesFormat(t *testing.T) {
	s := InvalidFieldInCDB(1, 0)
	if got := s.Append(nil, false); !cmp.Equal(got, s.AppendFixed(nil)) {
		t.Errorf("Append(fixed) = % x", got)
	}
	if got := s.Append(nil, true); !cmp.Equal(got, s.AppendDescriptor(nil)) {
		t.Errorf("Append(descriptor) = % x", got)
	}
}

func TestParseSenseErrors(t *testing.T) {
	tests := []struct {
		name string
		in   []byte
		want error
	}{
		{"empty", nil, ErrShortData},
		{"vendor response code", []byte{0x7f, 0, 0, 0, 0, 0, 0, 0}, ErrMalformed},
		{"response code 0x00", []byte{0x00, 0, 5, 0, 0, 0, 0, 10}, ErrMalformed},
		{"header cut", []byte{0x70, 0, 5, 0, 0, 0}, ErrShortData},
		{"descriptor reserved bit 7", []byte{0xf2, 5, 0x24, 0, 0, 0, 0, 0}, ErrMalformed},
		{"descriptor overruns additional length", []byte{0x72, 5, 0x24, 0, 0, 0, 0, 4, 0x00, 0x0a, 0, 0}, ErrMalformed},
		{"information descriptor too short", []byte{0x72, 5, 0x24, 0, 0, 0, 0, 4, 0x00, 0x02, 0x80, 0}, ErrMalformed},
		{"sense key specific descriptor too short", []byte{0x72, 5, 0x24, 0, 0, 0, 0, 4, 0x02, 0x02, 0, 0}, ErrMalformed},
		{"command specific descriptor too short", []byte{0x72, 5, 0x24, 0, 0, 0, 0, 4, 0x01, 0x02, 0, 0}, ErrMalformed},
		{"FRU descriptor too short", []byte{0x72, 5, 0x24, 0, 0, 0, 0, 2, 0x03, 0x00}, ErrMalformed},
		{"stream descriptor too short", []byte{0x72, 5, 0x24, 0, 0, 0, 0, 2, 0x04, 0x00}, ErrMalformed},
		{"block descriptor too short", []byte{0x72, 5, 0x24, 0, 0, 0, 0, 2, 0x05, 0x00}, ErrMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseSense(tt.in)
			if !errors.Is(err, tt.want) {
				t.Fatalf("ParseSense = %v, want %v", err, tt.want)
			}
			var fe *FormatError
			if !errors.As(err, &fe) {
				t.Fatalf("error %T is not a *FormatError", err)
			}
		})
	}
}

func TestParseSenseTruncated(t *testing.T) {
	full := Sense{Key: SenseIllegalRequest, Code: ASCInvalidFieldInCDB, FRU: 3, SenseKeySpecific: FieldPointer(true, 1, 1), CommandSpecific: 7}.AppendFixed(nil)
	tests := []struct {
		n    int
		want Sense
	}{
		{8, Sense{Key: SenseIllegalRequest}},
		{12, Sense{Key: SenseIllegalRequest, CommandSpecific: 7}},
		{13, Sense{Key: SenseIllegalRequest, CommandSpecific: 7, Code: 0x2400}},
		{15, Sense{Key: SenseIllegalRequest, CommandSpecific: 7, Code: 0x2400, FRU: 3}},
		{17, Sense{Key: SenseIllegalRequest, CommandSpecific: 7, Code: 0x2400, FRU: 3}},
	}
	for _, tt := range tests {
		got, err := ParseSense(full[:tt.n])
		if err != nil {
			t.Fatalf("%d bytes: %v", tt.n, err)
		}
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("%d bytes (-want +got):\n%s", tt.n, diff)
		}
	}
	// A descriptor cut by the allocation length, not by the ADDITIONAL
	// SENSE LENGTH, is dropped without error.
	d := LBAOutOfRange(5).AppendDescriptor(nil)
	got, err := ParseSense(d[:14])
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(NewSense(SenseIllegalRequest, ASCLBAOutOfRange), got); diff != "" {
		t.Errorf("cut descriptor (-want +got):\n%s", diff)
	}
}

func TestSenseError(t *testing.T) {
	tests := []struct {
		sense Sense
		want  string
	}{
		{NewSense(SenseIllegalRequest, ASCLBAOutOfRange), "ILLEGAL REQUEST: LOGICAL BLOCK ADDRESS OUT OF RANGE"},
		{LBAOutOfRange(0x1000), "ILLEGAL REQUEST: LOGICAL BLOCK ADDRESS OUT OF RANGE (information 0x1000)"},
		{InvalidFieldInCDB(1, 1), "ILLEGAL REQUEST: INVALID FIELD IN CDB (CDB byte 1 bit 1)"},
		{InvalidFieldInParameterList(12, -1), "ILLEGAL REQUEST: INVALID FIELD IN PARAMETER LIST (parameter byte 12)"},
		{Sense{Key: SenseUnitAttention, Code: 0x2907, Deferred: true}, "deferred UNIT ATTENTION: I_T NEXUS LOSS OCCURRED"},
		{NewSense(SenseAbortedCommand, 0xfe01), "ABORTED COMMAND: ASC 0xfe ASCQ 0x01"},
		{NewSense(SenseHardwareError, 0x4081), "HARDWARE ERROR: DIAGNOSTIC FAILURE ON COMPONENT 0x81"},
		{Sense{}, "NO SENSE: NO ADDITIONAL SENSE INFORMATION"},
	}
	for _, tt := range tests {
		if got := tt.sense.Error(); got != tt.want {
			t.Errorf("Error() = %q, want %q", got, tt.want)
		}
	}
}

func TestSenseOf(t *testing.T) {
	s := InvalidFieldInCDB(2, -1)
	p := NewSense(SenseDataProtect, ASCWriteProtected)
	tests := []struct {
		name   string
		err    error
		want   Sense
		wantOK bool
	}{
		{"nil", nil, Sense{}, false},
		{"sense", s, s, true},
		{"wrapped sense", fmt.Errorf("write: %w", s), s, true},
		{"pointer", &p, p, true},
		{"CDB error", cdbErr(OpRead10, "x", 2, -1), s, true},
		{"other", errors.New("disk on fire"), NewSense(SenseHardwareError, ASCInternalTargetFailure), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := SenseOf(tt.err)
			if ok != tt.wantOK {
				t.Errorf("ok = %v, want %v", ok, tt.wantOK)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
	if !errors.Is(fmt.Errorf("x: %w", s), InvalidFieldInCDB(2, -1)) {
		t.Error("errors.Is does not match an equal Sense")
	}
}

func TestSenseKeySpecificBytes(t *testing.T) {
	for i := 0; i < 1<<8; i++ {
		b := [3]byte{byte(i) &^ 0x10, byte(i * 7), byte(i * 13)}
		if got := ParseSenseKeySpecific(b).Bytes(); got != b {
			t.Fatalf("round trip of % x gave % x", b, got)
		}
	}
}

func TestSenseAppendAllocs(t *testing.T) {
	s := Sense{Key: SenseIllegalRequest, Code: ASCLBAOutOfRange, Information: 9, InformationValid: true, SenseKeySpecific: FieldPointer(true, 2, -1)}
	buf := make([]byte, 0, 64)
	if n := testing.AllocsPerRun(100, func() {
		buf = s.AppendFixed(buf[:0])
		buf = s.AppendDescriptor(buf[:0])
		if _, err := ParseSense(buf); err != nil {
			t.Fatal(err)
		}
	}); n != 0 {
		t.Errorf("AppendFixed+AppendDescriptor+ParseSense allocate %v times, want 0", n)
	}
}

func BenchmarkSenseAppendFixed(b *testing.B) {
	s := LBAOutOfRange(0x1234)
	buf := make([]byte, 0, 64)
	b.ReportAllocs()
	for b.Loop() {
		buf = s.AppendFixed(buf[:0])
	}
}

func BenchmarkParseSenseDescriptor(b *testing.B) {
	buf := Sense{Key: SenseIllegalRequest, Code: ASCLBAOutOfRange, Information: 9, InformationValid: true, SenseKeySpecific: FieldPointer(true, 2, -1)}.AppendDescriptor(nil)
	b.ReportAllocs()
	b.SetBytes(int64(len(buf)))
	for b.Loop() {
		if _, err := ParseSense(buf); err != nil {
			b.Fatal(err)
		}
	}
}

func TestSenseKeySpecificForms(t *testing.T) {
	p := ProgressIndication(0x4000)
	r := ActualRetryCount(3)
	if !p.Valid || p.Progress() != 0x4000 || !r.Valid || r.RetryCount() != 3 {
		t.Errorf("progress %+v retry %+v", p, r)
	}
	if b := SegmentPointer(true, 0x0102, 7).Bytes(); b != [3]byte{0xaf, 0x01, 0x02} {
		t.Errorf("segment pointer % x", b)
	}
	if b := FieldPointer(true, 5, 8).Bytes(); b != [3]byte{0xc0, 0x00, 0x05} {
		t.Errorf("field pointer with bit 8 (invalid, so no BPV) % x", b)
	}
}
