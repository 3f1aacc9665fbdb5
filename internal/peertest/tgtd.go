package peertest

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Control numbers handed to tgtd -C. tgtd keeps one management socket per
// control number; the range is kept small, and each number in it is reserved
// with flock(2) on a file under os.TempDir() while a daemon uses it.
const (
	firstControl = 1
	lastControl  = 30
)

// DefaultLUNSize is the size of the logical unit a [Target] gets when it
// lists none: 64 MiB.
const DefaultLUNSize = 64 << 20

// LUN is a logical unit of a tgtd target. tgtd itself always adds LUN 0, a
// storage array controller, to every target.
type LUN struct {
	// Number is the logical unit number; it must be 1 or more.
	Number int

	// Size is the size in bytes of the sparse backing file created in the
	// test's temporary directory; 0 means DefaultLUNSize. tgtd rounds it
	// down to whole 512-byte blocks.
	Size int64

	// Null selects tgtd's "null" backing store: reads return zeros, writes
	// are discarded, and the reported capacity is fixed by tgtd (1 TiB);
	// Size is then ignored.
	Null bool
}

// Target is the configuration of one tgtd iSCSI target.
type Target struct {
	// Name is the iSCSI TargetName (RFC 7143 §13.4), e.g.
	// "iqn.2026-01.org.example:disk".
	Name string

	// TID is tgtd's target id; 0 picks the lowest one not in use.
	TID int

	// LUNs are the logical units behind the controller LUN 0; nil means
	// one LUN 1 of DefaultLUNSize.
	LUNs []LUN

	// IncomingUser and IncomingPassword, when set, create a CHAP account
	// bound to the target: initiators must authenticate with it
	// (RFC 7143 §12.1.3).
	IncomingUser, IncomingPassword string

	// OutgoingUser and OutgoingPassword, when set, create the account the
	// target answers with when the initiator asks for mutual CHAP.
	OutgoingUser, OutgoingPassword string

	// Params are set with tgtadm --op update --mode target --name K --value V
	// after the target is created: the RFC 7143 §13 keys the target offers,
	// e.g. "HeaderDigest": "CRC32C,None", "MaxRecvDataSegmentLength": "8192",
	// "ImmediateData": "No", and tgtd's own settings, e.g. "nop_interval":
	// "1" with "nop_count": "5" for a NOP-In ping every second.
	Params map[string]string

	// InitiatorAddress is the initiator address the target's ACL accepts;
	// empty means "ALL" unless InitiatorNames is set.
	InitiatorAddress string

	// InitiatorNames, when set, are InitiatorNames the target's ACL accepts.
	InitiatorNames []string
}

// TGTD is a running tgtd on 127.0.0.1, started by [StartTGTD] and stopped by
// the test's cleanup.
type TGTD struct {
	// Addr is the iSCSI portal, "127.0.0.1:port".
	Addr string
	// Port is the TCP port of Addr.
	Port int
	// Control is the control number (tgtd -C, tgtadm -C) of this daemon.
	Control int
	// Targets are the targets configured so far, with TID filled in.
	Targets []Target

	t        testing.TB
	cmd      *exec.Cmd
	dir      string // private directory of the management socket
	env      []string
	log      *lockedBuffer
	exited   chan struct{}
	waitErr  error // set before exited is closed
	lock     *os.File
	accounts map[string]bool
}

var portalLine = regexp.MustCompile(`(?m)^Portal: 127\.0\.0\.1:([0-9]+),`)

// StartTGTD starts a tgtd listening on 127.0.0.1 on a port the kernel picks,
// under a control number no other user of this package holds, configures
// targets in order, and returns once the daemon accepts connections and
// every target is ready. With no targets it starts a daemon with none.
//
// It calls [Require] for tgtd and tgtadm. Its cleanup, registered with
// t.Cleanup, deletes every target (with --force, so open sessions do not
// hold it), then the system, which makes tgtd exit; if the daemon still runs
// after that it kills that one PID. When the test failed, the cleanup logs
// what tgtd printed.
//
// StartTGTD calls t.Fatal on any error, so it must be called from the
// test's goroutine.
func StartTGTD(t testing.TB, targets ...Target) *TGTD {
	t.Helper()
	Require(t, "tgtd", "tgtadm")

	n, lock, err := reserveControl()
	if err != nil {
		t.Fatalf("peertest: %v", err)
	}
	dir, err := os.MkdirTemp("", "tgtd")
	if err != nil {
		lock.Close()
		t.Fatalf("peertest: %v", err)
	}
	d := &TGTD{
		Control:  n,
		t:        t,
		dir:      dir,
		log:      &lockedBuffer{},
		exited:   make(chan struct{}),
		lock:     lock,
		accounts: map[string]bool{},
		// tgtd and tgtadm both find the management socket through
		// TGT_IPC_SOCKET; a private directory keeps daemons of
		// concurrent test binaries apart even from a system tgtd.
		env: append(cleanEnv("TGT_IPC_SOCKET="), "TGT_IPC_SOCKET="+filepath.Join(dir, "socket")),
	}
	// Portal port 0: tgtd binds whatever port the kernel gives and reports
	// it through tgtadm --mode portal. A fixed port could be lost to a race,
	// and tgtd falls back to 0.0.0.0:3260 when its only portal fails.
	d.cmd = exec.Command("tgtd", "-f", "-C", strconv.Itoa(n), "--iscsi", "portal=127.0.0.1:0")
	d.cmd.Env = d.env
	d.cmd.Stdout = d.log
	d.cmd.Stderr = d.log
	setParentDeath(d.cmd)
	if err := d.cmd.Start(); err != nil {
		lock.Close()
		os.RemoveAll(dir)
		t.Fatalf("peertest: start tgtd: %v", err)
	}
	go func() {
		d.waitErr = d.cmd.Wait()
		close(d.exited)
	}()
	t.Cleanup(d.stop)

	if err := d.waitReady(); err != nil {
		t.Fatalf("peertest: tgtd -C %d: %v\ntgtd output:\n%s", n, err, d.Log())
	}
	for _, tg := range targets {
		d.AddTarget(tg)
	}
	return d
}

