package peertest

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// ISTGTNodeBase is the NodeBase of every istgt started by [StartISTGT]: its
// one target is named ISTGTNodeBase + ":disk1".
const ISTGTNodeBase = "iqn.2026-11.org.example.istgt"

// ISTGTOptions configure the istgt of [StartISTGT]: one target with one
// file-backed logical unit, LUN 0.
type ISTGTOptions struct {
	// Size is the size in bytes of the sparse backing file; 0 means
	// DefaultLUNSize.
	Size int64

	// CHAPUser and CHAPSecret, when set, make the target require one-way
	// CHAP (RFC 7143 §12.1.3) with this account, written to the auth file.
	CHAPUser, CHAPSecret string
	// MutualUser and MutualSecret, when set with CHAPUser, are the name and
	// secret the target answers with, and mutual CHAP is required.
	MutualUser, MutualSecret string

	// InitialR2T and ImmediateData are "Yes" or "No" (RFC 7143 §13.10,
	// §13.11); empty means Yes, istgt's default.
	InitialR2T, ImmediateData string
	// MaxRecvDataSegmentLength, MaxBurstLength and FirstBurstLength are the
	// values the target offers (RFC 7143 §13.12, §13.13, §13.14); 0 means
	// 262144, 1048576 and 262144.
	MaxRecvDataSegmentLength, MaxBurstLength, FirstBurstLength int
}

// ISTGT is a running istgt on 127.0.0.1, started by [StartISTGT] and stopped
// by the test's cleanup.
type ISTGT struct {
	// Addr is the iSCSI portal, "127.0.0.1:port".
	Addr string
	// Target is the TargetName of the one target.
	Target string
	// Config is the istgt.conf the daemon was started with.
	Config string

	t       testing.TB
	cmd     *exec.Cmd
	log     *lockedBuffer
	exited  chan struct{}
	waitErr error // set before exited is closed
}

// freePort returns a TCP port on 127.0.0.1 that was free a moment ago.
// istgt cannot bind port 0 and report it, so the port is chosen here; a
// port taken again in between makes the start fail and be retried.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// StartISTGT starts istgt in the foreground (istgt -D) with an istgt.conf
// written under t.TempDir(): [Global] with the options' session keys,
// [UnitControl] and [PortalGroup1] on free ports of 127.0.0.1,
// [InitiatorGroup1] accepting every initiator from 127.0.0.1, and
// [LogicalUnit1], target ISTGTNodeBase+":disk1" with LUN 0 a sparse file.
// It returns once the portal accepts connections.
//
// It calls [Require] for istgt. Its cleanup, registered with t.Cleanup,
// kills the daemon by its PID; when the test failed it first logs what
// istgt printed.
//
// StartISTGT calls t.Fatal on any error, so it must be called from the
// test's goroutine.
func StartISTGT(t testing.TB, opts ISTGTOptions) *ISTGT {
	t.Helper()
	Require(t, "istgt")
	dir := t.TempDir()
	size := opts.Size
	if size == 0 {
		size = DefaultLUNSize
	}
	img := filepath.Join(dir, "disk1.img")
	if err := createSparse(img, size); err != nil {
		t.Fatalf("peertest: %v", err)
	}
	var lastErr error
	for range 3 {
		d, err := startISTGT(t, dir, img, opts)
		if err == nil {
			return d
		}
		lastErr = err
	}
	t.Fatalf("peertest: istgt: %v", lastErr)
	return nil
}

func startISTGT(t testing.TB, dir, img string, opts ISTGTOptions) (*ISTGT, error) {
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	ucPort, err := freePort()
	if err != nil {
		return nil, err
	}
	conf := istgtConfig(dir, img, port, ucPort, opts)
	confPath := filepath.Join(dir, "istgt.conf")
	if err := os.WriteFile(confPath, []byte(conf), 0o600); err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(dir, "auth.conf"), []byte(istgtAuth(opts)), 0o600); err != nil {
		return nil, err
	}
	d := &ISTGT{
		Addr:   hostPort(port),
		Target: ISTGTNodeBase + ":disk1",
		Config: conf,
		t:      t,
		log:    &lockedBuffer{},
		exited: make(chan struct{}),
	}
	d.cmd = exec.Command("istgt", "-D", "-c", confPath, "-p", filepath.Join(dir, "istgt.pid"))
	d.cmd.Stdout = d.log
	d.cmd.Stderr = d.log
	setParentDeath(d.cmd)
	if err := d.cmd.Start(); err != nil {
		return nil, err
	}
	go func() {
		d.waitErr = d.cmd.Wait()
		close(d.exited)
	}()
	if err := d.waitReady(); err != nil {
		d.kill()
		return nil, fmt.Errorf("%v\nistgt output:\n%s", err, d.Log())
	}
	t.Cleanup(d.stop)
	return d, nil
}

