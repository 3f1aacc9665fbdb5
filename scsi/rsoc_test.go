package scsi

import (
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestAllCommands(t *testing.T) {
	cmds := []SupportedCommand{
		{Op: OpRead10, Usage: make([]byte, 10)},
		{Op: OpServiceActionIn16, ServiceAction: SAReadCapacity16, HasServiceAction: true, Usage: make([]byte, 16), Timeouts: CommandTimeouts{Nominal: 1, Recommended: 30}},
	}
	b := AppendAllCommands(nil, cmds, false)
	want := []byte{0, 0, 0, 16, 0x28, 0, 0, 0, 0, 0, 0, 10, 0x9e, 0, 0, 0x10, 0, 0x01, 0, 16}
	if diff := cmp.Diff(want, b); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	for _, rctd := range []bool{false, true} {
		b := AppendAllCommands(nil, cmds, rctd)
		a, err := ParseAllCommands(b)
		if err != nil {
			t.Fatal(err)
		}
		i := 0
		for c, n := range a.All() {
			w := cmds[i]
			if c.Op != w.Op || c.ServiceAction != w.ServiceAction || c.HasServiceAction != w.HasServiceAction || n != len(w.Usage) {
				t.Errorf("descriptor %d = %+v, %d", i, c, n)
			}
			if rctd && c.Timeouts != w.Timeouts {
				t.Errorf("timeouts %d = %+v", i, c.Timeouts)
			}
			i++
		}
		if i != 2 {
			t.Errorf("rctd %v: %d descriptors", rctd, i)
		}
	}
	// Cut inside the second 20-byte descriptor.
	b = AppendAllCommands(nil, cmds, true)
	if a, err := ParseAllCommands(b[:4+20+10]); err != nil || len(a.Descriptors) != 20 {
		t.Errorf("cut: %d, %v", len(a.Descriptors), err)
	}
	b[4+8+1] = 0x0b
	if _, err := ParseAllCommands(b); !errors.Is(err, ErrMalformed) {
		t.Errorf("bad timeouts length: %v", err)
	}
	if _, err := ParseAllCommands(b[:3]); !errors.Is(err, ErrShortData) {
		t.Errorf("short: %v", err)
	}
}

func TestOneCommand(t *testing.T) {
	c, ok := CDBUsage(OpServiceActionIn16, SAReadCapacity16)
	if !ok {
		t.Fatal("no usage for READ CAPACITY(16)")
	}
	c.Timeouts = CommandTimeouts{CommandSpecific: 1, Nominal: 2, Recommended: 3}
	b := AppendOneCommand(nil, SupportStandard, c, true)
	want := append([]byte{0, 0x83, 0, 16}, "\x9e\x10\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01\x00"...)
	want = append(want, 0, 0x0a, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3)
	if diff := cmp.Diff(want, b); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	o, err := ParseOneCommand(b)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(OneCommand{Support: SupportStandard, Usage: c.Usage, Timeouts: &c.Timeouts}, o); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]byte{0, SupportNone, 0, 0}, AppendOneCommand(nil, SupportNone, c, false)); diff != "" {
		t.Errorf("not supported (-want +got):\n%s", diff)
	}
	for name, bad := range map[string][]byte{
		"short":            {0, 3, 0},
		"usage overrun":    {0, 3, 0, 4, 1, 2},
		"timeouts cut":     {0, 0x83, 0, 0, 0, 0x0a},
		"timeouts len bad": {0, 0x83, 0, 0, 0, 0x0b, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0},
	} {
		if _, err := ParseOneCommand(bad); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

func TestCDBUsageTable(t *testing.T) {
	cmds := SupportedCommands()
	if len(cmds) < 60 {
		t.Errorf("%d commands", len(cmds))
	}
	for i, c := range cmds {
		if c.Usage[0] != byte(c.Op) {
			t.Errorf("%v: usage byte 0 = 0x%02x", c.Op, c.Usage[0])
		}
		if c.HasServiceAction && ServiceAction(c.Usage[1]&0x1f) != c.ServiceAction {
			t.Errorf("%v: usage byte 1 = 0x%02x, service action 0x%x", c.Op, c.Usage[1], c.ServiceAction)
		}
		if i > 0 && cmds[i-1].Op > c.Op {
			t.Errorf("%v listed after %v", c.Op, cmds[i-1].Op)
		}
		if HasServiceActions(c.Op) != c.HasServiceAction {
			t.Errorf("%v: HasServiceActions disagrees", c.Op)
		}
		// Parsing the usage bitmap itself as a CDB must not fail on a
		// reserved bit: the bitmap marks only fields.
		cdb := append([]byte(nil), c.Usage...)
		if _, err := ParseCDB(cdb); err != nil {
			var ce *CDBError
			if errors.As(err, &ce) && ce.Field == "reserved" {
				t.Errorf("%v SA 0x%x: usage bitmap sets a reserved bit: %v", c.Op, c.ServiceAction, err)
			}
		}
	}
	if _, ok := CDBUsage(OpLogSense, 0); ok {
		t.Error("LOG SENSE is not decoded by this package")
	}
	if _, ok := CDBUsage(OpServiceActionIn16, 0x13); ok {
		t.Error("SERVICE ACTION IN(16) 0x13 is not decoded by this package")
	}
	if HasServiceActions(OpRead10) || !HasServiceActions(OpPersistentReserveIn) {
		t.Error("HasServiceActions")
	}
}
