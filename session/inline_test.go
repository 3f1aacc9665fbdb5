package session

import (
	"bytes"
	"testing"

	"github.com/go-iscsi/iscsi/pdu"
	"github.com/go-iscsi/iscsi/scsi"
	"github.com/go-iscsi/iscsi/scsi/disk"
)

// *disk.LU says which of its commands complete without waiting.
var _ InlineUnit = (*disk.LU)(nil)

// blockingBackend hides the NonBlocking method of the memory backend it
// wraps, as a backend over a device would not have it.
type blockingBackend struct{ m *disk.Memory }

func (b blockingBackend) ReadAt(p []byte, off int64) (int, error)  { return b.m.ReadAt(p, off) }
func (b blockingBackend) WriteAt(p []byte, off int64) (int, error) { return b.m.WriteAt(p, off) }
func (b blockingBackend) Size() int64                              { return b.m.Size() }

// inlineServer is newTestServer with LUN 0 over be.
func inlineServer(t *testing.T, be disk.Backend) *Server {
	t.Helper()
	srv := newTestServer(t, nil)
	lu, err := disk.New(be, disk.Config{SerialNumber: "INLINE0"})
	if err != nil {
		t.Fatal(err)
	}
	l, _ := scsi.EncodeLUN(0)
	srv.Targets[0].LUNs[l] = lu
	return srv
}

// inlineBackend is a backend the inline tests run over; inline says the
// reader runs its commands itself.
type inlineBackend struct {
	name   string
	be     disk.Backend
	inline bool
}

// inlineBackends are memory, which is inline, and one that may block.
func inlineBackends() []inlineBackend {
	return []inlineBackend{
		{"memory", disk.NewMemory(testBlocks * 512), true},
		{"blocking backend", blockingBackend{disk.NewMemory(testBlocks * 512)}, false},
	}
}

// TestInlineExecution checks that the reader of a connection runs the
// READs and WRITEs of a logical unit over a NonBlocking backend itself
// (ServerStats.InlineCommands), one at a time and pipelined, with the right
// data; and that those of any other backend, and commands the logical unit
// does not report as inline, go to the workers.
func TestInlineExecution(t *testing.T) {
	for _, tc := range inlineBackends() {
		t.Run(tc.name, func(t *testing.T) {
			srv := inlineServer(t, tc.be)
			in := dialLoopback(t, srv, nil, isid(40))
			before := srv.Stats().InlineCommands
			// The first command gets the unit attention of the power on
			// (SAM-5 §5.14); TEST UNIT READY is inline too.
			in.command(lunOf(0), cdbTestUnitReady, 0, false, nil)
			// One at a time: writes of 4 KiB (immediate data) and of
			// 256 KiB (R2Ts), each read back.
			rw := 1
			for i, n := range []int{4096, 256 << 10, 512, 64 << 10} {
				lba := uint32(i * 1024)
				want := blockPattern(n, byte(i+1))
				in.writeBlocks(lba, want)
				if got := in.readBlocks(lba, n); !bytes.Equal(got, want) {
					t.Fatalf("%d bytes at LBA %d read back differ", n, lba)
				}
				rw += 2
			}
			// INQUIRY is not inline for the logical unit.
			if r := in.command(lunOf(0), []byte{byte(scsi.OpInquiry), 0, 0, 0, 96, 0}, 96, true, nil); r.Status != scsi.StatusGood {
				t.Fatalf("INQUIRY: status %v", r.Status)
			}
			// Pipelined: 8 READs sent before any response is read.
			want := map[uint32][]byte{}
			for i := range 8 {
				itt := in.nextITT()
				lba := uint32(i * 1024)
				n := []int{4096, 256 << 10, 512, 64 << 10}[i%4]
				want[itt] = blockPattern(n, byte(i%4+1))
				in.send(scsiCommand{ITT: itt, LUN: lunOf(0), Attr: pdu.TaskSimple, CDB: cdbRW10(scsi.OpRead10, lba%4096, uint16(n/512)), EDTL: uint32(n), Read: true})
			}
			rw += 8
			got := in.readResponses(8)
			for itt, w := range want {
				if !bytes.Equal(got[itt], w) {
					t.Fatalf("pipelined READ ITT %d: %d bytes, want %d, or data differ", itt, len(got[itt]), len(w))
				}
			}
			n := srv.Stats().InlineCommands - before
			if tc.inline && n != uint64(rw) {
				t.Fatalf("InlineCommands grew by %d, want %d (the READs and WRITEs)", n, rw)
			}
			if !tc.inline && n != 1 {
				t.Fatalf("InlineCommands grew by %d over a blocking backend, want 1 (TEST UNIT READY, which reads no backend)", n)
			}
			in.logout()
		})
	}
}