// reserveControl returns the first control number whose lock file it could
// flock, with the open lock file; closing the file releases the number.
func reserveControl() (int, *os.File, error) {
	dir := filepath.Join(os.TempDir(), "go-iscsi-peertest")
	if err := os.MkdirAll(dir, 0o777); err != nil {
		return 0, nil, err
	}
	for n := firstControl; n <= lastControl; n++ {
		f, err := os.OpenFile(filepath.Join(dir, fmt.Sprintf("tgtd-control-%d.lock", n)), os.O_RDWR|os.O_CREATE, 0o666)
		if err != nil {
			return 0, nil, err
		}
		ok, err := tryLock(f)
		if ok {
			return n, f, nil
		}
		f.Close()
		if err != nil {
			return 0, nil, fmt.Errorf("lock control number %d: %w", n, err)
		}
	}
	return 0, nil, fmt.Errorf("all tgtd control numbers %d..%d are in use", firstControl, lastControl)
}

// waitReady polls tgtadm until the daemon answers on its management socket
// and reports its portal, or until tgtd exits or DefaultTimeout passes.
func (d *TGTD) waitReady() error {
	deadline := time.Now().Add(DefaultTimeout)
	pause := 5 * time.Millisecond
	for {
		out, err := d.Admin("--lld", "iscsi", "--mode", "portal", "--op", "show")
		if err == nil {
			m := portalLine.FindStringSubmatch(out)
			if m == nil {
				return fmt.Errorf("no portal on 127.0.0.1 in:\n%s", out)
			}
			d.Port, _ = strconv.Atoi(m[1])
			d.Addr = hostPort(d.Port)
			return nil
		}
		select {
		case <-d.exited:
			return fmt.Errorf("tgtd exited before it was ready: %v", d.waitErr)
		case <-time.After(pause):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("not ready after %v: %v", DefaultTimeout, err)
		}
		pause = min(2*pause, 100*time.Millisecond)
	}
}

// Admin runs tgtadm against this daemon with args (the control number and
// management socket are added) and returns its combined output. A failure
// is a *[ToolError].
func (d *TGTD) Admin(args ...string) (string, error) {
	return run(context.Background(), d.env, "tgtadm", append([]string{"-C", strconv.Itoa(d.Control)}, args...)...)
}

// AddTarget creates tg on the running daemon: the target, its logical
// units, its ACL, its CHAP accounts and its parameters, in that order. It
// returns tg with TID filled in and appends it to d.Targets. It calls t.Fatal
// on any error, so it must be called from the test's goroutine.
func (d *TGTD) AddTarget(tg Target) Target {
	d.t.Helper()
	if err := d.addTarget(&tg); err != nil {
		d.t.Fatalf("peertest: target %q: %v", tg.Name, err)
	}
	return tg
}

