package peertest_test

import (
	"context"
	"strings"
	"testing"

	"github.com/go-iscsi/iscsi/internal/peertest"
)

// TestISTGTInquiry starts istgt and reads its logical unit with iscsi-inq,
// without authentication and with one-way and mutual CHAP; a login without
// the account the target requires must fail.
func TestISTGTInquiry(t *testing.T) {
	peertest.Require(t, "istgt", "iscsi-inq")
	tests := []struct {
		name string
		opts peertest.ISTGTOptions
		url  func(u peertest.URL) peertest.URL
	}{
		{"none", peertest.ISTGTOptions{}, nil},
		{"chap", peertest.ISTGTOptions{CHAPUser: "alice", CHAPSecret: "alice-secret-1"}, func(u peertest.URL) peertest.URL {
			u.User, u.Password = "alice", "alice-secret-1"
			return u
		}},
		{"mutual chap", peertest.ISTGTOptions{
			CHAPUser: "alice", CHAPSecret: "alice-secret-1",
			MutualUser: "target", MutualSecret: "target-secret-2",
		}, func(u peertest.URL) peertest.URL {
			u.User, u.Password = "alice", "alice-secret-1"
			u.TargetUser, u.TargetPassword = "target", "target-secret-2"
			return u
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d := peertest.StartISTGT(t, tc.opts)
			ctx := context.Background()
			u := d.URL()
			if tc.url != nil {
				if _, err := peertest.LibiscsiTool(t, ctx, "iscsi-inq", u.String()); err == nil {
					t.Errorf("iscsi-inq without CHAP succeeded against a target that requires it")
				}
				u = tc.url(u)
			}
			out, err := peertest.LibiscsiTool(t, ctx, "iscsi-inq", u.String())
			if err != nil {
				t.Fatal(err)
			}
			for _, want := range []string{"Vendor:FreeBSD", "Product:iSCSI DISK", "Peripheral Device Type:DIRECT_ACCESS"} {
				if !strings.Contains(strings.ReplaceAll(out, " ", ""), strings.ReplaceAll(want, " ", "")) {
					t.Errorf("iscsi-inq output lacks %q:\n%s", want, out)
				}
			}
		})
	}
}
