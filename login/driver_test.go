package login

import (
	"context"
	"errors"
	"fmt"
	"net"
	"testing"

	"github.com/go-iscsi/iscsi/pdu"
	"github.com/google/go-cmp/cmp"
)

const (
	testIQN    = "iqn.2026-11.org.example:initiator"
	testTarget = "iqn.2026-11.org.example:disk1"
)

var (
	aliceCreds  = CHAPCredentials{User: "alice", Secret: "alice-secret-123"}
	targetCreds = CHAPCredentials{User: "disk1", Secret: "target-secret-456"}
)

func testTargetConfig(auth []string) TargetConfig {
	return TargetConfig{
		Lookup: func(name string) (TargetInfo, bool) {
			if name != testTarget {
				return TargetInfo{}, false
			}
			return TargetInfo{Name: testTarget, Alias: "disk one", AuthMethods: auth}, true
		},
		PortalGroupTag: 1,
		CHAP: func(iname, tname, user string) (string, *CHAPCredentials, bool) {
			if user != aliceCreds.User {
				return "", nil, false
			}
			m := targetCreds
			return aliceCreds.Secret, &m, true
		},
		StatSN: 100,
	}
}

type loginOutcome struct {
	ini, tgt       *Result
	iniErr, tgtErr error
}

// pipeLogin runs Initiate and Accept over net.Pipe with pdu framing.
func pipeLogin(t *testing.T, icfg InitiatorConfig, tcfg TargetConfig) loginOutcome {
	t.Helper()
	c1, c2 := net.Pipe()
	defer c1.Close()
	defer c2.Close()
	ctx := context.Background()
	var out loginOutcome
	ch := make(chan struct{})
	go func() {
		defer close(ch)
		out.tgt, out.tgtErr = Accept(ctx, pdu.NewReader(c2), pdu.NewWriter(c2), tcfg)
		if out.tgtErr != nil {
			c2.Close()
		}
	}()
	out.ini, out.iniErr = Initiate(ctx, pdu.NewReader(c1), pdu.NewWriter(c1), icfg)
	if out.iniErr != nil {
		c1.Close()
	}
	<-ch
	return out
}

func TestFullLogin(t *testing.T) {
	digests := DefaultSettings()
	digests.HeaderDigest, digests.DataDigest = DigestPrefer, DigestPrefer
	digests.MaxRecvDataSegmentLength = 65536
	tests := []struct {
		name     string
		auth     []string
		chap     *CHAPCredentials
		mutual   *CHAPCredentials
		algs     []CHAPAlgorithm
		wantAlgs CHAPAlgorithm
	}{
		{name: "no authentication", auth: nil},
		{name: "mutual CHAP SHA-256", auth: []string{"CHAP"}, chap: &aliceCreds, mutual: &targetCreds, algs: []CHAPAlgorithm{CHAPSHA256, CHAPMD5}},
		{name: "one-way CHAP MD5", auth: []string{"CHAP"}, chap: &aliceCreds, algs: []CHAPAlgorithm{CHAPMD5}},
		{name: "mutual CHAP MD5", auth: []string{"CHAP", "None"}, chap: &aliceCreds, mutual: &targetCreds, algs: []CHAPAlgorithm{CHAPMD5}},
		{name: "mutual CHAP default algorithms", auth: []string{"CHAP"}, chap: &aliceCreds, mutual: &targetCreds},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			icfg := InitiatorConfig{
				InitiatorName: testIQN, TargetName: testTarget,
				ISID: pdu.NewISID(pdu.ISIDType(2), 0, 0x1234, 0, 1), InitiatorTaskTag: 7, CmdSN: 1,
				CHAP: tt.chap, MutualCHAP: tt.mutual, CHAPAlgorithms: tt.algs, Settings: &digests,
			}
			out := pipeLogin(t, icfg, testTargetConfig(tt.auth))
			if out.iniErr != nil || out.tgtErr != nil {
				t.Fatalf("initiator: %v; target: %v", out.iniErr, out.tgtErr)
			}
			want := DefaultSessionParams()
			want.InitiatorName, want.TargetName = testIQN, testTarget
			want.TargetPortalGroupTag, want.TargetAlias = 1, "disk one"
			if diff := cmp.Diff(want, out.ini.Session); diff != "" {
				t.Errorf("initiator session (-want +got):\n%s", diff)
			}
			want.TargetAlias = "disk one"
			if diff := cmp.Diff(want, out.tgt.Session); diff != "" {
				t.Errorf("target session (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(ConnParams{HeaderDigest: true, DataDigest: true, MaxRecvDataSegmentLength: 65536, MaxXmitDataSegmentLength: 8192}, out.ini.Conn); diff != "" {
				t.Errorf("initiator conn (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(ConnParams{HeaderDigest: true, DataDigest: true, MaxRecvDataSegmentLength: 8192, MaxXmitDataSegmentLength: 65536}, out.tgt.Conn); diff != "" {
				t.Errorf("target conn (-want +got):\n%s", diff)
			}
			if out.ini.TSIH == 0 || out.ini.TSIH != out.tgt.TSIH {
				t.Errorf("TSIH initiator %d target %d", out.ini.TSIH, out.tgt.TSIH)
			}
			if out.ini.StatSN != out.tgt.StatSN || out.ini.StatSN < 100 {
				t.Errorf("StatSN initiator %d target %d", out.ini.StatSN, out.tgt.StatSN)
			}
			if out.ini.ExpCmdSN != 1 || out.ini.CmdSN != 1 {
				t.Errorf("CmdSN %d ExpCmdSN %d", out.ini.CmdSN, out.ini.ExpCmdSN)
			}
			wantAuth := None
			if tt.chap != nil {
				wantAuth = "CHAP"
				if out.tgt.CHAPUser != "alice" {
					t.Errorf("CHAP user %q", out.tgt.CHAPUser)
				}
			}
			if out.ini.AuthMethod != wantAuth || out.tgt.AuthMethod != wantAuth {
				t.Errorf("AuthMethod initiator %q target %q", out.ini.AuthMethod, out.tgt.AuthMethod)
			}
			if want := tt.mutual != nil; out.ini.MutualCHAP != want || out.tgt.MutualCHAP != want {
				t.Errorf("MutualCHAP initiator %v target %v", out.ini.MutualCHAP, out.tgt.MutualCHAP)
			}
		})
	}
}

