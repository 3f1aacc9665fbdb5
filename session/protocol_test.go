package session

import (
	"context"
	"errors"
	"net"
	"testing"
	"time"

	"github.com/go-iscsi/iscsi/login"
	"github.com/go-iscsi/iscsi/pdu"
	"github.com/go-iscsi/iscsi/scsi"
)

// TestDigests runs commands with CRC32C header and data digests agreed
// (RFC 7143 §13.1).
func TestDigests(t *testing.T) {
	st := login.DefaultSettings()
	st.HeaderDigest, st.DataDigest = login.DigestPrefer, login.DigestPrefer
	srv := newTestServer(t, &st)
	in := dial(t, srv, &st, isid(20))
	if !in.res.Conn.HeaderDigest || !in.res.Conn.DataDigest {
		t.Fatalf("digests not agreed: %+v", in.res.Conn)
	}
	in.command(lunOf(0), cdbTestUnitReady, 0, false, nil)
	data := make([]byte, 64<<10)
	for i := range data {
		data[i] = byte(i * 7)
	}
	if w := in.command(lunOf(0), cdbRW10(scsi.OpWrite10, 8, 128), 64<<10, false, data); w.Status != scsi.StatusGood {
		t.Fatalf("WRITE: %v", w.Status)
	}
	r := in.command(lunOf(0), cdbRW10(scsi.OpRead10, 8, 128), 64<<10, true, nil)
	if r.Status != scsi.StatusGood || string(r.Data) != string(data) {
		t.Fatalf("READ: %v, %d bytes", r.Status, len(r.Data))
	}
	in.logout()
}

// TestLogoutReasons checks the Logout Response codes of RFC 7143 §11.15.1
// for requests that cannot be honoured, after which the connection stays.
func TestLogoutReasons(t *testing.T) {
	srv := newTestServer(t, nil)
	in := dial(t, srv, nil, isid(21))
	tests := []struct {
		name   string
		reason pdu.LogoutReason
		cid    uint16
		want   pdu.LogoutResponseCode
	}{
		{name: "close another connection", reason: pdu.LogoutCloseConnection, cid: 9, want: pdu.LogoutCIDNotFound},
		{name: "remove for recovery", reason: pdu.LogoutRemoveConnectionForRecovery, cid: 0, want: pdu.LogoutRecoveryNotSupported},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var h pdu.BHS
			lr := h.LogoutRequest()
			lr.Init()
			lr.SetImmediate(true)
			lr.SetReasonCode(tt.reason)
			lr.SetCID(tt.cid)
			lr.SetInitiatorTaskTag(in.nextITT())
			lr.SetCmdSN(in.cmdSN)
			in.write(&h, nil)
			p := in.read()
			if p.Header.Opcode() != pdu.OpLogoutResponse {
				t.Fatalf("answered by %v", p.Header.Opcode())
			}
			if got := p.Header.LogoutResponse().Response(); got != tt.want {
				t.Errorf("response %v, want %v", got, tt.want)
			}
			in.nop(nil)
		})
	}
	// Closing this connection by its CID succeeds.
	var h pdu.BHS
	lr := h.LogoutRequest()
	lr.Init()
	lr.SetImmediate(true)
	lr.SetReasonCode(pdu.LogoutCloseConnection)
	lr.SetCID(in.res.CID)
	lr.SetInitiatorTaskTag(in.nextITT())
	lr.SetCmdSN(in.cmdSN)
	in.write(&h, nil)
	if p := in.read(); p.Header.LogoutResponse().Response() != pdu.LogoutClosedSuccessfully {
		t.Fatalf("close connection: %v", p.Header.String())
	}
	if err := <-in.served; err != nil {
		t.Fatalf("ServeConn: %v", err)
	}
	in.served <- nil
}

// TestDataOutErrors sends Data-Out PDUs that break the rules of RFC 7143
// §11.7 and checks each is rejected while the task goes on.
func TestDataOutErrors(t *testing.T) {
	r2tOnly := login.DefaultSettings()
	r2tOnly.InitialR2T = true
	r2tOnly.ImmediateData = false
	srv := newTestServer(t, nil)
	in := dial(t, srv, &r2tOnly, isid(22))
	in.command(lunOf(0), cdbTestUnitReady, 0, false, nil)

	in.send(scsiCommand{ITT: 700, CDB: cdbRW10(scsi.OpWrite10, 0, 2), EDTL: 1024, Write: true})
	p := in.read()
	if p.Header.Opcode() != pdu.OpR2T {
		t.Fatalf("WRITE answered by %v", p.Header.Opcode())
	}
	ttt := p.Header.R2T().TargetTransferTag()
	dataOut := func(ttt, dataSN, offset uint32, n int) pdu.BHS {
		var h pdu.BHS
		d := h.DataOut()
		d.Init()
		d.SetFinal(true)
		d.SetInitiatorTaskTag(700)
		d.SetTargetTransferTag(ttt)
		d.SetDataSN(dataSN)
		d.SetBufferOffset(offset)
		h.SetDataSegmentLength(uint32(n))
		return h
	}
	tests := []struct {
		name   string
		h      pdu.BHS
		n      int
		reason pdu.RejectReason
	}{
		{name: "unknown Target Transfer Tag", h: dataOut(ttt+100, 0, 0, 1024), n: 1024, reason: pdu.RejectInvalidPDUField},
		{name: "DataSN out of order", h: dataOut(ttt, 3, 0, 1024), n: 1024, reason: pdu.RejectProtocolError},
		{name: "offset outside the R2T", h: dataOut(ttt, 0, 1024, 512), n: 512, reason: pdu.RejectProtocolError},
		{name: "unsolicited data under InitialR2T=Yes", h: dataOut(pdu.ReservedTag, 0, 0, 512), n: 512, reason: pdu.RejectProtocolError},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := tt.h
			in.write(&h, make([]byte, tt.n))
			p := in.read()
			if p.Header.Opcode() != pdu.OpReject || p.Header.Reject().Reason() != tt.reason {
				t.Fatalf("answered by %v", p.Header.String())
			}
		})
	}
	// The right Data-Out completes the WRITE.
	good := dataOut(ttt, 0, 0, 1024)
	in.write(&good, make([]byte, 1024))
	p = in.read()
	if p.Header.Opcode() != pdu.OpSCSIResponse || p.Header.SCSIResponse().Status() != uint8(scsi.StatusGood) {
		t.Fatalf("WRITE ended with %v", p.Header.String())
	}
	in.logout()
}

