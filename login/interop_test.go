package login_test

import (
	"context"
	"errors"
	"net"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-iscsi/iscsi/internal/peertest"
	"github.com/go-iscsi/iscsi/login"
	"github.com/go-iscsi/iscsi/pdu"
)

const (
	interopInitiator = "iqn.2026-11.org.example.go-iscsi:interop"
	tgtdPlain        = "iqn.2026-11.org.example.tgtd:plain"
	tgtdCHAP         = "iqn.2026-11.org.example.tgtd:chap"
	tgtdMutual       = "iqn.2026-11.org.example.tgtd:mutual"
	tgtdStrict       = "iqn.2026-11.org.example.tgtd:strict"
)

// dial connects to addr with a deadline covering the whole exchange; the
// context of Initiate cannot interrupt a blocked read, the deadline can.
func dial(t *testing.T, addr string) (net.Conn, *pdu.Reader, *pdu.Writer) {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	c.SetDeadline(time.Now().Add(30 * time.Second))
	return c, pdu.NewReader(c), pdu.NewWriter(c)
}

// logoutSession sends a Logout Request closing the session and checks the
// Logout Response (RFC 7143 §11.14, §11.15).
func logoutSession(t *testing.T, r *pdu.Reader, w *pdu.Writer, itt, cmdSN, expStatSN uint32) {
	t.Helper()
	var h pdu.BHS
	lr := h.LogoutRequest()
	lr.Init()
	lr.SetImmediate(true)
	lr.SetReasonCode(0)
	lr.SetInitiatorTaskTag(itt)
	lr.SetCmdSN(cmdSN)
	lr.SetExpStatSN(expStatSN)
	if err := w.Write(&h, nil, nil); err != nil {
		t.Fatal(err)
	}
	p, err := r.Read()
	if err != nil {
		t.Fatal(err)
	}
	if op := p.Header.Opcode(); op != pdu.OpLogoutResponse {
		t.Fatalf("logout answered with %v", op)
	}
	if resp := p.Header.LogoutResponse(); resp.Response() != 0 || resp.InitiatorTaskTag() != itt {
		t.Fatalf("logout response %v, ITT %d", resp.Response(), resp.InitiatorTaskTag())
	}
}

func startTGTD(t *testing.T) *peertest.TGTD {
	peertest.Require(t, "tgtd", "tgtadm")
	return peertest.StartTGTD(t,
		peertest.Target{Name: tgtdPlain, LUNs: []peertest.LUN{{Number: 1, Null: true}},
			Params: map[string]string{"HeaderDigest": "CRC32C,None", "DataDigest": "CRC32C,None"}},
		peertest.Target{Name: tgtdCHAP, LUNs: []peertest.LUN{{Number: 1, Null: true}},
			IncomingUser: "goinit", IncomingPassword: "goinit-secret-1"},
		peertest.Target{Name: tgtdMutual, LUNs: []peertest.LUN{{Number: 1, Null: true}},
			IncomingUser: "gomutual", IncomingPassword: "gomutual-secret-2",
			OutgoingUser: "tgtdout", OutgoingPassword: "tgtdout-secret-3"},
		peertest.Target{Name: tgtdStrict, LUNs: []peertest.LUN{{Number: 1, Null: true}},
			Params: map[string]string{"HeaderDigest": "CRC32C", "DataDigest": "CRC32C", "ImmediateData": "No", "MaxRecvDataSegmentLength": "1024"}},
	)
}

