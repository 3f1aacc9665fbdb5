package session

import (
	"bytes"
	"errors"
	"io"
	"testing"
	"time"

	"github.com/go-iscsi/iscsi/login"
	"github.com/go-iscsi/iscsi/pdu"
	"github.com/go-iscsi/iscsi/scsi"
)

// erl1Settings are operational values with ErrorRecoveryLevel 1 and both
// digests CRC32C (RFC 7143 §13.1, §13.20), for the target and the test
// initiator alike.
func erl1Settings(mod func(*login.Settings)) *login.Settings {
	s := login.DefaultSettings()
	s.ErrorRecoveryLevel = 1
	s.HeaderDigest, s.DataDigest = login.DigestRequire, login.DigestRequire
	s.MaxOutstandingR2T = 1
	if mod != nil {
		mod(&s)
	}
	return &s
}

// dialERL1 logs in to a new test server with st on both sides and takes
// the power-on unit attention.
func dialERL1(t *testing.T, st *login.Settings, n uint16, lim Limits) (*Server, *initiator) {
	t.Helper()
	srv := newTestServer(t, st)
	srv.Limits = lim
	in := dial(t, srv, st, isid(n))
	if got := in.res.Session.ErrorRecoveryLevel; got != st.ErrorRecoveryLevel {
		t.Fatalf("ErrorRecoveryLevel %d negotiated, want %d", got, st.ErrorRecoveryLevel)
	}
	if !in.res.Conn.HeaderDigest || !in.res.Conn.DataDigest {
		t.Fatal("digests not negotiated")
	}
	in.command(lunOf(0), cdbTestUnitReady, 0, false, nil)
	return srv, in
}

// corruption says what writeBad spoils in a PDU.
type corruption uint8

const (
	corruptNone   corruption = iota
	corruptData              // the data digest
	corruptHeader            // a byte of the BHS, so the header digest fails
)

// writeBad sends one PDU framed with the connection's digests and then
// spoiled as how says.
func (in *initiator) writeBad(h *pdu.BHS, data []byte, how corruption) {
	in.t.Helper()
	var buf bytes.Buffer
	w := pdu.NewWriter(&buf)
	w.SetDigests(in.w.Digests())
	if err := w.Write(h, nil, data); err != nil {
		in.t.Fatal(err)
	}
	b := buf.Bytes()
	switch how {
	case corruptData:
		b[len(b)-1] ^= 0x01
	case corruptHeader:
		b[16] ^= 0x01 // Initiator Task Tag
	}
	if _, err := in.c.Write(b); err != nil {
		in.t.Fatal(err)
	}
}

// dataOut is one Data-Out PDU of a test.
func dataOut(itt, ttt, dataSN, off uint32, final bool, expStatSN uint32) pdu.BHS {
	var h pdu.BHS
	d := h.DataOut()
	d.Init()
	d.SetLUN(lunOf(0))
	d.SetInitiatorTaskTag(itt)
	d.SetTargetTransferTag(ttt)
	d.SetExpStatSN(expStatSN)
	d.SetDataSN(dataSN)
	d.SetBufferOffset(off)
	d.SetFinal(final)
	return h
}

// r2tSeen is an R2T as the test initiator received it.
type r2tSeen struct{ R2TSN, Offset, Length uint32 }

