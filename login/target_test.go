package login

import (
	"errors"
	"testing"

	"github.com/go-iscsi/iscsi/pdu"
)

// loginReq builds a Login Request PDU.
type loginReq struct {
	csg, nsg   Stage
	t, c       bool
	tsih       uint16
	itt        uint32
	cid        uint16
	cmdSN      uint32
	isid       pdu.ISID
	versionMin uint8
	pairs      []Pair
	raw        []byte // used instead of pairs when set
	opcode     pdu.Opcode
}

func (l loginReq) pdu() *pdu.PDU {
	p := &pdu.PDU{}
	if l.opcode != 0 {
		p.Header.SetOpcode(l.opcode)
		p.Header.SetInitiatorTaskTag(l.itt)
		return p
	}
	r := p.Header.LoginRequest()
	r.Init()
	r.SetCSG(pdu.Stage(l.csg))
	r.SetTransit(l.t)
	r.SetContinue(l.c)
	if l.t {
		r.SetNSG(pdu.Stage(l.nsg))
	}
	r.SetISID(l.isid)
	r.SetTSIH(l.tsih)
	r.SetInitiatorTaskTag(l.itt)
	r.SetCID(l.cid)
	r.SetCmdSN(l.cmdSN)
	r.SetVersionMin(l.versionMin)
	p.Data = l.raw
	if p.Data == nil {
		p.Data = AppendText(nil, l.pairs...)
	}
	p.Header.SetDataSegmentLength(uint32(len(p.Data)))
	return p
}

var firstPairs = []Pair{{"InitiatorName", testIQN}, {"TargetName", testTarget}, {"SessionType", "Normal"}}

func withPairs(extra ...Pair) []Pair {
	return append(append([]Pair{}, firstPairs...), extra...)
}

// step is one request and the expected outcome.
type step struct {
	req    loginReq
	status pdu.LoginStatus
	t      bool // expected T bit of the response
	done   bool // login ended
	check  func(*testing.T, *pdu.PDU)
}

func runTarget(t *testing.T, cfg TargetConfig, steps []step) *Target {
	t.Helper()
	m := NewTarget(cfg)
	for i, s := range steps {
		resp, done, err := m.Next(s.req.pdu())
		if resp == nil {
			t.Fatalf("step %d: no response (err %v)", i, err)
		}
		lr := resp.Header.LoginResponse()
		if lr.Status() != s.status {
			t.Fatalf("step %d: status %v (%v), want %v", i, lr.Status(), err, s.status)
		}
		if s.status != pdu.LoginSuccess {
			var le *LoginError
			if !errors.As(err, &le) || le.Status != s.status || !done {
				t.Fatalf("step %d: err %v done %v", i, err, done)
			}
			if i == 0 && resp.Header.LoginResponse().InitiatorTaskTag() != s.req.itt {
				t.Errorf("step %d: ITT not echoed", i)
			}
			// RFC 7143 §6.3.1: in a Login reject the T bit, CSG and
			// NSG are reserved.
			if lr.Transit() || lr.CSG() != 0 || lr.NSG() != 0 {
				t.Errorf("step %d: reject with T %v CSG %v NSG %v", i, lr.Transit(), lr.CSG(), lr.NSG())
			}
			if s.check != nil {
				s.check(t, resp)
			}
			return m
		}
		if err != nil {
			t.Fatalf("step %d: %v", i, err)
		}
		if lr.Transit() != s.t || done != s.done {
			t.Fatalf("step %d: T %v done %v, want %v %v", i, lr.Transit(), done, s.t, s.done)
		}
		if err := lr.Validate(); err != nil {
			t.Fatalf("step %d: invalid response: %v", i, err)
		}
		if s.check != nil {
			s.check(t, resp)
		}
	}
	return m
}

func respPairs(t *testing.T, p *pdu.PDU) map[string]string {
	t.Helper()
	pairs, err := ParseText(p.Data)
	if err != nil {
		t.Fatal(err)
	}
	return pairsMap(pairs)
}

