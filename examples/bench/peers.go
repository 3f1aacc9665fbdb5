package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// target is one iSCSI target process under test.
type target struct {
	name string
	url  string // iscsi://127.0.0.1:PORT/IQN/LUN
	cmd  *exec.Cmd
	log  *bytes.Buffer
	stop func()
}

// pid is the process whose CPU time is charged to the target.
func (t *target) pid() int { return t.cmd.Process.Pid }

// freePort returns a loopback TCP port that was free a moment ago.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// waitPort waits until something accepts connections on 127.0.0.1:port, or
// the process exits, or ten seconds pass.
func waitPort(port int, exited <-chan struct{}) error {
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)), time.Second)
		if err == nil {
			c.Close()
			return nil
		}
		select {
		case <-exited:
			return errors.New("the process exited before it listened")
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("nothing listens on port %d: %v", port, err)
		}
	}
}

// start runs cmd with its output kept for error messages, and a channel
// closed when it exits.
func start(cmd *exec.Cmd) (*bytes.Buffer, <-chan struct{}, error) {
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return nil, nil, err
	}
	exited := make(chan struct{})
	go func() {
		cmd.Wait()
		close(exited)
	}()
	return &out, exited, nil
}

// stopProcess ends a process this program started: SIGTERM, then SIGKILL
// of that PID if it lingers.
func stopProcess(cmd *exec.Cmd, exited <-chan struct{}) {
	cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-exited:
	case <-time.After(5 * time.Second):
		cmd.Process.Kill()
		<-exited
	}
}

// buildTarget builds examples/target into dir and returns the binary.
func build(dir, example string) (string, error) {
	bin := filepath.Join(dir, example)
	cmd := exec.Command("go", "build", "-o", bin, "github.com/go-iscsi/iscsi/examples/"+example)
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build examples/%s: %v\n%s", example, err, out)
	}
	return bin, nil
}

const benchIQN = "iqn.2026-12.org.example.go-iscsi:bench"

// startOurs runs the reference target: with file empty, a memory disk of
// size bytes; else that file.
func startOurs(bin, name, file string, size int64, busyPoll time.Duration) (*target, error) {
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	args := []string{"-listen", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)), "-target", benchIQN,
		"-size", strconv.FormatInt(size>>20, 10) + "MiB"}
	if file != "" {
		args = append(args, "-file", file)
	}
	if busyPoll > 0 {
		args = append(args, "-busy-poll", busyPoll.String())
	}
	cmd := exec.Command(bin, args...)
	out, exited, err := start(cmd)
	if err != nil {
		return nil, err
	}
	if err := waitPort(port, exited); err != nil {
		stopProcess(cmd, exited)
		return nil, fmt.Errorf("%s: %v\n%s", name, err, out)
	}
	return &target{name: name, url: fmt.Sprintf("iscsi://127.0.0.1:%d/%s/0", port, benchIQN), cmd: cmd, log: out,
		stop: func() { stopProcess(cmd, exited) }}, nil
}

// peerMallocTuning keeps glibc from serving each command buffer of 128 KiB
// or more with its own mmap and munmap (its default threshold is 128 KiB):
// strace of tgtd under 128 KiB reads shows one mmap, one munmap and a
// pread into fresh pages, each page faulted and zeroed, per command.
const peerMallocTuning = "GLIBC_TUNABLES=glibc.malloc.mmap_threshold=33554432"

// tgtdTuning is what the tgtd-tuned variant changes from tgtd's defaults:
// peerMallocTuning, as many I/O threads as the machine has cores (its
// default is 16 per logical unit), and the larger segment and burst
// lengths that libiscsi and the Linux initiator would take (RFC 7143
// §13.12-§13.14).
var tgtdTuning = struct {
	threads int
	params  [][2]string
}{
	threads: runtime.NumCPU(),
	params: [][2]string{
		{"MaxRecvDataSegmentLength", "262144"},
		{"MaxXmitDataSegmentLength", "262144"},
		{"FirstBurstLength", "262144"},
		{"MaxBurstLength", "1048576"},
	},
}