// TestERL1DataOutRecovery writes 2048 bytes in 512-byte PDUs, one of them
// spoiled, at ErrorRecoveryLevel 1: a data digest error is rejected with
// reason Data Digest Error (RFC 7143 §7.8) and a Data-Out lost to a header
// digest error leaves a gap (§7.1.4.1); either way the target asks for the
// lost range with a recovery R2T (§7.2) and the WRITE completes with the
// right bytes.
func TestERL1DataOutRecovery(t *testing.T) {
	const size = 2048
	tests := []struct {
		name        string
		settings    func(*login.Settings)
		immediate   bool // the command carries the first 512 bytes
		unsolicited bool // the rest follows as unsolicited Data-Out
		spoil       int  // the 512-byte piece spoiled
		how         corruption
		wantR2Ts    []r2tSeen
		wantReject  bool
		stat        func(ServerStats) uint64
	}{
		{name: "solicited, data digest", spoil: 1, how: corruptData,
			wantR2Ts: []r2tSeen{{0, 0, size}, {1, 512, 512}}, wantReject: true,
			stat: func(s ServerStats) uint64 { return s.DataDigestErrors }},
		{name: "solicited, header digest", spoil: 1, how: corruptHeader,
			wantR2Ts: []r2tSeen{{0, 0, size}, {1, 512, 512}},
			stat:     func(s ServerStats) uint64 { return s.HeaderDigestErrors }},
		{name: "solicited, last PDU data digest", spoil: 3, how: corruptData,
			wantR2Ts: []r2tSeen{{0, 0, size}, {1, 1536, 512}}, wantReject: true,
			stat: func(s ServerStats) uint64 { return s.DataDigestErrors }},
		{name: "immediate data, data digest", immediate: true, spoil: 0, how: corruptData,
			settings: func(s *login.Settings) { s.ImmediateData = true },
			wantR2Ts: []r2tSeen{{0, 0, 512}, {1, 512, size - 512}}, wantReject: true,
			stat: func(s ServerStats) uint64 { return s.DataDigestErrors }},
		{name: "unsolicited, data digest", unsolicited: true, spoil: 2, how: corruptData,
			settings: func(s *login.Settings) { s.InitialR2T = false },
			wantR2Ts: []r2tSeen{{0, 1024, 512}}, wantReject: true,
			stat: func(s ServerStats) uint64 { return s.DataDigestErrors }},
		{name: "unsolicited, header digest", unsolicited: true, spoil: 1, how: corruptHeader,
			settings: func(s *login.Settings) { s.InitialR2T = false },
			wantR2Ts: []r2tSeen{{0, 512, 512}},
			stat:     func(s ServerStats) uint64 { return s.HeaderDigestErrors }},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := erl1Settings(func(s *login.Settings) {
				s.InitialR2T, s.ImmediateData = true, false
				if tt.settings != nil {
					tt.settings(s)
				}
			})
			srv, in := dialERL1(t, st, uint16(200+i), Limits{})
			pattern := make([]byte, size)
			for j := range pattern {
				pattern[j] = byte(j*7 + j/512)
			}
			piece := func(k int) []byte { return pattern[k*512 : (k+1)*512] }
			spoilt := func(k int) corruption {
				if k == tt.spoil {
					return tt.how
				}
				return corruptNone
			}
			itt := in.nextITT()
			var h pdu.BHS
			cmd := h.SCSICommand()
			cmd.Init()
			cmd.SetFinal(!tt.unsolicited)
			cmd.SetWrite(true)
			cmd.SetAttributes(pdu.TaskSimple)
			cmd.SetLUN(lunOf(0))
			cmd.SetInitiatorTaskTag(itt)
			cmd.SetExpectedDataTransferLength(size)
			cmd.SetCmdSN(in.cmdSN)
			cmd.SetExpStatSN(in.statSN)
			cmd.SetCDB(cdbRW10(scsi.OpWrite10, 8, size/512))
			in.cmdSN++
			var imm []byte
			if tt.immediate {
				imm = piece(0)
			}
			in.writeBad(&h, imm, spoilt(0)*corruption(btoi(tt.immediate)))
			if tt.unsolicited {
				for k := range size / 512 {
					d := dataOut(itt, pdu.ReservedTag, uint32(k), uint32(k*512), k == size/512-1, in.statSN)
					in.writeBad(&d, piece(k), spoilt(k))
				}
			}
			var r2ts []r2tSeen
			rejected := false
			first := true
		loop:
			for {
				p := in.read()
				switch p.Header.Opcode() {
				case pdu.OpReject:
					rj := p.Header.Reject()
					if rj.Reason() != pdu.RejectDataDigestError || len(p.Data) != pdu.BHSLength {
						t.Fatalf("Reject reason %v with %d bytes", rj.Reason(), len(p.Data))
					}
					rejected = true
				case pdu.OpR2T:
					r := p.Header.R2T()
					r2ts = append(r2ts, r2tSeen{r.R2TSN(), r.BufferOffset(), r.DesiredDataTransferLength()})
					off, end := r.BufferOffset(), r.BufferOffset()+r.DesiredDataTransferLength()
					ttt := r.TargetTransferTag()
					for sn := uint32(0); off < end; sn++ {
						d := dataOut(itt, ttt, sn, off, off+512 >= end, in.statSN)
						how := corruptNone
						if first && !tt.immediate && !tt.unsolicited {
							how = spoilt(int(off / 512))
						}
						in.writeBad(&d, pattern[off:min(off+512, end)], how)
						off += 512
					}
					first = false
				case pdu.OpSCSIResponse:
					if s := scsi.Status(p.Header.SCSIResponse().Status()); s != scsi.StatusGood {
						t.Fatalf("WRITE ended with %v", s)
					}
					break loop
				default:
					t.Fatalf("unexpected %v", p.Header.Opcode())
				}
			}
			if rejected != tt.wantReject {
				t.Errorf("Reject sent: %v, want %v", rejected, tt.wantReject)
			}
			if !equalR2Ts(r2ts, tt.wantR2Ts) {
				t.Errorf("R2Ts %v, want %v", r2ts, tt.wantR2Ts)
			}
			res := in.command(lunOf(0), cdbRW10(scsi.OpRead10, 8, size/512), size, true, nil)
			if res.Status != scsi.StatusGood || !bytes.Equal(res.Data, pattern) {
				t.Fatalf("READ back: status %v, data equal %v", res.Status, bytes.Equal(res.Data, pattern))
			}
			s := srv.Stats()
			if s.RecoveryR2Ts != 1 || tt.stat(s) != 1 {
				t.Errorf("stats %+v: want one recovery R2T and one digest error", s)
			}
			in.logout()
		})
	}
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

