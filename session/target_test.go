package session

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"math/rand/v2"
	"net"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/go-iscsi/iscsi/login"
	"github.com/go-iscsi/iscsi/pdu"
	"github.com/go-iscsi/iscsi/scsi"
)

func cdbInquiry(evpd bool, page uint8, alloc uint16) []byte {
	c := []byte{byte(scsi.OpInquiry), 0, page, byte(alloc >> 8), byte(alloc), 0}
	if evpd {
		c[1] = 1
	}
	return c
}

func cdbRW10(op scsi.OpCode, lba uint32, blocks uint16) []byte {
	c := make([]byte, 10)
	c[0] = byte(op)
	binary.BigEndian.PutUint32(c[2:], lba)
	binary.BigEndian.PutUint16(c[7:], blocks)
	return c
}

func cdbReportLUNs(alloc uint32) []byte {
	c := make([]byte, 12)
	c[0] = byte(scsi.OpReportLUNs)
	binary.BigEndian.PutUint32(c[6:], alloc)
	return c
}

var cdbTestUnitReady = make([]byte, 6)

func isid(n uint16) pdu.ISID { return pdu.NewISID(pdu.ISIDRandom, 1, n, 2, 3) }

func TestInquiry(t *testing.T) {
	srv := newTestServer(t, nil)
	in := dial(t, srv, nil, isid(1))
	res := in.command(lunOf(0), cdbInquiry(false, 0, 96), 96, true, nil)
	if res.Status != scsi.StatusGood || !res.StatusInLastData {
		t.Fatalf("INQUIRY: %+v", res)
	}
	d, err := scsi.ParseInquiryData(res.Data)
	if err != nil {
		t.Fatal(err)
	}
	if d.PeripheralQualifier != 0 || d.PeripheralDeviceType != 0 || d.VendorID != "GOISCSI" {
		t.Errorf("INQUIRY data %+v", d)
	}
	in.logout()
}

func TestLUNs(t *testing.T) {
	srv := newTestServer(t, nil)
	in := dial(t, srv, nil, isid(2))
	// A pending POWER ON unit attention does not stop INQUIRY or REPORT
	// LUNS; clear LUN 0's with TEST UNIT READY first.
	in.command(lunOf(0), cdbTestUnitReady, 0, false, nil)

	tests := []struct {
		name   string
		lun    uint16
		cdb    []byte
		edtl   uint32
		status scsi.Status
		sense  scsi.ASC
		data   []byte
	}{
		{name: "REPORT LUNS lists both", lun: 0, cdb: cdbReportLUNs(64), edtl: 64,
			data: scsi.AppendReportLUNsData(nil, []scsi.LUN{scsi.LUNFromUint64(lunOf(0)), scsi.LUNFromUint64(lunOf(1))})},
		{name: "REPORT LUNS to a LUN that does not exist", lun: 7, cdb: cdbReportLUNs(64), edtl: 64,
			data: scsi.AppendReportLUNsData(nil, []scsi.LUN{scsi.LUNFromUint64(lunOf(0)), scsi.LUNFromUint64(lunOf(1))})},
		{name: "REPORT LUNS truncated", lun: 0, cdb: cdbReportLUNs(16), edtl: 16,
			data: scsi.AppendReportLUNsData(nil, []scsi.LUN{scsi.LUNFromUint64(lunOf(0)), scsi.LUNFromUint64(lunOf(1))})[:16]},
		{name: "REPORT LUNS allocation length below 16", lun: 0, cdb: cdbReportLUNs(8), edtl: 8,
			status: scsi.StatusCheckCondition, sense: scsi.ASCInvalidFieldInCDB},
		{name: "REPORT LUNS bad SELECT REPORT", lun: 0, cdb: append(cdbReportLUNs(64)[:2:2], append([]byte{0x7f}, cdbReportLUNs(64)[3:]...)...), edtl: 64,
			status: scsi.StatusCheckCondition, sense: scsi.ASCInvalidFieldInCDB},
		{name: "TEST UNIT READY to a LUN that does not exist", lun: 7, cdb: cdbTestUnitReady,
			status: scsi.StatusCheckCondition, sense: scsi.ASCLogicalUnitNotSupported},
		{name: "INQUIRY EVPD to a LUN that does not exist", lun: 7, cdb: cdbInquiry(true, 0, 64), edtl: 64,
			status: scsi.StatusCheckCondition, sense: scsi.ASCLogicalUnitNotSupported},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := in.command(lunOf(tt.lun), tt.cdb, tt.edtl, tt.edtl > 0, nil)
			if res.Status != tt.status {
				t.Fatalf("status %v, want %v", res.Status, tt.status)
			}
			if tt.status == scsi.StatusCheckCondition {
				s := senseKeyOf(t, res.Sense)
				if s.Key != scsi.SenseIllegalRequest || s.Code != tt.sense {
					t.Errorf("sense %v, want ILLEGAL REQUEST %v", s, tt.sense)
				}
				return
			}
			if diff := cmp.Diff(tt.data, res.Data); diff != "" {
				t.Errorf("data (-want +got):\n%s", diff)
			}
		})
	}

	t.Run("INQUIRY to a LUN that does not exist", func(t *testing.T) {
		res := in.command(lunOf(7), cdbInquiry(false, 0, 255), 255, true, nil)
		d, err := scsi.ParseInquiryData(res.Data)
		if err != nil {
			t.Fatal(err)
		}
		if res.Status != scsi.StatusGood || d.PeripheralQualifier != 3 || d.PeripheralDeviceType != 0x1f {
			t.Errorf("status %v, qualifier %d, type %#x", res.Status, d.PeripheralQualifier, d.PeripheralDeviceType)
		}
		if !res.Underflow || res.Residual != 255-36 {
			t.Errorf("residual underflow %v %d, want 219", res.Underflow, res.Residual)
		}
	})
	in.logout()
}

