package login

import (
	"bytes"
	"encoding/binary"
	"errors"
	"testing"

	"github.com/go-iscsi/iscsi/pdu"
	"github.com/google/go-cmp/cmp"
)

// loginErrorKinds are the sentinels of this package a login or text
// exchange may fail with.
var loginErrorKinds = []error{
	ErrProtocol, ErrLoginDone, ErrTextSequence, ErrTargetAddress, ErrSendTargets,
	ErrAuthFailed, ErrSecretTooShort, ErrCHAPAlgorithm, ErrCHAPReflection, ErrCHAPProtocol,
	ErrSessionNotFound, ErrTooManyConnections, ErrCantIncludeInSession, ErrOutOfResources,
}

// checkLoginError fails unless err is nil or typed: a *LoginError, a
// *TextError, a *pdu.ProtocolError from a header check, or one of
// loginErrorKinds.
func checkLoginError(t *testing.T, err error) {
	t.Helper()
	if err == nil {
		return
	}
	var le *LoginError
	var te *TextError
	var pe *pdu.ProtocolError
	if errors.As(err, &le) || errors.As(err, &te) || errors.As(err, &pe) {
		return
	}
	for _, k := range loginErrorKinds {
		if errors.Is(err, k) {
			return
		}
	}
	t.Fatalf("untyped error %T: %v", err, err)
}

func FuzzParseText(f *testing.F) {
	f.Add([]byte("InitiatorName=iqn.2026-11.org.example:i\x00SessionType=Normal\x00"))
	f.Add([]byte("A=\x00\x00\x00"))
	f.Add([]byte("CHAP_C=0x0102\x00CHAP_N=user\x00"))
	f.Add([]byte("no-equals\x00"))
	f.Fuzz(func(t *testing.T, data []byte) {
		pairs, err := ParseText(data)
		if err != nil {
			if _, ok := err.(*TextError); !ok {
				t.Fatalf("error of type %T", err)
			}
			return
		}
		// What parsed encodes back to text that parses to the same pairs.
		again, err := ParseText(AppendText(nil, pairs...))
		if err != nil {
			t.Fatalf("re-parse: %v", err)
		}
		if diff := cmp.Diff(pairs, again); diff != "" && len(pairs) > 0 {
			t.Fatalf("round trip (-first +second):\n%s", diff)
		}
		for _, p := range pairs {
			if !ValidKeyName(p.Key) || bytes.IndexByte([]byte(p.Value), 0) >= 0 {
				t.Fatalf("bad pair %q", p.Key)
			}
		}
	})
}

// inRange checks that every outcome lies within the ranges of RFC 7143 §13.
func inRange(t *testing.T, sp SessionParams, cp ConnParams) {
	t.Helper()
	check := func(name string, v, lo, hi uint64) {
		if v < lo || v > hi {
			t.Fatalf("%s = %d outside [%d, %d]", name, v, lo, hi)
		}
	}
	check("MaxConnections", uint64(sp.MaxConnections), 1, 65535)
	check("MaxBurstLength", uint64(sp.MaxBurstLength), 512, 1<<24-1)
	check("FirstBurstLength", uint64(sp.FirstBurstLength), 512, uint64(sp.MaxBurstLength))
	check("DefaultTime2Wait", uint64(sp.DefaultTime2Wait), 0, 3600)
	check("DefaultTime2Retain", uint64(sp.DefaultTime2Retain), 0, 3600)
	check("MaxOutstandingR2T", uint64(sp.MaxOutstandingR2T), 1, 65535)
	check("ErrorRecoveryLevel", uint64(sp.ErrorRecoveryLevel), 0, 2)
	check("iSCSIProtocolLevel", uint64(sp.ProtocolLevel), 0, 31)
	check("MaxRecvDataSegmentLength", uint64(cp.MaxRecvDataSegmentLength), 512, 1<<24-1)
	check("MaxXmitDataSegmentLength", uint64(cp.MaxXmitDataSegmentLength), 512, 1<<24-1)
	if !contains([]string{"RFC3720", "ResponseFence", "FastAbort"}, sp.TaskReporting) {
		t.Fatalf("TaskReporting %q", sp.TaskReporting)
	}
}

