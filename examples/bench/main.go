// Command bench measures the reference target beside the C targets on one
// machine, the project's initiator beside libiscsi's, and both beside the
// ceiling of the loopback itself, in one run.
//
//	go run ./examples/bench                      # 3 rounds of 10 s per load, target and initiator
//	go run ./examples/bench -t 5s -rounds 1 -json
//	go run ./examples/bench -initiators iscsi-perf -loads 4k-randread-qd32
//
// It builds and starts examples/target twice (a memory disk, and a file on
// tmpfs), tgtd and istgt (files of the same size on tmpfs), all on
// 127.0.0.1, and runs two initiators against each for every load (4 KiB
// random and 128 KiB sequential reads and writes at queue depths 1 and
// 32): libiscsi's iscsi-perf and the project's own `examples/initiator
// bench`, alternating the targets and the initiators within each round
// (A B C D, B C D A, ...) so that the machine's drift spreads over all of
// them. iscsi-perf (libiscsi 1.19) only reads, so the write loads are
// driven by examples/initiator alone. For every load it also runs a Go echo
// over one loopback TCP connection with the same request and answer sizes
// and queue depth: the ceiling an iSCSI target could reach if iSCSI and
// SCSI cost nothing, each side reading all that has arrived and answering
// it in one vectored write; and, as echo-serial, the echo that answers one
// request per read and write, which the bench called the ceiling first.
//
// It prints one table of medians: IOPS, MiB/s, the CPU seconds the target
// process spent per GiB moved, the ratios of the reference target to the
// best C target (same initiator) and to the ceiling, and for
// examples/initiator its ratio to iscsi-perf against the same target.
// -json prints the same as JSON.
//
// The peers are Debian's packages libiscsi-bin (iscsi-perf), tgt (tgtd,
// tgtadm) and istgt; a target whose program is missing is left out with a
// note. tgtd needs root. tgtd-tuned and istgt-tuned are the same programs
// with the settings that were found to matter on Linux (see tgtdTuning and
// peerMallocTuning): the C targets are compared at their best as well as
// as installed. The Go benchmarks BenchmarkTarget of package session
// measure the same loads in process.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"
)

// load is one shape of I/O.
type load struct {
	Name   string `json:"name"`
	Bytes  int    `json:"bytes"` // per request
	QD     int    `json:"qd"`
	Random bool   `json:"random"`
	Write  bool   `json:"write"`
}

var loads = []load{
	{"4k-randread-qd32", 4096, 32, true, false},
	{"128k-seqread-qd32", 128 << 10, 32, false, false},
	{"4k-randread-qd1", 4096, 1, true, false},
	{"128k-seqread-qd1", 128 << 10, 1, false, false},
	{"4k-randwrite-qd32", 4096, 32, true, true},
	{"128k-seqwrite-qd32", 128 << 10, 32, false, true},
	{"4k-randwrite-qd1", 4096, 1, true, true},
	{"128k-seqwrite-qd1", 128 << 10, 1, false, true},
}

// The initiators: libiscsi's iscsi-perf, and the project's
// examples/initiator bench.
const (
	perfInitiator = "iscsi-perf"
	ourInitiator  = "ours"
)

// drives reports whether initiator can run l: iscsi-perf only reads.
func drives(initiator string, l load) bool {
	return initiator == ourInitiator || !l.Write
}

// result is the median of one target under one load.
type result struct {
	Load      string    `json:"load"`
	Target    string    `json:"target"`
	Initiator string    `json:"initiator,omitempty"` // empty for the ceiling
	IOPS      float64   `json:"iops"`
	MiBps     float64   `json:"mib_per_s"`
	CPUPerGiB float64   `json:"cpu_s_per_gib,omitempty"`
	Runs      []float64 `json:"iops_runs"`
}

func main() {
	if err := run(os.Args[1:], os.Stdout, os.Stderr); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			os.Exit(2)
		}
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

type options struct {
	dur     time.Duration
	rounds  int
	size    int64
	dir     string
	targets []string
	inits   []string
	loads   []load
	json    bool
	ctl     int
	// busyPoll is given to the reference target and to examples/initiator
	// as -busy-poll.
	busyPoll time.Duration
}

