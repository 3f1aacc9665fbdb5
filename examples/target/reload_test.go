package main

import (
	"errors"
	"log/slog"
	"net"
	"os"
	"strings"
	"syscall"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/go-iscsi/iscsi/internal/peertest"
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
// of an unchanged Lun line and opens a new one for a changed line.
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
	if err := os.WriteFile(conf, []byte(strings.Replace(text, "Lun 1 Type=memory,Size=4M", "Lun 1 Type=memory,Size=8M", 1)), 0o644); err != nil {
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
	if diff := cmp.Diff([]bool{true, false}, []bool{same(0), same(1)}); diff != "" {
		t.Errorf("logical units reused for LUN 0 and 1 (-want +got):\n%s", diff)
	}
}
