package disk

import (
	"encoding/binary"
	"testing"

	"github.com/go-iscsi/iscsi/scsi"
	"github.com/google/go-cmp/cmp"
)

// TestDataAgreesWithScsiPackage decodes the logical unit's parameter data
// with the parsers of package scsi and compares the fields with what the
// configuration says they must be.
func TestDataAgreesWithScsiPackage(t *testing.T) {
	lu := newLU(t, 8<<20, Config{Vendor: "ACME", Product: "Anvil", Revision: "7", SerialNumber: "S1", Removable: true, ThinProvisioning: true})
	ready(t, lu, nexusA)
	c := lu.Config()

	_, d := run(lu, nexusA, cdbInquiry(false, 0, 255), nil, 255)
	inq, err := scsi.ParseInquiryData(d)
	if err != nil {
		t.Fatal(err)
	}
	wantInq := scsi.InquiryData{RMB: true, Version: 6, HiSup: true, ResponseDataFormat: 2, ThreePC: true, CmdQue: true,
		VendorID: "ACME", ProductID: "Anvil", ProductRevision: "7", VersionDescriptors: [8]uint16{0x00a0, 0x0460, 0x04c0}}
	if diff := cmp.Diff(wantInq, inq); diff != "" {
		t.Errorf("standard INQUIRY (-want +got):\n%s", diff)
	}

	vpd := func(page byte) []byte {
		_, d := run(lu, nexusA, cdbInquiry(true, page, 1024), nil, 1024)
		_, code, body, err := scsi.ParseVPD(d)
		if err != nil || code != page {
			t.Fatalf("VPD %#x: page %#x, %v", page, code, err)
		}
		return body
	}
	if got := scsi.ParseUnitSerialNumber(vpd(0x80)); got != "S1" {
		t.Errorf("unit serial number %q", got)
	}
	ids, err := scsi.ParseDeviceIdentification(vpd(0x83))
	if err != nil {
		t.Fatal(err)
	}
	wantIDs := scsi.DeviceIdentification{
		scsi.NAADesignator(c.NAA[:]),
		scsi.T10VendorIDDesignator("ACME", "Anvil:S1"),
	}
	name, err := scsi.SCSINameDesignator(1, nexusA.TargetPort)
	if err != nil {
		t.Fatal(err)
	}
	wantIDs = append(wantIDs, name, scsi.RelativeTargetPortDesignator(1), scsi.TargetPortGroupDesignator(1))
	for i := 2; i < len(wantIDs); i++ {
		wantIDs[i].PIV, wantIDs[i].ProtocolIdentifier = true, 5
	}
	if diff := cmp.Diff(wantIDs, ids); diff != "" {
		t.Errorf("device identification (-want +got):\n%s", diff)
	}
	wantBL := scsi.BlockLimits{WSNZ: false, MaxCompareAndWriteLength: c.MaxCompareAndWriteLength,
		OptimalTransferLengthGranularity: c.OptimalTransferLengthGranularity, MaxTransferLength: c.MaxTransferLength,
		OptimalTransferLength: c.OptimalTransferLength, MaxPrefetchLength: c.MaxTransferLength,
		MaxUnmapLBACount: c.MaxUnmapLBACount, MaxUnmapBlockDescriptorCount: c.MaxUnmapBlockDescriptorCount,
		OptimalUnmapGranularity: 8, UGAValid: true, MaxWriteSameLength: c.MaxWriteSameLength,
		MaxAtomicTransferLength: c.MaxAtomicTransferLength, AtomicAlignment: 1, AtomicTransferLengthGranularity: 1}
	if diff := cmp.Diff(wantBL, scsi.ParseBlockLimits(vpd(0xb0))); diff != "" {
		t.Errorf("block limits (-want +got):\n%s", diff)
	}
	// WABEREQ 01b: a block read after SANITIZE BLOCK ERASE completes
	// with GOOD status (SBC-4 §6.6.2).
	wantBDC := scsi.BlockDeviceCharacteristics{MediumRotationRate: scsi.RotationRateNonRotating, WABEREQ: 1}
	if diff := cmp.Diff(wantBDC, scsi.ParseBlockDeviceCharacteristics(vpd(0xb1))); diff != "" {
		t.Errorf("block device characteristics (-want +got):\n%s", diff)
	}
	lbp, err := scsi.ParseLogicalBlockProvisioning(vpd(0xb2))
	if diff := cmp.Diff(scsi.LogicalBlockProvisioning{LBPU: true, LBPWS: true, LBPWS10: true, LBPRZ: 1, ProvisioningType: 2}, lbp); err != nil || diff != "" {
		t.Errorf("logical block provisioning %v (-want +got):\n%s", err, diff)
	}

	_, d = run(lu, nexusA, []byte{0x9e, 0x10, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 32, 0, 0}, nil, 32)
	rc, err := scsi.ParseReadCapacity16Data(d)
	if diff := cmp.Diff(scsi.ReadCapacity16Data{LastLBA: 16383, BlockLength: 512, LBPME: true, LBPRZ: true}, rc); err != nil || diff != "" {
		t.Errorf("READ CAPACITY(16) %v (-want +got):\n%s", err, diff)
	}

	mustGood(t, first(run(lu, nexusA, cdbRW(scsi.OpWrite10, 256, 128, 0), make([]byte, 128*512), 0)), "write")
	_, d = run(lu, nexusA, []byte{0x9e, 0x12, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0}, nil, 256)
	st, err := scsi.ParseLBAStatus(d)
	if err != nil {
		t.Fatal(err)
	}
	var got []scsi.LBAStatusDescriptor
	for _, desc := range st.All() {
		got = append(got, desc)
	}
	want := []scsi.LBAStatusDescriptor{{LBA: 0, NumberOfBlocks: 256, ProvisioningStatus: 1}, {LBA: 256, NumberOfBlocks: 128}, {LBA: 384, NumberOfBlocks: 16000, ProvisioningStatus: 1}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("GET LBA STATUS (-want +got):\n%s", diff)
	}

	// READ FULL STATUS carries the initiator port as an iSCSI TransportID.
	mustGood(t, first(run(lu, nexusA, cdbPROut(proRegister, 0), prParams(0, 9), 0)), "register")
	_, d = run(lu, nexusA, cdbPRIn(3, 1024), nil, 1024)
	tid, _, err := scsi.ParseTransportID(d[8+24:])
	if err != nil {
		t.Fatal(err)
	}
	if port := scsi.ISCSIInitiatorPortName(tid.Name, tid.ISID); !tid.HasISID || port != nexusA.InitiatorPort {
		t.Errorf("TransportID %+v is port %q, want %q", tid, port, nexusA.InitiatorPort)
	}
	if l := binary.BigEndian.Uint32(d[8+20:]); int(l) != len(d)-8-24 {
		t.Errorf("ADDITIONAL DESCRIPTOR LENGTH %d", l)
	}
}

