//go:build unix

package session

import (
	"context"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/go-iscsi/iscsi/login"
	"github.com/go-iscsi/iscsi/pdu"
	"github.com/go-iscsi/iscsi/scsi"
)

// loadShape is one I/O load of the target benchmarks.
type loadShape struct {
	name    string
	size    uint32 // bytes per command
	qd      int
	write   bool
	random  bool
	digests bool
	erl1    bool // ErrorRecoveryLevel 1: responses retained for SNACKs
}

// pipeInitiator is the smallest initiator that keeps qd commands in
// flight on one TCP connection: login through package login, then SCSI
// Commands, Data-Out for the R2Ts and immediate data, all through the pdu
// Reader and Writer, which allocate nothing. What a benchmark counts
// beyond it is the target's.
type pipeInitiator struct {
	tb         testing.TB
	nc         net.Conn
	r          *pdu.Reader
	w          *pdu.Writer
	cmdSN      uint32
	expStatSN  uint32
	seg        uint32 // MaxXmitDataSegmentLength
	firstBurst uint32
	immediate  bool
	out        []byte // Data-Out of every write
	lba        uint32
	lbaSpan    uint32 // blocks a command may start in
	rnd        uint32
	// reads and writes count the initiator's system calls on the
	// connection, to tell them from the target's.
	reads, writes int64
}

// countingReader counts the Read calls that reach the connection, one
// system call each.
type countingReader struct {
	r io.Reader
	n *int64
}

func (c countingReader) Read(p []byte) (int, error) {
	*c.n++
	return c.r.Read(p)
}

// benchSettings are the values the Linux initiator proposes and a target
// configured for throughput accepts: 256 KiB segments and bursts, immediate
// data up to 256 KiB, so that a 128 KiB WRITE needs no R2T. (With the RFC
// default FirstBurstLength of 64 KiB a 128 KiB WRITE costs an R2T round
// trip and twice the target's read calls; PERFORMANCE.md has the figures.)
func benchSettings(digests bool) *login.Settings {
	st := login.DefaultSettings()
	st.MaxRecvDataSegmentLength = 256 << 10
	st.MaxBurstLength = 256 << 10
	st.FirstBurstLength = 256 << 10
	st.ImmediateData = true
	st.HeaderDigest, st.DataDigest = login.DigestRefuse, login.DigestRefuse
	if digests {
		st.HeaderDigest, st.DataDigest = login.DigestRequire, login.DigestRequire
	}
	return &st
}

// startBenchTarget serves newTestServer on a loopback TCP listener and logs
// in a pipeInitiator to it.
func startBenchTarget(tb testing.TB, l loadShape) *pipeInitiator {
	tb.Helper()
	st := benchSettings(l.digests)
	if l.erl1 {
		st.ErrorRecoveryLevel = 1
	}
	srv := newTestServer(tb, st)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ctx, ln) }()
	nc, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		nc.Close()
		cancel()
		if err := <-served; err != nil && !errors.Is(err, context.Canceled) {
			tb.Errorf("Serve: %v", err)
		}
	})
	in := &pipeInitiator{tb: tb, nc: nc, w: pdu.NewWriter(nc), rnd: 1}
	in.r = pdu.NewReader(countingReader{nc, &in.reads})
	res, err := login.Initiate(ctx, in.r, in.w, login.InitiatorConfig{
		InitiatorName: testInitiator, TargetName: testTarget, ISID: isid(300),
		InitiatorTaskTag: 0x1000, CmdSN: 1, Settings: st,
	})
	if err != nil {
		tb.Fatalf("login: %v", err)
	}
	if l.erl1 && res.Session.ErrorRecoveryLevel != 1 {
		tb.Fatalf("ErrorRecoveryLevel %d negotiated, want 1", res.Session.ErrorRecoveryLevel)
	}
	d := pdu.Digests{Header: res.Conn.HeaderDigest, Data: res.Conn.DataDigest}
	if d.Header != l.digests || d.Data != l.digests {
		tb.Fatalf("digests negotiated %+v, want %v", d, l.digests)
	}
	in.r.SetDigests(d)
	in.w.SetDigests(d)
	in.r.SetMaxRecvDataSegmentLength(res.Conn.MaxRecvDataSegmentLength)
	in.cmdSN, in.expStatSN = res.CmdSN, res.StatSN+1
	in.seg = res.Conn.MaxXmitDataSegmentLength
	in.firstBurst = res.Session.FirstBurstLength
	in.immediate = res.Session.ImmediateData
	in.out = make([]byte, l.size)
	for i := range in.out {
		in.out[i] = byte(i * 7)
	}
	in.lbaSpan = testBlocks - l.size/512
	in.testUnitReady()
	return in
}

