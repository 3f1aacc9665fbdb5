package peertest_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/go-iscsi/iscsi/internal/peertest"
)

// A test that logs in to tgtd with one-way CHAP through libiscsi and keeps a
// capture of the exchange when it fails.
func ExampleStartTGTD() {
	var t testing.TB // the *testing.T of the calling test
	peertest.Require(t, "tgtd", "tgtadm", "iscsi-inq", "dumpcap")
	d := peertest.StartTGTD(t, peertest.Target{
		Name:             "iqn.2026-01.org.example:disk",
		LUNs:             []peertest.LUN{{Number: 1, Size: 16 << 20}},
		IncomingUser:     "alice",
		IncomingPassword: "alicesecret1",
		Params:           map[string]string{"HeaderDigest": "CRC32C,None"},
	})
	stop := peertest.Capture(t, d.Port)
	u := d.URL("iqn.2026-01.org.example:disk", 1)
	u.User, u.Password = "alice", "alicesecret1"
	out, err := peertest.LibiscsiTool(t, context.Background(), "iscsi-inq", u.String())
	pcap := stop()
	if err != nil {
		path := filepath.Join(os.TempDir(), "inq.pcap")
		_ = os.WriteFile(path, pcap, 0o644)
		t.Fatalf("%v (capture in %s)\n%s", err, path, d.Show())
	}
	fmt.Print(out)
}
