package disk

import (
	"context"
	"encoding/binary"
	"sync/atomic"
	"testing"

	"github.com/go-iscsi/iscsi/scsi"
)

var (
	nexusA = Nexus{InitiatorPort: "iqn.2024-01.test:a,i,0x230000000001", TargetPort: "iqn.2024-01.test:t,t,0x1", RelativeTargetPort: 1, TargetPortGroup: 1}
	nexusB = Nexus{InitiatorPort: "iqn.2024-01.test:b,i,0x230000000002", TargetPort: "iqn.2024-01.test:t,t,0x1", RelativeTargetPort: 1, TargetPortGroup: 1}
	nexusC = Nexus{InitiatorPort: "iqn.2024-01.test:c,i,0x230000000003", TargetPort: "iqn.2024-01.test:t,t,0x1", RelativeTargetPort: 1, TargetPortGroup: 1}
)

// countingBackend counts flushes of a Memory.
type countingBackend struct {
	*Memory
	flushes atomic.Int64
}

func (c *countingBackend) Flush() error { c.flushes.Add(1); return nil }

// newTestBackend makes the backend of newLU: a Memory, or a File in
// TestCommandFamiliesOnFile.
var newTestBackend = func(t testing.TB, size int64) Backend { return NewMemory(size) }

func fileBackend(t testing.TB, size int64) Backend {
	f, err := OpenFile(t.TempDir()+"/disk.img", FileOptions{Create: true, Size: size})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

func newLU(t testing.TB, size int64, cfg Config) *LU {
	t.Helper()
	lu, err := New(newTestBackend(t, size), cfg)
	if err != nil {
		t.Fatal(err)
	}
	return lu
}

// run executes cdb from n with dataOut and an alloc-byte Data-In buffer,
// returning the response and the Data-In bytes.
func run(lu *LU, n Nexus, cdb []byte, dataOut []byte, alloc int) (Response, []byte) {
	req := &Request{Nexus: n, CDB: cdb, DataOut: dataOut, DataIn: make([]byte, alloc)}
	r := lu.Execute(context.Background(), req)
	return r, req.DataIn[:r.DataInLen]
}

// ready consumes the power-on unit attention of n.
func ready(t testing.TB, lu *LU, ns ...Nexus) {
	t.Helper()
	for _, n := range ns {
		r, _ := run(lu, n, cdbTUR(), nil, 0)
		if r.Status != scsi.StatusCheckCondition || r.Sense.Code != scsi.ASCPowerOnResetOrBusDeviceResetOccurred {
			t.Fatalf("first TEST UNIT READY from %v: %+v, want power-on unit attention", n, r)
		}
	}
}

func mustGood(t testing.TB, r Response, what string) {
	t.Helper()
	if r.Status != scsi.StatusGood {
		t.Fatalf("%s: status %v sense %v, want GOOD", what, r.Status, r.Sense)
	}
}

func wantSense(t testing.TB, r Response, key scsi.SenseKey, code scsi.ASC, what string) {
	t.Helper()
	if r.Status != scsi.StatusCheckCondition || r.Sense.Key != key || r.Sense.Code != code {
		t.Fatalf("%s: status %v sense %v, want CHECK CONDITION %v/%v", what, r.Status, r.Sense, key, code)
	}
}

func cdbTUR() []byte { return []byte{0x00, 0, 0, 0, 0, 0} }

func cdbRW(op scsi.OpCode, lba uint64, n uint32, flags byte) []byte {
	switch op.GroupCode() {
	case 0:
		return []byte{byte(op), byte(lba>>16) & 0x1f, byte(lba >> 8), byte(lba), byte(n), 0}
	case 1, 2:
		c := []byte{byte(op), flags, 0, 0, 0, 0, 0, 0, 0, 0}
		binary.BigEndian.PutUint32(c[2:], uint32(lba))
		binary.BigEndian.PutUint16(c[7:], uint16(n))
		return c
	case 5:
		c := []byte{byte(op), flags, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}
		binary.BigEndian.PutUint32(c[2:], uint32(lba))
		binary.BigEndian.PutUint32(c[6:], n)
		return c
	}
	c := make([]byte, 16)
	c[0], c[1] = byte(op), flags
	binary.BigEndian.PutUint64(c[2:], lba)
	binary.BigEndian.PutUint32(c[10:], n)
	return c
}

func cdbInquiry(evpd bool, page byte, alloc uint16) []byte {
	c := []byte{0x12, 0, page, byte(alloc >> 8), byte(alloc), 0}
	if evpd {
		c[1] = 1
	}
	return c
}

func cdbModeSense10(dbd, llbaa bool, pc, page, sub byte, alloc uint16) []byte {
	c := []byte{0x5a, 0, pc<<6 | page, sub, 0, 0, 0, byte(alloc >> 8), byte(alloc), 0}
	if dbd {
		c[1] |= 0x08
	}
	if llbaa {
		c[1] |= 0x10
	}
	return c
}

func cdbModeSelect10(plen int) []byte {
	return []byte{0x55, 0x10, 0, 0, 0, 0, 0, byte(plen >> 8), byte(plen), 0}
}

func cdbPROut(sa, typ byte) []byte {
	return []byte{0x5f, sa, typ, 0, 0, 0, 0, 0, 24, 0}
}

func prParams(key, saKey uint64) []byte {
	p := make([]byte, 24)
	binary.BigEndian.PutUint64(p[0:], key)
	binary.BigEndian.PutUint64(p[8:], saKey)
	return p
}

func cdbPRIn(sa byte, alloc uint16) []byte {
	return []byte{0x5e, sa, 0, 0, 0, 0, 0, byte(alloc >> 8), byte(alloc), 0}
}

func pattern(n int, seed byte) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = seed + byte(i*7)
	}
	return b
}
