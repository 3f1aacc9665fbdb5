package peertest_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/go-iscsi/iscsi/internal/peertest"
)

const diskName = "iqn.2026-01.org.example.peertest:disk"

func TestURLString(t *testing.T) {
	tests := []struct {
		name string
		url  peertest.URL
		want string
	}{
		{"portal", peertest.URL{Host: "127.0.0.1:3260"}, "iscsi://127.0.0.1:3260"},
		{"lun", peertest.URL{Host: "127.0.0.1:3260", Target: diskName, LUN: 1}, "iscsi://127.0.0.1:3260/" + diskName + "/1"},
		{"chap", peertest.URL{Host: "127.0.0.1:1", User: "u", Password: "p", Target: "iqn.x:y", LUN: 0}, "iscsi://u%p@127.0.0.1:1/iqn.x:y/0"},
		{"user only", peertest.URL{Host: "127.0.0.1:1", User: "u"}, "iscsi://u@127.0.0.1:1"},
		{"mutual chap and digest", peertest.URL{
			Host: "127.0.0.1:1", User: "u", Password: "p", Target: "iqn.x:y", LUN: 2,
			HeaderDigest: "crc32c", TargetUser: "tu", TargetPassword: "tp",
		}, "iscsi://u%p@127.0.0.1:1/iqn.x:y/2?header_digest=crc32c&target_user=tu&target_password=tp"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.url.String(); got != tt.want {
				t.Errorf("String() = %q, want %q", got, tt.want)
			}
		})
	}
}

// recorder is a testing.TB that records Skip and Fatal instead of ending
// the goroutine, to observe Require's decision.
type recorder struct {
	testing.TB
	skipped, fatal string
}

func (r *recorder) Helper()                           {}
func (r *recorder) Skip(args ...any)                  { r.skipped = fmt.Sprint(args...) }
func (r *recorder) Fatalf(format string, args ...any) { r.fatal = fmt.Sprintf(format, args...) }

func TestRequire(t *testing.T) {
	tests := []struct {
		ci                    string
		binaries              []string
		wantSkip, wantFatal   bool
		wantMessageSubstrings []string
	}{
		{ci: "", binaries: []string{"sh"}},
		{ci: "", binaries: []string{"sh", "no-such-peer-binary"}, wantSkip: true,
			wantMessageSubstrings: []string{"no-such-peer-binary"}},
		{ci: "false", binaries: []string{"no-such-peer-binary", "iscsi-zz"}, wantSkip: true,
			wantMessageSubstrings: []string{"no-such-peer-binary, iscsi-zz"}},
		{ci: "true", binaries: []string{"no-such-peer-binary"}, wantFatal: true,
			wantMessageSubstrings: []string{"CI=true", "no-such-peer-binary"}},
		{ci: "true", binaries: []string{"sh"}},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("CI=%s/%s", tt.ci, strings.Join(tt.binaries, ",")), func(t *testing.T) {
			t.Setenv("CI", tt.ci)
			r := &recorder{TB: t}
			peertest.Require(r, tt.binaries...)
			if got := r.skipped != ""; got != tt.wantSkip {
				t.Errorf("skipped = %v (%q), want %v", got, r.skipped, tt.wantSkip)
			}
			if got := r.fatal != ""; got != tt.wantFatal {
				t.Errorf("fatal = %v (%q), want %v", got, r.fatal, tt.wantFatal)
			}
			for _, s := range tt.wantMessageSubstrings {
				if !strings.Contains(r.skipped+r.fatal, s) {
					t.Errorf("message %q does not contain %q", r.skipped+r.fatal, s)
				}
			}
		})
	}
}

func TestDiscoveryAndInquiry(t *testing.T) {
	peertest.Require(t, "tgtd", "tgtadm", "iscsi-ls", "iscsi-inq", "iscsi-readcapacity16")
	d := peertest.StartTGTD(t, peertest.Target{Name: diskName})
	ctx := context.Background()

	if !regexp.MustCompile(`^127\.0\.0\.1:[0-9]+$`).MatchString(d.Addr) || d.Port == 0 {
		t.Fatalf("Addr = %q, Port = %d: want a port on 127.0.0.1", d.Addr, d.Port)
	}
	if got := d.Targets; len(got) != 1 || got[0].TID != 1 || got[0].Name != diskName {
		t.Fatalf("Targets = %+v, want one with TID 1", got)
	}

	tests := []struct {
		tool string
		args []string
		want []string
	}{
		// SendTargets discovery (RFC 7143 §4.3): TargetName and the
		// TargetAddress of the portal group 1.
		{"iscsi-ls", []string{d.PortalURL().String()},
			[]string{fmt.Sprintf("Target:%s Portal:%s,1", diskName, d.Addr)}},
		// tgtd's controller LUN 0 and the configured disk.
		{"iscsi-ls", []string{"-s", d.PortalURL().String()},
			[]string{"Lun:0    Type:STORAGE_ARRAY_CONTROLLER", "Lun:1    Type:DIRECT_ACCESS"}},
		// tgtd's standard INQUIRY data.
		{"iscsi-inq", []string{d.URL(diskName, 1).String()},
			[]string{"Vendor:IET", "Product:VIRTUAL-DISK", "Peripheral Device Type:DIRECT_ACCESS"}},
		{"iscsi-readcapacity16", []string{d.URL(diskName, 1).String()},
			[]string{"LOGICAL BLOCK LENGTH IN BYTES:512", fmt.Sprintf("Total size:%d", peertest.DefaultLUNSize)}},
	}
	for _, tt := range tests {
		t.Run(tt.tool+" "+strings.Join(tt.args[:len(tt.args)-1], " "), func(t *testing.T) {
			out, err := peertest.LibiscsiTool(t, ctx, tt.tool, tt.args...)
			if err != nil {
				t.Fatalf("%v\n%s", err, d.Show())
			}
			for _, w := range tt.want {
				if !strings.Contains(out, w) {
					t.Errorf("output lacks %q:\n%s", w, out)
				}
			}
		})
	}
}

