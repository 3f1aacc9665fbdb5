package session

import (
	"bytes"
	"strconv"
	"strings"
	"testing"

	"github.com/go-iscsi/iscsi/login"
	"github.com/go-iscsi/iscsi/pdu"
	"github.com/go-iscsi/iscsi/scsi"
	"github.com/google/go-cmp/cmp"
)

// text sends one immediate Text Request with F set and a reserved Target
// Transfer Tag carrying kv (NUL-terminated), and returns the opcode and
// data of the PDU that answers it.
func (in *initiator) text(kv string) (pdu.Opcode, string) {
	in.t.Helper()
	return in.textAt(kv, in.statSN)
}

// textAt is text with ExpStatSN expStatSN, which may hold back the
// acknowledgment of responses the target is to retain.
func (in *initiator) textAt(kv string, expStatSN uint32) (pdu.Opcode, string) {
	in.t.Helper()
	itt := in.nextITT()
	var h pdu.BHS
	r := h.TextRequest()
	r.Init()
	r.SetImmediate(true)
	r.SetFinal(true)
	r.SetInitiatorTaskTag(itt)
	r.SetTargetTransferTag(pdu.ReservedTag)
	r.SetCmdSN(in.cmdSN)
	r.SetExpStatSN(expStatSN)
	in.write(&h, append([]byte(kv), 0))
	p := in.read()
	return p.Header.Opcode(), string(p.Data)
}

// TestTextRequestInFullFeaturePhase checks the answers to Text Requests of
// a normal session: a key the target does not know is answered
// key=NotUnderstood (RFC 7143 §6.2.1), a SendTargets value that is not
// allowed is answered SendTargets=Reject (§6.2.1, Appendix C), both in a
// Text Response, and the session goes on.
func TestTextRequestInFullFeaturePhase(t *testing.T) {
	srv := newTestServer(t, nil)
	in := dial(t, srv, nil, pdu.ISID{0x80, 0, 0, 0, 0, 0x31})
	for _, tc := range []struct {
		send, want string
	}{
		{"SendTargetsPlease=All", "SendTargetsPlease=NotUnderstood\x00"},
		{"X-org.example.unknown=1", "X-org.example.unknown=NotUnderstood\x00"},
		{"SendTargets=Alle", "SendTargets=Reject\x00"},
		{"SendTargets=A", "SendTargets=Reject\x00"},
	} {
		op, got := in.text(tc.send)
		if op != pdu.OpTextResponse {
			t.Fatalf("%q answered by %v", tc.send, op)
		}
		if diff := cmp.Diff(tc.want, got); diff != "" {
			t.Errorf("%q answered (-want +got):\n%s", tc.send, diff)
		}
	}
	in.nop(nil)
	in.logout()
}

// TestTextMaxRecvDataSegmentLength declares the initiator's
// MaxRecvDataSegmentLength anew in full feature phase (RFC 7143 §13.12:
// declarative, allowed in every phase): the target answers with its own
// declaration, and the Data-In of a 64 KiB READ after the answer come in
// segments of the new length, with the data intact. A value out of
// 512..2^24-1 or malformed is answered Reject and changes nothing; a
// reserved constant is rejected (§6.2); the other keys are answered as
// before.
func TestTextMaxRecvDataSegmentLength(t *testing.T) {
	srv := newTestServer(t, nil)
	st := login.DefaultSettings()
	st.MaxRecvDataSegmentLength = 64 << 10
	in := dial(t, srv, &st, isid(250))
	in.command(lunOf(0), cdbTestUnitReady, 0, false, nil)
	const size = 64 << 10
	pattern := blockPattern(size, 7)
	in.writeBlocks(64, pattern)
	own := "MaxRecvDataSegmentLength=" + strconv.Itoa(int(in.res.Conn.MaxXmitDataSegmentLength)) + "\x00"
	tests := []struct {
		name, send string
		wantOp     pdu.Opcode
		want       string
		seg        uint32 // the Data-In segments of a READ after the answer
	}{
		{name: "before any declaration", seg: 64 << 10},
		{name: "4096", send: "MaxRecvDataSegmentLength=4096", wantOp: pdu.OpTextResponse, want: own, seg: 4096},
		{name: "below 512", send: "MaxRecvDataSegmentLength=511", wantOp: pdu.OpTextResponse, want: "MaxRecvDataSegmentLength=Reject\x00", seg: 4096},
		{name: "zero", send: "MaxRecvDataSegmentLength=0", wantOp: pdu.OpTextResponse, want: "MaxRecvDataSegmentLength=Reject\x00", seg: 4096},
		{name: "beyond 2^24-1", send: "MaxRecvDataSegmentLength=16777216", wantOp: pdu.OpTextResponse, want: "MaxRecvDataSegmentLength=Reject\x00", seg: 4096},
		{name: "not a number", send: "MaxRecvDataSegmentLength=4k", wantOp: pdu.OpTextResponse, want: "MaxRecvDataSegmentLength=Reject\x00", seg: 4096},
		{name: "reserved constant", send: "MaxRecvDataSegmentLength=Irrelevant", wantOp: pdu.OpReject, seg: 4096},
		{name: "a login-only key", send: "MaxBurstLength=4096", wantOp: pdu.OpTextResponse, want: "MaxBurstLength=Reject\x00", seg: 4096},
		{name: "with an unknown key", send: "X-org.example.k=1\x00MaxRecvDataSegmentLength=512", wantOp: pdu.OpTextResponse,
			want: "X-org.example.k=NotUnderstood\x00" + own, seg: 512},
		{name: "hexadecimal, larger again", send: "MaxRecvDataSegmentLength=0x4000", wantOp: pdu.OpTextResponse, want: own, seg: 16384},
		{name: "SendTargets", send: "SendTargets=", wantOp: pdu.OpTextResponse, want: "TargetName=" + testTarget, seg: 16384},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t0 := in.t
			in.t = t
			defer func() { in.t = t0 }()
			if tt.send != "" {
				op, got := in.text(tt.send)
				if op != tt.wantOp {
					t.Fatalf("%q answered by %v", tt.send, op)
				}
				if op == pdu.OpTextResponse && !strings.HasPrefix(got, tt.want) {
					t.Errorf("%q answered %q, want %q", tt.send, got, tt.want)
				}
			}
			// read fails on a data segment beyond in.maxRecv.
			in.maxRecv = tt.seg
			res := in.command(lunOf(0), cdbRW10(scsi.OpRead10, 64, size/512), size, true, nil)
			if res.Status != scsi.StatusGood || !bytes.Equal(res.Data, pattern) {
				t.Fatalf("READ: status %v, %d bytes, data as written %v", res.Status, len(res.Data), bytes.Equal(res.Data, pattern))
			}
			if want := int(size / tt.seg); res.DataInPDUs != want {
				t.Errorf("READ in %d Data-In, want %d of %d bytes", res.DataInPDUs, want, tt.seg)
			}
		})
	}
	in.logout()
}
