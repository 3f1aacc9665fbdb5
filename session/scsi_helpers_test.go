package session

import (
	"bytes"
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/go-iscsi/iscsi/scsi"
	"github.com/go-iscsi/iscsi/scsi/disk"
)

// scriptedExecutor answers each command with the next of its replies and
// records the CDBs it was given.
type scriptedExecutor struct {
	replies []func(cmd *Command) *Response
	cdbs    [][]byte
}

func (x *scriptedExecutor) Execute(_ context.Context, cmd *Command) (*Response, error) {
	x.cdbs = append(x.cdbs, slices.Clone(cmd.CDB))
	if len(x.replies) == 0 {
		return nil, errors.New("no reply scripted")
	}
	r := x.replies[0]
	if len(x.replies) > 1 {
		x.replies = x.replies[1:]
	}
	return r(cmd), nil
}

func checkCondition(s scsi.Sense) func(*Command) *Response {
	return func(*Command) *Response { return &Response{Status: scsi.StatusCheckCondition, Sense: &s} }
}

func respondGood(data []byte) func(*Command) *Response {
	return func(cmd *Command) *Response {
		n := copy(cmd.DataIn, data)
		return &Response{Status: scsi.StatusGood, DataInLength: n}
	}
}

func TestSCSIHelpersAgainstTarget(t *testing.T) {
	s := dialTest(t, serveLoopback(t, newTestServer(t, nil)), Options{})
	ctx := context.Background()

	inq, err := Inquiry(ctx, s, scsi.LUN{})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"GOISCSI", "VIRTUAL-DISK", "0001"}, []string{inq.VendorID, inq.ProductID, inq.ProductRevision}); diff != "" {
		t.Errorf("INQUIRY identification (-want +got):\n%s", diff)
	}
	if inq.PeripheralDeviceType != scsi.DeviceTypeDirectAccess {
		t.Errorf("PERIPHERAL DEVICE TYPE = %#x", inq.PeripheralDeviceType)
	}

	pages, err := SupportedVPDPages(ctx, s, scsi.LUN{})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []uint8{0x00, 0x80, 0x83, 0xb0} {
		if !slices.Contains(slices.Collect(pages.All()), p) {
			t.Errorf("Supported VPD Pages %x lacks 0x%02x", []byte(pages), p)
		}
	}
	sn, err := UnitSerialNumber(ctx, s, scsi.LUN{})
	if err != nil || sn != "SESSION0" {
		t.Errorf("UnitSerialNumber = %q, %v; want SESSION0", sn, err)
	}
	id, err := DeviceIdentification(ctx, s, scsi.LUN{})
	if err != nil || len(id) == 0 {
		t.Errorf("DeviceIdentification = %v, %v; want designators", id, err)
	}

	rc, err := ReadCapacity(ctx, s, scsi.LUN{})
	if err != nil {
		t.Fatal(err)
	}
	if rc.LastLBA != testBlocks-1 || rc.BlockLength != 512 {
		t.Errorf("ReadCapacity = last LBA %d, %d bytes; want %d, 512", rc.LastLBA, rc.BlockLength, testBlocks-1)
	}

	luns, err := ReportLUNs(ctx, s)
	if err != nil {
		t.Fatal(err)
	}
	l1, _ := scsi.EncodeLUN(1)
	if diff := cmp.Diff([]scsi.LUN{{}, l1}, luns); diff != "" {
		t.Errorf("ReportLUNs (-want +got):\n%s", diff)
	}

	// LUN 1 reports its own power-on unit attention first.
	if err := TestUnitReady(ctx, s, l1); err != nil {
		t.Fatalf("TestUnitReady: %v", err)
	}
	data := make([]byte, 4096)
	for i := range data {
		data[i] = byte(i*13 + 1)
	}
	if err := Write(ctx, s, l1, 100, 512, data); err != nil {
		t.Fatal(err)
	}
	got := make([]byte, len(data))
	if err := Read(ctx, s, l1, 100, 512, got); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, data) {
		t.Error("Read after Write returned other bytes")
	}
	if err := Write(ctx, s, l1, 0, 512, data[:100]); !errors.Is(err, ErrOptions) {
		t.Errorf("Write of a partial block: %v, want ErrOptions", err)
	}
	if err := SynchronizeCache(ctx, s, l1); err != nil {
		t.Errorf("SynchronizeCache: %v", err)
	}
	if err := TestUnitReady(ctx, s, l1); err != nil {
		t.Errorf("TestUnitReady: %v", err)
	}

	// A read past the last block ends in CHECK CONDITION, ILLEGAL
	// REQUEST, LOGICAL BLOCK ADDRESS OUT OF RANGE (SBC-4 §4.5).
	err = Read(ctx, s, l1, testBlocks, 512, got[:512])
	var se *StatusError
	if !errors.As(err, &se) || se.Status != scsi.StatusCheckCondition || se.Op != scsi.OpRead10 {
		t.Fatalf("Read past the end: %v, want a CHECK CONDITION *StatusError of READ(10)", err)
	}
	sense, ok := scsi.SenseOf(err)
	if !ok || sense.Key != scsi.SenseIllegalRequest || sense.Code != scsi.NewASC(0x21, 0x00) {
		t.Errorf("sense of a read past the end = %v, %v", sense, ok)
	}
}

