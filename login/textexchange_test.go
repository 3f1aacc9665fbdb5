package login

import (
	"errors"
	"testing"

	"github.com/go-iscsi/iscsi/pdu"
	"github.com/google/go-cmp/cmp"
)

// textRound runs a TextExchange against a TextResponder in memory and
// returns the answer text.
func textRound(t *testing.T, x *TextExchange, r *TextResponder, pairs ...Pair) []byte {
	t.Helper()
	req := x.Start(pairs...)
	for i := 0; i < 100; i++ {
		resp, _, err := r.Next(req)
		if err != nil {
			t.Fatal(err)
		}
		tr := resp.Header.TextResponse()
		tr.SetStatSN(uint32(i))
		var done bool
		req, done, err = x.Next(resp)
		if err != nil {
			t.Fatal(err)
		}
		if done {
			return x.Text()
		}
	}
	t.Fatal("text exchange did not end")
	return nil
}

// TestTextRenegotiation renegotiates MaxRecvDataSegmentLength in full
// feature phase (RFC 7143 §6.4, §13.12) and checks that login-only keys are
// refused there.
func TestTextRenegotiation(t *testing.T) {
	neg := NewNegotiator(RoleTarget, DefaultSettings(), true, false)
	r := &TextResponder{Negotiator: neg, CurrentTarget: testTarget, Targets: func() []DiscoveredTarget {
		return []DiscoveredTarget{{Name: testTarget}, {Name: "iqn.2026-11.org.example:other"}}
	}}
	x := &TextExchange{ITT: 10}
	got := textRound(t, x, r, Pair{"MaxRecvDataSegmentLength", "131072"}, Pair{"MaxBurstLength", "4096"}, Pair{"SendTargets", ""})
	want := "TargetName=" + testTarget + "\x00MaxBurstLength=Reject\x00"
	if string(got) != want {
		t.Errorf("answer %q, want %q", got, want)
	}
	_, cp, _ := neg.Result()
	if cp.MaxXmitDataSegmentLength != 131072 {
		t.Errorf("MaxXmitDataSegmentLength %d", cp.MaxXmitDataSegmentLength)
	}
	// A second exchange may declare it again (a new negotiation sequence).
	x.ITT = 11
	if got := textRound(t, x, r, Pair{"MaxRecvDataSegmentLength", "8192"}); len(got) != 0 {
		t.Errorf("answer %q", got)
	}
	// SendTargets=All is for discovery sessions only (RFC 7143 Appendix
	// C).
	x.ITT = 12
	if got := textRound(t, x, r, Pair{"SendTargets", "All"}); string(got) != "SendTargets=Reject\x00" {
		t.Errorf("answer %q", got)
	}
}

