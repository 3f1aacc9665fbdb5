package digest

import (
	"bytes"
	"errors"
	"fmt"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// readPDU is the SCSI Read (10) Command PDU of RFC 7143 Appendix A.4
// (RFC 3720 Appendix B.4), a 48-byte BHS.
var readPDU = []byte{
	0x01, 0xc0, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00,
	0x14, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x04, 0x00,
	0x00, 0x00, 0x00, 0x14,
	0x00, 0x00, 0x00, 0x18,
	0x28, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00,
	0x02, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00,
}

func filled(n int, f func(i int) byte) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = f(i)
	}
	return b
}

// rfcVectors are the CRC examples of RFC 7143 Appendix A.4, with the CRC
// given as the RFC gives it: the 4 bytes in wire order.
var rfcVectors = []struct {
	name string
	in   []byte
	wire [4]byte
}{
	{"32 bytes of zeroes", make([]byte, 32), [4]byte{0xaa, 0x36, 0x91, 0x8a}},
	{"32 bytes of ones", bytes.Repeat([]byte{0xff}, 32), [4]byte{0x43, 0xab, 0xa8, 0x62}},
	{"32 bytes of incrementing 00..1f", filled(32, func(i int) byte { return byte(i) }), [4]byte{0x4e, 0x79, 0xdd, 0x46}},
	{"32 bytes of decrementing 1f..00", filled(32, func(i int) byte { return byte(31 - i) }), [4]byte{0x5c, 0xdb, 0x3f, 0x11}},
	{"iSCSI SCSI Read (10) Command PDU", readPDU, [4]byte{0x56, 0x3a, 0x96, 0xd9}},
}

func TestRFCVectors(t *testing.T) {
	for _, tc := range rfcVectors {
		t.Run(tc.name, func(t *testing.T) {
			sum := Checksum(tc.in)
			if got := AppendDigest(nil, sum); !bytes.Equal(got, tc.wire[:]) {
				t.Errorf("AppendDigest(Checksum) = % x, RFC says % x", got, tc.wire)
			}
			want, err := FromBytes(tc.wire[:])
			if err != nil {
				t.Fatalf("FromBytes(% x): %v", tc.wire, err)
			}
			// Every vector is a multiple of 4 bytes, so all functions agree.
			for _, f := range []struct {
				name string
				got  uint32
			}{
				{"Checksum", sum},
				{"Header", Header(tc.in)},
				{"Data", Data(tc.in)},
				{"Update(0)", Update(0, tc.in)},
			} {
				if f.got != want {
					t.Errorf("%s = %#08x, want %#08x", f.name, f.got, want)
				}
			}
			d := New()
			d.Write(tc.in)
			if got := d.Sum(nil); !bytes.Equal(got, tc.wire[:]) {
				t.Errorf("Digest.Sum = % x, want % x", got, tc.wire)
			}
			if err := VerifyHeader(tc.in, want); err != nil {
				t.Errorf("VerifyHeader: %v", err)
			}
			if err := VerifyData(tc.in, want); err != nil {
				t.Errorf("VerifyData: %v", err)
			}
		})
	}
}

// TestKnownValues checks values given as numbers rather than wire bytes:
// the CRC-32C catalogue check value and the empty input.
func TestKnownValues(t *testing.T) {
	tests := []struct {
		in   string
		want uint32
	}{
		{"", 0},
		{"123456789", 0xe3069283},
		{"\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00", 0x8a9136aa},
	}
	for _, tc := range tests {
		if got := Checksum([]byte(tc.in)); got != tc.want {
			t.Errorf("Checksum(%q) = %#08x, want %#08x", tc.in, got, tc.want)
		}
	}
}

func TestPadding(t *testing.T) {
	tests := []struct {
		n, padLen, pad int
	}{
		{-5, 0, 0}, {-1, 0, 0},
		{0, 0, 0}, {1, 3, 4}, {2, 2, 4}, {3, 1, 4}, {4, 0, 4},
		{5, 3, 8}, {6, 2, 8}, {7, 1, 8}, {8, 0, 8},
		{1<<24 - 1, 1, 1 << 24},
	}
	for _, tc := range tests {
		if got := PaddingLen(tc.n); got != tc.padLen {
			t.Errorf("PaddingLen(%d) = %d, want %d", tc.n, got, tc.padLen)
		}
		if got := Pad(tc.n); got != tc.pad {
			t.Errorf("Pad(%d) = %d, want %d", tc.n, got, tc.pad)
		}
	}
}