// startTGTD runs tgtd under control number ctl with file as LUN 1, with
// its defaults or, tuned, with tgtdTuning. tgtd ignores SIGTERM: its
// target is deleted, then its system, and only then is its PID killed if
// it still runs.
func startTGTD(name string, ctl int, file string, tuned bool) (*target, error) {
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "bench-tgtd")
	if err != nil {
		return nil, err
	}
	env := append(os.Environ(), "TGT_IPC_SOCKET="+filepath.Join(dir, "socket"))
	c := strconv.Itoa(ctl)
	args := []string{"-f", "-C", c, "--iscsi", fmt.Sprintf("portal=127.0.0.1:%d", port)}
	if tuned {
		args = append(args, "-t", strconv.Itoa(tgtdTuning.threads))
	}
	cmd := exec.Command("tgtd", args...)
	cmd.Env = env
	if tuned {
		cmd.Env = append(env, peerMallocTuning)
	}
	out, exited, err := start(cmd)
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	admin := func(args ...string) error {
		a := exec.Command("tgtadm", append([]string{"-C", c}, args...)...)
		a.Env = env
		if o, err := a.CombinedOutput(); err != nil {
			return fmt.Errorf("tgtadm %s: %v: %s", strings.Join(args, " "), err, o)
		}
		return nil
	}
	stop := func() {
		admin("--lld", "iscsi", "--op", "delete", "--force", "--mode", "target", "--tid", "1")
		admin("--op", "delete", "--mode", "system")
		select {
		case <-exited:
		case <-time.After(5 * time.Second):
			cmd.Process.Kill()
			<-exited
		}
		os.RemoveAll(dir)
	}
	if err := waitPort(port, exited); err != nil {
		stop()
		return nil, fmt.Errorf("tgtd: %v\n%s", err, out)
	}
	lu := []string{"--lld", "iscsi", "--op", "new", "--mode", "logicalunit", "--tid", "1", "--lun", "1", "-b", file}
	steps := [][]string{
		{"--lld", "iscsi", "--op", "new", "--mode", "target", "--tid", "1", "-T", benchIQN},
		lu,
		{"--lld", "iscsi", "--op", "bind", "--mode", "target", "--tid", "1", "-I", "ALL"},
	}
	if tuned {
		for _, p := range tgtdTuning.params {
			steps = append(steps, []string{"--lld", "iscsi", "--op", "update", "--mode", "target", "--tid", "1", "-n", p[0], "-v", p[1]})
		}
	}
	for _, args := range steps {
		if err := admin(args...); err != nil {
			stop()
			return nil, err
		}
	}
	return &target{name: name, url: fmt.Sprintf("iscsi://127.0.0.1:%d/%s/1", port, benchIQN), cmd: cmd, log: out, stop: stop}, nil
}

// startISTGT runs istgt in the foreground with a configuration written for
// file as LUN 0 of one target; tuned, with peerMallocTuning.
func startISTGT(name, file string, size int64, tuned bool) (*target, error) {
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	uport, err := freePort()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "bench-istgt")
	if err != nil {
		return nil, err
	}
	conf := fmt.Sprintf(`[Global]
  NodeBase "iqn.2026-12.org.example.go-iscsi"
  PidFile %[1]s/istgt.pid
  AuthFile %[1]s/auth.conf
  MediaDirectory %[1]s
  Timeout 30
  NopInInterval 20
  DiscoveryAuthMethod None
  MaxSessions 16
  MaxConnections 1
  MaxR2T 32
  MaxOutstandingR2T 16
  DefaultTime2Wait 2
  DefaultTime2Retain 60
  FirstBurstLength 262144
  MaxBurstLength 1048576
  MaxRecvDataSegmentLength 262144
  InitialR2T Yes
  ImmediateData Yes
  DataPDUInOrder Yes
  DataSequenceInOrder Yes
  ErrorRecoveryLevel 0
[UnitControl]
  AuthMethod None
  Portal UC1 127.0.0.1:%[2]d
  Netmask 127.0.0.1
[PortalGroup1]
  Portal DA1 127.0.0.1:%[3]d
[InitiatorGroup1]
  InitiatorName "ALL"
  Netmask 127.0.0.1
[LogicalUnit1]
  TargetName bench
  Mapping PortalGroup1 InitiatorGroup1
  AuthMethod None
  UseDigest Auto
  UnitType Disk
  QueueDepth 64
  LUN0 Storage %[4]s %[5]dMB
`, dir, uport, port, file, size>>20)
	if err := os.WriteFile(filepath.Join(dir, "istgt.conf"), []byte(conf), 0o644); err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(dir, "auth.conf"), nil, 0o600); err != nil {
		return nil, err
	}
	cmd := exec.Command("istgt", "-D", "-q", "-c", filepath.Join(dir, "istgt.conf"), "-p", filepath.Join(dir, "istgt.pid"))
	if tuned {
		cmd.Env = append(os.Environ(), peerMallocTuning)
	}
	out, exited, err := start(cmd)
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	stop := func() {
		stopProcess(cmd, exited)
		os.RemoveAll(dir)
	}
	if err := waitPort(port, exited); err != nil {
		stop()
		return nil, fmt.Errorf("istgt: %v\n%s", err, out)
	}
	return &target{name: name, url: fmt.Sprintf("iscsi://127.0.0.1:%d/iqn.2026-12.org.example.go-iscsi:bench/0", port), cmd: cmd, log: out, stop: stop}, nil
}

