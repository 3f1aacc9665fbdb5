package login

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/go-iscsi/iscsi/pdu"
)

// The golden captures of package pdu: libiscsi's tools against tgtd,
// recorded with tshark (pdu/testdata/golden/capture.sh), as raw TCP
// streams. Login and discovery happen before any digest is negotiated;
// goldenStream stops at the first PDU of the full feature phase, whose
// header it reads without its digest.
const goldenDir = "../pdu/testdata/golden"

func goldenStream(t *testing.T, scenario string, stream int, dir string) []*pdu.PDU {
	t.Helper()
	name := filepath.Join(goldenDir, scenario, "c"+num(uint64(stream))+"."+dir+".bin")
	b, err := os.ReadFile(name)
	if err != nil {
		t.Skipf("golden capture missing: %v", err)
	}
	var out []*pdu.PDU
	for len(b) > 0 {
		p, n, err := pdu.Decode(b, pdu.Digests{})
		if err != nil {
			t.Fatalf("%s: PDU %d: %v", name, len(out), err)
		}
		p.Data = bytes.Clone(p.Data)
		out = append(out, &p)
		b = b[n:]
		if op := p.Header.Opcode(); op != pdu.OpLoginRequest && op != pdu.OpLoginResponse && op != pdu.OpTextRequest && op != pdu.OpTextResponse {
			break // full feature phase: what follows may carry digests
		}
	}
	return out
}

// goldenStreams returns how many TCP streams a scenario recorded (complete
// pairs of files), 0 when the scenario is absent.
func goldenStreams(t *testing.T, scenario string) int {
	t.Helper()
	n := 0
	for {
		base := filepath.Join(goldenDir, scenario, "c"+num(uint64(n)))
		if _, err := os.Stat(base + ".i2t.bin"); err != nil {
			break
		}
		if _, err := os.Stat(base + ".t2i.bin"); err != nil {
			break
		}
		n++
	}
	if n == 0 {
		t.Logf("golden capture %s missing", scenario)
	}
	return n
}

func requireGolden(t *testing.T, scenario string) {
	t.Helper()
	if goldenStreams(t, scenario) == 0 {
		t.Skipf("golden capture %s missing", scenario)
	}
}

func loginPDUs(ps []*pdu.PDU) []*pdu.PDU {
	var out []*pdu.PDU
	for _, p := range ps {
		if op := p.Header.Opcode(); op == pdu.OpLoginRequest || op == pdu.OpLoginResponse {
			out = append(out, p)
		}
	}
	return out
}

// TestGoldenText parses the text of every Login and Text PDU libiscsi and
// tgtd exchanged.
func TestGoldenText(t *testing.T) {
	requireGolden(t, "discovery")
	for _, sc := range []string{"discovery", "chap", "session", "digest"} {
		for s := range goldenStreams(t, sc) {
			for _, dir := range []string{"i2t", "t2i"} {
				var acc TextAccumulator
				for _, p := range goldenStream(t, sc, s, dir) {
					op := p.Header.Opcode()
					var cont bool
					switch op {
					case pdu.OpLoginRequest, pdu.OpLoginResponse:
						cont = p.Header[1]&0x40 != 0
					case pdu.OpTextRequest, pdu.OpTextResponse:
						cont = p.Header[1]&0x40 != 0
					default:
						continue
					}
					done, err := acc.Add(p.Data, cont)
					if err != nil {
						t.Fatal(err)
					}
					if !done {
						continue
					}
					pairs, err := ParseText(acc.Bytes())
					if err == nil && op != pdu.OpTextResponse {
						err = CheckDuplicates(pairs)
					}
					if err != nil {
						t.Errorf("%s c%d %s %v: %v", sc, s, dir, op, err)
					}
				}
			}
		}
	}
}

