package digest

import (
	"encoding/binary"

	"github.com/klauspost/crc32"
)

// Size is the length in bytes of a header or data digest on the wire
// (RFC 7143 §11.2.3: a CRC32C digest is 4 bytes).
const Size = 4

// castagnoli is the table for the CRC32C polynomial of RFC 7143 §13.1.
// MakeTable returns the package-level table of klauspost/crc32, whose
// identity selects the hardware-accelerated path in crc32.Update.
var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// zeroPad holds the zero bytes fed into a data digest after a segment whose
// length is not a multiple of 4 (RFC 7143 §11.1: padding bytes SHOULD be
// sent as 0).
var zeroPad [3]byte

// Checksum returns the CRC32C of b (RFC 7143 §13.1: generator 0x11EDC6F41,
// register initialised to all ones, result complemented). It adds no
// padding; see [Data] for the data digest.
func Checksum(b []byte) uint32 {
	return update(0, b)
}

// Update returns the CRC32C of the bytes already summed into crc followed
// by p, so that Update(Checksum(a), b) == Checksum(a+b). Update(0, p) is
// Checksum(p). It adds no padding.
func Update(crc uint32, p []byte) uint32 {
	return update(crc, p)
}

// Header returns the header digest of a PDU: the CRC32C of its Basic Header
// Segment followed by its Additional Header Segments, which the caller
// passes as one slice (RFC 7143 §11.2.3). Header segments are always a
// multiple of 4 bytes long, so no padding is added.
func Header(bhsAndAHS []byte) uint32 {
	return update(0, bhsAndAHS)
}

// Data returns the data digest of a data segment: the CRC32C of the segment
// followed by the 0 to 3 zero bytes that pad it to a multiple of 4 bytes
// (RFC 7143 §11.1 and §13.1: padding bytes are included in the CRC). The
// caller passes the segment unpadded, DataSegmentLength bytes long; Data
// neither copies nor allocates.
func Data(segment []byte) uint32 {
	crc := update(0, segment)
	if p := padLen(len(segment)); p != 0 {
		crc = crc32.Update(crc, castagnoli, zeroPad[:p])
	}
	return crc
}

// padLen returns how many zero bytes follow a segment of n bytes on the
// wire: 0 to 3, so that the segment ends on a 4-byte boundary (RFC 7143
// §11.1); 0 for n <= 0.
func padLen(n int) int {
	if n <= 0 {
		return 0
	}
	return -n & 3
}

// PaddingLen returns how many zero bytes follow a segment of n bytes on the
// wire: 0 to 3, so that the segment ends on a 4-byte boundary (RFC 7143
// §11.1). It returns 0 for n <= 0.
//
// Deprecated: padding belongs to the framing of PDUs, and
// [github.com/go-iscsi/iscsi/pdu.PaddedLength] is the module's one padding
// helper: the padding is PaddedLength(n)-n. [Data] and [Digest.PaddedSum32]
// add the padding to a digest themselves.
func PaddingLen(n int) int { return padLen(n) }

// Pad returns n rounded up to a multiple of 4: the number of bytes a data
// segment of n bytes occupies on the wire, padding included (RFC 7143
// §11.1). It returns 0 for n <= 0.
//
// Deprecated: use [github.com/go-iscsi/iscsi/pdu.PaddedLength], the
// module's one padding helper.
func Pad(n int) int { return max(n, 0) + padLen(n) }

// AppendDigest appends the 4 wire bytes of crc to dst and returns the
// extended slice. The least significant byte comes first, as in the CRC
// examples of RFC 7143 Appendix A.4 (0x8A9136AA is sent as aa 36 91 8a).
func AppendDigest(dst []byte, crc uint32) []byte {
	return binary.LittleEndian.AppendUint32(dst, crc)
}

// FromBytes returns the digest value carried by the first 4 bytes of b,
// least significant byte first (RFC 7143 Appendix A.4). It is the inverse of
// [AppendDigest]. If b is shorter than [Size], it returns a
// *[ShortDigestError], which matches [ErrShortDigest].
func FromBytes(b []byte) (uint32, error) {
	if len(b) < Size {
		return 0, &ShortDigestError{Len: len(b)}
	}
	return binary.LittleEndian.Uint32(b), nil
}