// TestReadWrite writes a pattern and reads it back under the parameter
// sets that exercise each Data-Out and Data-In path.
func TestReadWrite(t *testing.T) {
	small := login.DefaultSettings()
	small.MaxRecvDataSegmentLength = 4096
	small.MaxBurstLength = 16384
	small.FirstBurstLength = 8192

	r2tOnly := login.DefaultSettings()
	r2tOnly.InitialR2T = true
	r2tOnly.ImmediateData = false
	r2tOnly.MaxBurstLength = 65536
	r2tOnly.MaxOutstandingR2T = 4

	unsolicited := login.DefaultSettings()
	unsolicited.InitialR2T = false
	unsolicited.ImmediateData = true
	unsolicited.FirstBurstLength = 65536
	unsolicited.MaxRecvDataSegmentLength = 8192

	immediateOnly := login.DefaultSettings()
	immediateOnly.InitialR2T = true
	immediateOnly.ImmediateData = true

	tests := []struct {
		name     string
		settings *login.Settings
		blocks   uint16
		r2ts     bool
	}{
		{name: "defaults one block", blocks: 1},
		{name: "defaults 1 MiB", blocks: 2048, r2ts: true},
		{name: "small segments and bursts", settings: &small, blocks: 300, r2ts: true},
		{name: "R2T only, 4 outstanding", settings: &r2tOnly, blocks: 1024, r2ts: true},
		{name: "unsolicited Data-Out", settings: &unsolicited, blocks: 128},
		{name: "unsolicited then R2T", settings: &unsolicited, blocks: 1000, r2ts: true},
		{name: "immediate data then R2T", settings: &immediateOnly, blocks: 200, r2ts: true},
	}
	// The target allows everything; the initiator's offer decides (InitialR2T
	// is ORed, ImmediateData ANDed, RFC 7143 §13.10, §13.11).
	open := login.DefaultSettings()
	open.InitialR2T = false
	open.FirstBurstLength = 65536
	srv := newTestServer(t, &open)
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := dial(t, srv, tt.settings, isid(uint16(100+i)))
			in.command(lunOf(1), cdbTestUnitReady, 0, false, nil)
			n := uint32(tt.blocks) * 512
			pattern := make([]byte, n)
			rng := rand.New(rand.NewPCG(uint64(i), 7))
			for j := range pattern {
				pattern[j] = byte(rng.Uint32())
			}
			lba := uint32(i * 2048)
			w := in.command(lunOf(1), cdbRW10(scsi.OpWrite10, lba, tt.blocks), n, false, pattern)
			if w.Status != scsi.StatusGood || w.Underflow || w.Overflow {
				t.Fatalf("WRITE: %+v", w)
			}
			if got := w.R2Ts > 0; got != tt.r2ts {
				t.Errorf("WRITE used %d R2Ts, want R2Ts %v", w.R2Ts, tt.r2ts)
			}
			r := in.command(lunOf(1), cdbRW10(scsi.OpRead10, lba, tt.blocks), n, true, nil)
			if r.Status != scsi.StatusGood || !r.StatusInLastData || r.Underflow || r.Overflow {
				t.Fatalf("READ: status %v in data %v residual %v/%v", r.Status, r.StatusInLastData, r.Underflow, r.Overflow)
			}
			if !bytes.Equal(r.Data, pattern) {
				t.Fatal("READ returned other data than WRITE wrote")
			}
			if want := (n + in.res.Conn.MaxXmitDataSegmentLength - 1) / in.res.Conn.MaxXmitDataSegmentLength; n > 0 && uint32(r.DataInPDUs) < want {
				t.Errorf("%d Data-In PDUs for %d bytes, want at least %d", r.DataInPDUs, n, want)
			}
			in.logout()
		})
	}
}

