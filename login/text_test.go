package login

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestParseText(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want []Pair
		err  error
	}{
		{"empty", "", nil, nil},
		{"one", "HeaderDigest=None\x00", []Pair{{"HeaderDigest", "None"}}, nil},
		{"two", "A=1\x00B=\x00", []Pair{{"A", "1"}, {"B", ""}}, nil},
		{"value with =", "TargetAlias=a=b\x00", []Pair{{"TargetAlias", "a=b"}}, nil},
		{"trailing NULs", "A=1\x00\x00\x00", []Pair{{"A", "1"}}, nil},
		{"extension keys", "X-com.example.k=v\x00X#NodeArchitecture=x\x00", []Pair{{"X-com.example.k", "v"}, {"X#NodeArchitecture", "x"}}, nil},
		{"not terminated", "A=1", nil, ErrNotTerminated},
		{"no =", "A\x00", nil, ErrNoDelimiter},
		{"digit start", "1a=1\x00", nil, ErrKeyName},
		{"lower-case start", "iSCSIProtocolLevel=2\x00", []Pair{{"iSCSIProtocolLevel", "2"}}, nil},
		{"empty key", "=1\x00", nil, ErrKeyName},
		{"bad char", "A B=1\x00", nil, ErrKeyName},
		{"key 64 bytes", strings.Repeat("K", 64) + "=1\x00", nil, ErrKeyName},
		{"NUL in middle", "A=1\x00\x00B=2\x00", []Pair{{"A", "1"}}, ErrKeyName},
		{"value too long", "CHAP_C=" + strings.Repeat("a", MaxLargeValueLength+1) + "\x00", nil, ErrValueTooLong},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseText([]byte(tt.in))
			if !errors.Is(err, tt.err) {
				t.Fatalf("err = %v, want %v", err, tt.err)
			}
			if err != nil {
				var te *TextError
				if !errors.As(err, &te) {
					t.Fatalf("error %T is not a *TextError", err)
				}
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("pairs (-want +got):\n%s", diff)
			}
		})
	}
}

func TestKeyNameLimit(t *testing.T) {
	k63 := "K" + strings.Repeat("a", 62)
	if !ValidKeyName(k63) {
		t.Errorf("63-byte key refused")
	}
	if ValidKeyName(k63 + "a") {
		t.Errorf("64-byte key accepted")
	}
}

func TestAppendTextRoundTrip(t *testing.T) {
	pairs := []Pair{{"InitiatorName", "iqn.2001-04.com.example:a"}, {"SessionType", "Normal"}, {"TargetAlias", ""}}
	b := AppendText(nil, pairs...)
	if want := "InitiatorName=iqn.2001-04.com.example:a\x00SessionType=Normal\x00TargetAlias=\x00"; string(b) != want {
		t.Fatalf("AppendText = %q, want %q", b, want)
	}
	got, err := ParseText(b)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(pairs, got); diff != "" {
		t.Errorf("round trip (-want +got):\n%s", diff)
	}
}

func TestAppendTextAllocs(t *testing.T) {
	buf := make([]byte, 0, 256)
	pairs := []Pair{{"MaxBurstLength", "262144"}, {"HeaderDigest", "CRC32C,None"}}
	n := testing.AllocsPerRun(100, func() { buf = AppendText(buf[:0], pairs...) })
	if n != 0 {
		t.Errorf("AppendText allocates %v times", n)
	}
}

func TestCheckDuplicates(t *testing.T) {
	if err := CheckDuplicates([]Pair{{"A", "1"}, {"B", "1"}, {"A", "2"}}); !errors.Is(err, ErrDuplicateKey) {
		t.Errorf("duplicate not found: %v", err)
	}
	if err := CheckDuplicates([]Pair{{"TargetAddress", "a"}, {"TargetAddress", "b"}}); err != nil {
		t.Errorf("TargetAddress repetition refused: %v", err)
	}
}

