package disk

import (
	"context"
	"encoding/binary"
	"errors"
	"testing"

	"github.com/go-iscsi/iscsi/scsi"
	"github.com/google/go-cmp/cmp"
)

func TestNewConfigErrors(t *testing.T) {
	for _, tc := range []struct {
		name  string
		be    Backend
		cfg   Config
		field string
	}{
		{"block size", NewMemory(1 << 20), Config{BlockSize: 520}, "BlockSize"},
		{"vendor too long", NewMemory(1 << 20), Config{Vendor: "ABCDEFGHI"}, "Vendor"},
		{"product not ascii", NewMemory(1 << 20), Config{Product: "disk\x00"}, "Product"},
		{"revision", NewMemory(1 << 20), Config{Revision: "12345"}, "Revision"},
		{"nil backend", nil, Config{}, "backend"},
		{"thin without deallocator", readerOnly{NewMemory(1 << 20)}, Config{ThinProvisioning: true}, "ThinProvisioning"},
		{"naa type", NewMemory(1 << 20), Config{NAA: [16]byte{0x50}}, "NAA"},
		{"company id", NewMemory(1 << 20), Config{NAACompanyID: 1 << 24}, "NAACompanyID"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := New(tc.be, tc.cfg)
			var ce *ConfigError
			if !errors.As(err, &ce) || ce.Field != tc.field || !errors.Is(err, ErrInvalidConfig) {
				t.Fatalf("New: %v, want a *ConfigError on %s", err, tc.field)
			}
		})
	}
}

// readerOnly hides the optional interfaces of a backend.
type readerOnly struct{ b Backend }

func (r readerOnly) ReadAt(p []byte, off int64) (int, error)  { return r.b.ReadAt(p, off) }
func (r readerOnly) WriteAt(p []byte, off int64) (int, error) { return r.b.WriteAt(p, off) }
func (r readerOnly) Size() int64                              { return r.b.Size() }

func TestUnitAttentions(t *testing.T) {
	lu := newLU(t, 1<<20, Config{})
	// INQUIRY and REPORT LUNS run despite the pending power-on UA and leave it.
	mustGood(t, first(run(lu, nexusA, cdbInquiry(false, 0, 96), nil, 96)), "inquiry")
	mustGood(t, first(run(lu, nexusA, []byte{0xa0, 0, 0, 0, 0, 0, 0, 0, 0, 16, 0, 0}, nil, 16)), "report luns")
	if diff := cmp.Diff([]scsi.ASC{scsi.ASCPowerOnResetOrBusDeviceResetOccurred}, lu.PendingUnitAttentions(nexusA)); diff != "" {
		t.Fatalf("pending (-want +got):\n%s", diff)
	}
	// An unsupported opcode reports the UA first.
	wantSense(t, first(run(lu, nexusA, []byte{0xff, 0, 0, 0, 0, 0}, nil, 0)), scsi.SenseUnitAttention, scsi.ASCPowerOnResetOrBusDeviceResetOccurred, "unknown op")
	mustGood(t, first(run(lu, nexusA, cdbTUR(), nil, 0)), "TUR after UA")

	// REQUEST SENSE returns and clears the UA, in the format DESC asks.
	r, d := run(lu, nexusB, []byte{0x03, 0, 0, 0, 252, 0}, nil, 252)
	mustGood(t, r, "request sense")
	s, err := scsi.ParseSense(d)
	if err != nil || s.Key != scsi.SenseUnitAttention || s.Code != scsi.ASCPowerOnResetOrBusDeviceResetOccurred || d[0] != 0x70 {
		t.Fatalf("REQUEST SENSE data % x: %v %v", d, s, err)
	}
	r, d = run(lu, nexusB, []byte{0x03, 1, 0, 0, 252, 0}, nil, 252)
	mustGood(t, r, "request sense desc")
	if s, err := scsi.ParseSense(d); err != nil || s.Key != scsi.SenseNoSense || d[0] != 0x72 {
		t.Fatalf("REQUEST SENSE (DESC) after clearing % x: %v %v", d, s, err)
	}

	lu.CapacityChanged()
	lu.Reset(LogicalUnitReset)
	wantSense(t, first(run(lu, nexusA, cdbTUR(), nil, 0)), scsi.SenseUnitAttention, scsi.ASCBusDeviceResetFunctionOccurred, "after reset")
	mustGood(t, first(run(lu, nexusA, cdbTUR(), nil, 0)), "reset clears older UAs")
	lu.CapacityChanged()
	lu.InquiryDataChanged()
	wantSense(t, first(run(lu, nexusA, cdbTUR(), nil, 0)), scsi.SenseUnitAttention, scsi.ASCCapacityDataHasChanged, "capacity")
	wantSense(t, first(run(lu, nexusA, cdbTUR(), nil, 0)), scsi.SenseUnitAttention, scsi.ASCInquiryDataHasChanged, "inquiry data")
	lu.Reset(TargetReset)
	wantSense(t, first(run(lu, nexusA, cdbTUR(), nil, 0)), scsi.SenseUnitAttention, scsi.ASCPowerOnResetOrBusDeviceResetOccurred, "target reset")

	// I_T nexus loss forgets the nexus: it sees power-on again.
	lu.ITNexusLoss(nexusA)
	wantSense(t, first(run(lu, nexusA, cdbTUR(), nil, 0)), scsi.SenseUnitAttention, scsi.ASCPowerOnResetOrBusDeviceResetOccurred, "after nexus loss")

	// A cancelled context aborts.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if r := lu.Execute(ctx, &Request{Nexus: nexusA, CDB: cdbTUR()}); r.Status != scsi.StatusTaskAborted {
		t.Fatalf("cancelled context: %v", r.Status)
	}
}

