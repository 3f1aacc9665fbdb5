package login

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/go-iscsi/iscsi/pdu"
)

// FuzzParseSendTargets parses arbitrary SendTargets response text (RFC
// 7143 §13.3, Appendix C), as an initiator's discovery does with what a
// target sends. It must never panic; a refusal is a *TextError or
// ErrTargetAddress; and what it accepts encodes with AppendSendTargets to
// text that parses back to the same targets.
func FuzzParseSendTargets(f *testing.F) {
	f.Add(AppendSendTargets(nil, []DiscoveredTarget{
		{Name: "iqn.2026-11.org.example:disk0", Addresses: []TargetAddress{
			{Host: "192.0.2.1", Port: 3260, PortalGroupTag: 1, HasPortalGroupTag: true},
			{Host: "2001:db8::1", Port: 3261, PortalGroupTag: 2, HasPortalGroupTag: true},
		}},
		{Name: "eui.02004567A425678D", Addresses: []TargetAddress{
			{Host: "target.example.org", Port: 3260, PortalGroupTag: 65535, HasPortalGroupTag: true},
		}},
		{Name: "naa.52004567BA64678D"},
	}))
	f.Add([]byte("TargetName=iqn.2026-11.org.example:a\x00TargetAddress=10.0.0.1\x00"))
	f.Add([]byte("SendTargets=Reject\x00"))
	f.Add([]byte("TargetAddress=10.0.0.1:3260,1\x00"))
	// tgtd's answer to libiscsi's SendTargets=All, as captured.
	if b, err := os.ReadFile(filepath.Join(goldenDir, "discovery", "c0.t2i.bin")); err == nil {
		for len(b) > 0 {
			p, n, err := pdu.Decode(b, pdu.Digests{})
			if err != nil {
				break
			}
			if p.Header.Opcode() == pdu.OpTextResponse {
				f.Add(append([]byte(nil), p.Data...))
			}
			b = b[n:]
		}
	}
	f.Fuzz(func(t *testing.T, text []byte) {
		targets, err := ParseSendTargets(text)
		if err != nil {
			var te *TextError
			if !errors.As(err, &te) && !errors.Is(err, ErrTargetAddress) {
				t.Fatalf("untyped error %T: %v", err, err)
			}
			return
		}
		again, err := ParseSendTargets(AppendSendTargets(nil, targets))
		if err != nil {
			t.Fatalf("targets %+v encode to text that does not parse: %v", targets, err)
		}
		if diff := cmp.Diff(targets, again); diff != "" {
			t.Fatalf("encode and parse again (-first +again):\n%s", diff)
		}
	})
}
