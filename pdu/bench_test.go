package pdu

import (
	"io"
	"testing"
)

func BenchmarkDecodeBHS(b *testing.B) {
	var h BHS
	c := h.SCSICommand()
	c.Init()
	c.SetFinal(true)
	c.SetRead(true)
	c.SetAttributes(TaskSimple)
	c.SetExpectedDataTransferLength(8192)
	c.SetCDB([]byte{0x28, 0, 0, 0, 0, 0x10, 0, 0, 0x10, 0})
	b.SetBytes(BHSLength)
	b.ReportAllocs()
	var sink uint64
	for b.Loop() {
		if err := h.Validate(); err != nil {
			b.Fatal(err)
		}
		v := h.SCSICommand()
		sink += v.LUN() + uint64(v.InitiatorTaskTag()) + uint64(v.ExpectedDataTransferLength()) +
			uint64(v.CmdSN()) + uint64(v.ExpStatSN()) + uint64(v.CDB()[0]) + uint64(v.Attributes())
		if v.Read() && v.Final() {
			sink++
		}
	}
	_ = sink
}

func benchmarkReader(b *testing.B, d Digests, twoStep bool) {
	ps := mixedPDUs(72, 8192)
	stream := encodeAll(b, ps, d)
	rr := &replayReader{buf: stream}
	r := newTestReader(rr, d, 8192)
	dst := make([]byte, 8192)
	b.SetBytes(int64(len(stream) / len(ps)))
	b.ReportAllocs()
	for b.Loop() {
		if twoStep {
			p, err := r.ReadHeader()
			if err != nil {
				b.Fatal(err)
			}
			if err := r.ReadData(dst[:p.Header.DataSegmentLength()]); err != nil {
				b.Fatal(err)
			}
			continue
		}
		if _, err := r.Read(); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkReaderMixed(b *testing.B) {
	b.Run("digests=off", func(b *testing.B) { benchmarkReader(b, Digests{}, false) })
	b.Run("digests=on", func(b *testing.B) { benchmarkReader(b, Digests{true, true}, false) })
	b.Run("twostep/digests=off", func(b *testing.B) { benchmarkReader(b, Digests{}, true) })
	b.Run("twostep/digests=on", func(b *testing.B) { benchmarkReader(b, Digests{true, true}, true) })
}

func benchmarkWriterDataIn(b *testing.B, d Digests) {
	data := make([]byte, 8192)
	var h BHS
	din := h.DataIn()
	din.Init()
	din.SetFinal(true)
	din.SetInitiatorTaskTag(1)
	din.SetTargetTransferTag(ReservedTag)
	w := newTestWriter(io.Discard, d)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		din.SetDataSN(din.DataSN() + 1)
		if err := w.Write(&h, nil, data); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkWriterDataIn8K(b *testing.B) {
	b.Run("digests=off", func(b *testing.B) { benchmarkWriterDataIn(b, Digests{}) })
	b.Run("digests=on", func(b *testing.B) { benchmarkWriterDataIn(b, Digests{true, true}) })
}

func BenchmarkAppendTo(b *testing.B) {
	p := nopInPing(string(make([]byte, 8192)))
	buf := make([]byte, 0, 9000)
	b.SetBytes(int64(p.WireLength(Digests{})))
	b.ReportAllocs()
	for b.Loop() {
		var err error
		if buf, err = p.AppendTo(buf[:0], Digests{}); err != nil {
			b.Fatal(err)
		}
	}
}