// TestLoginSkipSecurity starts in the operational stage (RFC 7143 §6.3.1).
func TestLoginSkipSecurity(t *testing.T) {
	out := pipeLogin(t, InitiatorConfig{InitiatorName: testIQN, TargetName: testTarget, SkipSecurity: true}, testTargetConfig(nil))
	if out.iniErr != nil || out.tgtErr != nil {
		t.Fatalf("initiator: %v; target: %v", out.iniErr, out.tgtErr)
	}
	if out.ini.AuthMethod != None || out.tgt.AuthMethod != None || out.ini.TSIH != out.tgt.TSIH {
		t.Errorf("results %+v %+v", out.ini, out.tgt)
	}
}

func TestFullLoginFailures(t *testing.T) {
	tests := []struct {
		name   string
		icfg   func(*InitiatorConfig)
		auth   []string
		status pdu.LoginStatus
	}{
		{"wrong CHAP secret", func(c *InitiatorConfig) {
			c.CHAP = &CHAPCredentials{User: "alice", Secret: "wrong-secret-000"}
		}, []string{"CHAP"}, pdu.LoginAuthenticationFailure},
		{"no CHAP when required", nil, []string{"CHAP"}, pdu.LoginAuthenticationFailure},
		{"unknown target", func(c *InitiatorConfig) { c.TargetName = "iqn.2026-11.org.example:nope" }, nil, pdu.LoginNotFound},
		{"session does not exist", func(c *InitiatorConfig) { c.TSIH = 99 }, nil, pdu.LoginSessionDoesNotExist},
		{"security skipped when CHAP required", func(c *InitiatorConfig) { c.SkipSecurity = true }, []string{"CHAP"}, pdu.LoginAuthenticationFailure},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			icfg := InitiatorConfig{InitiatorName: testIQN, TargetName: testTarget, ISID: pdu.NewISID(2, 0, 1, 0, 1)}
			if tt.icfg != nil {
				tt.icfg(&icfg)
			}
			out := pipeLogin(t, icfg, testTargetConfig(tt.auth))
			var ie, te *LoginError
			if !errors.As(out.iniErr, &ie) || ie.Status != tt.status {
				t.Errorf("initiator error %v, want status %v", out.iniErr, tt.status)
			}
			if !errors.As(out.tgtErr, &te) || te.Status != tt.status {
				t.Errorf("target error %v, want status %v", out.tgtErr, tt.status)
			}
		})
	}
}

// serveText answers Text Requests with a TextResponder until the initiator
// sends a Logout Request, which it answers (RFC 7143 §11.14, §11.15).
func serveText(r *pdu.Reader, w *pdu.Writer, res *Result, x *TextResponder) error {
	statSN := res.ExpStatSN
	expCmdSN := res.ExpCmdSN
	for range 1000 {
		p, err := r.Read()
		if err != nil {
			return err
		}
		switch p.Header.Opcode() {
		case pdu.OpTextRequest:
			if !p.Header.Immediate() {
				expCmdSN++
			}
			resp, _, err := x.Next(p)
			if err != nil {
				return err
			}
			tr := resp.Header.TextResponse()
			tr.SetStatSN(statSN)
			tr.SetExpCmdSN(expCmdSN)
			tr.SetMaxCmdSN(expCmdSN + 31)
			statSN++
			if err := w.Write(&resp.Header, nil, resp.Data); err != nil {
				return err
			}
		case pdu.OpLogoutRequest:
			lr := p.Header.LogoutRequest()
			var h pdu.BHS
			out := h.LogoutResponse()
			out.Init()
			out.SetInitiatorTaskTag(lr.InitiatorTaskTag())
			out.SetStatSN(statSN)
			out.SetExpCmdSN(lr.CmdSN() + 1)
			out.SetMaxCmdSN(lr.CmdSN() + 32)
			return w.Write(&h, nil, nil)
		default:
			return errors.New("unexpected " + p.Header.Opcode().String())
		}
	}
	return errors.New("too many requests")
}