// TestTextLongRequest sends request text over several PDUs (C bit) and gets
// the answer over several responses (TTT continuation), RFC 7143 §11.10,
// §11.11.
func TestTextLongRequest(t *testing.T) {
	var targets []DiscoveredTarget
	for i := range 100 {
		targets = append(targets, DiscoveredTarget{Name: testTarget + "-" + num(uint64(i)), Addresses: []TargetAddress{{Host: "192.0.2.1", Port: 3260 + i, PortalGroupTag: 1, HasPortalGroupTag: true}}})
	}
	r := &TextResponder{Discovery: true, MaxXmitDataSegmentLength: 512, Targets: func() []DiscoveredTarget { return targets }}
	x := &TextExchange{ITT: 1, MaxXmitDataSegmentLength: 512}
	var pairs []Pair
	for i := range 60 {
		pairs = append(pairs, Pair{Key: "X-org.example.k" + num(uint64(i)), Value: "value"})
	}
	pairs = append(pairs, Pair{"SendTargets", "All"})
	// The other keys are answered Irrelevant in a discovery session
	// (RFC 7143 §13.21); the SendTargets records are the rest, which
	// ParseSendTargets takes alone (Appendix C permits no other key).
	answer, err := ParseText(textRound(t, x, r, pairs...))
	if err != nil {
		t.Fatal(err)
	}
	var records []Pair
	irrelevant := 0
	for _, p := range answer {
		switch {
		case p.Key == "TargetName" || p.Key == "TargetAddress":
			records = append(records, p)
		case p.Value == Irrelevant:
			irrelevant++
		default:
			t.Errorf("unexpected answer %v", p)
		}
	}
	if irrelevant != 60 {
		t.Errorf("%d keys answered Irrelevant, want 60", irrelevant)
	}
	got, err := ParseSendTargets(AppendText(nil, records...))
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(targets, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

func TestTextSequenceErrors(t *testing.T) {
	r := &TextResponder{Discovery: true}
	var h pdu.BHS
	tr := h.TextRequest()
	tr.Init()
	tr.SetFinal(true)
	tr.SetTargetTransferTag(5) // continues nothing
	if _, _, err := r.Next(&pdu.PDU{Header: h}); !errors.Is(err, ErrTextSequence) {
		t.Errorf("stray TTT: %v", err)
	}
	var n pdu.BHS
	n.NOPOut().Init()
	if _, _, err := r.Next(&pdu.PDU{Header: n}); !errors.Is(err, ErrTextSequence) {
		t.Errorf("NOP-Out: %v", err)
	}
	x := &TextExchange{ITT: 3}
	x.Start(Pair{"SendTargets", "All"})
	var rh pdu.BHS
	resp := rh.TextResponse()
	resp.Init()
	resp.SetFinal(true)
	resp.SetInitiatorTaskTag(4)
	resp.SetTargetTransferTag(pdu.ReservedTag)
	if _, _, err := x.Next(&pdu.PDU{Header: rh}); !errors.Is(err, ErrTextSequence) {
		t.Errorf("wrong ITT: %v", err)
	}
	resp.SetInitiatorTaskTag(3)
	resp.SetFinal(false)
	if _, _, err := x.Next(&pdu.PDU{Header: rh}); !errors.Is(err, ErrTextSequence) {
		t.Errorf("not final without TTT: %v", err)
	}
}

// TestTextResponseFinalBit checks RFC 7143 §11.11.1: a Text Response to a
// Text Request with F clear has F clear and a Target Transfer Tag other
// than 0xffffffff, whatever the size of the answer; the follow-on request
// with F set and that TTT ends the exchange with F set.
func TestTextResponseFinalBit(t *testing.T) {
	tests := []struct {
		name  string
		pairs []Pair
		seg   uint32
	}{
		{"empty answer", []Pair{{"MaxRecvDataSegmentLength", "65536"}}, 0},
		{"short answer", []Pair{{"SendTargets", ""}}, 0},
		{"answer over several responses", []Pair{{"SendTargets", ""}}, 512},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			neg := NewNegotiator(RoleTarget, DefaultSettings(), true, false)
			r := &TextResponder{Negotiator: neg, CurrentTarget: testTarget, MaxXmitDataSegmentLength: tt.seg, Targets: func() []DiscoveredTarget {
				var ts []DiscoveredTarget
				for i := range 30 {
					ts = append(ts, DiscoveredTarget{Name: testTarget, Addresses: []TargetAddress{{Host: "192.0.2." + num(uint64(i)), Port: 3260, PortalGroupTag: 1, HasPortalGroupTag: true}}})
				}
				return ts
			}}
			var h pdu.BHS
			req := h.TextRequest()
			req.Init()
			req.SetFinal(false)
			req.SetInitiatorTaskTag(7)
			req.SetTargetTransferTag(pdu.ReservedTag)
			data := AppendText(nil, tt.pairs...)
			h.SetDataSegmentLength(uint32(len(data)))
			for i := range 20 {
				resp, done, err := r.Next(&pdu.PDU{Header: h, Data: data})
				if err != nil {
					t.Fatal(err)
				}
				tr := resp.Header.TextResponse()
				if i == 0 || !req.Final() {
					if tr.Final() || done {
						t.Fatalf("response %d to a request with F clear has F set", i)
					}
				}
				if !tr.Final() && tr.TargetTransferTag() == pdu.ReservedTag {
					t.Fatalf("response %d with F clear has the reserved TTT", i)
				}
				if tr.Final() {
					if !done || tr.TargetTransferTag() != pdu.ReservedTag {
						t.Fatalf("final response %d: done %v, TTT %#x", i, done, tr.TargetTransferTag())
					}
					return
				}
				// Follow on with F set and no text.
				req.SetFinal(true)
				req.SetTargetTransferTag(tr.TargetTransferTag())
				data = nil
				h.SetDataSegmentLength(0)
			}
			t.Fatal("exchange did not end")
		})
	}
}

// MaxXmitDataSegmentLength bounds the segments a text exchange sends, on
// both sides; the deprecated MaxSegment is its fallback (RFC 7143 §13.12:
// 8192 by default).
func TestTextSegmentLimit(t *testing.T) {
	var long []Pair
	for i := range 1000 {
		long = append(long, Pair{Key: "X-org.example.k" + num(uint64(i)), Value: "value"})
	}
	tests := []struct {
		name                   string
		maxXmit, maxSegment    uint32
		wantRequest, wantReply uint32
	}{
		{"MaxXmitDataSegmentLength", 1024, 0, 1024, 1024},
		{"MaxXmitDataSegmentLength wins", 1024, 4096, 1024, 1024},
		{"deprecated MaxSegment", 0, 2048, 2048, 2048},
		{"default", 0, 0, 8192, 8192},
	}
	for _, tt := range tests {
		x := &TextExchange{ITT: 1, MaxXmitDataSegmentLength: tt.maxXmit, MaxSegment: tt.maxSegment}
		req := x.Start(long...)
		if got := req.Header.DataSegmentLength(); got != tt.wantRequest {
			t.Errorf("%s: first Text Request carries %d bytes, want %d", tt.name, got, tt.wantRequest)
		}
		r := &TextResponder{Discovery: true, MaxXmitDataSegmentLength: tt.maxXmit, MaxSegment: tt.maxSegment}
		r.out = AppendText(nil, long...)
		if got := r.send().Header.DataSegmentLength(); got != tt.wantReply {
			t.Errorf("%s: first Text Response carries %d bytes, want %d", tt.name, got, tt.wantReply)
		}
	}
}