func TestParseNumber(t *testing.T) {
	tests := []struct {
		in   string
		want uint64
		ok   bool
	}{
		{"0", 0, true},
		{"8192", 8192, true},
		{"0x2000", 8192, true},
		{"0X2000", 8192, true},
		// RFC 7143 §6.1: a numerical-value is a decimal-constant or a
		// hex-constant; base64 is for binary and large values, and a
		// decimal-constant has no leading zeros.
		{"0b" + "IAA=", 0, false},
		{"0B" + "IAA=", 0, false},
		{"007", 0, false},
		{"00", 0, false},
		{"0x0010", 16, true},
		{"18446744073709551615", 1<<64 - 1, true},
		{"18446744073709551616", 0, false},
		{"", 0, false},
		{"-1", 0, false},
		{"+1", 0, false},
		{"1e3", 0, false},
		{"0x", 0, false},
		{"0xg", 0, false},
		{"0x-1", 0, false},
		{"0b!!", 0, false},
		{"0bAAAAAAAAAAAAAA==", 0, false}, // 10 bytes > 64 bits
		{" 1", 0, false},
	}
	for _, tt := range tests {
		got, err := ParseNumber(tt.in)
		if (err == nil) != tt.ok || got != tt.want {
			t.Errorf("ParseNumber(%q) = %d, %v; want %d, ok %v", tt.in, got, err, tt.want, tt.ok)
		}
		if err != nil && !errors.Is(err, ErrValue) {
			t.Errorf("ParseNumber(%q) error %v is not ErrValue", tt.in, err)
		}
	}
}

// TestParseRegularBinary checks the regular-binary-value of RFC 7143 §6.1
// (decimal, hex or base64, at most 64 bits), the form of
// TargetPortalGroupTag (§13.9).
func TestParseRegularBinary(t *testing.T) {
	tests := []struct {
		in   string
		want uint64
		ok   bool
	}{
		{"0b" + "IAA=", 8192, true},
		{"0B" + "IAA=", 8192, true},
		{"8192", 8192, true},
		{"0x2000", 8192, true},
		{"0b!!", 0, false},
		{"0bAAAAAAAAAAAAAA==", 0, false}, // 10 bytes > 64 bits
		{"007", 0, false},
	}
	for _, tt := range tests {
		got, err := ParseRegularBinary(tt.in)
		if (err == nil) != tt.ok || got != tt.want {
			t.Errorf("ParseRegularBinary(%q) = %d, %v; want %d, ok %v", tt.in, got, err, tt.want, tt.ok)
		}
		if err != nil && !errors.Is(err, ErrValue) {
			t.Errorf("ParseRegularBinary(%q) error %v is not ErrValue", tt.in, err)
		}
	}
}

// TestCheckValueCodec checks the §6.1 rules the key table applies to
// values: list items are text-values (no '=' or '~'), the 255-byte limit
// holds for each value of a list rather than the whole list, numerical
// keys take numerical-values and TargetPortalGroupTag a binary-value.
func TestCheckValueCodec(t *testing.T) {
	long := strings.Repeat("a", 200)
	tests := []struct {
		key, value string
		err        error
	}{
		{"HeaderDigest", "CRC32C=x", ErrValue},
		{"HeaderDigest", "CRC32C~None", ErrValue},
		{"HeaderDigest", "None," + strings.Repeat("a", 256), ErrValueTooLong},
		{"HeaderDigest", long + "," + long + ",None", nil},
		{"MaxBurstLength", "0bAAEAAA==", ErrValue},
		{"MaxBurstLength", "065536", ErrValue},
		{"MaxBurstLength", "65536", nil},
		{"TargetPortalGroupTag", "0bAAE=", nil},
		{"TargetPortalGroupTag", "0x0001", nil},
	}
	for _, tt := range tests {
		k := keyIndex[tt.key]
		if err := k.checkValue(tt.value); !errors.Is(err, tt.err) {
			t.Errorf("%s=%.20q: err %v, want %v", tt.key, tt.value, err, tt.err)
		}
	}
	n := NewNegotiator(RoleInitiator, DefaultSettings(), true, false)
	if _, err := n.Receive([]Pair{{"TargetPortalGroupTag", "0bAAE="}}, SecurityNegotiation); err != nil {
		t.Fatal(err)
	}
	if sp, _, _ := n.Result(); sp.TargetPortalGroupTag != 1 {
		t.Errorf("TargetPortalGroupTag %d from 0bAAE=, want 1", sp.TargetPortalGroupTag)
	}
}

