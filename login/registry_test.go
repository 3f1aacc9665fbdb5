package login

import (
	"errors"
	"sync"
	"testing"

	"github.com/go-iscsi/iscsi/pdu"
)

func TestMemoryRegistry(t *testing.T) {
	var r MemoryRegistry
	var closed [][3]uint16
	r.OnClose = func(tsih, cid uint16, whole bool) {
		w := uint16(0)
		if whole {
			w = 1
		}
		closed = append(closed, [3]uint16{tsih, cid, w})
	}
	key := SessionKey{InitiatorName: testIQN, ISID: pdu.ISID{0x80, 1}, TargetName: testTarget, PortalGroupTag: 1}
	params := DefaultSessionParams()
	params.MaxConnections = 2
	tsih, re, err := r.OpenSession(key, params, 0)
	if err != nil || tsih == 0 || re {
		t.Fatalf("OpenSession: %d %v %v", tsih, re, err)
	}
	if _, err := r.AddConnection(key, tsih, 1); err != nil {
		t.Fatalf("second connection: %v", err)
	}
	if _, err := r.AddConnection(key, tsih, 2); !errors.Is(err, ErrTooManyConnections) {
		t.Errorf("third connection: %v", err)
	}
	// The same CID again is connection reinstatement (RFC 7143 §6.3.4).
	if _, err := r.AddConnection(key, tsih, 1); err != nil || len(closed) != 1 || closed[0] != [3]uint16{tsih, 1, 0} {
		t.Errorf("connection reinstatement: %v %v", err, closed)
	}
	other := key
	other.ISID = pdu.ISID{0x80, 2}
	if _, err := r.AddConnection(other, tsih, 3); !errors.Is(err, ErrSessionNotFound) {
		t.Errorf("other ISID: %v", err)
	}
	if _, err := r.AddConnection(key, tsih+1, 3); !errors.Is(err, ErrSessionNotFound) {
		t.Errorf("unknown TSIH: %v", err)
	}
	// Session reinstatement (RFC 7143 §6.3.5).
	tsih2, re, err := r.OpenSession(key, params, 0)
	if err != nil || !re || tsih2 == tsih || closed[len(closed)-1] != [3]uint16{tsih, 0, 1} {
		t.Errorf("reinstatement: %d %v %v %v", tsih2, re, err, closed)
	}
	if r.Len() != 1 {
		t.Errorf("%d sessions", r.Len())
	}
	r.RemoveConnection(tsih2, 0)
	if r.Len() != 0 {
		t.Errorf("%d sessions after the last connection", r.Len())
	}
	disc := key
	disc.ISID = pdu.ISID{0x80, 3}
	dp := DefaultSessionParams()
	dp.SessionType = SessionDiscovery
	dt, _, _ := r.OpenSession(disc, dp, 0)
	if _, err := r.AddConnection(disc, dt, 1); !errors.Is(err, ErrCantIncludeInSession) {
		t.Errorf("discovery second connection: %v", err)
	}
}

func TestMemoryRegistryConcurrent(t *testing.T) {
	var r MemoryRegistry
	var wg sync.WaitGroup
	seen := make(chan uint16, 64)
	for i := range 64 {
		wg.Go(func() {
			tsih, _, err := r.OpenSession(SessionKey{InitiatorName: testIQN, ISID: pdu.ISID{0x80, byte(i)}}, DefaultSessionParams(), 0)
			if err != nil {
				t.Error(err)
			}
			seen <- tsih
		})
	}
	wg.Wait()
	close(seen)
	unique := map[uint16]bool{}
	for tsih := range seen {
		if tsih == 0 || unique[tsih] {
			t.Errorf("TSIH %d given twice or zero", tsih)
		}
		unique[tsih] = true
	}
}
