package session

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/go-iscsi/iscsi/login"
	"github.com/go-iscsi/iscsi/pdu"
	"github.com/go-iscsi/iscsi/scsi"
	"github.com/go-iscsi/iscsi/scsi/disk"
)

// serveTCP serves srv on 127.0.0.1 and returns its address; the test's
// cleanup stops it.
func serveTCP(t *testing.T, srv *Server) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, l) }()
	t.Cleanup(func() {
		cancel()
		<-done
	})
	return l.Addr().String()
}

// tcpLogin is one connection logged in over TCP.
type tcpLogin struct {
	c   net.Conn
	r   *pdu.Reader
	w   *pdu.Writer
	res *login.Result
}

// loginTCP logs in to target (discovery when target is empty) as
// initiator.
func loginTCP(t *testing.T, addr, initiator, target string) (*tcpLogin, error) {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	c.SetDeadline(time.Now().Add(30 * time.Second))
	cfg := login.InitiatorConfig{InitiatorName: initiator, TargetName: target, ISID: isid(3), CmdSN: 1}
	if target == "" {
		cfg.SessionType = login.SessionDiscovery
	}
	r, w := pdu.NewReader(c), pdu.NewWriter(c)
	res, err := login.Initiate(context.Background(), r, w, cfg)
	if err != nil {
		c.Close()
		return nil, err
	}
	return &tcpLogin{c: c, r: r, w: w, res: res}, nil
}

// sendTargets lists the targets a discovery session reports.
func (l *tcpLogin) sendTargets(t *testing.T) []string {
	t.Helper()
	x := &login.TextExchange{ITT: 9, CmdSN: l.res.CmdSN, ExpStatSN: l.res.StatSN + 1}
	ts, err := login.SendTargets(context.Background(), l.r, l.w, x, "All")
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, d := range ts {
		names = append(names, d.Name)
	}
	return names
}

// ping sends a NOP-Out and waits for its NOP-In: the session serves.
func (l *tcpLogin) ping(t *testing.T) {
	t.Helper()
	var h pdu.BHS
	n := h.NOPOut()
	n.Init()
	n.SetImmediate(true)
	n.SetInitiatorTaskTag(77)
	n.SetTargetTransferTag(0xffffffff)
	n.SetCmdSN(l.res.CmdSN)
	n.SetExpStatSN(l.res.StatSN + 1)
	if err := l.w.Write(&h, nil, nil); err != nil {
		t.Fatal(err)
	}
	p, err := l.r.Read()
	if err != nil {
		t.Fatalf("no answer to NOP-Out: %v", err)
	}
	if p.Header.Opcode() != pdu.OpNOPIn {
		t.Fatalf("answer %v, want NOP-In", p.Header.Opcode())
	}
}

func memoryTarget(t *testing.T, name string) Target {
	t.Helper()
	lu, err := disk.New(disk.NewMemory(1<<20), disk.Config{})
	if err != nil {
		t.Fatal(err)
	}
	return Target{Name: name, LUNs: map[scsi.LUN]LogicalUnit{{}: lu}}
}

func loginStatus(err error) pdu.LoginStatus {
	var le *login.LoginError
	if errors.As(err, &le) {
		return le.Status
	}
	return 0
}

func TestTargetNameNormalized(t *testing.T) {
	srv := &Server{Targets: []Target{memoryTarget(t, "iqn.2001-04.org.Gentoo:Disk1")}}
	addr := serveTCP(t, srv)
	for _, name := range []string{"iqn.2001-04.org.gentoo:disk1", "iqn.2001-04.org.Gentoo:Disk1"} {
		if _, err := loginTCP(t, addr, testInitiator, name); err != nil {
			t.Errorf("login to %s: %v", name, err)
		}
	}
}

func TestTargetNameInvalid(t *testing.T) {
	for _, ts := range [][]Target{
		{{Name: "disk1"}},
		{{Name: "iqn.2001-13.org.example:x"}},
		{{Name: "iqn.2001-04.org.example:A"}, {Name: "iqn.2001-04.org.example:a"}},
	} {
		srv := &Server{Targets: ts}
		a, b := net.Pipe()
		a.Close()
		err := srv.ServeConn(context.Background(), b)
		var ce *ConfigError
		if !errors.As(err, &ce) || !errors.Is(err, ErrTargetConfig) || !strings.HasPrefix(ce.Field, "Targets[") {
			t.Errorf("ServeConn with %+v: %v, want a *ConfigError naming a target", ts, err)
		}
	}
}

