package session

import (
	"bytes"
	"testing"

	"github.com/go-iscsi/iscsi/login"
	"github.com/go-iscsi/iscsi/pdu"
	"github.com/go-iscsi/iscsi/scsi"
)

// rDataSNACK sends an R-Data SNACK (RFC 7143 §11.16.1 type 3) for itt with
// SNACK Tag tag, BegRun and RunLength 0 (§11.16.6, §11.16.7).
func (in *initiator) rDataSNACK(itt, tag, expStatSN uint32) {
	in.t.Helper()
	in.snack(pdu.SNACKRData, itt, tag, 0, 0, expStatSN)
}

// readResent reads the Data-In an R-Data SNACK brings back and the SCSI
// Response that ends them, checking DataSN from 0, consecutive
// BufferOffsets, segments of at most seg bytes and no status in the
// Data-In (RFC 7143 §11.16.3, §11.7.4, §11.7.5), and returns the data
// gathered, the number of Data-In and the response.
func (in *initiator) readResent(itt, seg uint32) ([]byte, uint32, rawPDU) {
	in.t.Helper()
	var data []byte
	var dataSN uint32
	for {
		p := in.readRaw()
		switch p.h.Opcode() {
		case pdu.OpSCSIDataIn:
			d := p.h.DataIn()
			if d.InitiatorTaskTag() != itt || d.DataSN() != dataSN || d.BufferOffset() != uint32(len(data)) {
				in.t.Fatalf("resent Data-In ITT %#x DataSN %d offset %d, want %#x, %d, %d", d.InitiatorTaskTag(), d.DataSN(), d.BufferOffset(), itt, dataSN, len(data))
			}
			if n := uint32(len(p.data)); n > seg || n == 0 {
				in.t.Fatalf("resent Data-In DataSN %d with %d bytes, segments of %d", dataSN, n, seg)
			}
			if d.StatusPresent() {
				in.t.Fatalf("resent Data-In DataSN %d carries the status: the SCSI Response must (§11.16.3)", dataSN)
			}
			data = append(data, p.data...)
			dataSN++
		case pdu.OpSCSIResponse:
			return data, dataSN, p
		default:
			in.t.Fatalf("R-Data SNACK answered by %v", p.h.String())
		}
	}
}

