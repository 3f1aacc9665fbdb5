//go:build !amd64 || purego

package digest

import "github.com/klauspost/crc32"

// update is the CRC32C of RFC 7143 §13.1 behind Checksum, Update, Header
// and Data. On this architecture, or with the purego build tag, it is
// klauspost/crc32, which uses the CPU's CRC32C instructions where it has
// them and tables otherwise.
func update(crc uint32, p []byte) uint32 {
	return crc32.Update(crc, castagnoli, p)
}

// useAVX512 is always false here: there is no VPCLMULQDQ routine in this
// build. It exists so that the tests that switch between the two paths
// build everywhere.
var useAVX512 = false
