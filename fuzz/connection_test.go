package fuzz_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/go-iscsi/iscsi/login"
	"github.com/go-iscsi/iscsi/pdu"
)

const (
	fuzzTarget    = "iqn.2026-01.org.example.golden:disk"
	fuzzInitiator = "iqn.2007-10.com.github:sahlberg:libiscsi:iscsi-ls"
	fuzzCHAPUser  = "user"
	fuzzSecret    = "secretsecret"
)

// addCaptured seeds f with the captured byte streams of one direction
// ("i2t" initiator to target, "t2i" target to initiator) of every golden
// scenario.
func addCaptured(f *testing.F, dir string) {
	f.Helper()
	files, err := filepath.Glob(filepath.Join("..", "pdu", "testdata", "golden", "*", "*."+dir+".bin"))
	if err != nil {
		f.Fatal(err)
	}
	if len(files) == 0 {
		f.Fatal("no captured streams under pdu/testdata/golden")
	}
	for _, name := range files {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
}

// typedError reports whether err is one of the errors a connection may end
// with: a login failure with its status, a PDU framing or protocol error,
// a text error, a CHAP failure, or the end of the stream. The CHAP
// sentinels are there because an initiator that authenticates the target
// (mutual CHAP) fails on its own, with no Login Response status to carry:
// a wrong CHAP_R from the target is login.ErrAuthFailed, an ill-formed
// CHAP exchange login.ErrCHAPProtocol (RFC 7143 §12.1.3).
func typedError(err error) bool {
	var le *login.LoginError
	var ce *pdu.ConnectionError
	var pe *pdu.ProtocolError
	var te *login.TextError
	return errors.As(err, &le) || errors.As(err, &ce) || errors.As(err, &pe) || errors.As(err, &te) ||
		errors.Is(err, login.ErrProtocol) || errors.Is(err, login.ErrTextSequence) ||
		errors.Is(err, login.ErrAuthFailed) || errors.Is(err, login.ErrCHAPAlgorithm) ||
		errors.Is(err, login.ErrCHAPReflection) || errors.Is(err, login.ErrCHAPProtocol) ||
		errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF)
}

// targetConfig is a target with one CHAP-protected target and discovery.
func targetConfig() login.TargetConfig {
	return login.TargetConfig{
		Lookup: func(name string) (login.TargetInfo, bool) {
			if name != fuzzTarget {
				return login.TargetInfo{}, false
			}
			return login.TargetInfo{Name: fuzzTarget, AuthMethods: []string{"CHAP", "None"}}, true
		},
		PortalGroupTag:       1,
		DiscoveryAuthMethods: []string{"CHAP", "None"},
		CHAP: func(initiatorName, targetName, user string) (string, *login.CHAPCredentials, bool) {
			if user != fuzzCHAPUser {
				return "", nil, false
			}
			return fuzzSecret, nil, true
		},
		AllowRepeatedKeys: true,
	}
}

// FuzzTargetConnection plays an initiator's byte stream to the target side
// of a connection: login.Accept, then, in full feature phase, Text
// Requests answered by a login.TextResponder, until the stream ends. Any
// outcome is acceptable but a panic or an untyped error.
func FuzzTargetConnection(f *testing.F) {
	addCaptured(f, "i2t")
	f.Fuzz(func(t *testing.T, stream []byte) {
		r := pdu.NewReader(bytes.NewReader(stream))
		w := pdu.NewWriter(io.Discard)
		res, err := login.Accept(context.Background(), r, w, targetConfig())
		if err != nil {
			if !typedError(err) {
				t.Fatalf("login.Accept: untyped error %T: %v", err, err)
			}
			return
		}
		if res.TSIH == 0 {
			t.Fatal("successful login with TSIH 0")
		}
		tr := &login.TextResponder{
			Discovery:                res.Session.SessionType == login.SessionDiscovery,
			CurrentTarget:            res.Session.TargetName,
			MaxXmitDataSegmentLength: res.Conn.MaxXmitDataSegmentLength,
			Targets: func() []login.DiscoveredTarget {
				return []login.DiscoveredTarget{{Name: fuzzTarget}}
			},
		}
		for {
			p, err := r.Read()
			if err != nil {
				if !typedError(err) {
					t.Fatalf("Read: untyped error %T: %v", err, err)
				}
				return
			}
			if p.Header.Opcode() != pdu.OpTextRequest {
				continue
			}
			resp, _, err := tr.Next(p)
			if err != nil {
				if !typedError(err) {
					t.Fatalf("TextResponder.Next: untyped error %T: %v", err, err)
				}
				continue
			}
			if resp != nil {
				if err := w.WritePDU(resp); err != nil {
					t.Fatalf("writing a Text Response: %v", err)
				}
			}
		}
	})
}

