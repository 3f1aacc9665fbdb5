package main

import (
	"bytes"
	"context"
	"io"
	"net"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-iscsi/iscsi/internal/peertest"
)

func TestParseFlags(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		wantErr string
	}{
		{"defaults", nil, ""},
		{"size with suffix", []string{"-size", "64MiB"}, ""},
		{"bad size", []string{"-size", "lots"}, "-size"},
		{"zero size", []string{"-size", "0"}, "-size"},
		{"overflowing size", []string{"-size", "9999999999TiB"}, "-size"},
		{"bad target name", []string{"-target", "iqn.2001-13.com.example"}, "-target"},
		{"target name not canonical", []string{"-target", "iqn.2001-04.com.example:Disk"}, "-target"},
		{"chap user without secret", []string{"-chap-user", "u"}, "go together"},
		{"short secret", []string{"-chap-user", "u", "-chap-secret", "short"}, "at least 12"},
		{"short secret allowed", []string{"-chap-user", "u", "-chap-secret", "short", "-allow-short-secrets"}, ""},
		{"mutual without one-way", []string{"-mutual-user", "t", "-mutual-secret", "targetsecret1"}, "needs -chap-user"},
		{"stray argument", []string{"extra"}, "unexpected argument"},
		{"max connections", []string{"-max-connections", "4"}, ""},
		{"zero max connections", []string{"-max-connections", "0"}, "-max-connections"},
		{"busy poll", []string{"-busy-poll", "50us"}, ""},
		{"negative busy poll", []string{"-busy-poll", "-1us"}, "-busy-poll"},
		{"unknown flag", []string{"-nosuch"}, "not defined"},
		{"512e", []string{"-physical-block-size", "4096"}, ""},
		{"physical block smaller than the logical", []string{"-block-size", "4096", "-physical-block-size", "512"}, "-physical-block-size"},
		{"physical block not a power-of-two multiple", []string{"-physical-block-size", "1536"}, "-physical-block-size"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stderr bytes.Buffer
			_, err := parseFlags(tt.args, &stderr)
			switch {
			case tt.wantErr == "" && err != nil:
				t.Fatalf("parseFlags(%q) = %v", tt.args, err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Fatalf("parseFlags(%q) = %v, want an error containing %q", tt.args, err, tt.wantErr)
			}
		})
	}
}

// syncBuffer is a bytes.Buffer safe for the logger's goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// start runs the command with args on 127.0.0.1:0 and returns its address;
// the test's cleanup stops it and checks it exited with status 0.
func start(t *testing.T, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan net.Addr, 8)
	status := make(chan int, 1)
	var stderr syncBuffer
	go func() { status <- run(ctx, append([]string{"-listen", "127.0.0.1:0"}, args...), &stderr, ready) }()
	select {
	case addr := <-ready:
		t.Cleanup(func() {
			cancel()
			if s := <-status; s != 0 {
				t.Errorf("exit status %d; log:\n%s", s, stderr.String())
			}
		})
		return addr.String()
	case s := <-status:
		cancel()
		t.Fatalf("target exited with status %d before serving:\n%s", s, stderr.String())
	}
	return ""
}

func libiscsi(t *testing.T, tool string, args ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	return peertest.LibiscsiTool(t, ctx, tool, args...)
}

// TestServeMemoryDisk serves the default configuration to libiscsi's
// tools: the disk's identity and capacity as udev and initiators see them.
func TestServeMemoryDisk(t *testing.T) {
	peertest.Require(t, "iscsi-inq", "iscsi-readcapacity16", "iscsi-ls")
	addr := start(t, "-size", "64MiB", "-vendor", "ACME", "-product", "Anvil", "-serial", "SN0042")
	const name = "iqn.2026-11.org.example.go-iscsi:disk0"
	url := peertest.URL{Host: addr, Target: name}.String()
	checks := []struct {
		tool string
		args []string
		want []string
	}{
		{"iscsi-inq", []string{url}, []string{"Vendor:ACME", "Product:Anvil"}},
		{"iscsi-inq", []string{"-e", "1", "-c", "128", url}, []string{"Unit Serial Number:[SN0042]"}},
		{"iscsi-readcapacity16", []string{url}, []string{"Total size:67108864"}},
		{"iscsi-ls", []string{"-s", "iscsi://" + addr}, []string{"Target:" + name, "Lun:0"}},
	}
	for _, c := range checks {
		out, err := libiscsi(t, c.tool, c.args...)
		if err != nil {
			t.Fatalf("%s %q: %v\n%s", c.tool, c.args, err, out)
		}
		for _, w := range c.want {
			if !strings.Contains(out, w) {
				t.Errorf("%s %q: output lacks %q:\n%s", c.tool, c.args, w, out)
			}
		}
	}
}

// TestServeFileWithCHAP serves a file-backed disk that requires mutual
// CHAP: the right credentials log in, a wrong secret does not.
func TestServeFileWithCHAP(t *testing.T) {
	peertest.Require(t, "iscsi-inq")
	file := filepath.Join(t.TempDir(), "disk.img")
	addr := start(t, "-file", file, "-size", "8MiB",
		"-chap-user", "alice", "-chap-secret", "alicesecret12",
		"-mutual-user", "target", "-mutual-secret", "targetsecret1")
	const name = "iqn.2026-11.org.example.go-iscsi:disk0"
	good := peertest.URL{Host: addr, Target: name, User: "alice", Password: "alicesecret12",
		TargetUser: "target", TargetPassword: "targetsecret1"}
	if out, err := libiscsi(t, "iscsi-inq", good.String()); err != nil || !strings.Contains(out, "DIRECT_ACCESS") {
		t.Fatalf("mutual CHAP login: %v\n%s", err, out)
	}
	bad := good
	bad.Password = "wrongsecret12"
	if out, err := libiscsi(t, "iscsi-inq", bad.String()); err == nil {
		t.Fatalf("a wrong CHAP secret logged in:\n%s", out)
	}
}

// TestPhysicalBlockSizeFlag: -physical-block-size reaches the logical unit,
// which reports it in READ CAPACITY(16) (SBC-4 §5.20.2).
func TestPhysicalBlockSizeFlag(t *testing.T) {
	cfg, err := parseFlags([]string{"-size", "8MiB", "-physical-block-size", "4096"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	lu, closeLU, err := openLogicalUnit(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer closeLU()
	if got := lu.Config(); got.BlockSize != 512 || got.PhysicalBlockSize != 4096 {
		t.Errorf("block sizes %d/%d, want 512 logical, 4096 physical", got.BlockSize, got.PhysicalBlockSize)
	}
}
