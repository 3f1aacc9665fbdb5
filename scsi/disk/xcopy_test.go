package disk

import (
	"bytes"
	"encoding/binary"
	"testing"

	"github.com/go-iscsi/iscsi/scsi"
	"github.com/google/go-cmp/cmp"
)

// identCSCD is an identification descriptor CSCD descriptor (SPC-4
// §6.4.5.6) naming the designator d, for a block device of block length
// bs.
func identCSCD(d scsi.Designator, bs int) []byte {
	b := make([]byte, 32)
	b[0] = 0xe4
	b[4], b[5], b[7] = d.CodeSet, d.Association<<4|d.Type, byte(len(d.Value))
	copy(b[8:], d.Value)
	b[29], b[30], b[31] = byte(bs>>16), byte(bs>>8), byte(bs)
	return b
}

// b2bSegment is a block device to block device segment descriptor (SPC-4
// §6.4.6.5).
func b2bSegment(src, dst uint16, n uint16, from, to uint64) []byte {
	b := make([]byte, 28)
	b[0] = 0x02
	binary.BigEndian.PutUint16(b[2:], 0x18)
	binary.BigEndian.PutUint16(b[4:], src)
	binary.BigEndian.PutUint16(b[6:], dst)
	binary.BigEndian.PutUint16(b[10:], n)
	binary.BigEndian.PutUint64(b[12:], from)
	binary.BigEndian.PutUint64(b[20:], to)
	return b
}

// b2bOffSegment is a block device to block device with offsets segment
// descriptor (SPC-4 §6.4.6.7).
func b2bOffSegment(src, dst uint16, n uint32, from, to uint64, fromOff, toOff uint16) []byte {
	b := make([]byte, 32)
	b[0] = 0x0a
	binary.BigEndian.PutUint16(b[2:], 0x1c)
	binary.BigEndian.PutUint16(b[4:], src)
	binary.BigEndian.PutUint16(b[6:], dst)
	binary.BigEndian.PutUint32(b[8:], n)
	binary.BigEndian.PutUint64(b[12:], from)
	binary.BigEndian.PutUint64(b[20:], to)
	binary.BigEndian.PutUint16(b[28:], fromOff)
	binary.BigEndian.PutUint16(b[30:], toOff)
	return b
}

// xcopyList is an EXTENDED COPY(LID1) parameter list (SPC-4 §6.4.3).
func xcopyList(id byte, usage byte, cscds, segs [][]byte) []byte {
	var c, s []byte
	for _, d := range cscds {
		c = append(c, d...)
	}
	for _, d := range segs {
		s = append(s, d...)
	}
	h := make([]byte, 16)
	h[0], h[1] = id, usage<<3
	binary.BigEndian.PutUint16(h[2:], uint16(len(c)))
	binary.BigEndian.PutUint32(h[8:], uint32(len(s)))
	return append(append(h, c...), s...)
}

func cdbXCopy(plen int) []byte {
	c := make([]byte, 16)
	c[0] = 0x83
	binary.BigEndian.PutUint32(c[10:], uint32(plen))
	return c
}

func cdbRCR(sa, id byte, alloc uint32) []byte {
	c := make([]byte, 16)
	c[0], c[1], c[2] = 0x84, sa, id
	binary.BigEndian.PutUint32(c[10:], alloc)
	return c
}

