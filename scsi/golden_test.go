package scsi

import (
	"encoding/hex"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// Parameter data returned by a real device server: Debian's tgtd 1.0.85
// serving a 64 MiB file as LUN 1, queried over iSCSI on loopback by
// libiscsi's iscsi-inq and iscsi-readcapacity16 and captured with dumpcap.
// Each entry is the Data-In (or sense data) of one command and the CDB
// that asked for it.
var tgtGolden = map[string]struct{ cdb, data string }{
	"standard INQUIRY": {"12000000420000000000000000000000",
		"000005123d00000249455420202020205649525455414c2d4449534b20202020303030310000000000000000000000000000000000000000000004c0096003000000"},
	"VPD 0x00": {"12010000400000000000000000000000", "00000006008083b0b1b2"},
	"VPD 0x80": {"12018000400000000000000000000000",
		"00800024202020202020202020202020202020202020202020202020202020202020626561663131"},
	"VPD 0x83": {"120183004c0000000000000000000000",
		"00830048020100244945542020202020303030313030303100000000000000000000000000000000000000000103000830000001000000010103001060000000000000000e00000000010001"},
	"VPD 0xb0": {"1201b000400000000000000000000000",
		"00b0003c008000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000"},
	"VPD 0xb1": {"1201b100440000000000000000000000",
		"00b1004000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000"},
	"VPD 0xb2": {"1201b200400000000000000000000000", "00b2000400000000"},
	"READ CAPACITY(16)": {"9e100000000000000000000000200000",
		"000000000001ffff000002000003000000000000000000000000000000000000"},
	// The SCSI Response to the first TEST UNIT READY after login: the
	// 2-byte SenseLength of RFC 7143 §11.4.7.2 and fixed format sense.
	"TEST UNIT READY sense": {"00000000000000000000000000000000", "0012700006000000000a00000000290000000000"},
}

func golden(t *testing.T, name string) (CDB, []byte) {
	t.Helper()
	g, ok := tgtGolden[name]
	if !ok {
		t.Fatalf("no golden %q", name)
	}
	cdbBytes, err := hex.DecodeString(g.cdb)
	if err != nil {
		t.Fatal(err)
	}
	data, err := hex.DecodeString(g.data)
	if err != nil {
		t.Fatal(err)
	}
	cdb, err := ParseCDB(cdbBytes)
	if err != nil {
		t.Fatalf("%s: CDB % x: %v", name, cdbBytes, err)
	}
	return cdb, data
}

func TestTGTStandardInquiry(t *testing.T) {
	cdb, data := golden(t, "standard INQUIRY")
	if diff := cmp.Diff(Inquiry{AllocationLength: 0x42}, cdb); diff != "" {
		t.Errorf("CDB (-want +got):\n%s", diff)
	}
	got, err := ParseInquiryData(data)
	if err != nil {
		t.Fatal(err)
	}
	want := InquiryData{
		Version: VersionSPC3, HiSup: true, ResponseDataFormat: 2, CmdQue: true,
		VendorID: "IET", ProductID: "VIRTUAL-DISK", ProductRevision: "0001",
		VersionDescriptors: [8]uint16{VersionDescriptorSBC3, VersionDescriptorISCSI, 0x0300},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("ParseInquiryData (-want +got):\n%s", diff)
	}
	// tgtd returns 66 bytes (ADDITIONAL LENGTH 61); Append returns 96.
	// The first 66 agree.
	b, err := got.Append(nil)
	if err != nil {
		t.Fatal(err)
	}
	b[4] = data[4]
	if diff := cmp.Diff(data[:66], b[:66]); diff != "" {
		t.Errorf("Append (-tgtd +ours):\n%s", diff)
	}
}

func TestTGTVPDPages(t *testing.T) {
	_, data := golden(t, "VPD 0x00")
	_, code, body, err := ParseVPD(data)
	if err != nil || code != VPDSupportedPages {
		t.Fatalf("ParseVPD = %x, %v", code, err)
	}
	if diff := cmp.Diff(SupportedVPDPages{0x00, 0x80, 0x83, 0xb0, 0xb1, 0xb2}, SupportedVPDPages(body)); diff != "" {
		t.Errorf("supported pages (-want +got):\n%s", diff)
	}
	if again, _ := AppendVPD(nil, 0, SupportedVPDPages(body)); !cmp.Equal(again, data) {
		t.Errorf("AppendVPD = % x, want % x", again, data)
	}

	_, data = golden(t, "VPD 0x80")
	_, _, body, _ = ParseVPD(data)
	// tgtd right-aligns the serial number in 36 bytes of spaces.
	if sn := ParseUnitSerialNumber(body); sn != "beaf11" {
		t.Errorf("serial number %q, want beaf11", sn)
	}
	if again, _ := AppendVPD(nil, 0, UnitSerialNumber(body)); !cmp.Equal(again, data) {
		t.Errorf("AppendVPD(serial) = % x, want % x", again, data)
	}

	_, data = golden(t, "VPD 0x83")
	_, _, body, _ = ParseVPD(data)
	ids, err := ParseDeviceIdentification(body)
	if err != nil {
		t.Fatal(err)
	}
	if len(ids) != 3 {
		t.Fatalf("%d designators, want 3", len(ids))
	}
	if d := ids[0]; d.Type != DesignatorT10VendorID || d.CodeSet != CodeSetASCII || string(d.Value[:8]) != "IET     " {
		t.Errorf("designator 0 = %+v", d)
	}
	if d := ids[1]; d.Type != DesignatorNAA || len(d.Value) != 8 || d.Value[0]>>4 != 3 {
		t.Errorf("designator 1 = %+v", d)
	}
	if d := ids[2]; d.Type != DesignatorNAA || len(d.Value) != 16 || d.Value[0]>>4 != 6 {
		t.Errorf("designator 2 = %+v", d)
	}
	if again, _ := AppendVPD(nil, 0, ids); !cmp.Equal(again, data) {
		t.Errorf("AppendVPD(0x83) = % x, want % x", again, data)
	}

	_, data = golden(t, "VPD 0xb0")
	_, _, body, _ = ParseVPD(data)
	bl := ParseBlockLimits(body)
	if diff := cmp.Diff(BlockLimits{MaxCompareAndWriteLength: 0x80}, bl); diff != "" {
		t.Errorf("block limits (-want +got):\n%s", diff)
	}
	if again, _ := AppendVPD(nil, 0, bl); !cmp.Equal(again, data) {
		t.Errorf("AppendVPD(0xb0) = % x, want % x", again, data)
	}

	_, data = golden(t, "VPD 0xb1")
	_, _, body, _ = ParseVPD(data)
	if diff := cmp.Diff(BlockDeviceCharacteristics{}, ParseBlockDeviceCharacteristics(body)); diff != "" {
		t.Errorf("block device characteristics (-want +got):\n%s", diff)
	}

	_, data = golden(t, "VPD 0xb2")
	_, _, body, _ = ParseVPD(data)
	lbp, err := ParseLogicalBlockProvisioning(body)
	if err != nil {
		t.Fatal(err)
	}
	if again, _ := AppendVPD(nil, 0, lbp); !cmp.Equal(again, data) {
		t.Errorf("AppendVPD(0xb2) = % x, want % x", again, data)
	}
}

func TestTGTReadCapacity16(t *testing.T) {
	cdb, data := golden(t, "READ CAPACITY(16)")
	if diff := cmp.Diff(ReadCapacity16{AllocationLength: 32}, cdb); diff != "" {
		t.Errorf("CDB (-want +got):\n%s", diff)
	}
	got, err := ParseReadCapacity16Data(data)
	if err != nil {
		t.Fatal(err)
	}
	want := ReadCapacity16Data{LastLBA: 0x1ffff, BlockLength: 512, LBPPBE: 3}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("(-want +got):\n%s", diff)
	}
	if again, _ := got.Append(nil); !cmp.Equal(again, data) {
		t.Errorf("Append = % x, want % x", again, data)
	}
}

func TestTGTUnitAttentionSense(t *testing.T) {
	_, data := golden(t, "TEST UNIT READY sense")
	got, err := ParseSense(data[2:])
	if err != nil {
		t.Fatal(err)
	}
	want := NewSense(SenseUnitAttention, ASCPowerOnResetOrBusDeviceResetOccurred)
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("(-want +got):\n%s", diff)
	}
	if again := got.AppendFixed(nil); !cmp.Equal(again, data[2:]) {
		t.Errorf("AppendFixed = % x, want % x", again, data[2:])
	}
	if got.Error() != "UNIT ATTENTION: POWER ON, RESET, OR BUS DEVICE RESET OCCURRED" {
		t.Errorf("Error() = %q", got.Error())
	}
}
