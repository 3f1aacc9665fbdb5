package disk

import (
	"context"
	"encoding/binary"
	"fmt"
	"sync"
	"testing"

	"github.com/go-iscsi/iscsi/scsi"
)

// checkingBackend wraps a Memory and records every access outside
// [0, Size()) instead of passing it on, so a fuzz run fails on any.
type checkingBackend struct {
	*Memory
	mu  sync.Mutex
	bad []string
}

func (c *checkingBackend) check(op string, off, n int64) bool {
	if off < 0 || n < 0 || off+n > c.Memory.Size() || off+n < off {
		c.mu.Lock()
		c.bad = append(c.bad, fmt.Sprintf("%s of %d bytes at %d (size %d)", op, n, off, c.Memory.Size()))
		c.mu.Unlock()
		return false
	}
	return true
}

func (c *checkingBackend) ReadAt(p []byte, off int64) (int, error) {
	if !c.check("read", off, int64(len(p))) {
		return 0, ErrOutsideBackend
	}
	return c.Memory.ReadAt(p, off)
}

func (c *checkingBackend) WriteAt(p []byte, off int64) (int, error) {
	if !c.check("write", off, int64(len(p))) {
		return 0, ErrOutsideBackend
	}
	return c.Memory.WriteAt(p, off)
}

func (c *checkingBackend) Deallocate(off, n int64) error {
	if !c.check("deallocate", off, n) {
		return ErrOutsideBackend
	}
	return c.Memory.Deallocate(off, n)
}

func (c *checkingBackend) WriteZeroes(off, n int64) error {
	if !c.check("write zeroes", off, n) {
		return ErrOutsideBackend
	}
	return c.Memory.WriteZeroes(off, n)
}

func (c *checkingBackend) Mapping(off int64) (bool, int64, error) {
	if !c.check("mapping", off, 1) {
		return false, 0, ErrOutsideBackend
	}
	return c.Memory.Mapping(off)
}

func (c *checkingBackend) Flush() error { return nil }

// fuzzSeeds returns, for every row of a thin-provisioned logical unit's
// dispatch table, CDBs with the fields zero, low, and all usable bits
// set, with Data-Out of the length the CDB asks for.
func fuzzSeeds() (seeds [][]byte, outs [][]byte) {
	lu, _ := New(NewMemory(64<<10), Config{ThinProvisioning: true})
	for op := range lu.table {
		for _, c := range lu.table[op] {
			for _, fill := range []byte{0x00, 0x01, 0xff} {
				cdb := make([]byte, len(c.usage))
				for i := range cdb {
					cdb[i] = c.usage[i] & fill
				}
				cdb[0] = byte(c.op)
				if c.hasSA {
					cdb[1] = cdb[1]&^0x1f | c.sa
				}
				n := min(lu.DataOutLength(cdb), 4096)
				seeds = append(seeds, cdb)
				outs = append(outs, make([]byte, n))
			}
		}
	}
	return seeds, outs
}

// FuzzExecute runs an arbitrary command, twice from different nexuses,
// against a 64 KiB thin-provisioned logical unit: it must never panic,
// never reach outside the backend, never fill more Data-In than the
// buffer holds, and every CHECK CONDITION must carry sense data that
// parses back in both formats.
func FuzzExecute(f *testing.F) {
	seeds, outs := fuzzSeeds()
	for i := range seeds {
		f.Add(seeds[i], outs[i], uint16(512), uint8(i))
	}
	f.Add(cdbRW(scsi.OpWrite10, 1, 2, 0), make([]byte, 1024), uint16(0), uint8(0))
	f.Add(cdbPROut(proRegister, 0), prParams(0, 7), uint16(0), uint8(0))
	f.Add(cdbUnmap(24), unmapList([2]uint64{1, 2}), uint16(0), uint8(1))
	if lu, err := New(NewMemory(64<<10), Config{ThinProvisioning: true, MaxCompareAndWriteLength: 4}); err == nil {
		self := identCSCD(scsi.NAADesignator(lu.cfg.NAA[:]), 512)
		p := xcopyList(1, 0, [][]byte{self}, [][]byte{b2bSegment(0, 0, 8, 0, 64)})
		f.Add(cdbXCopy(len(p)), p, uint16(0), uint8(0))
	}
	f.Fuzz(func(t *testing.T, cdb, dataOut []byte, alloc uint16, who uint8) {
		be := &checkingBackend{Memory: NewMemory(64 << 10)}
		lu, err := New(be, Config{ThinProvisioning: true, Removable: who&0x80 != 0, ReadOnly: who&0x40 != 0, MaxCompareAndWriteLength: 4})
		if err != nil {
			t.Fatal(err)
		}
		nexuses := []Nexus{nexusA, nexusB, nexusC}
		for i := 0; i < 3; i++ {
			req := &Request{Nexus: nexuses[(int(who)+i)%3], CDB: cdb, DataOut: dataOut, DataIn: make([]byte, alloc)}
			r := lu.Execute(context.Background(), req)
			if r.DataInLen < 0 || r.DataInLen > len(req.DataIn) {
				t.Fatalf("DataInLen %d for a %d-byte buffer", r.DataInLen, len(req.DataIn))
			}
			if r.Status == scsi.StatusCheckCondition {
				for _, d := range [][]byte{r.Sense.AppendFixed(nil), r.Sense.AppendDescriptor(nil)} {
					s, err := scsi.ParseSense(d)
					if err != nil || s.Key != r.Sense.Key || s.Code != r.Sense.Code {
						t.Fatalf("sense %v encodes to % x which parses to %v, %v", r.Sense, d, s, err)
					}
				}
			}
			if n := lu.DataOutLength(cdb); n < 0 {
				t.Fatalf("DataOutLength %d", n)
			}
		}
		if len(be.bad) > 0 {
			t.Fatalf("out-of-range backend access for CDB % x: %v", cdb, be.bad)
		}
	})
}