func TestSenseAndResiduals(t *testing.T) {
	srv := newTestServer(t, nil)
	in := dial(t, srv, nil, isid(3))
	// The first command of the nexus reports the POWER ON unit attention
	// (SAM-5 §5.14) through a SCSI Response with sense data.
	ua := in.command(lunOf(0), cdbTestUnitReady, 0, false, nil)
	if ua.Status != scsi.StatusCheckCondition || senseKeyOf(t, ua.Sense).Key != scsi.SenseUnitAttention {
		t.Fatalf("first command: %+v", ua)
	}

	t.Run("LBA out of range", func(t *testing.T) {
		res := in.command(lunOf(0), cdbRW10(scsi.OpRead10, testBlocks, 1), 512, true, nil)
		if res.Status != scsi.StatusCheckCondition || res.DataInPDUs != 0 {
			t.Fatalf("%+v", res)
		}
		if s := senseKeyOf(t, res.Sense); s.Key != scsi.SenseIllegalRequest || s.Code != scsi.ASCLBAOutOfRange {
			t.Errorf("sense %v", s)
		}
	})
	t.Run("read underflow", func(t *testing.T) {
		res := in.command(lunOf(0), cdbRW10(scsi.OpRead10, 0, 1), 1024, true, nil)
		if res.Status != scsi.StatusGood || len(res.Data) != 512 || !res.Underflow || res.Residual != 512 {
			t.Fatalf("%+v", res)
		}
	})
	t.Run("write overflow", func(t *testing.T) {
		// Two blocks to write with ExpectedDataTransferLength of one:
		// the block sent is written, the command ends GOOD and the
		// residual counts the block not transferred (RFC 7143 §11.4.5.1).
		res := in.command(lunOf(0), cdbRW10(scsi.OpWrite10, 0, 2), 512, false, make([]byte, 512))
		if res.Status != scsi.StatusGood || !res.Overflow || res.Residual != 512 {
			t.Fatalf("%+v", res)
		}
	})
	t.Run("write underflow", func(t *testing.T) {
		res := in.command(lunOf(0), cdbRW10(scsi.OpWrite10, 0, 1), 1024, false, make([]byte, 1024))
		if !res.Underflow || res.Residual != 512 {
			t.Fatalf("%+v", res)
		}
	})
	t.Run("compare and write of zero blocks", func(t *testing.T) {
		// SBC-4 §5.3: NUMBER OF LOGICAL BLOCKS zero transfers, compares
		// and writes nothing and is not an error; the Data-Out the
		// initiator expected to send is all residual underflow (RFC 7143
		// §11.4.5.2). libiscsi 1.19's CompareAndWrite tests send this
		// command (256 blocks truncated to the 8-bit field) and expect
		// INVALID FIELD IN CDB.
		old := bytes.Repeat([]byte{'A'}, 512)
		if w := in.command(lunOf(0), cdbRW10(scsi.OpWrite10, 0, 1), 512, false, old); w.Status != scsi.StatusGood {
			t.Fatalf("WRITE: %+v", w)
		}
		cdb := make([]byte, 16)
		cdb[0] = byte(scsi.OpCompareAndWrite) // LBA 0, NUMBER OF LOGICAL BLOCKS 0
		const edtl = 2 * 256 * 512
		out := append(bytes.Repeat([]byte{'A'}, edtl/2), bytes.Repeat([]byte{'B'}, edtl/2)...)
		res := in.command(lunOf(0), cdb, edtl, false, out)
		if res.Status != scsi.StatusGood || !res.Underflow || res.Overflow || res.Residual != edtl || res.R2Ts != 0 {
			t.Fatalf("%+v", res)
		}
		r := in.command(lunOf(0), cdbRW10(scsi.OpRead10, 0, 1), 512, true, nil)
		if r.Status != scsi.StatusGood || !bytes.Equal(r.Data, old) {
			t.Fatalf("medium changed by a zero-block COMPARE AND WRITE: %+v", r)
		}
	})
	t.Run("write same with a Data-Out buffer of two blocks", func(t *testing.T) {
		// WRITE SAME transfers one logical block (SBC-4 §5.49); an
		// Expected Data Transfer Length of two is an initiator that
		// disagrees with the CDB, and the command fails with INVALID
		// FIELD IN COMMAND INFORMATION UNIT and writes nothing (the
		// logical unit sees the Data-Out Buffer Size, SAM-5 §5.1).
		old := bytes.Repeat([]byte{'C'}, 512)
		if w := in.command(lunOf(0), cdbRW10(scsi.OpWrite10, 4, 1), 512, false, old); w.Status != scsi.StatusGood {
			t.Fatalf("WRITE: %+v", w)
		}
		res := in.command(lunOf(0), cdbRW10(scsi.OpWriteSame10, 4, 1), 1024, false, bytes.Repeat([]byte{'D'}, 1024))
		if res.Status != scsi.StatusCheckCondition {
			t.Fatalf("%+v", res)
		}
		if s := senseKeyOf(t, res.Sense); s.Key != scsi.SenseIllegalRequest || s.Code != scsi.ASCInvalidFieldInCommandInformationUnit {
			t.Errorf("sense %v", s)
		}
		r := in.command(lunOf(0), cdbRW10(scsi.OpRead10, 4, 1), 512, true, nil)
		if r.Status != scsi.StatusGood || !bytes.Equal(r.Data, old) {
			t.Fatalf("medium changed by the failed WRITE SAME: %+v", r)
		}
		// With the buffer of one block it writes.
		if w := in.command(lunOf(0), cdbRW10(scsi.OpWriteSame10, 4, 1), 512, false, bytes.Repeat([]byte{'D'}, 512)); w.Status != scsi.StatusGood {
			t.Fatalf("WRITE SAME: %+v", w)
		}
	})
	t.Run("no data with an expected length", func(t *testing.T) {
		res := in.command(lunOf(0), cdbTestUnitReady, 512, true, nil)
		if res.Status != scsi.StatusGood || !res.Underflow || res.Residual != 512 {
			t.Fatalf("%+v", res)
		}
	})
	in.logout()
}

