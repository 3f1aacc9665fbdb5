package scsi

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestDeviceIdentificationBuild(t *testing.T) {
	naa := NAAIEEERegisteredExtended(0x001405, 0x123456789, 0x0102030405060708)
	if diff := cmp.Diff([16]byte{0x60, 0x01, 0x40, 0x51, 0x23, 0x45, 0x67, 0x89, 1, 2, 3, 4, 5, 6, 7, 8}, naa); diff != "" {
		t.Errorf("NAAIEEERegisteredExtended (-want +got):\n%s", diff)
	}
	naa5 := NAAIEEERegistered(0xabcdef, 0xfffffffff1)
	if diff := cmp.Diff([8]byte{0x5a, 0xbc, 0xde, 0xff, 0xff, 0xff, 0xff, 0xf1}, naa5); diff != "" {
		t.Errorf("NAAIEEERegistered (-want +got):\n%s", diff)
	}
	port, err := SCSINameDesignator(AssociationTargetPort, ISCSITargetPortName("iqn.2026-11.test:d", 1))
	if err != nil {
		t.Fatal(err)
	}
	dev, err := SCSINameDesignator(AssociationTargetDevice, "iqn.2026-11.test:d")
	if err != nil {
		t.Fatal(err)
	}
	page := DeviceIdentification{
		NAADesignator(naa[:]),
		T10VendorIDDesignator("GOISCSI", "lun0"),
		port, dev,
		RelativeTargetPortDesignator(1),
		TargetPortGroupDesignator(2),
		LogicalUnitGroupDesignator(3),
	}
	b, err := AppendVPD(nil, PeripheralByte(0, DeviceTypeDirectAccess), page)
	if err != nil {
		t.Fatal(err)
	}
	wantStart := []byte{0x00, 0x83, 0x00, byte(len(b) - 4),
		0x01, 0x03, 0x00, 0x10, 0x60, 0x01, 0x40, 0x51, 0x23, 0x45, 0x67, 0x89, 1, 2, 3, 4, 5, 6, 7, 8,
		0x02, 0x01, 0x00, 0x0c, 'G', 'O', 'I', 'S', 'C', 'S', 'I', ' ', 'l', 'u', 'n', '0',
		0x53, 0x98, 0x00, 28}
	if diff := cmp.Diff(wantStart, b[:len(wantStart)]); diff != "" {
		t.Errorf("page start (-want +got):\n%s", diff)
	}
	if got := string(b[len(wantStart) : len(wantStart)+28]); got != "iqn.2026-11.test:d,t,0x0001\x00" {
		t.Errorf("port name %q", got)
	}
	_, code, body, err := ParseVPD(b)
	if err != nil || code != VPDDeviceIdentification {
		t.Fatal(code, err)
	}
	got, err := ParseDeviceIdentification(body)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(page, got); diff != "" {
		t.Errorf("round trip (-want +got):\n%s", diff)
	}
	if n := got[2].SCSIName(); n != "iqn.2026-11.test:d,t,0x0001" {
		t.Errorf("SCSIName = %q", n)
	}
	if len(got[2].Value)%4 != 0 || len(got[3].Value) != 20 {
		t.Errorf("SCSI name lengths %d, %d: want multiples of 4 with a NUL", len(got[2].Value), len(got[3].Value))
	}
	if d := got[4]; !d.PIV || d.ProtocolIdentifier != ProtocolISCSI || d.Association != AssociationTargetPort || !cmp.Equal(d.Value, []byte{0, 0, 0, 1}) {
		t.Errorf("relative target port = %+v", d)
	}
}

func TestPortNames(t *testing.T) {
	if got := ISCSITargetPortName("iqn.x", 0x1f); got != "iqn.x,t,0x001f" {
		t.Errorf("ISCSITargetPortName = %q", got)
	}
	if got := ISCSIInitiatorPortName("iqn.y", [6]byte{0x80, 0x12, 0x34, 0x56, 0x00, 0x01}); got != "iqn.y,i,0x801234560001" {
		t.Errorf("ISCSIInitiatorPortName = %q", got)
	}
}

