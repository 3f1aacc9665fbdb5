package pdu

import (
	"encoding/binary"
	"errors"
	"io"
	"time"
)

// DefaultMaxRecvDataSegmentLength is the MaxRecvDataSegmentLength in force
// until one is negotiated (RFC 7143 §13.12).
const DefaultMaxRecvDataSegmentLength = 8192

// minBufferSize is the smallest read buffer, big enough for a PDU with the
// largest AHS area, both digests and a default-sized data segment, and for
// several small PDUs per read call.
const minBufferSize = 32 << 10

// maxEmptyReads bounds the calls to an io.Reader that return no bytes and
// no error before the Reader gives up with io.ErrNoProgress.
const maxEmptyReads = 100

// Reader frames iSCSI PDUs out of a byte stream such as a net.Conn
// (RFC 7143 §11.2). It reads through one internal buffer, so a stream of
// small PDUs costs few read calls, and it allocates nothing per PDU once
// the buffer has grown to the largest PDU seen.
//
// The *PDU a Reader returns, and the AHS and data slices in it, are valid
// only until the next call to a Reader method.
//
// A Reader does not check reserved fields: RFC 7143 §11 asks receivers to
// ignore them. Call [BHS.Validate] to be strict. It frames any opcode,
// so a caller can answer an unknown one with a Reject (RFC 7143 §11.17.1).
//
// Errors are of two kinds. A [*ConnectionError] (stream ended inside a
// PDU, header digest error, data segment longer than
// MaxRecvDataSegmentLength, an error from the underlying reader) is
// sticky: every later call returns it, and the connection must be closed.
// A [*ProtocolError] (data digest error) concerns one PDU, which has been
// consumed; reading can go on (RFC 7143 §7.8). With
// [Reader.SetHeaderDigestRecovery] a header digest error is a
// [*HeaderDigestError] instead, after which reading goes on too. io.EOF is
// returned when the stream ends cleanly between two PDUs.
//
// A Reader is not safe for concurrent use.
type Reader struct {
	r io.Reader
	// vec, when not nil, reads r's socket with readv(2) (ReadData).
	vec  *vecReader
	buf  []byte
	rpos int // start of unconsumed bytes in buf
	wpos int // end of valid bytes in buf

	digests Digests
	maxRecv uint32
	// skipBadHeader: a header digest error skips the PDU by its
	// DataSegmentLength instead of failing the stream
	// (SetHeaderDigestRecovery).
	skipBadHeader bool

	// How long a read that would wait for the socket spins first, between
	// PDUs and within one (SetBusyPoll).
	idlePoll, partialPoll time.Duration

	p   PDU
	err error // sticky error

	// After ReadHeader, the data segment not yet read.
	pending     bool
	pendingHdr  BHS
	pendingData uint32 // DataSegmentLength of the pending segment
}

// NewReader returns a Reader that reads PDUs from r, with no digests and a
// MaxRecvDataSegmentLength of 8192, the values in force during login
// (RFC 7143 §13.1, §13.12).
func NewReader(r io.Reader) *Reader {
	return &Reader{
		r:       r,
		vec:     newVecReader(r),
		buf:     make([]byte, minBufferSize),
		maxRecv: DefaultMaxRecvDataSegmentLength,
	}
}

// SetBusyPoll makes a read that finds nothing on the socket try again,
// yielding the processor between tries, before it waits to be woken by
// the runtime's network poller: for up to idle when no byte of the next
// PDU has come yet, for up to partial when part of a PDU has come and
// the rest is awaited. 0, the default for both, waits at once. Spinning
// trades CPU time for latency: when the bytes come within the spin (at
// queue depth 1 a peer's answer usually does, and the rest of a large
// segment nearly always), the reading thread is not put to sleep and
// woken again, which on many virtual machines costs more than the wait
// itself. It applies to a *net.TCPConn or *net.UnixConn on Linux;
// elsewhere it does nothing. Closing the connection may wait for a spin
// to end. It may be changed between reads.
func (r *Reader) SetBusyPoll(idle, partial time.Duration) {
	if r.vec != nil {
		r.idlePoll, r.partialPoll = max(idle, 0), max(partial, 0)
	}
}

// SetHeaderDigest sets whether PDUs carry a header digest, as the
// HeaderDigest key negotiated (RFC 7143 §13.1). It takes effect from the
// next PDU read.
func (r *Reader) SetHeaderDigest(on bool) { r.digests.Header = on }

