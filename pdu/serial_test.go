package pdu

import "testing"

func TestSerialArithmetic(t *testing.T) {
	tests := []struct {
		a, b uint32
		less bool
	}{
		{0, 1, true},
		{1, 0, false},
		{5, 5, false},
		{0xffffffff, 0, true}, // wraps
		{0, 0xffffffff, false},
		{0xfffffff0, 0x10, true},
		{0, 0x7fffffff, true},
		{0, 0x80000000, false}, // undefined: false both ways (RFC 1982 §3.2)
		{0x80000000, 0, false},
		{0x80000001, 0, true},
	}
	for _, tt := range tests {
		if got := SerialLess(tt.a, tt.b); got != tt.less {
			t.Errorf("SerialLess(%#x, %#x) = %v, want %v", tt.a, tt.b, got, tt.less)
		}
		if got := SerialLessOrEqual(tt.a, tt.b); got != (tt.less || tt.a == tt.b) {
			t.Errorf("SerialLessOrEqual(%#x, %#x) = %v", tt.a, tt.b, got)
		}
	}
	windows := []struct {
		x, lo, hi uint32
		in        bool
	}{
		{5, 5, 5, true},
		{6, 5, 5, false},
		{0, 0xfffffffe, 3, true},
		{4, 0xfffffffe, 3, false},
		{0xfffffffd, 0xfffffffe, 3, false},
	}
	for _, w := range windows {
		if got := SerialInWindow(w.x, w.lo, w.hi); got != w.in {
			t.Errorf("SerialInWindow(%#x, %#x, %#x) = %v, want %v", w.x, w.lo, w.hi, got, w.in)
		}
	}
}