// testUnitReady takes the POWER ON unit attention of a new I_T nexus (SAM-5
// §5.14) with a TEST UNIT READY, whose status it does not check.
func (in *pipeInitiator) testUnitReady() {
	var h pdu.BHS
	cmd := h.SCSICommand()
	cmd.Init()
	cmd.SetFinal(true)
	cmd.SetAttributes(pdu.TaskSimple)
	cmd.SetInitiatorTaskTag(0x2000)
	cmd.SetCmdSN(in.cmdSN)
	cmd.SetExpStatSN(in.expStatSN)
	cmd.SetCDB(make([]byte, 6))
	in.cmdSN++
	in.writes++
	if err := in.w.Write(&h, nil, nil); err != nil {
		in.tb.Fatal(err)
	}
	p, err := in.r.Read()
	if err != nil {
		in.tb.Fatal(err)
	}
	if p.Header.Opcode() != pdu.OpSCSIResponse {
		in.tb.Fatalf("TEST UNIT READY answered with %v", p.Header.Opcode())
	}
	in.expStatSN = binary.BigEndian.Uint32(p.Header[24:28]) + 1
}

// issue queues the command of slot itt: the next LBA of the load, and the
// immediate data of a write.
func (in *pipeInitiator) issue(l loadShape, itt uint32) {
	blocks := uint16(l.size / 512)
	if l.random {
		// A xorshift step: 4 KiB-aligned LBAs spread over the disk.
		in.rnd ^= in.rnd << 13
		in.rnd ^= in.rnd >> 17
		in.rnd ^= in.rnd << 5
		in.lba = (in.rnd % in.lbaSpan) &^ 7
	} else if in.lba += uint32(blocks); in.lba > in.lbaSpan {
		in.lba = 0
	}
	var h pdu.BHS
	cmd := h.SCSICommand()
	cmd.Init()
	cmd.SetFinal(true)
	cmd.SetAttributes(pdu.TaskSimple)
	cmd.SetInitiatorTaskTag(itt)
	cmd.SetExpectedDataTransferLength(l.size)
	cmd.SetCmdSN(in.cmdSN)
	cmd.SetExpStatSN(in.expStatSN)
	in.cmdSN++
	var cdb [10]byte
	binary.BigEndian.PutUint32(cdb[2:], in.lba)
	binary.BigEndian.PutUint16(cdb[7:], blocks)
	var imm []byte
	if l.write {
		cdb[0] = byte(scsi.OpWrite10)
		cmd.SetWrite(true)
		if in.immediate {
			imm = in.out[:min(l.size, in.firstBurst, in.seg)]
		}
	} else {
		cdb[0] = byte(scsi.OpRead10)
		cmd.SetRead(true)
	}
	cmd.SetCDB(cdb[:])
	if err := in.w.Queue(&h, nil, imm); err != nil {
		in.tb.Fatal(err)
	}
}

// flush sends the queued PDUs, before the initiator waits for the target:
// like a real initiator's event loop, it answers all the completions it
// read together with one write.
func (in *pipeInitiator) flush() {
	if in.w.Queued() == 0 {
		return
	}
	in.writes++
	if err := in.w.Flush(); err != nil {
		in.tb.Fatal(err)
	}
}

// answerR2T sends the Data-Out an R2T solicits (RFC 7143 §11.8).
func (in *pipeInitiator) answerR2T(h *pdu.BHS) {
	r := h.R2T()
	off, n := r.BufferOffset(), r.DesiredDataTransferLength()
	var d pdu.BHS
	for sn := uint32(0); n > 0; sn++ {
		l := min(in.seg, n)
		do := d.DataOut()
		do.Init()
		do.SetInitiatorTaskTag(r.InitiatorTaskTag())
		do.SetTargetTransferTag(r.TargetTransferTag())
		do.SetExpStatSN(in.expStatSN)
		do.SetDataSN(sn)
		do.SetBufferOffset(off)
		do.SetFinal(l == n)
		if err := in.w.Queue(&d, nil, in.out[off:off+l]); err != nil {
			in.tb.Fatal(err)
		}
		off += l
		n -= l
	}
}