// TestInteropTGTDLogin logs in to tgtd with no authentication, one-way CHAP
// and mutual CHAP, then logs out.
func TestInteropTGTDLogin(t *testing.T) {
	d := startTGTD(t)
	digests := login.DefaultSettings()
	digests.HeaderDigest, digests.DataDigest = login.DigestPrefer, login.DigestPrefer
	digests.MaxRecvDataSegmentLength = 65536
	tests := []struct {
		name     string
		target   string
		chap     *login.CHAPCredentials
		mutual   *login.CHAPCredentials
		settings *login.Settings
		digests  bool
	}{
		{name: "no authentication, CRC32C digests", target: tgtdPlain, settings: &digests, digests: true},
		{name: "one-way CHAP", target: tgtdCHAP, chap: &login.CHAPCredentials{User: "goinit", Secret: "goinit-secret-1"}},
		{name: "mutual CHAP", target: tgtdMutual, chap: &login.CHAPCredentials{User: "gomutual", Secret: "gomutual-secret-2"},
			mutual: &login.CHAPCredentials{User: "tgtdout", Secret: "tgtdout-secret-3"}},
		// tgtd requiring header digests and refusing immediate data.
		{name: "target-imposed parameters", target: tgtdStrict, settings: &digests, digests: true},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, r, w := dial(t, d.Addr)
			res, err := login.Initiate(context.Background(), r, w, login.InitiatorConfig{
				InitiatorName: interopInitiator, TargetName: tt.target,
				ISID: pdu.NewISID(pdu.ISIDRandom, 0, uint16(0x4000+i), 7, 1), InitiatorTaskTag: 1, CmdSN: 1,
				CHAP: tt.chap, MutualCHAP: tt.mutual,
				// tgtd implements CHAP_A 5 (MD5) and calls 7 "SHA1".
				CHAPAlgorithms: []login.CHAPAlgorithm{login.CHAPMD5},
				Settings:       tt.settings,
			})
			if err != nil {
				t.Fatalf("login: %v\ntgtd log:\n%s", err, d.Log())
			}
			if res.TSIH == 0 || res.Session.TargetName != tt.target || res.Session.TargetPortalGroupTag != 1 {
				t.Errorf("result %+v", res)
			}
			if res.Conn.HeaderDigest != tt.digests || res.Conn.DataDigest != tt.digests {
				t.Errorf("digests %+v", res.Conn)
			}
			if tt.chap != nil && res.AuthMethod != "CHAP" {
				t.Errorf("AuthMethod %q", res.AuthMethod)
			}
			if res.MutualCHAP != (tt.mutual != nil) {
				t.Errorf("MutualCHAP %v", res.MutualCHAP)
			}
			if res.Session.MaxBurstLength < 512 {
				t.Errorf("MaxBurstLength %d", res.Session.MaxBurstLength)
			}
			if tt.target == tgtdStrict && (res.Session.ImmediateData || res.Conn.MaxXmitDataSegmentLength != 1024) {
				t.Errorf("target-imposed parameters not in force: %+v %+v", res.Session, res.Conn)
			}
			logoutSession(t, r, w, 2, res.CmdSN, res.ExpStatSN)
		})
	}

	t.Run("wrong CHAP secret", func(t *testing.T) {
		_, r, w := dial(t, d.Addr)
		_, err := login.Initiate(context.Background(), r, w, login.InitiatorConfig{
			InitiatorName: interopInitiator, TargetName: tgtdCHAP, ISID: pdu.NewISID(pdu.ISIDRandom, 0, 0x4100, 0, 1),
			CHAP:           &login.CHAPCredentials{User: "goinit", Secret: "not-the-secret"},
			CHAPAlgorithms: []login.CHAPAlgorithm{login.CHAPMD5},
		})
		var le *login.LoginError
		if !errors.As(err, &le) || le.Status != pdu.LoginAuthenticationFailure {
			t.Errorf("err %v, want authentication failure", err)
		}
	})
}

