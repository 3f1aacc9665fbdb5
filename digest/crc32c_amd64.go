//go:build amd64 && !purego

package digest

import (
	"github.com/klauspost/crc32"
	"golang.org/x/sys/cpu"
)

// avx512Min is the shortest input that update hands to the VPCLMULQDQ
// routine. Below it the SSE4.2 routine of klauspost/crc32 is as fast or
// faster: the fold routine pays a fixed cost for loading its constants,
// reducing four 512-bit accumulators to 128 bits and finishing the CRC.
const avx512Min = 256

// useAVX512 reports whether the CPU and the operating system support what
// castagnoliVPCLMUL needs: AVX-512 (F and VL) with the 512-bit carry-less
// multiply, PCLMULQDQ, and SSE4.2 for the CRC32 instruction that finishes
// it. Tests clear it to run the fallback on this machine too.
var useAVX512 = cpu.X86.HasAVX512F && cpu.X86.HasAVX512VL &&
	cpu.X86.HasAVX512VPCLMULQDQ && cpu.X86.HasPCLMULQDQ && cpu.X86.HasSSE42

// foldK holds the fold constants of castagnoliVPCLMUL, two 64-bit values
// per fold distance: the multiplier of the low (earlier, higher-degree)
// quadword of a 128-bit lane, then that of the high quadword. For a fold
// over D bits they are bit-reversed x^(D+31) mod P and x^(D-33) mod P, P
// the CRC32C polynomial of RFC 7143 §13.1 (TestFoldConstants recomputes
// them). The distances are 256, 192, 128, 64, 32 and 16 bytes.
var foldK = [12]uint64{
	0x00000000dcb17aa4, 0x00000000b9e02b86, // 256 bytes: the main loop
	0x00000000a87ab8a8, 0x00000000ab7aff2a, // 192 bytes
	0x000000006992cea2, 0x000000000d3b6092, // 128 bytes
	0x00000000740eef02, 0x000000009e4addf8, // 64 bytes
	0x000000003da6d0cb, 0x00000000ba4fc28e, // 32 bytes
	0x00000000f20c0dfe, 0x00000000493c7d27, // 16 bytes
}

// castagnoliVPCLMUL returns the CRC32C of the bytes summed into crc
// followed by p, as crc32.Update does. len(p) must be a multiple of 64 and
// at least 256.
//
//go:noescape
func castagnoliVPCLMUL(crc uint32, p []byte) uint32

// update is the CRC32C of RFC 7143 §13.1 behind Checksum, Update, Header
// and Data. Inputs of at least avx512Min bytes, on a CPU with AVX-512 VL
// and VPCLMULQDQ, run castagnoliVPCLMUL over all their whole 64-byte
// blocks, which folds four 512-bit accumulators over 256 bytes at a time
// with carry-less multiplication; the last len(p)%64 bytes, shorter
// inputs, and other CPUs go to klauspost/crc32 (SSE4.2 CRC32 instruction
// in three streams, or its tables).
func update(crc uint32, p []byte) uint32 {
	if useAVX512 && len(p) >= avx512Min {
		n := len(p) &^ 63
		crc = castagnoliVPCLMUL(crc, p[:n])
		p = p[n:]
		if len(p) == 0 {
			return crc
		}
	}
	return crc32.Update(crc, castagnoli, p)
}
