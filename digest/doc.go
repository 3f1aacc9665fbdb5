// Package digest computes the CRC32C header and data digests of iSCSI
// (RFC 7143 §11.2.3, §13.1): the only digest besides None that the
// HeaderDigest and DataDigest keys can negotiate.
//
// # Place among the layers
//
// Package digest sits at the bottom of the module beside package iqn and
// imports neither. Package pdu uses it to fill and check the digests of the
// PDUs it frames; nothing here knows what a PDU is.
//
// # The algorithm
//
// RFC 7143 §13.1 names CRC32C with generator polynomial 0x11EDC6F41, the
// Castagnoli polynomial. The CRC register starts at all ones, bits are taken
// least significant first and the result is complemented: the common
// reflected CRC-32C, which is also what SCTP uses. On amd64 CPUs with
// AVX-512 VPCLMULQDQ, inputs from 192 bytes on run this package's own
// assembly, which folds 256 bytes at a time by carry-less multiplication
// (about twice the speed of the CRC32 instruction). Everything else runs on
// github.com/klauspost/crc32, which uses the SSE4.2, ARMv8 and similar
// CRC32C instructions where the CPU has them; the purego build tag leaves
// out the assembly.
//
// # What each digest covers
//
// The header digest covers the Basic Header Segment and any Additional
// Header Segments ([Header]). The data digest covers the data segment and the
// zero padding that brings it to a multiple of 4 bytes (RFC 7143 §11.1,
// §13.1: "Padding bytes ... are included in the CRC"). [Data] adds that
// padding itself, so a caller passes the segment exactly as long as its
// DataSegmentLength, and nothing is copied or allocated. A PDU without a
// data segment (DataSegmentLength 0) carries no data digest at all. For a
// segment that arrives or leaves in pieces, [Digest] sums it incrementally
// and [Digest.PaddedSum32] adds the padding at the end.
//
// # Byte order on the wire
//
// The 4-byte digest travels least significant byte first: RFC 7143
// Appendix A.4 (RFC 3720 Appendix B.4) shows the CRC of 32 zero bytes,
// 0x8A9136AA, as the bytes aa 36 91 8a. [AppendDigest] and [FromBytes]
// convert between the value and those bytes, and [Digest.Sum] appends in
// the same order. Note that this is the reverse of hash/crc32's Sum, which
// appends big-endian.
package digest