// TestGoldenSendTargets parses tgtd's SendTargets answer.
func TestGoldenSendTargets(t *testing.T) {
	requireGolden(t, "discovery")
	for _, p := range goldenStream(t, "discovery", 0, "t2i") {
		if p.Header.Opcode() != pdu.OpTextResponse {
			continue
		}
		targets, err := ParseSendTargets(p.Data)
		if err != nil {
			t.Fatal(err)
		}
		if len(targets) != 2 {
			t.Fatalf("targets %+v", targets)
		}
		for _, tg := range targets {
			if !strings.HasPrefix(tg.Name, "iqn.2026-01.org.example.golden:") || len(tg.Addresses) == 0 ||
				tg.Addresses[0].Host != "127.0.0.1" || !tg.Addresses[0].HasPortalGroupTag {
				t.Errorf("target %+v", tg)
			}
		}
		return
	}
	t.Fatal("no Text Response in the capture")
}

// TestGoldenCHAP checks the CHAP responses on the wire against CHAPResponse:
// libiscsi's answer to tgtd's challenge (secret alicesecret1), the one with
// the wrong secret, and tgtd's mutual answer (secret targetsecret). The
// secrets are those of pdu/testdata/golden/chap/scenario.txt.
func TestGoldenCHAP(t *testing.T) {
	requireGolden(t, "chap")
	scenario, err := os.ReadFile(filepath.Join(goldenDir, "chap", "scenario.txt"))
	if err != nil {
		t.Skip(err)
	}
	for _, want := range []string{"alice%alicesecret1@", "alice%wrongsecret1@", "target_user=target&target_password=targetsecret"} {
		if !bytes.Contains(scenario, []byte(want)) {
			t.Skipf("chap capture made with other credentials than this test knows (%s)", want)
		}
	}
	type step struct{ id, challenge, user, response string }
	extract := func(s int) (fromTarget, fromInitiator step) {
		for _, dir := range []string{"t2i", "i2t"} {
			for _, p := range loginPDUs(goldenStream(t, "chap", s, dir)) {
				kv := pairsMap(mustParse(t, p.Data))
				st := &fromTarget
				if dir == "i2t" {
					st = &fromInitiator
				}
				if v, ok := kv["CHAP_I"]; ok {
					st.id, st.challenge = v, kv["CHAP_C"]
				}
				if v, ok := kv["CHAP_N"]; ok {
					st.user, st.response = v, kv["CHAP_R"]
				}
			}
		}
		return
	}
	check := func(id, challenge, secret, response string) bool {
		i, err := ParseNumber(id)
		if err != nil {
			t.Fatal(err)
		}
		c, err := ParseBinary(challenge)
		if err != nil {
			t.Fatal(err)
		}
		r, err := ParseBinary(response)
		if err != nil {
			t.Fatal(err)
		}
		return bytes.Equal(CHAPResponse(CHAPMD5, byte(i), []byte(secret), c), r)
	}
	tgt, ini := extract(0)
	if ini.user != "alice" || !check(tgt.id, tgt.challenge, "alicesecret1", ini.response) {
		t.Errorf("one-way: CHAP_R of %q does not match", ini.user)
	}
	tgt, ini = extract(1)
	if check(tgt.id, tgt.challenge, "alicesecret1", ini.response) {
		t.Errorf("wrong secret: CHAP_R matches")
	}
	tgt, ini = extract(2)
	if !check(tgt.id, tgt.challenge, "alicesecret1", ini.response) {
		t.Errorf("mutual: initiator CHAP_R does not match")
	}
	if tgt.user != "target" || !check(ini.id, ini.challenge, "targetsecret", tgt.response) {
		t.Errorf("mutual: target CHAP_R of %q does not match", tgt.user)
	}
}