func TestDescriptorSense(t *testing.T) {
	lu := newLU(t, 1<<20, Config{})
	ready(t, lu, nexusA)
	r, cur := run(lu, nexusA, cdbModeSense10(true, false, 0, pageControl, 0, 255), nil, 255)
	mustGood(t, r, "mode sense control")
	sel := append([]byte(nil), cur...)
	sel[0], sel[1] = 0, 0
	sel[8+2] |= 0x04 // D_SENSE
	mustGood(t, first(run(lu, nexusA, cdbModeSelect10(len(sel)), sel, 0)), "mode select D_SENSE")
	r, _ = run(lu, nexusA, cdbRW(scsi.OpRead10, 4096, 1, 0), nil, 512)
	if !r.DescriptorSense {
		t.Fatal("D_SENSE=1 but the response is fixed format")
	}
	b := r.AppendSense(nil)
	s, err := scsi.ParseSense(b)
	if err != nil || b[0] != 0x72 || s.Code != scsi.ASCLBAOutOfRange || s.Information != 4096 {
		t.Fatalf("descriptor sense % x: %v %v", b, s, err)
	}
	good := Response{Status: scsi.StatusGood}
	if len(good.AppendSense(nil)) != 0 {
		t.Fatal("AppendSense of GOOD appended bytes")
	}
}