// TestInteropTGTDDiscovery runs a discovery session against tgtd:
// SendTargets=All, then logout.
func TestInteropTGTDDiscovery(t *testing.T) {
	d := startTGTD(t)
	_, r, w := dial(t, d.Addr)
	res, err := login.Initiate(context.Background(), r, w, login.InitiatorConfig{
		InitiatorName: interopInitiator, SessionType: login.SessionDiscovery,
		ISID: pdu.NewISID(pdu.ISIDRandom, 0, 0x4200, 0, 1), InitiatorTaskTag: 1, CmdSN: 1,
	})
	if err != nil {
		t.Fatalf("login: %v\ntgtd log:\n%s", err, d.Log())
	}
	x := &login.TextExchange{ITT: 2, CmdSN: res.CmdSN, ExpStatSN: res.ExpStatSN, MaxXmitDataSegmentLength: res.Conn.MaxXmitDataSegmentLength}
	targets, err := login.SendTargets(context.Background(), r, w, x, "All")
	if err != nil {
		t.Fatal(err)
	}
	found := map[string]bool{}
	for _, tg := range targets {
		found[tg.Name] = true
		ok := false
		for _, a := range tg.Addresses {
			if a.Host == "127.0.0.1" && strconv.Itoa(a.Port) == strconv.Itoa(d.Port) && a.HasPortalGroupTag {
				ok = true
			}
		}
		if !ok {
			t.Errorf("%s: addresses %v lack 127.0.0.1:%d", tg.Name, tg.Addresses, d.Port)
		}
	}
	for _, name := range []string{tgtdPlain, tgtdCHAP, tgtdMutual, tgtdStrict} {
		if !found[name] {
			t.Errorf("SendTargets did not report %s: %+v", name, targets)
		}
	}
	logoutSession(t, r, w, 3, res.CmdSN, x.ExpStatSN)
}

// testPortal is a target of this package listening on 127.0.0.1: it runs
// Accept, answers SendTargets with a TextResponder and ends the session at
// Logout.
type testPortal struct {
	ln      net.Listener
	cfg     login.TargetConfig
	targets []login.DiscoveredTarget
	wg      sync.WaitGroup
	mu      sync.Mutex
	results []*login.Result
	errs    []error
}

func startPortal(t *testing.T, cfg login.TargetConfig) *testPortal {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &testPortal{ln: ln, cfg: cfg}
	port := ln.Addr().(*net.TCPAddr).Port
	p.targets = []login.DiscoveredTarget{{Name: "iqn.2026-11.org.example.go-iscsi:disk1",
		Addresses: []login.TargetAddress{{Host: "127.0.0.1", Port: port, PortalGroupTag: 1, HasPortalGroupTag: true}}}}
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			p.wg.Add(1)
			go func() {
				defer p.wg.Done()
				defer c.Close()
				c.SetDeadline(time.Now().Add(30 * time.Second))
				res, err := p.serve(c)
				p.mu.Lock()
				p.results = append(p.results, res)
				p.errs = append(p.errs, err)
				p.mu.Unlock()
			}()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		p.wg.Wait()
	})
	return p
}

func (p *testPortal) serve(c net.Conn) (*login.Result, error) {
	r, w := pdu.NewReader(c), pdu.NewWriter(c)
	res, err := login.Accept(context.Background(), r, w, p.cfg)
	if err != nil {
		return nil, err
	}
	tr := &login.TextResponder{Discovery: res.Session.SessionType == login.SessionDiscovery,
		CurrentTarget: res.Session.TargetName, MaxXmitDataSegmentLength: res.Conn.MaxXmitDataSegmentLength,
		Targets: func() []login.DiscoveredTarget { return p.targets }}
	statSN, expCmdSN := res.ExpStatSN, res.ExpCmdSN
	for range 1000 {
		req, err := r.Read()
		if err != nil {
			return res, err
		}
		switch req.Header.Opcode() {
		case pdu.OpTextRequest:
			if !req.Header.Immediate() {
				expCmdSN++
			}
			resp, _, err := tr.Next(req)
			if err != nil {
				return res, err
			}
			h := resp.Header.TextResponse()
			h.SetStatSN(statSN)
			h.SetExpCmdSN(expCmdSN)
			h.SetMaxCmdSN(expCmdSN + 31)
			statSN++
			if err := w.Write(&resp.Header, nil, resp.Data); err != nil {
				return res, err
			}
		case pdu.OpLogoutRequest:
			lr := req.Header.LogoutRequest()
			if !req.Header.Immediate() {
				expCmdSN++
			}
			var h pdu.BHS
			out := h.LogoutResponse()
			out.Init()
			out.SetInitiatorTaskTag(lr.InitiatorTaskTag())
			out.SetStatSN(statSN)
			out.SetExpCmdSN(expCmdSN)
			out.SetMaxCmdSN(expCmdSN + 31)
			return res, w.Write(&h, nil, nil)
		default:
			return res, errors.New("unexpected " + req.Header.Opcode().String())
		}
	}
	return res, errors.New("too many requests")
}

