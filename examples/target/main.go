// Command target is the reference iSCSI target of this module, composed
// only from its public packages: session serves the connections, login
// negotiates and authenticates, scsi/disk executes SCSI commands on a
// memory or file backend.
//
// With no flags it serves one target with a 1 GiB in-memory disk as LUN 0
// on 127.0.0.1:3260, no authentication:
//
//	go run ./examples/target
//
// and an initiator reaches it as usual, for example libiscsi's
//
//	iscsi-inq iscsi://127.0.0.1:3260/iqn.2026-11.org.example.go-iscsi:disk0/0
//
// Flags choose the listen address, the target name, the backing store (a
// regular file or block device, as ietd.conf's "Lun 0 Path=...,Type=fileio"),
// the SCSI identity that udev rules key on (vendor, product, serial), and
// CHAP: -chap-user/-chap-secret require one-way CHAP of the initiator
// (ietd.conf's IncomingUser), -mutual-user/-mutual-secret add the target's
// own credentials (OutgoingUser). -listen may be repeated; -removable,
// -max-transfer, -log-level and -log-format shape the logical unit and the
// log.
//
// With -config FILE it serves the targets of an IET ietd.conf instead (the
// grammar is described in ietdconf.go), with -allow and -deny reading
// IET's initiators.allow and initiators.deny. SIGHUP reloads these files:
// a file with an error is refused and the previous configuration keeps
// serving. On SIGINT or SIGTERM the target asks its initiators to log out,
// waits for them at most -shutdown-timeout (default 10s), and stops.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/go-iscsi/iscsi/iqn"
	"github.com/go-iscsi/iscsi/login"
	"github.com/go-iscsi/iscsi/scsi"
	"github.com/go-iscsi/iscsi/scsi/disk"
	"github.com/go-iscsi/iscsi/session"
)

// config is what the command line says.
type config struct {
	target         string
	maxConnections int
	size           int64
	file           string
	blockSize      int
	physBlockSize  int
	vendor         string
	product        string
	serial         string
	readOnly       bool
	thin           bool
	chapUser       string
	chapSecret     string
	mutualUser     string
	mutualSecret   string
	shortSecrets   bool
	verbose        bool
	logLevel       string
	logFormat      string
	listens        []string
	removable      bool
	maxTransfer    uint
	configFile     string
	allowFile      string
	denyFile       string
	// shutdownTimeout bounds the wait for initiators to log out on
	// SIGINT or SIGTERM.
	shutdownTimeout time.Duration
	busyPoll        time.Duration
}

// reloaded, when set, is called after each SIGHUP reload with its outcome.
var reloaded func(error)

// unitClosed, when set, is called after a logical unit that a reload
// removed was closed.
var unitClosed func(target string, lun uint16)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Stderr, nil))
}