func TestExtendedCopy(t *testing.T) {
	lu := newLU(t, 4<<20, Config{}) // 8192 blocks
	ready(t, lu, nexusA)
	self := identCSCD(scsi.NAADesignator(lu.cfg.NAA[:]), 512)
	data := pattern(2048*512, 3)
	mustGood(t, first(run(lu, nexusA, cdbRW(scsi.OpWrite16, 0, 2048, 0), data, 0)), "write")

	// Copy 2048 blocks from the start to the end of the medium.
	p := xcopyList(5, 0, [][]byte{self}, [][]byte{b2bSegment(0, 0, 2048, 0, 8192-2048)})
	if n := lu.DataOutLength(cdbXCopy(len(p))); n != len(p) {
		t.Fatalf("DataOutLength %d, want %d", n, len(p))
	}
	mustGood(t, first(run(lu, nexusA, cdbXCopy(len(p)), p, 0)), "extended copy")
	_, got := run(lu, nexusA, cdbRW(scsi.OpRead16, 8192-2048, 2048, 0), nil, len(data))
	if !bytes.Equal(got, data) {
		t.Fatal("copied blocks differ")
	}
	// COPY STATUS of list 5.
	_, d := run(lu, nexusA, cdbRCR(0, 5, 64), nil, 64)
	if diff := cmp.Diff([]byte{0, 0, 0, 8, 1, 0, 1, 0, 0, 0x10, 0, 0}, d); diff != "" {
		t.Fatalf("COPY STATUS (-want +got):\n%s", diff)
	}
	wantSense(t, first(run(lu, nexusA, cdbRCR(0, 6, 64), nil, 64)), scsi.SenseIllegalRequest, scsi.ASCInvalidFieldInCDB, "COPY STATUS of an unknown list")
	wantSense(t, first(run(lu, nexusB, cdbRCR(0, 5, 64), nil, 64)), scsi.SenseUnitAttention, scsi.ASCPowerOnResetOrBusDeviceResetOccurred, "other nexus")
	wantSense(t, first(run(lu, nexusB, cdbRCR(0, 5, 64), nil, 64)), scsi.SenseIllegalRequest, scsi.ASCInvalidFieldInCDB, "COPY STATUS is per nexus")

	// Overlapping copies, forward and backward, through two segments.
	mustGood(t, first(run(lu, nexusA, cdbRW(scsi.OpWrite16, 0, 2048, 0), data, 0)), "write")
	p = xcopyList(0, 3, [][]byte{self, self}, [][]byte{b2bSegment(0, 1, 2048, 0, 100), b2bSegment(1, 0, 2048, 100, 50)})
	mustGood(t, first(run(lu, nexusA, cdbXCopy(len(p)), p, 0)), "overlapping copies")
	_, got = run(lu, nexusA, cdbRW(scsi.OpRead16, 50, 2048, 0), nil, len(data))
	if !bytes.Equal(got, data) {
		t.Fatal("overlapping copies corrupted the data")
	}

	// OPERATING PARAMETERS, read back with the limits the checks use.
	_, d = run(lu, nexusA, cdbRCR(3, 0, 256), nil, 256)
	if len(d) != 47 || binary.BigEndian.Uint32(d) != 43 || binary.BigEndian.Uint16(d[8:]) != 2 || binary.BigEndian.Uint16(d[10:]) != 8 ||
		binary.BigEndian.Uint32(d[12:]) != 1024 || d[37] != 9 || d[43] != 3 || !bytes.Equal(d[44:], []byte{0x02, 0x0a, 0xe4}) {
		t.Fatalf("OPERATING PARAMETERS % x", d)
	}
	if _, d := run(lu, nexusA, cdbInquiry(false, 0, 36), nil, 36); d[5]&0x08 == 0 {
		t.Fatal("3PC is not set")
	}

	other := identCSCD(scsi.NAADesignator(make([]byte, 16)), 512)
	t10 := identCSCD(scsi.T10VendorIDDesignator(lu.cfg.Vendor, lu.cfg.Product), 512)
	luIDType := append([]byte(nil), self...)
	luIDType[1] = 0xc0 // LU ID TYPE 11b (reserved): ignored
	seg := b2bSegment(0, 0, 16, 0, 100)
	tooMany := [][]byte{}
	for i := 0; i < 9; i++ {
		tooMany = append(tooMany, seg)
	}
	long := [][]byte{}
	for i := 0; i < 34; i++ {
		long = append(long, seg)
	}
	stream := append([]byte(nil), seg...)
	stream[0] = 0x03
	fc := append([]byte(nil), self...)
	fc[0] = 0xe0
	sk := func(s scsi.Sense, off int) scsi.Sense {
		s.SenseKeySpecific = scsi.SegmentPointer(true, uint16(off), -1)
		return s
	}
	for _, tc := range []struct {
		name string
		p    []byte
		plen int // 0: len(p)
		want scsi.Sense
	}{
		{"empty list", nil, -1, scsi.Sense{}},
		{"LU ID TYPE ignored", xcopyList(1, 0, [][]byte{luIDType}, [][]byte{seg}), 0, scsi.Sense{}},
		{"T10 vendor ID designator", xcopyList(1, 0, [][]byte{t10}, [][]byte{seg}), 0, scsi.Sense{}},
		{"truncated CSCD descriptor", xcopyList(1, 0, [][]byte{self}, [][]byte{seg})[:16+31], 0, scsi.NewSense(scsi.SenseIllegalRequest, scsi.ASCParameterListLengthError)},
		{"truncated segment descriptor", xcopyList(1, 0, [][]byte{self}, [][]byte{seg})[:16+32+27], 0, scsi.NewSense(scsi.SenseIllegalRequest, scsi.ASCParameterListLengthError)},
		{"too many CSCD descriptors", xcopyList(1, 0, [][]byte{self, self, self}, [][]byte{seg}), 0, scsi.NewSense(scsi.SenseIllegalRequest, scsi.ASCTooManyTargetDescriptors)},
		{"too many segment descriptors", xcopyList(1, 0, [][]byte{self}, tooMany), 0, scsi.NewSense(scsi.SenseIllegalRequest, scsi.ASCTooManySegmentDescriptors)},
		{"descriptor lists too long", xcopyList(1, 0, [][]byte{self, self, self}, long), 0, scsi.NewSense(scsi.SenseIllegalRequest, scsi.ASCParameterListLengthError)},
		{"FC N_Port_Name CSCD", xcopyList(1, 0, [][]byte{fc}, [][]byte{seg}), 0, scsi.NewSense(scsi.SenseIllegalRequest, scsi.ASCUnsupportedTargetDescriptorTypeCode)},
		{"stream to stream segment", xcopyList(1, 0, [][]byte{self}, [][]byte{stream}), 0, scsi.NewSense(scsi.SenseIllegalRequest, scsi.ASCUnsupportedSegmentDescriptorTypeCode)},
		{"unknown CSCD index", xcopyList(1, 0, [][]byte{self}, [][]byte{b2bSegment(0, 1, 16, 0, 100)}), 0, sk(scsi.NewSense(scsi.SenseCopyAborted, scsi.ASCUnreachableCopyTarget), 48)},
		{"another logical unit", xcopyList(1, 0, [][]byte{self, other}, [][]byte{seg, b2bSegment(0, 1, 16, 0, 100)}), 0, sk(scsi.NewSense(scsi.SenseCopyAborted, scsi.ASCUnreachableCopyTarget), 16+64+28)},
		{"past the end", xcopyList(1, 0, [][]byte{self}, [][]byte{b2bSegment(0, 0, 2048, 0, 8191)}), 0, sk(scsi.NewSense(scsi.SenseCopyAborted, scsi.ASCNoAdditionalSense), 48)},
		{"short data-out", xcopyList(1, 0, [][]byte{self}, [][]byte{seg}), 200, scsi.NewSense(scsi.SenseIllegalRequest, scsi.ASCInvalidFieldInCommandInformationUnit)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			plen := tc.plen
			switch plen {
			case 0:
				plen = len(tc.p)
			case -1:
				plen = 0
			}
			r, _ := run(lu, nexusA, cdbXCopy(plen), tc.p, 0)
			if diff := cmp.Diff(tc.want, r.Sense); diff != "" || (tc.want == scsi.Sense{}) != (r.Status == scsi.StatusGood) {
				t.Fatalf("status %v (-want +got):\n%s", r.Status, diff)
			}
		})
	}
	// The failed copy of list 1 is reported as completed with errors.
	_, d = run(lu, nexusA, cdbRCR(0, 1, 64), nil, 64)
	if d[4] != 0x02 {
		t.Fatalf("COPY STATUS after a failed copy % x", d)
	}
}

