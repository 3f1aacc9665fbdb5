package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"strconv"
	"strings"
	"time"

	"github.com/go-iscsi/iscsi/login"
	"github.com/go-iscsi/iscsi/scsi"
	"github.com/go-iscsi/iscsi/session"
)

// initiatorNameFile is where the default initiator name is read.
var initiatorNameFile = session.DefaultInitiatorNameFile

// usageError is a bad command line: exit status 2.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error { return &usageError{fmt.Sprintf(format, args...)} }

// env is what every subcommand works with: the parsed global flags and
// the standard streams.
type env struct {
	initiatorName string
	mutual        *login.CHAPCredentials
	headerDigest  bool
	dataDigest    bool
	erl           uint
	busyPoll      time.Duration
	timeout       time.Duration
	maxRecv       uint
	connections   int
	policy        session.ConnectionPolicy
	stdin         io.Reader
	stdout        io.Writer
	stderr        io.Writer
	// initiatorNameFile is where the default initiator name is read.
	initiatorNameFile string
}

type subcommand struct {
	name  string
	usage string
	run   func(ctx context.Context, e *env, args []string) error
}

var subcommands = []subcommand{
	{"discover", "discover PORTAL", cmdDiscover},
	{"ls", "ls URL|PORTAL", cmdLs},
	{"inquiry", "inquiry URL", cmdInquiry},
	{"readcap", "readcap URL", cmdReadcap},
	{"read", "read URL LBA COUNT", cmdRead},
	{"write", "write URL LBA", cmdWrite},
	{"dd", "dd -if SRC -of DST [-bs BYTES] [-count BYTES] [-skip BYTES] [-seek BYTES]", cmdDD},
	{"bench", "bench URL [-rw read|write|randread|randwrite] [-bs BYTES] [-qd N] [-t DURATION] [-procs N] [-dataloss]", cmdBench},
}

// run is the whole command: it parses the global flags, then runs the
// subcommand, and returns the exit status.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	e := &env{stdin: stdin, stdout: stdout, stderr: stderr, initiatorNameFile: initiatorNameFile}
	err := e.run(ctx, args)
	switch {
	case err == nil:
		return 0
	case errors.Is(err, flag.ErrHelp):
		return 0
	}
	fmt.Fprintln(stderr, "initiator:", oneLine(err.Error()))
	var ue *usageError
	if errors.As(err, &ue) {
		return 2
	}
	return 1
}

// oneLine keeps the first line of s.
func oneLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}

func (e *env) usage() {
	fmt.Fprintln(e.stderr, "usage: initiator [-initiator-name NAME] [-target-user USER -target-secret SECRET] [-header-digest] [-data-digest] [-erl N] [-timeout D] [-busy-poll D] COMMAND ...")
	for _, c := range subcommands {
		fmt.Fprintln(e.stderr, "  initiator", c.usage)
	}
}

