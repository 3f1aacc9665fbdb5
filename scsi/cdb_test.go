package scsi

import (
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// cdbGolden lists CDBs in canonical form (every reserved and obsolete bit
// zero, so Append reproduces them byte for byte) and their decoded value.
var cdbGolden = []struct {
	name string
	cdb  []byte
	want CDB
}{
	{"TEST UNIT READY", []byte{0x00, 0, 0, 0, 0, 0x04}, TestUnitReady{Control: 0x04}},
	{"REQUEST SENSE DESC", []byte{0x03, 0x01, 0, 0, 252, 0}, RequestSense{Desc: true, AllocationLength: 252}},
	{"FORMAT UNIT", []byte{0x04, 0xd9, 0x07, 0, 0x01, 0}, FormatUnit{FmtPInfo: 3, FmtData: true, CmpLst: true, DefectListFormat: 1, VendorSpecific: 7, FFmt: 1}},
	{"INQUIRY standard", []byte{0x12, 0, 0, 0, 96, 0}, Inquiry{AllocationLength: 96}},
	{"INQUIRY VPD 0x83", []byte{0x12, 0x01, 0x83, 0x10, 0x00, 0}, Inquiry{EVPD: true, PageCode: 0x83, AllocationLength: 0x1000}},
	{"MODE SENSE(6) all pages changeable DBD", []byte{0x1a, 0x08, 0x7f, 0xff, 0xff, 0}, ModeSense{Op: OpModeSense6, DBD: true, PC: PageControlChangeable, PageCode: 0x3f, SubpageCode: 0xff, AllocationLength: 255}},
	{"MODE SENSE(10) LLBAA caching default", []byte{0x5a, 0x10, 0x88, 0, 0, 0, 0, 0x10, 0x00, 0}, ModeSense{Op: OpModeSense10, LLBAA: true, PC: PageControlDefault, PageCode: 0x08, AllocationLength: 4096}},
	{"MODE SELECT(6) PF SP", []byte{0x15, 0x11, 0, 0, 24, 0}, ModeSelect{Op: OpModeSelect6, PF: true, SP: true, ParameterListLength: 24}},
	{"MODE SELECT(10) PF", []byte{0x55, 0x10, 0, 0, 0, 0, 0, 0x01, 0x00, 0}, ModeSelect{Op: OpModeSelect10, PF: true, ParameterListLength: 256}},
	{"RESERVE(6)", []byte{0x16, 0, 0, 0, 0, 0}, ReserveRelease{Op: OpReserve6}},
	{"RELEASE(6) third party", []byte{0x17, 0x1a, 0, 0, 0, 0}, ReserveRelease{Op: OpRelease6, ThirdParty: true, ThirdPartyDeviceID: 5}},
	{"RESERVE(10) LONGID", []byte{0x56, 0x12, 0, 0x00, 0, 0, 0, 0, 8, 0}, ReserveRelease{Op: OpReserve10, ThirdParty: true, LongID: true, ParameterListLength: 8}},
	{"RELEASE(10)", []byte{0x57, 0x10, 0, 0x42, 0, 0, 0, 0, 0, 0}, ReserveRelease{Op: OpRelease10, ThirdParty: true, ThirdPartyDeviceID: 0x42}},
	{"START STOP UNIT", []byte{0x1b, 0x01, 0, 0x02, 0x37, 0}, StartStopUnit{Immed: true, PowerConditionModifier: 2, PowerCondition: PowerConditionStandby, NoFlush: true, LoEj: true, Start: true}},
	{"PREVENT ALLOW MEDIUM REMOVAL", []byte{0x1e, 0, 0, 0, 0x01, 0}, PreventAllowMediumRemoval{Prevent: PreventMediumRemoval}},
	{"READ CAPACITY(10)", []byte{0x25, 0, 0, 0, 0, 0, 0, 0, 0, 0}, ReadCapacity10{}},
	{"READ CAPACITY(10) PMI", []byte{0x25, 0, 0, 0, 0x10, 0, 0, 0, 1, 0}, ReadCapacity10{LBA: 0x1000, PMI: true}},
	{"PRE-FETCH(10)", []byte{0x34, 0x02, 0, 0, 0, 9, 0x01, 0, 8, 0}, PreFetch{Op: OpPreFetch10, Immed: true, LBA: 9, PrefetchLength: 8, Group: 1}},
	{"SYNCHRONIZE CACHE(10)", []byte{0x35, 0x02, 0, 0, 0, 0, 0, 0, 0, 0}, SynchronizeCache{Op: OpSynchronizeCache10, Immed: true}},
	{"READ DEFECT DATA(10)", []byte{0x37, 0, 0x1d, 0, 0, 0, 0, 0x02, 0x00, 0}, ReadDefectData{Op: OpReadDefectData10, ReqPList: true, ReqGList: true, DefectListFormat: 5, AllocationLength: 512}},
	{"WRITE SAME(10) UNMAP", []byte{0x41, 0x08, 0, 0, 0x10, 0, 0, 0x01, 0, 0}, WriteSame{Op: OpWriteSame10, Unmap: true, LBA: 0x1000, NumberOfBlocks: 256}},
	{"UNMAP", []byte{0x42, 0x01, 0, 0, 0, 0, 0x02, 0, 24, 0}, Unmap{Anchor: true, Group: 2, ParameterListLength: 24}},
	{"SANITIZE overwrite", []byte{0x48, 0xa1, 0, 0, 0, 0, 0, 0, 8, 0}, Sanitize{Immed: true, AUSE: true, ServiceAction: SanitizeOverwrite, ParameterListLength: 8}},
	{"SANITIZE crypto erase", []byte{0x48, 0x03, 0, 0, 0, 0, 0, 0, 0, 0}, Sanitize{ServiceAction: SanitizeCryptographicErase}},
	{"PERSISTENT RESERVE IN READ FULL STATUS", []byte{0x5e, 0x03, 0, 0, 0, 0, 0, 0x20, 0x00, 0}, PersistentReserveIn{ServiceAction: PRInReadFullStatus, AllocationLength: 0x2000}},
	{"PERSISTENT RESERVE OUT RESERVE", []byte{0x5f, 0x01, 0x05, 0, 0, 0, 0, 0, 24, 0}, PersistentReserveOut{ServiceAction: PROutReserve, Type: WriteExclusiveRegistrantsOnly, ParameterListLength: 24}},
	{"EXTENDED COPY(LID4)", []byte{0x83, 0x01, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01, 0x00, 0, 0}, ExtendedCopy{ServiceAction: ExtendedCopyLID4, ParameterListLength: 256}},
	{"RECEIVE COPY RESULTS COPY STATUS(LID1)", []byte{0x84, 0x00, 0x07, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x0c, 0, 0}, ReceiveCopyResults{ServiceAction: CopyStatusLID1, ListIdentifier: 7, AllocationLength: 12}},
	{"RECEIVE COPY RESULTS COPY STATUS(LID4)", []byte{0x84, 0x05, 0x01, 0x02, 0x03, 0x04, 0, 0, 0, 0, 0, 0, 0, 0x20, 0, 0}, ReceiveCopyResults{ServiceAction: CopyStatusLID4, ListIdentifier: 0x01020304, AllocationLength: 32}},
	{"RECEIVE COPY RESULTS OPERATING PARAMETERS", []byte{0x84, 0x03, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01, 0, 0, 0}, ReceiveCopyResults{ServiceAction: OperatingParameters, AllocationLength: 256}},
	{"COMPARE AND WRITE", []byte{0x89, 0x18, 0, 0, 0, 0, 0, 0, 0x10, 0, 0, 0, 0, 1, 0, 0}, CompareAndWrite{DPO: true, FUA: true, LBA: 0x1000, NumberOfBlocks: 1}},
	{"PRE-FETCH(16)", []byte{0x90, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0x10, 0, 0}, PreFetch{Op: OpPreFetch16, LBA: 1 << 32, PrefetchLength: 16}},
	{"SYNCHRONIZE CACHE(16)", []byte{0x91, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 1, 0x3f, 0}, SynchronizeCache{Op: OpSynchronizeCache16, LBA: 1, NumberOfBlocks: 1, Group: 0x3f}},
	{"WRITE SAME(16) NDOB UNMAP ANCHOR", []byte{0x93, 0x19, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}, WriteSame{Op: OpWriteSame16, Anchor: true, Unmap: true, NDOB: true}},
	{"WRITE ATOMIC(16)", []byte{0x9c, 0x08, 0, 0, 0, 0, 0, 0, 0, 8, 0, 8, 0, 8, 0, 0}, WriteAtomic16{FUA: true, LBA: 8, AtomicBoundary: 8, TransferLength: 8}},
	{"READ CAPACITY(16)", []byte{0x9e, 0x10, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 32, 0, 0}, ReadCapacity16{AllocationLength: 32}},
	{"GET LBA STATUS", []byte{0x9e, 0x12, 0, 0, 0, 0, 0, 0, 0x10, 0, 0, 0, 0x10, 0, 0x03, 0}, GetLBAStatus{StartingLBA: 0x1000, AllocationLength: 0x1000, ReportType: 3}},
	{"REPORT LUNS", []byte{0xa0, 0, 0x02, 0, 0, 0, 0, 0, 0x10, 0, 0, 0}, ReportLUNs{SelectReport: SelectReportAll, AllocationLength: 4096}},
	{"REPORT SUPPORTED OPERATION CODES one", []byte{0xa3, 0x0c, 0x82, 0x9e, 0x00, 0x10, 0, 0, 0x02, 0, 0, 0}, ReportSupportedOperationCodes{RCTD: true, ReportingOptions: ReportOneCommandWithSA, RequestedOpCode: OpServiceActionIn16, RequestedServiceAction: SAReadCapacity16, AllocationLength: 512}},
	{"READ DEFECT DATA(12)", []byte{0xb7, 0x13, 0, 0, 0, 4, 0, 0, 0x10, 0, 0, 0}, ReadDefectData{Op: OpReadDefectData12, ReqPList: true, DefectListFormat: 3, AddressDescriptorIndex: 4, AllocationLength: 4096}},
	{"READ(10)", []byte{0x28, 0, 0, 0, 0, 1, 0, 0, 1, 0}, ReadWrite{Op: OpRead10, LBA: 1, TransferLength: 1}},
}

func TestParseCDBGolden(t *testing.T) {
	for _, tt := range cdbGolden {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseCDB(append(append([]byte(nil), tt.cdb...), 0, 0, 0, 0, 0, 0))
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Fatalf("ParseCDB (-want +got):\n%s", diff)
			}
			if got.OperationCode() != OpCode(tt.cdb[0]) {
				t.Errorf("OperationCode() = %v, want %v", got.OperationCode(), OpCode(tt.cdb[0]))
			}
			b, err := tt.want.Append([]byte{0xee})
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.cdb, b[1:]); diff != "" {
				t.Fatalf("Append (-want +got):\n%s", diff)
			}
			if n := OpCode(tt.cdb[0]).CDBLength(); n != len(tt.cdb) {
				t.Errorf("CDB is %d bytes, CDBLength says %d", len(tt.cdb), n)
			}
		})
	}
}

