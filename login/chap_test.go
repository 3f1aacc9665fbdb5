package login

import (
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// Vectors computed independently (Python hashlib) over id 0x2a, secret
// "twelve-bytes!" and challenge 01..10.
func TestCHAPResponseVectors(t *testing.T) {
	ch := make([]byte, 16)
	for i := range ch {
		ch[i] = byte(i + 1)
	}
	for _, tt := range []struct {
		alg  CHAPAlgorithm
		want string
	}{
		{CHAPMD5, "bc6700ea218152dd4352230a5bb684a2"},
		{CHAPSHA1, "177aff33376414b4a4e7d2d2ed2d6138297de86b"},
		{CHAPSHA256, "e48f40f0d3e2cf2c701d169379ffa49e3c467b182c6d80556f73a38d8ee94fe9"},
		{CHAPSHA3_256, "5d5a8855483acdf60f80289fc6a355b8bbe886381f721b8139c624153eec6167"},
	} {
		got := hex.EncodeToString(CHAPResponse(tt.alg, 0x2a, []byte("twelve-bytes!"), ch))
		if got != tt.want {
			t.Errorf("%v: %s, want %s", tt.alg, got, tt.want)
		}
		if tt.alg.Size() != len(tt.want)/2 || !tt.alg.Valid() {
			t.Errorf("%v: Size %d", tt.alg, tt.alg.Size())
		}
		if c := NewCHAPChallenge(tt.alg); len(c) < 16 || len(c) < tt.alg.Size() {
			t.Errorf("%v: challenge of %d bytes", tt.alg, len(c))
		}
	}
	if CHAPResponse(CHAPAlgorithm(9), 0, nil, nil) != nil || CHAPAlgorithm(9).Valid() {
		t.Error("unknown algorithm accepted")
	}
}

func TestCredentialsRedacted(t *testing.T) {
	c := &CHAPCredentials{User: "alice", Secret: "hunter2hunter2"}
	var logged strings.Builder
	slog.New(slog.NewTextHandler(&logged, nil)).Info("x", "creds", c)
	for _, s := range []string{fmt.Sprint(c), fmt.Sprintf("%v %+v %#v %s", *c, *c, *c, *c), fmt.Sprintf("%+v", c), logged.String()} {
		if strings.Contains(s, "hunter2") {
			t.Errorf("secret shown: %s", s)
		}
		if !strings.Contains(s, "alice") {
			t.Errorf("user not shown: %s", s)
		}
	}
	short := CHAPCredentials{User: "u", Secret: "short"}
	err := short.check(false)
	if !errors.Is(err, ErrSecretTooShort) || strings.Contains(err.Error(), "short\"") {
		t.Errorf("short secret: %v", err)
	}
	if err := short.check(true); err != nil {
		t.Errorf("short secret allowed: %v", err)
	}
}

type chapCase struct {
	name          string
	iniAlgs       []CHAPAlgorithm
	tgtAlgs       []CHAPAlgorithm
	iniCreds      CHAPCredentials
	mutual        *CHAPCredentials // what the initiator expects of the target
	tgtSecret     string
	tgtMutual     *CHAPCredentials // what the target answers with
	allowShort    bool
	wantAlg       CHAPAlgorithm
	errChallenged error
	errResponded  error
	errVerify     error
}

func runCHAP(t *testing.T, tc chapCase) {
	ini := &chapInitiator{creds: tc.iniCreds, mutual: tc.mutual, algs: tc.iniAlgs}
	tgt := &chapTarget{algs: tc.tgtAlgs, allowShort: tc.allowShort,
		lookup: func(iname, tname, user string) (string, *CHAPCredentials, bool) {
			if user != "alice" {
				return "", nil, false
			}
			return tc.tgtSecret, tc.tgtMutual, true
		}}
	toMap := func(ps []Pair) map[string]string {
		m := map[string]string{}
		for _, p := range ps {
			m[p.Key] = p.Value
		}
		return m
	}
	ch, err := tgt.chose(toMap(ini.start()))
	if err != nil {
		if !errors.Is(err, tc.errChallenged) {
			t.Fatalf("chose: %v", err)
		}
		return
	}
	resp, err := ini.challenged(toMap(ch))
	if !errors.Is(err, tc.errChallenged) {
		t.Fatalf("challenged: %v, want %v", err, tc.errChallenged)
	}
	if err != nil {
		return
	}
	if ini.alg != tc.wantAlg {
		t.Errorf("algorithm %v, want %v", ini.alg, tc.wantAlg)
	}
	back, err := tgt.responded(toMap(resp), "iqn.i", "iqn.t")
	if !errors.Is(err, tc.errResponded) {
		t.Fatalf("responded: %v, want %v", err, tc.errResponded)
	}
	if err != nil {
		if strings.Contains(err.Error(), tc.tgtSecret) || strings.Contains(err.Error(), tc.iniCreds.Secret) {
			t.Errorf("error shows a secret: %v", err)
		}
		return
	}
	if tc.mutual == nil {
		if back != nil {
			t.Errorf("one-way CHAP answered %v", back)
		}
		return
	}
	if err := ini.verify(toMap(back)); !errors.Is(err, tc.errVerify) {
		t.Errorf("verify: %v, want %v", err, tc.errVerify)
	}
}

func TestCHAPExchange(t *testing.T) {
	alice := CHAPCredentials{User: "alice", Secret: "alice-secret-123"}
	tgtCreds := &CHAPCredentials{User: "target", Secret: "target-secret-456"}
	for _, tc := range []chapCase{
		{name: "one-way MD5", iniAlgs: []CHAPAlgorithm{CHAPMD5}, tgtAlgs: DefaultCHAPAlgorithms, iniCreds: alice, tgtSecret: alice.Secret, wantAlg: CHAPMD5},
		{name: "strongest common", iniAlgs: DefaultCHAPAlgorithms, tgtAlgs: []CHAPAlgorithm{CHAPMD5, CHAPSHA256}, iniCreds: alice, tgtSecret: alice.Secret, wantAlg: CHAPSHA256},
		{name: "mutual SHA-256", iniAlgs: []CHAPAlgorithm{CHAPSHA256, CHAPMD5}, tgtAlgs: DefaultCHAPAlgorithms, iniCreds: alice, mutual: tgtCreds, tgtSecret: alice.Secret, tgtMutual: tgtCreds, wantAlg: CHAPSHA256},
		{name: "mutual SHA3-256", iniAlgs: DefaultCHAPAlgorithms, tgtAlgs: DefaultCHAPAlgorithms, iniCreds: alice, mutual: tgtCreds, tgtSecret: alice.Secret, tgtMutual: tgtCreds, wantAlg: CHAPSHA3_256},
		{name: "no common algorithm", iniAlgs: []CHAPAlgorithm{CHAPMD5}, tgtAlgs: []CHAPAlgorithm{CHAPSHA256}, iniCreds: alice, tgtSecret: alice.Secret, errChallenged: ErrCHAPAlgorithm},
		{name: "wrong secret", iniAlgs: []CHAPAlgorithm{CHAPMD5}, tgtAlgs: DefaultCHAPAlgorithms, iniCreds: CHAPCredentials{User: "alice", Secret: "not-the-secret"}, tgtSecret: alice.Secret, wantAlg: CHAPMD5, errResponded: ErrAuthFailed},
		{name: "unknown user", iniAlgs: []CHAPAlgorithm{CHAPMD5}, tgtAlgs: DefaultCHAPAlgorithms, iniCreds: CHAPCredentials{User: "bob", Secret: alice.Secret}, tgtSecret: alice.Secret, wantAlg: CHAPMD5, errResponded: ErrAuthFailed},
		{name: "short target secret", iniAlgs: []CHAPAlgorithm{CHAPMD5}, tgtAlgs: DefaultCHAPAlgorithms, iniCreds: CHAPCredentials{User: "alice", Secret: "pw"}, tgtSecret: "pw", wantAlg: CHAPMD5, errResponded: ErrSecretTooShort},
		{name: "short allowed", iniAlgs: []CHAPAlgorithm{CHAPMD5}, tgtAlgs: DefaultCHAPAlgorithms, iniCreds: CHAPCredentials{User: "alice", Secret: "pw"}, tgtSecret: "pw", allowShort: true, wantAlg: CHAPMD5},
		{name: "mutual not configured", iniAlgs: []CHAPAlgorithm{CHAPMD5}, tgtAlgs: DefaultCHAPAlgorithms, iniCreds: alice, mutual: tgtCreds, tgtSecret: alice.Secret, wantAlg: CHAPMD5, errResponded: ErrAuthFailed},
		{name: "mutual same secret", iniAlgs: []CHAPAlgorithm{CHAPMD5}, tgtAlgs: DefaultCHAPAlgorithms, iniCreds: alice, mutual: &alice, tgtSecret: alice.Secret, tgtMutual: &alice, wantAlg: CHAPMD5, errResponded: ErrCHAPReflection},
		{name: "mutual wrong target secret", iniAlgs: []CHAPAlgorithm{CHAPMD5}, tgtAlgs: DefaultCHAPAlgorithms, iniCreds: alice, mutual: tgtCreds, tgtSecret: alice.Secret, tgtMutual: &CHAPCredentials{User: "target", Secret: "some-other-secret"}, wantAlg: CHAPMD5, errVerify: ErrAuthFailed},
	} {
		t.Run(tc.name, func(t *testing.T) { runCHAP(t, tc) })
	}
}

func TestCHAPTargetRejectsReflection(t *testing.T) {
	tgt := &chapTarget{algs: []CHAPAlgorithm{CHAPMD5}, lookup: func(_, _, _ string) (string, *CHAPCredentials, bool) {
		return "alice-secret-123", &CHAPCredentials{User: "t", Secret: "target-secret-456"}, true
	}}
	out, err := tgt.chose(map[string]string{"CHAP_A": "5"})
	if err != nil {
		t.Fatal(err)
	}
	m := map[string]string{}
	for _, p := range out {
		m[p.Key] = p.Value
	}
	id, _ := ParseNumber(m["CHAP_I"])
	ch, _ := ParseBinary(m["CHAP_C"])
	_, err = tgt.responded(map[string]string{
		"CHAP_N": "alice",
		"CHAP_R": EncodeBase64(CHAPResponse(CHAPMD5, byte(id), []byte("alice-secret-123"), ch)),
		"CHAP_I": "7",
		"CHAP_C": m["CHAP_C"], // the target's own challenge sent back
	}, "i", "t")
	if !errors.Is(err, ErrCHAPReflection) {
		t.Errorf("reflected challenge: %v", err)
	}
}

func TestCHAPProtocolErrors(t *testing.T) {
	tgt := &chapTarget{algs: DefaultCHAPAlgorithms}
	if _, err := tgt.chose(map[string]string{"CHAP_N": "x"}); !errors.Is(err, ErrCHAPProtocol) {
		t.Errorf("no CHAP_A: %v", err)
	}
	if _, err := tgt.responded(map[string]string{"CHAP_N": "x"}, "", ""); !errors.Is(err, ErrCHAPProtocol) {
		t.Errorf("response before challenge: %v", err)
	}
	ini := &chapInitiator{creds: CHAPCredentials{User: "a", Secret: "b"}, algs: []CHAPAlgorithm{CHAPMD5}}
	ini.start()
	for name, kv := range map[string]map[string]string{
		"algorithm not offered": {"CHAP_A": "7", "CHAP_I": "1", "CHAP_C": "0x0102"},
		"bad id":                {"CHAP_A": "5", "CHAP_I": "256", "CHAP_C": "0x0102"},
		"bad challenge":         {"CHAP_A": "5", "CHAP_I": "1", "CHAP_C": "zz"},
		"huge challenge":        {"CHAP_A": "5", "CHAP_I": "1", "CHAP_C": "0x" + strings.Repeat("00", MaxCHAPChallengeLength+1)},
		"missing":               {"CHAP_A": "5"},
		"rejected":              {"CHAP_A": "Reject"},
	} {
		if _, err := ini.challenged(kv); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	if diff := cmp.Diff("5,7,8", formatCHAPAlgorithms([]CHAPAlgorithm{5, 7, 8})); diff != "" {
		t.Error(diff)
	}
}

func TestCHAPAlgorithmString(t *testing.T) {
	got := []string{CHAPMD5.String(), CHAPSHA1.String(), CHAPSHA256.String(), CHAPSHA3_256.String(), CHAPAlgorithm(1).String()}
	if diff := cmp.Diff([]string{"MD5", "SHA-1", "SHA-256", "SHA3-256", "CHAPAlgorithm(1)"}, got); diff != "" {
		t.Error(diff)
	}
	if CHAPAlgorithm(1).Size() != 0 {
		t.Error("size of unknown algorithm")
	}
}
