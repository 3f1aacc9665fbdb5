package main

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/go-iscsi/iscsi/internal/peertest"
	"github.com/go-iscsi/iscsi/scsi"
	"github.com/go-iscsi/iscsi/scsi/disk"
	"github.com/go-iscsi/iscsi/session"
)

func TestAccessRules(t *testing.T) {
	const allow = `# comment
iqn.2026-11.org.example:Guarded  iqn.2026-11.org.example:ALICE, 10.1.0.0/16 , [fd00::]/8
iqn.2026-11.org.example:re       iqn\.1994-05\.com\.redhat:.*
`
	const deny = "ALL 10.1.2.0/24, iqn.2026-11.org.example:mallory\n"
	dir := t.TempDir()
	write := func(name, text string) string {
		p := dir + "/" + name
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	policy, err := loadAccess(write("allow", allow), write("deny", deny))
	if err != nil {
		t.Fatal(err)
	}
	tcp := func(s string) net.Addr { a, _ := net.ResolveTCPAddr("tcp", s); return a }
	tests := []struct {
		target, initiator, remote string
		want                      bool
	}{
		{"iqn.2026-11.org.example:guarded", "iqn.2026-11.org.example:alice", "192.0.2.1:1", true},
		{"iqn.2026-11.org.example:guarded", "iqn.2026-11.org.example:bob", "192.0.2.1:1", false},
		{"iqn.2026-11.org.example:guarded", "iqn.2026-11.org.example:bob", "10.1.9.9:1", true},
		{"iqn.2026-11.org.example:guarded", "iqn.2026-11.org.example:bob", "[fd12::1]:1", true},
		{"iqn.2026-11.org.example:guarded", "iqn.2026-11.org.example:bob", "[2001:db8::1]:1", false},
		{"iqn.2026-11.org.example:re", "iqn.1994-05.com.redhat:abc", "192.0.2.1:1", true},
		{"iqn.2026-11.org.example:re", "iqn.1994-05.com.debian:abc", "192.0.2.1:1", false},
		// A target no allow line names is open, but for the deny lines.
		{"iqn.2026-11.org.example:other", "iqn.2026-11.org.example:bob", "192.0.2.1:1", true},
		{"iqn.2026-11.org.example:other", "iqn.2026-11.org.example:mallory", "192.0.2.1:1", false},
		{"iqn.2026-11.org.example:other", "iqn.2026-11.org.example:bob", "10.1.2.3:1", false},
		// Allow wins over deny.
		{"iqn.2026-11.org.example:guarded", "iqn.2026-11.org.example:alice", "10.1.2.3:1", true},
	}
	for _, tt := range tests {
		f := policy.allowFunc(tt.target)
		if f == nil {
			t.Fatalf("no Allow for %s", tt.target)
		}
		if got := f(tt.initiator, tcp(tt.remote)); got != tt.want {
			t.Errorf("Allow(%s, %s) on %s = %v, want %v", tt.initiator, tt.remote, tt.target, got, tt.want)
		}
	}
	if _, err := parseAccess("bad", strings.NewReader("\nALL 10.0.0.0/8, (\n")); err == nil || !strings.HasPrefix(err.Error(), "bad:2: (: ") {
		t.Errorf("bad regular expression: %v, want an error at bad:2", err)
	}
}

// TestServeAllowAndCHAP serves a configuration with per-target CHAP and an
// allow file to libiscsi: the disallowed initiator is refused and does not
// see the target, the wrong CHAP secret is refused, the rest log in.
func TestServeAllowAndCHAP(t *testing.T) {
	peertest.Require(t, "iscsi-ls", "iscsi-inq")
	conf := writeConfig(t, `Target iqn.2026-11.org.example:guarded
	Lun 0 Type=memory,Size=4M
Target iqn.2026-11.org.example:chap
	IncomingUser alice alicesecret12
	Lun 0 Type=memory,Size=4M
`)
	allow := conf + ".allow"
	if err := os.WriteFile(allow, []byte("iqn.2026-11.org.example:guarded iqn.2026-11.org.example:friend\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	addr := start(t, "-config", conf, "-allow", allow)
	guarded := peertest.URL{Host: addr, Target: "iqn.2026-11.org.example:guarded"}.String()
	if out, err := libiscsi(t, "iscsi-inq", "-i", "iqn.2026-11.org.example:friend", guarded); err != nil {
		t.Errorf("allowed initiator: %v\n%s", err, out)
	}
	if out, err := libiscsi(t, "iscsi-inq", "-i", "iqn.2026-11.org.example:stranger", guarded); err == nil {
		t.Errorf("disallowed initiator logged in:\n%s", out)
	}
	out, err := libiscsi(t, "iscsi-ls", "-i", "iqn.2026-11.org.example:stranger", "iscsi://"+addr)
	if err != nil || strings.Contains(out, ":guarded") || !strings.Contains(out, ":chap") {
		t.Errorf("SendTargets for a disallowed initiator: %v\n%s", err, out)
	}
	good := peertest.URL{Host: addr, Target: "iqn.2026-11.org.example:chap", User: "alice", Password: "alicesecret12"}
	if out, err := libiscsi(t, "iscsi-inq", good.String()); err != nil {
		t.Errorf("CHAP login: %v\n%s", err, out)
	}
	bad := good
	bad.Password = "wrongsecret12"
	if out, err := libiscsi(t, "iscsi-inq", bad.String()); err == nil {
		t.Errorf("wrong CHAP secret logged in:\n%s", out)
	}
	none := good
	none.User, none.Password = "", ""
	if out, err := libiscsi(t, "iscsi-inq", none.String()); err == nil {
		t.Errorf("login without CHAP to a target with IncomingUser:\n%s", out)
	}
}

// TestReloadOnSIGHUP rewrites the configuration and sends SIGHUP: the added
// target appears, the removed one disappears from discovery, an unchanged
// memory LUN keeps its data, and a broken file is refused with the old
// configuration serving on.
func TestReloadOnSIGHUP(t *testing.T) {
	peertest.Require(t, "iscsi-ls")
	results := make(chan error, 1)
	reloaded = func(err error) { results <- err }
	t.Cleanup(func() { reloaded = nil })
	const a = "Target iqn.2026-11.org.example:a\n\tLun 0 Type=memory,Size=4M\n"
	const b = "Target iqn.2026-11.org.example:b\n\tLun 0 Type=memory,Size=4M\n"
	conf := writeConfig(t, a)
	addr := start(t, "-config", conf)
	discover := func() string {
		t.Helper()
		out, err := libiscsi(t, "iscsi-ls", "iscsi://"+addr)
		if err != nil {
			t.Fatalf("iscsi-ls: %v\n%s", err, out)
		}
		return out
	}
	hup := func(text string) error {
		t.Helper()
		if err := os.WriteFile(conf, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := syscall.Kill(os.Getpid(), syscall.SIGHUP); err != nil {
			t.Fatal(err)
		}
		return <-results
	}
	if err := hup(a + b); err != nil {
		t.Fatalf("reload adding b: %v", err)
	}
	if out := discover(); !strings.Contains(out, ":a") || !strings.Contains(out, ":b") {
		t.Errorf("after adding b:\n%s", out)
	}
	if err := hup(b); err != nil {
		t.Fatalf("reload removing a: %v", err)
	}
	if out := discover(); strings.Contains(out, "example:a") || !strings.Contains(out, ":b") {
		t.Errorf("after removing a:\n%s", out)
	}
	err := hup(b + "Bogus 1\n")
	var ce *ConfigError
	if err == nil || !errors.As(err, &ce) || ce.Line != 3 || ce.Key != "Bogus" {
		t.Fatalf("reload of a broken file: %v, want a *ConfigError at line 3", err)
	}
	if out := discover(); !strings.Contains(out, ":b") {
		t.Errorf("after a refused reload:\n%s", out)
	}
}

// TestReloadKeepsLogicalUnits checks that a reload reuses the logical unit
// of an unchanged Lun line, resizes the one of a Type=memory line whose
// Size changed, and opens a new one for a line changed otherwise.
func TestReloadKeepsLogicalUnits(t *testing.T) {
	const text = "Target iqn.2026-11.org.example:a\n\tLun 0 Type=memory,Size=4M\n\tLun 1 Type=memory,Size=4M\n"
	conf := writeConfig(t, text)
	var pool luPool
	defer pool.close()
	log := slog.New(slog.DiscardHandler)
	first, err := loadConfig(conf, &pool, log)
	if err != nil {
		t.Fatal(err)
	}
	changed := strings.Replace(text, "Lun 1 Type=memory,Size=4M", "Lun 1 Type=memory,Size=8M", 1)
	changed = strings.Replace(changed, "Lun 0 Type=memory,Size=4M", "Lun 0 Type=memory,Size=4M,ScsiSN=NEW0", 1)
	if err := os.WriteFile(conf, []byte(changed), 0o644); err != nil {
		t.Fatal(err)
	}
	second, err := loadConfig(conf, &pool, log)
	if err != nil {
		t.Fatal(err)
	}
	same := func(l int) bool {
		for k, v := range first.targets[0].LUNs {
			n, _ := k.Number()
			if int(n) == l {
				return second.targets[0].LUNs[k] == v
			}
		}
		return false
	}
	if diff := cmp.Diff([]bool{false, true}, []bool{same(0), same(1)}); diff != "" {
		t.Errorf("logical units reused for LUN 0 and 1 (-want +got):\n%s", diff)
	}
	lun1, _ := scsi.EncodeLUN(1)
	if diff := cmp.Diff([]resizedLUN{{"iqn.2026-11.org.example:a", lun1}}, second.resized, cmp.AllowUnexported(resizedLUN{})); diff != "" {
		t.Errorf("resized (-want +got):\n%s", diff)
	}
	if got := second.targets[0].LUNs[lun1].(*disk.LU).Config(); got.BlockSize != 512 {
		t.Fatalf("block size %d", got.BlockSize)
	}
}

// lunTest is a session of the project's initiator logged in to a target
// of the in-process target, with the SCSI asynchronous events it receives.
type lunTest struct {
	t      *testing.T
	s      *session.Session
	events chan session.AsyncEvent
}

func dialLUNTest(t *testing.T, addr, target string) *lunTest {
	t.Helper()
	lt := &lunTest{t: t, events: make(chan session.AsyncEvent, 8)}
	s, err := session.Dial(context.Background(), addr, session.Options{
		InitiatorName: "iqn.2026-11.org.example:reload-test",
		TargetName:    target,
		OnAsyncEvent:  func(e session.AsyncEvent) { lt.events <- e },
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	lt.s = s
	return lt
}

// tur sends TEST UNIT READY to LUN n and returns the sense key and code
// of a CHECK CONDITION, or zero values with GOOD.
func (lt *lunTest) tur(n uint16) (scsi.SenseKey, scsi.ASC) {
	lt.t.Helper()
	lun, _ := scsi.EncodeLUN(n)
	resp, err := lt.s.Execute(context.Background(), &session.Command{LUN: lun, CDB: make([]byte, 6)})
	switch {
	case err != nil:
		lt.t.Fatalf("TEST UNIT READY to LUN %d: %v", n, err)
	case resp.Status == scsi.StatusGood:
		return 0, 0
	case resp.Sense == nil:
		lt.t.Fatalf("TEST UNIT READY to LUN %d: status %v without sense", n, resp.Status)
	}
	return resp.Sense.Key, resp.Sense.Code
}

// event waits for the next SCSI asynchronous event and returns its ASC.
func (lt *lunTest) event() scsi.ASC {
	lt.t.Helper()
	select {
	case e := <-lt.events:
		if e.Parsed == nil || e.Parsed.Key != scsi.SenseUnitAttention {
			lt.t.Fatalf("asynchronous event with sense %x", e.Sense)
		}
		return e.Parsed.Code
	case <-time.After(30 * time.Second):
		lt.t.Fatal("no asynchronous event")
	}
	return 0
}

// TestReloadChangesLUNs rewrites the configuration and sends SIGHUP with
// the project's initiator logged in: removing a fileio LUN and adding a
// memory one gives the session REPORTED LUNS DATA HAS CHANGED as an
// Asynchronous Message and as a unit attention, REPORT LUNS shows the new
// list, the removed LUN answers LOGICAL UNIT NOT SUPPORTED, its file is
// closed with the acknowledged write in it; growing a memory LUN gives
// CAPACITY DATA HAS CHANGED and the new capacity.
func TestReloadChangesLUNs(t *testing.T) {
	results := make(chan error, 1)
	closed := make(chan uint16, 4)
	reloaded = func(err error) { results <- err }
	unitClosed = func(_ string, lun uint16) { closed <- lun }
	t.Cleanup(func() { reloaded, unitClosed = nil, nil })
	dir := t.TempDir()
	img := dir + "/lun1.img"
	makeImage(t, img, 4<<20)
	const target = "iqn.2026-11.org.example:luns"
	lun0 := "\tLun 0 Type=memory,Size=4M\n"
	lun1 := "\tLun 1 Path=" + img + ",Type=fileio\n"
	lun2 := "\tLun 2 Type=memory,Size=4M\n"
	conf := writeConfig(t, "Target "+target+"\n"+lun0+lun1)
	addr := start(t, "-config", conf)
	hup := func(text string) {
		t.Helper()
		if err := os.WriteFile(conf, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := syscall.Kill(os.Getpid(), syscall.SIGHUP); err != nil {
			t.Fatal(err)
		}
		if err := <-results; err != nil {
			t.Fatalf("reload: %v", err)
		}
	}
	lt := dialLUNTest(t, addr, target)
	for _, n := range []uint16{0, 1} {
		if k, code := lt.tur(n); k != scsi.SenseUnitAttention || code != scsi.ASCPowerOnResetOrBusDeviceResetOccurred {
			t.Fatalf("first command to LUN %d: %v %v", n, k, code)
		}
	}
	data := bytes.Repeat([]byte("acknowledged"), 4096/12+1)[:4096]
	lunOne, _ := scsi.EncodeLUN(1)
	if err := session.Write(context.Background(), lt.s, lunOne, 16, 512, data); err != nil {
		t.Fatal(err)
	}

	hup("Target " + target + "\n" + lun0 + lun2)
	if code := lt.event(); code != scsi.ASCReportedLUNsDataHasChanged {
		t.Errorf("event after the LUN change: %v", code)
	}
	if k, code := lt.tur(0); k != scsi.SenseUnitAttention || code != scsi.ASCReportedLUNsDataHasChanged {
		t.Errorf("LUN 0 after the LUN change: %v %v", k, code)
	}
	luns, err := session.ReportLUNs(context.Background(), lt.s)
	if err != nil {
		t.Fatal(err)
	}
	var got []uint64
	for _, l := range luns {
		got = append(got, l.Uint64())
	}
	lunTwo, _ := scsi.EncodeLUN(2)
	if diff := cmp.Diff([]uint64{scsi.LUN{}.Uint64(), lunTwo.Uint64()}, got); diff != "" {
		t.Errorf("REPORT LUNS (-want +got):\n%s", diff)
	}
	if k, code := lt.tur(1); k != scsi.SenseIllegalRequest || code != scsi.ASCLogicalUnitNotSupported {
		t.Errorf("removed LUN 1: %v %v", k, code)
	}
	if k, code := lt.tur(2); k != scsi.SenseUnitAttention || code != scsi.ASCPowerOnResetOrBusDeviceResetOccurred {
		t.Errorf("first command to the new LUN 2: %v %v", k, code)
	}
	if k, code := lt.tur(2); k != 0 {
		t.Errorf("LUN 2: %v %v", k, code)
	}
	if n := <-closed; n != 1 {
		t.Errorf("closed LUN %d, want 1", n)
	}
	b, err := os.ReadFile(img)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(b[16*512:16*512+len(data)], data) {
		t.Error("the acknowledged write is not in the removed LUN's file")
	}

	hup("Target " + target + "\n" + strings.Replace(lun0, "4M", "8M", 1) + lun2)
	if code := lt.event(); code != scsi.ASCCapacityDataHasChanged {
		t.Errorf("event after the resize: %v", code)
	}
	if k, code := lt.tur(0); k != scsi.SenseUnitAttention || code != scsi.ASCCapacityDataHasChanged {
		t.Errorf("LUN 0 after the resize: %v %v", k, code)
	}
	rc, err := session.ReadCapacity(context.Background(), lt.s, scsi.LUN{})
	if err != nil || (rc.LastLBA+1)*uint64(rc.BlockLength) != 8<<20 {
		t.Errorf("READ CAPACITY after the resize: %+v, %v", rc, err)
	}
}