func TestParseCDBErrors(t *testing.T) {
	tests := []struct {
		name  string
		cdb   []byte
		sense Sense
	}{
		{"unknown operation code", []byte{0xc0, 0, 0, 0, 0, 0}, NewSense(SenseIllegalRequest, ASCInvalidCommandOperationCode)},
		{"TEST UNIT READY reserved byte 3", []byte{0x00, 0, 0, 0x80, 0, 0}, InvalidFieldInCDB(3, 7)},
		{"REQUEST SENSE reserved bit", []byte{0x03, 0x02, 0, 0, 0, 0}, InvalidFieldInCDB(1, 1)},
		{"REQUEST SENSE reserved byte 2", []byte{0x03, 0, 1, 0, 0, 0}, InvalidFieldInCDB(2, 0)},
		{"INQUIRY CMDDT", []byte{0x12, 0x02, 0, 0, 96, 0}, InvalidFieldInCDB(1, 1)},
		{"INQUIRY reserved", []byte{0x12, 0x04, 0, 0, 96, 0}, InvalidFieldInCDB(1, 2)},
		{"INQUIRY page without EVPD", []byte{0x12, 0, 0x80, 0, 96, 0}, InvalidFieldInCDB(2, -1)},
		{"MODE SENSE(6) reserved", []byte{0x1a, 0x10, 0x3f, 0, 255, 0}, InvalidFieldInCDB(1, 4)},
		{"MODE SENSE(10) reserved byte 5", []byte{0x5a, 0, 0x3f, 0, 0, 1, 0, 0, 255, 0}, InvalidFieldInCDB(5, 0)},
		{"MODE SELECT(6) RTD", []byte{0x15, 0x12, 0, 0, 24, 0}, InvalidFieldInCDB(1, 1)},
		{"MODE SELECT(10) reserved byte 3", []byte{0x55, 0x10, 0, 4, 0, 0, 0, 0, 24, 0}, InvalidFieldInCDB(3, 2)},
		{"RESERVE(6) extent", []byte{0x16, 0x01, 0, 0, 0, 0}, InvalidFieldInCDB(1, 0)},
		{"RESERVE(6) extent length", []byte{0x16, 0, 0, 0, 1, 0}, InvalidFieldInCDB(4, 0)},
		{"RELEASE(10) reservation id", []byte{0x57, 0, 1, 0, 0, 0, 0, 0, 0, 0}, InvalidFieldInCDB(2, 0)},
		{"START STOP UNIT reserved byte 4", []byte{0x1b, 0, 0, 0, 0x08, 0}, InvalidFieldInCDB(4, 3)},
		{"PREVENT ALLOW reserved", []byte{0x1e, 0, 0, 0, 0x04, 0}, InvalidFieldInCDB(4, 2)},
		{"READ CAPACITY(10) LBA without PMI", []byte{0x25, 0, 0, 0, 0, 1, 0, 0, 0, 0}, InvalidFieldInCDB(2, -1)},
		{"READ CAPACITY(10) reserved byte 8", []byte{0x25, 0, 0, 0, 0, 0, 0, 0, 2, 0}, InvalidFieldInCDB(8, 1)},
		{"READ CAPACITY(16) LBA without PMI", []byte{0x9e, 0x10, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 32, 0, 0}, InvalidFieldInCDB(2, -1)},
		{"SERVICE ACTION IN(16) unknown", []byte{0x9e, 0x11, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 32, 0, 0}, InvalidFieldInCDB(1, 4)},
		{"GET LBA STATUS reserved", []byte{0x9e, 0x12, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 32, 0x04, 0}, InvalidFieldInCDB(14, 2)},
		{"SYNCHRONIZE CACHE(10) reserved", []byte{0x35, 0x08, 0, 0, 0, 0, 0, 0, 0, 0}, InvalidFieldInCDB(1, 3)},
		{"SYNCHRONIZE CACHE(16) bit 0", []byte{0x91, 0x01, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}, InvalidFieldInCDB(1, 0)},
		{"SYNCHRONIZE CACHE(16) overflow", []byte{0x91, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 2, 0, 0}, NewSense(SenseIllegalRequest, ASCLBAOutOfRange)},
		{"PRE-FETCH(10) group reserved", []byte{0x34, 0, 0, 0, 0, 0, 0x80, 0, 0, 0}, InvalidFieldInCDB(6, 7)},
		{"READ DEFECT DATA(10) reserved", []byte{0x37, 1, 0, 0, 0, 0, 0, 0, 0, 0}, InvalidFieldInCDB(1, 0)},
		{"READ DEFECT DATA(12) reserved", []byte{0xb7, 0x20, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}, InvalidFieldInCDB(1, 5)},
		{"WRITE SAME(10) LBDATA", []byte{0x41, 0x02, 0, 0, 0, 0, 0, 0, 1, 0}, InvalidFieldInCDB(1, 1)},
		{"WRITE SAME(16) overflow", []byte{0x93, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 1, 0, 0}, NewSense(SenseIllegalRequest, ASCLBAOutOfRange)},
		{"WRITE SAME(16) group reserved", []byte{0x93, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0x40, 0}, InvalidFieldInCDB(14, 6)},
		{"UNMAP reserved byte 3", []byte{0x42, 0, 0, 1, 0, 0, 0, 0, 24, 0}, InvalidFieldInCDB(3, 0)},
		{"SANITIZE unknown service action", []byte{0x48, 0x04, 0, 0, 0, 0, 0, 0, 0, 0}, InvalidFieldInCDB(1, 4)},
		{"SANITIZE block erase with parameters", []byte{0x48, 0x02, 0, 0, 0, 0, 0, 0, 4, 0}, InvalidFieldInCDB(7, -1)},
		{"SANITIZE reserved bit 6", []byte{0x48, 0x41, 0, 0, 0, 0, 0, 0, 4, 0}, InvalidFieldInCDB(1, 6)},
		{"PR IN unknown service action", []byte{0x5e, 0x04, 0, 0, 0, 0, 0, 0, 8, 0}, InvalidFieldInCDB(1, 4)},
		{"PR OUT unknown service action", []byte{0x5f, 0x09, 0, 0, 0, 0, 0, 0, 24, 0}, InvalidFieldInCDB(1, 4)},
		{"PR OUT reserved byte 3", []byte{0x5f, 0x00, 0, 1, 0, 0, 0, 0, 24, 0}, InvalidFieldInCDB(3, 0)},
		{"EXTENDED COPY populate token", []byte{0x83, 0x10, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}, InvalidFieldInCDB(1, 4)},
		{"EXTENDED COPY reserved", []byte{0x83, 0x00, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0}, InvalidFieldInCDB(9, 0)},
		{"RECEIVE COPY RESULTS LID1 reserved byte 3", []byte{0x84, 0x00, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}, InvalidFieldInCDB(3, 0)},
		{"RECEIVE COPY RESULTS unknown", []byte{0x84, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}, InvalidFieldInCDB(1, 4)},
		{"COMPARE AND WRITE reserved byte 11", []byte{0x89, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 4, 0, 1, 0, 0}, InvalidFieldInCDB(11, 2)},
		{"COMPARE AND WRITE overflow", []byte{0x89, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 1, 0, 0}, NewSense(SenseIllegalRequest, ASCLBAOutOfRange)},
		{"WRITE ATOMIC(16) reserved", []byte{0x9c, 0x01, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0}, InvalidFieldInCDB(1, 0)},
		{"REPORT LUNS reserved byte 1", []byte{0xa0, 1, 0, 0, 0, 0, 0, 0, 0x10, 0, 0, 0}, InvalidFieldInCDB(1, 0)},
		{"MAINTENANCE IN unknown", []byte{0xa3, 0x0a, 0, 0, 0, 0, 0, 0, 0x10, 0, 0, 0}, InvalidFieldInCDB(1, 4)},
		{"RSOC reporting options 4", []byte{0xa3, 0x0c, 0x04, 0, 0, 0, 0, 0, 0x10, 0, 0, 0}, InvalidFieldInCDB(2, 2)},
		{"RSOC reserved byte 2", []byte{0xa3, 0x0c, 0x40, 0, 0, 0, 0, 0, 0x10, 0, 0, 0}, InvalidFieldInCDB(2, 6)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseCDB(tt.cdb)
			if !errors.Is(err, ErrInvalidCDB) {
				t.Fatalf("err = %v, want ErrInvalidCDB", err)
			}
			s, ok := SenseOf(err)
			if !ok {
				t.Fatalf("SenseOf(%v) found no sense", err)
			}
			if diff := cmp.Diff(tt.sense, s); diff != "" {
				t.Errorf("sense (-want +got):\n%s", diff)
			}
		})
	}
}