// TestTargetAllow checks Target.Allow: a disallowed initiator fails to log
// in with 0x0202 Authorization failure (RFC 7143 §11.13.5) and does not
// see the target in SendTargets; an allowed one does both.
func TestTargetAllow(t *testing.T) {
	const allowed, denied = "iqn.2026-11.org.example:allowed", "iqn.2026-11.org.example:denied"
	open := memoryTarget(t, "iqn.2026-11.org.example:open")
	guarded := memoryTarget(t, "iqn.2026-11.org.example:guarded")
	var mu sync.Mutex
	var remotes []string
	guarded.Allow = func(initiator string, remote net.Addr) bool {
		mu.Lock()
		defer mu.Unlock()
		remotes = append(remotes, remote.Network())
		return initiator == allowed
	}
	addr := serveTCP(t, &Server{Targets: []Target{open, guarded}})

	if _, err := loginTCP(t, addr, denied, guarded.Name); loginStatus(err) != pdu.LoginAuthorizationFailure {
		t.Errorf("denied login: %v, want status 0x0202", err)
	}
	if _, err := loginTCP(t, addr, allowed, guarded.Name); err != nil {
		t.Errorf("allowed login: %v", err)
	}
	if _, err := loginTCP(t, addr, denied, open.Name); err != nil {
		t.Errorf("login to a target without Allow: %v", err)
	}
	for _, tt := range []struct {
		initiator string
		want      []string
	}{
		{allowed, []string{open.Name, guarded.Name}},
		{denied, []string{open.Name}},
	} {
		l, err := loginTCP(t, addr, tt.initiator, "")
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(tt.want, l.sendTargets(t)); diff != "" {
			t.Errorf("SendTargets for %s (-want +got):\n%s", tt.initiator, diff)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if len(remotes) == 0 {
		t.Error("Allow was never called")
	}
	for _, n := range remotes {
		if n != "tcp" {
			t.Errorf("Allow saw a %q remote address, want tcp", n)
		}
	}
}

// TestSetTargets replaces the targets while serving: a new target can be
// logged in to, a removed one cannot, while the session already logged in
// to the removed target keeps being served; an invalid set changes
// nothing.
func TestSetTargets(t *testing.T) {
	one, two := memoryTarget(t, "iqn.2026-11.org.example:one"), memoryTarget(t, "iqn.2026-11.org.example:two")
	srv := &Server{Targets: []Target{one}}
	addr := serveTCP(t, srv)
	live, err := loginTCP(t, addr, testInitiator, one.Name)
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.SetTargets([]Target{two}); err != nil {
		t.Fatal(err)
	}
	if _, err := loginTCP(t, addr, testInitiator, one.Name); loginStatus(err) != pdu.LoginNotFound {
		t.Errorf("login to a removed target: %v, want status 0x0203", err)
	}
	if _, err := loginTCP(t, addr, testInitiator, two.Name); err != nil {
		t.Errorf("login to an added target: %v", err)
	}
	live.ping(t)

	err = srv.SetTargets([]Target{two, {Name: "not-a-name"}})
	if !errors.Is(err, ErrTargetConfig) {
		t.Fatalf("SetTargets with a bad name: %v, want ErrTargetConfig", err)
	}
	if _, err := loginTCP(t, addr, testInitiator, two.Name); err != nil {
		t.Errorf("after a refused SetTargets: %v", err)
	}
	d, err := loginTCP(t, addr, testInitiator, "")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{two.Name}, d.sendTargets(t)); diff != "" {
		t.Errorf("SendTargets after SetTargets (-want +got):\n%s", diff)
	}
}

func TestTargetLUNKeys(t *testing.T) {
	lu := memoryTarget(t, "iqn.2026-11.org.example:x").LUNs[scsi.LUN{}]
	tests := []struct {
		name string
		luns map[scsi.LUN]LogicalUnit
		ok   bool
	}{
		{"numbers", map[scsi.LUN]LogicalUnit{scsi.LUNNumber(0): lu, scsi.LUNNumber(1): lu, scsi.LUNNumber(300): lu}, true},
		{"two encodings of LUN 5", map[scsi.LUN]LogicalUnit{{0, 5}: lu, {0x40, 5}: lu}, false},
		{"beyond flat space", map[scsi.LUN]LogicalUnit{scsi.LUNNumber(20000): lu}, false},
		{"second level", map[scsi.LUN]LogicalUnit{{0, 1, 0, 1}: lu}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := (&Server{}).SetTargets([]Target{{Name: "iqn.2026-11.org.example:x", LUNs: tt.luns}})
			var ce *ConfigError
			if tt.ok != (err == nil) || (!tt.ok && !errors.As(err, &ce)) {
				t.Errorf("SetTargets: %v, want ok %v", err, tt.ok)
			}
		})
	}
}

// lineLog passes each log line the JSON handler writes to a channel.
type lineLog chan string

func (l lineLog) Write(p []byte) (int, error) {
	l <- string(p)
	return len(p), nil
}

// TestLoginLogged checks the login record: initiator, target, AuthMethod
// and the negotiated keys at INFO, a refused login at WARN.
func TestLoginLogged(t *testing.T) {
	lines := make(lineLog, 64)
	tg := memoryTarget(t, "iqn.2026-11.org.example:logged")
	srv := &Server{Targets: []Target{tg}, Logger: slog.New(slog.NewJSONHandler(lines, nil))}
	addr := serveTCP(t, srv)
	// Runs before serveTCP's cleanup: later lines must not block the server.
	t.Cleanup(func() {
		go func() {
			for range lines {
			}
		}()
	})
	if _, err := loginTCP(t, addr, testInitiator, tg.Name); err != nil {
		t.Fatal(err)
	}
	if _, err := loginTCP(t, addr, testInitiator, "iqn.2026-11.org.example:absent"); err == nil {
		t.Fatal("login to an absent target succeeded")
	}
	type record struct {
		Level, Msg, Initiator, Target, Auth string
		Negotiated                          struct {
			MaxBurstLength uint32 `json:"max_burst_length"`
		}
	}
	got := map[string]record{}
	for len(got) < 2 {
		line := <-lines
		var r record
		if err := json.Unmarshal([]byte(line), &r); err != nil {
			t.Fatalf("%q: %v", line, err)
		}
		if r.Msg == "login" || r.Msg == "login failed" {
			got[r.Msg] = r
		}
	}
	want := map[string]record{
		"login":        {Level: "INFO", Msg: "login", Initiator: testInitiator, Target: tg.Name, Auth: "None"},
		"login failed": {Level: "WARN", Msg: "login failed"},
	}
	r := want["login"]
	r.Negotiated.MaxBurstLength = login.DefaultSessionParams().MaxBurstLength
	want["login"] = r
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("log records (-want +got):\n%s", diff)
	}
}
