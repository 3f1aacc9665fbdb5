package session

import (
	"testing"

	"github.com/go-iscsi/iscsi/login"
	"github.com/go-iscsi/iscsi/pdu"
	"github.com/go-iscsi/iscsi/scsi"
)

// benchCommand sends one SCSI command and reads PDUs until its status,
// answering R2Ts from out, without keeping the data: the initiator side
// costs as little as the pdu Reader and Writer allow, so that the figures
// are the target's.
func benchCommand(b testing.TB, in *initiator, h *pdu.BHS, out []byte) {
	cmd := h.SCSICommand()
	cmd.SetCmdSN(in.cmdSN)
	cmd.SetExpStatSN(in.statSN)
	in.cmdSN++
	if err := in.w.Write(h, nil, nil); err != nil {
		b.Fatal(err)
	}
	var d pdu.BHS
	for {
		p, err := in.r.Read()
		if err != nil {
			b.Fatal(err)
		}
		switch p.Header.Opcode() {
		case pdu.OpSCSIDataIn:
			if !p.Header.DataIn().StatusPresent() {
				continue
			}
		case pdu.OpR2T:
			r := p.Header.R2T()
			off, n := r.BufferOffset(), r.DesiredDataTransferLength()
			seg := in.res.Conn.MaxXmitDataSegmentLength
			ttt := r.TargetTransferTag()
			for sn := uint32(0); n > 0; sn++ {
				l := min(seg, n)
				do := d.DataOut()
				do.Init()
				do.SetInitiatorTaskTag(cmd.InitiatorTaskTag())
				do.SetTargetTransferTag(ttt)
				do.SetDataSN(sn)
				do.SetBufferOffset(off)
				do.SetFinal(l == n)
				if err := in.w.Write(&d, nil, out[off:off+l]); err != nil {
					b.Fatal(err)
				}
				off += l
				n -= l
			}
			continue
		case pdu.OpSCSIResponse:
		default:
			b.Fatalf("unexpected %v", p.Header.Opcode())
		}
		in.statSN++
		return
	}
}

// TestZeroAllocs checks that a READ and a WRITE of 4 KiB in steady state
// allocate nothing, target and test initiator together, over loopback TCP
// (net.Pipe allocates a timer each time the target sets a write deadline).
func TestZeroAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("sync.Pool drops items at random under the race detector")
	}
	for _, write := range []bool{false, true} {
		in, h, out := ioSetupOn(t, dialLoopback, write, 4096)
		for range 10 {
			benchCommand(t, in, h, out)
		}
		if n := testing.AllocsPerRun(200, func() { benchCommand(t, in, h, out) }); n != 0 {
			t.Errorf("write %v: %v allocations per command, want 0", write, n)
		}
		in.logout()
	}
}

func ioSetup(b testing.TB, write bool, size uint32) (*initiator, *pdu.BHS, []byte) {
	return ioSetupOn(b, dial, write, size)
}

// ioSetupOn is ioSetup logging in with dialer.
func ioSetupOn(b testing.TB, dialer func(testing.TB, *Server, *login.Settings, pdu.ISID) *initiator, write bool, size uint32) (*initiator, *pdu.BHS, []byte) {
	srv := newTestServer(b, nil)
	in := dialer(b, srv, nil, isid(200))
	in.command(lunOf(0), cdbTestUnitReady, 0, false, nil)
	blocks := uint16(size / 512)
	h := new(pdu.BHS)
	cmd := h.SCSICommand()
	cmd.Init()
	cmd.SetFinal(true)
	cmd.SetAttributes(pdu.TaskSimple)
	cmd.SetInitiatorTaskTag(1)
	cmd.SetExpectedDataTransferLength(size)
	var out []byte
	if write {
		cmd.SetWrite(true)
		cmd.SetCDB(cdbRW10(scsi.OpWrite10, 0, blocks))
		out = make([]byte, size)
	} else {
		cmd.SetRead(true)
		cmd.SetCDB(cdbRW10(scsi.OpRead10, 0, blocks))
	}
	return in, h, out
}

func benchmarkIO(b *testing.B, write bool, size uint32) {
	in, h, out := ioSetup(b, write, size)
	benchCommand(b, in, h, out)
	b.SetBytes(int64(size))
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		benchCommand(b, in, h, out)
	}
}

func BenchmarkRead4K(b *testing.B)    { benchmarkIO(b, false, 4096) }
func BenchmarkRead256K(b *testing.B)  { benchmarkIO(b, false, 256<<10) }
func BenchmarkWrite4K(b *testing.B)   { benchmarkIO(b, true, 4096) }
func BenchmarkWrite256K(b *testing.B) { benchmarkIO(b, true, 256<<10) }