func TestParseCDBShort(t *testing.T) {
	for _, tt := range cdbGolden {
		for n := 0; n < len(tt.cdb); n++ {
			if _, err := ParseCDB(tt.cdb[:n]); !errors.Is(err, ErrShortCDB) {
				t.Errorf("%s cut to %d bytes: err = %v, want ErrShortCDB", tt.name, n, err)
			}
		}
	}
}

func TestParseWrongOpCode(t *testing.T) {
	parsers := map[string]func([]byte) error{
		"TestUnitReady":    func(b []byte) error { _, err := ParseTestUnitReady(b); return err },
		"RequestSense":     func(b []byte) error { _, err := ParseRequestSense(b); return err },
		"Inquiry":          func(b []byte) error { _, err := ParseInquiry(b); return err },
		"ModeSense":        func(b []byte) error { _, err := ParseModeSense(b); return err },
		"ModeSelect":       func(b []byte) error { _, err := ParseModeSelect(b); return err },
		"ReserveRelease":   func(b []byte) error { _, err := ParseReserveRelease(b); return err },
		"StartStopUnit":    func(b []byte) error { _, err := ParseStartStopUnit(b); return err },
		"Prevent":          func(b []byte) error { _, err := ParsePreventAllowMediumRemoval(b); return err },
		"ReadCapacity10":   func(b []byte) error { _, err := ParseReadCapacity10(b); return err },
		"ReadCapacity16":   func(b []byte) error { _, err := ParseReadCapacity16(b); return err },
		"GetLBAStatus":     func(b []byte) error { _, err := ParseGetLBAStatus(b); return err },
		"PreFetch":         func(b []byte) error { _, err := ParsePreFetch(b); return err },
		"SynchronizeCache": func(b []byte) error { _, err := ParseSynchronizeCache(b); return err },
		"ReadDefectData":   func(b []byte) error { _, err := ParseReadDefectData(b); return err },
		"WriteSame":        func(b []byte) error { _, err := ParseWriteSame(b); return err },
		"Unmap":            func(b []byte) error { _, err := ParseUnmap(b); return err },
		"Sanitize":         func(b []byte) error { _, err := ParseSanitize(b); return err },
		"PRIn":             func(b []byte) error { _, err := ParsePersistentReserveIn(b); return err },
		"PROut":            func(b []byte) error { _, err := ParsePersistentReserveOut(b); return err },
		"ExtendedCopy":     func(b []byte) error { _, err := ParseExtendedCopy(b); return err },
		"ReceiveCopy":      func(b []byte) error { _, err := ParseReceiveCopyResults(b); return err },
		"CompareAndWrite":  func(b []byte) error { _, err := ParseCompareAndWrite(b); return err },
		"WriteAtomic16":    func(b []byte) error { _, err := ParseWriteAtomic16(b); return err },
		"ReportLUNs":       func(b []byte) error { _, err := ParseReportLUNs(b); return err },
		"RSOC":             func(b []byte) error { _, err := ParseReportSupportedOperationCodes(b); return err },
		"FormatUnit":       func(b []byte) error { _, err := ParseFormatUnit(b); return err },
	}
	cdb := make([]byte, 16)
	cdb[0] = 0xc7 // vendor specific, decoded by none
	for name, parse := range parsers {
		err := parse(cdb)
		s, _ := SenseOf(err)
		if !errors.Is(err, ErrInvalidCDB) || s.Code != ASCInvalidCommandOperationCode {
			t.Errorf("%s: err = %v, want INVALID COMMAND OPERATION CODE", name, err)
		}
		if err := parse(nil); !errors.Is(err, ErrShortCDB) {
			t.Errorf("%s(nil): err = %v, want ErrShortCDB", name, err)
		}
	}
}

