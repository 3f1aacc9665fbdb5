package login

import (
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func target(mod func(*Settings)) *Negotiator {
	s := DefaultSettings()
	if mod != nil {
		mod(&s)
	}
	return NewNegotiator(RoleTarget, s, true, false)
}

// TestResultFunctions checks each result function of RFC 7143 §6.2 with the
// target as responder.
func TestResultFunctions(t *testing.T) {
	tests := []struct {
		name     string
		settings func(*Settings)
		stage    Stage
		leading  bool
		disc     bool
		in       []Pair
		want     []Pair
	}{
		// §6.2.1: the responder picks the first offered value it supports.
		{"list first supported", nil, LoginOperationalNegotiation, true, false,
			[]Pair{{"HeaderDigest", "CRC32C,None"}}, []Pair{{"HeaderDigest", "CRC32C"}}},
		{"list refuse digests", func(s *Settings) { s.HeaderDigest = DigestRefuse }, LoginOperationalNegotiation, true, false,
			[]Pair{{"HeaderDigest", "CRC32C,None"}}, []Pair{{"HeaderDigest", "None"}}},
		{"list none in common", func(s *Settings) { s.DataDigest = DigestRequire }, LoginOperationalNegotiation, true, false,
			[]Pair{{"DataDigest", "None"}}, []Pair{{"DataDigest", "Reject"}}},
		{"list unknown values skipped", nil, LoginOperationalNegotiation, true, false,
			[]Pair{{"HeaderDigest", "md5,CRC32C"}}, []Pair{{"HeaderDigest", "CRC32C"}}},
		{"AuthMethod", nil, SecurityNegotiation, true, false,
			[]Pair{{"AuthMethod", "KRB5,CHAP,None"}}, []Pair{{"AuthMethod", "CHAP"}}},
		{"TaskReporting", func(s *Settings) { s.TaskReporting = []string{"ResponseFence", "RFC3720"} }, LoginOperationalNegotiation, true, false,
			[]Pair{{"TaskReporting", "FastAbort,ResponseFence,RFC3720"}}, []Pair{{"TaskReporting", "ResponseFence"}}},
		// §6.2.2: numerical Minimum and Maximum.
		{"minimum", func(s *Settings) { s.MaxBurstLength = 65536; s.FirstBurstLength = 65536 }, LoginOperationalNegotiation, true, false,
			[]Pair{{"MaxBurstLength", "262144"}}, []Pair{{"MaxBurstLength", "65536"}}},
		{"minimum offer below", nil, LoginOperationalNegotiation, true, false,
			[]Pair{{"MaxOutstandingR2T", "1"}, {"ErrorRecoveryLevel", "0x2"}}, []Pair{{"MaxOutstandingR2T", "1"}, {"ErrorRecoveryLevel", "0"}}},
		{"maximum", func(s *Settings) { s.DefaultTime2Wait = 5 }, LoginOperationalNegotiation, true, false,
			[]Pair{{"DefaultTime2Wait", "2"}}, []Pair{{"DefaultTime2Wait", "5"}}},
		// §6.2.2: Boolean AND and OR.
		{"and", func(s *Settings) { s.ImmediateData = false }, LoginOperationalNegotiation, true, false,
			[]Pair{{"ImmediateData", "Yes"}}, []Pair{{"ImmediateData", "No"}}},
		{"or", nil, LoginOperationalNegotiation, true, false,
			[]Pair{{"InitialR2T", "No"}, {"DataPDUInOrder", "No"}}, []Pair{{"InitialR2T", "Yes"}, {"DataPDUInOrder", "Yes"}}},
		{"or no", func(s *Settings) { s.InitialR2T = false }, LoginOperationalNegotiation, true, false,
			[]Pair{{"InitialR2T", "No"}}, []Pair{{"InitialR2T", "No"}}},
		// Ill-formed and out-of-range values: Reject (§6.2).
		{"below range", nil, LoginOperationalNegotiation, true, false,
			[]Pair{{"MaxBurstLength", "511"}}, []Pair{{"MaxBurstLength", "Reject"}}},
		{"above range", nil, LoginOperationalNegotiation, true, false,
			[]Pair{{"ErrorRecoveryLevel", "3"}, {"DefaultTime2Wait", "3601"}}, []Pair{{"ErrorRecoveryLevel", "Reject"}, {"DefaultTime2Wait", "Reject"}}},
		{"not a number", nil, LoginOperationalNegotiation, true, false,
			[]Pair{{"MaxConnections", "many"}}, []Pair{{"MaxConnections", "Reject"}}},
		{"not boolean", nil, LoginOperationalNegotiation, true, false,
			[]Pair{{"ImmediateData", "yes"}}, []Pair{{"ImmediateData", "Reject"}}},
		// Keys in the wrong place: Reject.
		{"login key in full feature", nil, FullFeaturePhase, true, false,
			[]Pair{{"MaxBurstLength", "65536"}}, []Pair{{"MaxBurstLength", "Reject"}}},
		{"leading-only on second connection", nil, LoginOperationalNegotiation, false, false,
			[]Pair{{"MaxBurstLength", "65536"}, {"HeaderDigest", "CRC32C"}}, []Pair{{"MaxBurstLength", "Reject"}, {"HeaderDigest", "CRC32C"}}},
		{"target-only key from initiator", nil, LoginOperationalNegotiation, true, false,
			[]Pair{{"TargetAddress", "10.0.0.1"}}, []Pair{{"TargetAddress", "Reject"}}},
		// Discovery sessions: Irrelevant (§13).
		{"discovery irrelevant", nil, LoginOperationalNegotiation, true, true,
			[]Pair{{"MaxBurstLength", "65536"}, {"ImmediateData", "Yes"}, {"HeaderDigest", "CRC32C"}},
			[]Pair{{"MaxBurstLength", "Irrelevant"}, {"ImmediateData", "Irrelevant"}, {"HeaderDigest", "CRC32C"}}},
		// Unknown keys and extensions: NotUnderstood (§6.2, §13.22).
		{"unknown", nil, LoginOperationalNegotiation, true, false,
			[]Pair{{"FancyKey", "1"}, {"X-com.example.foo", "bar"}}, []Pair{{"FancyKey", "NotUnderstood"}, {"X-com.example.foo", "NotUnderstood"}}},
		{"registered extension", func(s *Settings) { s.Private = map[string]string{"X-com.example.foo": "baz"} }, LoginOperationalNegotiation, true, false,
			[]Pair{{"X-com.example.foo", "bar"}}, nil},
		// Obsoleted keys: Reject (§13.25).
		{"markers", nil, LoginOperationalNegotiation, true, false,
			[]Pair{{"OFMarker", "No"}, {"IFMarker", "No"}, {"OFMarkInt", "2048~8192"}, {"IFMarkInt", "2048~8192"}},
			[]Pair{{"OFMarker", "Reject"}, {"IFMarker", "Reject"}, {"OFMarkInt", "Reject"}, {"IFMarkInt", "Reject"}}},
		// Declarative keys get no answer.
		{"declarative", nil, LoginOperationalNegotiation, true, false,
			[]Pair{{"MaxRecvDataSegmentLength", "65536"}, {"InitiatorAlias", "host one"}}, nil},
		{"declarative out of range", nil, LoginOperationalNegotiation, true, false,
			[]Pair{{"MaxRecvDataSegmentLength", "100"}}, []Pair{{"MaxRecvDataSegmentLength", "Reject"}}},
		// §13.14: FirstBurstLength never exceeds MaxBurstLength.
		{"first burst clamped", nil, LoginOperationalNegotiation, true, false,
			[]Pair{{"MaxBurstLength", "16384"}, {"FirstBurstLength", "65536"}}, []Pair{{"MaxBurstLength", "16384"}, {"FirstBurstLength", "16384"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := DefaultSettings()
			if tt.settings != nil {
				tt.settings(&s)
			}
			n := NewNegotiator(RoleTarget, s, tt.leading, tt.disc)
			n.SetAuthMethods([]string{"CHAP", "None"})
			got, err := n.Receive(tt.in, tt.stage)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("answers (-want +got):\n%s", diff)
			}
			if _, _, err := n.Result(); err != nil {
				t.Errorf("Result: %v", err)
			}
		})
	}
}

func TestDuplicateKey(t *testing.T) {
	n := target(nil)
	if _, err := n.Receive([]Pair{{"MaxBurstLength", "65536"}}, LoginOperationalNegotiation); err != nil {
		t.Fatal(err)
	}
	_, err := n.Receive([]Pair{{"MaxBurstLength", "65536"}}, LoginOperationalNegotiation)
	if !errors.Is(err, ErrDuplicateKey) {
		t.Errorf("repeated key: %v, want ErrDuplicateKey", err)
	}
	// A new sequence (full feature Text exchange) may negotiate again.
	n.BeginSequence()
	if _, err := n.Receive([]Pair{{"MaxRecvDataSegmentLength", "65536"}}, FullFeaturePhase); err != nil {
		t.Errorf("after BeginSequence: %v", err)
	}
}

// TestAnswers checks the originator's side: answers the result function
// does not allow are protocol errors (RFC 7143 §6.2.1, §6.2.2).
func TestAnswers(t *testing.T) {
	tests := []struct {
		name   string
		answer Pair
		err    error
	}{
		{"list value offered", Pair{"HeaderDigest", "CRC32C"}, nil},
		{"list value not offered", Pair{"HeaderDigest", "MD5"}, ErrUnexpectedAnswer},
		{"list of values", Pair{"HeaderDigest", "None,CRC32C"}, ErrUnexpectedAnswer},
		{"min lower", Pair{"MaxBurstLength", "4096"}, nil},
		{"min higher", Pair{"MaxBurstLength", "1048576"}, ErrUnexpectedAnswer},
		{"min out of range", Pair{"MaxBurstLength", "1"}, ErrOutOfRange},
		{"max higher", Pair{"DefaultTime2Wait", "10"}, nil},
		{"max lower", Pair{"DefaultTime2Wait", "1"}, ErrUnexpectedAnswer},
		{"and after No", Pair{"ImmediateData", "Yes"}, ErrUnexpectedAnswer},
		{"or after Yes", Pair{"InitialR2T", "No"}, ErrUnexpectedAnswer},
		{"reject keeps default", Pair{"MaxBurstLength", "Reject"}, nil},
		// RFC 7143 §6.2: NotUnderstood to a key of RFC 7143 is a
		// protocol error; to a key an RFC 3720 node does not know it
		// concludes the negotiation.
		{"not understood", Pair{"ErrorRecoveryLevel", "NotUnderstood"}, ErrUnexpectedAnswer},
		{"not understood later key", Pair{"TaskReporting", "NotUnderstood"}, nil},
		{"not understood declaration", Pair{"MaxRecvDataSegmentLength", "NotUnderstood"}, ErrUnexpectedAnswer},
		{"reject declaration", Pair{"MaxRecvDataSegmentLength", "Reject"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := DefaultSettings()
			s.HeaderDigest = DigestPrefer
			s.ImmediateData = false
			s.DefaultTime2Wait = 5
			n := NewNegotiator(RoleInitiator, s, true, false)
			n.Offer(LoginOperationalNegotiation)
			_, err := n.Receive([]Pair{tt.answer}, LoginOperationalNegotiation)
			if !errors.Is(err, tt.err) {
				t.Errorf("err = %v, want %v", err, tt.err)
			}
		})
	}
}

// exchange runs the operational stage between an initiator and a target
// negotiator until neither has pending offers.
func exchange(t *testing.T, ini, tgt *Negotiator) {
	t.Helper()
	req := ini.Offer(LoginOperationalNegotiation)
	for range 4 {
		ans, err := tgt.Receive(req, LoginOperationalNegotiation)
		if err != nil {
			t.Fatal(err)
		}
		resp := append(ans, tgt.Offer(LoginOperationalNegotiation)...)
		req, err = ini.Receive(resp, LoginOperationalNegotiation)
		if err != nil {
			t.Fatal(err)
		}
		if !ini.Pending() && !tgt.Pending() && len(req) == 0 {
			return
		}
	}
	t.Fatal("negotiation did not converge")
}

func TestNegotiationOutcome(t *testing.T) {
	is := DefaultSettings()
	is.HeaderDigest, is.DataDigest = DigestPrefer, DigestPrefer
	is.MaxRecvDataSegmentLength = 262144
	is.InitialR2T = false
	is.MaxBurstLength = 1048576
	is.FirstBurstLength = 262144
	is.ErrorRecoveryLevel = 2
	ts := DefaultSettings()
	ts.MaxRecvDataSegmentLength = 65536
	ts.MaxBurstLength = 131072
	ts.DefaultTime2Retain = 0 // the target originates this one
	ts.MaxOutstandingR2T = 4
	ini := NewNegotiator(RoleInitiator, is, true, false)
	ini.Declare("InitiatorName", "iqn.2001-04.com.example:i")
	tgt := NewNegotiator(RoleTarget, ts, true, false)
	if _, err := tgt.Receive([]Pair{{"InitiatorName", "iqn.2001-04.com.example:i"}}, SecurityNegotiation); err != nil {
		t.Fatal(err)
	}
	exchange(t, ini, tgt)

	want := DefaultSessionParams()
	want.InitiatorName = "iqn.2001-04.com.example:i"
	want.InitialR2T = true // OR with the target's Yes
	want.MaxBurstLength = 131072
	want.FirstBurstLength = 65536
	want.DefaultTime2Retain = 0
	want.MaxOutstandingR2T = 1
	want.ErrorRecoveryLevel = 0
	for _, n := range []*Negotiator{ini, tgt} {
		sp, _, err := n.Result()
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(want, sp); diff != "" {
			t.Errorf("role %d session params (-want +got):\n%s", n.role, diff)
		}
	}
	_, icp, _ := ini.Result()
	_, tcp, _ := tgt.Result()
	if diff := cmp.Diff(ConnParams{HeaderDigest: true, DataDigest: true, MaxRecvDataSegmentLength: 262144, MaxXmitDataSegmentLength: 65536}, icp); diff != "" {
		t.Errorf("initiator conn params (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(ConnParams{HeaderDigest: true, DataDigest: true, MaxRecvDataSegmentLength: 65536, MaxXmitDataSegmentLength: 262144}, tcp); diff != "" {
		t.Errorf("target conn params (-want +got):\n%s", diff)
	}
}

// TestReceiveProtocolErrors checks the faults RFC 7143 §6.2 and §6.3 make
// protocol errors: each returns a *TextError of the given kind.
func TestReceiveProtocolErrors(t *testing.T) {
	tests := []struct {
		name  string
		role  Role
		stage Stage
		in    []Pair
		err   error
	}{
		// §6.3: a key not allowed in the current stage.
		{"security key in operational", RoleTarget, LoginOperationalNegotiation, []Pair{{"AuthMethod", "None"}}, ErrWrongPhase},
		{"operational key in security", RoleTarget, SecurityNegotiation, []Pair{{"MaxBurstLength", "65536"}}, ErrWrongPhase},
		{"SendTargets during login", RoleTarget, LoginOperationalNegotiation, []Pair{{"SendTargets", "All"}}, ErrWrongPhase},
		{"operational key in security response", RoleInitiator, SecurityNegotiation, []Pair{{"HeaderDigest", "None"}}, ErrWrongPhase},
		{"any-stage key in security", RoleTarget, SecurityNegotiation, []Pair{{"InitiatorAlias", "host"}}, nil},
		// §6.2: the reserved constants are not proposed values.
		{"Reject proposed", RoleTarget, LoginOperationalNegotiation, []Pair{{"MaxBurstLength", "Reject"}}, ErrReservedValue},
		{"Irrelevant proposed", RoleTarget, LoginOperationalNegotiation, []Pair{{"ImmediateData", "Irrelevant"}}, ErrReservedValue},
		{"NotUnderstood declared", RoleInitiator, LoginOperationalNegotiation, []Pair{{"TargetAlias", "NotUnderstood"}}, ErrReservedValue},
		{"NotUnderstood to nothing", RoleTarget, LoginOperationalNegotiation, []Pair{{"X-com.example.foo", "NotUnderstood"}}, ErrReservedValue},
		// §6.3: TargetAddress may repeat; other keys may not.
		{"TargetAddress repeated", RoleInitiator, LoginOperationalNegotiation, []Pair{{"TargetAddress", "192.0.2.1:3260,1"}, {"TargetAddress", "192.0.2.2:3260,1"}}, nil},
		{"TargetAlias repeated", RoleInitiator, LoginOperationalNegotiation, []Pair{{"TargetAlias", "a"}, {"TargetAlias", "b"}}, ErrDuplicateKey},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n := NewNegotiator(tt.role, DefaultSettings(), true, false)
			_, err := n.Receive(tt.in, tt.stage)
			if !errors.Is(err, tt.err) {
				t.Fatalf("err = %v, want %v", err, tt.err)
			}
			var te *TextError
			if tt.err != nil && !errors.As(err, &te) {
				t.Errorf("err %T is not a *TextError", err)
			}
		})
	}
}