func equalR2Ts(a, b []r2tSeen) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// TestERL0DataDigestEndsConnection: at ErrorRecoveryLevel 0 a Data-Out
// with a data digest error still ends the connection (no recovery R2T,
// RFC 7143 §7.1.5), as a header digest error does.
func TestERL0DataDigestEndsConnection(t *testing.T) {
	for _, how := range []corruption{corruptData, corruptHeader} {
		st := erl1Settings(func(s *login.Settings) {
			s.ErrorRecoveryLevel = 0
			s.InitialR2T, s.ImmediateData = true, false
		})
		srv, in := dialERL1(t, st, 230+uint16(how), Limits{})
		itt := in.nextITT()
		in.send(scsiCommand{ITT: itt, LUN: lunOf(0), Attr: pdu.TaskSimple, CDB: cdbRW10(scsi.OpWrite10, 0, 1), EDTL: 512, Write: true})
		p := in.read()
		if p.Header.Opcode() != pdu.OpR2T {
			t.Fatalf("got %v, want an R2T", p.Header.Opcode())
		}
		d := dataOut(itt, p.Header.R2T().TargetTransferTag(), 0, 0, true, in.statSN)
		in.writeBad(&d, make([]byte, 512), how)
		var err error
		for err == nil {
			_, err = in.r.Read()
		}
		if !errors.Is(err, io.EOF) && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.ErrClosedPipe) {
			t.Fatalf("%v: read after the spoiled Data-Out: %v, want the connection closed", how, err)
		}
		if s := srv.Stats(); s.RecoveryR2Ts != 0 {
			t.Errorf("recovery R2T at ErrorRecoveryLevel 0: %+v", s)
		}
	}
}

// snack sends a SNACK Request (RFC 7143 §11.16) with the ExpStatSN given.
func (in *initiator) snack(typ pdu.SNACKType, itt, ttt, begRun, runLength, expStatSN uint32) {
	in.t.Helper()
	var h pdu.BHS
	s := h.SNACKRequest()
	s.Init()
	s.SetType(typ)
	s.SetLUN(lunOf(0))
	s.SetInitiatorTaskTag(itt)
	s.SetTargetTransferTag(ttt)
	s.SetExpStatSN(expStatSN)
	s.SetBegRun(begRun)
	s.SetRunLength(runLength)
	in.write(&h, nil)
}

// ping sends a NOP-Out with expStatSN and waits for its NOP-In: the
// target's writer has handled everything queued before it.
func (in *initiator) ping(expStatSN uint32) {
	in.t.Helper()
	itt := in.nextITT()
	h := nopOutWithTag(itt)
	n := h.NOPOut()
	n.SetCmdSN(in.cmdSN)
	n.SetExpStatSN(expStatSN)
	in.write(h, nil)
	p := in.read()
	if p.Header.Opcode() != pdu.OpNOPIn || p.Header.InitiatorTaskTag() != itt {
		in.t.Fatalf("ping answered by %v", p.Header.String())
	}
}

// rawPDU is a copy of a PDU received.
type rawPDU struct {
	h    pdu.BHS
	data []byte
}

// readRaw reads the next PDU without the StatSN checks of read: a resent
// response carries a StatSN already seen.
func (in *initiator) readRaw() rawPDU {
	in.t.Helper()
	p, err := in.r.Read()
	if err != nil {
		in.t.Fatalf("read: %v", err)
	}
	return rawPDU{h: p.Header, data: bytes.Clone(p.Data)}
}

// readTask sends a READ of blocks blocks with ExpStatSN frozen at
// expStatSN and returns the PDUs of its answer.
func (in *initiator) readTask(itt uint32, cdb []byte, edtl uint32, expStatSN uint32) []rawPDU {
	in.t.Helper()
	var h pdu.BHS
	cmd := h.SCSICommand()
	cmd.Init()
	cmd.SetFinal(true)
	cmd.SetRead(true)
	cmd.SetAttributes(pdu.TaskSimple)
	cmd.SetLUN(lunOf(0))
	cmd.SetInitiatorTaskTag(itt)
	cmd.SetExpectedDataTransferLength(edtl)
	cmd.SetCmdSN(in.cmdSN)
	cmd.SetExpStatSN(expStatSN)
	cmd.SetCDB(cdb)
	in.cmdSN++
	in.write(&h, nil)
	var out []rawPDU
	for {
		p := in.read()
		out = append(out, rawPDU{h: p.Header, data: bytes.Clone(p.Data)})
		switch p.Header.Opcode() {
		case pdu.OpSCSIDataIn:
			if p.Header.DataIn().StatusPresent() {
				return out
			}
		case pdu.OpSCSIResponse:
			return out
		default:
			in.t.Fatalf("unexpected %v", p.Header.Opcode())
		}
	}
}

