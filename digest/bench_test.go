package digest

import (
	stdcrc32 "hash/crc32"
	"testing"

	"github.com/klauspost/crc32"
)

var benchSizes = []struct {
	name string
	n    int
}{
	{"48B", 48},
	{"8KiB", 8 << 10},
	{"128KiB", 128 << 10},
	{"256KiB", 256 << 10},
}

var stdCastagnoli = stdcrc32.MakeTable(stdcrc32.Castagnoli)

var benchSink uint32

// BenchmarkChecksum compares this package (lib=digest: the AVX-512
// VPCLMULQDQ routine from avx512Min bytes where the CPU has it) with
// klauspost/crc32 alone (lib=klauspost, what digest ran before: SSE4.2)
// and the standard library's hash/crc32 Castagnoli table on the same
// inputs, so one run reports all three.
func BenchmarkChecksum(b *testing.B) {
	libs := []struct {
		name string
		f    func([]byte) uint32
	}{
		{"digest", Checksum},
		{"klauspost", func(p []byte) uint32 { return crc32.Update(0, castagnoli, p) }},
		{"hash-crc32", func(p []byte) uint32 { return stdcrc32.Checksum(p, stdCastagnoli) }},
	}
	// Sizes outside, libraries inside: the three runs of one size follow
	// each other, so that a change in the load of a shared machine between
	// them skews the comparison less.
	for _, size := range benchSizes {
		buf := make([]byte, size.n)
		for i := range buf {
			buf[i] = byte(i)
		}
		for _, lib := range libs {
			b.Run("lib="+lib.name+"/size="+size.name, func(b *testing.B) {
				b.SetBytes(int64(size.n))
				b.ReportAllocs()
				for b.Loop() {
					benchSink ^= lib.f(buf)
				}
			})
		}
	}
}

// BenchmarkData measures the data digest of a segment whose length is not a
// multiple of 4, so the padding path runs.
func BenchmarkData(b *testing.B) {
	for _, size := range benchSizes {
		buf := make([]byte, size.n-1)
		b.Run("size="+size.name+"-1", func(b *testing.B) {
			b.SetBytes(int64(len(buf)))
			b.ReportAllocs()
			for b.Loop() {
				benchSink ^= Data(buf)
			}
		})
	}
}

// BenchmarkHeader measures the header digest of a 48-byte BHS.
func BenchmarkHeader(b *testing.B) {
	b.SetBytes(int64(len(readPDU)))
	b.ReportAllocs()
	for b.Loop() {
		benchSink ^= Header(readPDU)
	}
}
