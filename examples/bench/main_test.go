package main

import (
	"context"
	"errors"
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
		{[]string{"-initiators", "ours", "-loads", "4k-randwrite-qd32,128k-seqread-qd1"}, ""},
		{[]string{"-initiators", "iscsi-perf", "-loads", "4k-randwrite-qd32"}, "only reads"},
		{[]string{"-initiators", "iscsi-perf,open-iscsi"}, `unknown initiator "open-iscsi"`},
		{[]string{"-busy-poll", "50us"}, ""},
		{[]string{"-busy-poll", "-1ms"}, "0 to 1s"},
		{[]string{"-busy-poll", "2s"}, "0 to 1s"},
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

// TestEcho runs the ceiling's echo briefly in the shapes of a read and of
// a write: every answer it counts came back whole over the loopback.
func TestEcho(t *testing.T) {
	for name, run := range map[string]func(context.Context, int, int, int, time.Duration) (float64, error){
		"batched": runEcho, "serial": runEchoSerial,
	} {
		for _, shape := range [][2]int{{echoRequest, 4096}, {echoRequest + 4096, echoRequest}, {echoRequest, 128 << 10}} {
			for _, qd := range []int{1, 32} {
				n, err := run(context.Background(), shape[0], shape[1], qd, 100*time.Millisecond)
				if err != nil {
					t.Fatalf("%s %v qd %d: %v", name, shape, qd, err)
				}
				if n <= 0 {
					t.Fatalf("%s %v qd %d: %v answers per second", name, shape, qd, n)
				}
			}
		}
	}
	// A cancelled context ends the batched echo with its error.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := runEcho(ctx, echoRequest, 4096, 32, time.Second); !errors.Is(err, context.Canceled) {
		t.Errorf("runEcho with a cancelled context = %v, want context.Canceled", err)
	}
}

// TestOurInitiator builds examples/target and examples/initiator, serves a
// memory disk and drives a read and a write load through `initiator
// bench` for a second each, as the bench does.
func TestOurInitiator(t *testing.T) {
	if testing.Short() {
		t.Skip("builds two programs")
	}
	dir := t.TempDir()
	tbin, err := build(dir, "target")
	if err != nil {
		t.Fatal(err)
	}
	ibin, err := build(dir, "initiator")
	if err != nil {
		t.Fatal(err)
	}
	tg, err := startOurs(tbin, "ours-memory", "", 16<<20, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer tg.stop()
	for _, l := range []load{loads[0], loads[5]} {
		r, err := runOurInitiator(context.Background(), ibin, tg.url, l, time.Second, 0)
		if err != nil {
			t.Fatalf("%s: %v", l.Name, err)
		}
		if r.IOPS <= 0 {
			t.Fatalf("%s: %v IOPS", l.Name, r.IOPS)
		}
	}
}

// TestPrintTable checks the ratio columns: the reference target to the
// best C target driven by the same initiator and to the ceiling, and
// examples/initiator to iscsi-perf against the same target.
func TestPrintTable(t *testing.T) {
	o := options{rounds: 1, dur: time.Second, size: 16 << 20, loads: []load{loads[0]}}
	res := []result{
		{Load: loads[0].Name, Target: "ours-memory", Initiator: perfInitiator, IOPS: 300},
		{Load: loads[0].Name, Target: "ours-memory", Initiator: ourInitiator, IOPS: 600},
		{Load: loads[0].Name, Target: "tgtd", Initiator: perfInitiator, IOPS: 100},
		{Load: loads[0].Name, Target: "tgtd", Initiator: ourInitiator, IOPS: 150},
		{Load: loads[0].Name, Target: "ceiling", IOPS: 1000},
	}
	var b strings.Builder
	if err := printTable(&b, o, res); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(b.String(), "\n")
	for _, want := range [][]string{
		{"ours-memory", "iscsi-perf", "300", "3.00x", "0.30x"},
		{"ours-memory", "ours", "600", "4.00x", "0.60x", "2.00x"},
		{"tgtd", "ours", "150", "1.50x"},
	} {
		found := slices.ContainsFunc(lines, func(l string) bool {
			f := strings.Fields(l)
			// load, target, initiator, IOPS, MiB/s, CPU, then the ratios.
			return len(f) == 6+len(want)-3 && slices.Equal(f[1:4], want[:3]) && slices.Equal(f[6:], want[3:])
		})
		if !found {
			t.Errorf("no row %q in\n%s", want, b.String())
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
