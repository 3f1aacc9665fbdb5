//go:build amd64 && !purego

package digest

import (
	"github.com/klauspost/crc32"
	"golang.org/x/sys/cpu"
)

// avx512Min is the shortest input that update hands to the VPCLMULQDQ
// routine. Measured on AMD EPYC (Zen 4), the routine and the klauspost/crc32
// call for the last len%64 bytes together beat klauspost/crc32 alone at
// every length from 192 bytes (at 256 bytes 10-13 ns against 19-25 ns);
// from 128 to 191 bytes a tail of up to 63 bytes can cost more than the
// fold saves.
const avx512Min = 192

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
// at least 64.
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
//
// The AVX-512 branch is a function of its own so that for short inputs,
// such as a 48-byte BHS, update stays a thin frame (a flag and a length
// test) around klauspost/crc32: about 1 ns more than calling it directly.
func update(crc uint32, p []byte) uint32 {
	if useAVX512 && len(p) >= avx512Min {
		return updateVPCLMUL(crc, p)
	}
	return crc32.Update(crc, castagnoli, p)
}

// updateVPCLMUL sums the whole 64-byte blocks of p with castagnoliVPCLMUL
// and the rest with klauspost/crc32. len(p) must be at least 64.
func updateVPCLMUL(crc uint32, p []byte) uint32 {
	n := len(p) &^ 63
	crc = castagnoliVPCLMUL(crc, p[:n])
	if n == len(p) {
		return crc
	}
	return crc32.Update(crc, castagnoli, p[n:])
}