func TestNOP(t *testing.T) {
	srv := newTestServer(t, nil)
	in := dial(t, srv, nil, isid(4))
	for _, data := range [][]byte{nil, []byte("ping"), bytes.Repeat([]byte{0xa5}, 4093)} {
		if got := in.nop(data); !bytes.Equal(got, data) {
			t.Errorf("NOP-In echoed %d bytes, want %d", len(got), len(data))
		}
	}
	in.logout()
}

func TestRejects(t *testing.T) {
	srv := newTestServer(t, nil)
	in := dial(t, srv, nil, isid(5))
	in.command(lunOf(0), cdbTestUnitReady, 0, false, nil)

	snack := func() pdu.BHS {
		var h pdu.BHS
		s := h.SNACKRequest()
		s.Init()
		s.SetInitiatorTaskTag(77)
		return h
	}()
	unknown := func() pdu.BHS {
		var h pdu.BHS
		h.SetOpcode(0x0f)
		h.SetFinal(true)
		return h
	}()
	strayData := func() pdu.BHS {
		var h pdu.BHS
		h.SetOpcode(pdu.OpNOPIn)
		return h
	}()
	immediateRead := func() pdu.BHS {
		// Immediate data on a READ: RFC 7143 §11.3.6, §4.2.5.2 make it
		// outgoing data, so only with W.
		var h pdu.BHS
		c := h.SCSICommand()
		c.Init()
		c.SetFinal(true)
		c.SetRead(true)
		c.SetImmediate(true)
		c.SetInitiatorTaskTag(4242)
		c.SetExpectedDataTransferLength(512)
		c.SetCDB(cdbRW10(scsi.OpRead10, 0, 1))
		return h
	}()
	tests := []struct {
		name   string
		h      pdu.BHS
		data   []byte
		reason pdu.RejectReason
	}{
		{name: "SNACK at ErrorRecoveryLevel 0", h: snack, reason: pdu.RejectProtocolError},
		{name: "unknown opcode", h: unknown, reason: pdu.RejectCommandNotSupported},
		{name: "target opcode from the initiator", h: strayData, reason: pdu.RejectProtocolError},
		{name: "immediate data with a READ", h: immediateRead, data: make([]byte, 512), reason: pdu.RejectProtocolError},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := tt.h
			if tt.h.Opcode() == pdu.OpSCSICommand {
				h.SCSICommand().SetCmdSN(in.cmdSN)
			}
			in.w.AllowIllegalWrites = true
			h.SetDataSegmentLength(uint32(len(tt.data)))
			in.write(&h, tt.data)
			in.w.AllowIllegalWrites = false
			p := in.read()
			if p.Header.Opcode() != pdu.OpReject {
				t.Fatalf("answered by %v", p.Header.Opcode())
			}
			if got := p.Header.Reject().Reason(); got != tt.reason {
				t.Errorf("reason %v, want %v", got, tt.reason)
			}
			if !bytes.Equal(p.Data, h[:]) {
				t.Errorf("Reject data %x, want the rejected header %x", p.Data, h[:])
			}
			// The connection goes on.
			in.nop([]byte("after"))
		})
	}
	in.logout()
}