func TestCDBAppendErrors(t *testing.T) {
	tests := []struct {
		name string
		c    CDB
	}{
		{"INQUIRY page without EVPD", Inquiry{PageCode: 0x80}},
		{"MODE SENSE wrong op", ModeSense{Op: OpRead10}},
		{"MODE SENSE PC 4", ModeSense{Op: OpModeSense6, PC: 4}},
		{"MODE SENSE page 0x40", ModeSense{Op: OpModeSense10, PageCode: 0x40}},
		{"MODE SENSE(6) LLBAA", ModeSense{Op: OpModeSense6, LLBAA: true}},
		{"MODE SENSE(6) allocation 256", ModeSense{Op: OpModeSense6, AllocationLength: 256}},
		{"MODE SELECT wrong op", ModeSelect{Op: OpModeSense6}},
		{"MODE SELECT(6) length 256", ModeSelect{Op: OpModeSelect6, ParameterListLength: 256}},
		{"RESERVE wrong op", ReserveRelease{Op: OpInquiry}},
		{"RESERVE(6) device id 8", ReserveRelease{Op: OpReserve6, ThirdPartyDeviceID: 8}},
		{"RESERVE(6) LONGID", ReserveRelease{Op: OpReserve6, LongID: true}},
		{"RESERVE(6) parameter list", ReserveRelease{Op: OpReserve6, ParameterListLength: 8}},
		{"START STOP modifier 16", StartStopUnit{PowerConditionModifier: 16}},
		{"START STOP condition 16", StartStopUnit{PowerCondition: 16}},
		{"PREVENT 4", PreventAllowMediumRemoval{Prevent: 4}},
		{"FORMAT UNIT FMTPINFO 4", FormatUnit{FmtPInfo: 4}},
		{"FORMAT UNIT format 8", FormatUnit{DefectListFormat: 8}},
		{"FORMAT UNIT FFMT 4", FormatUnit{FFmt: 4}},
		{"READ CAPACITY(10) LBA without PMI", ReadCapacity10{LBA: 1}},
		{"READ CAPACITY(16) LBA without PMI", ReadCapacity16{LBA: 1}},
		{"GET LBA STATUS report type 4", GetLBAStatus{ReportType: 4}},
		{"SYNC CACHE wrong op", SynchronizeCache{Op: OpRead10}},
		{"SYNC CACHE(10) LBA", SynchronizeCache{Op: OpSynchronizeCache10, LBA: 1 << 32}},
		{"SYNC CACHE(10) blocks", SynchronizeCache{Op: OpSynchronizeCache10, NumberOfBlocks: 1 << 16}},
		{"SYNC CACHE(16) group", SynchronizeCache{Op: OpSynchronizeCache16, Group: 64}},
		{"PRE-FETCH(16) overflow", PreFetch{Op: OpPreFetch16, LBA: ^uint64(0), PrefetchLength: 1}},
		{"READ DEFECT DATA wrong op", ReadDefectData{Op: OpRead10}},
		{"READ DEFECT DATA format 8", ReadDefectData{Op: OpReadDefectData12, DefectListFormat: 8}},
		{"READ DEFECT DATA(10) index", ReadDefectData{Op: OpReadDefectData10, AddressDescriptorIndex: 1}},
		{"READ DEFECT DATA(10) allocation", ReadDefectData{Op: OpReadDefectData10, AllocationLength: 1 << 16}},
		{"WRITE SAME wrong op", WriteSame{Op: OpWrite10}},
		{"WRITE SAME WRPROTECT 8", WriteSame{Op: OpWriteSame16, WrProtect: 8}},
		{"WRITE SAME(10) NDOB", WriteSame{Op: OpWriteSame10, NDOB: true}},
		{"WRITE SAME(10) LBA", WriteSame{Op: OpWriteSame10, LBA: 1 << 32}},
		{"WRITE SAME(10) blocks", WriteSame{Op: OpWriteSame10, NumberOfBlocks: 1 << 16}},
		{"WRITE SAME(10) group", WriteSame{Op: OpWriteSame10, Group: 64}},
		{"WRITE SAME(16) group", WriteSame{Op: OpWriteSame16, Group: 64}},
		{"WRITE SAME(16) overflow", WriteSame{Op: OpWriteSame16, LBA: ^uint64(0), NumberOfBlocks: 1}},
		{"UNMAP group", Unmap{Group: 64}},
		{"COMPARE AND WRITE WRPROTECT", CompareAndWrite{WrProtect: 8}},
		{"COMPARE AND WRITE group", CompareAndWrite{Group: 64}},
		{"COMPARE AND WRITE overflow", CompareAndWrite{LBA: ^uint64(0), NumberOfBlocks: 1}},
		{"WRITE ATOMIC WRPROTECT", WriteAtomic16{WrProtect: 8}},
		{"WRITE ATOMIC group", WriteAtomic16{Group: 64}},
		{"WRITE ATOMIC overflow", WriteAtomic16{LBA: ^uint64(0), TransferLength: 1}},
		{"SANITIZE service action", Sanitize{ServiceAction: 0x20}},
		{"PR IN service action", PersistentReserveIn{ServiceAction: 0x20}},
		{"PR OUT service action", PersistentReserveOut{ServiceAction: 0x20}},
		{"PR OUT scope", PersistentReserveOut{Scope: 16}},
		{"PR OUT type", PersistentReserveOut{Type: 16}},
		{"EXTENDED COPY service action", ExtendedCopy{ServiceAction: 2}},
		{"RECEIVE COPY RESULTS service action", ReceiveCopyResults{ServiceAction: 2}},
		{"RECEIVE COPY RESULTS LID1 id", ReceiveCopyResults{ServiceAction: CopyStatusLID1, ListIdentifier: 256}},
		{"RECEIVE COPY RESULTS no id", ReceiveCopyResults{ServiceAction: OperatingParameters, ListIdentifier: 1}},
		{"RSOC reporting options", ReportSupportedOperationCodes{ReportingOptions: 4}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := tt.c.Append(nil)
			if !errors.Is(err, ErrInvalidCDB) {
				t.Fatalf("Append = % x, %v; want ErrInvalidCDB", b, err)
			}
			if len(b) != 0 {
				t.Errorf("Append appended % x on error", b)
			}
		})
	}
}