// TestResultIntegrity checks the integrity rules the target must check
// before the parameters take effect (RFC 7143 §6.2): MaxOutstandingR2T 1
// when ErrorRecoveryLevel > 0 and DataSequenceInOrder=Yes (§13.19), and
// ErrorRecoveryLevel 0 in a discovery session (§7.4.1, §13.21).
func TestResultIntegrity(t *testing.T) {
	tests := []struct {
		name     string
		settings func(*Settings)
		disc     bool
		in       []Pair
		answers  []Pair
		erl      uint8
		mor2t    uint32
		err      error
	}{
		{"recovery with sequences in order", func(s *Settings) { s.ErrorRecoveryLevel = 2; s.MaxOutstandingR2T = 4 }, false,
			[]Pair{{"ErrorRecoveryLevel", "2"}, {"MaxOutstandingR2T", "8"}},
			[]Pair{{"ErrorRecoveryLevel", "2"}, {"MaxOutstandingR2T", "1"}}, 2, 1, nil},
		{"recovery with sequences in any order", func(s *Settings) {
			s.ErrorRecoveryLevel = 1
			s.MaxOutstandingR2T = 4
			s.DataSequenceInOrder = false
		}, false,
			[]Pair{{"ErrorRecoveryLevel", "1"}, {"MaxOutstandingR2T", "8"}, {"DataSequenceInOrder", "No"}},
			[]Pair{{"ErrorRecoveryLevel", "1"}, {"MaxOutstandingR2T", "4"}, {"DataSequenceInOrder", "No"}}, 1, 4, nil},
		{"no recovery", func(s *Settings) { s.MaxOutstandingR2T = 4 }, false,
			[]Pair{{"ErrorRecoveryLevel", "0"}, {"MaxOutstandingR2T", "8"}},
			[]Pair{{"ErrorRecoveryLevel", "0"}, {"MaxOutstandingR2T", "4"}}, 0, 4, nil},
		{"discovery answers level 0", func(s *Settings) { s.ErrorRecoveryLevel = 2 }, true,
			[]Pair{{"ErrorRecoveryLevel", "2"}},
			[]Pair{{"ErrorRecoveryLevel", "0"}}, 0, 1, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := DefaultSettings()
			tt.settings(&s)
			n := NewNegotiator(RoleTarget, s, true, tt.disc)
			got, err := n.Receive(tt.in, LoginOperationalNegotiation)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.answers, got); diff != "" {
				t.Errorf("answers (-want +got):\n%s", diff)
			}
			sp, _, err := n.Result()
			if !errors.Is(err, tt.err) {
				t.Fatalf("Result err = %v, want %v", err, tt.err)
			}
			if sp.ErrorRecoveryLevel != tt.erl || sp.MaxOutstandingR2T != tt.mor2t {
				t.Errorf("ErrorRecoveryLevel %d MaxOutstandingR2T %d, want %d %d", sp.ErrorRecoveryLevel, sp.MaxOutstandingR2T, tt.erl, tt.mor2t)
			}
		})
	}
	// The initiator checks the target's outcome too: a target that
	// answers ErrorRecoveryLevel=1 and MaxOutstandingR2T=2 leaves a
	// session that breaks §13.19.
	s := DefaultSettings()
	s.ErrorRecoveryLevel = 2
	s.MaxOutstandingR2T = 4
	ini := NewNegotiator(RoleInitiator, s, true, false)
	ini.Offer(LoginOperationalNegotiation)
	if _, err := ini.Receive([]Pair{{"ErrorRecoveryLevel", "1"}, {"MaxOutstandingR2T", "2"}}, LoginOperationalNegotiation); err != nil {
		t.Fatal(err)
	}
	if _, _, err := ini.Result(); !errors.Is(err, ErrOutOfRange) {
		t.Errorf("Result err = %v, want ErrOutOfRange", err)
	}
}