// TestDiscoveryRejectsCommands checks that a discovery session carries no
// SCSI command (RFC 7143 §4.3, §13.21).
func TestDiscoveryRejectsCommands(t *testing.T) {
	srv := newTestServer(t, nil)
	a, b := net.Pipe()
	served := make(chan error, 1)
	go func() { served <- srv.ServeConn(context.Background(), b) }()
	in := &initiator{t: t, c: a, r: pdu.NewReader(a), w: pdu.NewWriter(a), served: served, maxRecv: 8192}
	res, err := login.Initiate(context.Background(), in.r, in.w, login.InitiatorConfig{
		InitiatorName: testInitiator, SessionType: login.SessionDiscovery, ISID: isid(23), CmdSN: 1,
	})
	if err != nil {
		t.Fatal(err)
	}
	in.res, in.cmdSN, in.statSN = res, res.CmdSN, res.StatSN+1
	in.send(scsiCommand{ITT: 1, CDB: cdbTestUnitReady})
	if p := in.read(); p.Header.Opcode() != pdu.OpReject || p.Header.Reject().Reason() != pdu.RejectProtocolError {
		t.Fatalf("answered by %v", p.Header.String())
	}
	in.logout()
	a.Close()
}

// TestTextInNormalSession asks for SendTargets with an empty value in a
// normal session, which reports the session's own target (RFC 7143
// §13.3).
func TestTextInNormalSession(t *testing.T) {
	srv := newTestServer(t, nil)
	in := dial(t, srv, nil, isid(24))
	x := &login.TextExchange{ITT: in.nextITT(), CmdSN: in.cmdSN, ExpStatSN: in.statSN}
	targets, err := login.SendTargets(context.Background(), in.r, in.w, x, "")
	if err != nil {
		t.Fatal(err)
	}
	in.statSN++
	if len(targets) != 1 || targets[0].Name != testTarget {
		t.Fatalf("SendTargets: %+v", targets)
	}
	in.logout()
}

// TestNOPInPing checks the target's pings (RFC 7143 §11.19.1): each NOP-In
// carries a new Target Transfer Tag and the reserved Initiator Task Tag;
// answered, the connection stays; unanswered, it is dropped.
func TestNOPInPing(t *testing.T) {
	srv := newTestServer(t, nil)
	srv.Limits.NOPInInterval = time.Millisecond
	srv.Limits.NOPInTimeout = time.Second
	in := dial(t, srv, nil, isid(25))
	seen := make(map[uint32]bool)
	for range 3 {
		p := in.read()
		n := p.Header.NOPIn()
		if p.Header.Opcode() != pdu.OpNOPIn || n.InitiatorTaskTag() != pdu.ReservedTag || n.TargetTransferTag() == pdu.ReservedTag {
			t.Fatalf("ping %v", p.Header.String())
		}
		if seen[n.TargetTransferTag()] {
			t.Fatalf("Target Transfer Tag %d used twice", n.TargetTransferTag())
		}
		seen[n.TargetTransferTag()] = true
		if n.StatSN() != in.statSN {
			t.Errorf("ping StatSN %d, want %d", n.StatSN(), in.statSN)
		}
		var h pdu.BHS
		out := h.NOPOut()
		out.Init()
		out.SetImmediate(true)
		out.SetInitiatorTaskTag(pdu.ReservedTag)
		out.SetTargetTransferTag(n.TargetTransferTag())
		out.SetLUN(n.LUN())
		out.SetCmdSN(in.cmdSN)
		in.write(&h, nil)
	}
	// Stop answering: the next ping goes unanswered and the connection
	// ends.
	if p := in.read(); p.Header.Opcode() != pdu.OpNOPIn {
		t.Fatalf("unexpected %v", p.Header.String())
	}
	if err := <-in.served; !errors.Is(err, ErrNOPInTimeout) {
		t.Fatalf("ServeConn: %v, want ErrNOPInTimeout", err)
	}
	in.served <- nil
}