func (p *testPortal) url(user string) string {
	return "iscsi://" + user + p.ln.Addr().String()
}

func (p *testPortal) outcome(t *testing.T) ([]*login.Result, []error) {
	t.Helper()
	p.ln.Close()
	p.wg.Wait()
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.results, p.errs
}

// TestInteropIscsiLs runs libiscsi's iscsi-ls (discovery) against this
// package's target side, without authentication, with CHAP, and with
// mutual CHAP.
func TestInteropIscsiLs(t *testing.T) {
	peertest.Require(t, "iscsi-ls")
	creds := map[string]login.CHAPCredentials{"lsuser": {User: "lsuser", Secret: "lsuser-secret-1"}}
	mutual := &login.CHAPCredentials{User: "gotarget", Secret: "gotarget-secret-2"}
	tests := []struct {
		name   string
		auth   []string
		url    func(*testPortal) string
		fails  bool
		mutual bool
	}{
		{name: "no authentication", url: func(p *testPortal) string { return p.url("") }},
		{name: "CHAP", auth: []string{"CHAP"}, url: func(p *testPortal) string { return p.url("lsuser%lsuser-secret-1@") }},
		{name: "mutual CHAP", auth: []string{"CHAP"}, mutual: true, url: func(p *testPortal) string {
			return p.url("lsuser%lsuser-secret-1@") + "?target_user=gotarget&target_password=gotarget-secret-2"
		}},
		{name: "wrong CHAP secret", auth: []string{"CHAP"}, url: func(p *testPortal) string { return p.url("lsuser%wrong-secret-00@") }, fails: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := startPortal(t, login.TargetConfig{
				DiscoveryAuthMethods: tt.auth,
				CHAP: func(iname, tname, user string) (string, *login.CHAPCredentials, bool) {
					c, ok := creds[user]
					return c.Secret, mutual, ok
				},
			})
			out, err := peertest.LibiscsiTool(t, context.Background(), "iscsi-ls", "-i", interopInitiator, tt.url(p))
			results, errs := p.outcome(t)
			if tt.fails {
				if err == nil {
					t.Errorf("iscsi-ls succeeded with a wrong secret:\n%s", out)
				}
				var le *login.LoginError
				if len(errs) == 0 || !errors.As(errs[0], &le) || le.Status != pdu.LoginAuthenticationFailure {
					t.Errorf("target outcome %v", errs)
				}
				return
			}
			if err != nil {
				t.Fatalf("iscsi-ls: %v\n%s\ntarget: %v", err, out, errs)
			}
			if !strings.Contains(out, p.targets[0].Name) {
				t.Errorf("iscsi-ls output lacks the target:\n%s", out)
			}
			if len(errs) == 0 || errs[0] != nil {
				t.Fatalf("target side: %v", errs)
			}
			if results[0].Session.SessionType != login.SessionDiscovery || results[0].Session.InitiatorName != interopInitiator {
				t.Errorf("result %+v", results[0].Session)
			}
			if tt.auth != nil && results[0].CHAPUser != "lsuser" {
				t.Errorf("CHAP user %q", results[0].CHAPUser)
			}
			if results[0].MutualCHAP != tt.mutual {
				t.Errorf("MutualCHAP %v", results[0].MutualCHAP)
			}
		})
	}
}
