package login

import (
	"errors"
	"fmt"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestParseTargetAddress(t *testing.T) {
	tests := []struct {
		in   string
		want TargetAddress
		ok   bool
	}{
		{"10.0.0.1", TargetAddress{Host: "10.0.0.1", Port: 3260}, true},
		{"10.0.0.1:3261", TargetAddress{Host: "10.0.0.1", Port: 3261}, true},
		{"10.0.0.1:3260,1", TargetAddress{Host: "10.0.0.1", Port: 3260, PortalGroupTag: 1, HasPortalGroupTag: true}, true},
		{"10.0.0.1,65535", TargetAddress{Host: "10.0.0.1", Port: 3260, PortalGroupTag: 65535, HasPortalGroupTag: true}, true},
		{"[fe80::1]:3260,2", TargetAddress{Host: "fe80::1", Port: 3260, PortalGroupTag: 2, HasPortalGroupTag: true}, true},
		{"[::1]", TargetAddress{Host: "::1", Port: 3260}, true},
		{"storage.example.com:860,3", TargetAddress{Host: "storage.example.com", Port: 860, PortalGroupTag: 3, HasPortalGroupTag: true}, true},
		{"fe80::1", TargetAddress{}, false},
		{"[fe80::1", TargetAddress{}, false},
		{"[fe80::1]x", TargetAddress{}, false},
		{"[10.0.0.1]", TargetAddress{}, false},
		{"host:0", TargetAddress{}, false},
		{"host:65536", TargetAddress{}, false},
		{"host,65536", TargetAddress{}, false},
		{"host,", TargetAddress{}, false},
		{"", TargetAddress{}, false},
		{":3260", TargetAddress{}, false},
		{"bad host:1", TargetAddress{}, false},
	}
	for _, tt := range tests {
		got, err := ParseTargetAddress(tt.in)
		if (err == nil) != tt.ok {
			t.Errorf("ParseTargetAddress(%q) error %v", tt.in, err)
			continue
		}
		if err != nil {
			if !errors.Is(err, ErrTargetAddress) {
				t.Errorf("%q: error %v is not ErrTargetAddress", tt.in, err)
			}
			continue
		}
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("%q (-want +got):\n%s", tt.in, diff)
		}
		back, err := ParseTargetAddress(got.String())
		if err != nil || back != got {
			t.Errorf("%q: String %q does not round-trip: %v", tt.in, got.String(), err)
		}
	}
}

func TestSendTargetsRoundTrip(t *testing.T) {
	targets := []DiscoveredTarget{
		{Name: "iqn.2001-04.com.example:disk1", Addresses: []TargetAddress{
			{Host: "10.0.0.1", Port: 3260, PortalGroupTag: 1, HasPortalGroupTag: true},
			{Host: "fe80::1", Port: 3260, PortalGroupTag: 1, HasPortalGroupTag: true},
		}},
		{Name: "iqn.2001-04.com.example:disk2"},
	}
	text := AppendSendTargets(nil, targets)
	want := "TargetName=iqn.2001-04.com.example:disk1\x00TargetAddress=10.0.0.1:3260,1\x00TargetAddress=[fe80::1]:3260,1\x00TargetName=iqn.2001-04.com.example:disk2\x00"
	if string(text) != want {
		t.Fatalf("text %q, want %q", text, want)
	}
	got, err := ParseSendTargets(text)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(targets, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

func TestParseSendTargetsErrors(t *testing.T) {
	for name, text := range map[string]string{
		"address first":  "TargetAddress=10.0.0.1\x00",
		"bad address":    "TargetName=iqn.2001-04.com.example:a\x00TargetAddress=fe80::1\x00",
		"rejected":       "SendTargets=Reject\x00",
		"bad name":       "TargetName=has space\x00",
		"not terminated": "TargetName=iqn.a",
	} {
		if _, err := ParseSendTargets([]byte(text)); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	// RFC 7143 Appendix C permits no other key; §13.8 requires the
	// portal group tag in a SendTargets response.
	for name, text := range map[string]string{
		"other key":           "TargetName=iqn.2001-04.com.example:a\x00TargetAlias=disk\x00",
		"no portal group tag": "TargetName=iqn.2001-04.com.example:a\x00TargetAddress=10.0.0.1:3260\x00",
	} {
		_, err := ParseSendTargets([]byte(text))
		var te *TextError
		if !errors.Is(err, ErrSendTargets) || !errors.As(err, &te) {
			t.Errorf("%s: err %v, want a *TextError wrapping ErrSendTargets", name, err)
		}
	}
}

func TestSelectSendTargets(t *testing.T) {
	targets := []DiscoveredTarget{{Name: "iqn.a"}, {Name: "iqn.b"}}
	tests := []struct {
		value     string
		discovery bool
		current   string
		want      string
		ok        bool
	}{
		{"All", true, "", "TargetName=iqn.a\x00TargetName=iqn.b\x00", true},
		{"All", false, "iqn.a", "", false},
		{"", false, "iqn.b", "TargetName=iqn.b\x00", true},
		{"", true, "", "", false},
		{"iqn.a", true, "", "TargetName=iqn.a\x00", true},
		{"iqn.zzz", true, "", "", true},
		{"Alle", true, "", "", false},
		{"A", false, "iqn.b", "", false},
		// Appendix C: an operational session reports only the target
		// it is connected to.
		{"iqn.b", false, "iqn.b", "TargetName=iqn.b\x00", true},
		{"iqn.a", false, "iqn.b", "", true},
	}
	for _, tt := range tests {
		got, ok := SelectSendTargets(tt.value, tt.discovery, tt.current, targets)
		if ok != tt.ok || string(got) != tt.want {
			t.Errorf("SelectSendTargets(%q, %v, %q) = %q, %v; want %q, %v", tt.value, tt.discovery, tt.current, got, ok, tt.want, tt.ok)
		}
	}
}

// TestSendTargetsPortalGroupTag checks RFC 7143 §13.8: every TargetAddress
// of a SendTargets response carries a portal group tag, the session's when
// the configured address has none.
func TestSendTargetsPortalGroupTag(t *testing.T) {
	tests := []struct {
		name    string
		targets []DiscoveredTarget
		want    string
	}{
		{"address without tag", []DiscoveredTarget{{Name: "iqn.a", Addresses: []TargetAddress{{Host: "10.0.0.1", Port: 3260}}}},
			"TargetName=iqn.a\x00TargetAddress=10.0.0.1:3260,7\x00"},
		{"tag kept", []DiscoveredTarget{{Name: "iqn.a", Addresses: []TargetAddress{{Host: "10.0.0.1", Port: 3260, PortalGroupTag: 2, HasPortalGroupTag: true}, {Host: "10.0.0.2", Port: 3260}}}},
			"TargetName=iqn.a\x00TargetAddress=10.0.0.1:3260,2\x00TargetAddress=10.0.0.2:3260,7\x00"},
		{"no address", []DiscoveredTarget{{Name: "iqn.a"}}, "TargetName=iqn.a\x00"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			orig := fmt.Sprint(tt.targets)
			r := &TextResponder{Discovery: true, PortalGroupTag: 7, Targets: func() []DiscoveredTarget { return tt.targets }}
			x := &TextExchange{ITT: 1}
			got := textRound(t, x, r, Pair{"SendTargets", "All"})
			if string(got) != tt.want {
				t.Errorf("answer %q, want %q", got, tt.want)
			}
			if _, err := ParseSendTargets(got); err != nil {
				t.Error(err)
			}
			if fmt.Sprint(tt.targets) != orig {
				t.Errorf("the configured targets were changed: %v", tt.targets)
			}
		})
	}
}
