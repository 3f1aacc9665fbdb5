package scsi

import (
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestLUNNumber(t *testing.T) {
	tests := []struct {
		n    uint16
		want LUN
	}{
		{0, LUN{}},
		{1, LUN{0, 1}},
		{255, LUN{0, 0xff}},
		{256, LUN{0x41, 0}},
		{16383, LUN{0x7f, 0xff}},
		{16384, LUN{0xff, 0xff}},
	}
	for _, tt := range tests {
		got := LUNNumber(tt.n)
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("LUNNumber(%d) (-want +got):\n%s", tt.n, diff)
		}
		n, err := got.Number()
		if tt.n < 16384 && (err != nil || n != tt.n) {
			t.Errorf("LUNNumber(%d).Number() = %d, %v", tt.n, n, err)
		}
		if tt.n >= 16384 && !errors.Is(err, ErrLUNAddressing) {
			t.Errorf("LUNNumber(%d).Number() = %d, %v; want ErrLUNAddressing", tt.n, n, err)
		}
	}
	// Usable as map literal keys, the way targets list their LUNs.
	m := map[LUN]string{LUNNumber(0): "boot", LUNNumber(1): "data"}
	if m[LUN{0, 1}] != "data" {
		t.Errorf("map keyed by LUNNumber: %v", m)
	}
}