// FuzzNegotiate feeds arbitrary key sets to a target negotiator (as
// proposals) and to an initiator negotiator (as answers to its offers):
// neither may panic, and every outcome lies within the RFC ranges.
func FuzzNegotiate(f *testing.F) {
	f.Add([]byte("MaxBurstLength=16384\x00FirstBurstLength=65536\x00HeaderDigest=CRC32C,None\x00"), []byte("MaxBurstLength=4096\x00ImmediateData=No\x00"), uint8(0))
	f.Add([]byte("ErrorRecoveryLevel=9\x00X-a=b\x00OFMarker=Yes\x00"), []byte("FirstBurstLength=999999999\x00"), uint8(3))
	f.Add([]byte("MaxRecvDataSegmentLength=0x1000\x00DefaultTime2Wait=0b AAE=\x00"), []byte("DefaultTime2Wait=3600\x00TaskReporting=FastAbort\x00"), uint8(7))
	f.Fuzz(func(t *testing.T, proposals, answers []byte, knobs uint8) {
		ts := DefaultSettings()
		ts.HeaderDigest = DigestPolicy(knobs & 3)
		if knobs&4 != 0 {
			ts.MaxBurstLength, ts.FirstBurstLength = 4096, 4096
		}
		if knobs&8 != 0 {
			ts.ImmediateData, ts.InitialR2T = false, false
		}
		if knobs&16 != 0 {
			ts.TaskReporting = []string{"FastAbort", "ResponseFence"}
		}
		stage := Stage(knobs >> 5 & 3)
		if stage == 2 {
			stage = FullFeaturePhase
		}
		if pairs, err := ParseText(proposals); err == nil {
			tgt := NewNegotiator(RoleTarget, ts, knobs&128 == 0, knobs&64 != 0)
			tgt.SetAuthMethods([]string{"CHAP", "None"})
			got, err := tgt.Receive(pairs, stage)
			if err == nil {
				for _, a := range got {
					if k, ok := keyIndex[a.Key]; ok && k.Kind == KindNumber && !isConstant(a.Value) {
						if err := k.checkValue(a.Value); err != nil {
							t.Fatalf("answer %v: %v", a, err)
						}
					}
				}
				if sp, cp, err := tgt.Result(); err == nil && !tgt.discovery {
					inRange(t, sp, cp)
				}
			}
		}
		if pairs, err := ParseText(answers); err == nil {
			ini := NewNegotiator(RoleInitiator, ts, true, false)
			ini.Offer(LoginOperationalNegotiation)
			if _, err := ini.Receive(pairs, LoginOperationalNegotiation); err == nil {
				ini.closePending()
				if sp, cp, err := ini.Result(); err == nil {
					inRange(t, sp, cp)
				}
			}
		}
	})
}

// fuzzPDUs splits data into login PDUs: a 48-byte header, a 2-byte data
// length, then the data.
func fuzzPDUs(data []byte) []*pdu.PDU {
	var out []*pdu.PDU
	for len(data) >= pdu.BHSLength+2 && len(out) < 16 {
		p := &pdu.PDU{}
		copy(p.Header[:], data[:pdu.BHSLength])
		n := int(binary.BigEndian.Uint16(data[pdu.BHSLength:]))
		data = data[pdu.BHSLength+2:]
		n = min(n, len(data))
		p.Data = data[:n]
		p.Header.SetDataSegmentLength(uint32(n))
		data = data[n:]
		out = append(out, p)
	}
	return out
}

// encodeFuzzPDUs is the inverse of fuzzPDUs, for seeds.
func encodeFuzzPDUs(ps ...*pdu.PDU) []byte {
	var b []byte
	for _, p := range ps {
		b = append(b, p.Header[:]...)
		b = binary.BigEndian.AppendUint16(b, uint16(len(p.Data)))
		b = append(b, p.Data...)
	}
	return b
}

func fuzzTargetSeeds() [][]byte {
	return [][]byte{
		encodeFuzzPDUs(
			loginReq{csg: SecurityNegotiation, nsg: LoginOperationalNegotiation, t: true, pairs: withPairs(Pair{"AuthMethod", "None"})}.pdu(),
			loginReq{csg: LoginOperationalNegotiation, nsg: FullFeaturePhase, t: true, pairs: []Pair{{"MaxBurstLength", "4096"}, {"HeaderDigest", "CRC32C"}}}.pdu()),
		encodeFuzzPDUs(
			loginReq{csg: SecurityNegotiation, pairs: withPairs(Pair{"AuthMethod", "CHAP,None"})}.pdu(),
			loginReq{csg: SecurityNegotiation, pairs: []Pair{{"CHAP_A", "5,7"}}}.pdu(),
			loginReq{csg: SecurityNegotiation, nsg: LoginOperationalNegotiation, t: true, pairs: []Pair{{"CHAP_N", "alice"}, {"CHAP_R", "0x00112233445566778899aabbccddeeff"}, {"CHAP_I", "3"}, {"CHAP_C", "0b AAECAw=="}}}.pdu()),
		encodeFuzzPDUs(
			loginReq{csg: LoginOperationalNegotiation, c: true, raw: []byte("InitiatorName=iqn.2026-11.org.ex")}.pdu(),
			loginReq{csg: LoginOperationalNegotiation, nsg: FullFeaturePhase, t: true, raw: []byte("ample:i\x00SessionType=Discovery\x00")}.pdu()),
		encodeFuzzPDUs(loginReq{opcode: pdu.OpTextRequest}.pdu()),
	}
}

