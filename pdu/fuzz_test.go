package pdu

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the fuzz seed corpora under testdata/fuzz")

// exerciseBHS reads every field of every view of h, validates h as every
// type, and checks that writing a field back with the value just read
// changes no byte.
func exerciseBHS(t *testing.T, h *BHS) {
	checkValidateError(t, h.Validate())
	for _, s := range allSpecs() {
		checkValidateError(t, s.validate(h))
		for _, a := range s.fields {
			before := *h
			a.set(h, a.get(h))
			if *h != before {
				t.Fatalf("%v.%s: setting the value read changed the header\nbefore % x\nafter  % x", s.op, a.name, before[:], h[:])
			}
		}
	}
	_ = h.Opcode().String()
	_ = h.LoginResponse().Status().String()
	_ = h.LoginRequest().ISID().String()
}

// checkValidateError fails unless err is nil or a ProtocolError around
// one of the detailed types.
func checkValidateError(t *testing.T, err error) {
	if err == nil {
		return
	}
	var pe *ProtocolError
	var rfe *ReservedFieldError
	var fe *FieldError
	var oe *OpcodeError
	if !errors.As(err, &pe) || !(errors.As(err, &rfe) || errors.As(err, &fe) || errors.As(err, &oe)) {
		t.Fatalf("Validate error %T: %v", err, err)
	}
}

// checkTyped fails unless err is one of the package's two kinds or io.EOF.
func checkTyped(t *testing.T, err error) (fatal bool) {
	if err == io.EOF {
		return true
	}
	var ce *ConnectionError
	var pe *ProtocolError
	switch {
	case errors.As(err, &ce):
		return true
	case errors.As(err, &pe):
		return false
	}
	t.Fatalf("untyped error %T: %v", err, err)
	return true
}

func FuzzReader(f *testing.F) {
	for _, d := range allDigests {
		f.Add(encodeAll(f, mixedPDUs(18, 100), d), d.Header, d.Data)
	}
	f.Add([]byte{}, false, false)
	f.Add(make([]byte, 47), true, true)
	f.Fuzz(func(t *testing.T, stream []byte, headerDigest, dataDigest bool) {
		d := Digests{Header: headerDigest, Data: dataDigest}
		r := newTestReader(bytes.NewReader(stream), d, 1<<16)
		b := stream
		for range 1000 {
			p, err := r.Read()
			if err != nil {
				if checkTyped(t, err) {
					// Decode of the raw bytes fails the same way, unless
					// only the Reader's length limit was hit.
					if !errors.Is(err, ErrSegmentTooLong) {
						_, _, derr := Decode(b, d)
						var ce *ConnectionError
						if (err == io.EOF) != (derr == io.EOF) || (err != io.EOF && !errors.As(derr, &ce)) {
							t.Fatalf("Reader: %v; Decode: %v", err, derr)
						}
					}
					break
				}
				// A data digest error consumed the PDU; Decode agrees.
				_, n, derr := Decode(b, d)
				if !errors.Is(derr, ErrDataDigest) {
					t.Fatalf("Reader: %v; Decode: %v", err, derr)
				}
				b = b[n:]
				continue
			}
			// Decode of the raw bytes gives the same PDU.
			q, n, err := Decode(b, d)
			if err != nil || q.Header != p.Header || !bytes.Equal(q.AHS, p.AHS) || !bytes.Equal(q.Data, p.Data) {
				t.Fatalf("Decode disagrees with Reader: %v", err)
			}
			raw := b[:n]
			b = b[n:]
			exerciseBHS(t, &p.Header)
			for it := NewAHSIterator(p.AHS); ; {
				a, ok, err := it.Next()
				if err != nil {
					checkAHSError(t, err)
				}
				if !ok {
					break
				}
				_, _ = a.ExtendedCDB()
				_, _ = a.ExpectedReadDataLength()
			}
			_, _ = p.Header.SCSICommand().FullCDB(nil, p.AHS)
			// Re-encoding gives bytes that decode to the same PDU; with
			// no AHS padding quirks they are the bytes read.
			enc, err := p.AppendTo(nil, d)
			if err != nil {
				t.Fatalf("re-encode: %v", err)
			}
			if !bytes.Equal(enc[:BHSLength], raw[:BHSLength]) || len(enc) != len(raw) {
				t.Fatalf("re-encoded header or length differs")
			}
			q, n, err = Decode(enc, d)
			if err != nil || n != len(enc) || q.Header != p.Header || !bytes.Equal(q.AHS, p.AHS) || !bytes.Equal(q.Data, p.Data) {
				t.Fatalf("re-encoded PDU decodes differently: %v", err)
			}
			// The Writer sends the same bytes as AppendTo.
			var out bytes.Buffer
			w := NewWriter(&out)
			w.SetDigests(d)
			if err := w.WritePDU(p); err != nil || !bytes.Equal(out.Bytes(), enc) {
				t.Fatalf("Writer differs from AppendTo: %v", err)
			}
		}
		// The two-step path over the same stream never panics and fails
		// only with typed errors.
		r = newTestReader(bytes.NewReader(stream), d, 1<<16)
		var dst []byte
		for i := range 1000 {
			p, err := r.ReadHeader()
			if err != nil {
				if checkTyped(t, err) {
					break
				}
				continue
			}
			switch i % 3 {
			case 0:
				if n := int(p.Header.DataSegmentLength()); cap(dst) < n {
					dst = make([]byte, n)
				}
				err = r.ReadData(dst[:p.Header.DataSegmentLength()])
			case 1:
				err = r.DiscardData()
			}
			if err != nil && checkTyped(t, err) {
				break
			}
		}
	})
}