func TestCHAP(t *testing.T) {
	peertest.Require(t, "tgtd", "tgtadm", "iscsi-ls", "iscsi-inq")
	const (
		oneWay = "iqn.2026-01.org.example.peertest:chap"
		mutual = "iqn.2026-01.org.example.peertest:mutual"
	)
	d := peertest.StartTGTD(t,
		peertest.Target{Name: oneWay, IncomingUser: "alice", IncomingPassword: "alicesecret1"},
		peertest.Target{Name: mutual, IncomingUser: "alice", IncomingPassword: "alicesecret1",
			OutgoingUser: "tgt", OutgoingPassword: "targetsecret"},
	)
	show, err := d.Admin("--lld", "iscsi", "--mode", "account", "--op", "show")
	if err != nil {
		t.Fatal(err)
	}
	for _, user := range []string{"alice", "tgt"} {
		if !strings.Contains(show, user) {
			t.Errorf("account list lacks %q:\n%s", user, show)
		}
	}

	tests := []struct {
		name   string
		url    peertest.URL
		env    []string
		wantOK bool
	}{
		{"one-way right secret", peertest.URL{Target: oneWay, LUN: 1, User: "alice", Password: "alicesecret1"}, nil, true},
		{"one-way secret from environment", peertest.URL{Target: oneWay, LUN: 1},
			[]string{"LIBISCSI_CHAP_USERNAME=alice", "LIBISCSI_CHAP_PASSWORD=alicesecret1"}, true},
		{"one-way wrong secret", peertest.URL{Target: oneWay, LUN: 1, User: "alice", Password: "wrongsecret1"}, nil, false},
		{"one-way unknown user", peertest.URL{Target: oneWay, LUN: 1, User: "bob", Password: "alicesecret1"}, nil, false},
		{"one-way no credentials", peertest.URL{Target: oneWay, LUN: 1}, nil, false},
		{"mutual right secrets", peertest.URL{Target: mutual, LUN: 1, User: "alice", Password: "alicesecret1",
			TargetUser: "tgt", TargetPassword: "targetsecret"}, nil, true},
		{"mutual wrong target secret", peertest.URL{Target: mutual, LUN: 1, User: "alice", Password: "alicesecret1",
			TargetUser: "tgt", TargetPassword: "notthesecret"}, nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u := tt.url
			u.Host = d.Addr
			out, err := peertest.LibiscsiToolEnv(t, context.Background(), tt.env, "iscsi-inq", u.String())
			if tt.wantOK {
				if err != nil {
					t.Fatalf("login failed: %v", err)
				}
				if !strings.Contains(out, "Vendor:IET") {
					t.Errorf("no INQUIRY data after login:\n%s", out)
				}
				return
			}
			var te *peertest.ToolError
			if !errors.As(err, &te) {
				t.Fatalf("err = %v (output %q), want a *ToolError", err, out)
			}
			if te.ExitCode == 0 || strings.Contains(out, "Vendor:") {
				t.Errorf("login succeeded with bad credentials: exit %d\n%s", te.ExitCode, out)
			}
		})
	}
}

func TestParams(t *testing.T) {
	peertest.Require(t, "tgtd", "tgtadm", "iscsi-inq")
	d := peertest.StartTGTD(t, peertest.Target{
		Name: diskName,
		LUNs: []peertest.LUN{{Number: 1, Size: 1 << 20}, {Number: 3, Null: true}},
		Params: map[string]string{
			"HeaderDigest":             "CRC32C",
			"MaxRecvDataSegmentLength": "16384",
		},
	})
	out, err := d.Admin("--lld", "iscsi", "--mode", "target", "--op", "show", "--tid", "1")
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range []string{"HeaderDigest=CRC32C", "MaxRecvDataSegmentLength=16384"} {
		if !strings.Contains(out, w) {
			t.Errorf("target parameters lack %q:\n%s", w, out)
		}
	}
	show := d.Show()
	for _, w := range []string{"LUN: 1", "Size: 1 MB", "LUN: 3", "Backing store type: null"} {
		if !strings.Contains(show, w) {
			t.Errorf("Show() lacks %q:\n%s", w, show)
		}
	}
	u := d.URL(diskName, 3)
	u.HeaderDigest = "crc32c"
	if out, err := peertest.LibiscsiTool(t, context.Background(), "iscsi-inq", u.String()); err != nil || !strings.Contains(out, "Vendor:IET") {
		t.Errorf("iscsi-inq with HeaderDigest=CRC32C: %v\n%s", err, out)
	}
}