func TestBlockLimitsHelper(t *testing.T) {
	lu, err := disk.New(disk.NewMemory(1<<20), disk.Config{MaxTransferLength: 1234, OptimalTransferLength: 64})
	if err != nil {
		t.Fatal(err)
	}
	srv := &Server{Targets: []Target{{Name: testTarget, LUNs: map[scsi.LUN]LogicalUnit{{}: lu}}}}
	s := dialTest(t, serveLoopback(t, srv), Options{})
	bl, err := BlockLimits(context.Background(), s, scsi.LUN{})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]uint32{1234, 64}, []uint32{bl.MaxTransferLength, bl.OptimalTransferLength}); diff != "" {
		t.Errorf("BlockLimits MAXIMUM and OPTIMAL TRANSFER LENGTH (-want +got):\n%s", diff)
	}
}

func TestUnmapHelper(t *testing.T) {
	lu, err := disk.New(disk.NewMemory(1<<20), disk.Config{ThinProvisioning: true})
	if err != nil {
		t.Fatal(err)
	}
	srv := &Server{Targets: []Target{{Name: testTarget, LUNs: map[scsi.LUN]LogicalUnit{{}: lu}}}}
	s := dialTest(t, serveLoopback(t, srv), Options{})
	ctx := context.Background()
	data := bytes.Repeat([]byte{0xa5}, 8*512)
	if err := Write(ctx, s, scsi.LUN{}, 16, 512, data); err != nil {
		t.Fatal(err)
	}
	if err := Unmap(ctx, s, scsi.LUN{}, []scsi.UnmapBlockDescriptor{{LBA: 18, NumberOfBlocks: 4}}); err != nil {
		t.Fatal(err)
	}
	got := make([]byte, len(data))
	if err := Read(ctx, s, scsi.LUN{}, 16, 512, got); err != nil {
		t.Fatal(err)
	}
	want := slices.Clone(data)
	clear(want[2*512 : 6*512])
	if !bytes.Equal(got, want) {
		t.Error("blocks 18-21 do not read as zeros after UNMAP, or others changed")
	}
}

func TestReadWriteCDBChoice(t *testing.T) {
	tests := []struct {
		name   string
		write  bool
		lba    uint64
		blocks uint32
		want   scsi.OpCode
	}{
		{"read small", false, 0, 1, scsi.OpRead10},
		{"read 65535 blocks", false, 0, 0xffff, scsi.OpRead10},
		{"read 65536 blocks", false, 0, 0x10000, scsi.OpRead16},
		{"read last 32-bit block", false, 0xffffffff, 1, scsi.OpRead10},
		{"read crossing 2^32", false, 0xffffffff, 2, scsi.OpRead16},
		{"read beyond 2^32", false, 1 << 32, 1, scsi.OpRead16},
		{"write small", true, 7, 8, scsi.OpWrite10},
		{"write beyond 2^32", true, 1 << 40, 8, scsi.OpWrite16},
		{"write long", true, 0, 1 << 20, scsi.OpWrite16},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			x := &scriptedExecutor{replies: []func(*Command) *Response{respondGood(nil)}}
			buf := make([]byte, int(tc.blocks)*8)
			var err error
			if tc.write {
				err = Write(context.Background(), x, scsi.LUN{}, tc.lba, 8, buf)
			} else {
				// The reply carries no data: a short transfer.
				err = Read(context.Background(), x, scsi.LUN{}, tc.lba, 8, buf)
				if !errors.Is(err, ErrShortTransfer) {
					t.Errorf("Read with no data returned: %v, want ErrShortTransfer", err)
				}
			}
			if tc.write && err != nil {
				t.Fatal(err)
			}
			rw, err := scsi.ParseReadWrite(x.cdbs[0])
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(scsi.ReadWrite{Op: tc.want, LBA: tc.lba, TransferLength: tc.blocks}, rw); diff != "" {
				t.Errorf("CDB (-want +got):\n%s", diff)
			}
		})
	}
}

func TestReadCapacityFallback(t *testing.T) {
	rc10 := scsi.NewReadCapacity10Data(2047, 4096).Append(nil)
	rc16, err := scsi.ReadCapacity16Data{LastLBA: 1 << 33, BlockLength: 512, LBPME: true}.Append(nil)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		replies []func(*Command) *Response
		want    scsi.ReadCapacity16Data
		ops     []byte
		wantErr scsi.SenseKey
	}{
		{"16 answered", []func(*Command) *Response{respondGood(rc16)}, scsi.ReadCapacity16Data{LastLBA: 1 << 33, BlockLength: 512, LBPME: true}, []byte{0x9e}, 0},
		{"16 rejected, 10 answered", []func(*Command) *Response{
			checkCondition(scsi.NewSense(scsi.SenseIllegalRequest, scsi.ASCInvalidCommandOperationCode)), respondGood(rc10),
		}, scsi.ReadCapacity16Data{LastLBA: 2047, BlockLength: 4096}, []byte{0x9e, 0x25}, 0},
		{"not ready is not retried with 10", []func(*Command) *Response{
			checkCondition(scsi.NewSense(scsi.SenseNotReady, scsi.NewASC(0x3a, 0))),
		}, scsi.ReadCapacity16Data{}, []byte{0x9e}, scsi.SenseNotReady},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			x := &scriptedExecutor{replies: tc.replies}
			got, err := ReadCapacity(context.Background(), x, scsi.LUN{})
			if tc.wantErr != 0 {
				if !senseKeyIs(err, tc.wantErr) {
					t.Errorf("error %v, want sense key %v", err, tc.wantErr)
				}
			} else if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("ReadCapacity (-want +got):\n%s", diff)
			}
			var ops []byte
			for _, c := range x.cdbs {
				ops = append(ops, c[0])
			}
			if diff := cmp.Diff(tc.ops, ops); diff != "" {
				t.Errorf("operation codes sent (-want +got):\n%s", diff)
			}
		})
	}
}