func TestCheckControl(t *testing.T) {
	tests := []struct {
		control byte
		aca     bool
		want    error
	}{
		{0x00, false, nil},
		{0xc0, false, nil},
		{0x04, true, nil},
		{0x04, false, InvalidFieldInCDB(9, 2)},
		{0x08, true, InvalidFieldInCDB(9, 3)},
		{0x01, true, InvalidFieldInCDB(9, 0)},
		{0x02, true, InvalidFieldInCDB(9, 1)},
	}
	for _, tt := range tests {
		err := CheckControl(OpRead10, tt.control, 9, tt.aca)
		if tt.want == nil {
			if err != nil {
				t.Errorf("CheckControl(0x%02x, %v) = %v", tt.control, tt.aca, err)
			}
			continue
		}
		s, _ := SenseOf(err)
		if diff := cmp.Diff(tt.want, error(s)); diff != "" {
			t.Errorf("CheckControl(0x%02x, %v) (-want +got):\n%s", tt.control, tt.aca, diff)
		}
	}
}

func TestCDBErrorText(t *testing.T) {
	_, err := ParseReadWrite([]byte{0x28, 0, 0, 0, 0, 0, 0x80, 0, 1, 0})
	want := "scsi: READ(10): reserved: ILLEGAL REQUEST: INVALID FIELD IN CDB (CDB byte 6 bit 7)"
	if err == nil || err.Error() != want {
		t.Errorf("error = %v, want %q", err, want)
	}
}