// FuzzTargetLogin feeds the target login machine arbitrary Login PDUs: it
// must never panic, it may fail only with the typed errors of
// checkLoginError, every response must be a valid Login Response, and a
// successful end must come with a result within the RFC ranges.
func FuzzTargetLogin(f *testing.F) {
	for _, s := range fuzzTargetSeeds() {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		cfg := testTargetConfig([]string{"CHAP", "None"})
		cfg.AllowShortSecrets = true
		m := NewTarget(cfg)
		for _, p := range fuzzPDUs(data) {
			resp, done, err := m.Next(p)
			if err == ErrLoginDone {
				return
			}
			checkLoginError(t, err)
			if resp == nil {
				t.Fatalf("no response (err %v)", err)
			}
			if verr := resp.Header.LoginResponse().Validate(); verr != nil {
				t.Fatalf("invalid response: %v", verr)
			}
			if int(resp.Header.DataSegmentLength()) != len(resp.Data) || len(resp.Data) > loginSegment {
				t.Fatalf("data segment %d/%d", resp.Header.DataSegmentLength(), len(resp.Data))
			}
			if done {
				if res, ok := m.Result(); ok {
					if res.TSIH == 0 {
						t.Fatal("success without TSIH")
					}
					inRange(t, res.Session, res.Conn)
				} else if err == nil {
					t.Fatal("done without result or error")
				}
				return
			}
		}
	})
}

// fuzzInitiatorSeeds returns Login Response sequences that take the
// initiator of FuzzInitiatorLogin to full feature phase without
// authentication and with one-way CHAP, and to the check of the target's
// answer with mutual CHAP.
func fuzzInitiatorSeeds() [][]byte {
	// RFC 7143 §13.14: FirstBurstLength must not exceed MaxBurstLength, so
	// a target that lowers one answers both.
	operational := loginResp{csg: LoginOperationalNegotiation, t: true, nsg: FullFeaturePhase, tsih: 1, statSN: 1,
		pairs: []Pair{{"MaxBurstLength", "4096"}, {"FirstBurstLength", "4096"}, {"HeaderDigest", "None"}}}.pdu()
	challenge := loginResp{pairs: []Pair{{"CHAP_A", "5"}, {"CHAP_I", "7"}, {"CHAP_C", "0x000102030405060708090a0b0c0d0e0f"}}}.pdu()
	return [][]byte{
		encodeFuzzPDUs(
			loginResp{t: true, nsg: LoginOperationalNegotiation, pairs: []Pair{{"AuthMethod", "None"}, {"TargetPortalGroupTag", "1"}}}.pdu(),
			operational),
		encodeFuzzPDUs(
			loginResp{pairs: []Pair{{"AuthMethod", "CHAP"}, {"TargetPortalGroupTag", "1"}}}.pdu(),
			challenge,
			loginResp{t: true, nsg: LoginOperationalNegotiation}.pdu(),
			operational),
		encodeFuzzPDUs(
			loginResp{pairs: []Pair{{"AuthMethod", "CHAP"}, {"TargetPortalGroupTag", "1"}}}.pdu(),
			challenge,
			loginResp{t: true, nsg: LoginOperationalNegotiation, pairs: []Pair{{"CHAP_N", targetCreds.User}, {"CHAP_R", "0x00112233445566778899aabbccddeeff"}}}.pdu(),
			operational),
	}
}

// fuzzInitiatorConfig returns the configuration of the initiator that
// the Login Responses in data answer: CHAP when they accept
// AuthMethod=CHAP, mutual CHAP when the target also sends a CHAP_R, no
// authentication otherwise. Without it the fuzzer could never reach the
// CHAP steps of the initiator (RFC 7143 §12.1.3).
func fuzzInitiatorConfig(data []byte) InitiatorConfig {
	cfg := InitiatorConfig{InitiatorName: testIQN, TargetName: testTarget}
	if bytes.Contains(data, []byte("AuthMethod=CHAP\x00")) {
		creds, mutual := aliceCreds, targetCreds
		cfg.CHAP = &creds
		if bytes.Contains(data, []byte("CHAP_R=")) {
			cfg.MutualCHAP = &mutual
		}
	}
	return cfg
}