func TestVPDErrors(t *testing.T) {
	if _, _, _, err := ParseVPD([]byte{0, 0x83, 0}); !errors.Is(err, ErrShortData) {
		t.Errorf("ParseVPD short: %v", err)
	}
	// A PAGE LENGTH beyond the data keeps what there is.
	_, _, body, err := ParseVPD([]byte{0, 0x80, 0, 10, 'a', 'b'})
	if err != nil || string(body) != "ab" {
		t.Errorf("ParseVPD cut: %q, %v", body, err)
	}
	for _, b := range [][]byte{{0x01, 0x03, 0x00}, {0x01, 0x03, 0x00, 0x08, 1, 2}} {
		if _, err := ParseDeviceIdentification(b); !errors.Is(err, ErrMalformed) {
			t.Errorf("ParseDeviceIdentification(% x) = %v", b, err)
		}
	}
	if _, err := SCSINameDesignator(AssociationLogicalUnit, strings.Repeat("a", 252)); !errors.Is(err, ErrFieldRange) {
		t.Errorf("long SCSI name: %v", err)
	}
	if _, err := SCSINameDesignator(AssociationLogicalUnit, "\xff"); !errors.Is(err, ErrFieldRange) {
		t.Errorf("invalid UTF-8: %v", err)
	}
	bad := []VPDPage{
		DeviceIdentification{{Value: make([]byte, 256)}},
		DeviceIdentification{{Association: 4}},
		UnitSerialNumber("a\x01"),
		BlockLimits{UnmapGranularityAlignment: 1 << 31},
		BlockDeviceCharacteristics{NominalFormFactor: 16},
		LogicalBlockProvisioning{LBPRZ: 8},
		SupportedVPDPages(make([]byte, 0x10000)),
	}
	for _, p := range bad {
		b, err := AppendVPD([]byte{9}, 0, p)
		if !errors.Is(err, ErrFieldRange) || len(b) != 1 {
			t.Errorf("AppendVPD(%T) = % x, %v", p, b, err)
		}
	}
	if _, err := ParseLogicalBlockProvisioning([]byte{0, 0, 0}); !errors.Is(err, ErrShortData) {
		t.Errorf("short 0xb2: %v", err)
	}
}

func TestVPDRoundTrips(t *testing.T) {
	bl := BlockLimits{WSNZ: true, MaxCompareAndWriteLength: 1, OptimalTransferLengthGranularity: 8, MaxTransferLength: 1 << 16,
		OptimalTransferLength: 256, MaxPrefetchLength: 1024, MaxUnmapLBACount: 1 << 20, MaxUnmapBlockDescriptorCount: 256,
		OptimalUnmapGranularity: 8, UGAValid: true, UnmapGranularityAlignment: 3, MaxWriteSameLength: 1 << 40,
		MaxAtomicTransferLength: 64, AtomicAlignment: 1, AtomicTransferLengthGranularity: 1, MaxAtomicTransferLengthBoundary: 64, MaxAtomicBoundarySize: 8}
	b, err := AppendVPD(nil, 0, bl)
	if err != nil || len(b) != 4+BlockLimitsLength || b[3] != BlockLimitsLength {
		t.Fatalf("block limits: % x, %v", b, err)
	}
	_, _, body, _ := ParseVPD(b)
	if diff := cmp.Diff(bl, ParseBlockLimits(body)); diff != "" {
		t.Errorf("block limits (-want +got):\n%s", diff)
	}
	// An SBC-2 page of 12 bytes of body.
	short := ParseBlockLimits(body[:12])
	if short.MaxTransferLength != 1<<16 || short.MaxUnmapLBACount != 0 {
		t.Errorf("short block limits: %+v", short)
	}

	bdc := BlockDeviceCharacteristics{MediumRotationRate: RotationRateNonRotating, ProductType: 1, WABEREQ: 1, WACEREQ: 2, NominalFormFactor: FormFactor2_5, Zoned: 1, FUAB: true, VBULS: true}
	b, err = AppendVPD(nil, 0, bdc)
	if err != nil || len(b) != 64 {
		t.Fatalf("block device characteristics: % x, %v", b, err)
	}
	if diff := cmp.Diff([]byte{0, 0xb1, 0, 0x3c, 0, 1, 1, 0x63, 0x13}, b[:9]); diff != "" {
		t.Errorf("0xb1 bytes (-want +got):\n%s", diff)
	}
	_, _, body, _ = ParseVPD(b)
	if diff := cmp.Diff(bdc, ParseBlockDeviceCharacteristics(body)); diff != "" {
		t.Errorf("0xb1 (-want +got):\n%s", diff)
	}

	lbp := LogicalBlockProvisioning{ThresholdExponent: 12, LBPU: true, LBPWS: true, LBPWS10: true, LBPRZ: 1, ANCSup: true,
		MinimumPercentage: 3, ProvisioningType: ProvisioningThin, ThresholdPercentage: 90}
	b, err = AppendVPD(nil, 0, lbp)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]byte{0, 0xb2, 0, 4, 12, 0xe6, 0x1a, 90}, b); diff != "" {
		t.Errorf("0xb2 bytes (-want +got):\n%s", diff)
	}
	_, _, body, _ = ParseVPD(b)
	got, err := ParseLogicalBlockProvisioning(body)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(lbp, got); diff != "" {
		t.Errorf("0xb2 (-want +got):\n%s", diff)
	}
	lbp.ProvisioningGroupDescriptor = []byte{0x01, 0x03, 0x00, 0x00}
	b, _ = AppendVPD(nil, 0, lbp)
	_, _, body, _ = ParseVPD(b)
	got, _ = ParseLogicalBlockProvisioning(body)
	if diff := cmp.Diff(lbp, got); diff != "" || b[5]&1 == 0 {
		t.Errorf("0xb2 with DP (-want +got):\n%s", diff)
	}

	var pages []uint8
	for c := range (SupportedVPDPages{0, 0x80, 0x83}).All() {
		pages = append(pages, c)
	}
	if diff := cmp.Diff([]uint8{0, 0x80, 0x83}, pages); diff != "" {
		t.Errorf("All (-want +got):\n%s", diff)
	}
}
