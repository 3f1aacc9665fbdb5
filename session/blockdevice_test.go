package session

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/go-iscsi/iscsi/scsi"
	"github.com/go-iscsi/iscsi/scsi/disk"
)

// blockDeviceTarget serves one memory LU of size bytes with blockSize and
// maxTransfer (blocks, 0: the default) and returns a BlockDevice over it.
func blockDeviceTarget(t *testing.T, size int64, blockSize int, maxTransfer uint32) *BlockDevice {
	t.Helper()
	lu, err := disk.New(disk.NewMemory(size), disk.Config{BlockSize: blockSize, MaxTransferLength: maxTransfer})
	if err != nil {
		t.Fatal(err)
	}
	srv := &Server{Targets: []Target{{Name: testTarget, LUNs: map[scsi.LUN]LogicalUnit{{}: lu}}}}
	s, err := Dial(context.Background(), serveLoopback(t, srv), Options{InitiatorName: testInitiator, TargetName: testTarget})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	d, err := NewBlockDevice(context.Background(), s, scsi.LUN{})
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func TestBlockDeviceGeometry(t *testing.T) {
	tests := []struct {
		size        int64
		blockSize   int
		maxTransfer uint32
		wantMax     int
	}{
		{1 << 20, 512, 0, DefaultMaxTransfer / 512},
		{1 << 20, 4096, 0, DefaultMaxTransfer / 4096},
		{1 << 20, 512, 7, 7},
	}
	for _, tc := range tests {
		t.Run(fmt.Sprintf("%d-%d-%d", tc.size, tc.blockSize, tc.maxTransfer), func(t *testing.T) {
			d := blockDeviceTarget(t, tc.size, tc.blockSize, tc.maxTransfer)
			got := []int64{d.Size(), int64(d.BlockSize()), int64(d.MaxTransferBlocks())}
			if diff := cmp.Diff([]int64{tc.size, int64(tc.blockSize), int64(tc.wantMax)}, got); diff != "" {
				t.Errorf("Size, BlockSize, MaxTransferBlocks (-want +got):\n%s", diff)
			}
		})
	}
}

// TestBlockDeviceReadWriteAt writes and reads ranges of every alignment
// through a BlockDevice whose commands carry at most 3 blocks, and
// compares the device with a shadow copy after each step.
func TestBlockDeviceReadWriteAt(t *testing.T) {
	const size = 64 << 10
	for _, bs := range []int{512, 4096} {
		t.Run(fmt.Sprint(bs), func(t *testing.T) {
			d := blockDeviceTarget(t, size, bs, 3)
			shadow := make([]byte, size)
			rng := rand.New(rand.NewPCG(1, uint64(bs)))
			tests := []struct {
				name    string
				off     int64
				n       int
				wantN   int
				wantErr error
			}{
				{"aligned one block", 0, bs, bs, nil},
				{"aligned several commands", int64(bs), 7 * bs, 7 * bs, nil},
				{"inside one block", int64(bs) + 3, 10, 10, nil},
				{"head partial", int64(2*bs) - 1, bs + 1, bs + 1, nil},
				{"tail partial", int64(3 * bs), bs + 1, bs + 1, nil},
				{"spanning many", int64(bs)/2 + 1, 9*bs + 17, 9*bs + 17, nil},
				{"one byte", 12345, 1, 1, nil},
				{"empty", 100, 0, 0, nil},
				{"last byte", size - 1, 1, 1, nil},
				{"up to the end", size - int64(bs) - 5, bs + 5, bs + 5, nil},
				{"across the end", size - 10, 20, 10, nil},
				{"at the end", size, 1, 0, io.EOF},
				{"past the end", size + 4096, 1, 0, io.EOF},
				{"negative", -1, 1, 0, ErrNegativeOffset},
			}
			for _, tc := range tests {
				data := make([]byte, tc.n)
				for i := range data {
					data[i] = byte(rng.Uint32())
				}
				n, err := d.WriteAt(data, tc.off)
				wantErr := tc.wantErr
				if errors.Is(wantErr, io.EOF) || tc.wantN < tc.n && wantErr == nil {
					wantErr = ErrBeyondEnd
				}
				if n != tc.wantN || !errors.Is(err, wantErr) {
					t.Errorf("%s: WriteAt = %d, %v; want %d, %v", tc.name, n, err, tc.wantN, wantErr)
				}
				if tc.off >= 0 && tc.off < size {
					copy(shadow[tc.off:], data[:tc.wantN])
				}

				got := make([]byte, tc.n)
				n, err = d.ReadAt(got, tc.off)
				wantErr = tc.wantErr
				if tc.wantN < tc.n && wantErr == nil {
					wantErr = io.EOF
				}
				if n != tc.wantN || !errors.Is(err, wantErr) {
					t.Errorf("%s: ReadAt = %d, %v; want %d, %v", tc.name, n, err, tc.wantN, wantErr)
				}
				if diff := cmp.Diff(data[:tc.wantN], got[:tc.wantN]); diff != "" {
					t.Errorf("%s: ReadAt after WriteAt (-want +got):\n%s", tc.name, diff)
				}
				all := make([]byte, size)
				if _, err := d.ReadAt(all, 0); err != nil {
					t.Fatalf("%s: ReadAt of the whole device: %v", tc.name, err)
				}
				if !bytes.Equal(shadow, all) {
					t.Fatalf("%s: the device differs from the shadow copy", tc.name)
				}
			}
			if err := d.Sync(); err != nil {
				t.Errorf("Sync: %v", err)
			}
		})
	}
}

// TestBlockDeviceConcurrentUnaligned has 16 goroutines write random
// unaligned ranges, each within its own byte range, where neighbours share
// their edge blocks, then checks that no write lost another's bytes.
func TestBlockDeviceConcurrentUnaligned(t *testing.T) {
	const (
		workers = 16
		span    = 3*512 + 100 // each worker's bytes; edges fall inside blocks
		writes  = 20
	)
	d := blockDeviceTarget(t, 64<<10, 512, 0)
	shadow := make([]byte, workers*span)
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for w := range workers {
		base := w * span
		own := shadow[base : base+span]
		rng := rand.New(rand.NewPCG(uint64(w), 7))
		wg.Go(func() {
			for range writes {
				off := rng.IntN(span)
				n := 1 + rng.IntN(span-off)
				data := make([]byte, n)
				for i := range data {
					data[i] = byte(rng.Uint32())
				}
				if _, err := d.WriteAt(data, int64(base+off)); err != nil {
					errs <- err
					return
				}
				copy(own[off:], data)
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	got := make([]byte, len(shadow))
	if _, err := d.ReadAt(got, 0); err != nil {
		t.Fatal(err)
	}
	for w := range workers {
		if diff := cmp.Diff(shadow[w*span:(w+1)*span], got[w*span:(w+1)*span]); diff != "" {
			t.Errorf("worker %d's bytes (-want +got):\n%s", w, diff)
		}
	}
}

// TestBlockDeviceUnitAttention checks that a READ or WRITE that reports a
// UNIT ATTENTION is sent again, a bounded number of times.
func TestBlockDeviceUnitAttention(t *testing.T) {
	rc16, err := scsi.ReadCapacity16Data{LastLBA: 99, BlockLength: 512}.Append(nil)
	if err != nil {
		t.Fatal(err)
	}
	vpd00, err := scsi.AppendVPD(nil, 0, scsi.SupportedVPDPages{0x00, 0x80})
	if err != nil {
		t.Fatal(err)
	}
	ua := checkCondition(scsi.NewSense(scsi.SenseUnitAttention, scsi.NewASC(0x29, 0x03)))
	block := bytes.Repeat([]byte{7}, 512)
	open := []func(*Command) *Response{respondGood(nil), respondGood(rc16), respondGood(vpd00)}
	tests := []struct {
		name    string
		replies []func(*Command) *Response
		wantErr bool
	}{
		{"two unit attentions", []func(*Command) *Response{ua, ua, respondGood(block)}, false},
		{"unit attention forever", []func(*Command) *Response{ua}, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			x := &scriptedExecutor{replies: append(slices.Clone(open), tc.replies...)}
			d, err := NewBlockDevice(context.Background(), x, scsi.LUN{})
			if err != nil {
				t.Fatal(err)
			}
			got := make([]byte, 512)
			_, err = d.ReadAt(got, 512)
			if tc.wantErr {
				if !senseKeyIs(err, scsi.SenseUnitAttention) {
					t.Errorf("ReadAt: %v, want the UNIT ATTENTION", err)
				}
				if n := len(x.cdbs) - len(open); n != MaxUnitAttentions+1 {
					t.Errorf("%d READs sent, want %d", n, MaxUnitAttentions+1)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, block) {
				t.Error("ReadAt returned other bytes")
			}
		})
	}
}
