package main

import (
	"bytes"
	"strings"
	"testing"
)

func TestRun(t *testing.T) {
	tests := []struct {
		name       string
		args       []string
		stdin      string
		wantStatus int
		wantOut    []string
	}{
		{
			name:       "seed example is normalized",
			args:       []string{"iqn.2001-04.org.gentoo:iSCSI.test.disk1"},
			wantStatus: 0,
			wantOut: []string{
				"name:       iqn.2001-04.org.gentoo:iscsi.test.disk1",
				"canonical:  false",
				"type:       iqn",
				"date:       2001-04",
				"authority:  org.gentoo (domain gentoo.org)",
				"unique:     iscsi.test.disk1",
			},
		},
		{
			name:       "strict rejects a name that is not canonical",
			args:       []string{"-strict", "iqn.2001-04.org.gentoo:iSCSI.test.disk1"},
			wantStatus: 1,
			wantOut:    []string{"error:"},
		},
		{
			name:       "eui from standard input",
			stdin:      "eui.02004567A425678D\n",
			wantStatus: 0,
			wantOut:    []string{"name:       eui.02004567a425678d", "identifier: 02004567A425678D"},
		},
		{
			name:       "bad month",
			args:       []string{"iqn.2001-13.com.example"},
			wantStatus: 1,
			wantOut:    []string{"error:", "kind:"},
		},
		{
			name:       "bad flag",
			args:       []string{"-nosuchflag"},
			wantStatus: 2,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out, errOut bytes.Buffer
			got := run(tt.args, strings.NewReader(tt.stdin), &out, &errOut)
			if got != tt.wantStatus {
				t.Fatalf("status = %d, want %d; stdout:\n%s\nstderr:\n%s", got, tt.wantStatus, out.String(), errOut.String())
			}
			for _, w := range tt.wantOut {
				if !strings.Contains(out.String(), w) {
					t.Errorf("output lacks %q:\n%s", w, out.String())
				}
			}
		})
	}
}