func TestTargetTransitions(t *testing.T) {
	sec, op, ffp := SecurityNegotiation, LoginOperationalNegotiation, FullFeaturePhase
	none := testTargetConfig(nil)
	chap := testTargetConfig([]string{"CHAP"})
	tests := []struct {
		name  string
		cfg   TargetConfig
		steps []step
	}{
		{"security then operational then full feature", none, []step{
			{req: loginReq{csg: sec, nsg: op, t: true, pairs: withPairs(Pair{"AuthMethod", "None"})}, t: true, check: func(t *testing.T, p *pdu.PDU) {
				kv := respPairs(t, p)
				if kv["AuthMethod"] != "None" || kv["TargetPortalGroupTag"] != "1" {
					t.Errorf("response keys %v", kv)
				}
				if p.Header.LoginResponse().TSIH() != 0 || p.Header.LoginResponse().StatSN() != 100 {
					t.Errorf("TSIH/StatSN before the end")
				}
			}},
			{req: loginReq{csg: op, nsg: ffp, t: true, pairs: []Pair{{"MaxBurstLength", "65536"}}}, t: true, done: true, check: func(t *testing.T, p *pdu.PDU) {
				lr := p.Header.LoginResponse()
				if lr.TSIH() == 0 || lr.StatSN() != 101 || lr.NSG() != pdu.FullFeaturePhase {
					t.Errorf("final response TSIH %d StatSN %d NSG %v", lr.TSIH(), lr.StatSN(), lr.NSG())
				}
			}},
		}},
		{"operational straight away", none, []step{
			{req: loginReq{csg: op, nsg: ffp, t: true, pairs: withPairs()}, t: true, done: true},
		}},
		{"security straight to full feature", none, []step{
			{req: loginReq{csg: sec, nsg: ffp, t: true, pairs: withPairs(Pair{"AuthMethod", "None"})}, t: true, done: true},
		}},
		{"no transit without T", none, []step{
			{req: loginReq{csg: sec, pairs: withPairs(Pair{"AuthMethod", "None"})}, t: false},
			{req: loginReq{csg: sec, nsg: op, t: true}, t: true},
		}},
		{"text spanning PDUs", none, []step{
			{req: loginReq{csg: op, c: true, raw: []byte("InitiatorName=" + testIQN[:10])}, t: false},
			{req: loginReq{csg: op, c: true, raw: []byte(testIQN[10:] + "\x00TargetName=")}, t: false},
			{req: loginReq{csg: op, nsg: ffp, t: true, raw: []byte(testTarget + "\x00")}, t: true, done: true},
		}},
		// Illegal transitions and faults.
		{"wrong stage order", none, []step{
			{req: loginReq{csg: sec, nsg: op, t: true, pairs: withPairs(Pair{"AuthMethod", "None"})}, t: true},
			{req: loginReq{csg: sec, nsg: op, t: true}, status: pdu.LoginInitiatorError},
		}},
		{"T bit with NSG not after CSG", none, []step{
			{req: loginReq{csg: op, nsg: sec, t: true, pairs: withPairs()}, status: pdu.LoginInitiatorError},
		}},
		{"T and C both set", none, []step{
			{req: loginReq{csg: sec, nsg: op, t: true, c: true, pairs: withPairs()}, status: pdu.LoginInitiatorError},
		}},
		{"login starting in full feature", none, []step{
			{req: loginReq{csg: ffp, pairs: withPairs()}, status: pdu.LoginInitiatorError},
		}},
		{"CHAP before AuthMethod agreed", chap, []step{
			{req: loginReq{csg: sec, pairs: withPairs(Pair{"CHAP_A", "5"})}, status: pdu.LoginInitiatorError},
		}},
		{"CHAP keys when None agreed", chap, []step{
			{req: loginReq{csg: sec, pairs: withPairs(Pair{"AuthMethod", "CHAP"})}},
			{req: loginReq{csg: sec, pairs: []Pair{{"CHAP_N", "alice"}}}, status: pdu.LoginInitiatorError},
		}},
		{"CHAP step without its keys", chap, []step{
			{req: loginReq{csg: sec, pairs: withPairs(Pair{"AuthMethod", "CHAP"})}},
			{req: loginReq{csg: sec, nsg: op, t: true}, status: pdu.LoginMissingParameter},
		}},
		{"no common CHAP algorithm", chap, []step{
			{req: loginReq{csg: sec, pairs: withPairs(Pair{"AuthMethod", "CHAP"})}},
			{req: loginReq{csg: sec, pairs: []Pair{{"CHAP_A", "1,2"}}}, status: pdu.LoginAuthenticationFailure},
		}},
		{"security skipped when CHAP required", chap, []step{
			{req: loginReq{csg: op, nsg: ffp, t: true, pairs: withPairs()}, status: pdu.LoginAuthenticationFailure},
		}},
		{"AuthMethod None refused", chap, []step{
			{req: loginReq{csg: sec, nsg: op, t: true, pairs: withPairs(Pair{"AuthMethod", "None"})}, status: pdu.LoginAuthenticationFailure},
		}},
		{"missing InitiatorName", none, []step{
			{req: loginReq{csg: sec, pairs: []Pair{{"TargetName", testTarget}}}, status: pdu.LoginMissingParameter},
		}},
		{"missing TargetName", none, []step{
			{req: loginReq{csg: sec, pairs: []Pair{{"InitiatorName", testIQN}}}, status: pdu.LoginMissingParameter},
		}},
		{"unknown target", none, []step{
			{req: loginReq{csg: sec, pairs: []Pair{{"InitiatorName", testIQN}, {"TargetName", "iqn.2026-11.org.example:none"}}}, status: pdu.LoginNotFound},
		}},
		{"bad session type", none, []step{
			{req: loginReq{csg: sec, pairs: withPairs()[:2:2]}, t: false},
		}},
		{"unsupported session type", none, []step{
			{req: loginReq{csg: sec, pairs: []Pair{{"InitiatorName", testIQN}, {"SessionType", "Special"}}}, status: pdu.LoginSessionTypeNotSupported},
		}},
		{"unsupported version", none, []step{
			{req: loginReq{csg: sec, versionMin: 1, pairs: withPairs()}, status: pdu.LoginUnsupportedVersion},
		}},
		{"non-login PDU during login", none, []step{
			{req: loginReq{opcode: pdu.OpSCSICommand, itt: 9}, status: pdu.LoginInvalidDuringLogin},
		}},
		{"ITT changed mid-login", none, []step{
			{req: loginReq{csg: sec, pairs: withPairs(Pair{"AuthMethod", "None"})}},
			{req: loginReq{csg: sec, itt: 1}, status: pdu.LoginInitiatorError},
		}},
		{"CID changed mid-login", none, []step{
			{req: loginReq{csg: sec, pairs: withPairs(Pair{"AuthMethod", "None"})}},
			{req: loginReq{csg: sec, cid: 1}, status: pdu.LoginInitiatorError},
		}},
		{"ISID changed mid-login", none, []step{
			{req: loginReq{csg: sec, pairs: withPairs(Pair{"AuthMethod", "None"})}},
			{req: loginReq{csg: sec, isid: pdu.ISID{1}}, status: pdu.LoginInitiatorError},
		}},
		{"key repeated across PDUs", none, []step{
			{req: loginReq{csg: op, pairs: withPairs(Pair{"MaxBurstLength", "65536"})}},
			{req: loginReq{csg: op, pairs: []Pair{{"MaxBurstLength", "65536"}}}, status: pdu.LoginInitiatorError},
		}},
		{"key repeated in one PDU", none, []step{
			{req: loginReq{csg: op, pairs: withPairs(Pair{"MaxBurstLength", "65536"}, Pair{"MaxBurstLength", "512"})}, status: pdu.LoginInitiatorError},
		}},
		// RFC 7143 §6.3: a key not allowed in the current stage is a
		// protocol error, a Login reject with Initiator error.
		{"operational key in security stage", none, []step{
			{req: loginReq{csg: sec, pairs: withPairs(Pair{"MaxBurstLength", "65536"})}, status: pdu.LoginInitiatorError},
		}},
		{"security key in operational stage", none, []step{
			{req: loginReq{csg: op, pairs: withPairs(Pair{"AuthMethod", "None"})}, status: pdu.LoginInitiatorError},
		}},
		// RFC 7143 §6.2: Reject proposed is a protocol error.
		{"reserved constant proposed", none, []step{
			{req: loginReq{csg: op, pairs: withPairs(Pair{"ImmediateData", "Reject"})}, status: pdu.LoginInitiatorError},
		}},
		{"ill-formed text", none, []step{
			{req: loginReq{csg: op, raw: []byte("InitiatorName")}, status: pdu.LoginInitiatorError},
		}},
		{"discovery disabled", TargetConfig{DisableDiscovery: true}, []step{
			{req: loginReq{csg: sec, pairs: []Pair{{"InitiatorName", testIQN}, {"SessionType", "Discovery"}}}, status: pdu.LoginSessionTypeNotSupported},
		}},
		{"redirect", TargetConfig{Lookup: func(string) (TargetInfo, bool) {
			return TargetInfo{Name: testTarget, Redirect: []TargetAddress{{Host: "10.1.1.1", Port: 3260, PortalGroupTag: 2, HasPortalGroupTag: true}}}, true
		}}, []step{
			{req: loginReq{csg: sec, pairs: withPairs()}, status: pdu.LoginTargetMovedTemporarily, check: func(t *testing.T, p *pdu.PDU) {
				// RFC 7143 §13.8: no portal group tag in a redirect.
				if got := string(p.Data); got != "TargetAddress=10.1.1.1:3260\x00" {
					t.Errorf("redirect text %q", got)
				}
			}},
		}},
		{"discovery login declares TargetPortalGroupTag", none, []step{
			// RFC 7143 §6.3.1: for all session types.
			{req: loginReq{csg: sec, nsg: op, t: true, pairs: []Pair{{"InitiatorName", testIQN}, {"SessionType", "Discovery"}, {"AuthMethod", "None"}}}, t: true, check: func(t *testing.T, p *pdu.PDU) {
				if kv := respPairs(t, p); kv["TargetPortalGroupTag"] != "1" {
					t.Errorf("response keys %v", kv)
				}
			}},
		}},
		{"reject in the operational stage", none, []step{
			{req: loginReq{csg: op, pairs: withPairs()}},
			{req: loginReq{csg: op, pairs: []Pair{{"ImmediateData", "Maybe"}, {"InitiatorName", testIQN}}}, status: pdu.LoginInitiatorError},
		}},
		{"invalid target settings", TargetConfig{Settings: &Settings{}, Lookup: testTargetConfig(nil).Lookup}, []step{
			{req: loginReq{csg: sec, pairs: withPairs()}, status: pdu.LoginTargetError},
		}},
		{"target removed", TargetConfig{Lookup: func(string) (TargetInfo, bool) { return TargetInfo{Name: testTarget, Removed: true}, true }}, []step{
			{req: loginReq{csg: sec, pairs: withPairs()}, status: pdu.LoginTargetRemoved},
		}},
		{"target unavailable", TargetConfig{Lookup: func(string) (TargetInfo, bool) { return TargetInfo{Name: testTarget, Unavailable: true}, true }}, []step{
			{req: loginReq{csg: sec, pairs: withPairs()}, status: pdu.LoginServiceUnavailable},
		}},
		{"authorization failure", TargetConfig{Lookup: func(string) (TargetInfo, bool) {
			return TargetInfo{Name: testTarget, Authorize: func(string, string) bool { return false }}, true
		}}, []step{
			{req: loginReq{csg: sec, nsg: op, t: true, pairs: withPairs(Pair{"AuthMethod", "None"})}, status: pdu.LoginAuthorizationFailure},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { runTarget(t, tt.cfg, tt.steps) })
	}
}

// TestTargetSecondConnection adds a connection to a session: leading-only
// keys are rejected there (RFC 7143 §13), and the session must exist with
// the same ISID and names (§6.3.1).
func TestTargetSecondConnection(t *testing.T) {
	reg := &MemoryRegistry{}
	cfg := testTargetConfig(nil)
	cfg.Sessions = reg
	s := DefaultSettings()
	s.MaxConnections = 2
	cfg.Settings = &s
	isid := pdu.ISID{0x80, 0, 0, 1, 0, 1}
	m := runTarget(t, cfg, []step{
		{req: loginReq{isid: isid, csg: LoginOperationalNegotiation, nsg: FullFeaturePhase, t: true, pairs: withPairs(Pair{"MaxConnections", "4"})}, t: true, done: true},
	})
	res, ok := m.Result()
	if !ok || res.Session.MaxConnections != 2 {
		t.Fatalf("leading login: %+v", res)
	}
	second := loginReq{isid: isid, tsih: res.TSIH, cid: 1, csg: LoginOperationalNegotiation, nsg: FullFeaturePhase, t: true,
		pairs: []Pair{{"InitiatorName", testIQN}, {"TargetName", testTarget}, {"MaxBurstLength", "4096"}, {"HeaderDigest", "CRC32C,None"}}}
	runTarget(t, cfg, []step{{req: second, t: true, done: true, check: func(t *testing.T, p *pdu.PDU) {
		kv := respPairs(t, p)
		if kv["MaxBurstLength"] != Reject || kv["HeaderDigest"] != "CRC32C" {
			t.Errorf("second connection answers %v", kv)
		}
		// RFC 7143 §6.3.1: TargetPortalGroupTag in the first
		// response of every connection's login.
		if kv["TargetPortalGroupTag"] != "1" {
			t.Errorf("TargetPortalGroupTag %q on a second connection, want 1", kv["TargetPortalGroupTag"])
		}
		if p.Header.LoginResponse().TSIH() != res.TSIH {
			t.Errorf("TSIH %d, want %d", p.Header.LoginResponse().TSIH(), res.TSIH)
		}
	}}})
	// The target originates a key it cannot leave at the default and
	// does not transit until it is answered (RFC 7143 §6.3, §11.13.6).
	runTarget(t, cfg, []step{
		{req: loginReq{isid: pdu.ISID{0x80, 9}, csg: LoginOperationalNegotiation, nsg: FullFeaturePhase, t: true, pairs: withPairs()}, t: false, check: func(t *testing.T, p *pdu.PDU) {
			if kv := respPairs(t, p); kv["MaxConnections"] != "2" {
				t.Errorf("target offers %v", kv)
			}
		}},
		{req: loginReq{isid: pdu.ISID{0x80, 9}, csg: LoginOperationalNegotiation, nsg: FullFeaturePhase, t: true, pairs: []Pair{{"MaxConnections", "2"}}}, t: true, done: true},
	})
	// A third connection is one too many.
	third := second
	third.cid = 2
	runTarget(t, cfg, []step{{req: third, status: pdu.LoginTooManyConnections}})
	// A different ISID does not name the session.
	other := second
	other.isid = pdu.ISID{0x80, 0, 0, 1, 0, 2}
	runTarget(t, cfg, []step{{req: other, status: pdu.LoginSessionDoesNotExist}})
	// The same ISID with TSIH 0 reinstates the session (RFC 7143 §6.3.5).
	var closed uint16
	reg.OnClose = func(tsih, cid uint16, whole bool) {
		if whole {
			closed = tsih
		}
	}
	m = runTarget(t, cfg, []step{
		{req: loginReq{isid: isid, csg: LoginOperationalNegotiation, nsg: FullFeaturePhase, t: true, pairs: withPairs(Pair{"MaxConnections", "2"})}, t: true, done: true},
	})
	res2, _ := m.Result()
	if !res2.Reinstated || closed != res.TSIH || res2.TSIH == res.TSIH {
		t.Errorf("reinstatement: %+v, closed %d", res2, closed)
	}
}

// TestTargetLongResponse sends a response text longer than one login PDU
// (RFC 7143 §6.2, §11.13.7: C bit) and checks the initiator's empty
// requests carry it on.
func TestTargetLongResponse(t *testing.T) {
	cfg := testTargetConfig(nil)
	var extra []Pair
	for i := range 200 {
		extra = append(extra, Pair{Key: "X-org.example.k" + num(uint64(i)), Value: "v"})
	}
	m := NewTarget(cfg)
	resp, _, err := m.Next(loginReq{csg: LoginOperationalNegotiation, nsg: FullFeaturePhase, t: true, pairs: withPairs(extra...)}.pdu())
	if err != nil {
		t.Fatal(err)
	}
	var text []byte
	for i := 0; ; i++ {
		lr := resp.Header.LoginResponse()
		if len(resp.Data) > loginSegment {
			t.Fatalf("segment of %d bytes", len(resp.Data))
		}
		text = append(text, resp.Data...)
		if !lr.Continue() {
			if !lr.Transit() {
				t.Fatal("last part without T")
			}
			break
		}
		if i > 10 {
			t.Fatal("no end")
		}
		resp, _, err = m.Next(loginReq{csg: LoginOperationalNegotiation}.pdu())
		if err != nil {
			t.Fatal(err)
		}
	}
	kv := respPairs(t, &pdu.PDU{Data: text})
	if kv["X-org.example.k199"] != NotUnderstood {
		t.Errorf("answers incomplete: %d keys", len(kv))
	}
}

func TestLoginErrorText(t *testing.T) {
	cause := textErr("InitiatorName", "", ErrMissingKey)
	err := error(&LoginError{Status: pdu.LoginMissingParameter, Err: cause})
	if got, want := err.Error(), "login: status 0x0207 (Missing parameter): login: required key missing: key \"InitiatorName\""; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
	if !errors.Is(err, ErrMissingKey) {
		t.Error("cause not unwrapped")
	}
}

func TestNilPDU(t *testing.T) {
	if _, _, err := NewTarget(TargetConfig{}).Next(nil); !errors.Is(err, ErrProtocol) {
		t.Errorf("target: %v", err)
	}
	m, _ := NewInitiator(InitiatorConfig{InitiatorName: testIQN, TargetName: testTarget})
	if _, _, err := m.Next(nil); !errors.Is(err, ErrLoginDone) {
		t.Errorf("initiator before Start: %v", err)
	}
	m.Start()
	if _, _, err := m.Next(nil); !errors.Is(err, ErrProtocol) {
		t.Errorf("initiator: %v", err)
	}
	if _, _, err := (&TextResponder{}).Next(nil); !errors.Is(err, ErrTextSequence) {
		t.Errorf("text responder: %v", err)
	}
	if _, _, err := (&TextExchange{}).Next(nil); !errors.Is(err, ErrTextSequence) {
		t.Errorf("text exchange: %v", err)
	}
}

// TestTargetRepeatedKeys: libiscsi sends every operational key again after
// a response with T=0. RFC 7143 §6.3 makes that an Initiator error; with
// AllowRepeatedKeys the target answers the keys anew.
func TestTargetRepeatedKeys(t *testing.T) {
	s := DefaultSettings()
	s.MaxConnections = 4 // offered by the target, so its first answer has T=0
	ops := []Pair{{"HeaderDigest", "None,CRC32C"}, {"InitialR2T", "No"}, {"MaxBurstLength", "262144"}, {"MaxRecvDataSegmentLength", "262144"}}
	steps := func(status pdu.LoginStatus) []step {
		return []step{
			{req: loginReq{csg: LoginOperationalNegotiation, nsg: FullFeaturePhase, t: true, pairs: withPairs(ops...)}, t: false},
			{req: loginReq{csg: LoginOperationalNegotiation, nsg: FullFeaturePhase, t: true, pairs: withPairs(append(ops, Pair{"MaxConnections", "1"})...)},
				status: status, t: true, done: true},
		}
	}
	strict := testTargetConfig(nil)
	strict.Settings = &s
	runTarget(t, strict, steps(pdu.LoginInitiatorError))
	lenient := strict
	lenient.AllowRepeatedKeys = true
	m := runTarget(t, lenient, steps(pdu.LoginSuccess))
	res, ok := m.Result()
	if !ok || res.Session.MaxConnections != 1 || res.Conn.MaxXmitDataSegmentLength != 262144 {
		t.Errorf("result %+v", res)
	}
}