func TestAbortTask(t *testing.T) {
	r2tOnly := login.DefaultSettings()
	r2tOnly.InitialR2T = true
	r2tOnly.ImmediateData = false
	srv := newTestServer(t, nil)
	in := dial(t, srv, &r2tOnly, isid(6))
	in.command(lunOf(0), cdbTestUnitReady, 0, false, nil)

	// A WRITE left waiting for its Data-Out.
	writeCmdSN := in.send(scsiCommand{ITT: 9000, Attr: pdu.TaskSimple, CDB: cdbRW10(scsi.OpWrite10, 0, 8), EDTL: 4096, Write: true})
	p := in.read()
	if p.Header.Opcode() != pdu.OpR2T || p.Header.R2T().InitiatorTaskTag() != 9000 {
		t.Fatalf("WRITE answered by %v", p.Header.String())
	}
	ttt := p.Header.R2T().TargetTransferTag()

	tests := []struct {
		name     string
		fn       pdu.TaskManagementFunction
		lun      uint16
		ref      uint32
		refCmdSN uint32
		want     pdu.TaskManagementResponseCode
	}{
		{name: "abort the waiting WRITE", fn: pdu.TMFAbortTask, ref: 9000, refCmdSN: writeCmdSN, want: pdu.TMFResponseFunctionComplete},
		{name: "abort it again: gone", fn: pdu.TMFAbortTask, ref: 9000, refCmdSN: writeCmdSN, want: pdu.TMFResponseTaskDoesNotExist},
		{name: "abort a task never sent", fn: pdu.TMFAbortTask, ref: 9999, refCmdSN: writeCmdSN + 5, want: pdu.TMFResponseTaskDoesNotExist},
		{name: "abort task set", fn: pdu.TMFAbortTaskSet, want: pdu.TMFResponseFunctionComplete},
		{name: "clear task set on a LUN that does not exist", fn: pdu.TMFClearTaskSet, lun: 9, want: pdu.TMFResponseLUNDoesNotExist},
		{name: "logical unit reset", fn: pdu.TMFLogicalUnitReset, want: pdu.TMFResponseFunctionComplete},
		{name: "target warm reset", fn: pdu.TMFTargetWarmReset, want: pdu.TMFResponseFunctionComplete},
		{name: "task reassign", fn: pdu.TMFTaskReassign, ref: 1, want: pdu.TMFResponseReassignmentNotSupported},
		{name: "clear ACA", fn: pdu.TMFClearACA, want: pdu.TMFResponseFunctionNotSupported},
		{name: "query task", fn: pdu.TMFQueryTask, ref: 1, want: pdu.TMFResponseFunctionNotSupported},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := in.tmf(tt.fn, lunOf(tt.lun), tt.ref, tt.refCmdSN); got != tt.want {
				t.Errorf("response %v, want %v", got, tt.want)
			}
		})
	}
	// Data-Out for the aborted task is dropped silently: the next answer
	// is the ping's.
	in.sendData(9000, lunOf(0), ttt, make([]byte, 4096), 0, 4096)
	in.nop(nil)
	// After the resets the logical unit reports a unit attention.
	res := in.command(lunOf(0), cdbTestUnitReady, 0, false, nil)
	if res.Status != scsi.StatusCheckCondition || senseKeyOf(t, res.Sense).Key != scsi.SenseUnitAttention {
		t.Errorf("after reset: %+v", res)
	}
	in.logout()
}