// TestGoldenReplayTarget feeds libiscsi's Login Requests to the target
// machine: each login must succeed. In the digest scenario the target, like
// the tgtd of the capture, requires HeaderDigest=CRC32C; tgtd answered the
// first request with T=0 and libiscsi sent every key again, which the
// target accepts with AllowRepeatedKeys (it may also end the login sooner
// than tgtd did).
func TestGoldenReplayTarget(t *testing.T) {
	requireGolden(t, "discovery")
	type stream struct {
		scenario string
		n        int
		digest   bool // the target requires HeaderDigest=CRC32C
	}
	var streams []stream
	for _, sc := range []string{"discovery", "session", "digest"} {
		for i := range goldenStreams(t, sc) {
			streams = append(streams, stream{sc, i, sc == "digest"})
		}
	}
	for _, s := range streams {
		settings := DefaultSettings()
		if s.digest {
			settings.HeaderDigest = DigestRequire
		}
		m := NewTarget(TargetConfig{
			Lookup: func(name string) (TargetInfo, bool) {
				return TargetInfo{Name: name}, strings.HasPrefix(name, "iqn.2026-01.org.example.golden:")
			},
			PortalGroupTag: 1, Settings: &settings, AllowRepeatedKeys: true,
		})
		done := false
		for i, req := range loginPDUs(goldenStream(t, s.scenario, s.n, "i2t")) {
			var err error
			if _, done, err = m.Next(req); err != nil {
				t.Fatalf("%s c%d request %d: %v", s.scenario, s.n, i, err)
			}
			if done {
				break
			}
		}
		res, ok := m.Result()
		if !done || !ok || !strings.HasPrefix(res.Session.InitiatorName, "iqn.2007-10.com.github:sahlberg:libiscsi") {
			t.Fatalf("%s c%d: done %v, result %+v", s.scenario, s.n, done, res)
		}
		if res.Conn.HeaderDigest != s.digest || res.Conn.DataDigest {
			t.Errorf("%s c%d: digests %+v", s.scenario, s.n, res.Conn)
		}
	}
}

// TestGoldenReplayInitiator feeds tgtd's Login Responses to the initiator
// machine, configured with the ISID and ITT libiscsi used: the operational
// login of a normal session, and one-way CHAP, where the initiator's
// CHAP_R must equal libiscsi's.
func TestGoldenReplayInitiator(t *testing.T) {
	for _, tc := range []struct {
		scenario string
		n        int
		chap     *CHAPCredentials
		digest   bool
	}{
		{"session", 1, nil, false},
		{"chap", 0, &CHAPCredentials{User: "alice", Secret: "alicesecret1"}, false},
		// tgtd requires CRC32C header digests and answers the first
		// request with T=0.
		{"digest", 0, nil, true},
	} {
		if goldenStreams(t, tc.scenario) <= tc.n {
			continue
		}
		reqs := loginPDUs(goldenStream(t, tc.scenario, tc.n, "i2t"))
		resps := loginPDUs(goldenStream(t, tc.scenario, tc.n, "t2i"))
		first := reqs[0].Header.LoginRequest()
		kv := pairsMap(mustParse(t, reqs[0].Data))
		m, err := NewInitiator(InitiatorConfig{
			InitiatorName: kv["InitiatorName"], TargetName: kv["TargetName"],
			ISID: first.ISID(), InitiatorTaskTag: first.InitiatorTaskTag(), CmdSN: first.CmdSN(),
			CHAP: tc.chap, CHAPAlgorithms: []CHAPAlgorithm{CHAPMD5}, SkipSecurity: tc.chap == nil,
		})
		if err != nil {
			t.Fatal(err)
		}
		m.Start()
		var wantR string
		sawR := false
		for _, r := range reqs {
			if v, ok := pairsMap(mustParse(t, r.Data))["CHAP_R"]; ok {
				wantR = strings.ToLower(v)
			}
		}
		for i, resp := range resps {
			req, done, err := m.Next(resp)
			if err != nil {
				t.Fatalf("%s c%d response %d: %v", tc.scenario, tc.n, i, err)
			}
			if done {
				if i != len(resps)-1 {
					t.Fatalf("%s c%d: done after response %d of %d", tc.scenario, tc.n, i, len(resps))
				}
				break
			}
			if r, ok := pairsMap(mustParse(t, req.Data))["CHAP_R"]; ok {
				sawR = true
				if r != wantR {
					t.Errorf("CHAP_R %s, libiscsi sent %s", r, wantR)
				}
			}
		}
		if sawR != (tc.chap != nil) {
			t.Errorf("%s c%d: CHAP_R sent: %v", tc.scenario, tc.n, sawR)
		}
		res, ok := m.Result()
		if !ok || res.TSIH == 0 || res.Session.TargetPortalGroupTag != 1 {
			t.Fatalf("%s c%d: result %+v", tc.scenario, tc.n, res)
		}
		if res.Conn.HeaderDigest != tc.digest {
			t.Errorf("%s c%d: conn %+v", tc.scenario, tc.n, res.Conn)
		}
	}
}