// run parses args, serves until ctx ends, and returns the exit status: 0
// after a clean stop, 1 when serving fails, 2 for a usage error. When ctx
// ends the target shuts down gracefully: it asks every initiator to log
// out (session.Server.Shutdown: an Asynchronous Message with AsyncEvent 1,
// RFC 7143 §11.9.1), waits for the logouts at most -shutdown-timeout,
// drops the connections left, and stops. When ready is not nil it
// receives the listening address once the target accepts connections.
func run(ctx context.Context, args []string, stderr io.Writer, ready chan<- net.Addr) int {
	cfg, err := parseFlags(args, stderr)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		fmt.Fprintln(stderr, "target:", err)
		return 2
	}
	var level slog.Level
	if err := level.UnmarshalText([]byte(cfg.logLevel)); err != nil {
		fmt.Fprintln(stderr, "target: -log-level:", err)
		return 2
	}
	if cfg.verbose {
		level = slog.LevelDebug
	}
	opts := &slog.HandlerOptions{Level: level}
	var handler slog.Handler = slog.NewTextHandler(stderr, opts)
	if cfg.logFormat == "json" {
		handler = slog.NewJSONHandler(stderr, opts)
	}
	logger := slog.New(handler)

	policy, err := loadAccess(cfg.allowFile, cfg.denyFile)
	if err != nil {
		fmt.Fprintln(stderr, "target:", err)
		return 1
	}
	var srv *session.Server
	var what []any
	if cfg.configFile != "" {
		var pool luPool
		defer pool.close()
		sc, err := loadConfig(cfg.configFile, &pool, logger)
		if err != nil {
			fmt.Fprintln(stderr, "target:", err)
			return 1
		}
		applyAccess(sc.targets, policy)
		var cur atomic.Pointer[servedConfig]
		cur.Store(sc)
		srv = &session.Server{
			Targets: sc.targets,
			CHAP: func(initiatorName, targetName, user string) (string, *login.CHAPCredentials, bool) {
				return cur.Load().chap(initiatorName, targetName, user)
			},
			DiscoveryAuthMethods: sc.discoveryAuthMethods,
			Limits:               sc.limits,
			Logger:               logger,
			AllowShortSecrets:    cfg.shortSecrets,
		}
		what = []any{"config", cfg.configFile, "targets", len(sc.targets)}
		hup := make(chan os.Signal, 1)
		signal.Notify(hup, syscall.SIGHUP)
		defer signal.Stop(hup)
		go func() {
			for {
				select {
				case <-ctx.Done():
					return
				case <-hup:
					err := reload(srv, &cur, &pool, cfg, logger)
					if err != nil {
						logger.Error("reload refused: the previous configuration keeps serving", "err", err)
					}
					if reloaded != nil {
						reloaded(err)
					}
				}
			}
		}()
	} else {
		lu, closeBackend, err := openLogicalUnit(cfg)
		if err != nil {
			fmt.Fprintln(stderr, "target:", err)
			return 1
		}
		defer closeBackend()
		srv = &session.Server{
			Targets: []session.Target{{
				Name: cfg.target,
				LUNs: map[scsi.LUN]session.LogicalUnit{{}: lu},
			}},
			Logger:            logger,
			AllowShortSecrets: cfg.shortSecrets,
		}
		if cfg.chapUser != "" {
			srv.Targets[0].AuthMethods = []string{"CHAP"}
			srv.CHAP = chapLookup(cfg)
		}
		applyAccess(srv.Targets, policy)
		what = []any{"target", cfg.target, "lun0", describeBackend(cfg)}
	}

	// RFC 7143 §13.2: the target answers MaxConnections with at most this.
	srv.Limits.MaxConnections = cfg.maxConnections
	srv.Limits.BusyPoll = cfg.busyPoll
	if cfg.configFile == "" {
		// The per-command buffer must hold a command of the largest
		// transfer the logical unit advertises (Block Limits VPD page).
		srv.Limits.MaxDataLength = max(16<<20, uint32(cfg.maxTransfer)*uint32(cfg.blockSize))
	}
	listeners := make([]net.Listener, 0, len(cfg.listens))
	for _, addr := range cfg.listens {
		l, err := net.Listen("tcp", addr)
		if err != nil {
			for _, l := range listeners {
				l.Close()
			}
			fmt.Fprintln(stderr, "target:", err)
			return 1
		}
		listeners = append(listeners, l)
	}
	for _, l := range listeners {
		logger.Info("serving", append([]any{"addr", l.Addr().String()}, what...)...)
		if ready != nil {
			ready <- l.Addr()
		}
	}
	// Serving does not end with ctx: the shutdown below asks the
	// initiators to log out first, then ends it.
	serveCtx, cancel := context.WithCancel(context.Background())
	defer cancel()
	shutDown := make(chan struct{})
	go func() {
		defer close(shutDown)
		select {
		case <-ctx.Done():
		case <-serveCtx.Done():
			return // a listener failed
		}
		logger.Info("shutting down: asking initiators to log out", "timeout", cfg.shutdownTimeout)
		sctx, stop := context.WithTimeout(context.Background(), cfg.shutdownTimeout)
		err := srv.Shutdown(sctx)
		stop()
		if err != nil {
			logger.Warn("shutdown: sessions not logged out in time were dropped", "err", err)
		}
		cancel()
	}()
	errs := make(chan error, len(listeners))
	for _, l := range listeners {
		go func() {
			err := srv.Serve(serveCtx, l)
			cancel()
			errs <- err
		}()
	}
	status := 0
	for range listeners {
		if err := <-errs; err != nil && !errors.Is(err, context.Canceled) {
			fmt.Fprintln(stderr, "target:", err)
			status = 1
		}
	}
	<-shutDown
	logger.Info("stopped")
	return status
}

