package scsi

import (
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestInquiryDataRoundTrip(t *testing.T) {
	tests := []InquiryData{
		{},
		{PeripheralQualifier: QualifierNotCapable, PeripheralDeviceType: DeviceTypeUnknown},
		{
			PeripheralDeviceType: DeviceTypeDirectAccess, RMB: true, LUCong: true, Version: VersionSPC5, NormACA: true, HiSup: true,
			ResponseDataFormat: 2, SCCS: true, ACC: true, TPGS: TPGSBoth, ThreePC: true, Protect: true, EncServ: true, MultiP: true, CmdQue: true,
			VendorID: "GOISCSI", ProductID: "DISK", ProductRevision: "1.0",
			VersionDescriptors: [8]uint16{VersionDescriptorSAM5, VersionDescriptorISCSI, VersionDescriptorSBC4, VersionDescriptorSPC5},
		},
		{VendorID: "12345678", ProductID: "1234567890123456", ProductRevision: "1234", ResponseDataFormat: 2},
	}
	for _, d := range tests {
		b, err := d.Append([]byte{0xaa})
		if err != nil {
			t.Fatal(err)
		}
		if len(b) != 1+StandardInquiryLength || b[5] != StandardInquiryLength-5 {
			t.Fatalf("Append gave %d bytes, ADDITIONAL LENGTH %d", len(b)-1, b[5])
		}
		got, err := ParseInquiryData(b[1:])
		if err != nil {
			t.Fatal(err)
		}
		want := d
		want.ResponseDataFormat = 2
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("round trip (-want +got):\n%s", diff)
		}
	}
}

func TestInquiryDataGolden(t *testing.T) {
	d := InquiryData{Version: VersionSPC4, HiSup: true, TPGS: TPGSImplicit, ThreePC: true, CmdQue: true, VendorID: "ABC", ProductID: "P", ProductRevision: "R"}
	b, err := d.Append(nil)
	if err != nil {
		t.Fatal(err)
	}
	want := []byte{0x00, 0x00, 0x06, 0x12, 91, 0x18, 0x00, 0x02, 'A', 'B', 'C', ' ', ' ', ' ', ' ', ' ', 'P'}
	if diff := cmp.Diff(want, b[:len(want)]); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

func TestInquiryDataErrors(t *testing.T) {
	append36 := func(mod func([]byte)) []byte {
		b, _ := InquiryData{VendorID: "V"}.Append(nil)
		mod(b)
		return b
	}
	parse := []struct {
		name string
		b    []byte
		want error
	}{
		{"short", make([]byte, 35), ErrShortData},
		{"additional length too small", append36(func(b []byte) { b[4] = 30 }), ErrMalformed},
	}
	for _, tt := range parse {
		if _, err := ParseInquiryData(tt.b); !errors.Is(err, tt.want) {
			t.Errorf("%s: err = %v, want %v", tt.name, err, tt.want)
		}
	}
	// Data cut after 36 bytes parses, without version descriptors.
	b := append36(func(b []byte) { b[58], b[59] = 0x04, 0x60 })
	d, err := ParseInquiryData(b[:36])
	if err != nil || d.VersionDescriptors[0] != 0 || d.VendorID != "V" {
		t.Errorf("36 bytes: %+v, %v", d, err)
	}
	build := []struct {
		name string
		d    InquiryData
	}{
		{"vendor too long", InquiryData{VendorID: "123456789"}},
		{"product too long", InquiryData{ProductID: "12345678901234567"}},
		{"revision too long", InquiryData{ProductRevision: "12345"}},
		{"vendor not ASCII", InquiryData{VendorID: "é"}},
		{"control character", InquiryData{ProductID: "a\nb"}},
		{"qualifier", InquiryData{PeripheralQualifier: 8}},
		{"device type", InquiryData{PeripheralDeviceType: 0x20}},
		{"response data format", InquiryData{ResponseDataFormat: 0x10}},
		{"TPGS", InquiryData{TPGS: 4}},
	}
	for _, tt := range build {
		b, err := tt.d.Append([]byte{1})
		if !errors.Is(err, ErrFieldRange) {
			t.Errorf("%s: err = %v, want ErrFieldRange", tt.name, err)
		}
		if len(b) != 1 {
			t.Errorf("%s: Append left % x", tt.name, b)
		}
	}
}

func BenchmarkInquiryDataAppend(b *testing.B) {
	d := InquiryData{Version: VersionSPC4, HiSup: true, CmdQue: true, VendorID: "GOISCSI", ProductID: "DISK", ProductRevision: "1.0"}
	buf := make([]byte, 0, 128)
	b.ReportAllocs()
	for b.Loop() {
		buf, _ = d.Append(buf[:0])
	}
}