func TestCmdSNWindow(t *testing.T) {
	srv := newTestServer(t, nil)
	in := dial(t, srv, nil, isid(7))
	ping := func(cmdSN, itt uint32) {
		var h pdu.BHS
		n := h.NOPOut()
		n.Init()
		n.SetInitiatorTaskTag(itt)
		n.SetTargetTransferTag(pdu.ReservedTag)
		n.SetCmdSN(cmdSN)
		n.SetExpStatSN(in.statSN)
		in.write(&h, nil)
	}
	// A non-immediate NOP-Out below ExpCmdSN is outside the window and
	// ignored (RFC 7143 §4.2.2.1); the next one in order is answered.
	ping(in.cmdSN-1, 50)
	ping(in.cmdSN, 51)
	in.cmdSN++
	p := in.read()
	if p.Header.Opcode() != pdu.OpNOPIn || p.Header.InitiatorTaskTag() != 51 {
		t.Fatalf("answered %v ITT %d, want NOP-In 51", p.Header.Opcode(), p.Header.InitiatorTaskTag())
	}
	if exp := p.Header.NOPIn().ExpCmdSN(); exp != in.cmdSN {
		t.Errorf("ExpCmdSN %d, want %d", exp, in.cmdSN)
	}
	if max := p.Header.NOPIn().MaxCmdSN(); max != in.cmdSN+defaultCmdSNWindow-1 {
		t.Errorf("MaxCmdSN %d, want %d", max, in.cmdSN+defaultCmdSNWindow-1)
	}
	// A CmdSN ahead of ExpCmdSN means a lost command: the connection ends.
	ping(in.cmdSN+3, 52)
	if err := <-in.served; !errors.Is(err, ErrCmdSNGap) {
		t.Fatalf("ServeConn: %v, want ErrCmdSNGap", err)
	}
	in.served <- nil
}

func TestDiscoveryAndText(t *testing.T) {
	srv := newTestServer(t, nil)
	a, b := net.Pipe()
	defer a.Close()
	served := make(chan error, 1)
	go func() { served <- srv.ServeConn(context.Background(), b) }()
	r, w := pdu.NewReader(a), pdu.NewWriter(a)
	res, err := login.Initiate(context.Background(), r, w, login.InitiatorConfig{
		InitiatorName: testInitiator, SessionType: login.SessionDiscovery, ISID: isid(8), CmdSN: 1,
	})
	if err != nil {
		t.Fatal(err)
	}
	x := &login.TextExchange{ITT: 5, CmdSN: res.CmdSN, ExpStatSN: res.StatSN + 1}
	targets, err := login.SendTargets(context.Background(), r, w, x, "All")
	if err != nil {
		t.Fatal(err)
	}
	if len(targets) != 1 || targets[0].Name != testTarget {
		t.Errorf("SendTargets: %+v", targets)
	}
	a.Close()
	if err := <-served; err != nil {
		t.Errorf("ServeConn: %v", err)
	}
}