// cpuSeconds is the user and system CPU time of process pid so far, from
// /proc/PID/stat (fields 14 and 15, in clock ticks of 100 Hz on Linux).
func cpuSeconds(pid int) (float64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	// The command name, field 2, is in parentheses and may hold spaces.
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0, errors.New("unreadable /proc stat")
	}
	f := strings.Fields(s[i+1:])
	if len(f) < 13 {
		return 0, errors.New("short /proc stat")
	}
	ut, err1 := strconv.ParseFloat(f[11], 64)
	st, err2 := strconv.ParseFloat(f[12], 64)
	if err1 != nil || err2 != nil {
		return 0, errors.New("unreadable CPU times in /proc stat")
	}
	return (ut + st) / 100, nil
}

// perfResult is what one iscsi-perf run reported.
type perfResult struct {
	IOPS float64
	MBps float64
}

var perfAverage = regexp.MustCompile(`iops average (\d+) \((\d+) MB/s\)`)

// runPerf runs libiscsi's iscsi-perf against url for d with blocks blocks
// per request and qd requests in flight.
func runPerf(ctx context.Context, url string, blocks, qd int, random bool, d time.Duration) (perfResult, error) {
	args := []string{"-m", strconv.Itoa(qd), "-b", strconv.Itoa(blocks), "-t", strconv.Itoa(int(d.Seconds()))}
	if random {
		args = append(args, "-r")
	}
	args = append(args, url)
	ctx, cancel := context.WithTimeout(ctx, d+30*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, "iscsi-perf", args...).CombinedOutput()
	m := perfAverage.FindAllSubmatch(out, -1)
	if len(m) == 0 {
		return perfResult{}, fmt.Errorf("iscsi-perf %s: %v: no average in its output:\n%s", strings.Join(args, " "), err, tail(out))
	}
	last := m[len(m)-1]
	iops, _ := strconv.ParseFloat(string(last[1]), 64)
	mb, _ := strconv.ParseFloat(string(last[2]), 64)
	return perfResult{IOPS: iops, MBps: mb}, nil
}

// runOurInitiator runs `examples/initiator bench` (built as bin) against
// url for d with load l; its output has iscsi-perf's averages line.
func runOurInitiator(ctx context.Context, bin, url string, l load, d, busyPoll time.Duration) (perfResult, error) {
	rw := map[[2]bool]string{{false, false}: "read", {true, false}: "randread", {false, true}: "write", {true, true}: "randwrite"}[[2]bool{l.Random, l.Write}]
	var args []string
	if busyPoll > 0 {
		args = append(args, "-busy-poll", busyPoll.String())
	}
	args = append(args, "bench", url, "-rw", rw, "-bs", strconv.Itoa(l.Bytes), "-qd", strconv.Itoa(l.QD), "-t", d.String())
	if l.Write {
		args = append(args, "-dataloss")
	}
	ctx, cancel := context.WithTimeout(ctx, d+30*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, bin, args...).CombinedOutput()
	m := perfAverage.FindAllSubmatch(out, -1)
	if err != nil || len(m) == 0 {
		return perfResult{}, fmt.Errorf("initiator %s: %v: no average in its output:\n%s", strings.Join(args, " "), err, tail(out))
	}
	last := m[len(m)-1]
	iops, _ := strconv.ParseFloat(string(last[1]), 64)
	mb, _ := strconv.ParseFloat(string(last[2]), 64)
	return perfResult{IOPS: iops, MBps: mb}, nil
}

func tail(b []byte) string {
	if len(b) > 2000 {
		b = b[len(b)-2000:]
	}
	return string(b)
}