// TestERL1SNACK answers Data and Status SNACKs (RFC 7143 §11.16.1) with
// the PDUs first sent, byte for byte, from what the target retains.
func TestERL1SNACK(t *testing.T) {
	st := erl1Settings(func(s *login.Settings) { s.MaxRecvDataSegmentLength = 512 })
	srv, in := dialERL1(t, st, 240, Limits{})
	exp := in.statSN
	itt := in.nextITT()
	// A READ of 4 blocks in 512-byte segments: Data-In DataSN 0 to 3, the
	// status in the last, which carries the A bit (§11.7.2).
	orig := in.readTask(itt, cdbRW10(scsi.OpRead10, 0, 4), 2048, exp)
	if len(orig) != 4 {
		t.Fatalf("%d PDUs, want 4 Data-In", len(orig))
	}
	last := orig[3].h.DataIn()
	if !last.Acknowledge() || last.TargetTransferTag() == pdu.ReservedTag || !last.StatusPresent() {
		t.Fatalf("last Data-In: A %v, TTT %#x, S %v; want A set with a Target Transfer Tag", last.Acknowledge(), last.TargetTransferTag(), last.StatusPresent())
	}
	readStatSN := last.StatSN()
	// A READ past the end: CHECK CONDITION in a SCSI Response with sense.
	bad := in.readTask(in.nextITT(), cdbRW10(scsi.OpRead10, testBlocks, 1), 512, exp)
	if len(bad) != 1 || bad[0].h.Opcode() != pdu.OpSCSIResponse || len(bad[0].data) == 0 {
		t.Fatalf("READ past the end: %d PDUs", len(bad))
	}
	badStatSN := bad[0].h.SCSIResponse().StatSN()

	tt0 := in.t
	tests := []struct {
		name             string
		typ              pdu.SNACKType
		itt              uint32
		begRun, runLen   uint32
		want             []rawPDU
		wantRejectReason pdu.RejectReason
	}{
		{name: "Data SNACK DataSN 1", typ: pdu.SNACKDataR2T, itt: itt, begRun: 1, runLen: 1, want: orig[1:2]},
		{name: "Data SNACK from DataSN 2", typ: pdu.SNACKDataR2T, itt: itt, begRun: 2, want: orig[2:]},
		{name: "Data SNACK DataSN 0 and 1", typ: pdu.SNACKDataR2T, itt: itt, begRun: 0, runLen: 2, want: orig[:2]},
		{name: "Data SNACK beyond the Data-In sent", typ: pdu.SNACKDataR2T, itt: itt, begRun: 3, runLen: 2, wantRejectReason: pdu.RejectProtocolError},
		{name: "Data SNACK for an unknown task", typ: pdu.SNACKDataR2T, itt: 0x7777, begRun: 0, wantRejectReason: pdu.RejectSNACKReject},
		{name: "Status SNACK in Data-In", typ: pdu.SNACKStatus, itt: pdu.ReservedTag, begRun: readStatSN, runLen: 1, want: orig[3:]},
		{name: "Status SNACK SCSI Response", typ: pdu.SNACKStatus, itt: pdu.ReservedTag, begRun: badStatSN, runLen: 1, want: bad},
		{name: "Status SNACK both", typ: pdu.SNACKStatus, itt: pdu.ReservedTag, begRun: readStatSN, runLen: 2, want: append(orig[3:4:4], bad...)},
		{name: "Status SNACK never sent", typ: pdu.SNACKStatus, itt: pdu.ReservedTag, begRun: badStatSN + 1000, runLen: 1, wantRejectReason: pdu.RejectProtocolError},
		// Served for a retained task (TestERL1RDataSNACK).
		{name: "R-Data SNACK for an unknown task", typ: pdu.SNACKRData, itt: 0x7777, wantRejectReason: pdu.RejectSNACKReject},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in.t = t
			defer func() { in.t = tt0 }()
			ttt := pdu.ReservedTag
			if tt.typ == pdu.SNACKRData {
				ttt = 5
			}
			in.snack(tt.typ, tt.itt, ttt, tt.begRun, tt.runLen, exp)
			if tt.wantRejectReason != 0 {
				p := in.read()
				if p.Header.Opcode() != pdu.OpReject || p.Header.Reject().Reason() != tt.wantRejectReason {
					t.Fatalf("got %v, want a Reject with reason %v", p.Header.String(), tt.wantRejectReason)
				}
				return
			}
			for i, w := range tt.want {
				got := in.readRaw()
				if !sameResent(got, w) {
					t.Fatalf("PDU %d resent as\n%v\nwant\n%v", i, got.h.String(), w.h.String())
				}
			}
			in.ping(exp)
		})
	}
	s := srv.Stats()
	if s.DataSNACKs != 3 || s.StatusSNACKs != 3 || s.RejectedSNACKs != 4 {
		t.Errorf("stats %+v: want 3 Data SNACKs, 3 Status SNACKs, 4 rejected", s)
	}
	in.logout()
}