func (d *TGTD) addTarget(tg *Target) error {
	if tg.Name == "" {
		return errors.New("Target.Name is empty")
	}
	if tg.TID == 0 {
		tg.TID = 1
		for slices.ContainsFunc(d.Targets, func(o Target) bool { return o.TID == tg.TID }) {
			tg.TID++
		}
	}
	tid := strconv.Itoa(tg.TID)
	if _, err := d.Admin("--lld", "iscsi", "--mode", "target", "--op", "new", "--tid", tid, "--targetname", tg.Name); err != nil {
		return err
	}
	// Registered before the rest so that a target configured halfway is
	// still deleted by the cleanup.
	d.Targets = append(d.Targets, *tg)

	luns := tg.LUNs
	if luns == nil {
		luns = []LUN{{Number: 1}}
	}
	for _, l := range luns {
		if l.Number < 1 {
			return fmt.Errorf("LUN number %d: tgtd reserves LUN 0 for its controller", l.Number)
		}
		args := []string{"--lld", "iscsi", "--mode", "logicalunit", "--op", "new", "--tid", tid, "--lun", strconv.Itoa(l.Number)}
		if l.Null {
			args = append(args, "--bstype", "null", "--backing-store", "None")
		} else {
			path := filepath.Join(d.t.TempDir(), fmt.Sprintf("tid%d-lun%d.img", tg.TID, l.Number))
			size := l.Size
			if size == 0 {
				size = DefaultLUNSize
			}
			if err := createSparse(path, size); err != nil {
				return err
			}
			args = append(args, "--backing-store", path)
		}
		if _, err := d.Admin(args...); err != nil {
			return err
		}
	}

	for _, name := range tg.InitiatorNames {
		if _, err := d.Admin("--lld", "iscsi", "--mode", "target", "--op", "bind", "--tid", tid, "--initiator-name", name); err != nil {
			return err
		}
	}
	if tg.InitiatorAddress != "" || len(tg.InitiatorNames) == 0 {
		addr := tg.InitiatorAddress
		if addr == "" {
			addr = "ALL"
		}
		if _, err := d.Admin("--lld", "iscsi", "--mode", "target", "--op", "bind", "--tid", tid, "--initiator-address", addr); err != nil {
			return err
		}
	}

	if tg.IncomingUser != "" {
		if err := d.bindAccount(tid, tg.IncomingUser, tg.IncomingPassword, false); err != nil {
			return err
		}
	}
	if tg.OutgoingUser != "" {
		if err := d.bindAccount(tid, tg.OutgoingUser, tg.OutgoingPassword, true); err != nil {
			return err
		}
	}

	for _, k := range slices.Sorted(maps.Keys(tg.Params)) {
		if err := d.Update(tg.TID, k, tg.Params[k]); err != nil {
			return err
		}
	}
	return nil
}

// bindAccount creates the CHAP account user (accounts belong to the daemon,
// so one shared by several targets is created once) and binds it to tid.
func (d *TGTD) bindAccount(tid, user, password string, outgoing bool) error {
	if !d.accounts[user] {
		if _, err := d.Admin("--lld", "iscsi", "--mode", "account", "--op", "new", "--user", user, "--password", password); err != nil {
			return err
		}
		d.accounts[user] = true
	}
	args := []string{"--lld", "iscsi", "--mode", "account", "--op", "bind", "--tid", tid, "--user", user}
	if outgoing {
		args = append(args, "--outgoing")
	}
	_, err := d.Admin(args...)
	return err
}

func createSparse(path string, size int64) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := f.Truncate(size); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// Update sets the target parameter key (an RFC 7143 §13 key tgtd lets an
// administrator set, such as HeaderDigest, DataDigest, MaxRecvDataSegmentLength,
// MaxBurstLength, FirstBurstLength, InitialR2T, ImmediateData,
// MaxOutstandingR2T) of target tid to value. It applies to logins that start
// afterwards.
func (d *TGTD) Update(tid int, key, value string) error {
	_, err := d.Admin("--lld", "iscsi", "--mode", "target", "--op", "update", "--tid", strconv.Itoa(tid), "--name", key, "--value", value)
	return err
}

// Show returns tgtadm's description of every target (LUNs, I_T nexuses,
// accounts, ACLs), or the error text if tgtadm failed; it is meant for test
// logs.
func (d *TGTD) Show() string {
	out, err := d.Admin("--lld", "iscsi", "--mode", "target", "--op", "show")
	if err != nil {
		return err.Error()
	}
	return out
}

// Log returns what tgtd has printed so far on stdout and stderr.
func (d *TGTD) Log() string { return d.log.String() }

// PID returns the process id of the daemon.
func (d *TGTD) PID() int { return d.cmd.Process.Pid }

// PortalURL returns the libiscsi URL of the portal, as iscsi-ls takes for
// SendTargets discovery.
func (d *TGTD) PortalURL() URL { return URL{Host: d.Addr} }

// URL returns the libiscsi URL of logical unit lun of target.
func (d *TGTD) URL(target string, lun int) URL {
	return URL{Host: d.Addr, Target: target, LUN: lun}
}

// stop tears the daemon down in the order tgtd requires: targets first
// (deleting the system is refused while one exists), then the system, which
// makes tgtd exit; only if it lingers is its own PID killed.
func (d *TGTD) stop() {
	defer os.RemoveAll(d.dir)
	defer d.lock.Close()
	if d.t.Failed() {
		d.t.Logf("peertest: tgtd -C %d output:\n%s", d.Control, d.Log())
	}
	select {
	case <-d.exited:
		return
	default:
	}
	var problems []string
	for _, tg := range slices.Backward(d.Targets) {
		if _, err := d.Admin("--lld", "iscsi", "--mode", "target", "--op", "delete", "--force", "--tid", strconv.Itoa(tg.TID)); err != nil {
			problems = append(problems, err.Error())
		}
	}
	if _, err := d.Admin("--op", "delete", "--mode", "system"); err != nil {
		problems = append(problems, err.Error())
	}
	select {
	case <-d.exited:
	case <-time.After(10 * time.Second):
		problems = append(problems, "tgtd did not exit after system delete; killed")
		_ = d.cmd.Process.Kill()
		<-d.exited
	}
	if len(problems) > 0 {
		d.t.Logf("peertest: stopping tgtd -C %d: %s", d.Control, strings.Join(problems, "\n"))
	}
}
