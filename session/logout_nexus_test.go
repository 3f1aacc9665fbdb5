package session

import (
	"context"
	"net"
	"sync/atomic"
	"testing"

	"github.com/go-iscsi/iscsi/pdu"
	"github.com/go-iscsi/iscsi/scsi"
)

// nexusLossLU records whether ITNexusLoss ran on the logical unit it wraps.
type nexusLossLU struct {
	LogicalUnit
	lost atomic.Bool
}

func (l *nexusLossLU) ITNexusLoss(n scsi.Nexus) {
	l.lost.Store(true)
	l.LogicalUnit.ITNexusLoss(n)
}

// TestLogoutEndsNexusBeforeResponse: a Logout Request closing the session
// ends the I_T nexus on every logical unit before its Logout Response is
// sent (RFC 7143 §11.14, SAM-5 §6.3.4), so that an initiator that logs in
// again as soon as it has the response finds no state of the old nexus.
func TestLogoutEndsNexusBeforeResponse(t *testing.T) {
	for _, reason := range []pdu.LogoutReason{pdu.LogoutCloseSession, pdu.LogoutCloseConnection} {
		t.Run(reason.String(), func(t *testing.T) {
			srv := newTestServer(t, nil)
			lun, _ := scsi.EncodeLUN(0)
			lu := &nexusLossLU{LogicalUnit: srv.Targets[0].LUNs[lun]}
			srv.Targets[0].LUNs[lun] = lu
			l, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithCancel(context.Background())
			served := make(chan error, 1)
			go func() { served <- srv.Serve(ctx, l) }()
			defer func() {
				cancel()
				<-served
			}()
			in := dialTCP(t, l.Addr().String())
			var h pdu.BHS
			lr := h.LogoutRequest()
			lr.Init()
			lr.SetImmediate(true)
			lr.SetReasonCode(reason)
			lr.SetInitiatorTaskTag(in.nextITT())
			lr.SetCID(in.res.CID)
			lr.SetCmdSN(in.cmdSN)
			lr.SetExpStatSN(in.statSN)
			in.write(&h, nil)
			p := in.read()
			if p.Header.Opcode() != pdu.OpLogoutResponse || p.Header.LogoutResponse().Response() != pdu.LogoutClosedSuccessfully {
				t.Fatalf("logout answered by %v", p.Header.String())
			}
			if !lu.lost.Load() {
				t.Error("Logout Response sent before the I_T nexus ended on the logical unit")
			}
		})
	}
}