// TestTextResponderMaxRecvDataSegmentLength: with its own
// MaxRecvDataSegmentLength set, the responder takes the initiator's
// declaration in full feature phase (RFC 7143 §13.12) as its new
// MaxXmitDataSegmentLength and answers with the target's declaration; a
// value out of 512..2^24-1, or malformed, is answered Reject and changes
// nothing; a reserved constant is a protocol error (§6.2). Without the
// field, and in a discovery session, the key is answered as before.
func TestTextResponderMaxRecvDataSegmentLength(t *testing.T) {
	const own = "MaxRecvDataSegmentLength=262144\x00"
	tests := []struct {
		name      string
		own       uint32
		discovery bool
		pairs     []Pair
		want      string
		wantXmit  uint32
		wantErr   error
	}{
		{name: "declared", own: 262144, pairs: []Pair{{"MaxRecvDataSegmentLength", "4096"}}, want: own, wantXmit: 4096},
		{name: "smallest", own: 262144, pairs: []Pair{{"MaxRecvDataSegmentLength", "512"}}, want: own, wantXmit: 512},
		{name: "largest", own: 262144, pairs: []Pair{{"MaxRecvDataSegmentLength", "16777215"}}, want: own, wantXmit: 1<<24 - 1},
		{name: "hexadecimal", own: 262144, pairs: []Pair{{"MaxRecvDataSegmentLength", "0x1000"}}, want: own, wantXmit: 4096},
		{name: "with SendTargets and a login key", own: 262144,
			pairs: []Pair{{"SendTargets", ""}, {"MaxBurstLength", "4096"}, {"MaxRecvDataSegmentLength", "1024"}},
			want:  "TargetName=" + testTarget + "\x00MaxBurstLength=Reject\x00" + own, wantXmit: 1024},
		{name: "below 512", own: 262144, pairs: []Pair{{"MaxRecvDataSegmentLength", "511"}}, want: "MaxRecvDataSegmentLength=Reject\x00", wantXmit: 8192},
		{name: "zero", own: 262144, pairs: []Pair{{"MaxRecvDataSegmentLength", "0"}}, want: "MaxRecvDataSegmentLength=Reject\x00", wantXmit: 8192},
		{name: "beyond 2^24-1", own: 262144, pairs: []Pair{{"MaxRecvDataSegmentLength", "16777216"}}, want: "MaxRecvDataSegmentLength=Reject\x00", wantXmit: 8192},
		{name: "not a number", own: 262144, pairs: []Pair{{"MaxRecvDataSegmentLength", "lots"}}, want: "MaxRecvDataSegmentLength=Reject\x00", wantXmit: 8192},
		{name: "reserved constant", own: 262144, pairs: []Pair{{"MaxRecvDataSegmentLength", "Reject"}}, wantErr: ErrReservedValue, wantXmit: 8192},
		{name: "no declaration of the target's", pairs: []Pair{{"MaxRecvDataSegmentLength", "4096"}}, want: "MaxRecvDataSegmentLength=Reject\x00", wantXmit: 8192},
		{name: "discovery session", own: 262144, discovery: true, pairs: []Pair{{"MaxRecvDataSegmentLength", "4096"}}, want: "MaxRecvDataSegmentLength=Irrelevant\x00", wantXmit: 8192},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := &TextResponder{CurrentTarget: testTarget, Discovery: tt.discovery, MaxXmitDataSegmentLength: 8192, MaxRecvDataSegmentLength: tt.own,
				Targets: func() []DiscoveredTarget { return []DiscoveredTarget{{Name: testTarget}} }}
			x := &TextExchange{ITT: 1}
			resp, done, err := r.Next(x.Start(tt.pairs...))
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) || resp != nil {
					t.Fatalf("Next: %v, %v; want an error matching %v", resp, err, tt.wantErr)
				}
			} else {
				if err != nil || !done {
					t.Fatalf("Next: done %v, %v", done, err)
				}
				if diff := cmp.Diff(tt.want, string(resp.Data)); diff != "" {
					t.Errorf("answer (-want +got):\n%s", diff)
				}
			}
			if r.MaxXmitDataSegmentLength != tt.wantXmit {
				t.Errorf("MaxXmitDataSegmentLength %d, want %d", r.MaxXmitDataSegmentLength, tt.wantXmit)
			}
		})
	}
}
