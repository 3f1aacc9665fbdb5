package pdu

import (
	"encoding/binary"
	"io"
	"strconv"
)

// PDU is one whole iSCSI PDU (RFC 7143 §11.2): the Basic Header Segment,
// the Additional Header Segments and the data segment. Digests and padding
// are not kept; they are computed on encoding and checked on decoding.
//
// A PDU returned by [Reader.Read] or [Decode] aliases the bytes it was
// read from: its AHS and Data are valid until the next call to a Reader
// method, or as long as the decoded slice is unchanged. A caller who needs
// them longer copies them.
type PDU struct {
	// Header is the Basic Header Segment. Its TotalAHSLength and
	// DataSegmentLength describe AHS and Data.
	Header BHS
	// AHS holds the Additional Header Segments, TotalAHSLength*4 bytes
	// (RFC 7143 §11.2.2); see [AHSIterator].
	AHS []byte
	// Data is the data segment without its padding (RFC 7143 §11.2.4).
	Data []byte
}

// Digests says which digests a connection carries, as negotiated with the
// HeaderDigest and DataDigest keys (RFC 7143 §13.1): CRC32C after the
// header segments, and after the padded data segment when there is one
// (RFC 7143 §11.1, §11.2).
type Digests struct {
	Header bool
	Data   bool
}

// headerLength returns the bytes of BHS, AHS and header digest.
func (d Digests) headerLength(ahsLen int) int {
	n := BHSLength + ahsLen
	if d.Header {
		n += DigestLength
	}
	return n
}

// dataLength returns the bytes of the data segment, its padding and data
// digest: RFC 7143 §11.1 pads the segment to 4 bytes, and the data digest
// is present only when the segment is not empty.
func (d Digests) dataLength(dsl uint32) int {
	if dsl == 0 {
		return 0
	}
	n := int(PaddedLength(dsl))
	if d.Data {
		n += DigestLength
	}
	return n
}

// Clone returns a copy of p whose AHS and Data no longer alias a Reader's
// buffer or a decoded slice.
func (p *PDU) Clone() PDU {
	q := PDU{Header: p.Header}
	if p.AHS != nil {
		q.AHS = append([]byte{}, p.AHS...)
	}
	if p.Data != nil {
		q.Data = append([]byte{}, p.Data...)
	}
	return q
}

// WireLength returns the number of bytes p takes on a connection with
// digests d.
func (p *PDU) WireLength(d Digests) int {
	return d.headerLength(len(p.AHS)) + d.dataLength(uint32(len(p.Data)))
}

// AppendTo appends p as it goes on the wire (RFC 7143 §11.2): the BHS with
// TotalAHSLength and DataSegmentLength set from AHS and Data, the AHS, the
// header digest, the data segment, its zero padding, and the data digest.
// p itself is not changed. It fails if AHS is not a whole number of 4-byte
// words or longer than 1020 bytes, or Data is longer than 2^24-1 bytes.
func (p *PDU) AppendTo(dst []byte, d Digests) ([]byte, error) {
	if err := checkLengths(p.Header.Opcode(), len(p.AHS), len(p.Data)); err != nil {
		return dst, err
	}
	start := len(dst)
	dst = append(dst, p.Header[:]...)
	h := (*BHS)(dst[start : start+BHSLength])
	h.SetTotalAHSLength(uint8(len(p.AHS) / 4))
	h.SetDataSegmentLength(uint32(len(p.Data)))
	dst = append(dst, p.AHS...)
	if d.Header {
		dst = binary.LittleEndian.AppendUint32(dst, crcUpdate(0, dst[start:]))
	}
	if len(p.Data) == 0 {
		return dst, nil
	}
	ds := len(dst)
	dst = append(dst, p.Data...)
	dst = append(dst, zeroPad[:padLength(len(p.Data))]...)
	if d.Data {
		dst = binary.LittleEndian.AppendUint32(dst, crcUpdate(0, dst[ds:]))
	}
	return dst, nil
}

