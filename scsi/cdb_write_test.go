package scsi

import (
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestUnmapParameterList(t *testing.T) {
	descs := []UnmapBlockDescriptor{{LBA: 0x1000, NumberOfBlocks: 8}, {LBA: 1 << 40, NumberOfBlocks: 0xffffffff}}
	b, err := AppendUnmapParameterList(nil, descs)
	if err != nil {
		t.Fatal(err)
	}
	want := []byte{0, 38, 0, 32, 0, 0, 0, 0,
		0, 0, 0, 0, 0, 0, 0x10, 0, 0, 0, 0, 8, 0, 0, 0, 0,
		0, 0, 1, 0, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0}
	if diff := cmp.Diff(want, b); diff != "" {
		t.Fatalf("(-want +got):\n%s", diff)
	}
	tests := []struct {
		name string
		b    []byte
		want []UnmapBlockDescriptor
		err  Sense
	}{
		{"whole", b, descs, Sense{}},
		{"empty list", nil, nil, Sense{}},
		{"header only", b[:8], nil, Sense{}},
		{"cut inside descriptor 2", b[:30], descs[:1], Sense{}},
		{"descriptor length not a multiple of 16", append(append([]byte{0, 26, 0, 20, 0, 0, 0, 0}, b[8:24]...), 1, 2, 3, 4), descs[:1], Sense{}},
		{"1 to 7 bytes", b[:7], nil, NewSense(SenseIllegalRequest, ASCParameterListLengthError)},
	}
	for _, tt := range tests {
		d, err := ParseUnmapParameterList(tt.b)
		if tt.err != (Sense{}) {
			s, _ := SenseOf(err)
			if !errors.Is(err, ErrInvalidParameterList) || s != tt.err {
				t.Errorf("%s: %v", tt.name, err)
			}
			continue
		}
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		var got []UnmapBlockDescriptor
		for i, u := range d.All() {
			if u != d.At(i) {
				t.Fatal("All and At disagree")
			}
			got = append(got, u)
		}
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("%s (-want +got):\n%s", tt.name, diff)
		}
	}
	if _, err := AppendUnmapParameterList(nil, make([]UnmapBlockDescriptor, 4096)); !errors.Is(err, ErrInvalidParameterList) {
		t.Errorf("4096 descriptors: %v", err)
	}
}

func TestParseUnmapParameterListAllocs(t *testing.T) {
	b, _ := AppendUnmapParameterList(nil, []UnmapBlockDescriptor{{LBA: 1, NumberOfBlocks: 2}, {LBA: 3, NumberOfBlocks: 4}})
	if n := testing.AllocsPerRun(100, func() {
		d, err := ParseUnmapParameterList(b)
		if err != nil {
			t.Fatal(err)
		}
		for i := range d.Len() {
			_ = d.At(i)
		}
	}); n != 0 {
		t.Errorf("allocates %v times", n)
	}
}

func TestSanitizeOverwriteParameters(t *testing.T) {
	p := SanitizeOverwriteParameters{Invert: true, Test: 1, OverwriteCount: 3, Pattern: []byte{0xde, 0xad}}
	b, err := p.Append(nil)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]byte{0xa3, 0, 0, 2, 0xde, 0xad}, b); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	got, err := ParseSanitizeOverwriteParameters(b)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(p, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	bad := []struct {
		name  string
		b     []byte
		sense Sense
	}{
		{"short", []byte{1, 0, 0}, NewSense(SenseIllegalRequest, ASCParameterListLengthError)},
		{"reserved", []byte{1, 1, 0, 1, 0}, InvalidFieldInParameterList(1, 0)},
		{"count zero", []byte{0, 0, 0, 1, 0}, InvalidFieldInParameterList(0, 4)},
		{"pattern length zero", []byte{1, 0, 0, 0}, InvalidFieldInParameterList(2, -1)},
		{"pattern length mismatch", []byte{1, 0, 0, 2, 0}, InvalidFieldInParameterList(2, -1)},
	}
	for _, tt := range bad {
		_, err := ParseSanitizeOverwriteParameters(tt.b)
		s, _ := SenseOf(err)
		if diff := cmp.Diff(tt.sense, s); diff != "" {
			t.Errorf("%s (-want +got):\n%s", tt.name, diff)
		}
	}
	for _, p := range []SanitizeOverwriteParameters{{OverwriteCount: 1}, {OverwriteCount: 0, Pattern: []byte{1}}, {OverwriteCount: 32, Pattern: []byte{1}}, {Test: 4, OverwriteCount: 1, Pattern: []byte{1}}} {
		if _, err := p.Append(nil); !errors.Is(err, ErrInvalidParameterList) {
			t.Errorf("Append(%+v): %v", p, err)
		}
	}
}

func TestParameterErrorText(t *testing.T) {
	_, err := ParseUnmapParameterList([]byte{1})
	want := "scsi: UNMAP parameter list: PARAMETER LIST LENGTH: ILLEGAL REQUEST: PARAMETER LIST LENGTH ERROR"
	if err == nil || err.Error() != want {
		t.Errorf("error = %v, want %q", err, want)
	}
	fe := &FormatError{Format: "sense data", Offset: 7, Field: "ADDITIONAL SENSE LENGTH", Err: ErrShortData}
	if got := fe.Error(); got != "scsi: sense data: byte 7 (ADDITIONAL SENSE LENGTH): scsi: data too short" {
		t.Errorf("FormatError = %q", got)
	}
}
