package session_test

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"

	"github.com/go-iscsi/iscsi/internal/peertest"
	"github.com/go-iscsi/iscsi/session"
)

// TestInitiatorMCSInterop runs a session of four connections (RFC 7143
// §4.2.1) against the project's target, tgtd and istgt: each negotiates
// MaxConnections (§13.2; tgtd answers 1, istgt as configured, 4), the
// session opens that many connections, and data written through
// BlockDevices from several goroutines at once reads back unchanged.
func TestInitiatorMCSInterop(t *testing.T) {
	for _, p := range interopPeers {
		t.Run(p.name, func(t *testing.T) {
			if p.bins != nil {
				peertest.Require(t, p.bins...)
			}
			tg := p.start(t, interopConfig{})
			s := interopDial(t, tg, session.Options{Connections: 4})
			sp, _ := s.Params()
			st := s.Stats()
			t.Logf("MaxConnections %d negotiated, %d connections", sp.MaxConnections, st.Connections)
			if want := min(4, int(sp.MaxConnections)); st.Connections != want {
				t.Errorf("%d connections with MaxConnections %d, want %d", st.Connections, sp.MaxConnections, want)
			}
			d, err := session.NewBlockDevice(context.Background(), s, tg.lun)
			if err != nil {
				t.Fatal(err)
			}
			errs := make(chan error, 4)
			var wg sync.WaitGroup
			for i := range 4 {
				wg.Go(func() { errs <- writeReadBack(d, int64(i)<<22+513, 1<<20, uint64(i)) })
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				if err != nil {
					t.Error(err)
				}
			}
			if err := s.Logout(context.Background()); err != nil {
				t.Errorf("Logout: %v", err)
			}
		})
	}
}

// writeReadBack writes n random bytes at off through d and reads them back.
func writeReadBack(d *session.BlockDevice, off int64, n int, seed uint64) error {
	rng := rand.New(rand.NewPCG(seed, 11))
	data := make([]byte, n)
	for i := range data {
		data[i] = byte(rng.Uint32())
	}
	if _, err := d.WriteAt(data, off); err != nil {
		return fmt.Errorf("WriteAt %d: %w", off, err)
	}
	got := make([]byte, n)
	if _, err := d.ReadAt(got, off); err != nil {
		return fmt.Errorf("ReadAt %d: %w", off, err)
	}
	if !bytes.Equal(got, data) {
		return fmt.Errorf("read back at %d differs from what was written", off)
	}
	return nil
}