// TestERL1RDataSNACK: after the initiator declares a smaller
// MaxRecvDataSegmentLength in full feature phase (RFC 7143 §13.12), an
// R-Data SNACK for a READ sent in the old segments gets its Data-In again
// resegmented, DataSN from 0 (§11.16.3), the whole data as first sent, and
// a SCSI Response with the status's StatSN carrying the SNACK Tag (§11.4.4)
// although the status first came in the last Data-In. A Status SNACK then
// gets that response, a Data SNACK the Data-In of the new layout; after a
// DataACK only the response comes; once the status is acknowledged, or for
// a task never retained, the SNACK is rejected with reason SNACK Reject;
// one whose ExpStatSN acknowledges the status with Protocol Error
// (§11.16.1); a malformed one (§11.16.5, §11.16.6) with Invalid PDU Field.
func TestERL1RDataSNACK(t *testing.T) {
	st := erl1Settings(nil) // 8192-byte segments both ways
	srv, in := dialERL1(t, st, 244, Limits{})
	const size = 64 << 10
	pattern := blockPattern(size, 13)
	in.writeBlocks(256, pattern)
	exp := in.statSN
	itt := in.nextITT()
	orig := in.readTask(itt, cdbRW10(scsi.OpRead10, 256, size/512), size, exp)
	if len(orig) != size/8192 {
		t.Fatalf("READ in %d Data-In, want %d of 8192 bytes", len(orig), size/8192)
	}
	last := orig[len(orig)-1].h.DataIn()
	statSN := last.StatSN()
	op, got := in.textAt("MaxRecvDataSegmentLength=4096", exp)
	if op != pdu.OpTextResponse || got != "MaxRecvDataSegmentLength=8192\x00" {
		t.Fatalf("MaxRecvDataSegmentLength=4096 answered by %v %q", op, got)
	}
	in.maxRecv = 4096

	const tag = 0x5a
	in.rDataSNACK(itt, tag, exp)
	data, n, resp := in.readResent(itt, 4096)
	if n != size/4096 || !bytes.Equal(data, pattern) {
		t.Fatalf("R-Data SNACK: %d Data-In, %d bytes, as written %v; want %d of 4096", n, len(data), bytes.Equal(data, pattern), size/4096)
	}
	r := resp.h.SCSIResponse()
	if r.InitiatorTaskTag() != itt || r.StatSN() != statSN || r.SNACKTag() != tag || r.ExpDataSN() != n ||
		scsi.Status(r.Status()) != scsi.StatusGood || r.ResidualUnderflow() || r.ResidualOverflow() {
		t.Fatalf("R-Data SNACK ended by %v: want ITT %#x StatSN %d SNACK Tag %#x ExpDataSN %d GOOD", resp.h.String(), itt, statSN, tag, n)
	}

	// §11.16.3: a Status SNACK gets the latest response, SNACK Tag
	// included.
	in.snack(pdu.SNACKStatus, pdu.ReservedTag, pdu.ReservedTag, statSN, 1, exp)
	if p := in.readRaw(); !sameResent(p, resp) {
		t.Fatalf("Status SNACK after the R-Data SNACK answered by\n%v\nwant\n%v", p.h.String(), resp.h.String())
	}
	// A Data SNACK names DataSNs of the new layout.
	in.snack(pdu.SNACKDataR2T, itt, pdu.ReservedTag, 3, 2, exp)
	for sn := uint32(3); sn < 5; sn++ {
		p := in.readRaw()
		d := p.h.DataIn()
		if p.h.Opcode() != pdu.OpSCSIDataIn || d.DataSN() != sn || d.BufferOffset() != sn*4096 || !bytes.Equal(p.data, pattern[sn*4096:(sn+1)*4096]) {
			t.Fatalf("Data SNACK for DataSN 3 and 4 answered by %v", p.h.String())
		}
	}
	in.ping(exp)

	// The last resent Data-In asked for a DataACK (§11.7.2); once it came
	// an R-Data SNACK has no Data-In left to send, only the response.
	var h pdu.BHS
	s := h.SNACKRequest()
	s.Init()
	s.SetType(pdu.SNACKDataACK)
	s.SetInitiatorTaskTag(pdu.ReservedTag)
	s.SetTargetTransferTag(last.TargetTransferTag())
	s.SetExpStatSN(exp)
	s.SetBegRun(n)
	in.write(&h, nil)
	in.rDataSNACK(itt, tag+1, exp)
	if data, m, p := in.readResent(itt, 4096); len(data) != 0 || p.h.SCSIResponse().SNACKTag() != tag+1 || p.h.SCSIResponse().ExpDataSN() != n || p.h.SCSIResponse().StatSN() != statSN {
		t.Fatalf("R-Data SNACK after the DataACK: %d Data-In, then %v", m, p.h.String())
	}

	tests := []struct {
		name      string
		itt, tag  uint32
		begRun    uint32
		expStatSN uint32
		reason    pdu.RejectReason
	}{
		{name: "task never retained", itt: 0x7777, tag: tag, expStatSN: exp, reason: pdu.RejectSNACKReject},
		{name: "SNACK Tag 0", itt: itt, tag: 0, expStatSN: exp, reason: pdu.RejectInvalidPDUField},
		{name: "SNACK Tag 0xffffffff", itt: itt, tag: pdu.ReservedTag, expStatSN: exp, reason: pdu.RejectInvalidPDUField},
		{name: "BegRun not 0", itt: itt, tag: tag, begRun: 1, expStatSN: exp, reason: pdu.RejectInvalidPDUField},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t0 := in.t
			in.t = t
			defer func() { in.t = t0 }()
			in.snack(pdu.SNACKRData, tt.itt, tt.tag, tt.begRun, 0, tt.expStatSN)
			if p := in.read(); p.Header.Opcode() != pdu.OpReject || p.Header.Reject().Reason() != tt.reason {
				t.Fatalf("got %v, want a Reject with reason %v", p.Header.String(), tt.reason)
			}
		})
	}
	// §11.16.1: an R-Data SNACK precedes the acknowledgment of the
	// status; one whose own ExpStatSN acknowledges it is a Protocol Error,
	// or finds the task freed already (SNACK Reject) when the writer
	// applied that ExpStatSN first.
	in.rDataSNACK(itt, tag, in.statSN)
	if p := in.read(); p.Header.Opcode() != pdu.OpReject ||
		p.Header.Reject().Reason() != pdu.RejectProtocolError && p.Header.Reject().Reason() != pdu.RejectSNACKReject {
		t.Fatalf("R-Data SNACK acknowledging the status answered by %v", p.Header.String())
	}
	// ExpStatSN past the status frees the task (§4.2.2.2), applied after
	// the writer's flush: two pings.
	in.ping(in.statSN)
	in.ping(in.statSN)
	in.rDataSNACK(itt, tag, in.statSN)
	if p := in.read(); p.Header.Opcode() != pdu.OpReject || p.Header.Reject().Reason() != pdu.RejectSNACKReject {
		t.Fatalf("R-Data SNACK for an acknowledged status answered by %v", p.Header.String())
	}
	if s := srv.Stats(); s.RDataSNACKs != 2 || s.StatusSNACKs != 1 || s.DataSNACKs != 1 {
		t.Errorf("stats %+v: want 2 R-Data SNACKs, 1 Status SNACK, 1 Data SNACK", s)
	}
	in.logout()
}