func parseFlags(args []string, stderr io.Writer) (config, error) {
	var cfg config
	var size string
	fs := flag.NewFlagSet("target", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Func("listen", "address to listen on, repeatable (default 127.0.0.1:3260; RFC 7143 §13.5: the well-known port is 3260; IPv6 as [::1]:3260)", func(s string) error {
		cfg.listens = append(cfg.listens, s)
		return nil
	})
	fs.StringVar(&cfg.logLevel, "log-level", "info", "least level logged: debug, info, warn or error")
	fs.StringVar(&cfg.logFormat, "log-format", "text", "log format: text or json")
	fs.BoolVar(&cfg.removable, "removable", false, "removable medium: INQUIRY RMB=1, START STOP UNIT with LOEJ ejects and loads, PREVENT ALLOW MEDIUM REMOVAL honoured")
	fs.UintVar(&cfg.maxTransfer, "max-transfer", 65536, "MAXIMUM TRANSFER LENGTH of the Block Limits VPD page, in logical blocks")
	fs.StringVar(&cfg.target, "target", "iqn.2026-11.org.example.go-iscsi:disk0", "iSCSI name of the target")
	fs.StringVar(&size, "size", "1GiB", "capacity of the in-memory disk, or of -file when it is created or grown (suffixes KiB, MiB, GiB, TiB)")
	fs.StringVar(&cfg.file, "file", "", "serve this regular file or block device instead of memory (created if missing)")
	fs.IntVar(&cfg.blockSize, "block-size", 512, "logical block size in bytes: 512, 1024, 2048 or 4096")
	fs.IntVar(&cfg.physBlockSize, "physical-block-size", 0, "physical block size in bytes, -block-size times a power of two (READ CAPACITY(16) LOGICAL BLOCKS PER PHYSICAL BLOCK EXPONENT, SBC-4 §5.20.2; e.g. 4096 with 512-byte blocks for a 512e disk); 0 means -block-size")
	fs.StringVar(&cfg.vendor, "vendor", "", "T10 vendor identification, at most 8 characters (default GOISCSI)")
	fs.StringVar(&cfg.product, "product", "", "product identification, at most 16 characters (default VIRTUAL-DISK)")
	fs.StringVar(&cfg.serial, "serial", "", "unit serial number (VPD page 0x80)")
	fs.BoolVar(&cfg.readOnly, "readonly", false, "refuse writes with DATA PROTECT")
	fs.BoolVar(&cfg.thin, "thin", true, "thin provisioning: UNMAP and WRITE SAME with UNMAP free space")
	fs.StringVar(&cfg.chapUser, "chap-user", "", "require one-way CHAP with this user name (ietd.conf IncomingUser)")
	fs.StringVar(&cfg.chapSecret, "chap-secret", "", "the CHAP secret of -chap-user")
	fs.StringVar(&cfg.mutualUser, "mutual-user", "", "the target's own CHAP user name for mutual CHAP (ietd.conf OutgoingUser)")
	fs.StringVar(&cfg.mutualSecret, "mutual-secret", "", "the CHAP secret of -mutual-user")
	fs.BoolVar(&cfg.shortSecrets, "allow-short-secrets", false, "accept CHAP secrets shorter than 12 bytes")
	fs.StringVar(&cfg.configFile, "config", "", "serve the targets of this IET ietd.conf file instead of -target/-file/-size (see ietdconf.go for the grammar)")
	fs.StringVar(&cfg.allowFile, "allow", "", "IET initiators.allow file: which initiators (names, regular expressions, addresses, networks) may use each target")
	fs.StringVar(&cfg.denyFile, "deny", "", "IET initiators.deny file: initiators refused unless -allow admits them")
	fs.BoolVar(&cfg.verbose, "v", false, "log every session and connection event")
	fs.IntVar(&cfg.maxConnections, "max-connections", 8, "connections one session may have, 1 to 65535 (RFC 7143 §13.2 MaxConnections; with -config it bounds each target's MaxConnections key)")
	fs.DurationVar(&cfg.shutdownTimeout, "shutdown-timeout", 10*time.Second, "on SIGINT or SIGTERM, how long to wait for initiators to log out before dropping their connections")
	fs.DurationVar(&cfg.busyPoll, "busy-poll", 0, "spin this long on a socket with nothing to read before sleeping (lower latency at low queue depths, more CPU); 0 does not spin")
	if err := fs.Parse(args); err != nil {
		return cfg, err
	}
	if len(cfg.listens) == 0 {
		cfg.listens = []string{"127.0.0.1:3260"}
	}
	if cfg.logFormat != "text" && cfg.logFormat != "json" {
		return cfg, fmt.Errorf("-log-format %q is not text or json", cfg.logFormat)
	}
	if cfg.maxTransfer == 0 || uint64(cfg.maxTransfer)*uint64(cfg.blockSize) > 1<<30 {
		return cfg, fmt.Errorf("-max-transfer %d: want 1 to 1 GiB worth of blocks", cfg.maxTransfer)
	}
	if fs.NArg() > 0 {
		return cfg, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	if p, b := cfg.physBlockSize, cfg.blockSize; p != 0 && (p < b || p%b != 0 || (p/b)&(p/b-1) != 0 || p/b > 1<<15) {
		return cfg, fmt.Errorf("-physical-block-size %d: want -block-size %d times a power of two up to 2^15", p, b)
	}
	if cfg.busyPoll < 0 || cfg.busyPoll > time.Second {
		return cfg, fmt.Errorf("-busy-poll %v: want 0 to 1s", cfg.busyPoll)
	}
	if cfg.maxConnections < 1 || cfg.maxConnections > 65535 {
		return cfg, fmt.Errorf("-max-connections %d: want 1 to 65535", cfg.maxConnections)
	}
	if cfg.shutdownTimeout <= 0 {
		return cfg, fmt.Errorf("-shutdown-timeout %v: want a positive duration", cfg.shutdownTimeout)
	}
	var err error
	if cfg.size, err = parseSize(size); err != nil {
		return cfg, fmt.Errorf("-size: %w", err)
	}
	if _, err := iqn.ParseStrict(cfg.target); err != nil {
		return cfg, fmt.Errorf("-target: %w", err)
	}
	if (cfg.chapUser == "") != (cfg.chapSecret == "") {
		return cfg, errors.New("-chap-user and -chap-secret go together")
	}
	if (cfg.mutualUser == "") != (cfg.mutualSecret == "") {
		return cfg, errors.New("-mutual-user and -mutual-secret go together")
	}
	if cfg.mutualUser != "" && cfg.chapUser == "" {
		return cfg, errors.New("-mutual-user needs -chap-user: mutual CHAP follows the initiator's")
	}
	if !cfg.shortSecrets {
		for _, s := range []string{cfg.chapSecret, cfg.mutualSecret} {
			if s != "" && len(s) < login.MinCHAPSecretLength {
				return cfg, fmt.Errorf("CHAP secrets must be at least %d bytes (or pass -allow-short-secrets)", login.MinCHAPSecretLength)
			}
		}
	}
	return cfg, nil
}

// applyAccess sets the Allow of each target from policy.
func applyAccess(ts []session.Target, policy *accessPolicy) {
	for i := range ts {
		ts[i].Allow = policy.allowFunc(ts[i].Name)
	}
}

// reload reads the configuration and access files again and, when they
// are valid as a whole, replaces the targets served (SIGHUP). Sessions of
// removed targets keep serving until they log out. Sessions of a target
// whose LUNs changed see the new LUNs at once, with the unit attention
// REPORTED LUNS DATA HAS CHANGED (session.Server.SetTargets); a removed
// logical unit is closed once it is released. A logical unit kept with
// another capacity reports CAPACITY DATA HAS CHANGED. The discovery
// AuthMethod and the server-wide limits cannot change while serving: a
// change of them is logged and not applied.
func reload(srv *session.Server, cur *atomic.Pointer[servedConfig], pool *luPool, cfg config, log *slog.Logger) error {
	policy, err := loadAccess(cfg.allowFile, cfg.denyFile)
	if err != nil {
		return err
	}
	sc, err := loadConfig(cfg.configFile, pool, log)
	if err != nil {
		return err
	}
	applyAccess(sc.targets, policy)
	old := cur.Swap(sc)
	if err := srv.SetTargets(sc.targets); err != nil {
		cur.Store(old)
		return err
	}
	pool.retire(sc, srv, log)
	// SBC-4 §4.10: CAPACITY DATA HAS CHANGED, as a unit attention and an
	// Asynchronous Message (RFC 7143 §11.9.1).
	for _, r := range sc.resized {
		if _, err := srv.CapacityChanged(r.target, r.lun); err != nil {
			log.Warn("reload: capacity change not reported", "target", r.target, "err", err)
		}
	}
	if !slices.Equal(old.discoveryAuthMethods, sc.discoveryAuthMethods) || old.limits != sc.limits {
		log.Warn("reload: discovery IncomingUser presence, NOPInterval, NOPTimeout and QueuedCommands take effect at restart")
	}
	log.Info("configuration reloaded", "file", cfg.configFile, "targets", len(sc.targets))
	return nil
}

// parseSize reads a byte count with an optional binary suffix.
func parseSize(s string) (int64, error) {
	mult := int64(1)
	for _, u := range []struct {
		suffix string
		mult   int64
	}{{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30}, {"TiB", 1 << 40},
		{"K", 1 << 10}, {"M", 1 << 20}, {"G", 1 << 30}, {"T", 1 << 40}} {
		if strings.HasSuffix(s, u.suffix) {
			s, mult = strings.TrimSuffix(s, u.suffix), u.mult
			break
		}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n <= 0 || n > (1<<62)/mult {
		return 0, fmt.Errorf("invalid size %q", s)
	}
	return n * mult, nil
}

// openLogicalUnit builds LUN 0 from cfg and returns it with the function
// that releases its backend.
func openLogicalUnit(cfg config) (*disk.LU, func(), error) {
	var be disk.Backend
	closeBackend := func() {}
	if cfg.file == "" {
		be = disk.NewMemory(cfg.size)
	} else {
		f, err := disk.OpenFile(cfg.file, disk.FileOptions{ReadOnly: cfg.readOnly, Create: true, Size: cfg.size})
		if err != nil {
			return nil, nil, err
		}
		be = f
		closeBackend = func() { f.Close() }
	}
	lu, err := disk.New(be, disk.Config{
		BlockSize:         cfg.blockSize,
		PhysicalBlockSize: cfg.physBlockSize,
		Vendor:            cfg.vendor,
		Product:           cfg.product,
		SerialNumber:      cfg.serial,
		ReadOnly:          cfg.readOnly,
		ThinProvisioning:  cfg.thin,
		Removable:         cfg.removable,
		MaxTransferLength: uint32(cfg.maxTransfer),
	})
	if err != nil {
		closeBackend()
		return nil, nil, err
	}
	return lu, closeBackend, nil
}

// chapLookup answers the CHAP user of cfg with its secret and, when set,
// the target's mutual credentials.
func chapLookup(cfg config) login.CHAPLookup {
	return func(initiatorName, targetName, user string) (string, *login.CHAPCredentials, bool) {
		if user != cfg.chapUser {
			return "", nil, false
		}
		var mutual *login.CHAPCredentials
		if cfg.mutualUser != "" {
			mutual = &login.CHAPCredentials{User: cfg.mutualUser, Secret: cfg.mutualSecret}
		}
		return cfg.chapSecret, mutual, true
	}
}

func describeBackend(cfg config) string {
	if cfg.file != "" {
		return "file " + cfg.file
	}
	return "memory " + strconv.FormatInt(cfg.size, 10) + " bytes"
}
