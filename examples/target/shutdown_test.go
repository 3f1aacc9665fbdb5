package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/go-iscsi/iscsi/scsi"
	"github.com/go-iscsi/iscsi/session"
)

// TestShutdownOnSIGTERM builds the target, serves a file with it to the
// project's initiator, writes, and sends SIGTERM: the target asks for a
// logout (RFC 7143 §11.9.1, AsyncEvent 1), the initiator logs out, and the
// process exits with status 0 without having to drop the session at
// -shutdown-timeout; the acknowledged write is in the file.
func TestShutdownOnSIGTERM(t *testing.T) {
	gobin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command to build the target with")
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "target")
	if out, err := exec.Command(gobin, "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	image := filepath.Join(dir, "lu.img")
	const name = "iqn.2026-11.org.example.go-iscsi:shutdown"
	cmd := exec.Command(bin, "-listen", "127.0.0.1:0", "-log-format", "json", "-target", name,
		"-file", image, "-size", "4MiB", "-shutdown-timeout", "60s")
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	addr := make(chan string, 1)
	var msgs []string // what the target logged, read once it has exited
	done := make(chan error, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			var rec struct{ Msg, Addr string }
			if json.Unmarshal(sc.Bytes(), &rec) != nil {
				continue
			}
			msgs = append(msgs, rec.Msg)
			if rec.Msg == "serving" && rec.Addr != "" {
				addr <- rec.Addr
			}
		}
		done <- cmd.Wait()
	}()
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			cmd.Process.Kill()
			<-done
		}
	})
	var a string
	select {
	case a = <-addr:
	case err := <-done:
		t.Fatalf("target exited before serving: %v", err)
	}
	s, err := session.Dial(context.Background(), a, session.Options{
		InitiatorName: "iqn.2026-11.org.example.go-iscsi:shutdown-test",
		TargetName:    name,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	if err := session.TestUnitReady(ctx, s, scsi.LUN{}); err != nil {
		t.Fatal(err)
	}
	data := bytes.Repeat([]byte("written before SIGTERM. "), 4096/24+1)[:4096]
	if err := session.Write(ctx, s, scsi.LUN{}, 100, 512, data); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatalf("target exit: %v; log: %s", err, strings.Join(msgs, " | "))
	}
	log := strings.Join(msgs, " | ")
	for _, want := range []string{"shutdown: logout requested", "logout", "stopped"} {
		if !contains(msgs, want) {
			t.Errorf("log lacks %q: %s", want, log)
		}
	}
	if contains(msgs, "shutdown: sessions not logged out in time") {
		t.Errorf("the session was dropped at the timeout instead of logging out: %s", log)
	}
	b, err := os.ReadFile(image)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(b[100*512:100*512+len(data)], data) {
		t.Error("the acknowledged write is not in the file")
	}
	// The initiator's session is over: the target is gone.
	cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := session.TestUnitReady(cctx, s, scsi.LUN{}); err == nil {
		t.Error("a command succeeded after the target stopped")
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