func TestReinstatement(t *testing.T) {
	srv := newTestServer(t, nil)
	first := dial(t, srv, nil, isid(9))
	first.command(lunOf(0), cdbTestUnitReady, 0, false, nil)
	second := dial(t, srv, nil, isid(9))
	if err := <-first.served; !errors.Is(err, ErrSessionClosed) {
		t.Errorf("first connection ended with %v", err)
	}
	first.served <- nil
	if _, err := first.r.Read(); err == nil {
		t.Error("first connection still open")
	}
	second.command(lunOf(0), cdbTestUnitReady, 0, false, nil)
	second.logout()
}

func TestServe(t *testing.T) {
	srv := newTestServer(t, nil)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, l) }()
	c, err := net.Dial("tcp", l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	r, w := pdu.NewReader(c), pdu.NewWriter(c)
	if _, err := login.Initiate(ctx, r, w, login.InitiatorConfig{
		InitiatorName: testInitiator, TargetName: testTarget, ISID: isid(10), CmdSN: 1,
	}); err != nil {
		t.Fatal(err)
	}
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Errorf("Serve: %v", err)
	}
	if _, err := r.Read(); err == nil {
		t.Error("connection open after Serve returned")
	}
}

func TestConfigErrors(t *testing.T) {
	tests := []struct {
		name string
		srv  *Server
	}{
		{name: "empty name", srv: &Server{Targets: []Target{{}}}},
		{name: "duplicate name", srv: &Server{Targets: []Target{{Name: testTarget}, {Name: testTarget}}}},
		{name: "nil logical unit", srv: &Server{Targets: []Target{{Name: testTarget, LUNs: map[scsi.LUN]LogicalUnit{{}: nil}}}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, b := net.Pipe()
			defer a.Close()
			err := tt.srv.ServeConn(context.Background(), b)
			var ce *ConfigError
			if !errors.Is(err, ErrTargetConfig) || !errors.As(err, &ce) {
				t.Errorf("ServeConn: %v", err)
			}
		})
	}
}

// TestCHAP logs in to a target that requires CHAP (RFC 7143 §12.1.3), with
// the right and a wrong secret; the failed login is a *login.LoginError
// with status 0x0201 (§11.13.5).
func TestCHAP(t *testing.T) {
	srv := newTestServer(t, nil)
	srv.Targets[0].AuthMethods = []string{"CHAP"}
	srv.CHAP = func(initiatorName, targetName, user string) (string, *login.CHAPCredentials, bool) {
		if user != "host1" {
			return "", nil, false
		}
		return "host1-secret-0123", nil, true
	}
	tests := []struct {
		name   string
		secret string
		status pdu.LoginStatus
	}{
		{name: "right secret", secret: "host1-secret-0123"},
		{name: "wrong secret", secret: "host1-secret-9999", status: pdu.LoginAuthenticationFailure},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, b := net.Pipe()
			defer a.Close()
			served := make(chan error, 1)
			go func() { served <- srv.ServeConn(context.Background(), b) }()
			r, w := pdu.NewReader(a), pdu.NewWriter(a)
			_, err := login.Initiate(context.Background(), r, w, login.InitiatorConfig{
				InitiatorName: testInitiator, TargetName: testTarget, ISID: isid(uint16(60 + i)), CmdSN: 1,
				CHAP: &login.CHAPCredentials{User: "host1", Secret: tt.secret},
			})
			if tt.status == 0 {
				if err != nil {
					t.Fatalf("login: %v", err)
				}
				a.Close()
				if err := <-served; err != nil {
					t.Errorf("ServeConn: %v", err)
				}
				return
			}
			var le *login.LoginError
			if !errors.As(err, &le) || le.Status != tt.status {
				t.Errorf("initiator: %v, want status %v", err, tt.status)
			}
			if err := <-served; !errors.As(err, &le) || le.Status != tt.status {
				t.Errorf("ServeConn: %v, want status %v", err, tt.status)
			}
		})
	}
}

// busyWithDataLU answers every INQUIRY with eight bytes of data and the
// status BUSY, a status that RFC 7143 §11.7.3 does not let the last
// Data-In carry.
type busyWithDataLU struct{ LogicalUnit }