// SetDataDigest sets whether PDUs with a data segment carry a data digest,
// as the DataDigest key negotiated (RFC 7143 §13.1).
func (r *Reader) SetDataDigest(on bool) { r.digests.Data = on }

// SetMaxRecvDataSegmentLength sets the largest DataSegmentLength accepted,
// the MaxRecvDataSegmentLength this side declared (RFC 7143 §13.12). A
// longer segment is a [*ConnectionError] wrapping a
// [*SegmentTooLongError]. n is capped at 2^24-1; 0 admits only PDUs
// without a data segment (RFC 7143 §13.12 allows 512 to 2^24-1).
func (r *Reader) SetMaxRecvDataSegmentLength(n uint32) {
	r.maxRecv = min(n, MaxDataSegmentLength)
}

// SetHeaderDigestRecovery sets what a header digest error does. Off (the
// default), it is a sticky [*ConnectionError]: the connection must go.
// On, it is a [*HeaderDigestError] and the Reader skips the PDU, its AHS
// and its data segment as the header's own TotalAHSLength and
// DataSegmentLength say (a DataSegmentLength above
// MaxRecvDataSegmentLength is still a [*ConnectionError]), and reading
// goes on with the next PDU.
//
// RFC 7143 §7.8 has the receiver of a header digest error discard the
// header and all data up to the beginning of a later PDU, or close the
// connection, and warns that the lengths in the header cannot be trusted:
// it expects a sync and steering layer to find the next PDU. This Reader
// has none and resynchronises on the lengths it read: when the corruption
// hit any other header byte (the common case of a single flipped bit or
// burst, since the length fields are 4 of the 48 bytes) the next PDU is
// found exactly; when it hit a length, the bytes that follow are framed
// wrongly and the next header digest fails as well, so a caller should
// drop the connection after a few errors in a row. Turn it on only at
// ErrorRecoveryLevel 1 or above (§7.1.4.1, §13.20), where the peer
// recovers the discarded PDU: the initiator with a SNACK or a command
// retry, the target with a recovery R2T.
func (r *Reader) SetHeaderDigestRecovery(on bool) { r.skipBadHeader = on }

// SetDigests sets both digests at once, as [Reader.SetHeaderDigest] and
// [Reader.SetDataDigest] do.
func (r *Reader) SetDigests(d Digests) { r.digests = d }

// Digests returns the digests the Reader expects.
func (r *Reader) Digests() Digests { return r.digests }

// Buffered returns the number of bytes read from the underlying reader and
// not yet consumed.
func (r *Reader) Buffered() int { return r.wpos - r.rpos }

// Read reads one whole PDU: header, AHS, data segment, checking the
// digests that are enabled. The result is valid until the next call.
func (r *Reader) Read() (*PDU, error) {
	h, hl, err := r.readHeader()
	if err != nil {
		return nil, err
	}
	dsl := h.DataSegmentLength()
	total := hl + r.digests.dataLength(dsl)
	if err := r.fill(total); err != nil {
		return nil, err
	}
	// fill may have moved the buffered bytes: h is stale.
	b := r.buf[r.rpos : r.rpos+total]
	h = (*BHS)(b[:BHSLength])
	r.p.Header = *h
	ahsLen := int(h.TotalAHSLength()) * 4
	r.p.AHS = b[BHSLength : BHSLength+ahsLen : BHSLength+ahsLen]
	r.p.Data = b[hl : hl+int(dsl) : hl+int(dsl)]
	r.rpos += total
	if r.digests.Data && dsl > 0 {
		if err := checkDataDigest(&r.p.Header, b[hl:]); err != nil {
			return nil, err
		}
	}
	return &r.p, nil
}

// ReadHeader reads the header segments of the next PDU (BHS, AHS and
// header digest) and leaves its data segment unread, to be read with
// [Reader.ReadData] straight into a caller's buffer or skipped with
// [Reader.DiscardData]. The PDU's Data is nil. A data segment left unread
// is discarded, unchecked, by the next ReadHeader or Read.
func (r *Reader) ReadHeader() (*PDU, error) {
	h, hl, err := r.readHeader()
	if err != nil {
		return nil, err
	}
	b := r.buf[r.rpos : r.rpos+hl]
	r.p.Header = *h
	ahsLen := int(h.TotalAHSLength()) * 4
	r.p.AHS = b[BHSLength : BHSLength+ahsLen : BHSLength+ahsLen]
	r.p.Data = nil
	r.rpos += hl
	if dsl := h.DataSegmentLength(); dsl > 0 {
		r.pending = true
		r.pendingHdr = *h
		r.pendingData = dsl
	}
	return &r.p, nil
}