// initiatorConfigFor returns the initiator configuration that a target
// byte stream answers: the ISID and Initiator Task Tag of its first Login
// Response (RFC 7143 §11.13: a target echoes them), security negotiation
// skipped when that response is already in the operational stage
// (libiscsi's captured logins start there, RFC 7143 §6.3.2), CHAP offered
// when it asks for CHAP, and mutual CHAP when the target later sends a
// CHAP_R of its own. Without this the captured seeds, from libiscsi's
// initiators, would all fail at the first response for a mismatched ISID
// and the fuzzer would never reach the negotiation behind it.
func initiatorConfigFor(stream []byte) login.InitiatorConfig {
	cfg := login.InitiatorConfig{
		InitiatorName:     fuzzInitiator,
		TargetName:        fuzzTarget,
		CHAPAlgorithms:    []login.CHAPAlgorithm{login.CHAPMD5},
		AllowRepeatedKeys: true,
	}
	first, _, err := pdu.Decode(stream, pdu.Digests{})
	if err != nil {
		return cfg
	}
	lr := first.Header.LoginResponse()
	cfg.ISID, cfg.InitiatorTaskTag = lr.ISID(), lr.InitiatorTaskTag()
	cfg.SkipSecurity = lr.CSG() == login.LoginOperationalNegotiation
	if bytes.Contains(first.Data, []byte("AuthMethod=CHAP\x00")) {
		cfg.CHAP = &login.CHAPCredentials{User: fuzzCHAPUser, Secret: fuzzSecret}
		if bytes.Contains(stream, []byte("CHAP_R=")) {
			cfg.MutualCHAP = &login.CHAPCredentials{User: fuzzCHAPUser, Secret: fuzzSecret}
		}
	}
	return cfg
}

// FuzzInitiatorConnection plays a target's byte stream to the initiator
// side of a login, configured as initiatorConfigFor says. Any outcome is
// acceptable but a panic or an untyped error.
func FuzzInitiatorConnection(f *testing.F) {
	addCaptured(f, "t2i")
	f.Fuzz(func(t *testing.T, stream []byte) {
		r := pdu.NewReader(bytes.NewReader(stream))
		w := pdu.NewWriter(io.Discard)
		_, err := login.Initiate(context.Background(), r, w, initiatorConfigFor(stream))
		if err != nil && !typedError(err) {
			t.Fatalf("login.Initiate: untyped error %T: %v", err, err)
		}
	})
}

// TestCapturedLoginsSucceed checks that the seeds reach full feature phase:
// libiscsi's captured logins to tgtd (no authentication) log in to the
// fuzzed target configuration, so the fuzzers start past the login.
func TestCapturedLoginsSucceed(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("..", "pdu", "testdata", "golden", "session", "*.i2t.bin"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no captured session streams: %v", err)
	}
	for _, name := range files {
		stream, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		r := pdu.NewReader(bytes.NewReader(stream))
		res, err := login.Accept(context.Background(), r, pdu.NewWriter(io.Discard), targetConfig())
		if err != nil {
			t.Errorf("%s: login failed: %v", name, err)
			continue
		}
		if res.TSIH == 0 || !strings.HasPrefix(res.Session.InitiatorName, "iqn.2007-10.com.github:sahlberg:libiscsi:") {
			t.Errorf("%s: result %+v", name, res)
		}
	}
}

// TestCapturedLoginsAnswerInitiator checks the same for the initiator
// side: tgtd's captured Login Responses, without authentication and with
// one-way CHAP, take the initiator configured by initiatorConfigFor to
// full feature phase, so FuzzInitiatorConnection starts past the ISID and
// stage checks of the first response.
func TestCapturedLoginsAnswerInitiator(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("..", "pdu", "testdata", "golden", "session", "*.t2i.bin"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no captured session streams: %v", err)
	}
	// chap/c0 is the one-way CHAP login with the right secret; c1 (wrong
	// secret) and c2 (mutual CHAP) end in errors by design.
	files = append(files, filepath.Join("..", "pdu", "testdata", "golden", "chap", "c0.t2i.bin"))
	for _, name := range files {
		stream, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		cfg := initiatorConfigFor(stream)
		r := pdu.NewReader(bytes.NewReader(stream))
		res, err := login.Initiate(context.Background(), r, pdu.NewWriter(io.Discard), cfg)
		if err != nil {
			t.Errorf("%s: login failed: %v", name, err)
			continue
		}
		if res.TSIH == 0 || res.ISID != cfg.ISID {
			t.Errorf("%s: result %+v", name, res)
		}
	}
}

// TestCapturedCHAPFailuresTyped checks that the captured CHAP logins that
// cannot succeed against initiatorConfigFor end in the typed errors
// typedError accepts: tgtd refusing a wrong secret with status 0x0201, and
// the target's mutual CHAP response, computed for another challenge,
// failing the initiator's check (RFC 7143 §12.1.3).
func TestCapturedCHAPFailuresTyped(t *testing.T) {
	for _, tc := range []struct {
		name string
		ok   func(error) bool
	}{
		{"c1", func(err error) bool {
			var le *login.LoginError
			return errors.As(err, &le) && le.Status == pdu.LoginAuthenticationFailure
		}},
		{"c2", func(err error) bool { return errors.Is(err, login.ErrAuthFailed) }},
	} {
		stream, err := os.ReadFile(filepath.Join("..", "pdu", "testdata", "golden", "chap", tc.name+".t2i.bin"))
		if err != nil {
			t.Fatal(err)
		}
		cfg := initiatorConfigFor(stream)
		_, err = login.Initiate(context.Background(), pdu.NewReader(bytes.NewReader(stream)), pdu.NewWriter(io.Discard), cfg)
		if !tc.ok(err) || !typedError(err) {
			t.Errorf("chap/%s: login error %v", tc.name, err)
		}
	}
}
