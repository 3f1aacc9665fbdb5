package session

import (
	"testing"

	"github.com/go-iscsi/iscsi/pdu"
	"github.com/google/go-cmp/cmp"
)

// text sends one immediate Text Request with F set and a reserved Target
// Transfer Tag carrying kv (NUL-terminated), and returns the opcode and
// data of the PDU that answers it.
func (in *initiator) text(kv string) (pdu.Opcode, string) {
	in.t.Helper()
	itt := in.nextITT()
	var h pdu.BHS
	r := h.TextRequest()
	r.Init()
	r.SetImmediate(true)
	r.SetFinal(true)
	r.SetInitiatorTaskTag(itt)
	r.SetTargetTransferTag(pdu.ReservedTag)
	r.SetCmdSN(in.cmdSN)
	r.SetExpStatSN(in.statSN)
	in.write(&h, append([]byte(kv), 0))
	p := in.read()
	return p.Header.Opcode(), string(p.Data)
}

// TestTextRequestInFullFeaturePhase checks the answers to Text Requests of
// a normal session: a key the target does not know is answered
// key=NotUnderstood (RFC 7143 §6.2.1), a SendTargets value that is not
// allowed is answered SendTargets=Reject (§6.2.1, Appendix C), both in a
// Text Response, and the session goes on.
func TestTextRequestInFullFeaturePhase(t *testing.T) {
	srv := newTestServer(t, nil)
	in := dial(t, srv, nil, pdu.ISID{0x80, 0, 0, 0, 0, 0x31})
	for _, tc := range []struct {
		send, want string
	}{
		{"SendTargetsPlease=All", "SendTargetsPlease=NotUnderstood\x00"},
		{"X-org.example.unknown=1", "X-org.example.unknown=NotUnderstood\x00"},
		{"SendTargets=Alle", "SendTargets=Reject\x00"},
		{"SendTargets=A", "SendTargets=Reject\x00"},
	} {
		op, got := in.text(tc.send)
		if op != pdu.OpTextResponse {
			t.Fatalf("%q answered by %v", tc.send, op)
		}
		if diff := cmp.Diff(tc.want, got); diff != "" {
			t.Errorf("%q answered (-want +got):\n%s", tc.send, diff)
		}
	}
	in.nop(nil)
	in.logout()
}