func checkAHSError(t *testing.T, err error) {
	var ae *AHSError
	if !errors.As(err, &ae) {
		t.Fatalf("AHS error of type %T: %v", err, err)
	}
}

func FuzzDecodeBHS(f *testing.F) {
	for _, p := range mixedPDUs(36, 0) {
		b := append([]byte{}, p.Header[:]...)
		f.Add(append(b, p.AHS...))
	}
	f.Add([]byte{})
	f.Add(bytes.Repeat([]byte{0xff}, 80))
	f.Fuzz(func(t *testing.T, b []byte) {
		var h BHS
		copy(h[:], b)
		exerciseBHS(t, &h)
		rest := b[min(len(b), BHSLength):]
		if _, err := h.SCSICommand().FullCDB(nil, rest); err != nil {
			checkAHSError(t, err)
		}
		if _, _, err := BidirectionalReadDataLength(rest); err != nil {
			checkAHSError(t, err)
		}
		if _, _, err := ParseAHS(rest); err != nil {
			checkAHSError(t, err)
		}
	})
}

// TestWriteSeedCorpus writes the seed corpora of FuzzReader and
// FuzzDecodeBHS from the encoder when run with -update; otherwise it checks
// that they are present.
func TestWriteSeedCorpus(t *testing.T) {
	type seed struct {
		name   string
		values []any
	}
	corpora := map[string][]seed{}
	for _, d := range allDigests {
		for i, n := range []int{1, 5, 18} {
			ps := mixedPDUs(n, 300)
			corpora["FuzzReader"] = append(corpora["FuzzReader"], seed{
				fmt.Sprintf("stream-h%v-d%v-%d", d.Header, d.Data, i),
				[]any{encodeAll(t, ps, d), d.Header, d.Data},
			})
		}
	}
	for i, p := range mixedPDUs(36, 0) {
		corpora["FuzzDecodeBHS"] = append(corpora["FuzzDecodeBHS"], seed{
			fmt.Sprintf("bhs-%02d-%s", i, p.Header.Opcode()),
			[]any{append(p.Header[:], p.AHS...)},
		})
	}
	for target, seeds := range corpora {
		dir := filepath.Join("testdata", "fuzz", target)
		for _, s := range seeds {
			var buf bytes.Buffer
			buf.WriteString("go test fuzz v1\n")
			for _, v := range s.values {
				switch v := v.(type) {
				case []byte:
					fmt.Fprintf(&buf, "[]byte(%s)\n", strconv.Quote(string(v)))
				case bool:
					fmt.Fprintf(&buf, "bool(%v)\n", v)
				}
			}
			name := filepath.Join(dir, sanitize(s.name))
			if *update {
				if err := os.MkdirAll(dir, 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(name, buf.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
				continue
			}
			got, err := os.ReadFile(name)
			if err != nil || !bytes.Equal(got, buf.Bytes()) {
				t.Errorf("seed %s missing or stale (run go test -run TestWriteSeedCorpus -update): %v", name, err)
			}
		}
	}
}

func sanitize(s string) string {
	b := []byte(s)
	for i, c := range b {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-') {
			b[i] = '_'
		}
	}
	return string(b)
}
