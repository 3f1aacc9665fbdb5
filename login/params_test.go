package login

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestSettingsValidate(t *testing.T) {
	s := DefaultSettings()
	if err := s.Validate(); err != nil {
		t.Fatalf("defaults invalid: %v", err)
	}
	for name, mod := range map[string]func(*Settings){
		"burst order":   func(s *Settings) { s.FirstBurstLength = s.MaxBurstLength + 1 },
		"mrdsl":         func(s *Settings) { s.MaxRecvDataSegmentLength = 100 },
		"erl":           func(s *Settings) { s.ErrorRecoveryLevel = 3 },
		"maxconn":       func(s *Settings) { s.MaxConnections = 0 },
		"private":       func(s *Settings) { s.Private = map[string]string{"Foo": "1"} },
		"task report":   func(s *Settings) { s.TaskReporting = []string{"Sometimes"} },
		"time2wait max": func(s *Settings) { s.DefaultTime2Wait = 3601 },
	} {
		s := DefaultSettings()
		mod(&s)
		if err := s.Validate(); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

func TestDefaults(t *testing.T) {
	// RFC 7143 §13: the default of every session key.
	want := SessionParams{MaxConnections: 1, InitialR2T: true, ImmediateData: true, MaxBurstLength: 262144,
		FirstBurstLength: 65536, DefaultTime2Wait: 2, DefaultTime2Retain: 20, MaxOutstandingR2T: 1,
		DataPDUInOrder: true, DataSequenceInOrder: true, TaskReporting: "RFC3720", ProtocolLevel: 1}
	if diff := cmp.Diff(want, DefaultSessionParams()); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(ConnParams{MaxRecvDataSegmentLength: 8192, MaxXmitDataSegmentLength: 8192}, DefaultConnParams()); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	if s := DefaultSessionParams().String(); s == "" || SessionDiscovery.String() != "Discovery" || SessionType(9).String() != "SessionType(9)" {
		t.Errorf("String: %q", s)
	}
}