// TestExtendedCopyWithOffsets checks the block device to block device
// with offsets segment descriptor (type 0Ah, SPC-4 §6.4.6.7): NUMBER OF
// BYTES from a byte offset in the first source block to one in the first
// destination block, the bytes around the range kept, a whole MAXIMUM
// SEGMENT LENGTH at once, and the fields checked before anything is
// copied.
func TestExtendedCopyWithOffsets(t *testing.T) {
	lu := newLU(t, 64<<20, Config{}) // 131072 blocks
	ready(t, lu, nexusA)
	self := identCSCD(scsi.NAADesignator(lu.cfg.NAA[:]), 512)
	src := pattern(8*512, 7)
	mustGood(t, first(run(lu, nexusA, cdbRW(scsi.OpWrite10, 0, 8, 0), src, 0)), "write source")
	old := pattern(8*512, 8)
	mustGood(t, first(run(lu, nexusA, cdbRW(scsi.OpWrite10, 100, 8, 0), old, 0)), "write destination")

	// 1000 bytes from byte 300 of LBA 1 to byte 17 of LBA 101.
	p := xcopyList(2, 0, [][]byte{self}, [][]byte{b2bOffSegment(0, 0, 1000, 1, 101, 300, 17)})
	mustGood(t, first(run(lu, nexusA, cdbXCopy(len(p)), p, 0)), "copy with offsets")
	want := append([]byte(nil), old...)
	copy(want[512+17:], src[512+300:512+300+1000])
	if _, got := run(lu, nexusA, cdbRW(scsi.OpRead10, 100, 8, 0), nil, 8*512); !bytes.Equal(got, want) {
		t.Fatal("the bytes copied with offsets, or those around them, differ")
	}
	_, d := run(lu, nexusA, cdbRCR(0, 2, 64), nil, 64)
	if diff := cmp.Diff([]byte{0, 0, 0, 8, 1, 0, 1, 0, 0, 0, 0x03, 0xe8}, d); diff != "" {
		t.Fatalf("COPY STATUS: 1000 bytes (-want +got):\n%s", diff)
	}

	// MAXIMUM SEGMENT LENGTH in one segment, as libiscsi's
	// ExtendedCopy.Large sends it.
	maxLen := uint32(0xffff * 512)
	data := pattern(int(maxLen), 9)
	mustGood(t, first(run(lu, nexusA, cdbRW(scsi.OpWrite16, 0, 0xffff, 0), data, 0)), "write")
	p = xcopyList(3, 0, [][]byte{self}, [][]byte{b2bOffSegment(0, 0, maxLen, 0, 131072-0xffff, 0, 0)})
	mustGood(t, first(run(lu, nexusA, cdbXCopy(len(p)), p, 0)), "copy of MAXIMUM SEGMENT LENGTH")
	if _, got := run(lu, nexusA, cdbRW(scsi.OpRead16, 131072-0xffff, 0xffff, 0), nil, int(maxLen)); !bytes.Equal(got, data) {
		t.Fatal("the copy of MAXIMUM SEGMENT LENGTH differs")
	}

	ok := b2bOffSegment(0, 0, 16, 0, 100, 0, 0)
	for _, tc := range []struct {
		name string
		seg  []byte
		want scsi.Sense
	}{
		{"zero bytes", b2bOffSegment(0, 0, 0, 131072, 131072, 0, 0), scsi.Sense{}},
		{"source offset of a block", b2bOffSegment(0, 0, 16, 0, 100, 512, 0), scsi.InvalidFieldInParameterList(16+32+32+28, -1)},
		{"destination offset of a block", b2bOffSegment(0, 0, 16, 0, 100, 0, 512), scsi.InvalidFieldInParameterList(16+32+32+30, -1)},
		{"over MAXIMUM SEGMENT LENGTH", b2bOffSegment(0, 0, maxLen+1, 0, 100, 0, 0), scsi.InvalidFieldInParameterList(16+32+32+8, -1)},
		{"descriptor length", append(append([]byte(nil), ok[:2]...), append([]byte{0, 0x18}, ok[4:28]...)...), scsi.InvalidFieldInParameterList(16+32+32+2, -1)},
		{"past the end by the offset", b2bOffSegment(0, 0, 512, 131071, 100, 1, 0), func() scsi.Sense {
			s := scsi.NewSense(scsi.SenseCopyAborted, scsi.ASCNoAdditionalSense)
			s.SenseKeySpecific = scsi.SegmentPointer(true, 16+32+32, -1)
			return s
		}()},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// The segment follows one that copies, which a bad field
			// stops from running.
			mustGood(t, first(run(lu, nexusA, cdbRW(scsi.OpWrite10, 100, 8, 0), old, 0)), "write destination")
			p := xcopyList(4, 0, [][]byte{self}, [][]byte{b2bOffSegment(0, 0, 512, 0, 100, 0, 0), tc.seg})
			r, _ := run(lu, nexusA, cdbXCopy(len(p)), p, 0)
			if diff := cmp.Diff(tc.want, r.Sense); diff != "" || (tc.want == scsi.Sense{}) != (r.Status == scsi.StatusGood) {
				t.Fatalf("status %v (-want +got):\n%s", r.Status, diff)
			}
			if tc.want.Key != scsi.SenseIllegalRequest {
				return
			}
			if _, got := run(lu, nexusA, cdbRW(scsi.OpRead10, 100, 8, 0), nil, 8*512); !bytes.Equal(got, old) {
				t.Fatal("a parameter list with a bad field copied")
			}
		})
	}
}