func (e *env) run(ctx context.Context, args []string) error {
	fset := flag.NewFlagSet("initiator", flag.ContinueOnError)
	fset.SetOutput(io.Discard)
	fset.StringVar(&e.initiatorName, "initiator-name", "", "this initiator's iSCSI name (default: from "+session.DefaultInitiatorNameFile+", else generated)")
	var targetUser, targetSecret string
	fset.StringVar(&targetUser, "target-user", "", "the CHAP name the target must answer with (mutual CHAP)")
	fset.StringVar(&targetSecret, "target-secret", "", "the CHAP secret of -target-user")
	fset.BoolVar(&e.headerDigest, "header-digest", false, "propose HeaderDigest=CRC32C,None")
	fset.BoolVar(&e.dataDigest, "data-digest", false, "propose DataDigest=CRC32C,None")
	// RFC 7143 §13.20: level 1 recovers PDUs lost to digest errors with
	// SNACKs, level 2 also a lost connection's tasks on another one.
	fset.UintVar(&e.erl, "erl", 0, "ErrorRecoveryLevel proposed, 0 to 2 (higher is lowered to 2)")
	fset.DurationVar(&e.timeout, "timeout", 30*time.Second, "bound on each login and each SCSI command")
	fset.DurationVar(&e.busyPoll, "busy-poll", 0, "spin this long on a socket with nothing to read before sleeping (lower latency at low queue depths, more CPU); 0 does not spin")
	// RFC 7143 §13.12: the largest data segment the target may send. The
	// default of the RFC, 8192, splits a 128 KiB READ into 16 Data-In
	// PDUs; libiscsi declares 262144, and so does this command.
	fset.UintVar(&e.maxRecv, "max-recv-data-segment-length", 262144, "MaxRecvDataSegmentLength declared to the target, 512 to 16777215")
	// RFC 7143 §4.2.1, §13.2: a session may run over several connections,
	// as many as the target allows in MaxConnections.
	fset.IntVar(&e.connections, "connections", 1, "connections per session, 1 to 65535 (fewer if the target's MaxConnections is smaller)")
	var policy string
	fset.StringVar(&policy, "connection-policy", "round-robin", "how commands spread over the connections: round-robin or least-loaded")
	if err := fset.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			e.usage()
			return err
		}
		return usagef("%v", err)
	}
	if (targetUser == "") != (targetSecret == "") {
		return usagef("-target-user and -target-secret go together")
	}
	if targetUser != "" {
		e.mutual = &login.CHAPCredentials{User: targetUser, Secret: targetSecret}
	}
	if e.maxRecv < 512 || e.maxRecv > 1<<24-1 {
		return usagef("-max-recv-data-segment-length %d: want 512 to 16777215", e.maxRecv)
	}
	if e.timeout <= 0 {
		return usagef("-timeout %v: want a positive duration", e.timeout)
	}
	if e.busyPoll < 0 || e.busyPoll > time.Second {
		return usagef("-busy-poll %v: want 0 to 1s", e.busyPoll)
	}
	if e.connections < 1 || e.connections > 65535 {
		return usagef("-connections %d: want 1 to 65535", e.connections)
	}
	switch policy {
	case "round-robin":
		e.policy = session.RoundRobin
	case "least-loaded":
		e.policy = session.LeastLoaded
	default:
		return usagef("-connection-policy %q: want round-robin or least-loaded", policy)
	}
	if fset.NArg() == 0 {
		return usagef("no command (want one of discover, ls, inquiry, readcap, read, write, dd, bench)")
	}
	name, rest := fset.Arg(0), fset.Args()[1:]
	for _, c := range subcommands {
		if c.name == name {
			return c.run(ctx, e, rest)
		}
	}
	return usagef("unknown command %q", name)
}

// name returns the initiator name: the flag, the initiator name file, or
// a generated one (announced on standard error).
func (e *env) name() (string, error) {
	if e.initiatorName != "" {
		return e.initiatorName, nil
	}
	n, err := session.ReadInitiatorName(e.initiatorNameFile)
	if err == nil {
		e.initiatorName = n
		return n, nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return "", err
	}
	var b [6]byte
	rand.Read(b[:])
	e.initiatorName = "iqn.2026-11.org.example.go-iscsi:initiator-" + hex.EncodeToString(b[:])
	fmt.Fprintln(e.stderr, "initiator: using generated initiator name", e.initiatorName)
	return e.initiatorName, nil
}

// options returns the session options for u.
func (e *env) options(u *session.URL) (session.Options, error) {
	name, err := e.name()
	if err != nil {
		return session.Options{}, err
	}
	st := login.DefaultSettings()
	st.MaxRecvDataSegmentLength = uint32(e.maxRecv)
	o := session.Options{
		Settings:      &st,
		InitiatorName: name,
		TargetName:    u.Target,
		HeaderDigest:  e.headerDigest,
		DataDigest:    e.dataDigest,
		LoginTimeout:  e.timeout,
		// The target answers the smaller of its level and this one.
		ErrorRecoveryLevel: uint8(min(e.erl, 2)),
		// Options.Connections proposes MaxConnections as well (RFC
		// 7143 §13.2).
		Connections:      e.connections,
		ConnectionPolicy: e.policy,
		BusyPoll:         e.busyPoll,
	}
	if u.User != "" {
		o.CHAP = &login.CHAPCredentials{User: u.User, Secret: u.Password}
		o.MutualCHAP = e.mutual
	} else if e.mutual != nil {
		return o, usagef("-target-user needs the initiator's CHAP credentials in the URL (user%%secret@host)")
	}
	return o, nil
}

