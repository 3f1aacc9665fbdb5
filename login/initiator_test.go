package login

import (
	"errors"
	"testing"

	"github.com/go-iscsi/iscsi/pdu"
)

type loginResp struct {
	csg, nsg Stage
	t, c     bool
	tsih     uint16
	itt      uint32
	statSN   uint32
	status   pdu.LoginStatus
	pairs    []Pair
	opcode   pdu.Opcode
}

func (l loginResp) pdu() *pdu.PDU {
	p := &pdu.PDU{}
	if l.opcode != 0 {
		p.Header.SetOpcode(l.opcode)
		return p
	}
	r := p.Header.LoginResponse()
	r.Init()
	r.SetCSG(pdu.Stage(l.csg))
	r.SetTransit(l.t)
	r.SetContinue(l.c)
	if l.t {
		r.SetNSG(pdu.Stage(l.nsg))
	}
	r.SetTSIH(l.tsih)
	r.SetInitiatorTaskTag(l.itt)
	r.SetStatSN(l.statSN)
	r.SetStatus(l.status)
	p.Data = AppendText(nil, l.pairs...)
	p.Header.SetDataSegmentLength(uint32(len(p.Data)))
	return p
}

func TestInitiatorRequests(t *testing.T) {
	m, err := NewInitiator(InitiatorConfig{InitiatorName: testIQN, TargetName: testTarget, CmdSN: 9, InitiatorTaskTag: 4})
	if err != nil {
		t.Fatal(err)
	}
	req := m.Start()
	lr := req.Header.LoginRequest()
	if lr.CSG() != pdu.SecurityNegotiation || !lr.Transit() || lr.NSG() != pdu.LoginOperationalNegotiation || lr.CmdSN() != 9 || lr.InitiatorTaskTag() != 4 {
		t.Fatalf("first request flags: %x", req.Header[:4])
	}
	kv := pairsMap(mustParse(t, req.Data))
	if kv["InitiatorName"] != testIQN || kv["TargetName"] != testTarget || kv["SessionType"] != "Normal" || kv["AuthMethod"] != "None" {
		t.Fatalf("first request keys %v", kv)
	}
	// A response with C set is answered by an empty request (RFC 7143
	// §6.2).
	req, done, err := m.Next(loginResp{itt: 4, c: true, statSN: 50, pairs: []Pair{{"AuthMethod", "None"}}}.pdu())
	if err != nil {
		t.Fatal(err)
	}
	if done || len(req.Data) != 0 || req.Header.LoginRequest().ExpStatSN() != 51 {
		t.Fatalf("continuation request: %v %v %q", err, done, req.Data)
	}
	req, done, err = m.Next(loginResp{itt: 4, t: true, nsg: LoginOperationalNegotiation, statSN: 51}.pdu())
	if err != nil || done {
		t.Fatal(err)
	}
	lr = req.Header.LoginRequest()
	if lr.CSG() != pdu.LoginOperationalNegotiation || lr.NSG() != pdu.FullFeaturePhase || !lr.Transit() || lr.ExpStatSN() != 52 {
		t.Fatalf("operational request flags %x", req.Header[:4])
	}
	kv = pairsMap(mustParse(t, req.Data))
	if kv["HeaderDigest"] != "None,CRC32C" || kv["MaxRecvDataSegmentLength"] != "8192" || kv["ImmediateData"] != "Yes" {
		t.Fatalf("operational offers %v", kv)
	}
	_, done, err = m.Next(loginResp{itt: 4, csg: LoginOperationalNegotiation, t: true, nsg: FullFeaturePhase, tsih: 3, statSN: 52,
		pairs: []Pair{{"HeaderDigest", "CRC32C"}, {"ImmediateData", "No"}}}.pdu())
	if err != nil || !done {
		t.Fatalf("final: %v %v", err, done)
	}
	res, _ := m.Result()
	if res.TSIH != 3 || !res.Conn.HeaderDigest || res.Session.ImmediateData || res.StatSN != 52 {
		t.Errorf("result %+v", res)
	}
}