func TestAddTargetAfterStart(t *testing.T) {
	peertest.Require(t, "tgtd", "tgtadm", "iscsi-ls")
	d := peertest.StartTGTD(t)
	if len(d.Targets) != 0 {
		t.Fatalf("Targets = %+v, want none", d.Targets)
	}
	a := d.AddTarget(peertest.Target{Name: "iqn.2026-01.org.example.peertest:a", TID: 5})
	b := d.AddTarget(peertest.Target{Name: "iqn.2026-01.org.example.peertest:b"})
	if a.TID != 5 || b.TID != 1 {
		t.Errorf("TIDs = %d, %d, want 5, 1", a.TID, b.TID)
	}
	out, err := peertest.LibiscsiTool(t, context.Background(), "iscsi-ls", d.PortalURL().String())
	if err != nil {
		t.Fatal(err)
	}
	for _, tg := range []peertest.Target{a, b} {
		if !strings.Contains(out, "Target:"+tg.Name+" ") {
			t.Errorf("discovery lacks %s:\n%s", tg.Name, out)
		}
	}
}

// TestConcurrentDaemons checks that daemons running at the same time get
// distinct control numbers and ports and each serves only its own targets.
func TestConcurrentDaemons(t *testing.T) {
	peertest.Require(t, "tgtd", "tgtadm", "iscsi-ls")
	const n = 3
	var daemons []*peertest.TGTD
	controls, ports := map[int]bool{}, map[int]bool{}
	for i := range n {
		name := fmt.Sprintf("iqn.2026-01.org.example.peertest:parallel%d", i)
		d := peertest.StartTGTD(t, peertest.Target{Name: name, LUNs: []peertest.LUN{{Number: 1, Null: true}}})
		daemons = append(daemons, d)
		controls[d.Control] = true
		ports[d.Port] = true
	}
	if len(controls) != n || len(ports) != n {
		t.Errorf("control numbers %v and ports %v: want %d distinct of each", controls, ports, n)
	}
	var wg sync.WaitGroup
	outs := make([]string, n)
	errs := make([]error, n)
	for i, d := range daemons {
		wg.Go(func() {
			outs[i], errs[i] = peertest.LibiscsiTool(t, context.Background(), "iscsi-ls", d.PortalURL().String())
		})
	}
	wg.Wait()
	for i, d := range daemons {
		if errs[i] != nil {
			t.Errorf("%s: %v", d.Addr, errs[i])
			continue
		}
		name := d.Targets[0].Name
		if got := strings.Count(outs[i], "Target:"); got != 1 || !strings.Contains(outs[i], name) {
			t.Errorf("discovery on %s shows %d targets, want only %s:\n%s", d.Addr, got, name, outs[i])
		}
	}
}

func TestToolError(t *testing.T) {
	peertest.Require(t, "iscsi-inq")
	_, err := peertest.LibiscsiTool(t, context.Background(), "iscsi-inq", "iscsi://not-a-valid-url")
	var te *peertest.ToolError
	if !errors.As(err, &te) {
		t.Fatalf("err = %v, want a *ToolError", err)
	}
	if te.ExitCode == 0 || te.Command[0] != "iscsi-inq" {
		t.Errorf("ToolError = %+v, want iscsi-inq with a non-zero exit", te)
	}
}

func TestCapture(t *testing.T) {
	peertest.Require(t, "tgtd", "tgtadm", "iscsi-ls", "dumpcap")
	d := peertest.StartTGTD(t, peertest.Target{Name: diskName})
	stop := peertest.Capture(t, d.Port)
	if _, err := peertest.LibiscsiTool(t, context.Background(), "iscsi-ls", d.PortalURL().String()); err != nil {
		t.Fatal(err)
	}
	pcap := stop()
	// libpcap file magic 0xa1b2c3d4 in the writer's (little-endian) order.
	if !bytes.HasPrefix(pcap, []byte{0xd4, 0xc3, 0xb2, 0xa1}) {
		t.Fatalf("capture is not a pcap file: % x", pcap[:min(len(pcap), 16)])
	}
	// The SendTargets response carries TargetName=... in clear text.
	if !bytes.Contains(pcap, []byte("TargetName="+diskName)) {
		t.Errorf("capture (%d bytes) lacks the SendTargets response", len(pcap))
	}
	if again := stop(); !bytes.Equal(again, pcap) {
		t.Errorf("second stop returned different bytes")
	}
}