// logout sends a Logout Request closing the session and reads its
// response (RFC 7143 §11.14, §11.15).
func logout(r *pdu.Reader, w *pdu.Writer, itt, cmdSN, expStatSN uint32) error {
	var h pdu.BHS
	lr := h.LogoutRequest()
	lr.Init()
	lr.SetImmediate(true)
	lr.SetReasonCode(0) // close the session
	lr.SetInitiatorTaskTag(itt)
	lr.SetCmdSN(cmdSN)
	lr.SetExpStatSN(expStatSN)
	if err := w.Write(&h, nil, nil); err != nil {
		return err
	}
	p, err := r.Read()
	if err != nil {
		return err
	}
	if p.Header.Opcode() != pdu.OpLogoutResponse {
		return errors.New("got " + p.Header.Opcode().String())
	}
	if resp := p.Header.LogoutResponse(); resp.Response() != 0 || resp.InitiatorTaskTag() != itt {
		return errors.New("logout failed")
	}
	return nil
}

func TestDiscoverySession(t *testing.T) {
	targets := []DiscoveredTarget{
		{Name: testTarget, Addresses: []TargetAddress{{Host: "127.0.0.1", Port: 3260, PortalGroupTag: 1, HasPortalGroupTag: true}, {Host: "::1", Port: 3260, PortalGroupTag: 1, HasPortalGroupTag: true}}},
	}
	// Enough targets that the answer spans several Text Responses.
	for i := range 300 {
		targets = append(targets, DiscoveredTarget{Name: testTarget + "-" + string(rune('a'+i%26)) + num(uint64(i)),
			Addresses: []TargetAddress{{Host: "storage.example.org", Port: 3261, PortalGroupTag: uint16(i), HasPortalGroupTag: true}}})
	}
	c1, c2 := net.Pipe()
	defer c1.Close()
	defer c2.Close()
	ctx := context.Background()
	errc := make(chan error, 1)
	go func() {
		r, w := pdu.NewReader(c2), pdu.NewWriter(c2)
		res, err := Accept(ctx, r, w, testTargetConfig(nil))
		if err != nil {
			errc <- err
			return
		}
		if res.Session.SessionType != SessionDiscovery {
			errc <- errors.New("not a discovery session")
			return
		}
		if res.ExpStatSN != res.StatSN+1 {
			errc <- fmt.Errorf("target Result.ExpStatSN %d, want StatSN+1 = %d", res.ExpStatSN, res.StatSN+1)
			return
		}
		errc <- serveText(r, w, res, &TextResponder{Discovery: true, MaxXmitDataSegmentLength: res.Conn.MaxXmitDataSegmentLength,
			Targets: func() []DiscoveredTarget { return targets }})
	}()
	r, w := pdu.NewReader(c1), pdu.NewWriter(c1)
	s := DefaultSettings()
	s.HeaderDigest, s.DataDigest = DigestRequire, DigestRequire
	s.MaxRecvDataSegmentLength = 4096
	res, err := Initiate(ctx, r, w, InitiatorConfig{InitiatorName: testIQN, SessionType: SessionDiscovery,
		ISID: pdu.NewISID(2, 0, 7, 0, 1), InitiatorTaskTag: 1, CmdSN: 5, Settings: &s})
	if err != nil {
		t.Fatal(err)
	}
	if !res.Conn.HeaderDigest || !res.Conn.DataDigest {
		t.Errorf("digests not negotiated: %+v", res.Conn)
	}
	if res.ExpStatSN != res.StatSN+1 {
		t.Errorf("Result.ExpStatSN %d, want StatSN+1 = %d", res.ExpStatSN, res.StatSN+1)
	}
	x := &TextExchange{ITT: 2, CmdSN: res.CmdSN, ExpStatSN: res.ExpStatSN, MaxXmitDataSegmentLength: res.Conn.MaxXmitDataSegmentLength}
	got, err := SendTargets(ctx, r, w, x, "All")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(targets, got); diff != "" {
		t.Errorf("targets (-want +got):\n%s", diff)
	}
	if err := logout(r, w, 3, res.CmdSN, x.ExpStatSN); err != nil {
		t.Fatal(err)
	}
	if err := <-errc; err != nil {
		t.Fatalf("target: %v", err)
	}
}