// TestERL1DataACK: a DataACK (RFC 7143 §11.16.1) frees the Data-In the
// target retained, whose Data SNACK is then rejected, while the status
// stays until ExpStatSN acknowledges it (§11.7.2), which frees the rest.
func TestERL1DataACK(t *testing.T) {
	st := erl1Settings(nil)
	srv, in := dialERL1(t, st, 241, Limits{})
	exp := in.statSN
	itt := in.nextITT()
	const size = 64 << 10
	pdus := in.readTask(itt, cdbRW10(scsi.OpRead10, 0, size/512), size, exp)
	last := pdus[len(pdus)-1].h.DataIn()
	statSN := last.StatSN()
	in.ping(exp)
	before := srv.Stats().RetainedBytes
	if before < size {
		t.Fatalf("RetainedBytes %d after a READ of %d bytes", before, size)
	}
	var h pdu.BHS
	s := h.SNACKRequest()
	s.Init()
	s.SetType(pdu.SNACKDataACK)
	s.SetLUN(lunOf(0))
	s.SetInitiatorTaskTag(pdu.ReservedTag)
	s.SetTargetTransferTag(last.TargetTransferTag())
	s.SetExpStatSN(exp)
	s.SetBegRun(last.DataSN() + 1)
	in.write(&h, nil)
	// The DataACK is applied after the writer's flush: two pings.
	in.ping(exp)
	in.ping(exp)
	after := srv.Stats().RetainedBytes
	if before-after < size-1024 {
		t.Fatalf("RetainedBytes %d before the DataACK, %d after: not freed", before, after)
	}
	// The Data-In is gone (acknowledged: Protocol Error, §11.16), the
	// status is not: a SCSI Response with its StatSN and GOOD.
	in.snack(pdu.SNACKDataR2T, itt, pdu.ReservedTag, 0, 0, exp)
	if p := in.read(); p.Header.Opcode() != pdu.OpReject || p.Header.Reject().Reason() != pdu.RejectProtocolError {
		t.Fatalf("Data SNACK after the DataACK answered by %v", p.Header.String())
	}
	in.snack(pdu.SNACKStatus, pdu.ReservedTag, pdu.ReservedTag, statSN, 1, exp)
	p := in.readRaw()
	if r := p.h.SCSIResponse(); p.h.Opcode() != pdu.OpSCSIResponse || r.StatSN() != statSN || scsi.Status(r.Status()) != scsi.StatusGood ||
		r.ExpDataSN() != uint32(len(pdus)) || r.InitiatorTaskTag() != itt {
		t.Fatalf("Status SNACK after the DataACK answered by %v", p.h.String())
	}
	// A DataACK for a tag no Data-In carried.
	s.SetTargetTransferTag(last.TargetTransferTag() + 100)
	in.write(&h, nil)
	if p := in.read(); p.Header.Opcode() != pdu.OpReject || p.Header.Reject().Reason() != pdu.RejectInvalidDataAck {
		t.Fatalf("DataACK with an unknown tag answered by %v", p.Header.String())
	}
	// ExpStatSN past everything: nothing is retained but the last ping's
	// NOP-In.
	in.ping(in.statSN)
	in.ping(in.statSN)
	acked := srv.Stats().RetainedBytes
	if acked > int64(2*statusRetainCost) {
		t.Errorf("RetainedBytes %d after ExpStatSN acknowledged everything", acked)
	}
	t.Logf("RetainedBytes %d after a READ of %d bytes, %d after its DataACK, %d once ExpStatSN passed its status", before, size, after, acked)
	in.snack(pdu.SNACKStatus, pdu.ReservedTag, pdu.ReservedTag, statSN, 1, in.statSN)
	if p := in.read(); p.Header.Opcode() != pdu.OpReject || p.Header.Reject().Reason() != pdu.RejectProtocolError {
		t.Fatalf("Status SNACK for an acknowledged status answered by %v", p.Header.String())
	}
	if st := srv.Stats(); st.DataACKs != 1 {
		t.Errorf("DataACKs %d, want 1", st.DataACKs)
	}
	in.logout()
	if r := srv.Stats().RetainedBytes; r != 0 {
		t.Errorf("RetainedBytes %d after logout", r)
	}
}

// TestERL1RetainBytes: beyond Limits.RetainBytes the target retains
// nothing more, sets no A bit, and rejects a SNACK for what it did not
// retain with reason SNACK Reject.
func TestERL1RetainBytes(t *testing.T) {
	const limit = 16 << 10
	st := erl1Settings(nil)
	srv, in := dialERL1(t, st, 242, Limits{RetainBytes: limit})
	exp := in.statSN
	itt := in.nextITT()
	pdus := in.readTask(itt, cdbRW10(scsi.OpRead10, 0, 64), 64*512, exp)
	last := pdus[len(pdus)-1].h.DataIn()
	if last.Acknowledge() {
		t.Error("A bit set on Data-In the target does not retain")
	}
	in.snack(pdu.SNACKDataR2T, itt, pdu.ReservedTag, 0, 0, exp)
	if p := in.read(); p.Header.Opcode() != pdu.OpReject || p.Header.Reject().Reason() != pdu.RejectSNACKReject {
		t.Fatalf("Data SNACK for data not retained answered by %v", p.Header.String())
	}
	// A small READ still fits.
	small := in.nextITT()
	pdus = in.readTask(small, cdbRW10(scsi.OpRead10, 0, 1), 512, exp)
	in.snack(pdu.SNACKDataR2T, small, pdu.ReservedTag, 0, 0, exp)
	if got := in.readRaw(); !sameResent(got, pdus[0]) {
		t.Fatalf("Data SNACK for a retained READ answered by %v", got.h.String())
	}
	for range 200 {
		in.ping(exp)
		if r := srv.Stats().RetainedBytes; r > limit {
			t.Fatalf("RetainedBytes %d beyond Limits.RetainBytes %d", r, limit)
		}
	}
	in.logout()
}

