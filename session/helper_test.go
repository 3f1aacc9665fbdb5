package session

import (
	"context"
	"encoding/binary"
	"fmt"
	"net"
	"testing"
	"time"

	"github.com/go-iscsi/iscsi/login"
	"github.com/go-iscsi/iscsi/pdu"
	"github.com/go-iscsi/iscsi/scsi"
	"github.com/go-iscsi/iscsi/scsi/disk"
)

const (
	testTarget    = "iqn.2026-11.org.example.go-iscsi:session-test"
	testInitiator = "iqn.2026-11.org.example.go-iscsi:initiator"
	testBlocks    = 16384 // 8 MiB of 512-byte blocks per logical unit
)

// newTestServer returns a Server offering testTarget with memory disks at
// LUN 0 and LUN 1 of testBlocks blocks each; settings, if not nil, are the
// target's operational values.
func newTestServer(t testing.TB, settings *login.Settings) *Server {
	t.Helper()
	luns := make(map[scsi.LUN]LogicalUnit)
	for i := range 2 {
		lu, err := disk.New(disk.NewMemory(testBlocks*512), disk.Config{SerialNumber: fmt.Sprintf("SESSION%d", i)})
		if err != nil {
			t.Fatal(err)
		}
		l, _ := scsi.EncodeLUN(uint16(i))
		luns[l] = lu
	}
	return &Server{
		Targets:  []Target{{Name: testTarget, Alias: "session test", LUNs: luns}},
		Settings: settings,
	}
}

// initiator is the initiator side of one test connection, built on
// login.Initiate and the pdu Reader and Writer. It checks every PDU the
// target sends against the sequencing rules of RFC 7143 as it reads it.
type initiator struct {
	t       testing.TB
	c       net.Conn
	r       *pdu.Reader
	w       *pdu.Writer
	res     *login.Result
	served  chan error
	cmdSN   uint32
	statSN  uint32 // the StatSN expected next
	itt     uint32
	maxRecv uint32
}

// dial runs srv.ServeConn on one end of a net.Pipe and logs in on the
// other with settings (nil: defaults) and isid.
func dial(t testing.TB, srv *Server, settings *login.Settings, isid pdu.ISID) *initiator {
	t.Helper()
	a, b := net.Pipe()
	return dialOn(t, srv, settings, isid, a, b)
}

