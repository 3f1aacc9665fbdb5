package scsi

import (
	"encoding/hex"
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// FuzzParseCDB feeds arbitrary bytes to every CDB decoder. No input may
// panic; every error must be a *CDBError carrying ILLEGAL REQUEST sense;
// and a CDB that decodes must build and decode again to the same value.
func FuzzParseCDB(f *testing.F) {
	for _, g := range cdbGolden {
		f.Add(g.cdb)
	}
	for _, c := range SupportedCommands() {
		f.Add(c.Usage)
	}
	f.Add([]byte{0x88, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 1, 0, 0})
	f.Fuzz(func(t *testing.T, cdb []byte) {
		c, err := ParseCDB(cdb)
		if err != nil {
			var ce *CDBError
			if !errors.As(err, &ce) {
				t.Fatalf("error %T is not a *CDBError: %v", err, err)
			}
			if s, ok := SenseOf(err); !ok || s.Key != SenseIllegalRequest {
				t.Fatalf("sense %v", s)
			}
		} else {
			b, err := c.Append(nil)
			if err != nil {
				t.Fatalf("%T %+v does not build: %v", c, c, err)
			}
			again, err := ParseCDB(b)
			if err != nil {
				t.Fatalf("rebuilt CDB % x does not parse: %v", b, err)
			}
			if diff := cmp.Diff(c, again); diff != "" {
				t.Fatalf("decode→build→decode differs (-first +second):\n%s", diff)
			}
		}
		// Every concrete decoder, whatever the operation code.
		_, _ = ParseReadWrite(cdb)
		_, _ = ParseTestUnitReady(cdb)
		_, _ = ParseRequestSense(cdb)
		_, _ = ParseInquiry(cdb)
		_, _ = ParseModeSense(cdb)
		_, _ = ParseModeSelect(cdb)
		_, _ = ParseReserveRelease(cdb)
		_, _ = ParseStartStopUnit(cdb)
		_, _ = ParsePreventAllowMediumRemoval(cdb)
		_, _ = ParseReadCapacity10(cdb)
		_, _ = ParseReadCapacity16(cdb)
		_, _ = ParseGetLBAStatus(cdb)
		_, _ = ParsePreFetch(cdb)
		_, _ = ParseSynchronizeCache(cdb)
		_, _ = ParseReadDefectData(cdb)
		_, _ = ParseWriteSame(cdb)
		_, _ = ParseUnmap(cdb)
		_, _ = ParseSanitize(cdb)
		_, _ = ParsePersistentReserveIn(cdb)
		_, _ = ParsePersistentReserveOut(cdb)
		_, _ = ParseExtendedCopy(cdb)
		_, _ = ParseReceiveCopyResults(cdb)
		_, _ = ParseCompareAndWrite(cdb)
		_, _ = ParseWriteAtomic16(cdb)
		_, _ = ParseReportLUNs(cdb)
		_, _ = ParseReportSupportedOperationCodes(cdb)
		_, _ = ParseFormatUnit(cdb)
		if len(cdb) > 0 {
			_ = CheckControl(OpCode(cdb[0]), cdb[len(cdb)-1], len(cdb)-1, cdb[0]&1 == 0)
		}
	})
}

// FuzzParseSense checks that ParseSense never panics, that its errors are
// *FormatError, and that parsed sense data builds in descriptor format
// and parses back to the same value (and in fixed format to the same
// value less what 32-bit fields cannot hold).
func FuzzParseSense(f *testing.F) {
	f.Add(InvalidFieldInCDB(2, 4).AppendFixed(nil))
	f.Add(LBAOutOfRange(1 << 40).AppendDescriptor(nil))
	f.Add(Sense{Key: SenseCopyAborted, Code: 0x0d02, Deferred: true, Information: 1, InformationValid: true,
		CommandSpecific: 9, SenseKeySpecific: SegmentPointer(true, 1, 2), FRU: 1, Filemark: true, EOM: true, ILI: true}.AppendDescriptor(nil))
	f.Add([]byte{0x70, 0, 6, 0, 0, 0, 0, 10, 0, 0, 0, 0, 0x29, 0, 0, 0, 0, 0})
	f.Add([]byte{0x72, 5, 0x24, 0, 0, 0, 0, 12, 0x00, 0x0a, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 1})
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := ParseSense(b)
		if err != nil {
			var fe *FormatError
			if !errors.As(err, &fe) || !(errors.Is(err, ErrShortData) || errors.Is(err, ErrMalformed)) {
				t.Fatalf("error %T: %v", err, err)
			}
			return
		}
		_ = s.Error()
		d, err := ParseSense(s.AppendDescriptor(nil))
		if err != nil {
			t.Fatal(err)
		}
		want := s
		want.Key &= 0x0f
		if diff := cmp.Diff(want, d); diff != "" {
			t.Fatalf("descriptor round trip (-want +got):\n%s", diff)
		}
		fx, err := ParseSense(s.AppendFixed(nil))
		if err != nil {
			t.Fatal(err)
		}
		if want.Information > 0xffffffff {
			want.Information, want.InformationValid = 0, false
		}
		want.CommandSpecific &= 0xffffffff
		if diff := cmp.Diff(want, fx); diff != "" {
			t.Fatalf("fixed round trip (-want +got):\n%s", diff)
		}
	})
}