func parseFlags(args []string, stderr io.Writer) (options, error) {
	var o options
	var targets, only, inits string
	var sizeMiB int64
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.DurationVar(&o.dur, "t", 10*time.Second, "duration of each run (whole seconds, at least 1s)")
	fs.IntVar(&o.rounds, "rounds", 3, "rounds; each reports the median of its runs")
	fs.Int64Var(&sizeMiB, "size", 512, "size of every logical unit in MiB")
	fs.StringVar(&o.dir, "dir", "/dev/shm", "directory (tmpfs) for the file logical units")
	fs.StringVar(&targets, "targets", "ours-memory,ours-file,tgtd,tgtd-tuned,istgt", "targets to measure, comma-separated (istgt-tuned is also known)")
	fs.StringVar(&inits, "initiators", perfInitiator+","+ourInitiator, "initiators to drive the loads, comma-separated: "+perfInitiator+" (libiscsi, reads only) and "+ourInitiator+" (examples/initiator bench)")
	fs.StringVar(&only, "loads", "", "loads to run, comma-separated (default all: "+loadNames()+")")
	fs.BoolVar(&o.json, "json", false, "print JSON instead of a table")
	fs.IntVar(&o.ctl, "tgtd-control", 31, "tgtd control number (-C) for its instance; tgtd-tuned takes the next")
	fs.DurationVar(&o.busyPoll, "busy-poll", 0, "run the reference target and examples/initiator with -busy-poll of this duration (the C peers and iscsi-perf have no such setting)")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if fs.NArg() > 0 {
		return o, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	if o.dur < time.Second || o.dur%time.Second != 0 {
		return o, fmt.Errorf("-t %v: iscsi-perf runs whole seconds, at least 1s", o.dur)
	}
	if o.busyPoll < 0 || o.busyPoll > time.Second {
		return o, fmt.Errorf("-busy-poll %v: 0 to 1s", o.busyPoll)
	}
	if o.rounds < 1 {
		return o, fmt.Errorf("-rounds %d: at least 1", o.rounds)
	}
	if sizeMiB < 16 || sizeMiB > 1<<20 {
		return o, fmt.Errorf("-size %d: 16 MiB to 1 TiB", sizeMiB)
	}
	o.size = sizeMiB << 20
	known := []string{"ours-memory", "ours-file", "tgtd", "tgtd-tuned", "istgt", "istgt-tuned"}
	for _, t := range strings.Split(targets, ",") {
		if !slices.Contains(known, t) {
			return o, fmt.Errorf("-targets: unknown target %q (known: %s)", t, strings.Join(known, ","))
		}
		o.targets = append(o.targets, t)
	}
	for _, i := range strings.Split(inits, ",") {
		if i != perfInitiator && i != ourInitiator {
			return o, fmt.Errorf("-initiators: unknown initiator %q (known: %s,%s)", i, perfInitiator, ourInitiator)
		}
		if !slices.Contains(o.inits, i) {
			o.inits = append(o.inits, i)
		}
	}
	o.loads = loads
	if only != "" {
		o.loads = nil
		for _, n := range strings.Split(only, ",") {
			i := slices.IndexFunc(loads, func(l load) bool { return l.Name == n })
			if i < 0 {
				return o, fmt.Errorf("-loads: unknown load %q (known: %s)", n, loadNames())
			}
			o.loads = append(o.loads, loads[i])
		}
	}
	if !slices.ContainsFunc(o.loads, func(l load) bool {
		return slices.ContainsFunc(o.inits, func(i string) bool { return drives(i, l) })
	}) {
		return o, fmt.Errorf("-loads: iscsi-perf only reads: add -initiators %s for write loads", ourInitiator)
	}
	return o, nil
}

func loadNames() string {
	var s []string
	for _, l := range loads {
		s = append(s, l.Name)
	}
	return strings.Join(s, ",")
}

func run(args []string, stdout, stderr io.Writer) error {
	o, err := parseFlags(args, stderr)
	if err != nil {
		return err
	}
	if slices.Contains(o.inits, perfInitiator) {
		if _, err := exec.LookPath("iscsi-perf"); err != nil {
			return errors.New("iscsi-perf not found (Debian package libiscsi-bin); -initiators " + ourInitiator + " runs without it")
		}
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	tmp, err := os.MkdirTemp("", "go-iscsi-bench")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	bin, err := build(tmp, "target")
	if err != nil {
		return err
	}
	var initiatorBin string
	if slices.Contains(o.inits, ourInitiator) {
		if initiatorBin, err = build(tmp, "initiator"); err != nil {
			return err
		}
	}
	var running []*target
	defer func() {
		for _, t := range running {
			t.stop()
		}
	}()
	for _, name := range o.targets {
		var file string
		if name != "ours-memory" {
			file = filepath.Join(o.dir, fmt.Sprintf("go-iscsi-bench-%d-%s.img", os.Getpid(), name))
			if err := makeFile(file, o.size); err != nil {
				return err
			}
			defer os.Remove(file)
		}
		var t *target
		switch name {
		case "ours-memory", "ours-file":
			t, err = startOurs(bin, name, file, o.size, o.busyPoll)
		case "tgtd", "tgtd-tuned":
			if _, lerr := exec.LookPath("tgtd"); lerr != nil {
				fmt.Fprintln(stderr, "bench: tgtd not found (Debian package tgt): left out")
				continue
			}
			tuned := name == "tgtd-tuned"
			ctl := o.ctl
			if tuned {
				ctl++
			}
			t, err = startTGTD(name, ctl, file, tuned)
		case "istgt", "istgt-tuned":
			if _, lerr := exec.LookPath("istgt"); lerr != nil {
				fmt.Fprintln(stderr, "bench: istgt not found (Debian package istgt): left out")
				continue
			}
			t, err = startISTGT(name, file, o.size, name == "istgt-tuned")
		}
		if err != nil {
			return err
		}
		running = append(running, t)
	}

	type key struct{ load, target, initiator string }
	iops := map[key][]float64{}
	cpu := map[key][]float64{}
	const ceiling, serialEcho = "ceiling", "echo-serial"
	for round := range o.rounds {
		for li, l := range o.loads {
			// Rotate the order each round and load, so that no target and
			// no initiator always runs first or last.
			type pair struct {
				t    *target
				init string
			}
			var order []pair
			for _, t := range running {
				for _, i := range o.inits {
					if drives(i, l) {
						order = append(order, pair{t, i})
					}
				}
			}
			if len(order) == 0 {
				continue
			}
			rot := (round + li) % len(order)
			order = append(order[rot:], order[:rot]...)
			for _, p := range order {
				t := p.t
				c0, _ := cpuSeconds(t.pid())
				var r perfResult
				var err error
				if p.init == perfInitiator {
					r, err = runPerf(ctx, t.url, l.Bytes/512, l.QD, l.Random, o.dur)
				} else {
					r, err = runOurInitiator(ctx, initiatorBin, t.url, l, o.dur, o.busyPoll)
				}
				if err != nil {
					return fmt.Errorf("%s %s %s: %w", t.name, p.init, l.Name, err)
				}
				c1, _ := cpuSeconds(t.pid())
				k := key{l.Name, t.name, p.init}
				iops[k] = append(iops[k], r.IOPS)
				if gib := r.IOPS * float64(l.Bytes) * o.dur.Seconds() / (1 << 30); gib > 0 {
					cpu[k] = append(cpu[k], (c1-c0)/gib)
				}
				fmt.Fprintf(stderr, "round %d %-18s %-12s %-10s %9.0f IOPS\n", round+1, l.Name, t.name, p.init, r.IOPS)
			}
			req, answer := echoRequest, l.Bytes
			if l.Write {
				req, answer = echoRequest+l.Bytes, echoRequest
			}
			for _, echo := range []struct {
				name string
				run  func(context.Context, int, int, int, time.Duration) (float64, error)
			}{{ceiling, runEcho}, {serialEcho, runEchoSerial}} {
				e, err := echo.run(ctx, req, answer, l.QD, o.dur)
				if err != nil {
					return fmt.Errorf("%s %s: %w", echo.name, l.Name, err)
				}
				k := key{l.Name, echo.name, ""}
				iops[k] = append(iops[k], e)
				fmt.Fprintf(stderr, "round %d %-18s %-12s %-10s %9.0f answers/s\n", round+1, l.Name, echo.name, "", e)
			}
		}
	}

	var results []result
	for _, l := range o.loads {
		var keys []key
		for _, name := range namesOf(running) {
			for _, i := range o.inits {
				if drives(i, l) {
					keys = append(keys, key{l.Name, name, i})
				}
			}
		}
		keys = append(keys, key{l.Name, ceiling, ""}, key{l.Name, serialEcho, ""})
		for _, k := range keys {
			m := median(iops[k])
			results = append(results, result{Load: l.Name, Target: k.target, Initiator: k.initiator, IOPS: m,
				MiBps: m * float64(l.Bytes) / (1 << 20), CPUPerGiB: median(cpu[k]), Runs: iops[k]})
		}
	}
	if o.json {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(map[string]any{"seconds_per_run": o.dur.Seconds(), "rounds": o.rounds, "size_mib": o.size >> 20,
			"busy_poll_us": o.busyPoll.Microseconds(), "results": results})
	}
	return printTable(stdout, o, results)
}

func namesOf(ts []*target) []string {
	var s []string
	for _, t := range ts {
		s = append(s, t.name)
	}
	return s
}

// isC reports whether target is one of the C targets.
func isC(target string) bool {
	switch target {
	case "tgtd", "tgtd-tuned", "istgt", "istgt-tuned":
		return true
	}
	return false
}

func printTable(w io.Writer, o options, results []result) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "load\ttarget\tinitiator\tIOPS\tMiB/s\tCPU s/GiB\tours/best C\tours/ceiling\tours-init/iscsi-perf\t\n")
	for _, l := range o.loads {
		best := map[string]float64{} // by initiator
		var ceil float64
		perf := map[string]float64{} // iscsi-perf's IOPS by target
		for _, r := range results {
			if r.Load != l.Name {
				continue
			}
			switch {
			case isC(r.Target):
				best[r.Initiator] = max(best[r.Initiator], r.IOPS)
			case r.Target == "ceiling":
				ceil = r.IOPS
			}
			if r.Initiator == perfInitiator {
				perf[r.Target] = r.IOPS
			}
		}
		for _, r := range results {
			if r.Load != l.Name {
				continue
			}
			cpuCol, vsBest, vsCeil, vsPerf := "-", "", "", ""
			if r.CPUPerGiB > 0 {
				cpuCol = fmt.Sprintf("%.2f", r.CPUPerGiB)
			}
			if strings.HasPrefix(r.Target, "ours") {
				if b := best[r.Initiator]; b > 0 {
					vsBest = fmt.Sprintf("%.2fx", r.IOPS/b)
				}
				if ceil > 0 {
					vsCeil = fmt.Sprintf("%.2fx", r.IOPS/ceil)
				}
			}
			if p := perf[r.Target]; r.Initiator == ourInitiator && p > 0 {
				vsPerf = fmt.Sprintf("%.2fx", r.IOPS/p)
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%.0f\t%.0f\t%s\t%s\t%s\t%s\t\n", l.Name, r.Target, r.Initiator, r.IOPS, r.MiBps, cpuCol, vsBest, vsCeil, vsPerf)
		}
	}
	poll := ""
	if o.busyPoll > 0 {
		poll = fmt.Sprintf("; reference target and examples/initiator with -busy-poll %v", o.busyPoll)
	}
	fmt.Fprintf(tw, "\nmedians of %d rounds of %v per run; LUs of %d MiB%s\t\t\t\t\t\t\t\t\t\n", o.rounds, o.dur, o.size>>20, poll)
	return tw.Flush()
}

func median(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	s := slices.Clone(v)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// makeFile creates a file of size bytes filled with a pattern, so that
// every target reads allocated data rather than holes.
func makeFile(path string, size int64) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	buf := make([]byte, 1<<20)
	for i := range buf {
		buf[i] = byte(i*7 + 1)
	}
	for off := int64(0); off < size; off += int64(len(buf)) {
		if _, err := f.Write(buf[:min(int64(len(buf)), size-off)]); err != nil {
			f.Close()
			return err
		}
	}
	return f.Close()
}