// dialLoopback is dial over a loopback TCP connection. Unlike net.Pipe's, its
// deadlines allocate nothing when they are set, so allocation counts are
// the session's own.
func dialLoopback(t testing.TB, srv *Server, settings *login.Settings, isid pdu.ISID) *initiator {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	accepted := make(chan net.Conn, 1)
	go func() {
		c, err := l.Accept()
		if err != nil {
			c = nil
		}
		accepted <- c
	}()
	a, err := net.Dial("tcp", l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	b := <-accepted
	if b == nil {
		a.Close()
		t.Fatal("loopback accept failed")
	}
	return dialOn(t, srv, settings, isid, a, b)
}

// dialOn logs in as dial does over a, with the target serving b.
func dialOn(t testing.TB, srv *Server, settings *login.Settings, isid pdu.ISID, a, b net.Conn) *initiator {
	t.Helper()
	served := make(chan error, 1)
	go func() { served <- srv.ServeConn(context.Background(), b) }()
	a.SetDeadline(time.Now().Add(60 * time.Second))
	in := &initiator{t: t, c: a, r: pdu.NewReader(a), w: pdu.NewWriter(a), served: served}
	t.Cleanup(func() {
		a.Close()
		<-served
	})
	st := login.DefaultSettings()
	if settings != nil {
		st = *settings
	}
	res, err := login.Initiate(context.Background(), in.r, in.w, login.InitiatorConfig{
		InitiatorName: testInitiator, TargetName: testTarget, ISID: isid,
		InitiatorTaskTag: 0x1000, CmdSN: 1, Settings: &st,
	})
	if err != nil {
		t.Fatalf("login: %v", err)
	}
	in.res = res
	in.cmdSN = res.CmdSN
	in.statSN = res.StatSN + 1
	in.maxRecv = st.MaxRecvDataSegmentLength
	return in
}

func (in *initiator) nextITT() uint32 {
	in.itt++
	return in.itt
}

// read reads the next PDU and checks StatSN: a PDU carrying status must
// carry the next StatSN (RFC 7143 §4.2.2.2).
func (in *initiator) read() *pdu.PDU {
	in.t.Helper()
	p, err := in.r.Read()
	if err != nil {
		in.t.Fatalf("read: %v", err)
	}
	if n := uint32(len(p.Data)); n > in.maxRecv {
		in.t.Fatalf("%v with %d bytes of data, more than MaxRecvDataSegmentLength %d", p.Header.Opcode(), n, in.maxRecv)
	}
	h := &p.Header
	carries := false
	switch h.Opcode() {
	case pdu.OpSCSIResponse, pdu.OpTaskManagementResponse, pdu.OpTextResponse, pdu.OpLogoutResponse, pdu.OpReject:
		carries = true
	case pdu.OpNOPIn:
		carries = h.InitiatorTaskTag() != pdu.ReservedTag
	case pdu.OpSCSIDataIn:
		carries = h.DataIn().StatusPresent()
	}
	if carries {
		got := binary.BigEndian.Uint32(h[24:28])
		if got != in.statSN {
			in.t.Fatalf("%v with StatSN %d, want %d", h.Opcode(), got, in.statSN)
		}
		in.statSN++
	}
	return p
}

func (in *initiator) write(h *pdu.BHS, data []byte) {
	in.t.Helper()
	if err := in.w.Write(h, nil, data); err != nil {
		in.t.Fatalf("write: %v", err)
	}
}

// result is the outcome of one SCSI command as the initiator sees it.
type result struct {
	Status            scsi.Status
	Sense             []byte
	Data              []byte
	Underflow         bool
	Overflow          bool
	Residual          uint32
	DataInPDUs        int
	R2Ts              int
	StatusInLastData  bool
	MaxDataInSequence uint32
}

// scsiCommand describes a SCSI Command PDU for initiator.send.
type scsiCommand struct {
	ITT         uint32
	LUN         uint64
	Attr        pdu.TaskAttribute
	CDB         []byte
	EDTL        uint32 // ExpectedDataTransferLength
	Read, Write bool
	NotFinal    bool   // unsolicited Data-Out follows (F clear)
	Data        []byte // immediate data
}

// send sends c with the next CmdSN and the current ExpStatSN and returns
// that CmdSN.
func (in *initiator) send(c scsiCommand) uint32 {
	in.t.Helper()
	var h pdu.BHS
	cmd := h.SCSICommand()
	cmd.Init()
	cmd.SetFinal(!c.NotFinal)
	cmd.SetRead(c.Read)
	cmd.SetWrite(c.Write)
	cmd.SetAttributes(c.Attr)
	cmd.SetLUN(c.LUN)
	cmd.SetInitiatorTaskTag(c.ITT)
	cmd.SetExpectedDataTransferLength(c.EDTL)
	cmd.SetCmdSN(in.cmdSN)
	cmd.SetExpStatSN(in.statSN)
	cmd.SetCDB(c.CDB)
	in.cmdSN++
	in.write(&h, c.Data)
	return in.cmdSN - 1
}

// command runs one SCSI command to completion: it sends immediate and
// unsolicited data as the session's parameters allow, answers R2Ts, and
// gathers Data-In, checking DataSN, BufferOffset and burst lengths (RFC 7143
// §11.7, §11.8).
func (in *initiator) command(lun uint64, cdb []byte, edtl uint32, read bool, out []byte) result {
	in.t.Helper()
	sp := in.res.Session
	maxSeg := in.res.Conn.MaxXmitDataSegmentLength
	itt := in.nextITT()
	var imm []byte
	sent := uint32(0)
	firstBurst := min(sp.FirstBurstLength, uint32(len(out)))
	if out != nil && sp.ImmediateData {
		n := min(firstBurst, maxSeg)
		imm = out[:n]
		sent = n
	}
	unsolicited := out != nil && !sp.InitialR2T && sent < firstBurst
	in.send(scsiCommand{ITT: itt, LUN: lun, Attr: pdu.TaskSimple, CDB: cdb, EDTL: edtl,
		Read: read, Write: out != nil, NotFinal: unsolicited, Data: imm})
	if unsolicited {
		in.sendData(itt, lun, pdu.ReservedTag, out, sent, firstBurst-sent)
	}
	var res result
	var dataSN, offset, seq uint32
	for {
		p := in.read()
		switch p.Header.Opcode() {
		case pdu.OpR2T:
			r := p.Header.R2T()
			if r.InitiatorTaskTag() != itt || r.R2TSN() != uint32(res.R2Ts) {
				in.t.Fatalf("R2T ITT %d R2TSN %d, want %d and %d", r.InitiatorTaskTag(), r.R2TSN(), itt, res.R2Ts)
			}
			if r.DesiredDataTransferLength() > sp.MaxBurstLength {
				in.t.Fatalf("R2T of %d bytes beyond MaxBurstLength %d", r.DesiredDataTransferLength(), sp.MaxBurstLength)
			}
			res.R2Ts++
			in.sendData(itt, lun, r.TargetTransferTag(), out, r.BufferOffset(), r.DesiredDataTransferLength())
		case pdu.OpSCSIDataIn:
			d := p.Header.DataIn()
			if d.InitiatorTaskTag() != itt || d.DataSN() != dataSN || d.BufferOffset() != offset {
				in.t.Fatalf("Data-In ITT %d DataSN %d offset %d, want %d, %d, %d", d.InitiatorTaskTag(), d.DataSN(), d.BufferOffset(), itt, dataSN, offset)
			}
			dataSN++
			offset += uint32(len(p.Data))
			seq += uint32(len(p.Data))
			res.MaxDataInSequence = max(res.MaxDataInSequence, seq)
			if seq > sp.MaxBurstLength {
				in.t.Fatalf("Data-In sequence of %d bytes beyond MaxBurstLength %d", seq, sp.MaxBurstLength)
			}
			if d.Final() {
				seq = 0
			}
			res.Data = append(res.Data, p.Data...)
			res.DataInPDUs++
			if d.StatusPresent() {
				if !d.Final() {
					in.t.Fatal("Data-In with S and without F")
				}
				res.Status = scsi.Status(d.Status())
				res.Underflow, res.Overflow, res.Residual = d.ResidualUnderflow(), d.ResidualOverflow(), d.ResidualCount()
				res.StatusInLastData = true
				return res
			}
		case pdu.OpSCSIResponse:
			r := p.Header.SCSIResponse()
			if r.InitiatorTaskTag() != itt {
				in.t.Fatalf("SCSI Response ITT %d, want %d", r.InitiatorTaskTag(), itt)
			}
			if r.ExpDataSN() != dataSN {
				in.t.Fatalf("ExpDataSN %d after %d Data-In PDUs", r.ExpDataSN(), dataSN)
			}
			res.Status = scsi.Status(r.Status())
			res.Underflow, res.Overflow, res.Residual = r.ResidualUnderflow(), r.ResidualOverflow(), r.ResidualCount()
			if len(p.Data) >= 2 {
				n := int(binary.BigEndian.Uint16(p.Data))
				if 2+n > len(p.Data) {
					in.t.Fatalf("SenseLength %d in %d bytes", n, len(p.Data))
				}
				res.Sense = append([]byte(nil), p.Data[2:2+n]...)
			}
			return res
		default:
			in.t.Fatalf("unexpected %v during a command", p.Header.Opcode())
		}
	}
}

// sendData sends out[off:off+n] as one Data-Out sequence for ttt.
func (in *initiator) sendData(itt uint32, lun uint64, ttt uint32, out []byte, off, n uint32) {
	in.t.Helper()
	maxSeg := in.res.Conn.MaxXmitDataSegmentLength
	end := off + n
	for sn := uint32(0); off < end; sn++ {
		l := min(maxSeg, end-off)
		var h pdu.BHS
		d := h.DataOut()
		d.Init()
		d.SetLUN(lun)
		d.SetInitiatorTaskTag(itt)
		d.SetTargetTransferTag(ttt)
		d.SetExpStatSN(in.statSN)
		d.SetDataSN(sn)
		d.SetBufferOffset(off)
		d.SetFinal(off+l == end)
		in.write(&h, out[off:off+l])
		off += l
	}
}

// nop sends a NOP-Out ping with data and returns the NOP-In's data.
func (in *initiator) nop(data []byte) []byte {
	in.t.Helper()
	itt := in.nextITT()
	h := nopOutWithTag(itt)
	n := h.NOPOut()
	n.SetCmdSN(in.cmdSN)
	n.SetExpStatSN(in.statSN)
	in.write(h, data)
	p := in.read()
	if p.Header.Opcode() != pdu.OpNOPIn || p.Header.InitiatorTaskTag() != itt {
		in.t.Fatalf("ping answered by %v ITT %d", p.Header.Opcode(), p.Header.InitiatorTaskTag())
	}
	return append([]byte(nil), p.Data...)
}

// logout closes the session and checks that ServeConn returned nil.
func (in *initiator) logout() {
	in.t.Helper()
	itt := in.nextITT()
	var h pdu.BHS
	lr := h.LogoutRequest()
	lr.Init()
	lr.SetImmediate(true)
	lr.SetReasonCode(pdu.LogoutCloseSession)
	lr.SetInitiatorTaskTag(itt)
	lr.SetCmdSN(in.cmdSN)
	lr.SetExpStatSN(in.statSN)
	in.write(&h, nil)
	p := in.read()
	if p.Header.Opcode() != pdu.OpLogoutResponse || p.Header.LogoutResponse().Response() != pdu.LogoutClosedSuccessfully {
		in.t.Fatalf("logout answered by %v", p.Header.String())
	}
	if err := <-in.served; err != nil {
		in.t.Fatalf("ServeConn after logout: %v", err)
	}
	in.served <- nil
}

// tmf sends a Task Management Function Request and returns the response
// code.
func (in *initiator) tmf(fn pdu.TaskManagementFunction, lun uint64, ref, refCmdSN uint32) pdu.TaskManagementResponseCode {
	in.t.Helper()
	return in.tmfRequest(fn, lun, ref, refCmdSN, 0)
}

// tmfRequest sends a Task Management Function Request with every field a
// function may use (RFC 7143 §11.5: RefCmdSN, and ExpDataSN for TASK
// REASSIGN) and returns the response code.
func (in *initiator) tmfRequest(fn pdu.TaskManagementFunction, lun uint64, ref, refCmdSN, expDataSN uint32) pdu.TaskManagementResponseCode {
	in.t.Helper()
	itt := in.nextITT()
	var h pdu.BHS
	tm := h.TaskManagementRequest()
	tm.Init()
	tm.SetImmediate(true)
	tm.SetFunction(fn)
	tm.SetLUN(lun)
	tm.SetInitiatorTaskTag(itt)
	tm.SetReferencedTaskTag(ref)
	tm.SetRefCmdSN(refCmdSN)
	tm.SetExpDataSN(expDataSN)
	tm.SetCmdSN(in.cmdSN)
	tm.SetExpStatSN(in.statSN)
	in.write(&h, nil)
	p := in.read()
	if p.Header.Opcode() != pdu.OpTaskManagementResponse || p.Header.InitiatorTaskTag() != itt {
		in.t.Fatalf("%v answered by %v", fn, p.Header.String())
	}
	return p.Header.TaskManagementResponse().Response()
}

func lunOf(n uint16) uint64 {
	l, _ := scsi.EncodeLUN(n)
	return l.Uint64()
}

func senseKeyOf(t testing.TB, b []byte) scsi.Sense {
	t.Helper()
	s, err := scsi.ParseSense(b)
	if err != nil {
		t.Fatalf("sense %x: %v", b, err)
	}
	return s
}

// nopOutWithTag returns an immediate NOP-Out ping (RFC 7143 §11.18) with
// Initiator Task Tag itt and no Target Transfer Tag.
func nopOutWithTag(itt uint32) *pdu.BHS {
	var h pdu.BHS
	n := h.NOPOut()
	n.Init()
	n.SetImmediate(true)
	n.SetInitiatorTaskTag(itt)
	n.SetTargetTransferTag(pdu.ReservedTag)
	return &h
}