func mustParse(t *testing.T, b []byte) []Pair {
	t.Helper()
	p, err := ParseText(b)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestInitiatorFaults(t *testing.T) {
	chap := &CHAPCredentials{User: "alice", Secret: "alice-secret-123"}
	tests := []struct {
		name  string
		cfg   InitiatorConfig
		resps []loginResp
		check func(error) bool
	}{
		{"failure status", InitiatorConfig{}, []loginResp{{status: pdu.LoginNotFound}}, func(err error) bool {
			var le *LoginError
			return errors.As(err, &le) && le.Status == pdu.LoginNotFound
		}},
		{"redirect", InitiatorConfig{}, []loginResp{{status: pdu.LoginTargetMovedTemporarily, pairs: []Pair{{"TargetAddress", "[::1]:3261,2"}}}}, func(err error) bool {
			var le *LoginError
			return errors.As(err, &le) && len(le.Redirect) == 1 && le.Redirect[0].Port == 3261
		}},
		{"wrong opcode", InitiatorConfig{}, []loginResp{{opcode: pdu.OpNOPIn}}, isProto},
		{"ITT changed", InitiatorConfig{}, []loginResp{{itt: 1}}, isProto},
		{"CSG out of order", InitiatorConfig{}, []loginResp{{csg: LoginOperationalNegotiation}}, isProto},
		{"T without initiator T", InitiatorConfig{CHAP: chap}, []loginResp{{t: true, nsg: LoginOperationalNegotiation, pairs: []Pair{{"AuthMethod", "CHAP"}}}}, isProto},
		{"NSG beyond the request", InitiatorConfig{}, []loginResp{{t: true, nsg: FullFeaturePhase, pairs: []Pair{{"AuthMethod", "None"}}}}, isProto},
		{"answer not offered", InitiatorConfig{CHAP: chap}, []loginResp{{pairs: []Pair{{"AuthMethod", "None"}}}}, func(err error) bool { return errors.Is(err, ErrUnexpectedAnswer) }},
		{"AuthMethod rejected", InitiatorConfig{CHAP: chap}, []loginResp{{pairs: []Pair{{"AuthMethod", "Reject"}}}}, func(err error) bool { return errors.Is(err, ErrAuthFailed) }},
		{"CHAP keys without CHAP", InitiatorConfig{}, []loginResp{{pairs: []Pair{{"AuthMethod", "None"}, {"CHAP_A", "5"}}}}, isProto},
		{"repeated key", InitiatorConfig{}, []loginResp{{pairs: []Pair{{"AuthMethod", "None"}, {"AuthMethod", "None"}}}}, func(err error) bool { return errors.Is(err, ErrDuplicateKey) }},
		{"mutual CHAP target skips its proof", InitiatorConfig{CHAP: chap, MutualCHAP: &CHAPCredentials{User: "t", Secret: "target-secret-456"}, CHAPAlgorithms: []CHAPAlgorithm{CHAPMD5}}, []loginResp{
			{pairs: []Pair{{"AuthMethod", "CHAP"}}},
			{pairs: []Pair{{"CHAP_A", "5"}, {"CHAP_I", "1"}, {"CHAP_C", "0x0102030405060708090a0b0c0d0e0f10"}}},
			{t: true, nsg: LoginOperationalNegotiation},
		}, func(err error) bool { return errors.Is(err, ErrCHAPProtocol) || errors.Is(err, ErrAuthFailed) }},
		{"final without TSIH", InitiatorConfig{}, []loginResp{
			{t: true, nsg: LoginOperationalNegotiation, pairs: []Pair{{"AuthMethod", "None"}}},
			{csg: LoginOperationalNegotiation, t: true, nsg: FullFeaturePhase},
		}, isProto},
		// RFC 7143 §6.3: a key not allowed in the stage.
		{"operational key in security stage", InitiatorConfig{}, []loginResp{{pairs: []Pair{{"AuthMethod", "None"}, {"MaxBurstLength", "65536"}}}}, func(err error) bool { return errors.Is(err, ErrWrongPhase) }},
		// RFC 7143 §6.2: NotUnderstood to an RFC 7143 key, and a
		// reserved constant proposed.
		{"NotUnderstood to an RFC 7143 key", InitiatorConfig{}, []loginResp{
			{t: true, nsg: LoginOperationalNegotiation, pairs: []Pair{{"AuthMethod", "None"}}},
			{csg: LoginOperationalNegotiation, pairs: []Pair{{"ImmediateData", "NotUnderstood"}}},
		}, func(err error) bool { return errors.Is(err, ErrUnexpectedAnswer) }},
		{"reserved constant proposed", InitiatorConfig{}, []loginResp{{pairs: []Pair{{"AuthMethod", "None"}, {"TargetAlias", "Irrelevant"}}}}, func(err error) bool { return errors.Is(err, ErrReservedValue) }},
		// RFC 7143 §6.2.1: the target answers AuthMethod before it
		// leaves the security stage.
		{"transit without AuthMethod answer", InitiatorConfig{}, []loginResp{{t: true, nsg: LoginOperationalNegotiation}}, func(err error) bool {
			return isProto(err) && errors.Is(err, ErrMissingKey)
		}},
		{"bad text", InitiatorConfig{}, []loginResp{{pairs: []Pair{{"bad key", "x"}}}}, func(err error) bool { return errors.Is(err, ErrKeyName) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := tt.cfg
			cfg.InitiatorName, cfg.TargetName = testIQN, testTarget
			m, err := NewInitiator(cfg)
			if err != nil {
				t.Fatal(err)
			}
			m.Start()
			for i, r := range tt.resps {
				r.statSN = uint32(i)
				_, _, err = m.Next(r.pdu())
				if err != nil {
					break
				}
			}
			if !tt.check(err) {
				t.Errorf("error %v", err)
			}
		})
	}
}

func isProto(err error) bool { return errors.Is(err, ErrProtocol) }

func TestInitiatorConfigErrors(t *testing.T) {
	for name, cfg := range map[string]InitiatorConfig{
		"no name":          {TargetName: testTarget},
		"no target":        {InitiatorName: testIQN},
		"bad target name":  {InitiatorName: testIQN, TargetName: "has space"},
		"short secret":     {InitiatorName: testIQN, TargetName: testTarget, CHAP: &CHAPCredentials{User: "u", Secret: "short"}},
		"mutual only":      {InitiatorName: testIQN, TargetName: testTarget, MutualCHAP: &CHAPCredentials{User: "u", Secret: "long-enough-secret"}},
		"invalid settings": {InitiatorName: testIQN, TargetName: testTarget, Settings: &Settings{}},
	} {
		if _, err := NewInitiator(cfg); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	// RFC 7143 §12.1.3: the initiator MUST always offer CHAP_A 5 (MD5).
	chap := &CHAPCredentials{User: "u", Secret: "long-enough-secret"}
	for _, tt := range []struct {
		name string
		algs []CHAPAlgorithm
		err  error
	}{
		{"SHA-256 only", []CHAPAlgorithm{CHAPSHA256}, ErrCHAPMD5Required},
		{"SHA-1 and SHA3-256", []CHAPAlgorithm{CHAPSHA1, CHAPSHA3_256}, ErrCHAPMD5Required},
		{"SHA-256 and MD5", []CHAPAlgorithm{CHAPSHA256, CHAPMD5}, nil},
		{"MD5 only", []CHAPAlgorithm{CHAPMD5}, nil},
		{"default", nil, nil},
	} {
		_, err := NewInitiator(InitiatorConfig{InitiatorName: testIQN, TargetName: testTarget, CHAP: chap, CHAPAlgorithms: tt.algs})
		if !errors.Is(err, tt.err) {
			t.Errorf("%s: err %v, want %v", tt.name, err, tt.err)
		}
	}
	if _, err := NewInitiator(InitiatorConfig{InitiatorName: testIQN, TargetName: testTarget, AllowShortSecrets: true, CHAP: &CHAPCredentials{User: "u", Secret: "short"}}); err != nil {
		t.Errorf("short secret allowed: %v", err)
	}
}