func (b busyWithDataLU) Execute(ctx context.Context, req *scsi.Request) scsi.Response {
	if scsi.OpCode(req.CDB[0]) != scsi.OpInquiry {
		return b.LogicalUnit.Execute(ctx, req)
	}
	n := copy(req.DataIn, "BUSYDATA")
	return scsi.Response{Status: scsi.StatusBusy, DataInLen: n}
}

// TestStatusInDataIn checks RFC 7143 §11.7.3: only GOOD (or CONDITION
// MET) rides in the last Data-In; any other status comes in a SCSI
// Response after the data.
func TestStatusInDataIn(t *testing.T) {
	srv := newTestServer(t, nil)
	l1, _ := scsi.EncodeLUN(1)
	srv.Targets[0].LUNs[l1] = busyWithDataLU{srv.Targets[0].LUNs[l1]}
	in := dial(t, srv, nil, isid(61))
	inquiry := cdbInquiry(false, 0, 8)
	res := in.command(lunOf(1), inquiry, 8, true, nil)
	if res.StatusInLastData || res.Status != scsi.StatusBusy || string(res.Data) != "BUSYDATA" {
		t.Fatalf("BUSY with data: status %v in last Data-In %v, data %q; want BUSY in a SCSI Response after the data", res.Status, res.StatusInLastData, res.Data)
	}
	res = in.command(lunOf(0), inquiry, 8, true, nil)
	if !res.StatusInLastData || res.Status != scsi.StatusGood {
		t.Fatalf("GOOD with data: status %v in last Data-In %v, want GOOD in the last Data-In", res.Status, res.StatusInLastData)
	}
}

// TestShortR2TSequence checks that a command whose solicited Data-Out
// sequence ends short of the R2T's Desired Data Transfer Length fails
// with ABORTED COMMAND, DATA PHASE ERROR and writes nothing (RFC 7143
// §4.2.5.2: the initiator must deliver what the R2T asks for; at
// ErrorRecoveryLevel 0 there is no recovery R2T).
func TestShortR2TSequence(t *testing.T) {
	r2tOnly := login.DefaultSettings()
	r2tOnly.InitialR2T = true
	r2tOnly.ImmediateData = false
	srv := newTestServer(t, &r2tOnly)
	in := dial(t, srv, &r2tOnly, isid(62))
	in.command(lunOf(0), cdbTestUnitReady, 0, false, nil) // takes the power-on unit attention
	pattern := bytes.Repeat([]byte{0xa5}, 1024)

	itt := in.nextITT()
	in.send(scsiCommand{ITT: itt, LUN: lunOf(0), Attr: pdu.TaskSimple, CDB: cdbRW10(scsi.OpWrite10, 4, 2), EDTL: 1024, Write: true})

	p := in.read()
	if p.Header.Opcode() != pdu.OpR2T || p.Header.R2T().DesiredDataTransferLength() != 1024 {
		t.Fatalf("got %v, want an R2T for 1024 bytes", p.Header.Opcode())
	}
	// Half of what the R2T asks for, with F set.
	in.sendData(itt, lunOf(0), p.Header.R2T().TargetTransferTag(), pattern, 0, 512)

	p = in.read()
	if p.Header.Opcode() != pdu.OpSCSIResponse {
		t.Fatalf("got %v, want a SCSI Response", p.Header.Opcode())
	}
	r := p.Header.SCSIResponse()
	if scsi.Status(r.Status()) != scsi.StatusCheckCondition || len(p.Data) < 2 {
		t.Fatalf("status %v with %d bytes of sense, want CHECK CONDITION", scsi.Status(r.Status()), len(p.Data))
	}
	s := senseKeyOf(t, p.Data[2:])
	if s.Key != scsi.SenseAbortedCommand || s.Code != scsi.ASCDataPhaseError {
		t.Fatalf("sense %v, want ABORTED COMMAND: DATA PHASE ERROR", s)
	}
	res := in.command(lunOf(0), cdbRW10(scsi.OpRead10, 4, 2), 1024, true, nil)
	if res.Status != scsi.StatusGood || !bytes.Equal(res.Data, make([]byte, 1024)) {
		t.Fatalf("after the failed WRITE: status %v, data changed: %v", res.Status, !bytes.Equal(res.Data, make([]byte, 1024)))
	}
}
