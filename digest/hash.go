package digest

import "hash"

// Digest computes a CRC32C incrementally, for a header or data segment that
// arrives or leaves in pieces (RFC 7143 §13.1). It implements hash.Hash32;
// its Sum appends the digest in wire order, least significant byte first
// (RFC 7143 Appendix A.4), unlike hash/crc32. The zero value is ready to
// use and a Digest allocates nothing.
type Digest struct {
	crc uint32
	n   uint64
}

var _ hash.Hash32 = (*Digest)(nil)

// New returns a new, empty Digest.
func New() *Digest { return new(Digest) }

// Write adds p to the running CRC32C. It never returns an error.
func (d *Digest) Write(p []byte) (int, error) {
	d.crc = Update(d.crc, p)
	d.n += uint64(len(p))
	return len(p), nil
}

// Sum32 returns the CRC32C of the bytes written so far, without padding:
// the header digest if those bytes were the BHS and AHSs.
func (d *Digest) Sum32() uint32 { return d.crc }

// PaddedSum32 returns the data digest of the bytes written so far: their
// CRC32C followed by the zero bytes that pad them to a multiple of 4
// (RFC 7143 §11.1, §13.1). It does not change the Digest, so more bytes can
// be written after it.
func (d *Digest) PaddedSum32() uint32 {
	if p := -d.n & 3; p != 0 {
		return Update(d.crc, zeroPad[:p])
	}
	return d.crc
}

// Len returns how many bytes have been written since the Digest was created
// or last reset.
func (d *Digest) Len() uint64 { return d.n }

// Sum appends [Digest.Sum32] to b in wire order, least significant byte
// first (RFC 7143 Appendix A.4), and returns the extended slice.
func (d *Digest) Sum(b []byte) []byte { return AppendDigest(b, d.crc) }

// Reset returns the Digest to its initial, empty state.
func (d *Digest) Reset() { *d = Digest{} }

// Size returns [Size], the length of a digest in bytes.
func (d *Digest) Size() int { return Size }

// BlockSize returns 4: a data digest covers whole 4-byte words, padding
// included (RFC 7143 §11.1). Writes of any length are accepted.
func (d *Digest) BlockSize() int { return 4 }