// complete reads PDUs until one command ends, answering R2Ts on the way,
// and returns its Initiator Task Tag.
func (in *pipeInitiator) complete() uint32 {
	for {
		if in.r.Buffered() < pdu.BHSLength {
			in.flush()
		}
		p, err := in.r.Read()
		if err != nil {
			in.tb.Fatal(err)
		}
		h := &p.Header
		switch h.Opcode() {
		case pdu.OpSCSIDataIn:
			d := h.DataIn()
			if !d.StatusPresent() {
				continue
			}
			if d.Status() != uint8(scsi.StatusGood) {
				in.tb.Fatalf("status %#x", d.Status())
			}
		case pdu.OpR2T:
			in.answerR2T(h)
			continue
		case pdu.OpSCSIResponse:
			if st := h.SCSIResponse().Status(); st != uint8(scsi.StatusGood) {
				in.tb.Fatalf("status %#x", st)
			}
		default:
			in.tb.Fatalf("unexpected %v", h.Opcode())
		}
		in.expStatSN = binary.BigEndian.Uint32(h[24:28]) + 1
		return h.InitiatorTaskTag()
	}
}

// warm writes the whole disk once, so that the memory backend has
// allocated its chunks before the measurement, then fills the pools with
// 4*qd commands of l. Read loads need the disk written too: a read of
// blocks never written is a clear of the command's buffer in the memory
// backend, not a copy, and reads would look cheaper than writes by that
// copy.
func (in *pipeInitiator) warm(l loadShape) {
	seq := l
	seq.random, seq.write = false, true
	in.run(seq, testBlocks*512/int(l.size))
	in.run(l, 4*l.qd)
}

// run completes n commands of load l, keeping l.qd in flight.
func (in *pipeInitiator) run(l loadShape, n int) {
	inFlight := 0
	for itt := uint32(0); itt < uint32(min(l.qd, n)); itt++ {
		in.issue(l, itt)
		inFlight++
	}
	issued := inFlight
	for inFlight > 0 {
		itt := in.complete()
		inFlight--
		if issued < n {
			in.issue(l, itt)
			issued++
			inFlight++
		}
	}
}

var targetLoads = []loadShape{
	{name: "4k-randread-qd32", size: 4 << 10, qd: 32, random: true},
	{name: "4k-randwrite-qd32", size: 4 << 10, qd: 32, random: true, write: true},
	{name: "128k-seqread-qd32", size: 128 << 10, qd: 32},
	{name: "128k-seqwrite-qd32", size: 128 << 10, qd: 32, write: true},
	{name: "4k-randread-qd1", size: 4 << 10, qd: 1, random: true},
	{name: "4k-randwrite-qd1", size: 4 << 10, qd: 1, random: true, write: true},
}

// BenchmarkTarget drives an in-process target over loopback TCP with a
// pipelined pdu-level initiator, per load, with digests off and on. One
// op is one SCSI command; allocs/op are the target's (the initiator
// allocates none).
func BenchmarkTarget(b *testing.B) {
	for _, l := range targetLoads {
		for _, dig := range []bool{false, true} {
			l := l
			l.digests = dig
			name := l.name + "/digest=none"
			if dig {
				name = l.name + "/digest=crc32c"
			}
			b.Run(name, func(b *testing.B) {
				in := startBenchTarget(b, l)
				in.warm(l)
				b.SetBytes(int64(l.size))
				b.ReportAllocs()
				b.ResetTimer()
				cpu0 := cpuTime(b)
				r0, w0 := syscallCounts(b)
				ir0, iw0 := in.reads, in.writes
				in.run(l, b.N)
				cpu := cpuTime(b) - cpu0
				r1, w1 := syscallCounts(b)
				b.StopTimer()
				n := float64(b.N)
				b.ReportMetric(float64(r1-r0-(in.reads-ir0))/n, "target-reads/op")
				b.ReportMetric(float64(w1-w0-(in.writes-iw0))/n, "target-writes/op")
				b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "IOPS")
				b.ReportMetric(float64(cpu)/float64(b.N), "cpu-ns/op")
			})
		}
	}
}

// cpuTime returns the user and system CPU time of the process so far, in
// nanoseconds: on a shared machine it varies less than wall time, and it
// counts the work of every goroutine, target and initiator.
func cpuTime(tb testing.TB) int64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		tb.Fatal(err)
	}
	return ru.Utime.Nano() + ru.Stime.Nano()
}

