package pdu

import "github.com/go-iscsi/iscsi/digest"

// crcUpdate continues a CRC32C (RFC 7143 §13.1) over p; crcUpdate(0, b)
// is the digest of b. Digests go on the wire least significant byte first
// (RFC 7143 Appendix A.4).
func crcUpdate(crc uint32, p []byte) uint32 { return digest.Update(crc, p) }

// DigestLength is the length in bytes of a header or data digest
// (RFC 7143 §11.2.3).
const DigestLength = digest.Size
