package session

import (
	"context"
	"io"
	"net"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-iscsi/iscsi/login"
	"github.com/go-iscsi/iscsi/pdu"
	"github.com/go-iscsi/iscsi/scsi"
)

// fuzzPDU returns the wire form of header h with data, as the Writer sends
// it.
func fuzzPDU(h pdu.BHS, data []byte) []byte {
	p := pdu.PDU{Header: h, Data: data}
	p.Header.SetDataSegmentLength(uint32(len(data)))
	b, _ := p.AppendTo(nil, pdu.Digests{})
	return b
}

// seedRead is the seeds' READ(10) of 8 blocks (ITT 2, CmdSN 1).
func seedRead() pdu.BHS {
	var h pdu.BHS
	r := h.SCSICommand()
	r.Init()
	r.SetFinal(true)
	r.SetRead(true)
	r.SetInitiatorTaskTag(2)
	r.SetCmdSN(1)
	r.SetExpectedDataTransferLength(4096)
	r.SetCDB(cdbRW10(scsi.OpRead10, 0, 8))
	return h
}

// seedWrite is the seeds' WRITE(10) of 4 blocks (ITT 3, CmdSN 2), with
// the F bit when no unsolicited Data-Out follows.
func seedWrite(final bool) pdu.BHS {
	var h pdu.BHS
	w := h.SCSICommand()
	w.Init()
	w.SetFinal(final)
	w.SetWrite(true)
	w.SetInitiatorTaskTag(3)
	w.SetCmdSN(2)
	w.SetExpectedDataTransferLength(2048)
	w.SetCDB(cdbRW10(scsi.OpWrite10, 0, 4))
	return h
}

// fuzzSeeds are streams of full feature phase PDUs an initiator might send
// after login (CmdSN 1, ExpStatSN 2).
func fuzzSeeds() [][]byte {
	var nop pdu.BHS
	n := nop.NOPOut()
	n.Init()
	n.SetImmediate(true)
	n.SetInitiatorTaskTag(1)
	n.SetTargetTransferTag(pdu.ReservedTag)
	n.SetCmdSN(1)

	read, write := seedRead(), seedWrite(false)

	var out pdu.BHS
	d := out.DataOut()
	d.Init()
	d.SetFinal(true)
	d.SetInitiatorTaskTag(3)
	d.SetTargetTransferTag(pdu.ReservedTag)
	d.SetBufferOffset(512)

	var tmf pdu.BHS
	tm := tmf.TaskManagementRequest()
	tm.Init()
	tm.SetImmediate(true)
	tm.SetFunction(pdu.TMFAbortTask)
	tm.SetInitiatorTaskTag(4)
	tm.SetReferencedTaskTag(3)
	tm.SetCmdSN(3)
	tm.SetRefCmdSN(2)

	var logout pdu.BHS
	lo := logout.LogoutRequest()
	lo.Init()
	lo.SetImmediate(true)
	lo.SetInitiatorTaskTag(5)
	lo.SetCmdSN(3)

	cat := func(parts ...[]byte) []byte {
		var b []byte
		for _, p := range parts {
			b = append(b, p...)
		}
		return b
	}
	return [][]byte{
		fuzzPDU(nop, []byte("ping")),
		cat(fuzzPDU(read, nil), fuzzPDU(logout, nil)),
		cat(fuzzPDU(read, nil), fuzzPDU(write, make([]byte, 512)), fuzzPDU(out, make([]byte, 1024)), fuzzPDU(tmf, nil)),
		cat(fuzzPDU(write, make([]byte, 512)), fuzzPDU(tmf, nil), fuzzPDU(out, make([]byte, 1536))),
		{0x3f, 0x80, 0, 0, 0, 0, 0, 4, 1, 2, 3},
	}
}

// FuzzServeConn logs in, sends the fuzz input as the rest of the stream
// and checks that the target neither panics nor hangs: ServeConn returns
// once the initiator closes the connection.
func FuzzServeConn(f *testing.F) {
	for _, s := range fuzzSeeds() {
		f.Add(s)
	}
	open := login.DefaultSettings()
	open.InitialR2T = false
	srv := newTestServer(f, &open)
	var conns atomic.Uint32
	f.Fuzz(func(t *testing.T, stream []byte) {
		<-playAfterLogin(t, srv, open, uint16(conns.Add(1)), stream)
	})
}

// playAfterLogin logs in to srv over a pipe with settings and the ISID
// qualifier n, writes stream as the initiator's bytes after the login,
// closes its end once the target's answers are drained, and returns the
// channel ServeConn's result arrives on.
func playAfterLogin(t *testing.T, srv *Server, settings login.Settings, n uint16, stream []byte) <-chan error {
	t.Helper()
	a, b := net.Pipe()
	served := make(chan error, 1)
	go func() { served <- srv.ServeConn(context.Background(), b) }()
	a.SetDeadline(time.Now().Add(10 * time.Second))
	r, w := pdu.NewReader(a), pdu.NewWriter(a)
	if _, err := login.Initiate(context.Background(), r, w, login.InitiatorConfig{
		InitiatorName: testInitiator, TargetName: testTarget,
		ISID: isid(n), CmdSN: 1, Settings: &settings,
	}); err != nil {
		t.Fatal(err)
	}
	drained := make(chan struct{})
	go func() {
		io.Copy(io.Discard, a)
		close(drained)
	}()
	a.Write(stream)
	a.Close()
	<-drained
	return served
}