// syscallCounts returns the read and write system calls of the process so
// far (syscr and syscw of /proc/self/io, Linux), or -1, -1 where the file
// is missing.
func syscallCounts(tb testing.TB) (reads, writes int64) {
	b, err := os.ReadFile("/proc/self/io")
	if err != nil {
		return -1, -1
	}
	reads, writes = -1, -1
	for line := range strings.SplitSeq(string(b), "\n") {
		k, v, ok := strings.Cut(line, ": ")
		if !ok {
			continue
		}
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			tb.Fatalf("/proc/self/io: %q", line)
		}
		switch k {
		case "syscr":
			reads = n
		case "syscw":
			writes = n
		}
	}
	return reads, writes
}

// TestTargetPipelinedZeroAllocs checks that the target allocates nothing
// per command in steady state with 32 commands in flight over TCP, for
// reads and writes, with and without digests.
func TestTargetPipelinedZeroAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("sync.Pool drops items at random under the race detector")
	}
	for _, l := range []loadShape{
		{name: "4k-randread", size: 4 << 10, qd: 32, random: true},
		{name: "4k-randwrite", size: 4 << 10, qd: 32, random: true, write: true},
		{name: "128k-seqread", size: 128 << 10, qd: 32},
		{name: "128k-seqwrite-crc32c", size: 128 << 10, qd: 32, write: true, digests: true},
		// At ErrorRecoveryLevel 1 the responses retained for SNACKs,
		// released as ExpStatSN advances, cost nothing per command
		// either.
		{name: "4k-randread-erl1", size: 4 << 10, qd: 32, random: true, erl1: true},
		{name: "128k-seqwrite-crc32c-erl1", size: 128 << 10, qd: 32, write: true, digests: true, erl1: true},
	} {
		t.Run(l.name, func(t *testing.T) {
			in := startBenchTarget(t, l)
			in.run(l, 256)
			const n = 512
			if a := testing.AllocsPerRun(4, func() { in.run(l, n) }); a/n > 0.05 {
				t.Errorf("%.2f allocations per command, want 0", a/n)
			}
		})
	}
}

// TestWriteBatchOneSyscall checks that responses queued together leave in
// one vectored write: sixteen NOP-Ins waiting for the writer cost one write
// system call, and arrive whole, in order, with consecutive StatSNs (RFC
// 7143 §4.2.2.2).
func TestWriteBatchOneSyscall(t *testing.T) {
	if r, _ := syscallCounts(t); r < 0 {
		t.Skip("no /proc/self/io")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	accepted := make(chan net.Conn, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			close(accepted)
			return
		}
		accepted <- c
	}()
	nc, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	peer, ok := <-accepted
	if !ok {
		t.Fatal("accept failed")
	}
	defer peer.Close()

	const n = 16
	c := &conn{srv: &Server{}, sess: &session{expCmdSN: 7, window: 32}, w: pdu.NewWriter(nc), out: make(chan outPDU, n), statSN: 100}
	r := pdu.NewReader(peer)
	type seen struct{ ITT, StatSN, ExpCmdSN, MaxCmdSN uint32 }
	var got, want []seen
	// The count is of the whole process: a write of some other goroutine
	// may fall inside one attempt, not inside three.
	calls := int64(n)
	for attempt := range 3 {
		for i := range n {
			o := outPDU{kind: outStatus, data: []byte{byte(i), 1, 2, 3, 4}}
			in := o.h.NOPIn()
			in.Init()
			in.SetInitiatorTaskTag(uint32(i))
			in.SetTargetTransferTag(pdu.ReservedTag)
			c.out <- o
		}
		first := <-c.out
		_, w0 := syscallCounts(t)
		if !c.writeBatch(&first) {
			t.Fatal("writeBatch reported the connection closing")
		}
		_, w1 := syscallCounts(t)
		calls = min(calls, w1-w0)
		for i := range n {
			p, err := r.Read()
			if err != nil {
				t.Fatal(err)
			}
			h := &p.Header
			got = append(got, seen{h.InitiatorTaskTag(), binary.BigEndian.Uint32(h[24:28]),
				binary.BigEndian.Uint32(h[28:32]), binary.BigEndian.Uint32(h[32:36])})
			want = append(want, seen{uint32(i), 100 + uint32(attempt*n+i), 7, 7 + 31})
			if len(p.Data) != 5 || p.Data[0] != byte(i) {
				t.Errorf("PDU %d: data % x", i, p.Data)
			}
		}
	}
	if calls != 1 {
		t.Errorf("%d PDUs took at least %d write system calls, want 1", n, calls)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}
