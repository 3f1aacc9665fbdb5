package session

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/go-iscsi/iscsi/login"
	"github.com/go-iscsi/iscsi/scsi"
)

// cdbRecorder is a logical unit that keeps the CDB of every command it
// executes.
type cdbRecorder struct {
	mu   sync.Mutex
	cdbs [][]byte
}

func (r *cdbRecorder) Execute(_ context.Context, req *scsi.Request) scsi.Response {
	r.mu.Lock()
	r.cdbs = append(r.cdbs, bytes.Clone(req.CDB))
	r.mu.Unlock()
	return scsi.Response{Status: scsi.StatusGood}
}
func (*cdbRecorder) DataOutLength([]byte) int { return 0 }
func (*cdbRecorder) ITNexusLoss(scsi.Nexus)   {}
func (*cdbRecorder) Reset(scsi.ResetKind)     {}

// TestInitiatorExtendedCDB: a CDB longer than 16 bytes goes out with its
// first 16 bytes in the CDB field and the rest in an Extended CDB AHS
// (RFC 7143 §11.2.2.3, §11.3.5), also with header digests (the AHS is
// inside the digest, §11.2.1), and the target's logical unit gets the
// whole CDB; one longer than MaxCDBLength is refused before anything is
// sent.
func TestInitiatorExtendedCDB(t *testing.T) {
	lu := &cdbRecorder{}
	srv := &Server{Targets: []Target{{Name: testTarget, LUNs: map[scsi.LUN]LogicalUnit{{}: lu}}}}
	addr := serveLoopback(t, srv)
	for _, digest := range []login.DigestPolicy{login.DigestRefuse, login.DigestRequire} {
		t.Run(fmt.Sprintf("CRC32C=%v", digest == login.DigestRequire), func(t *testing.T) {
			opts := Options{InitiatorName: testInitiator, TargetName: testTarget}
			opts.Settings = quickSettings(16, nil)
			opts.Settings.HeaderDigest = digest
			s, err := Dial(context.Background(), addr, opts)
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			lu.mu.Lock()
			lu.cdbs = nil
			lu.mu.Unlock()
			var want [][]byte
			for _, n := range []int{6, 16, 17, 20, 32, 33, 255, MaxCDBLength} {
				cdb := make([]byte, n)
				cdb[0] = 0x7f // variable-length CDB, SPC-5 §4.2.5
				for i := 1; i < n; i++ {
					cdb[i] = byte(i)
				}
				resp, err := s.Execute(context.Background(), &Command{CDB: cdb})
				if err != nil {
					t.Fatalf("CDB of %d bytes: %v", n, err)
				}
				if resp.Status != scsi.StatusGood {
					t.Fatalf("CDB of %d bytes: status %v", n, resp.Status)
				}
				// The target sees at least the 16-byte field: a shorter
				// CDB arrives padded with zeros (§11.3.5).
				w := cdb
				if n < 16 {
					w = append(bytes.Clone(cdb), make([]byte, 16-n)...)
				}
				want = append(want, w)
			}
			lu.mu.Lock()
			got := lu.cdbs
			lu.mu.Unlock()
			if len(got) != len(want) {
				t.Fatalf("logical unit got %d commands, want %d", len(got), len(want))
			}
			for i := range want {
				if !bytes.Equal(got[i], want[i]) {
					t.Errorf("command %d: logical unit got CDB % x, want % x", i, got[i], want[i])
				}
			}
			if _, err := s.Execute(context.Background(), &Command{CDB: make([]byte, MaxCDBLength+1)}); !errors.Is(err, ErrOptions) {
				t.Errorf("CDB of %d bytes: %v, want ErrOptions", MaxCDBLength+1, err)
			}
		})
	}
}