// FuzzInitiatorLogin feeds the initiator login machine arbitrary Login
// Responses: it must never panic, it may fail only with the typed errors
// of checkLoginError, every request must be a valid Login Request, and a
// successful end must come with a result within the RFC ranges.
func FuzzInitiatorLogin(f *testing.F) {
	for _, s := range fuzzInitiatorSeeds() {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := NewInitiator(fuzzInitiatorConfig(data))
		if err != nil {
			t.Fatal(err)
		}
		m.Start()
		for _, p := range fuzzPDUs(data) {
			req, done, err := m.Next(p)
			checkLoginError(t, err)
			if err != nil || done {
				if done {
					res, _ := m.Result()
					inRange(t, res.Session, res.Conn)
				}
				return
			}
			if verr := req.Header.LoginRequest().Validate(); verr != nil {
				t.Fatalf("invalid request: %v", verr)
			}
		}
	})
}

func FuzzParseTargetAddress(f *testing.F) {
	for _, s := range []string{"10.0.0.1:3260,1", "[fe80::1]:3260,2", "host.example", "[::1]"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		a, err := ParseTargetAddress(s)
		if err != nil {
			var te *TextError
			if !errors.As(err, &te) || !errors.Is(err, ErrTargetAddress) {
				t.Fatalf("%q: error %T: %v", s, err, err)
			}
			return
		}
		b, err := ParseTargetAddress(a.String())
		if err != nil || a != b {
			t.Fatalf("%q: String %q does not round-trip: %v", s, a.String(), err)
		}
	})
}

func textReqPDU(ttt uint32, final, cont bool, data []byte) *pdu.PDU {
	p := &pdu.PDU{Data: data}
	r := p.Header.TextRequest()
	r.Init()
	r.SetFinal(final)
	r.SetContinue(cont)
	r.SetInitiatorTaskTag(1)
	r.SetTargetTransferTag(ttt)
	p.Header.SetDataSegmentLength(uint32(len(data)))
	return p
}

// FuzzTextResponder feeds the full feature text responder arbitrary Text
// Requests: it must never panic, it may fail only with the typed errors of
// checkLoginError, and every response must be a valid Text Response no
// longer than the segment limit, which a MaxRecvDataSegmentLength the
// responder takes (with the target's own declaration set) keeps in
// 512..2^24-1 (RFC 7143 §13.12).
func FuzzTextResponder(f *testing.F) {
	f.Add(encodeFuzzPDUs(textReqPDU(pdu.ReservedTag, true, false, []byte("SendTargets=All\x00"))))
	f.Add(encodeFuzzPDUs(
		textReqPDU(pdu.ReservedTag, false, true, []byte("MaxRecvDataSeg")),
		textReqPDU(1, true, false, []byte("mentLength=65536\x00SendTargets=\x00"))))
	f.Add(encodeFuzzPDUs(textReqPDU(pdu.ReservedTag, true, false, []byte("MaxRecvDataSegmentLength=1024\x00SendTargets=\x00"))))
	f.Fuzz(func(t *testing.T, data []byte) {
		targets := []DiscoveredTarget{{Name: testTarget, Addresses: []TargetAddress{{Host: "127.0.0.1", Port: 3260}}}}
		for i := range 40 {
			targets = append(targets, DiscoveredTarget{Name: testTarget + num(uint64(i))})
		}
		x := &TextResponder{Discovery: len(data)%2 == 0, CurrentTarget: testTarget, MaxXmitDataSegmentLength: 512,
			Negotiator: NewNegotiator(RoleTarget, DefaultSettings(), true, false),
			Targets:    func() []DiscoveredTarget { return targets }}
		if len(data)%3 != 0 {
			x.MaxRecvDataSegmentLength = 8192
		}
		for _, p := range fuzzPDUs(data) {
			resp, _, err := x.Next(p)
			if err != nil {
				checkLoginError(t, err)
				continue
			}
			if verr := resp.Header.TextResponse().Validate(); verr != nil {
				t.Fatalf("invalid response: %v", verr)
			}
			if n := x.MaxXmitDataSegmentLength; n < 512 || n > 1<<24-1 {
				t.Fatalf("MaxXmitDataSegmentLength %d taken", n)
			}
			if len(resp.Data) > int(x.MaxXmitDataSegmentLength) || int(resp.Header.DataSegmentLength()) != len(resp.Data) {
				t.Fatalf("segment of %d bytes, MaxXmitDataSegmentLength %d", len(resp.Data), x.MaxXmitDataSegmentLength)
			}
		}
	})
}
