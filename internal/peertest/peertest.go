package peertest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"maps"
	"net"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// DefaultTimeout bounds every peer command (tgtadm, a libiscsi tool, the
// startup of tgtd or of a capture) whose context carries no deadline of its own.
const DefaultTimeout = 60 * time.Second

// debianPackage names the Debian package that provides each peer binary,
// for the message of a skipped test.
var debianPackage = map[string]string{
	"tgtd":                 "tgt",
	"tgtadm":               "tgt",
	"iscsi-ls":             "libiscsi-bin",
	"iscsi-inq":            "libiscsi-bin",
	"iscsi-readcapacity16": "libiscsi-bin",
	"iscsi-perf":           "libiscsi-bin",
	"iscsi-swp":            "libiscsi-bin",
	"iscsi-test-cu":        "libiscsi-bin",
	"tshark":               "tshark",
	"dumpcap":              "tshark",
	"istgt":                "istgt",
}

// InCI reports whether the environment says it is CI (CI=true), where a
// missing peer fails a test instead of skipping it.
func InCI() bool {
	v, _ := strconv.ParseBool(os.Getenv("CI"))
	return v
}

// Require skips the test with a message naming the missing binaries and the
// Debian packages that provide them when any of binaries is not found in
// PATH. With CI=true in the environment it fails the test instead: CI
// installs the peers, so their absence there is an error.
//
// tgtd needs root; Require also treats "tgtd" as missing when the test does
// not run as root.
func Require(t testing.TB, binaries ...string) {
	t.Helper()
	var missing []string
	pkgs := map[string]bool{}
	for _, b := range binaries {
		if _, err := exec.LookPath(b); err != nil {
			missing = append(missing, b)
			if p, ok := debianPackage[b]; ok {
				pkgs[p] = true
			}
		}
	}
	needRoot := false
	for _, b := range binaries {
		if b == "tgtd" && os.Geteuid() != 0 {
			needRoot = true
		}
	}
	if len(missing) == 0 && !needRoot {
		return
	}
	var msg string
	if len(missing) > 0 {
		msg = fmt.Sprintf("peer binaries not found in PATH: %s (apt-get install -y %s)",
			strings.Join(missing, ", "), strings.Join(slices.Sorted(maps.Keys(pkgs)), " "))
	} else {
		msg = "tgtd needs root and this test does not run as root"
	}
	if InCI() {
		t.Fatalf("CI=true: %s", msg)
		return
	}
	t.Skip(msg)
}

// ToolError is the error of a peer command that ran and failed: it carries
// the command line, the exit status and everything the command printed.
type ToolError struct {
	Command  []string // the argv that was run
	ExitCode int      // the exit status, or -1 if the command did not exit normally
	Output   string   // combined stdout and stderr
	Err      error    // the underlying *exec.ExitError or context error
}

func (e *ToolError) Error() string {
	return fmt.Sprintf("%s: %v\n%s", strings.Join(e.Command, " "), e.Err, e.Output)
}

func (e *ToolError) Unwrap() error { return e.Err }

// LibiscsiTool runs one of the libiscsi command-line tools (iscsi-ls,
// iscsi-inq, iscsi-readcapacity16, iscsi-perf, iscsi-test-cu, iscsi-swp, ...)
// with args and returns what it printed on stdout and stderr together. It
// calls [Require] for the tool. The command is bounded by ctx and, when ctx
// has no deadline, by [DefaultTimeout]. Variables LIBISCSI_* of the test's
// own environment are not passed on, so the result does not depend on the
// shell the tests run from; use [LibiscsiToolEnv] to set them.
//
// A tool that exits non-zero yields a *[ToolError].
func LibiscsiTool(t testing.TB, ctx context.Context, tool string, args ...string) (string, error) {
	t.Helper()
	return LibiscsiToolEnv(t, ctx, nil, tool, args...)
}

// LibiscsiToolEnv is [LibiscsiTool] with extra environment variables in
// "KEY=value" form, for example LIBISCSI_CHAP_USERNAME and
// LIBISCSI_CHAP_PASSWORD, or LIBISCSI_DEBUG.
func LibiscsiToolEnv(t testing.TB, ctx context.Context, env []string, tool string, args ...string) (string, error) {
	t.Helper()
	Require(t, tool)
	return run(ctx, append(cleanEnv("LIBISCSI_"), env...), tool, args...)
}

// cleanEnv returns the process environment without the variables whose name
// starts with prefix.
func cleanEnv(prefix string) []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, prefix) {
			env = append(env, kv)
		}
	}
	return env
}

// run runs name with args and env, bounded by ctx and DefaultTimeout.
func run(ctx context.Context, env []string, name string, args ...string) (string, error) {
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, DefaultTimeout)
		defer cancel()
	}
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Env = env
	cmd.WaitDelay = 5 * time.Second
	var out bytes.Buffer
	cmd.Stdout = &out
	cmd.Stderr = &out
	err := cmd.Run()
	if err != nil {
		code := -1
		var ee *exec.ExitError
		if errors.As(err, &ee) && ee.Exited() {
			code = ee.ExitCode()
		}
		if ctx.Err() != nil {
			err = fmt.Errorf("%w (%v)", ctx.Err(), err)
		}
		return out.String(), &ToolError{
			Command:  append([]string{name}, args...),
			ExitCode: code,
			Output:   out.String(),
			Err:      err,
		}
	}
	return out.String(), nil
}

// URL is an iSCSI URL in the syntax libiscsi's tools take:
//
//	iscsi://[user[%password]@]host[:port][/target-iqn/lun][?arg=value&...]
//
// With Target empty it is a portal URL (discovery, as iscsi-ls takes).
type URL struct {
	Host     string // "127.0.0.1:port"
	User     string // CHAP name the initiator answers with (RFC 7143 §12.1.3 CHAP_N)
	Password string // CHAP secret of User
	Target   string // TargetName; empty for a portal URL
	LUN      int    // logical unit number, used when Target is set

	// TargetUser and TargetPassword are the name and secret the target must
	// answer with for mutual CHAP (libiscsi URL arguments target_user and
	// target_password).
	TargetUser, TargetPassword string

	// HeaderDigest is what the initiator proposes for HeaderDigest
	// (RFC 7143 §13.1): "crc32c" offers CRC32C only, "none" None only, empty
	// leaves libiscsi's default offer "None,CRC32C".
	HeaderDigest string
}

// String formats u in libiscsi's URL syntax.
func (u URL) String() string {
	var b strings.Builder
	b.WriteString("iscsi://")
	if u.User != "" {
		b.WriteString(u.User)
		if u.Password != "" {
			b.WriteByte('%')
			b.WriteString(u.Password)
		}
		b.WriteByte('@')
	}
	b.WriteString(u.Host)
	if u.Target != "" {
		fmt.Fprintf(&b, "/%s/%d", u.Target, u.LUN)
	}
	sep := byte('?')
	arg := func(k, v string) {
		if v == "" {
			return
		}
		b.WriteByte(sep)
		sep = '&'
		b.WriteString(k)
		b.WriteByte('=')
		b.WriteString(v)
	}
	arg("header_digest", u.HeaderDigest)
	arg("target_user", u.TargetUser)
	arg("target_password", u.TargetPassword)
	return b.String()
}

// lockedBuffer is a bytes.Buffer safe for one writer (a child process's
// output copier) and concurrent readers.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// hostPort joins 127.0.0.1 and port.
func hostPort(port int) string {
	return net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
}