// TestInlineTasksAttributes checks that inline execution keeps the order
// of task attributes (SAM-5 §8.6): a READ behind an ORDERED WRITE sent
// just before it sees the write's data.
func TestInlineTasksAttributes(t *testing.T) {
	srv := inlineServer(t, disk.NewMemory(testBlocks*512))
	in := dialLoopback(t, srv, nil, isid(41))
	in.command(lunOf(0), cdbTestUnitReady, 0, false, nil)
	before := srv.Stats().InlineCommands
	for round := range 20 {
		data := blockPattern(4096, byte(round))
		witt, ritt := in.nextITT(), in.nextITT()
		lba := uint32(round * 8)
		in.send(scsiCommand{ITT: witt, LUN: lunOf(0), Attr: pdu.TaskOrdered, CDB: cdbRW10(scsi.OpWrite10, lba, 8), EDTL: 4096, Write: true, Data: data})
		in.send(scsiCommand{ITT: ritt, LUN: lunOf(0), Attr: pdu.TaskSimple, CDB: cdbRW10(scsi.OpRead10, lba, 8), EDTL: 4096, Read: true})
		got := in.readResponses(2)[ritt]
		if !bytes.Equal(got, data) {
			t.Fatalf("round %d: the READ after an ORDERED WRITE did not see its data", round)
		}
	}
	if n := srv.Stats().InlineCommands - before; n != 40 {
		t.Fatalf("InlineCommands grew by %d, want 40: every ORDERED WRITE and SIMPLE READ inline", n)
	}
	in.logout()
}

// TestInlineDirectResponses checks that the reader of a TCP connection
// writes the responses of the commands it ran itself when the writer is
// idle and nothing more waits to be read (ServerStats.DirectResponses):
// every one of a run of READs and WRITEs sent one at a time; none over a
// blocking backend, whose commands go to the workers.
func TestInlineDirectResponses(t *testing.T) {
	for _, tc := range inlineBackends() {
		t.Run(tc.name, func(t *testing.T) {
			srv := inlineServer(t, tc.be)
			in := dialLoopback(t, srv, nil, isid(42))
			in.command(lunOf(0), cdbTestUnitReady, 0, false, nil)
			before := srv.Stats().DirectResponses
			for i := range 20 {
				want := blockPattern(4096, byte(i))
				in.writeBlocks(uint32(i*8), want)
				if got := in.readBlocks(uint32(i*8), 4096); !bytes.Equal(got, want) {
					t.Fatalf("round %d: 4 KiB read back differ", i)
				}
			}
			n := srv.Stats().DirectResponses - before
			if tc.inline && n != 40 {
				t.Fatalf("DirectResponses grew by %d, want 40: every 4 KiB WRITE and READ", n)
			}
			if !tc.inline && n != 0 {
				t.Fatalf("DirectResponses grew by %d over a blocking backend, want 0", n)
			}
			in.logout()
		})
	}
}

// readResponses reads the Data-In and SCSI Responses of n commands sent
// before, checks that each ended GOOD, and returns their Data-In by
// Initiator Task Tag.
func (in *initiator) readResponses(n int) map[uint32][]byte {
	in.t.Helper()
	got := map[uint32][]byte{}
	for done := 0; done < n; {
		p := in.read()
		switch p.Header.Opcode() {
		case pdu.OpSCSIDataIn:
			d := p.Header.DataIn()
			got[d.InitiatorTaskTag()] = append(got[d.InitiatorTaskTag()], p.Data...)
			if d.StatusPresent() {
				done++
			}
		case pdu.OpSCSIResponse:
			if s := p.Header.SCSIResponse().Status(); s != uint8(scsi.StatusGood) {
				in.t.Fatalf("ITT %d: status %#x", p.Header.InitiatorTaskTag(), s)
			}
			done++
		default:
			in.t.Fatalf("unexpected %v", p.Header.Opcode())
		}
	}
	return got
}
