package main

import (
	"context"
	"encoding/json"
	"net"
	"strings"
	"testing"

	"github.com/go-iscsi/iscsi/internal/peertest"
)

const defaultName = "iqn.2026-11.org.example.go-iscsi:disk0"

// TestRemovableAndMaxTransfer checks -removable (INQUIRY RMB) and
// -max-transfer (Block Limits VPD MAXIMUM TRANSFER LENGTH, SBC-4 §6.6.3).
func TestRemovableAndMaxTransfer(t *testing.T) {
	peertest.Require(t, "iscsi-inq")
	for _, tt := range []struct {
		args []string
		want []string
	}{
		{nil, []string{"Removable:0", "maximum transfer length:65536"}},
		{[]string{"-removable", "-max-transfer", "2048"}, []string{"Removable:1", "maximum transfer length:2048"}},
	} {
		addr := start(t, append([]string{"-size", "8MiB"}, tt.args...)...)
		url := peertest.URL{Host: addr, Target: defaultName}.String()
		std, err := libiscsi(t, "iscsi-inq", url)
		if err != nil {
			t.Fatal(err)
		}
		bl, err := libiscsi(t, "iscsi-inq", "-e", "1", "-c", "176", url)
		if err != nil {
			t.Fatal(err)
		}
		out := strings.ReplaceAll(std+bl, " ", "")
		for _, w := range tt.want {
			if !strings.Contains(out, strings.ReplaceAll(w, " ", "")) {
				t.Errorf("%q: output lacks %q:\n%s%s", tt.args, w, std, bl)
			}
		}
	}
}

// TestTwoListeners serves 127.0.0.1 and [::1] at once.
func TestTwoListeners(t *testing.T) {
	peertest.Require(t, "iscsi-inq")
	l6, err := net.Listen("tcp", "[::1]:0")
	if err != nil {
		t.Skipf("no IPv6 loopback (%v): serving two IPv4 listeners instead", err)
	}
	l6.Close()
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan net.Addr, 2)
	status := make(chan int, 1)
	var stderr syncBuffer
	go func() {
		status <- run(ctx, []string{"-listen", "127.0.0.1:0", "-listen", "[::1]:0", "-size", "8MiB", "-log-format", "json"}, &stderr, ready)
	}()
	defer func() {
		cancel()
		if s := <-status; s != 0 {
			t.Errorf("exit status %d:\n%s", s, stderr.String())
		}
	}()
	for range 2 {
		var addr net.Addr
		select {
		case addr = <-ready:
		case s := <-status:
			t.Fatalf("exited with %d:\n%s", s, stderr.String())
		}
		url := peertest.URL{Host: addr.String(), Target: defaultName}.String()
		if out, err := libiscsi(t, "iscsi-inq", url); err != nil {
			t.Errorf("iscsi-inq %s: %v\n%s", url, err, out)
		}
	}
	logins := 0
	for _, line := range strings.Split(strings.TrimSpace(stderr.String()), "\n") {
		var rec map[string]any
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatalf("-log-format json wrote %q: %v", line, err)
		}
		if rec["msg"] == "login" {
			logins++
		}
	}
	if logins != 2 {
		t.Errorf("%d logins logged, want 2:\n%s", logins, stderr.String())
	}
}