// ReadData reads the data segment of the PDU whose header ReadHeader
// returned into dst, which must be exactly DataSegmentLength bytes long,
// then consumes the padding and checks the data digest if enabled. Bytes
// already buffered are copied; the rest are read from the underlying
// reader directly into dst. A wrong-sized dst gives an error matching
// [ErrDataLength] and consumes nothing. With no data segment pending, dst
// must be empty.
func (r *Reader) ReadData(dst []byte) error {
	if r.err != nil {
		return r.err
	}
	want := 0
	if r.pending {
		want = int(r.pendingData)
	}
	if len(dst) != want {
		return &dataLengthError{got: len(dst), want: want}
	}
	if !r.pending {
		return nil
	}
	r.pending = false
	n := copy(dst, r.buf[r.rpos:r.wpos])
	r.rpos += n
	// The data digest is computed as the bytes come, over each piece while
	// it is fresh in the cache, rather than over the whole segment after.
	var crc uint32
	if r.digests.Data {
		crc = crcUpdate(0, dst[:n])
	}
	if n < len(dst) {
		var err error
		if r.vec != nil {
			crc, err = r.readDirect(dst[n:], len(dst), crc)
		} else if _, err = io.ReadFull(r.r, dst[n:]); err == nil && r.digests.Data {
			crc = crcUpdate(crc, dst[n:])
		}
		if err != nil {
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return r.fail(err)
		}
	}
	pad := padLength(len(dst))
	trailer := pad
	if r.digests.Data {
		trailer += DigestLength
	}
	if err := r.fill(trailer); err != nil {
		return err
	}
	t := r.buf[r.rpos : r.rpos+trailer]
	r.rpos += trailer
	if r.digests.Data {
		want := crcUpdate(crc, t[:pad])
		if got := binary.LittleEndian.Uint32(t[pad:]); got != want {
			return dataDigestError(&r.pendingHdr, got, want)
		}
	}
	return nil
}

// readvTail is how many bytes beyond a data segment as long as the buffer
// or longer readDirect takes into the buffer with it: the next PDU's
// header and the start of its data segment. Kept small, so that the next
// segment, likely as long, is mostly read in place too rather than
// copied out of the buffer.
const readvTail = 4 << 10

// readDirect reads all of dst, the rest of a data segment of seg bytes,
// from the socket with readv(2), together with bytes that follow it into
// the buffer, which is empty (ReadData consumed it): up to readvTail after
// a segment at least as long as the buffer, else as many as the buffer
// holds, so that the shorter PDUs after a short one are buffered at once
// as fillSome would. A 128 KiB segment whose header came in the buffer
// then costs one system call, and the header after it none. crc is the
// data digest so far, updated with each piece read when data digests are
// on.
func (r *Reader) readDirect(dst []byte, seg int, crc uint32) (uint32, error) {
	r.rpos, r.wpos = 0, 0
	tail := r.buf
	if seg >= len(r.buf) {
		tail = r.buf[:min(len(r.buf), readvTail)]
	}
	for {
		n, err := r.vec.readvPoll(dst, tail, r.partialPoll)
		if err != nil {
			return crc, err
		}
		got := dst[:min(n, len(dst))]
		if r.digests.Data {
			crc = crcUpdate(crc, got)
		}
		if n >= len(dst) {
			r.wpos = n - len(dst)
			return crc, nil
		}
		dst = dst[n:]
	}
}

// DiscardData skips the data segment of the PDU whose header ReadHeader
// returned, with its padding and digest, without checking the digest.
func (r *Reader) DiscardData() error {
	if r.err != nil {
		return r.err
	}
	if !r.pending {
		return nil
	}
	r.pending = false
	left := r.digests.dataLength(r.pendingData)
	for left > 0 {
		if r.rpos == r.wpos {
			if err := r.fill(min(left, len(r.buf))); err != nil {
				return err
			}
		}
		n := min(left, r.wpos-r.rpos)
		r.rpos += n
		left -= n
	}
	return nil
}

