package scsi

import (
	"encoding/binary"
	"iter"
	"strconv"
	"strings"
)

// TransportID is an iSCSI TransportID (SPC-4 §7.6.4.6): it names an
// initiator in persistent reservation data. FORMAT CODE 00b (table 459)
// carries the iSCSI name alone and names every port of the initiator
// device; FORMAT CODE 01b (table 460) adds the ISID and names one
// initiator port.
type TransportID struct {
	Name    string  // ISCSI NAME
	HasISID bool    // FORMAT CODE 01b: the ISID follows the name
	ISID    [6]byte // ISCSI INITIATOR SESSION ID
}

// Append appends the TransportID: the header with the iSCSI protocol
// identifier and the ADDITIONAL LENGTH, then the name (and ",i,0x" and
// the ISID in hexadecimal) null terminated and null padded to a multiple
// of four bytes. A name with a NUL or too long for the 16-bit length
// gives a *FormatError.
func (t TransportID) Append(dst []byte) ([]byte, error) {
	s := t.Name
	if t.HasISID {
		s = ISCSIInitiatorPortName(t.Name, t.ISID)
	}
	n := (len(s) + 4) &^ 3
	if strings.IndexByte(t.Name, 0) >= 0 || n > 0xffff {
		return dst, fieldRange("iSCSI TransportID", 4, "ISCSI NAME")
	}
	format := byte(0)
	if t.HasISID {
		format = 0x40
	}
	dst = append(dst, format|ProtocolISCSI, 0)
	dst = binary.BigEndian.AppendUint16(dst, uint16(n))
	dst = append(dst, s...)
	return append(dst, make([]byte, n-len(s))...), nil
}

// Len returns the number of bytes Append appends.
func (t TransportID) Len() int {
	s := len(t.Name)
	if t.HasISID {
		s += len(",i,0x") + 12
	}
	return 4 + (s+4)&^3
}

// ParseTransportID decodes one iSCSI TransportID at the start of b and
// returns it with its length. A protocol identifier other than iSCSI, a
// format code other than 00b or 01b, an ADDITIONAL LENGTH that overruns b,
// a name without its null terminator, or a malformed ",i,0x" separator or
// ISID is an error. Errors are *FormatError.
func ParseTransportID(b []byte) (TransportID, int, error) {
	const format = "iSCSI TransportID"
	if len(b) < 4 {
		return TransportID{}, 0, shortData(format, 2, "ADDITIONAL LENGTH")
	}
	if b[0]&0x0f != ProtocolISCSI {
		return TransportID{}, 0, malformed(format, 0, "PROTOCOL IDENTIFIER")
	}
	if b[0]&0x30 != 0 || b[0]>>6 > 1 {
		return TransportID{}, 0, malformed(format, 0, "FORMAT CODE")
	}
	n := 4 + int(binary.BigEndian.Uint16(b[2:]))
	if n > len(b) {
		return TransportID{}, 0, shortData(format, 2, "ADDITIONAL LENGTH")
	}
	body := b[4:n]
	end := -1
	for i, c := range body {
		if c == 0 {
			end = i
			break
		}
	}
	if end < 0 {
		return TransportID{}, 0, malformed(format, 4, "ISCSI NAME")
	}
	s := string(body[:end])
	t := TransportID{Name: s}
	if b[0]>>6 == 1 {
		i := strings.LastIndex(strings.ToLower(s), ",i,0x")
		if i < 0 || len(s)-i-5 != 12 {
			return TransportID{}, 0, malformed(format, 4, "SEPARATOR")
		}
		u, err := strconv.ParseUint(s[i+5:], 16, 64)
		if err != nil {
			return TransportID{}, 0, malformed(format, 4+i+5, "ISCSI INITIATOR SESSION ID")
		}
		t.Name, t.HasISID = s[:i], true
		for j := range 6 {
			t.ISID[j] = byte(u >> (40 - 8*j))
		}
	}
	return t, n, nil
}

// TransportIDs walks a list of TransportIDs, such as the one after the
// TRANSPORTID PARAMETER DATA LENGTH of a PERSISTENT RESERVE OUT parameter
// list with SPEC_I_PT one. The first malformed TransportID yields its
// error and stops the walk.
func TransportIDs(b []byte) iter.Seq2[TransportID, error] {
	return func(yield func(TransportID, error) bool) {
		for len(b) > 0 {
			t, n, err := ParseTransportID(b)
			if !yield(t, err) || err != nil {
				return
			}
			b = b[n:]
		}
	}
}

// TransportIDOfPort returns the iSCSI TransportID that names an initiator
// port given by its SCSI initiator port name (the form
// [ISCSIInitiatorPortName] builds): FORMAT CODE 01b with the ISID when
// port ends in ",i,0x" and twelve hexadecimal digits (RFC 7143 §4.2.7.3),
// else FORMAT CODE 00b with port as the name (SPC-4 §7.6.4.6).
func TransportIDOfPort(port string) TransportID {
	i := strings.LastIndex(strings.ToLower(port), ",i,0x")
	if i < 0 || len(port)-i-5 != 12 {
		return TransportID{Name: port}
	}
	u, err := strconv.ParseUint(port[i+5:], 16, 64)
	if err != nil {
		return TransportID{Name: port}
	}
	t := TransportID{Name: port[:i], HasISID: true}
	for j := range 6 {
		t.ISID[j] = byte(u >> (40 - 8*j))
	}
	return t
}