// TestERL1R2TSNACK: an R2T SNACK (RFC 7143 §11.16.1) for a WRITE waiting
// for its data gets the outstanding R2T again, as first sent.
func TestERL1R2TSNACK(t *testing.T) {
	st := erl1Settings(func(s *login.Settings) { s.InitialR2T, s.ImmediateData = true, false })
	srv, in := dialERL1(t, st, 243, Limits{})
	itt := in.nextITT()
	in.send(scsiCommand{ITT: itt, LUN: lunOf(0), Attr: pdu.TaskSimple, CDB: cdbRW10(scsi.OpWrite10, 0, 2), EDTL: 1024, Write: true})
	r2t := in.readRaw()
	if r2t.h.Opcode() != pdu.OpR2T {
		t.Fatalf("got %v, want an R2T", r2t.h.Opcode())
	}
	in.snack(pdu.SNACKDataR2T, itt, pdu.ReservedTag, 0, 0, in.statSN)
	if got := in.readRaw(); got.h != r2t.h {
		t.Fatalf("R2T SNACK answered by\n%v\nwant\n%v", got.h.String(), r2t.h.String())
	}
	in.snack(pdu.SNACKDataR2T, itt, pdu.ReservedTag, 1, 1, in.statSN)
	if p := in.read(); p.Header.Opcode() != pdu.OpReject || p.Header.Reject().Reason() != pdu.RejectProtocolError {
		t.Fatalf("R2T SNACK for an R2T never sent answered by %v", p.Header.String())
	}
	in.sendData(itt, lunOf(0), r2t.h.R2T().TargetTransferTag(), make([]byte, 1024), 0, 1024)
	if p := in.read(); p.Header.Opcode() != pdu.OpSCSIResponse || scsi.Status(p.Header.SCSIResponse().Status()) != scsi.StatusGood {
		t.Fatalf("WRITE answered by %v", p.Header.String())
	}
	if s := srv.Stats(); s.R2TSNACKs != 1 {
		t.Errorf("R2TSNACKs %d, want 1", s.R2TSNACKs)
	}
	in.logout()
}

// TestErrorRecoveryLevelNegotiation: the target offers at most
// ErrorRecoveryLevel 1 (RFC 7143 §13.20: the outcome is the lower offer),
// 1 when its Settings are nil, and 2 is lowered to 1.
func TestErrorRecoveryLevelNegotiation(t *testing.T) {
	tests := []struct {
		name      string
		target    *uint8 // nil: Server.Settings nil
		initiator uint8
		want      uint8
	}{
		{"default target, initiator 0", nil, 0, 0},
		{"default target, initiator 1", nil, 1, 1},
		{"default target, initiator 2", nil, 2, 2},
		{"target 0, initiator 1", ptr(uint8(0)), 1, 0},
		{"target 1, initiator 2", ptr(uint8(1)), 2, 1},
		{"target 2, initiator 2", ptr(uint8(2)), 2, 2},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var ts *login.Settings
			if tt.target != nil {
				s := login.DefaultSettings()
				s.ErrorRecoveryLevel = *tt.target
				ts = &s
			}
			srv := newTestServer(t, ts)
			is := login.DefaultSettings()
			is.ErrorRecoveryLevel = tt.initiator
			in := dial(t, srv, &is, isid(uint16(250+i)))
			if got := in.res.Session.ErrorRecoveryLevel; got != tt.want {
				t.Fatalf("ErrorRecoveryLevel %d, want %d", got, tt.want)
			}
			in.logout()
		})
	}
}

// sameResent reports whether a PDU sent again is the one first sent, but
// for ExpCmdSN and MaxCmdSN (bytes 28 to 35), which carry their current
// values (RFC 7143 §4.2.2.1).
func sameResent(got, want rawPDU) bool {
	copy(got.h[28:36], want.h[28:36])
	return got.h == want.h && bytes.Equal(got.data, want.data)
}

func ptr[T any](v T) *T { return &v }

// TestERL1HeaderDigest: at ErrorRecoveryLevel 1 a PDU with a header digest
// error is discarded and the connection goes on (RFC 7143 §7.8), unless
// maxBadHeaders come in a row, after which the stream is taken to be
// framed wrongly and the connection ends.
func TestERL1HeaderDigest(t *testing.T) {
	tests := []struct {
		name  string
		bad   int
		alive bool
	}{
		{"one", 1, true},
		{"below the bound", maxBadHeaders - 1, true},
		{"the bound", maxBadHeaders, false},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, in := dialERL1(t, erl1Settings(nil), uint16(260+i), Limits{})
			for range tt.bad {
				var h pdu.BHS
				n := h.NOPOut()
				n.Init()
				n.SetImmediate(true)
				n.SetInitiatorTaskTag(in.nextITT())
				n.SetTargetTransferTag(pdu.ReservedTag)
				n.SetCmdSN(in.cmdSN)
				n.SetExpStatSN(in.statSN)
				in.writeBad(&h, []byte("lost ping"), corruptHeader)
			}
			if tt.alive {
				if got := in.nop([]byte("ping")); string(got) != "ping" {
					t.Fatalf("NOP-In data %q", got)
				}
				in.logout()
			} else {
				var err error
				for err == nil {
					_, err = in.r.Read()
				}
			}
			if s := srv.Stats(); s.HeaderDigestErrors != uint64(tt.bad) {
				t.Errorf("HeaderDigestErrors %d, want %d", s.HeaderDigestErrors, tt.bad)
			}
		})
	}
}