// FuzzParseData feeds arbitrary bytes to the parameter data parsers; the
// first byte chooses which. No input may panic, every error must be one
// of this package's typed errors, and data that parses must survive a
// build and parse again where the format allows it.
func FuzzParseData(f *testing.F) {
	for _, g := range tgtGolden {
		b, _ := hex.DecodeString(g.data)
		for sel := range byte(16) {
			f.Add(append([]byte{sel}, b...))
		}
	}
	pages := AppendModePage(nil, CachingPage{WCE: true}, true)
	mp, _ := ModeParameters{BlockDescriptors: []BlockDescriptor{{1, 512}}, Pages: pages}.Append(nil, OpModeSense10)
	f.Add(append([]byte{4}, mp...))
	f.Add(append([]byte{7}, AppendPRInReadFullStatus(nil, 1, []PRFullStatus{{ReservationKey: 1, TransportID: []byte{5, 0, 0, 4, 'a', 0, 0, 0}}})...))
	f.Fuzz(func(t *testing.T, in []byte) {
		if len(in) == 0 {
			return
		}
		sel, b := in[0], in[1:]
		var err error
		switch sel % 16 {
		case 0:
			var d InquiryData
			if d, err = ParseInquiryData(b); err == nil {
				if out, e := d.Append(nil); e == nil {
					again, e := ParseInquiryData(out)
					if e != nil {
						t.Fatal(e)
					}
					d.ResponseDataFormat = max(d.ResponseDataFormat, again.ResponseDataFormat)
					if d.ResponseDataFormat == 0 {
						d.ResponseDataFormat = 2
					}
					if diff := cmp.Diff(d, again); diff != "" {
						t.Fatalf("INQUIRY round trip (-want +got):\n%s", diff)
					}
				}
			}
		case 1:
			var code byte
			var body []byte
			if _, code, body, err = ParseVPD(b); err == nil {
				_, _ = ParseDeviceIdentification(body)
				_ = ParseBlockLimits(body)
				_ = ParseBlockDeviceCharacteristics(body)
				_, _ = ParseLogicalBlockProvisioning(body)
				_ = ParseUnitSerialNumber(body)
				_, _ = ParseThirdPartyCopy(body)
				if code == VPDDeviceIdentification {
					if ids, e := ParseDeviceIdentification(body); e == nil {
						out, e := AppendVPD(nil, b[0], ids)
						if e != nil {
							t.Fatal(e)
						}
						_, _, body2, _ := ParseVPD(out)
						again, e := ParseDeviceIdentification(body2)
						if diff := cmp.Diff(ids, again); e != nil || diff != "" {
							t.Fatalf("0x83 round trip (-want +got):\n%s %v", diff, e)
						}
					}
				}
			}
		case 2:
			_, err = ParseReadCapacity10Data(b)
			if d, e := ParseReadCapacity16Data(b); e == nil {
				out, _ := d.Append(nil)
				if again, _ := ParseReadCapacity16Data(out); again != d {
					t.Fatalf("READ CAPACITY(16) round trip %+v %+v", d, again)
				}
			}
		case 3:
			var s LBAStatus
			if s, err = ParseLBAStatus(b); err == nil {
				for range s.All() {
				}
			}
		case 4, 5:
			ops := [...]OpCode{OpModeSense6, OpModeSense10, OpModeSelect6, OpModeSelect10}
			op := ops[int(sel/16)%4]
			var m ModeParameters
			if m, err = ParseModeParameters(op, b); err == nil {
				for p, e := range ModePages(m.Pages) {
					if e != nil {
						t.Fatal(e)
					}
					_, _ = ParseCachingPage(p.Parameters)
					_, _ = ParseControlPage(p.Parameters)
					_, _ = ParseReadWriteErrorRecoveryPage(p.Parameters)
					_, _ = ParseDisconnectReconnectPage(p.Parameters)
					_, _ = ParseInformationalExceptionsPage(p.Parameters)
					_ = CheckModeSelectPage(op, p, p.Parameters, p.Parameters, 4)
				}
			}
		case 6:
			var d ReportLUNsData
			if d, err = ParseReportLUNsData(b); err == nil {
				for i := range d.Len() {
					_ = d.At(i).String()
				}
			}
		case 7:
			var fs PRInFullStatus
			if fs, err = ParsePRInReadFullStatus(b); err == nil {
				for d := range fs.All() {
					for range TransportIDs(d.TransportID) {
					}
				}
			}
			_, _ = ParsePRInReadKeys(b)
			_, _ = ParsePRInReadReservation(b)
			_, _ = ParsePRInReportCapabilities(b)
		case 8:
			_, err = ParsePROutParameters(b)
			_, _ = ParseRegisterAndMoveParameters(b)
		case 9:
			var tid TransportID
			if tid, _, err = ParseTransportID(b); err == nil {
				out, e := tid.Append(nil)
				if e != nil {
					break // a name holding ",i,0x" and a NUL-free rest may not rebuild
				}
				again, _, e := ParseTransportID(out)
				if e != nil || again != tid {
					t.Fatalf("TransportID round trip %+v %+v %v", tid, again, e)
				}
			}
		case 10:
			var a AllCommands
			if a, err = ParseAllCommands(b); err == nil {
				for range a.All() {
				}
			}
			_, _ = ParseOneCommand(b)
		case 11:
			var p ExtendedCopyParameters
			sa := ServiceAction(sel / 16 % 2)
			if p, err = ParseExtendedCopyParameters(sa, b); err == nil {
				out, e := p.Append(nil)
				if e != nil {
					t.Fatal(e)
				}
				again, e := ParseExtendedCopyParameters(sa, out)
				if e != nil {
					t.Fatal(e)
				}
				if diff := cmp.Diff(p, again, cmpEmpty); diff != "" {
					t.Fatalf("EXTENDED COPY round trip (-want +got):\n%s", diff)
				}
			}
		case 12:
			var d UnmapBlockDescriptors
			if d, err = ParseUnmapParameterList(b); err == nil {
				for range d.All() {
				}
			}
		case 13:
			_, err = ParseSanitizeOverwriteParameters(b)
		case 14:
			var l LUN
			if l, err = ParseLUN(b); err == nil {
				_, _ = l.Number()
				_ = l.String()
			}
		case 15:
			_, err = ParseSense(b)
		}
		if err != nil {
			var fe *FormatError
			var pe *ParameterError
			var ce *CDBError
			if !errors.As(err, &fe) && !errors.As(err, &pe) && !errors.As(err, &ce) {
				t.Fatalf("untyped error %T: %v", err, err)
			}
		}
	})
}
