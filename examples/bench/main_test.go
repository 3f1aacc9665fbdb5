package main

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/go-iscsi/iscsi/internal/peertest"
)

func TestParseFlags(t *testing.T) {
	for _, tc := range []struct {
		args []string
		err  string
	}{
		{nil, ""},
		{[]string{"-t", "3s", "-rounds", "1", "-loads", "4k-randread-qd32", "-targets", "ours-memory,tgtd"}, ""},
		{[]string{"-t", "1500ms"}, "whole seconds"},
		{[]string{"-t", "0s"}, "whole seconds"},
		{[]string{"-rounds", "0"}, "at least 1"},
		{[]string{"-size", "1"}, "16 MiB"},
		{[]string{"-targets", "tgtd-tuned,istgt-tuned"}, ""},
		{[]string{"-targets", "ours-memory,lio"}, `unknown target "lio"`},
		{[]string{"-loads", "1m-read"}, `unknown load "1m-read"`},
		{[]string{"extra"}, "unexpected argument"},
		{[]string{"-nope"}, "not defined"},
	} {
		_, err := parseFlags(tc.args, io.Discard)
		switch {
		case tc.err == "" && err != nil:
			t.Errorf("%q: %v", tc.args, err)
		case tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)):
			t.Errorf("%q: got %v, want an error with %q", tc.args, err, tc.err)
		}
	}
}

func TestMedian(t *testing.T) {
	for _, tc := range []struct {
		in   []float64
		want float64
	}{{nil, 0}, {[]float64{3}, 3}, {[]float64{5, 1, 3}, 3}, {[]float64{4, 1, 3, 2}, 2.5}} {
		if got := median(tc.in); got != tc.want {
			t.Errorf("median(%v) = %v, want %v", tc.in, got, tc.want)
		}
	}
}

func TestCPUSeconds(t *testing.T) {
	if _, err := os.Stat("/proc/self/stat"); err != nil {
		t.Skip("no /proc on this system")
	}
	if _, err := cpuSeconds(os.Getpid()); err != nil {
		t.Fatal(err)
	}
	if _, err := cpuSeconds(-1); err == nil {
		t.Fatal("cpuSeconds of no process succeeded")
	}
}

// TestEcho runs the ceiling's echo briefly: every answer it counts came
// back whole over the loopback.
func TestEcho(t *testing.T) {
	for _, qd := range []int{1, 32} {
		n, err := runEcho(context.Background(), 4096, qd, 100*time.Millisecond)
		if err != nil {
			t.Fatalf("qd %d: %v", qd, err)
		}
		if n <= 0 {
			t.Fatalf("qd %d: %v answers per second", qd, n)
		}
	}
}

// TestTunedTGTD starts tgtd-tuned (control number 35, outside the range of
// internal/peertest and of the bench's defaults) and checks that it runs
// with the tuning and serves iscsi-perf's reads.
func TestTunedTGTD(t *testing.T) {
	peertest.Require(t, "tgtd", "tgtadm", "iscsi-perf")
	file := filepath.Join(t.TempDir(), "lu.img")
	if err := makeFile(file, 16<<20); err != nil {
		t.Fatal(err)
	}
	tg, err := startTGTD("tgtd-tuned", 35, file, true)
	if err != nil {
		t.Fatal(err)
	}
	defer tg.stop()
	env := tg.cmd.Env
	if !slices.Contains(env, peerMallocTuning) {
		t.Errorf("tgtd environment lacks %q", peerMallocTuning)
	}
	if !slices.Contains(tg.cmd.Args, "-t") {
		t.Errorf("tgtd args %q lack -t", tg.cmd.Args)
	}
	r, err := runPerf(context.Background(), tg.url, 256, 4, false, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if r.IOPS <= 0 {
		t.Fatalf("iscsi-perf read %v IOPS from tgtd-tuned", r.IOPS)
	}
}