// TestERL0SNACKRejected: with ErrorRecoveryLevel 0 negotiated against a
// target that offers 1, a SNACK is rejected with reason Protocol Error as
// before (RFC 7143 §11.16 requires SNACK support only at level 1 and
// above), the last Data-In carries no A bit (§11.7.2) and nothing is
// retained.
func TestERL0SNACKRejected(t *testing.T) {
	srv := newTestServer(t, nil)
	in := dial(t, srv, nil, isid(270))
	if in.res.Session.ErrorRecoveryLevel != 0 {
		t.Fatalf("ErrorRecoveryLevel %d, want 0", in.res.Session.ErrorRecoveryLevel)
	}
	in.command(lunOf(0), cdbTestUnitReady, 0, false, nil)
	itt := in.nextITT()
	pdus := in.readTask(itt, cdbRW10(scsi.OpRead10, 0, 8), 4096, in.statSN)
	if d := pdus[len(pdus)-1].h.DataIn(); d.Acknowledge() || d.TargetTransferTag() != pdu.ReservedTag {
		t.Errorf("last Data-In with A %v and TTT %#x at ErrorRecoveryLevel 0", d.Acknowledge(), d.TargetTransferTag())
	}
	for _, typ := range []pdu.SNACKType{pdu.SNACKDataR2T, pdu.SNACKStatus, pdu.SNACKRData} {
		tag, ttt := itt, pdu.ReservedTag
		switch typ {
		case pdu.SNACKStatus:
			tag = pdu.ReservedTag
		case pdu.SNACKRData:
			ttt = 7 // a SNACK Tag (§11.16.5)
		}
		in.snack(typ, tag, ttt, 0, 0, in.statSN)
		if p := in.read(); p.Header.Opcode() != pdu.OpReject || p.Header.Reject().Reason() != pdu.RejectProtocolError {
			t.Fatalf("%v SNACK answered by %v", typ, p.Header.String())
		}
	}
	if s := srv.Stats(); s.RetainedBytes != 0 || s.DataSNACKs != 0 || s.StatusSNACKs != 0 || s.RDataSNACKs != 0 {
		t.Errorf("stats at ErrorRecoveryLevel 0: %+v", s)
	}
	in.logout()
}

// TestERL1DataOutManyLosses writes 64 KiB in 512-byte Data-Out PDUs of
// which a pseudo-random tenth is spoiled, recovery R2Ts included: each
// loss is asked for again until the data is whole (RFC 7143 §7.2), with
// one or several R2Ts outstanding (§13.17, §13.19).
func TestERL1DataOutManyLosses(t *testing.T) {
	const size = 64 << 10
	tests := []struct {
		name    string
		mod     func(*login.Settings)
		headers bool // spoil headers too, leaving gaps (needs DataPDUInOrder)
	}{
		{name: "in order", headers: true, mod: func(s *login.Settings) {}},
		{name: "sequences out of order, 4 R2Ts", headers: true, mod: func(s *login.Settings) {
			s.DataSequenceInOrder, s.MaxOutstandingR2T = false, 4
		}},
		{name: "PDUs out of order", mod: func(s *login.Settings) { s.DataPDUInOrder = false }},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := erl1Settings(func(s *login.Settings) {
				s.InitialR2T, s.ImmediateData = true, false
				s.MaxBurstLength, s.FirstBurstLength = 16<<10, 16<<10
				tt.mod(s)
			})
			srv, in := dialERL1(t, st, uint16(280+i), Limits{})
			pattern := make([]byte, size)
			for j := range pattern {
				pattern[j] = byte(j*13 + j>>9)
			}
			rnd := uint32(12345 + i)
			next := func() uint32 {
				rnd ^= rnd << 13
				rnd ^= rnd >> 17
				rnd ^= rnd << 5
				return rnd
			}
			itt := in.nextITT()
			in.send(scsiCommand{ITT: itt, LUN: lunOf(0), Attr: pdu.TaskSimple, CDB: cdbRW10(scsi.OpWrite10, 100, size/512), EDTL: size, Write: true})
			sent, spoiled, rejects, r2ts := 0, 0, 0, 0
		loop:
			for {
				p := in.read()
				switch p.Header.Opcode() {
				case pdu.OpReject:
					rejects++
				case pdu.OpR2T:
					r2ts++
					r := p.Header.R2T()
					off, end := r.BufferOffset(), r.BufferOffset()+r.DesiredDataTransferLength()
					for sn := uint32(0); off < end; sn++ {
						l := min(512, end-off)
						final := off+l == end
						d := dataOut(itt, r.TargetTransferTag(), sn, off, final, in.statSN)
						how := corruptNone
						if next()%10 == 0 {
							how = corruptData
							if tt.headers && !final && next()%2 == 0 {
								how = corruptHeader
							}
							spoiled++
						}
						in.writeBad(&d, pattern[off:off+l], how)
						sent++
						off += l
					}
				case pdu.OpSCSIResponse:
					if s := scsi.Status(p.Header.SCSIResponse().Status()); s != scsi.StatusGood {
						t.Fatalf("WRITE ended with %v", s)
					}
					break loop
				default:
					t.Fatalf("unexpected %v", p.Header.Opcode())
				}
			}
			if spoiled == 0 {
				t.Fatal("nothing spoiled")
			}
			sp := in.res.Session
			t.Logf("MaxOutstandingR2T %d, DataSequenceInOrder %v, DataPDUInOrder %v: %d Data-Out PDUs sent for %d, %d spoiled, %d rejected, %d R2Ts",
				sp.MaxOutstandingR2T, sp.DataSequenceInOrder, sp.DataPDUInOrder, sent, size/512, spoiled, rejects, r2ts)
			res := in.command(lunOf(0), cdbRW10(scsi.OpRead10, 100, size/512), size, true, nil)
			if res.Status != scsi.StatusGood || !bytes.Equal(res.Data, pattern) {
				t.Fatalf("READ back: status %v, data equal %v", res.Status, bytes.Equal(res.Data, pattern))
			}
			s := srv.Stats()
			if got := s.DataDigestErrors + s.HeaderDigestErrors; got != uint64(spoiled) || s.DataDigestErrors != uint64(rejects) {
				t.Errorf("%d PDUs spoiled, %d rejected; stats %+v", spoiled, rejects, s)
			}
			if s.RecoveryR2Ts == 0 || uint64(r2ts) != size/(16<<10)+s.RecoveryR2Ts {
				t.Errorf("%d R2Ts, stats %+v", r2ts, s)
			}
			in.logout()
		})
	}
}