// readHeader discards any pending data segment, then buffers and checks
// the header segments of the next PDU. It returns the BHS (in the buffer)
// and the length of the header segments with their digest.
func (r *Reader) readHeader() (*BHS, int, error) {
	if r.err != nil {
		return nil, 0, r.err
	}
	if r.pending {
		if err := r.DiscardData(); err != nil {
			return nil, 0, err
		}
	}
	if r.wpos == r.rpos {
		// Clean end of stream only at a PDU boundary.
		if err := r.fillSome(r.idlePoll); err != nil {
			if err == io.EOF {
				return nil, 0, io.EOF
			}
			return nil, 0, r.fail(err)
		}
	}
	if err := r.fill(BHSLength); err != nil {
		return nil, 0, err
	}
	// The header segments are at most 1072 bytes: check their digest
	// before believing DataSegmentLength.
	hl := r.digests.headerLength(int(r.buf[r.rpos+4]) * 4)
	if err := r.fill(hl); err != nil {
		return nil, 0, err
	}
	if r.digests.Header {
		if err := checkHeaderDigest(r.buf[r.rpos : r.rpos+hl]); err != nil {
			if r.skipBadHeader {
				return nil, 0, r.skipHeader(hl, err)
			}
			r.err = err
			return nil, 0, err
		}
	}
	h := (*BHS)(r.buf[r.rpos : r.rpos+BHSLength])
	if dsl := h.DataSegmentLength(); dsl > r.maxRecv {
		return nil, 0, r.fail(&SegmentTooLongError{Opcode: h.Opcode(), Length: dsl, Limit: r.maxRecv})
	}
	return h, hl, nil
}

// skipHeader consumes the header segments of a PDU whose header digest
// failed and leaves its data segment, by its untrusted DataSegmentLength,
// to be discarded by the next read (SetHeaderDigestRecovery).
func (r *Reader) skipHeader(hl int, err error) error {
	var de *DigestError
	errors.As(err, &de)
	h := (*BHS)(r.buf[r.rpos : r.rpos+BHSLength])
	dsl := h.DataSegmentLength()
	if dsl > r.maxRecv {
		// No length to skip by that this side would accept: the stream
		// cannot be resynchronised.
		return r.fail(err)
	}
	e := &HeaderDigestError{Header: *h, Digest: *de, Skipped: uint32(hl) + uint32(r.digests.dataLength(dsl))}
	r.rpos += hl
	if dsl > 0 {
		r.pending = true
		r.pendingHdr = *h
		r.pendingData = dsl
	}
	return e
}

// fill makes sure n bytes are buffered from rpos on, moving or growing the
// buffer only when they do not fit behind rpos.
func (r *Reader) fill(n int) error {
	if r.wpos-r.rpos >= n {
		return nil
	}
	if r.rpos+n > len(r.buf) {
		if n > len(r.buf) {
			// Double, to bound the copying an adversary who sends ever
			// larger PDUs can cause, but never beyond the largest PDU the
			// limit lets through.
			maxPDU := BHSLength + MaxTotalAHSLength + 2*DigestLength + int(PaddedLength(r.maxRecv))
			size := max(n, min(2*len(r.buf), maxPDU))
			nb := make([]byte, size)
			r.wpos = copy(nb, r.buf[r.rpos:r.wpos])
			r.buf = nb
		} else {
			r.wpos = copy(r.buf, r.buf[r.rpos:r.wpos])
		}
		r.rpos = 0
	}
	for r.wpos-r.rpos < n {
		if err := r.fillSome(r.partialPoll); err != nil {
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return r.fail(err)
		}
	}
	return nil
}

// fillSome reads at least one byte into the buffer, which has room,
// spinning for up to spin first if the socket has nothing (SetBusyPoll).
func (r *Reader) fillSome(spin time.Duration) error {
	if r.wpos == len(r.buf) {
		r.wpos = copy(r.buf, r.buf[r.rpos:r.wpos])
		r.rpos = 0
	}
	for range maxEmptyReads {
		var n int
		var err error
		if r.vec != nil {
			n, err = r.vec.readvPoll(r.buf[r.wpos:], nil, spin)
		} else {
			n, err = r.r.Read(r.buf[r.wpos:])
		}
		if n < 0 || n > len(r.buf)-r.wpos {
			return errors.New("pdu: underlying reader returned an invalid count")
		}
		r.wpos += n
		if n > 0 {
			return nil
		}
		if err != nil {
			return err
		}
	}
	return io.ErrNoProgress
}

// fail records a connection-fatal error and returns it.
func (r *Reader) fail(err error) error {
	var ce *ConnectionError
	if !errors.As(err, &ce) {
		err = &ConnectionError{Err: err}
	}
	r.err = err
	return err
}

// dataLengthError reports a ReadData buffer of the wrong length.
type dataLengthError struct{ got, want int }

func (e *dataLengthError) Error() string {
	return ErrDataLength.Error() + ": got " + itoa(e.got) + " bytes, DataSegmentLength is " + itoa(e.want)
}

func (e *dataLengthError) Is(target error) bool { return target == ErrDataLength }