// seqCmd is one command of a FuzzSequence input.
type seqCmd struct {
	who     byte // nexus index; bit 7 calls Reset before, bit 6 ITNexusLoss
	cdb     []byte
	dataOut []byte
	alloc   uint16
}

// encodeSeq lays commands out as FuzzSequence reads them: who, CDB length,
// CDB, Data-Out length (2 bytes), Data-Out, allocation length (2 bytes).
func encodeSeq(cmds ...seqCmd) []byte {
	var b []byte
	for _, c := range cmds {
		b = append(b, c.who, byte(len(c.cdb)))
		b = append(b, c.cdb...)
		b = binary.BigEndian.AppendUint16(b, uint16(len(c.dataOut)))
		b = append(b, c.dataOut...)
		b = binary.BigEndian.AppendUint16(b, c.alloc)
	}
	return b
}

// FuzzSequence runs a sequence of commands from three nexuses, with
// resets and nexus losses between them, against one logical unit, so that
// state carried between commands (reservations, unit attentions, mode
// parameters, medium state) is fuzzed too. The invariants are those of
// FuzzExecute.
func FuzzSequence(f *testing.F) {
	f.Add(encodeSeq(
		seqCmd{0, cdbPROut(proRegister, 0), prParams(0, 1), 0},
		seqCmd{1, cdbPROut(proRegister, 0), prParams(0, 2), 0},
		seqCmd{0, cdbPROut(proReserve, prExclusiveAccessRegistrantsOnly), prParams(1, 0), 0},
		seqCmd{2, cdbRW(scsi.OpRead10, 0, 1, 0), nil, 512},
		seqCmd{1, cdbPROut(proPreemptAndAbort, prWriteExclusive), prParams(2, 1), 0},
		seqCmd{0, cdbPRIn(3, 512), nil, 512},
		seqCmd{0x40, cdbTUR(), nil, 0},
	))
	f.Add(encodeSeq(
		seqCmd{0, cdbRW(scsi.OpWrite10, 3, 2, 0), make([]byte, 1024), 0},
		seqCmd{1, cdbCAW(3, 1), make([]byte, 1024), 0},
		seqCmd{0x80, cdbWriteSame(true, 0, 16, 0x09), nil, 0},
		seqCmd{2, []byte{0x9e, 0x12, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0}, nil, 256},
		seqCmd{0, []byte{0x16, 0, 0, 0, 0, 0}, nil, 0},
		seqCmd{1, []byte{0x1b, 0, 0, 0, 0x02, 0}, nil, 0},
	))
	f.Fuzz(func(t *testing.T, data []byte) {
		be := &checkingBackend{Memory: NewMemory(128 << 10)}
		lu, err := New(be, Config{ThinProvisioning: true, Removable: true, MaxCompareAndWriteLength: 4, MaxUnmapBlockDescriptorCount: 8})
		if err != nil {
			t.Fatal(err)
		}
		nexuses := []Nexus{nexusA, nexusB, nexusC}
		for i := 0; i < 64 && len(data) >= 2; i++ {
			who, n := data[0], int(data[1])
			data = data[2:]
			n = min(n, len(data))
			cdb := data[:n]
			data = data[n:]
			var out []byte
			if len(data) >= 2 {
				m := min(int(binary.BigEndian.Uint16(data)), len(data)-2)
				out, data = data[2:2+m], data[2+m:]
			}
			alloc := 0
			if len(data) >= 2 {
				alloc, data = int(binary.BigEndian.Uint16(data)), data[2:]
			}
			nx := nexuses[int(who&0x3f)%3]
			if who&0x80 != 0 {
				lu.Reset(ResetKind(who & 1))
			}
			if who&0x40 != 0 {
				lu.ITNexusLoss(nx)
			}
			req := &Request{Nexus: nx, CDB: cdb, DataOut: out, DataIn: make([]byte, alloc)}
			r := lu.Execute(context.Background(), req)
			if r.DataInLen < 0 || r.DataInLen > len(req.DataIn) {
				t.Fatalf("DataInLen %d for a %d-byte buffer", r.DataInLen, len(req.DataIn))
			}
			if r.Status == scsi.StatusCheckCondition {
				if _, err := scsi.ParseSense(r.AppendSense(nil)); err != nil {
					t.Fatalf("sense %v does not parse back: %v", r.Sense, err)
				}
			}
		}
		if len(be.bad) > 0 {
			t.Fatalf("out-of-range backend access: %v", be.bad)
		}
	})
}