// TestERL1RDataSNACKSCSIResponse: an R-Data SNACK for a READ whose status
// came in a SCSI Response (CHECK CONDITION, with sense data) gets the
// Data-In resegmented and the response again, the same StatSN and sense
// data, with the SNACK Tag; one for a command without Data-In gets the
// response alone.
func TestERL1RDataSNACKSCSIResponse(t *testing.T) {
	st := erl1Settings(func(s *login.Settings) { s.MaxRecvDataSegmentLength = 2048 })
	_, in := dialERL1(t, st, 245, Limits{})
	exp := in.statSN
	// A READ running past the end: the blocks before it are read, then
	// CHECK CONDITION in a SCSI Response.
	itt := in.nextITT()
	orig := in.readTask(itt, cdbRW10(scsi.OpRead10, testBlocks-4, 8), 8*512, exp)
	final := orig[len(orig)-1]
	if final.h.Opcode() != pdu.OpSCSIResponse || len(final.data) == 0 {
		t.Fatalf("READ past the end ended by %v", final.h.String())
	}
	first := orig[:len(orig)-1]
	var want []byte
	for _, p := range first {
		want = append(want, p.data...)
	}
	tur := in.nextITT()
	turResp := in.readTask(tur, cdbTestUnitReady, 0, exp)[0]
	if _, got := in.textAt("MaxRecvDataSegmentLength=512", exp); got != "MaxRecvDataSegmentLength=2048\x00" {
		t.Fatalf("MaxRecvDataSegmentLength=512 answered %q", got)
	}
	in.maxRecv = 512
	in.rDataSNACK(itt, 9, exp)
	data, n, resp := in.readResent(itt, 512)
	if !bytes.Equal(data, want) || n != uint32(len(want)/512) {
		t.Fatalf("R-Data SNACK: %d Data-In with %d bytes, want %d bytes in 512-byte segments", n, len(data), len(want))
	}
	r, o := resp.h.SCSIResponse(), final.h.SCSIResponse()
	if r.StatSN() != o.StatSN() || r.Status() != o.Status() || r.SNACKTag() != 9 || r.ExpDataSN() != n || !bytes.Equal(resp.data, final.data) {
		t.Fatalf("R-Data SNACK ended by %v\nwant like %v with SNACK Tag 9 and ExpDataSN %d", resp.h.String(), final.h.String(), n)
	}
	in.rDataSNACK(tur, 10, exp)
	if data, _, p := in.readResent(tur, 512); len(data) != 0 || p.h.SCSIResponse().StatSN() != turResp.h.SCSIResponse().StatSN() || p.h.SCSIResponse().SNACKTag() != 10 {
		t.Fatalf("R-Data SNACK for TEST UNIT READY answered by %v", p.h.String())
	}
	in.ping(in.statSN)
	in.logout()
}
