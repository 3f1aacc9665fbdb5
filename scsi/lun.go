package scsi

import (
	"encoding/binary"
	"errors"
	"strconv"
)

// ErrLUNAddressing matches a *FormatError for a LUN whose address method
// or level structure [LUN.Number] does not decode: logical unit
// addressing, extended addressing other than well-known LUNs, or a
// hierarchical LUN with a second level.
var ErrLUNAddressing = errors.New("scsi: LUN address method not supported")

// LUN is a logical unit number in the 8-byte form of SAM-5 §4.7: four
// levels of two bytes, each beginning with an ADDRESS METHOD. iSCSI
// carries it as is in the LUN field of the BHS (RFC 7143 §11.2.1.4).
type LUN [8]byte

// AddressMethod is the ADDRESS METHOD of a LUN level (SAM-5 §4.7.4 table 8).
type AddressMethod uint8

// SAM-5 §4.7.4 table 8: address methods.
const (
	AddressPeripheral  AddressMethod = 0 // peripheral device addressing (§4.7.7)
	AddressFlat        AddressMethod = 1 // flat space addressing (§4.7.8)
	AddressLogicalUnit AddressMethod = 2 // logical unit addressing (§4.7.9)
	AddressExtended    AddressMethod = 3 // extended logical unit addressing (§4.7.10)
)

// Well-known logical unit numbers (SPC-4 §8.1 table 492).
const (
	WellKnownReportLUNs         = 0x01 // REPORT LUNS well-known logical unit
	WellKnownAccessControls     = 0x02 // ACCESS CONTROLS well-known logical unit
	WellKnownTargetLogPages     = 0x03 // TARGET LOG PAGES well-known logical unit
	WellKnownSecurityProtocol   = 0x04 // SECURITY PROTOCOL well-known logical unit
	WellKnownManagementProtocol = 0x05 // MANAGEMENT PROTOCOL well-known logical unit
)

// EncodeLUN returns the single-level LUN that addresses logical unit n
// the way Linux and libiscsi expect: peripheral device addressing for n
// below 256 (byte 0 zero, byte 1 n; SAM-5 §4.7.7) and flat space
// addressing below 16384 (byte 0 40h plus the top six bits; §4.7.8).
// Larger numbers need extended flat space addressing, which this
// package does not encode; they give a *FormatError.
func EncodeLUN(n uint16) (LUN, error) {
	var l LUN
	switch {
	case n < 256:
		l[1] = byte(n)
	case n < 1<<14:
		l[0], l[1] = 0x40|byte(n>>8), byte(n)
	default:
		return l, fieldRange("LUN", 0, "FLAT SPACE LUN")
	}
	return l, nil
}

// LUNNumber returns the LUN of logical unit n as users write it, "LUN 1"
// being the LUN that iscsi-ls lists as Lun:1 and Linux as the last field
// of H:C:T:L: the encoding of [EncodeLUN], in a single value so that it
// can key a map literal. n above 16383 has no such encoding; LUNNumber
// returns for it the reserved extended form FFFFh, which [LUN.Number]
// refuses and a target must refuse as a configuration error.
func LUNNumber(n uint16) LUN {
	l, err := EncodeLUN(n)
	if err != nil {
		return LUN{0xff, 0xff}
	}
	return l
}

// WellKnownLUN returns the LUN of well-known logical unit w: extended
// logical unit addressing, length 00b, extended address method 1h (SAM-5
// §4.7.10 table 13), byte 0 C1h.
func WellKnownLUN(w uint8) LUN { return LUN{0xc1, w} }

// LUNFromUint64 returns the LUN whose eight bytes are u in big-endian
// order, the form of the BHS LUN field read as a number.
func LUNFromUint64(u uint64) LUN {
	var l LUN
	binary.BigEndian.PutUint64(l[:], u)
	return l
}

// Uint64 returns the eight bytes of l as a big-endian number.
func (l LUN) Uint64() uint64 { return binary.BigEndian.Uint64(l[:]) }

// AddressMethod returns the ADDRESS METHOD of the first level.
func (l LUN) AddressMethod() AddressMethod { return AddressMethod(l[0] >> 6) }

// singleLevel reports whether the second to fourth levels are zero, as
// SAM-5 §4.7.2 requires of a single-level LUN.
func (l LUN) singleLevel() bool { return binary.BigEndian.Uint64(l[:])&0xffffffffffff == 0 }

