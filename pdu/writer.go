package pdu

import (
	"encoding/binary"
	"io"
	"net"
)

// Writer sends iSCSI PDUs on a byte stream such as a net.Conn
// (RFC 7143 §11.2). Each PDU goes out in one vectored write
// ([net.Buffers], writev on a TCP connection): the header segments and
// header digest from a small internal buffer, the caller's data segment
// uncopied, then the padding and data digest. Write allocates nothing.
//
// A Writer is not safe for concurrent use; serialise calls to Write.
type Writer struct {
	w       io.Writer
	digests Digests

	// AllowIllegalWrites, when true, sends the header exactly as given:
	// TotalAHSLength and DataSegmentLength are not set from the AHS and
	// data, and their limits are not checked, so tests can send a peer
	// deliberately wrong PDUs. Padding and digests still follow the bytes
	// actually sent; an AHS longer than the 1020 bytes the header can
	// hold is cut to 1020.
	AllowIllegalWrites bool

	hdr     [BHSLength + MaxTotalAHSLength + DigestLength]byte
	trailer [3 + DigestLength]byte
	backing [3][]byte
	bufs    net.Buffers
}

// NewWriter returns a Writer that sends PDUs on w with no digests, as
// during login (RFC 7143 §13.1).
func NewWriter(w io.Writer) *Writer { return &Writer{w: w} }

// SetHeaderDigest sets whether PDUs carry a header digest, as the
// HeaderDigest key negotiated (RFC 7143 §13.1).
func (w *Writer) SetHeaderDigest(on bool) { w.digests.Header = on }

// SetDataDigest sets whether PDUs with a data segment carry a data digest,
// as the DataDigest key negotiated (RFC 7143 §13.1).
func (w *Writer) SetDataDigest(on bool) { w.digests.Data = on }

// SetDigests sets both digests at once, as [Writer.SetHeaderDigest] and
// [Writer.SetDataDigest] do.
func (w *Writer) SetDigests(d Digests) { w.digests = d }

// Digests returns the digests the Writer sends.
func (w *Writer) Digests() Digests { return w.digests }

// Write sends one PDU: the header h, the Additional Header Segments ahs
// (a whole number of 4-byte words, at most 1020 bytes, as
// [AppendAHS] builds them), the header digest, the data segment data, its
// zero padding to 4 bytes, and the data digest (RFC 7143 §11.1, §11.2).
// Unless AllowIllegalWrites is set it fills in TotalAHSLength and
// DataSegmentLength of the copy it sends (h is not changed) and rejects
// lengths the wire cannot carry. Errors of the underlying writer are
// returned as they are; after one the connection is unusable.
func (w *Writer) Write(h *BHS, ahs, data []byte) error {
	if !w.AllowIllegalWrites {
		if err := checkLengths(h.Opcode(), len(ahs), len(data)); err != nil {
			return err
		}
	} else if len(ahs) > MaxTotalAHSLength {
		ahs = ahs[:MaxTotalAHSLength]
	}
	n := copy(w.hdr[:], h[:])
	n += copy(w.hdr[n:], ahs)
	if !w.AllowIllegalWrites {
		bh := (*BHS)(w.hdr[:BHSLength])
		bh.SetTotalAHSLength(uint8(len(ahs) / 4))
		bh.SetDataSegmentLength(uint32(len(data)))
	}
	if w.digests.Header {
		binary.LittleEndian.PutUint32(w.hdr[n:], crcUpdate(0, w.hdr[:n]))
		n += DigestLength
	}
	w.backing[0] = w.hdr[:n]
	k := 1
	if len(data) > 0 {
		pad := padLength(len(data))
		t := pad
		if w.digests.Data {
			crc := crcUpdate(crcUpdate(0, data), zeroPad[:pad])
			binary.LittleEndian.PutUint32(w.trailer[pad:], crc)
			t += DigestLength
		}
		w.backing[1] = data
		k = 2
		if t > 0 {
			clear(w.trailer[:pad])
			w.backing[2] = w.trailer[:t]
			k = 3
		}
	}
	w.bufs = w.backing[:k]
	_, err := w.bufs.WriteTo(w.w)
	w.backing = [3][]byte{}
	return err
}

// WritePDU sends p with [Writer.Write].
func (w *Writer) WritePDU(p *PDU) error { return w.Write(&p.Header, p.AHS, p.Data) }