func TestInquiry(t *testing.T) {
	lu := newLU(t, 1<<20, Config{Vendor: "ACME", Product: "Anvil", Revision: "1.2", SerialNumber: "SN0042", Removable: true, ThinProvisioning: true})
	r, d := run(lu, nexusA, cdbInquiry(false, 0, 255), nil, 255)
	mustGood(t, r, "standard inquiry")
	if d[0] != 0 || d[1] != 0x80 || d[2] != 6 || d[3]&0x0f != 2 || int(d[4]) != len(d)-5 || d[7]&0x02 == 0 {
		t.Fatalf("standard inquiry header % x", d[:8])
	}
	if got := string(d[8:36]); got != "ACME    Anvil           1.2 " {
		t.Fatalf("identification %q", got)
	}
	r, _ = run(lu, nexusA, cdbInquiry(false, 0, 5), nil, 255)
	if r.DataInLen != 5 {
		t.Fatalf("allocation length 5 returned %d bytes", r.DataInLen)
	}
	_, d = run(lu, nexusA, cdbInquiry(true, 0x00, 255), nil, 255)
	if diff := cmp.Diff([]byte{0, 0, 0, 7, 0x00, 0x80, 0x83, 0x8f, 0xb0, 0xb1, 0xb2}, d); diff != "" {
		t.Fatalf("supported VPD pages (-want +got):\n%s", diff)
	}
	_, d = run(lu, nexusA, cdbInquiry(true, 0x80, 255), nil, 255)
	if diff := cmp.Diff(append([]byte{0, 0x80, 0, 6}, "SN0042"...), d); diff != "" {
		t.Fatalf("unit serial number (-want +got):\n%s", diff)
	}
	_, d = run(lu, nexusA, cdbInquiry(true, 0x83, 1024), nil, 1024)
	type desig struct {
		CodeSet, Assoc, Type byte
		PIV                  bool
		ID                   string
	}
	var got []desig
	for p := d[4:]; len(p) >= 4; p = p[4+int(p[3]):] {
		got = append(got, desig{p[0] & 0x0f, (p[1] >> 4) & 3, p[1] & 0x0f, p[1]&0x80 != 0, string(p[4 : 4+int(p[3])])})
	}
	naa := lu.Config().NAA
	want := []desig{
		{1, 0, 3, false, string(naa[:])},
		{2, 0, 1, false, "ACME    Anvil:SN0042"},
		{3, 1, 8, true, "iqn.2024-01.test:t,t,0x1\x00\x00\x00\x00"},
		{1, 1, 4, true, "\x00\x00\x00\x01"},
		{1, 1, 5, true, "\x00\x00\x00\x01"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("device identification (-want +got):\n%s", diff)
	}
	if naa[0]>>4 != 6 || binary.BigEndian.Uint32(naa[0:])>>4&0xffffff != 0x001405 {
		t.Fatalf("derived NAA % x", naa)
	}
	_, d = run(lu, nexusA, cdbInquiry(true, 0xb0, 255), nil, 255)
	c := lu.Config()
	if len(d) != 64 || d[4]&1 != 0 || d[5] != c.MaxCompareAndWriteLength ||
		binary.BigEndian.Uint32(d[8:]) != c.MaxTransferLength ||
		binary.BigEndian.Uint32(d[20:]) != c.MaxUnmapLBACount ||
		binary.BigEndian.Uint32(d[24:]) != c.MaxUnmapBlockDescriptorCount ||
		binary.BigEndian.Uint64(d[36:]) != c.MaxWriteSameLength ||
		binary.BigEndian.Uint32(d[44:]) != c.MaxAtomicTransferLength {
		t.Fatalf("block limits % x", d)
	}
	_, d = run(lu, nexusA, cdbInquiry(true, 0xb1, 255), nil, 255)
	if len(d) != 64 || binary.BigEndian.Uint16(d[4:]) != 1 {
		t.Fatalf("block device characteristics % x", d)
	}
	_, d = run(lu, nexusA, cdbInquiry(true, 0xb2, 255), nil, 255)
	if diff := cmp.Diff([]byte{0, 0xb2, 0, 4, 0, 0xe4, 0x02, 0}, d); diff != "" {
		t.Fatalf("logical block provisioning (-want +got):\n%s", diff)
	}
	r, _ = run(lu, nexusA, cdbInquiry(true, 0x86, 255), nil, 255)
	wantSense(t, r, scsi.SenseIllegalRequest, scsi.ASCInvalidFieldInCDB, "unknown VPD page")
	if diff := cmp.Diff(scsi.FieldPointer(true, 2, -1), r.Sense.SenseKeySpecific); diff != "" {
		t.Fatalf("field pointer (-want +got):\n%s", diff)
	}
	wantSense(t, first(run(lu, nexusA, cdbInquiry(false, 0x80, 255), nil, 255)), scsi.SenseIllegalRequest, scsi.ASCInvalidFieldInCDB, "page without EVPD")
	r, _ = run(lu, nexusA, []byte{0x12, 0x02, 0, 0, 255, 0}, nil, 255)
	if r.Sense.SenseKeySpecific != scsi.FieldPointer(true, 1, 1) {
		t.Fatalf("CMDDT: %v", r.Sense)
	}
}

func TestModeSense(t *testing.T) {
	lu := newLU(t, 1<<20, Config{ReadOnly: true})
	ready(t, lu, nexusA)
	r, d := run(lu, nexusA, cdbModeSense10(false, false, 0, pageAll, 0, 1024), nil, 1024)
	mustGood(t, r, "mode sense all")
	if int(binary.BigEndian.Uint16(d))+2 != len(d) || d[3] != 0x90 || binary.BigEndian.Uint16(d[6:]) != 8 {
		t.Fatalf("mode parameter header % x", d[:8])
	}
	if blocks := binary.BigEndian.Uint32(d[8:]); blocks != 2048 || d[15] != 0 || d[14] != 2 {
		t.Fatalf("block descriptor % x", d[8:16])
	}
	var codes []byte
	for p := d[16:]; len(p) >= 2; p = p[2+int(p[1]):] {
		codes = append(codes, p[0])
	}
	if diff := cmp.Diff([]byte{0x01, 0x08, 0x0a, 0x1c}, codes); diff != "" {
		t.Fatalf("pages (-want +got):\n%s", diff)
	}
	// MODE SENSE(6), DBD, one page, the changeable values.
	r, d = run(lu, nexusA, []byte{0x1a, 0x08, 1<<6 | pageControl, 0, 255, 0}, nil, 255)
	mustGood(t, r, "mode sense 6 changeable")
	if diff := cmp.Diff([]byte{15, 0, 0x90, 0, 0x0a, 10, 0x04, 0, 0x08, 0, 0, 0, 0, 0, 0, 0}, d); diff != "" {
		t.Fatalf("changeable control page (-want +got):\n%s", diff)
	}
	// LLBAA: long block descriptor.
	_, d = run(lu, nexusA, cdbModeSense10(false, true, 2, pageCaching, 0, 255), nil, 255)
	if d[4]&1 != 1 || binary.BigEndian.Uint16(d[6:]) != 16 || binary.BigEndian.Uint64(d[8:]) != 2048 || binary.BigEndian.Uint32(d[20:]) != 512 {
		t.Fatalf("long LBA mode sense % x", d[:24])
	}
	// Allocation length truncates but MODE DATA LENGTH is the full length.
	r, d = run(lu, nexusA, cdbModeSense10(false, false, 0, pageAll, 0, 10), nil, 1024)
	if r.DataInLen != 10 || binary.BigEndian.Uint16(d) < 60 {
		t.Fatalf("truncated: %d bytes, mode data length %d", r.DataInLen, binary.BigEndian.Uint16(d))
	}
	wantSense(t, first(run(lu, nexusA, cdbModeSense10(true, false, 3, pageCaching, 0, 255), nil, 255)), scsi.SenseIllegalRequest, scsi.ASCSavingParametersNotSupported, "saved values")
	r, _ = run(lu, nexusA, cdbModeSense10(true, false, 0, 0x19, 0, 255), nil, 255)
	if r.Sense.Code != scsi.ASCInvalidFieldInCDB || r.Sense.SenseKeySpecific != scsi.FieldPointer(true, 2, 5) {
		t.Fatalf("unknown page: %v", r.Sense)
	}
	wantSense(t, first(run(lu, nexusA, cdbModeSense10(true, false, 0, pageCaching, 1, 255), nil, 255)), scsi.SenseIllegalRequest, scsi.ASCInvalidFieldInCDB, "subpage")
	mustGood(t, first(run(lu, nexusA, cdbModeSense10(true, false, 0, pageAll, 0xff, 255), nil, 255)), "all pages and subpages")
}

func TestModeSelectErrors(t *testing.T) {
	lu := newLU(t, 1<<20, Config{})
	ready(t, lu, nexusA, nexusB)
	_, cur := run(lu, nexusA, cdbModeSense10(false, false, 0, pageAll, 0, 1024), nil, 1024)
	base := append([]byte(nil), cur...)
	base[0], base[1], base[3] = 0, 0, 0
	// Unchanged parameters are accepted and raise no unit attention.
	mustGood(t, first(run(lu, nexusA, cdbModeSelect10(len(base)), base, 0)), "unchanged")
	mustGood(t, first(run(lu, nexusB, cdbTUR(), nil, 0)), "no UA for unchanged")
	mod := func(f func(p []byte) []byte) []byte { return f(append([]byte(nil), base...)) }
	// Page offsets: header 8, descriptor 8, then 01h (12), 08h (20), 0Ah (12), 1Ch (12).
	const caching, control = 8 + 8 + 12, 8 + 8 + 12 + 20
	for _, tc := range []struct {
		name string
		cdb  []byte
		p    []byte
		want scsi.Sense
	}{
		{"saving", []byte{0x55, 0x11, 0, 0, 0, 0, 0, 0, 8, 0}, make([]byte, 8), scsi.NewSense(scsi.SenseIllegalRequest, scsi.ASCSavingParametersNotSupported)},
		{"short header", cdbModeSelect10(4), make([]byte, 4), scsi.NewSense(scsi.SenseIllegalRequest, scsi.ASCParameterListLengthError)},
		{"not changeable bit", nil, mod(func(p []byte) []byte { p[caching+2] |= 0x01; return p }), scsi.InvalidFieldInParameterList(caching+2, 0)},
		{"page length", nil, mod(func(p []byte) []byte { p[control+1] = 9; return p }), scsi.InvalidFieldInParameterList(control+1, -1)},
		{"unknown page", nil, mod(func(p []byte) []byte { p[control] = 0x19; return p }), scsi.InvalidFieldInParameterList(control, 5)},
		{"PS bit", nil, mod(func(p []byte) []byte { p[control] |= 0x80; return p }), scsi.InvalidFieldInParameterList(control, 7)},
		{"block length", nil, mod(func(p []byte) []byte { p[8+6] = 0x10; return p }), scsi.InvalidFieldInParameterList(8+5, -1)},
		{"truncated page", nil, mod(func(p []byte) []byte { return p[:len(p)-3] }), scsi.NewSense(scsi.SenseIllegalRequest, scsi.ASCParameterListLengthError)},
		{"short data-out", cdbModeSelect10(200), base, scsi.NewSense(scsi.SenseIllegalRequest, scsi.ASCInvalidFieldInCommandInformationUnit)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cdb := tc.cdb
			if cdb == nil {
				cdb = cdbModeSelect10(len(tc.p))
			}
			r, _ := run(lu, nexusA, cdb, tc.p, 0)
			if diff := cmp.Diff(tc.want, r.Sense); r.Status != scsi.StatusCheckCondition || diff != "" {
				t.Fatalf("status %v (-want +got):\n%s", r.Status, diff)
			}
		})
	}
	// MODE SELECT(6) changing D_SENSE.
	_, cur6 := run(lu, nexusA, []byte{0x1a, 0x08, pageControl, 0, 255, 0}, nil, 255)
	cur6[0] = 0
	cur6[4+2] |= 0x04
	mustGood(t, first(run(lu, nexusA, []byte{0x15, 0x10, 0, 0, byte(len(cur6)), 0}, cur6, 0)), "mode select 6")
	if !lu.mode.dsense.Load() {
		t.Fatal("MODE SELECT(6) did not set D_SENSE")
	}
	// SWP write-protects the medium and shows as WP.
	cur6[4+2] &^= 0x04
	cur6[4+4] |= 0x08
	mustGood(t, first(run(lu, nexusA, []byte{0x15, 0x10, 0, 0, byte(len(cur6)), 0}, cur6, 0)), "mode select SWP")
	wantSense(t, first(run(lu, nexusA, cdbRW(scsi.OpWrite10, 0, 1, 0), make([]byte, 512), 0)), scsi.SenseDataProtect, scsi.ASCLogicalUnitSoftwareWriteProtected, "write with SWP")
	mustGood(t, first(run(lu, nexusA, cdbRW(scsi.OpRead10, 0, 1, 0), nil, 512)), "read with SWP")
	_, d := run(lu, nexusA, []byte{0x1a, 0x08, pageControl, 0, 255, 0}, nil, 255)
	if d[2]&0x80 == 0 || d[4+4]&0x08 == 0 {
		t.Fatalf("WP/SWP not reported: % x", d)
	}
	lu.Reset(LogicalUnitReset)
	wantSense(t, first(run(lu, nexusA, cdbTUR(), nil, 0)), scsi.SenseUnitAttention, scsi.ASCBusDeviceResetFunctionOccurred, "after reset")
	mustGood(t, first(run(lu, nexusA, cdbRW(scsi.OpWrite10, 0, 1, 0), make([]byte, 512), 0)), "write after reset clears SWP")
}