// WellKnown returns the W-LUN of a well-known LUN (SAM-5 §4.7.10) and
// whether l is one.
func (l LUN) WellKnown() (uint8, bool) {
	if l[0] == 0xc1 && l.singleLevel() {
		return l[1], true
	}
	return 0, false
}

// Number decodes a single-level LUN in peripheral device addressing (with
// a BUS IDENTIFIER of zero) or flat space addressing and returns the
// logical unit number, the inverse of [EncodeLUN]. Other forms give a
// *FormatError matching ErrLUNAddressing; a logical unit answers a command
// to such a LUN with LOGICAL UNIT NOT SUPPORTED.
func (l LUN) Number() (uint16, error) {
	if !l.singleLevel() {
		return 0, &FormatError{Format: "LUN", Offset: 2, Field: "second level", Err: ErrLUNAddressing}
	}
	switch l.AddressMethod() {
	case AddressPeripheral:
		if l[0] != 0 {
			return 0, &FormatError{Format: "LUN", Offset: 0, Field: "BUS IDENTIFIER", Err: ErrLUNAddressing}
		}
		return uint16(l[1]), nil
	case AddressFlat:
		return uint16(l[0]&0x3f)<<8 | uint16(l[1]), nil
	}
	return 0, &FormatError{Format: "LUN", Offset: 0, Field: "ADDRESS METHOD", Err: ErrLUNAddressing}
}

// String returns the logical unit number in decimal for the forms Number
// decodes, "W-LUN 0xNN" for a well-known LUN, and the eight bytes in
// hexadecimal otherwise.
func (l LUN) String() string {
	if n, err := l.Number(); err == nil {
		return strconv.Itoa(int(n))
	}
	if w, ok := l.WellKnown(); ok {
		return "W-LUN 0x" + hex2(w)
	}
	return "0x" + pad0(strconv.FormatUint(l.Uint64(), 16), 16)
}

// ParseLUN copies the first eight bytes of b into a LUN. Fewer bytes give
// a *FormatError.
func ParseLUN(b []byte) (LUN, error) {
	if len(b) < 8 {
		return LUN{}, shortData("LUN", len(b), "")
	}
	return LUN(b[:8]), nil
}

// AppendReportLUNsData appends REPORT LUNS parameter data (SPC-4 §6.33
// table 200): the LUN LIST LENGTH, 4 reserved bytes and the LUNs. The
// result may exceed the allocation length; the device server truncates it
// and keeps the LUN LIST LENGTH of the whole list (SPC-4 §6.33).
func AppendReportLUNsData(dst []byte, luns []LUN) []byte {
	dst = binary.BigEndian.AppendUint32(dst, uint32(8*len(luns)))
	dst = append(dst, 0, 0, 0, 0)
	for _, l := range luns {
		dst = append(dst, l[:]...)
	}
	return dst
}

// ReportLUNsData is REPORT LUNS parameter data checked by
// [ParseReportLUNsData].
type ReportLUNsData struct {
	// ListLength is the LUN LIST LENGTH the device server reported: 8
	// times the number of LUNs it has, which exceeds len(LUNs) when the
	// allocation length cut the data short.
	ListLength uint32
	LUNs       []byte // the whole LUNs returned, aliasing the data
}

// Len returns the number of LUNs returned.
func (d ReportLUNsData) Len() int { return len(d.LUNs) / 8 }

// At returns LUN i.
func (d ReportLUNsData) At(i int) LUN { return LUN(d.LUNs[8*i : 8*i+8]) }

// ParseReportLUNsData decodes REPORT LUNS parameter data (SPC-4 §6.33),
// accepting data cut short by the allocation length. A LUN LIST LENGTH
// that is not a multiple of 8 is malformed. Errors are *FormatError.
func ParseReportLUNsData(b []byte) (ReportLUNsData, error) {
	if len(b) < 8 {
		return ReportLUNsData{}, shortData("REPORT LUNS data", 0, "LUN LIST LENGTH")
	}
	d := ReportLUNsData{ListLength: binary.BigEndian.Uint32(b)}
	if d.ListLength%8 != 0 {
		return ReportLUNsData{}, malformed("REPORT LUNS data", 0, "LUN LIST LENGTH")
	}
	n := int(min(uint64(d.ListLength), uint64(len(b)-8)))
	d.LUNs = b[8 : 8+n-n%8]
	return d, nil
}