// istgtConfig returns the istgt.conf of a daemon whose portal is port and
// whose unit controller listens on ucPort.
func istgtConfig(dir, img string, port, ucPort int, o ISTGTOptions) string {
	yesNo := func(v string) string {
		if v == "" {
			return "Yes"
		}
		return v
	}
	orDefault := func(v, def int) int {
		if v == 0 {
			return def
		}
		return v
	}
	auth := "None"
	switch {
	case o.CHAPUser != "" && o.MutualUser != "":
		auth = "CHAP Mutual"
	case o.CHAPUser != "":
		auth = "CHAP"
	}
	var b strings.Builder
	fmt.Fprintf(&b, `[Global]
  NodeBase %q
  PidFile %s
  AuthFile %s
  MediaDirectory %s
  LogFacility "local7"
  Timeout 30
  NopInInterval 20
  DiscoveryAuthMethod Auto
  MaxSessions 16
  MaxConnections 4
  MaxR2T 32
  MaxOutstandingR2T 16
  DefaultTime2Wait 2
  DefaultTime2Retain 60
  FirstBurstLength %d
  MaxBurstLength %d
  MaxRecvDataSegmentLength %d
  InitialR2T %s
  ImmediateData %s
  DataPDUInOrder Yes
  DataSequenceInOrder Yes
  ErrorRecoveryLevel 0
[UnitControl]
  AuthMethod CHAP Mutual
  AuthGroup AuthGroup10000
  Portal UC1 127.0.0.1:%d
  Netmask 127.0.0.1
[PortalGroup1]
  Portal DA1 127.0.0.1:%d
[InitiatorGroup1]
  InitiatorName "ALL"
  Netmask 127.0.0.1
[LogicalUnit1]
  TargetName disk1
  TargetAlias "istgt disk1"
  Mapping PortalGroup1 InitiatorGroup1
  AuthMethod %s
  AuthGroup AuthGroup1
  UseDigest Auto
  UnitType Disk
  LUN0 Storage %s Auto
`, ISTGTNodeBase, filepath.Join(dir, "istgt.pid"), filepath.Join(dir, "auth.conf"), dir,
		orDefault(o.FirstBurstLength, 262144), orDefault(o.MaxBurstLength, 1048576),
		orDefault(o.MaxRecvDataSegmentLength, 262144), yesNo(o.InitialR2T), yesNo(o.ImmediateData),
		ucPort, port, auth, img)
	return b.String()
}

// istgtAuth returns the auth file: AuthGroup1 holds the target's CHAP
// account, with the mutual one on the same line; AuthGroup10000, which the
// unit controller needs, holds an account of random secrets.
func istgtAuth(o ISTGTOptions) string {
	var b strings.Builder
	b.WriteString("[AuthGroup1]\n")
	if o.CHAPUser != "" {
		fmt.Fprintf(&b, "  Auth %q %q", o.CHAPUser, o.CHAPSecret)
		if o.MutualUser != "" {
			fmt.Fprintf(&b, " %q %q", o.MutualUser, o.MutualSecret)
		}
		b.WriteByte('\n')
	}
	fmt.Fprintf(&b, "[AuthGroup10000]\n  Auth \"ctl%d\" \"ctlsecret%d\"\n", os.Getpid(), time.Now().UnixNano())
	return b.String()
}

// waitReady dials the portal until it accepts a connection, istgt exits, or
// DefaultTimeout passes.
func (d *ISTGT) waitReady() error {
	deadline := time.Now().Add(DefaultTimeout)
	pause := 5 * time.Millisecond
	for {
		c, err := net.DialTimeout("tcp", d.Addr, time.Second)
		if err == nil {
			c.Close()
			return nil
		}
		select {
		case <-d.exited:
			return fmt.Errorf("istgt exited before it was ready: %v", d.waitErr)
		case <-time.After(pause):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("not ready after %v: %v", DefaultTimeout, err)
		}
		pause = min(2*pause, 100*time.Millisecond)
	}
}

// Log returns what istgt has printed so far on stdout and stderr.
func (d *ISTGT) Log() string { return d.log.String() }

// PID returns the process id of the daemon.
func (d *ISTGT) PID() int { return d.cmd.Process.Pid }

// PortalURL returns the libiscsi URL of the portal.
func (d *ISTGT) PortalURL() URL { return URL{Host: d.Addr} }

// URL returns the libiscsi URL of LUN 0 of the target.
func (d *ISTGT) URL() URL { return URL{Host: d.Addr, Target: d.Target} }

// kill stops the daemon by its PID with SIGKILL. istgt takes seconds to
// wind down on SIGTERM, and a test daemon has nothing to save: its logical
// unit is a file under t.TempDir() that the test discards.
func (d *ISTGT) kill() {
	select {
	case <-d.exited:
		return
	default:
	}
	_ = d.cmd.Process.Kill()
	<-d.exited
}

func (d *ISTGT) stop() {
	if d.t.Failed() {
		d.t.Logf("peertest: istgt output:\n%s", d.Log())
	}
	d.kill()
}