// TestDefaultMaxTransferLength checks the default MAXIMUM TRANSFER LENGTH
// of the Block Limits page (SBC-4 §6.6.3): 32 MiB worth of blocks, so
// that a 65536-block WRITE SAME(16) or READ of 512-byte blocks fits one
// command (libiscsi's WriteSame16.Unmap), and that a READ of that length
// is accepted and one block more is not.
func TestDefaultMaxTransferLength(t *testing.T) {
	for _, tc := range []struct{ bs, want int }{{512, 65536}, {4096, 8192}} {
		lu := newLU(t, int64(tc.want+1)*int64(tc.bs), Config{BlockSize: tc.bs, ThinProvisioning: true})
		ready(t, lu, nexusA)
		_, d := run(lu, nexusA, cdbInquiry(true, 0xb0, 64), nil, 64)
		if got := binary.BigEndian.Uint32(d[8:]); got != uint32(tc.want) {
			t.Errorf("block size %d: MAXIMUM TRANSFER LENGTH %d, want %d", tc.bs, got, tc.want)
		}
		mustGood(t, first(run(lu, nexusA, cdbRW(scsi.OpRead16, 0, uint32(tc.want), 0), nil, tc.want*tc.bs)), "read of the maximum")
		wantSense(t, first(run(lu, nexusA, cdbRW(scsi.OpRead16, 0, uint32(tc.want)+1, 0), nil, 0)), scsi.SenseIllegalRequest, scsi.ASCInvalidFieldInCDB, "read over the maximum")
	}
}
