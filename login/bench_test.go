package login

import (
	"testing"

	"github.com/go-iscsi/iscsi/pdu"
)

func BenchmarkNegotiatorReceive(b *testing.B) {
	req := []Pair{
		{"HeaderDigest", "CRC32C,None"}, {"DataDigest", "CRC32C,None"}, {"MaxConnections", "1"},
		{"InitialR2T", "No"}, {"ImmediateData", "Yes"}, {"MaxRecvDataSegmentLength", "262144"},
		{"MaxBurstLength", "16776192"}, {"FirstBurstLength", "262144"}, {"DefaultTime2Wait", "2"},
		{"DefaultTime2Retain", "0"}, {"MaxOutstandingR2T", "1"}, {"ErrorRecoveryLevel", "0"},
	}
	s := DefaultSettings()
	b.ReportAllocs()
	for b.Loop() {
		n := NewNegotiator(RoleTarget, s, true, false)
		if _, err := n.Receive(req, LoginOperationalNegotiation); err != nil {
			b.Fatal(err)
		}
		if _, _, err := n.Result(); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkLogin runs whole logins between the two state machines in
// memory, without I/O.
func BenchmarkLogin(b *testing.B) {
	for _, bc := range []struct {
		name string
		auth []string
		chap *CHAPCredentials
		alg  CHAPAlgorithm
	}{
		{"none", nil, nil, 0},
		{"mutual-CHAP-SHA-256", []string{"CHAP"}, &aliceCreds, CHAPSHA256},
		{"mutual-CHAP-MD5", []string{"CHAP"}, &aliceCreds, CHAPMD5},
	} {
		b.Run(bc.name, func(b *testing.B) {
			tcfg := testTargetConfig(bc.auth)
			tcfg.Sessions = &MemoryRegistry{}
			icfg := InitiatorConfig{InitiatorName: testIQN, TargetName: testTarget, ISID: pdu.ISID{0x80, 1}}
			if bc.chap != nil {
				icfg.CHAP, icfg.MutualCHAP = bc.chap, &targetCreds
				icfg.CHAPAlgorithms = []CHAPAlgorithm{bc.alg}
			}
			b.ReportAllocs()
			for b.Loop() {
				ini, err := NewInitiator(icfg)
				if err != nil {
					b.Fatal(err)
				}
				tgt := NewTarget(tcfg)
				req := ini.Start()
				for {
					resp, _, err := tgt.Next(req)
					if err != nil {
						b.Fatal(err)
					}
					var done bool
					req, done, err = ini.Next(resp)
					if err != nil {
						b.Fatal(err)
					}
					if done {
						break
					}
				}
			}
		})
	}
}

func BenchmarkCHAPResponse(b *testing.B) {
	ch := NewCHAPChallenge(CHAPSHA256)
	for _, a := range []CHAPAlgorithm{CHAPMD5, CHAPSHA256, CHAPSHA3_256} {
		b.Run(a.String(), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				CHAPResponse(a, 1, []byte("alice-secret-123"), ch)
			}
		})
	}
}