// TestReportSupportedOpCodesParses reads the logical unit's REPORT
// SUPPORTED OPERATION CODES data back with package scsi: every command of
// the all-commands list, asked for alone, comes back with its usage data.
func TestReportSupportedOpCodesParses(t *testing.T) {
	lu := newLU(t, 1<<20, Config{ThinProvisioning: true})
	ready(t, lu, nexusA)
	_, d := run(lu, nexusA, []byte{0xa3, 0x0c, 0x80, 0, 0, 0, 0, 0, 0x20, 0, 0, 0}, nil, 8192)
	all, err := scsi.ParseAllCommands(d)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for c, cdbLen := range all.All() {
		n++
		opts := byte(scsi.ReportOneCommand)
		if c.HasServiceAction {
			opts = scsi.ReportOneCommandWithSA
		}
		sa := uint16(c.ServiceAction)
		_, d := run(lu, nexusA, []byte{0xa3, 0x0c, 0x80 | opts, byte(c.Op), byte(sa >> 8), byte(sa), 0, 0, 1, 0, 0, 0}, nil, 256)
		one, err := scsi.ParseOneCommand(d)
		if err != nil || one.Support != scsi.SupportStandard || len(one.Usage) != cdbLen || one.Usage[0] != byte(c.Op) || one.Timeouts == nil {
			t.Fatalf("%v sa %#x: %+v, %v", c.Op, sa, one, err)
		}
		if c.HasServiceAction && one.Usage[1]&0x1f != byte(sa) {
			t.Fatalf("%v: usage data byte 1 %#x lacks service action %#x", c.Op, one.Usage[1], sa)
		}
	}
	rows := 0
	for i := range lu.table {
		rows += len(lu.table[i])
	}
	if n != rows {
		t.Fatalf("%d commands reported, %d in the dispatch table", n, rows)
	}
}