func TestCDBUsageMatchesParsers(t *testing.T) {
	// A bit the usage bitmap marks, set alone in an otherwise zero CDB
	// (service action kept), must never be rejected as reserved: the
	// bitmaps advertise only fields the parsers read.
	for _, c := range SupportedCommands() {
		n := len(c.Usage)
		if n != c.Op.CDBLength() {
			t.Errorf("%v: usage is %d bytes, CDB %d", c.Op, n, c.Op.CDBLength())
			continue
		}
		for i := 1; i < n-1; i++ {
			for bit := range 8 {
				if c.Usage[i]&(1<<bit) == 0 {
					continue
				}
				cdb := make([]byte, n)
				cdb[0] = c.Usage[0]
				if c.HasServiceAction {
					cdb[1] = c.Usage[1] & 0x1f
				} else {
					cdb[1] = 0
				}
				cdb[i] |= 1 << bit
				_, err := ParseCDB(cdb)
				var ce *CDBError
				if errors.As(err, &ce) && ce.Field == "reserved" {
					t.Errorf("%v SA 0x%x: usage marks byte %d bit %d, parser says reserved", c.Op, c.ServiceAction, i, bit)
				}
			}
		}
	}
}

func BenchmarkParseCDB(b *testing.B) {
	cdb := []byte{0x9e, 0x10, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 32, 0, 0}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ParseCDB(cdb); err != nil {
			b.Fatal(err)
		}
	}
}

