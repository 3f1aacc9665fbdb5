package session

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"sync"

	"github.com/go-iscsi/iscsi/scsi"
)

// DefaultMaxTransfer caps the bytes of one READ or WRITE a BlockDevice
// sends when the logical unit reports no MAXIMUM TRANSFER LENGTH (SBC-4
// §6.6.4: zero means no limit) or a larger one.
const DefaultMaxTransfer = 1 << 20

// ErrBeyondEnd is the error of a WriteAt that reaches past the last
// logical block: the bytes up to the end are written, the rest are not.
var ErrBeyondEnd = errors.New("iscsi: write beyond the end of the logical unit")

// ErrNegativeOffset is the error of a ReadAt or WriteAt at an offset below
// zero.
var ErrNegativeOffset = errors.New("iscsi: negative offset")

// BlockDevice is a logical unit of an SBC-4 direct access block device
// seen as bytes: io.ReaderAt and io.WriterAt at any offset and length over
// its logical blocks. A range that does not start or end on a block
// boundary is read whole and, for a write, merged and written back
// (read-modify-write); writes whose blocks overlap are serialized so that
// concurrent unaligned writers never undo each other's bytes. Requests
// longer than the MAXIMUM TRANSFER LENGTH of the Block Limits page (SBC-4
// §6.6.4), or than DefaultMaxTransfer, are split, and a command that
// reports a UNIT ATTENTION is sent again. Its methods are safe for
// concurrent use.
type BlockDevice struct {
	x         Executor
	lun       scsi.LUN
	blockSize uint32
	blocks    uint64
	maxBlocks uint32 // blocks per command

	mu     sync.Mutex
	cond   *sync.Cond
	locked []blockRange // block ranges of writes in progress
}

// blockRange is the blocks first through last, inclusive.
type blockRange struct{ first, last uint64 }

func (r blockRange) overlaps(o blockRange) bool { return r.first <= o.last && o.first <= r.last }

// NewBlockDevice opens lun of x as a BlockDevice: it takes any pending
// UNIT ATTENTION with TestUnitReady, reads the block length and capacity
// with ReadCapacity, and the MAXIMUM TRANSFER LENGTH from the Block Limits
// VPD page when the Supported VPD Pages page lists it (SPC-4 §7.8.15).
func NewBlockDevice(ctx context.Context, x Executor, lun scsi.LUN) (*BlockDevice, error) {
	if err := TestUnitReady(ctx, x, lun); err != nil {
		return nil, err
	}
	rc, err := ReadCapacity(ctx, x, lun)
	if err != nil {
		return nil, err
	}
	if rc.BlockLength == 0 {
		return nil, fmt.Errorf("iscsi: READ CAPACITY reports a LOGICAL BLOCK LENGTH of 0")
	}
	d := &BlockDevice{x: x, lun: lun, blockSize: rc.BlockLength, blocks: rc.LastLBA + 1}
	d.cond = sync.NewCond(&d.mu)
	d.maxBlocks = max(1, DefaultMaxTransfer/rc.BlockLength)
	pages, err := SupportedVPDPages(ctx, x, lun)
	if err != nil && !senseKeyIs(err, scsi.SenseIllegalRequest) {
		return nil, err
	}
	if slices.Contains(slices.Collect(pages.All()), 0xb0) {
		bl, err := BlockLimits(ctx, x, lun)
		if err != nil {
			return nil, err
		}
		if bl.MaxTransferLength != 0 {
			d.maxBlocks = min(d.maxBlocks, bl.MaxTransferLength)
		}
	}
	return d, nil
}

// Size returns the capacity in bytes.
func (d *BlockDevice) Size() int64 { return int64(d.blocks) * int64(d.blockSize) }

// BlockSize returns the logical block length in bytes.
func (d *BlockDevice) BlockSize() int { return int(d.blockSize) }

// MaxTransferBlocks returns the most blocks one READ or WRITE carries.
func (d *BlockDevice) MaxTransferBlocks() int { return int(d.maxBlocks) }

// ReadAt reads len(p) bytes at off, as io.ReaderAt: a read that reaches
// the end of the device returns the bytes before it with io.EOF.
func (d *BlockDevice) ReadAt(p []byte, off int64) (int, error) {
	return d.ReadAtContext(context.Background(), p, off)
}