// TestThirdPartyCopyVPD checks the Third-party Copy VPD page (SPC-4
// §7.8.17): listed among the supported pages, and describing the copy
// manager EXTENDED COPY and RECEIVE COPY RESULTS implement.
func TestThirdPartyCopyVPD(t *testing.T) {
	lu := newLU(t, 1<<20, Config{BlockSize: 4096})
	ready(t, lu, nexusA)
	_, d := run(lu, nexusA, cdbInquiry(true, 0x00, 255), nil, 255)
	if !bytes.Contains(d[4:], []byte{0x83, 0x8f, 0xb0}) {
		t.Fatalf("supported VPD pages % x: no 8Fh between 83h and B0h", d)
	}
	r, d := run(lu, nexusA, cdbInquiry(true, 0x8f, 1024), nil, 1024)
	mustGood(t, r, "inquiry 8Fh")
	_, code, body, err := scsi.ParseVPD(d)
	if err != nil || code != 0x8f {
		t.Fatalf("ParseVPD: page %#x, %v", code, err)
	}
	got, err := scsi.ParseThirdPartyCopy(body)
	if err != nil {
		t.Fatal(err)
	}
	want := scsi.ThirdPartyCopy{
		Commands: []scsi.ThirdPartyCopyCommand{
			{OpCode: scsi.OpExtendedCopy, ServiceActions: []uint8{0x00}},
			{OpCode: scsi.OpReceiveCopyResults, ServiceActions: []uint8{0x00, 0x03}},
		},
		MaxCSCDDescriptorCount: 2, MaxSegmentDescriptorCount: 8, MaxDescriptorListLength: 1024,
		Descriptors:           []uint8{0x02, 0x0a, 0xe4},
		TotalConcurrentCopies: 1, MaxIdentifiedConcurrentCopies: 1, MaxSegmentLength: 0xffff * 4096,
		DataSegmentGranularityLog2: 12,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("Third-party Copy page (-want +got):\n%s", diff)
	}
}
