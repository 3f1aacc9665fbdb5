package pdu

import (
	"errors"
	"math/rand/v2"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// accessor is one field of a PDU view, seen as an unsigned number of bits
// width, read and written through the view's own getter and setter.
type accessor struct {
	name  string
	width int
	get   func(*BHS) uint64
	set   func(*BHS, uint64)
}

func boolField[V any](view func(*BHS) *V, name string, get func(*V) bool, set func(*V, bool)) accessor {
	return accessor{name, 1,
		func(h *BHS) uint64 {
			if get(view(h)) {
				return 1
			}
			return 0
		},
		func(h *BHS, v uint64) { set(view(h), v != 0) }}
}

func u8Field[V any, T ~uint8](view func(*BHS) *V, name string, width int, get func(*V) T, set func(*V, T)) accessor {
	return accessor{name, width,
		func(h *BHS) uint64 { return uint64(get(view(h))) },
		func(h *BHS, v uint64) { set(view(h), T(v)) }}
}

func u16Field[V any, T ~uint16](view func(*BHS) *V, name string, get func(*V) T, set func(*V, T)) accessor {
	return accessor{name, 16,
		func(h *BHS) uint64 { return uint64(get(view(h))) },
		func(h *BHS, v uint64) { set(view(h), T(v)) }}
}

func u32Field[V any](view func(*BHS) *V, name string, get func(*V) uint32, set func(*V, uint32)) accessor {
	return accessor{name, 32,
		func(h *BHS) uint64 { return uint64(get(view(h))) },
		func(h *BHS, v uint64) { set(view(h), uint32(v)) }}
}

func u64Field[V any](view func(*BHS) *V, name string, get func(*V) uint64, set func(*V, uint64)) accessor {
	return accessor{name, 64, func(h *BHS) uint64 { return get(view(h)) }, func(h *BHS, v uint64) { set(view(h), v) }}
}

func isidField[V any](view func(*BHS) *V, get func(*V) ISID, set func(*V, ISID)) accessor {
	return accessor{"ISID", 48,
		func(h *BHS) uint64 { return get(view(h)).Uint64() },
		func(h *BHS, v uint64) {
			var i ISID
			for k := range i {
				i[k] = byte(v >> (40 - 8*k))
			}
			set(view(h), i)
		}}
}

// viewSpec describes one PDU type for the shared tests: its opcode, how to
// start a header of it, how to make it valid, its fields, and the reserved
// bits RFC 7143 §11 shows in its figure, written out independently of the
// package's own tables.
type viewSpec struct {
	op       Opcode
	init     func(*BHS)
	valid    func(*BHS) // optional: fields a valid header needs beyond Init
	validate func(*BHS) error
	fields   []accessor
	reserved []field
}

func randomValue(rng *rand.Rand, width int) uint64 {
	v := rng.Uint64()
	if width < 64 {
		v &= 1<<width - 1
	}
	return v
}

func getAll(s viewSpec, h *BHS) map[string]uint64 {
	m := make(map[string]uint64, len(s.fields))
	for _, a := range s.fields {
		m[a.name] = a.get(h)
	}
	return m
}

// testRoundTrip sets every field to random values through the setters,
// checks the getters return them, encodes the PDU with random AHS and data
// and digests, decodes it, and checks every field again.
func testRoundTrip(t *testing.T, s viewSpec) {
	t.Helper()
	rng := rand.New(rand.NewPCG(uint64(s.op), 7))
	for i := range 300 {
		var h BHS
		s.init(&h)
		want := make(map[string]uint64, len(s.fields))
		for _, a := range s.fields {
			v := randomValue(rng, a.width)
			a.set(&h, v)
			want[a.name] = v
		}
		if diff := cmp.Diff(want, getAll(s, &h)); diff != "" {
			t.Fatalf("iteration %d: getters after setters (-want +got):\n%s", i, diff)
		}
		if h.Opcode() != s.op {
			t.Fatalf("iteration %d: opcode became %v", i, h.Opcode())
		}
		p := PDU{Header: h, AHS: make([]byte, 4*rng.IntN(4)), Data: make([]byte, rng.IntN(40))}
		for k := range p.AHS {
			p.AHS[k] = byte(rng.Uint32())
		}
		for k := range p.Data {
			p.Data[k] = byte(rng.Uint32())
		}
		d := Digests{Header: rng.IntN(2) == 0, Data: rng.IntN(2) == 0}
		b, err := p.AppendTo(nil, d)
		if err != nil {
			t.Fatal(err)
		}
		q, n, err := Decode(b, d)
		if err != nil || n != len(b) {
			t.Fatalf("iteration %d: Decode = %d, %v; want %d, nil", i, n, err, len(b))
		}
		if diff := cmp.Diff(want, getAll(s, &q.Header)); diff != "" {
			t.Fatalf("iteration %d: fields after encode and decode (-want +got):\n%s", i, diff)
		}
		if !cmp.Equal(p.AHS, q.AHS) || !cmp.Equal(p.Data, q.Data) {
			t.Fatalf("iteration %d: AHS or data changed", i)
		}
	}
}

// testValidateReserved sets, one at a time, every bit of a valid header
// and checks that Validate reports a ReservedFieldError with the right
// offset exactly for the bits of s.reserved.
func testValidateReserved(t *testing.T, s viewSpec) {
	t.Helper()
	var base BHS
	s.init(&base)
	if s.valid != nil {
		s.valid(&base)
	}
	if err := s.validate(&base); err != nil {
		t.Fatalf("valid header: Validate = %v", err)
	}
	if err := base.Validate(); err != nil {
		t.Fatalf("valid header: BHS.Validate = %v", err)
	}
	reserved := map[[2]int]bool{}
	for _, f := range s.reserved {
		for bit := range 8 {
			if f.mask&(1<<bit) != 0 {
				reserved[[2]int{int(f.off), bit}] = true
			}
		}
	}
	for off := range BHSLength {
		for bit := range 8 {
			if off == 0 && bit < 6 {
				continue // the opcode
			}
			h := base
			if h[off]&(1<<bit) != 0 {
				continue // only set bits that are clear
			}
			h[off] |= 1 << bit
			err := s.validate(&h)
			var rfe *ReservedFieldError
			isReserved := errors.As(err, &rfe)
			if reserved[[2]int{off, bit}] {
				if !isReserved || rfe.Offset != off || rfe.Value != 1<<bit || rfe.Opcode != s.op {
					t.Errorf("byte %d bit %d set: Validate = %v, want ReservedFieldError at %d", off, bit, err, off)
					continue
				}
				var pe *ProtocolError
				if !errors.As(err, &pe) || pe.Reason != RejectInvalidPDUField || pe.Format || pe.Header != h || !errors.Is(err, ErrReservedField) {
					t.Errorf("byte %d bit %d set: Validate = %#v, want a ProtocolError with reason Invalid PDU field", off, bit, err)
				}
			} else if isReserved {
				t.Errorf("byte %d bit %d set: Validate = %v, but the bit is not reserved", off, bit, err)
			}
		}
	}
}

// invalidCase is a header change that RFC 7143 forbids. code marks a
// reserved code value (a protocol error) rather than a format error.
type invalidCase struct {
	name   string
	change func(*BHS)
	offset int
	// code marks a protocol error (reserved code value, mutually
	// exclusive bits: Reject reason Protocol Error) rather than a format
	// error (Invalid PDU field).
	code bool
}

// testValidateInvalid checks that each change to a valid header gives a
// FieldError at the given offset, wrapped in a ProtocolError.
func testValidateInvalid(t *testing.T, s viewSpec, cases []invalidCase) {
	t.Helper()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var h BHS
			s.init(&h)
			if s.valid != nil {
				s.valid(&h)
			}
			c.change(&h)
			err := s.validate(&h)
			var fe *FieldError
			if !errors.As(err, &fe) || fe.Offset != c.offset || !errors.Is(err, ErrInvalidField) {
				t.Fatalf("Validate = %v, want a FieldError at offset %d", err, c.offset)
			}
			var pe *ProtocolError
			switch {
			case !errors.As(err, &pe):
				t.Fatalf("Validate = %v, want a ProtocolError", err)
			case c.code && (pe.Reason != RejectProtocolError || pe.Format):
				t.Fatalf("Validate = %v (format %v), want reason Protocol Error for a reserved code", err, pe.Format)
			case !c.code && (pe.Reason != RejectInvalidPDUField || !pe.Format):
				t.Fatalf("Validate = %v (format %v), want a format error with reason Invalid PDU field", err, pe.Format)
			}
			if err.Error() == "" {
				t.Fatal("empty error text")
			}
		})
	}
	t.Run("wrong opcode", func(t *testing.T) {
		var h BHS
		s.init(&h)
		if s.valid != nil {
			s.valid(&h)
		}
		h.SetOpcode(s.op ^ 0x01)
		var fe *FieldError
		if err := s.validate(&h); !errors.As(err, &fe) || fe.Offset != 0 {
			t.Fatalf("Validate = %v, want a FieldError at offset 0", err)
		}
	})
}

// rsv builds reserved-bit lists for the test specs.
func rsv(parts ...any) []field {
	var out []field
	for _, p := range parts {
		switch p := p.(type) {
		case field:
			out = append(out, p)
		case [2]int: // whole bytes [from, to)
			for i := p[0]; i < p[1]; i++ {
				out = append(out, field{uint8(i), 0xff})
			}
		}
	}
	return out
}

// testStrings checks a String method over a table of values.
func testStrings[T interface {
	comparable
	String() string
}](t *testing.T, want map[T]string) {
	t.Helper()
	for v, s := range want {
		if got := v.String(); got != s {
			t.Errorf("%#v.String() = %q, want %q", v, got, s)
		}
	}
}