// ReadAtContext is ReadAt bounded by ctx.
func (d *BlockDevice) ReadAtContext(ctx context.Context, p []byte, off int64) (int, error) {
	if off < 0 {
		return 0, ErrNegativeOffset
	}
	size := d.Size()
	if off >= size {
		return 0, io.EOF
	}
	want := len(p)
	if int64(want) > size-off {
		p = p[:size-off]
	}
	n, err := d.transfer(ctx, p, off, false)
	if err == nil && n < want {
		err = io.EOF
	}
	return n, err
}

// WriteAt writes p at off, as io.WriterAt. Bytes past the end of the
// device are not written and give ErrBeyondEnd.
func (d *BlockDevice) WriteAt(p []byte, off int64) (int, error) {
	return d.WriteAtContext(context.Background(), p, off)
}

// WriteAtContext is WriteAt bounded by ctx.
func (d *BlockDevice) WriteAtContext(ctx context.Context, p []byte, off int64) (int, error) {
	if off < 0 {
		return 0, ErrNegativeOffset
	}
	size := d.Size()
	if off >= size {
		if len(p) == 0 {
			return 0, nil
		}
		return 0, ErrBeyondEnd
	}
	want := len(p)
	if int64(want) > size-off {
		p = p[:size-off]
	}
	if len(p) == 0 {
		return 0, nil
	}
	bs := int64(d.blockSize)
	r := blockRange{uint64(off / bs), uint64((off + int64(len(p)) - 1) / bs)}
	d.lock(r)
	n, err := d.transfer(ctx, p, off, true)
	d.unlock(r)
	if err == nil && n < want {
		err = ErrBeyondEnd
	}
	return n, err
}

// lock waits until no write in progress holds a block of r, then holds r.
func (d *BlockDevice) lock(r blockRange) {
	d.mu.Lock()
	for slices.ContainsFunc(d.locked, r.overlaps) {
		d.cond.Wait()
	}
	d.locked = append(d.locked, r)
	d.mu.Unlock()
}

func (d *BlockDevice) unlock(r blockRange) {
	d.mu.Lock()
	i := slices.Index(d.locked, r)
	d.locked = slices.Delete(d.locked, i, i+1)
	d.cond.Broadcast()
	d.mu.Unlock()
}

// transfer reads into or writes from p at off, which lie within the
// device: whole blocks straight from or into p in commands of at most
// maxBlocks, a partial first or last block through a one-block buffer.
func (d *BlockDevice) transfer(ctx context.Context, p []byte, off int64, write bool) (int, error) {
	bs := int64(d.blockSize)
	done := 0
	var tmp []byte
	for done < len(p) {
		pos := off + int64(done)
		lba := uint64(pos / bs)
		in := pos % bs
		rest := int64(len(p) - done)
		if in == 0 && rest >= bs {
			k := min(rest/bs, int64(d.maxBlocks))
			chunk := p[done : done+int(k*bs)]
			if err := d.rw(ctx, write, lba, chunk); err != nil {
				return done, err
			}
			done += len(chunk)
			continue
		}
		if tmp == nil {
			tmp = make([]byte, bs)
		}
		if err := d.rw(ctx, false, lba, tmp); err != nil {
			return done, err
		}
		var n int
		if write {
			n = copy(tmp[in:], p[done:])
			if err := d.rw(ctx, true, lba, tmp); err != nil {
				return done, err
			}
		} else {
			n = copy(p[done:], tmp[in:])
		}
		done += n
	}
	return done, nil
}

// rw reads or writes buf at lba. A command that ends in UNIT ATTENTION
// was not executed (SAM-5 §5.14: the condition is reported instead) and
// the report cleared the condition, so it is sent again, at most
// MaxUnitAttentions times: another initiator's LUN RESET does not fail
// this device's reads and writes.
func (d *BlockDevice) rw(ctx context.Context, write bool, lba uint64, buf []byte) error {
	var err error
	for range MaxUnitAttentions + 1 {
		if write {
			err = Write(ctx, d.x, d.lun, lba, d.blockSize, buf)
		} else {
			err = Read(ctx, d.x, d.lun, lba, d.blockSize, buf)
		}
		if !senseKeyIs(err, scsi.SenseUnitAttention) {
			return err
		}
	}
	return err
}

// Sync asks the logical unit to write its cache to the medium with
// SYNCHRONIZE CACHE (SBC-4 §5.40).
func (d *BlockDevice) Sync() error { return d.SyncContext(context.Background()) }

// SyncContext is Sync bounded by ctx.
func (d *BlockDevice) SyncContext(ctx context.Context) error {
	return SynchronizeCache(ctx, d.x, d.lun)
}

var (
	_ io.ReaderAt = (*BlockDevice)(nil)
	_ io.WriterAt = (*BlockDevice)(nil)
)