func TestTestUnitReadyUnitAttention(t *testing.T) {
	ua := checkCondition(scsi.NewSense(scsi.SenseUnitAttention, scsi.ASCPowerOnResetOrBusDeviceResetOccurred))
	tests := []struct {
		name    string
		replies []func(*Command) *Response
		sent    int
		wantKey scsi.SenseKey // 0: success
	}{
		{"ready", []func(*Command) *Response{respondGood(nil)}, 1, 0},
		{"two unit attentions", []func(*Command) *Response{ua, ua, respondGood(nil)}, 3, 0},
		{"unit attention forever", []func(*Command) *Response{ua}, MaxUnitAttentions + 1, scsi.SenseUnitAttention},
		{"not ready", []func(*Command) *Response{ua, checkCondition(scsi.NewSense(scsi.SenseNotReady, scsi.NewASC(0x04, 0x01)))}, 2, scsi.SenseNotReady},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			x := &scriptedExecutor{replies: tc.replies}
			err := TestUnitReady(context.Background(), x, scsi.LUN{})
			if tc.wantKey == 0 && err != nil {
				t.Errorf("TestUnitReady: %v", err)
			}
			if tc.wantKey != 0 && !senseKeyIs(err, tc.wantKey) {
				t.Errorf("TestUnitReady: %v, want sense key %v", err, tc.wantKey)
			}
			if len(x.cdbs) != tc.sent {
				t.Errorf("%d commands sent, want %d", len(x.cdbs), tc.sent)
			}
		})
	}
}

func TestStatusErrorText(t *testing.T) {
	s := scsi.LBAOutOfRange(9)
	tests := []struct {
		err  *StatusError
		want string
	}{
		{&StatusError{Op: scsi.OpRead10, Status: scsi.StatusCheckCondition, Sense: &s}, "iscsi: READ(10): CHECK CONDITION: " + s.Error()},
		{&StatusError{Op: scsi.OpWrite16, Status: scsi.StatusBusy}, "iscsi: WRITE(16): BUSY"},
	}
	for _, tc := range tests {
		if got := tc.err.Error(); got != tc.want {
			t.Errorf("Error() = %q, want %q", got, tc.want)
		}
	}
}

// TestLongDataReadAgain checks that a VPD page or a LUN list longer than
// the first allocation length is read again with one large enough.
func TestLongDataReadAgain(t *testing.T) {
	// A Device Identification page of 100 vendor specific designators of
	// 20 bytes: 2400 bytes of body.
	var ids scsi.DeviceIdentification
	for i := range 100 {
		ids = append(ids, scsi.T10VendorIDDesignator("VENDOR", strings.Repeat(string(rune('a'+i%26)), 4)))
	}
	page, err := scsi.AppendVPD(nil, 0, ids)
	if err != nil {
		t.Fatal(err)
	}
	x := &scriptedExecutor{replies: []func(*Command) *Response{respondGood(page)}}
	got, err := DeviceIdentification(context.Background(), x, scsi.LUN{})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 100 {
		t.Errorf("%d designators, want 100", len(got))
	}
	var allocs []uint16
	for _, c := range x.cdbs {
		inq, err := scsi.ParseInquiry(c)
		if err != nil {
			t.Fatal(err)
		}
		allocs = append(allocs, inq.AllocationLength)
	}
	if diff := cmp.Diff([]uint16{1024, uint16(len(page))}, allocs); diff != "" {
		t.Errorf("INQUIRY allocation lengths (-want +got):\n%s", diff)
	}

	luns := make([]scsi.LUN, 100)
	for i := range luns {
		luns[i], _ = scsi.EncodeLUN(uint16(i))
	}
	list := scsi.AppendReportLUNsData(nil, luns)
	x = &scriptedExecutor{replies: []func(*Command) *Response{respondGood(list)}}
	gotLUNs, err := ReportLUNs(context.Background(), x)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(luns, gotLUNs); diff != "" {
		t.Errorf("ReportLUNs (-want +got):\n%s", diff)
	}
	if len(x.cdbs) != 2 {
		t.Errorf("%d REPORT LUNS sent, want 2", len(x.cdbs))
	}
}
