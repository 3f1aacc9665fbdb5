package disk

import (
	"errors"
	"testing"
)

// TestNewRefusesSize checks that New refuses a medium that is not a whole,
// positive number of logical blocks (SBC-4 §4.5).
func TestNewRefusesSize(t *testing.T) {
	tests := []struct {
		size      int64
		blockSize int
		ok        bool
	}{
		{0, 512, false},
		{1000, 512, false},
		{4096 + 512, 4096, false},
		{512, 512, true},
		{8192, 4096, true},
	}
	for _, tt := range tests {
		_, err := New(NewMemory(tt.size), Config{BlockSize: tt.blockSize})
		var ce *ConfigError
		switch {
		case tt.ok && err != nil:
			t.Errorf("New(size %d, block %d): %v", tt.size, tt.blockSize, err)
		case !tt.ok && (!errors.As(err, &ce) || !errors.Is(err, ErrInvalidConfig)):
			t.Errorf("New(size %d, block %d) = %v, want a *ConfigError", tt.size, tt.blockSize, err)
		}
	}
}