// TestStalledDataOutRecovered: at ErrorRecoveryLevel 1 a WRITE whose
// Data-Out stops coming before the final PDU of its R2T's sequence (lost
// to a header digest error, which the initiator cannot see) is not left
// to Limits.DataOutTimeout: after half of it the target pings, and on the
// answer asks for the rest with a recovery R2T (RFC 7143 §7.2, §7.8); the
// WRITE then completes and reads back equal.
func TestStalledDataOutRecovered(t *testing.T) {
	srv := newTestServer(t, erl1Settings(nil))
	srv.Limits.DataOutTimeout = time.Second
	in := dial(t, srv, erl1Settings(nil), pdu.NewISID(pdu.ISIDRandom, 0, 94, 0, 1))
	in.command(lunOf(0), make([]byte, 6), 0, false, nil) // takes the unit attention of the new nexus
	out := bytes.Repeat([]byte("stalled!"), 1024)        // 8 KiB
	itt := in.nextITT()
	in.send(scsiCommand{ITT: itt, LUN: lunOf(0), Attr: pdu.TaskSimple, CDB: cdbRW10(scsi.OpWrite10, 8, 16), EDTL: uint32(len(out)), Write: true})
	p := in.read()
	if p.Header.Opcode() != pdu.OpR2T {
		t.Fatalf("WRITE answered by %v, want R2T", p.Header.String())
	}
	r2t := p.Header.R2T()
	if r2t.BufferOffset() != 0 || r2t.DesiredDataTransferLength() != uint32(len(out)) {
		t.Fatalf("R2T for %d+%d, want 0+%d", r2t.BufferOffset(), r2t.DesiredDataTransferLength(), len(out))
	}
	// The first half, not final; the second half is "lost".
	var h pdu.BHS
	d := h.DataOut()
	d.Init()
	d.SetLUN(lunOf(0))
	d.SetInitiatorTaskTag(itt)
	d.SetTargetTransferTag(r2t.TargetTransferTag())
	d.SetExpStatSN(in.statSN)
	in.write(&h, out[:4096])

	p = in.read()
	if p.Header.Opcode() != pdu.OpNOPIn || p.Header.InitiatorTaskTag() != pdu.ReservedTag {
		t.Fatalf("stalled Data-Out answered by %v, want a NOP-In ping", p.Header.String())
	}
	pong := nopOutWithTag(pdu.ReservedTag)
	pong.NOPOut().SetTargetTransferTag(p.Header.NOPIn().TargetTransferTag())
	pong.NOPOut().SetCmdSN(in.cmdSN)
	pong.NOPOut().SetExpStatSN(in.statSN)
	in.write(pong, nil)

	p = in.read()
	if p.Header.Opcode() != pdu.OpR2T || p.Header.InitiatorTaskTag() != itt {
		t.Fatalf("ping answered by %v, want a recovery R2T", p.Header.String())
	}
	rr := p.Header.R2T()
	if rr.BufferOffset() != 4096 || rr.DesiredDataTransferLength() != 4096 {
		t.Fatalf("recovery R2T for %d+%d, want 4096+4096", rr.BufferOffset(), rr.DesiredDataTransferLength())
	}
	in.sendData(itt, lunOf(0), rr.TargetTransferTag(), out, 4096, 4096)
	p = in.read()
	if p.Header.Opcode() != pdu.OpSCSIResponse || p.Header.SCSIResponse().Status() != uint8(scsi.StatusGood) {
		t.Fatalf("WRITE ended with %v", p.Header.String())
	}
	got := in.readBlocks(8, len(out))
	if !bytes.Equal(got, out) {
		t.Error("the WRITE read back different data")
	}
	if st := srv.Stats(); st.StalledDataOut != 1 || st.RecoveryR2Ts != 1 {
		t.Errorf("StalledDataOut %d, RecoveryR2Ts %d: want 1 and 1", st.StalledDataOut, st.RecoveryR2Ts)
	}
}