var zeroPad [3]byte

func padLength(n int) int { return -n & 3 }

func checkLengths(op Opcode, ahsLen, dataLen int) error {
	if ahsLen%4 != 0 || ahsLen > MaxTotalAHSLength {
		return &AHSError{Reason: "AHS area of " + strconv.Itoa(ahsLen) + " bytes is not a whole number of 4-byte words up to 1020"}
	}
	if dataLen > MaxDataSegmentLength {
		return &SegmentTooLongError{Opcode: op, Length: uint32(min(dataLen, 1<<32-1)), Limit: MaxDataSegmentLength}
	}
	return nil
}

// Decode parses the PDU at the start of b, a byte stream of PDUs as sent
// on a connection with digests d, and returns it with the number of bytes
// it takes. The PDU aliases b. Decode accepts any DataSegmentLength the
// wire can carry; [Reader] enforces MaxRecvDataSegmentLength.
//
// Errors: a b that ends inside the PDU gives a [*ConnectionError] wrapping
// [io.ErrUnexpectedEOF] (an empty b gives io.EOF); a header digest
// mismatch a [*ConnectionError] wrapping a [*DigestError]; a data digest
// mismatch a [*ProtocolError] with reason [RejectDataDigestError], n still
// set so a caller may skip the PDU (RFC 7143 §7.8).
func Decode(b []byte, d Digests) (p PDU, n int, err error) {
	if len(b) == 0 {
		return PDU{}, 0, io.EOF
	}
	if len(b) < BHSLength {
		return PDU{}, 0, &ConnectionError{Err: io.ErrUnexpectedEOF}
	}
	h := (*BHS)(b[:BHSLength])
	ahsLen := int(h.TotalAHSLength()) * 4
	hl := d.headerLength(ahsLen)
	if len(b) < hl {
		return PDU{}, 0, &ConnectionError{Err: io.ErrUnexpectedEOF}
	}
	if d.Header {
		if err := checkHeaderDigest(b[:hl]); err != nil {
			return PDU{}, 0, err
		}
	}
	dsl := h.DataSegmentLength()
	n = hl + d.dataLength(dsl)
	if len(b) < n {
		return PDU{}, 0, &ConnectionError{Err: io.ErrUnexpectedEOF}
	}
	p.Header = *h
	p.AHS = b[BHSLength : BHSLength+ahsLen : BHSLength+ahsLen]
	p.Data = b[hl : hl+int(dsl) : hl+int(dsl)]
	if d.Data && dsl > 0 {
		if err := checkDataDigest(h, b[hl:n]); err != nil {
			return PDU{}, n, err
		}
	}
	return p, n, nil
}

// checkHeaderDigest checks b, header segments followed by their digest.
func checkHeaderDigest(b []byte) error {
	k := len(b) - DigestLength
	got := binary.LittleEndian.Uint32(b[k:])
	if want := crcUpdate(0, b[:k]); got != want {
		return &ConnectionError{Err: &DigestError{Got: got, Want: want}}
	}
	return nil
}

// checkDataDigest checks b, a padded data segment followed by its digest.
func checkDataDigest(h *BHS, b []byte) error {
	k := len(b) - DigestLength
	got := binary.LittleEndian.Uint32(b[k:])
	if want := crcUpdate(0, b[:k]); got != want {
		return dataDigestError(h, got, want)
	}
	return nil
}

// dataDigestError is the error for a data digest mismatch. RFC 7143 §7.8:
// the PDU is discarded; a target answers with Reject reason Data Digest
// Error and, for a data PDU, also asks for it again with a recovery R2T or
// ends the task; an initiator asks for it again with a SNACK, aborts the
// task, or logs the connection out. The connection stays.
func dataDigestError(h *BHS, got, want uint32) error {
	return &ProtocolError{
		Reason: RejectDataDigestError,
		Header: *h,
		Err:    &DigestError{Data: true, Got: got, Want: want},
	}
}

func itoa(n int) string { return strconv.Itoa(n) }