// parseLUNURL parses an iSCSI URL that names a logical unit.
func parseLUNURL(s string) (*session.URL, error) {
	u, err := session.ParseURL(s)
	if err != nil {
		return nil, usagef("%v", err)
	}
	if u.Target == "" {
		return nil, usagef("%s names a portal, not a logical unit (want iscsi://host[:port]/target-name/lun)", u)
	}
	return u, nil
}

// lu is an open logical unit: its session and LUN, and an Executor that
// bounds each command by the -timeout.
type lu struct {
	s   *session.Session
	lun scsi.LUN
	x   session.Executor
	// warn receives what is worth saying but not a failure.
	warn io.Writer
}

func (l *lu) Close() error { return l.s.Logout(context.Background()) }

// timeoutExecutor bounds each command by d.
type timeoutExecutor struct {
	x session.Executor
	d time.Duration
}

func (t timeoutExecutor) Execute(ctx context.Context, cmd *session.Command) (*session.Response, error) {
	ctx, cancel := context.WithTimeout(ctx, t.d)
	defer cancel()
	return t.x.Execute(ctx, cmd)
}

// open logs in to the logical unit of u and takes its pending unit
// attentions.
func (e *env) open(ctx context.Context, u *session.URL) (*lu, error) {
	o, err := e.options(u)
	if err != nil {
		return nil, err
	}
	lun, err := u.SCSILUN()
	if err != nil {
		return nil, err
	}
	s, err := session.Dial(ctx, u.Addr(), o)
	if err != nil {
		return nil, fmt.Errorf("login to %s at %s: %w", u.Target, u.Addr(), err)
	}
	l := &lu{s: s, lun: lun, x: timeoutExecutor{s, e.timeout}, warn: e.stderr}
	if err := session.TestUnitReady(ctx, l.x, lun); err != nil {
		s.Close()
		return nil, err
	}
	return l, nil
}

// closeWith logs out of l, keeping the first error. A target that closes
// the connection instead of answering the Logout (istgt does, now and
// then) has ended the session all the same: that is a warning, not a
// failure of the command, whose work was done.
func closeWith(l *lu, err *error) {
	cerr := l.Close()
	switch {
	case cerr == nil || errors.Is(cerr, session.ErrClosed):
	case errors.Is(cerr, session.ErrLogoutUnanswered) && l.warn != nil:
		fmt.Fprintln(l.warn, "initiator: warning: logout:", cerr)
	case *err == nil:
		*err = fmt.Errorf("logout: %w", cerr)
	}
}

// parseFlags parses a subcommand's flags with fset and checks it got
// exactly n positional arguments (n < 0: any number).
func parseFlags(fset *flag.FlagSet, args []string, n int, usage string) ([]string, error) {
	fset.SetOutput(io.Discard)
	if err := fset.Parse(args); err != nil {
		return nil, usagef("%s: %v (usage: %s)", fset.Name(), err, usage)
	}
	rest := fset.Args()
	// Flags may follow the positional arguments, as in "bench URL -qd 8".
	var pos []string
	for len(rest) > 0 {
		pos = append(pos, rest[0])
		if err := fset.Parse(rest[1:]); err != nil {
			return nil, usagef("%s: %v (usage: %s)", fset.Name(), err, usage)
		}
		rest = fset.Args()
	}
	if n >= 0 && len(pos) != n {
		return nil, usagef("%s: want %d argument(s), got %d (usage: %s)", fset.Name(), n, len(pos), usage)
	}
	return pos, nil
}

// parseUint parses a decimal count or LBA for what.
func parseUint(what, s string) (uint64, error) {
	v, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		return 0, usagef("%s %q: want a decimal number", what, s)
	}
	return v, nil
}