// TestDataIncludesPadding checks, for segment lengths 0 to 8, that Data
// equals the CRC32C of the segment explicitly padded with zeros, and that
// the incremental PaddedSum32 agrees.
func TestDataIncludesPadding(t *testing.T) {
	for n := 0; n <= 8; n++ {
		seg := filled(n, func(i int) byte { return byte(0xa5 ^ i*37) })
		padded := append(append([]byte(nil), seg...), make([]byte, PaddingLen(n))...)
		if len(padded)%4 != 0 {
			t.Fatalf("n=%d: padded length %d is not a multiple of 4", n, len(padded))
		}
		want := Checksum(padded)
		if got := Data(seg); got != want {
			t.Errorf("n=%d: Data = %#08x, Checksum(padded) = %#08x", n, got, want)
		}
		if n%4 != 0 && Checksum(seg) == want {
			t.Errorf("n=%d: Checksum(seg) equals the padded digest; padding had no effect", n)
		}
		var d Digest
		for i := range seg {
			d.Write(seg[i : i+1])
		}
		if got := d.PaddedSum32(); got != want {
			t.Errorf("n=%d: PaddedSum32 = %#08x, want %#08x", n, got, want)
		}
		if got := d.Sum32(); got != Checksum(seg) {
			t.Errorf("n=%d: Sum32 after PaddedSum32 = %#08x, want unpadded %#08x", n, got, Checksum(seg))
		}
		if err := VerifyData(seg, want); err != nil {
			t.Errorf("n=%d: VerifyData: %v", n, err)
		}
	}
}

// TestIncremental checks that every split of the input gives the one-shot
// result, through Update and through Digest.
func TestIncremental(t *testing.T) {
	in := filled(67, func(i int) byte { return byte(i*131 + 7) })
	want := Checksum(in)
	for split := 0; split <= len(in); split++ {
		if got := Update(Update(0, in[:split]), in[split:]); got != want {
			t.Fatalf("split %d: Update = %#08x, want %#08x", split, got, want)
		}
		d := New()
		d.Write(in[:split])
		d.Write(in[split:])
		if got := d.Sum32(); got != want {
			t.Fatalf("split %d: Digest.Sum32 = %#08x, want %#08x", split, got, want)
		}
		if got := d.PaddedSum32(); got != Data(in) {
			t.Fatalf("split %d: PaddedSum32 = %#08x, want Data = %#08x", split, got, Data(in))
		}
		if d.Len() != uint64(len(in)) {
			t.Fatalf("split %d: Len = %d, want %d", split, d.Len(), len(in))
		}
	}
}

func TestDigestHashInterface(t *testing.T) {
	d := New()
	if d.Size() != 4 || d.BlockSize() != 4 {
		t.Errorf("Size, BlockSize = %d, %d; want 4, 4", d.Size(), d.BlockSize())
	}
	d.Write([]byte("123456789"))
	if got, want := d.Sum([]byte{0xee}), []byte{0xee, 0x83, 0x92, 0x06, 0xe3}; !bytes.Equal(got, want) {
		t.Errorf("Sum appends % x, want % x", got, want)
	}
	d.Reset()
	if d.Sum32() != 0 || d.Len() != 0 {
		t.Errorf("after Reset: Sum32 = %#x, Len = %d; want 0, 0", d.Sum32(), d.Len())
	}
	var zero Digest
	zero.Write(readPDU)
	if got := zero.Sum32(); got != 0xd9963a56 {
		t.Errorf("zero-value Digest over Read (10) PDU = %#08x, want 0xd9963a56", got)
	}
}