// TestTaskReportingOffer checks RFC 7143 §13.23: the originator offers at
// least RFC3720 and ResponseFence, and the target answers from its own
// list, RFC3720 by default (the semantics the session layer implements).
func TestTaskReportingOffer(t *testing.T) {
	tests := []struct {
		name   string
		prefer []string
		offer  string
	}{
		{"default", nil, "RFC3720,ResponseFence"},
		{"fence preferred", []string{"ResponseFence"}, "ResponseFence,RFC3720"},
		{"fast abort", []string{"FastAbort"}, "FastAbort,RFC3720,ResponseFence"},
		{"both", []string{"RFC3720", "ResponseFence"}, "RFC3720,ResponseFence"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := DefaultSettings()
			s.TaskReporting = tt.prefer
			ini := NewNegotiator(RoleInitiator, s, true, false)
			var got string
			for _, p := range ini.Offer(LoginOperationalNegotiation) {
				if p.Key == "TaskReporting" {
					got = p.Value
				}
			}
			if got != tt.offer {
				t.Fatalf("offer %q, want %q", got, tt.offer)
			}
			tgt := NewNegotiator(RoleTarget, DefaultSettings(), true, false)
			ans, err := tgt.Receive([]Pair{{"TaskReporting", got}}, LoginOperationalNegotiation)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff([]Pair{{"TaskReporting", "RFC3720"}}, ans); diff != "" {
				t.Errorf("target answer (-want +got):\n%s", diff)
			}
		})
	}
}