func TestBinaryEncodings(t *testing.T) {
	b := []byte{0x01, 0xfe, 0x00, 0x7f}
	for _, s := range []string{EncodeHex(b), EncodeBase64(b), "0X01FE007F", "0B" + EncodeBase64(b)[2:]} {
		got, err := ParseBinary(s)
		if err != nil || !bytes.Equal(got, b) {
			t.Errorf("ParseBinary(%q) = %x, %v", s, got, err)
		}
	}
	if got, err := ParseBinary("0x123"); err != nil || !bytes.Equal(got, []byte{0x01, 0x23}) {
		t.Errorf("odd hex = %x, %v", got, err)
	}
	for _, s := range []string{"", "0x", "12", "0b", "0z12", "0b@@@@"} {
		if _, err := ParseBinary(s); !errors.Is(err, ErrValue) {
			t.Errorf("ParseBinary(%q) error %v, want ErrValue", s, err)
		}
	}
}

func TestTextAccumulator(t *testing.T) {
	var a TextAccumulator
	for _, seg := range []string{"Max", "BurstLength=6", "5536\x00"} {
		done, err := a.Add([]byte(seg), seg != "5536\x00")
		if err != nil {
			t.Fatal(err)
		}
		if done != (seg == "5536\x00") {
			t.Fatalf("done = %v after %q", done, seg)
		}
	}
	if a.Len() != len("MaxBurstLength=65536\x00") {
		t.Errorf("Len %d", a.Len())
	}
	got, err := ParseText(a.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]Pair{{"MaxBurstLength", "65536"}}, got); diff != "" {
		t.Error(diff)
	}
	// The next Add after completion starts a new text.
	if _, err := a.Add([]byte("A=1\x00"), false); err != nil || string(a.Bytes()) != "A=1\x00" {
		t.Errorf("after completion: %q, %v", a.Bytes(), err)
	}

	small := TextAccumulator{Limit: 10}
	if _, err := small.Add(make([]byte, 8), true); err != nil {
		t.Fatal(err)
	}
	_, err = small.Add(make([]byte, 3), false)
	var te *TextError
	if !errors.As(err, &te) || te.Kind != ErrTextTooLong {
		t.Errorf("over limit: %v", err)
	}
}

func TestCutSegment(t *testing.T) {
	text := AppendText(nil, Pair{"TargetName", strings.Repeat("x", 100)}, Pair{"TargetAddress", "127.0.0.1:3260,1"})
	var joined []byte
	var a TextAccumulator
	rest := text
	pdus := 0
	for {
		seg, r, more := CutSegment(rest, 32)
		if len(seg) > 32 {
			t.Fatalf("segment of %d bytes", len(seg))
		}
		joined = append(joined, seg...)
		done, err := a.Add(seg, more)
		if err != nil {
			t.Fatal(err)
		}
		pdus++
		if !more {
			if !done {
				t.Fatal("accumulator not done on last segment")
			}
			break
		}
		rest = r
	}
	if !bytes.Equal(joined, text) || !bytes.Equal(a.Bytes(), text) {
		t.Errorf("segments do not join to the text")
	}
	if want := (len(text) + 31) / 32; pdus != want {
		t.Errorf("%d PDUs, want %d", pdus, want)
	}
}

func TestTextErrorRedactsCHAP(t *testing.T) {
	err := textErr("CHAP_R", "0xsecretish", ErrValue)
	if strings.Contains(err.Error(), "secretish") {
		t.Errorf("error shows CHAP value: %v", err)
	}
	if s := (Pair{"CHAP_C", "0xabcdef"}).String(); strings.Contains(s, "abcdef") {
		t.Errorf("Pair.String shows CHAP value: %s", s)
	}
}

func BenchmarkParseText(b *testing.B) {
	text := AppendText(nil,
		Pair{"InitiatorName", "iqn.2001-04.com.example:initiator"}, Pair{"TargetName", "iqn.2001-04.com.example:target"},
		Pair{"SessionType", "Normal"}, Pair{"HeaderDigest", "CRC32C,None"}, Pair{"DataDigest", "CRC32C,None"},
		Pair{"MaxBurstLength", "262144"}, Pair{"FirstBurstLength", "65536"}, Pair{"ImmediateData", "Yes"})
	b.SetBytes(int64(len(text)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ParseText(text); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkAppendText(b *testing.B) {
	pairs := []Pair{{"MaxBurstLength", "262144"}, {"HeaderDigest", "CRC32C,None"}, {"ImmediateData", "Yes"}}
	buf := make([]byte, 0, 256)
	b.ReportAllocs()
	for b.Loop() {
		buf = AppendText(buf[:0], pairs...)
	}
}