func TestFromBytes(t *testing.T) {
	tests := []struct {
		in      []byte
		want    uint32
		wantErr error
	}{
		{[]byte{0xaa, 0x36, 0x91, 0x8a}, 0x8a9136aa, nil},
		{[]byte{0x01, 0x02, 0x03, 0x04, 0xff}, 0x04030201, nil},
		{nil, 0, &ShortDigestError{Len: 0}},
		{[]byte{1, 2, 3}, 0, &ShortDigestError{Len: 3}},
	}
	for _, tc := range tests {
		got, err := FromBytes(tc.in)
		if got != tc.want {
			t.Errorf("FromBytes(% x) = %#08x, want %#08x", tc.in, got, tc.want)
		}
		if diff := cmp.Diff(tc.wantErr, err, cmp.Comparer(func(a, b error) bool { return a.Error() == b.Error() })); diff != "" {
			t.Errorf("FromBytes(% x) error (-want +got):\n%s", tc.in, diff)
		}
		if tc.wantErr != nil && !errors.Is(err, ErrShortDigest) {
			t.Errorf("FromBytes(% x): errors.Is(%v, ErrShortDigest) = false", tc.in, err)
		}
	}
}

func TestVerifyMismatch(t *testing.T) {
	seg := []byte("abcde") // 5 bytes: data digest covers 3 padding bytes
	good := Data(seg)
	tests := []struct {
		name string
		err  error
		want *MismatchError
		text string
	}{
		{
			name: "header",
			err:  VerifyHeader(readPDU, 0),
			want: &MismatchError{Kind: HeaderDigest, Got: 0xd9963a56, Want: 0},
			text: "digest: HeaderDigest mismatch: computed 0xd9963a56, received 0x00000000",
		},
		{
			name: "data",
			err:  VerifyData(seg, good^1),
			want: &MismatchError{Kind: DataDigest, Got: good, Want: good ^ 1},
			text: fmt.Sprintf("digest: DataDigest mismatch: computed %#08x, received %#08x", good, good^1),
		},
		{
			name: "data digest without padding",
			err:  VerifyData(seg, Checksum(seg)),
			want: &MismatchError{Kind: DataDigest, Got: good, Want: Checksum(seg)},
			text: fmt.Sprintf("digest: DataDigest mismatch: computed %#08x, received %#08x", good, Checksum(seg)),
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if !errors.Is(tc.err, ErrMismatch) {
				t.Fatalf("errors.Is(%v, ErrMismatch) = false", tc.err)
			}
			if errors.Is(tc.err, ErrShortDigest) {
				t.Errorf("errors.Is(%v, ErrShortDigest) = true", tc.err)
			}
			var me *MismatchError
			if !errors.As(tc.err, &me) {
				t.Fatalf("errors.As(%v, *MismatchError) = false", tc.err)
			}
			if diff := cmp.Diff(tc.want, me); diff != "" {
				t.Errorf("MismatchError (-want +got):\n%s", diff)
			}
			if got := tc.err.Error(); got != tc.text {
				t.Errorf("Error() = %q, want %q", got, tc.text)
			}
		})
	}
}

func TestKindString(t *testing.T) {
	for k, want := range map[Kind]string{0: "Kind(0)", HeaderDigest: "HeaderDigest", DataDigest: "DataDigest", 9: "Kind(9)"} {
		if got := k.String(); got != want {
			t.Errorf("Kind(%d).String() = %q, want %q", uint8(k), got, want)
		}
	}
}

func TestZeroAllocs(t *testing.T) {
	seg := make([]byte, 8193) // odd length: Data must pad
	var sink uint32
	var d Digest
	buf := make([]byte, 0, 4)
	for _, tc := range []struct {
		name string
		f    func()
	}{
		{"Checksum", func() { sink ^= Checksum(seg) }},
		{"Header", func() { sink ^= Header(readPDU) }},
		{"Data", func() { sink ^= Data(seg) }},
		{"VerifyHeader ok", func() { _ = VerifyHeader(readPDU, 0xd9963a56) }},
		{"VerifyData ok", func() { _ = VerifyData(seg[:5], Data(seg[:5])) }},
		{"Digest", func() { d.Reset(); d.Write(seg); sink ^= d.PaddedSum32() }},
		{"AppendDigest", func() { buf = AppendDigest(buf[:0], sink) }},
	} {
		if n := testing.AllocsPerRun(100, tc.f); n != 0 {
			t.Errorf("%s: %v allocs per run, want 0", tc.name, n)
		}
	}
}