func TestCDBUsageComplete(t *testing.T) {
	// Each bit of bytes 1 to n-2 either is marked in the usage bitmap and
	// changes the decoded value (or draws a semantic error), or is not
	// marked and is rejected or ignored.
	for _, c := range SupportedCommands() {
		n := len(c.Usage)
		base := make([]byte, n)
		base[0] = c.Usage[0]
		if c.HasServiceAction {
			base[1] = c.Usage[1] & 0x1f
		}
		want, err := ParseCDB(base)
		if err != nil {
			t.Errorf("%v SA 0x%x: zero CDB: %v", c.Op, c.ServiceAction, err)
			continue
		}
		for i := 1; i < n-1; i++ {
			for bit := range 8 {
				if c.HasServiceAction && i == 1 && bit < 5 {
					continue // the service action itself
				}
				cdb := append([]byte(nil), base...)
				cdb[i] |= 1 << bit
				got, err := ParseCDB(cdb)
				marked := c.Usage[i]&(1<<bit) != 0
				same := err == nil && cmp.Equal(want, got)
				if marked && same {
					t.Errorf("%v SA 0x%x: byte %d bit %d is marked but not read", c.Op, c.ServiceAction, i, bit)
				}
				if !marked && err == nil && !same {
					t.Errorf("%v SA 0x%x: byte %d bit %d is read but not marked", c.Op, c.ServiceAction, i, bit)
				}
			}
		}
	}
}
