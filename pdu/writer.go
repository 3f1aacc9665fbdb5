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
// uncopied, then the padding and data digest. [Writer.Queue] and
// [Writer.Flush] put several PDUs in one vectored write, so that responses
// ready together cost one system call. Write allocates nothing; Queue
// allocates only while its internal buffers grow to the largest batch
// seen.
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

	// arena holds the header segments and trailers of the queued PDUs;
	// vec the slices of one vectored write, into arena and the callers'
	// data segments.
	arena  []byte
	vec    [][]byte
	queued int // bytes queued
	bufs   net.Buffers
	// vw, when not nil, writes w's socket with raw writev(2) calls
	// (rawSyscallNote).
	vw *vecWriter
}

// maxPDUFraming is the most bytes of a PDU outside its data segment: the
// BHS, the largest AHS area, the header digest, padding and data digest.
const maxPDUFraming = BHSLength + MaxTotalAHSLength + DigestLength + 3 + DigestLength

// NewWriter returns a Writer that sends PDUs on w with no digests, as
// during login (RFC 7143 §13.1).
func NewWriter(w io.Writer) *Writer { return &Writer{w: w, vw: newVecWriter(w)} }

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
// lengths the wire cannot carry. PDUs queued with [Writer.Queue] go out
// before it, in the same vectored write. Errors of the underlying writer
// are returned as they are; after one the connection is unusable.
func (w *Writer) Write(h *BHS, ahs, data []byte) error {
	if err := w.Queue(h, ahs, data); err != nil {
		return err
	}
	return w.Flush()
}

// Queue frames one PDU as [Writer.Write] does, but holds it until the next
// Flush or Write, which send every queued PDU in order in one vectored
// write. The header is copied at once; the data segment is not, and must
// stay unchanged until that call returns. A PDU Queue rejects (a length
// error) is not queued and leaves the queue as it was.
func (w *Writer) Queue(h *BHS, ahs, data []byte) error {
	if !w.AllowIllegalWrites {
		if err := checkLengths(h.Opcode(), len(ahs), len(data)); err != nil {
			return err
		}
	} else if len(ahs) > MaxTotalAHSLength {
		ahs = ahs[:MaxTotalAHSLength]
	}
	a := len(w.arena)
	if cap(w.arena)-a < maxPDUFraming {
		// The slices already queued keep the old array alive; they stay
		// valid.
		w.arena = append(w.arena[:a:a], make([]byte, maxPDUFraming)...)[:a]
	}
	hdr := w.arena[a : a+maxPDUFraming]
	n := copy(hdr, h[:])
	n += copy(hdr[n:], ahs)
	if !w.AllowIllegalWrites {
		bh := (*BHS)(hdr[:BHSLength])
		bh.SetTotalAHSLength(uint8(len(ahs) / 4))
		bh.SetDataSegmentLength(uint32(len(data)))
	}
	if w.digests.Header {
		binary.LittleEndian.PutUint32(hdr[n:], crcUpdate(0, hdr[:n]))
		n += DigestLength
	}
	head := hdr[:n:n]
	var trailer []byte
	if len(data) > 0 {
		pad := padLength(len(data))
		t := hdr[n : n+pad]
		clear(t)
		if w.digests.Data {
			crc := crcUpdate(crcUpdate(0, data), zeroPad[:pad])
			t = binary.LittleEndian.AppendUint32(t, crc)
		}
		trailer = t[:len(t):len(t)]
	}
	used := n + len(trailer)
	w.arena = w.arena[:a+used]
	w.queued += used + len(data)
	switch {
	case len(data) == 0:
		w.vec = append(w.vec, head)
	case len(trailer) == 0:
		w.vec = append(w.vec, head, data)
	default:
		w.vec = append(w.vec, head, data, trailer)
	}
	return nil
}

// Queued returns the bytes of the PDUs queued and not yet flushed.
func (w *Writer) Queued() int { return w.queued }

// Flush sends the PDUs queued with [Writer.Queue], in order, in one
// vectored write, and empties the queue whatever the outcome. Errors of
// the underlying writer are returned as they are; after one the
// connection is unusable.
func (w *Writer) Flush() error {
	if len(w.vec) == 0 {
		return nil
	}
	var err error
	if w.vw != nil {
		err = w.vw.writev(w.vec)
	} else {
		w.bufs = w.vec
		_, err = w.bufs.WriteTo(w.w)
	}
	// Drop the references to the callers' data segments.
	clear(w.vec)
	w.vec = w.vec[:0]
	w.bufs = nil
	w.arena = w.arena[:0]
	w.queued = 0
	return err
}

// WritePDU sends p with [Writer.Write].
func (w *Writer) WritePDU(p *PDU) error { return w.Write(&p.Header, p.AHS, p.Data) }
