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
// a text error, or the end of the stream.
func typedError(err error) bool {
	var le *login.LoginError
	var ce *pdu.ConnectionError
	var pe *pdu.ProtocolError
	var te *login.TextError
	return errors.As(err, &le) || errors.As(err, &ce) || errors.As(err, &pe) || errors.As(err, &te) ||
		errors.Is(err, login.ErrProtocol) || errors.Is(err, login.ErrTextSequence) ||
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
			Discovery:     res.Session.SessionType == login.SessionDiscovery,
			CurrentTarget: res.Session.TargetName,
			MaxSegment:    res.Conn.MaxXmitDataSegmentLength,
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

// FuzzInitiatorConnection plays a target's byte stream to the initiator
// side of a login, one-way CHAP offered. Any outcome is acceptable but a
// panic or an untyped error.
func FuzzInitiatorConnection(f *testing.F) {
	addCaptured(f, "t2i")
	f.Fuzz(func(t *testing.T, stream []byte) {
		r := pdu.NewReader(bytes.NewReader(stream))
		w := pdu.NewWriter(io.Discard)
		cfg := login.InitiatorConfig{
			InitiatorName:     fuzzInitiator,
			TargetName:        fuzzTarget,
			ISID:              pdu.ISID{0x80, 0x96, 0x7f, 0x05, 0, 0},
			CHAP:              &login.CHAPCredentials{User: fuzzCHAPUser, Secret: fuzzSecret},
			CHAPAlgorithms:    []login.CHAPAlgorithm{login.CHAPMD5},
			AllowRepeatedKeys: true,
		}
		_, err := login.Initiate(context.Background(), r, w, cfg)
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
