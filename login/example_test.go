package login_test

import (
	"context"
	"fmt"
	"net"

	"github.com/go-iscsi/iscsi/login"
	"github.com/go-iscsi/iscsi/pdu"
)

func ExampleParseText() {
	data := []byte("HeaderDigest=CRC32C,None\x00MaxBurstLength=0x40000\x00")
	pairs, err := login.ParseText(data)
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, p := range pairs {
		fmt.Println(p.Key, "=", p.Value)
	}
	n, _ := login.ParseNumber(pairs[1].Value)
	fmt.Println(n)
	// Output:
	// HeaderDigest = CRC32C,None
	// MaxBurstLength = 0x40000
	// 262144
}

func ExampleParseSendTargets() {
	text := []byte("TargetName=iqn.2026-11.org.example:disk1\x00" +
		"TargetAddress=192.0.2.10:3260,1\x00" +
		"TargetAddress=[2001:db8::10]:3260,1\x00" +
		"TargetName=iqn.2026-11.org.example:disk2\x00" +
		"TargetAddress=storage.example.org,2\x00")
	targets, err := login.ParseSendTargets(text)
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, t := range targets {
		for _, a := range t.Addresses {
			fmt.Println(t.Name, a.Host, a.Port, a.PortalGroupTag)
		}
	}
	// Output:
	// iqn.2026-11.org.example:disk1 192.0.2.10 3260 1
	// iqn.2026-11.org.example:disk1 2001:db8::10 3260 1
	// iqn.2026-11.org.example:disk2 storage.example.org 3260 2
}

func ExampleNegotiator() {
	// A target that accepts data segments of at most 65536 bytes per
	// burst and prefers header digests.
	s := login.DefaultSettings()
	s.MaxBurstLength, s.FirstBurstLength = 65536, 65536
	s.HeaderDigest = login.DigestPrefer
	n := login.NewNegotiator(login.RoleTarget, s, true, false)
	answers, err := n.Receive([]login.Pair{
		{Key: "HeaderDigest", Value: "CRC32C,None"},
		{Key: "MaxBurstLength", Value: "262144"},
		{Key: "ImmediateData", Value: "Yes"},
		{Key: "X-com.example.fancy", Value: "1"},
	}, login.LoginOperationalNegotiation)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(answers)
	sp, cp, _ := n.Result()
	fmt.Println(sp.MaxBurstLength, cp.HeaderDigest)
	// Output:
	// [HeaderDigest=CRC32C MaxBurstLength=65536 ImmediateData=Yes X-com.example.fancy=NotUnderstood]
	// 65536 true
}

// ExampleInitiate logs in over an in-memory connection to a target run by
// Accept, with mutual CHAP, then discovers nothing more than the result.
func ExampleInitiate() {
	const target = "iqn.2026-11.org.example:disk1"
	c1, c2 := net.Pipe()
	defer c1.Close()
	defer c2.Close()

	go login.Accept(context.Background(), pdu.NewReader(c2), pdu.NewWriter(c2), login.TargetConfig{
		Lookup: func(name string) (login.TargetInfo, bool) {
			return login.TargetInfo{Name: target, AuthMethods: []string{"CHAP"}}, name == target
		},
		CHAP: func(initiator, target, user string) (string, *login.CHAPCredentials, bool) {
			return "initiator-secret", &login.CHAPCredentials{User: "disk1", Secret: "target-secret-1"}, user == "host1"
		},
	})

	res, err := login.Initiate(context.Background(), pdu.NewReader(c1), pdu.NewWriter(c1), login.InitiatorConfig{
		InitiatorName: "iqn.2026-11.org.example:host1",
		TargetName:    target,
		ISID:          pdu.NewISID(pdu.ISIDRandom, 0, 0x1234, 0x56, 1),
		CHAP:          &login.CHAPCredentials{User: "host1", Secret: "initiator-secret"},
		MutualCHAP:    &login.CHAPCredentials{User: "disk1", Secret: "target-secret-1"},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(res.AuthMethod, res.TSIH != 0, res.Session.MaxBurstLength, res.Conn.MaxXmitDataSegmentLength)
	// Output: CHAP true 262144 8192
}

// ExampleInitiator drives the initiator state machine by hand: each Login
// Response goes in, the next Login Request comes out.
func ExampleInitiator() {
	m, err := login.NewInitiator(login.InitiatorConfig{
		InitiatorName: "iqn.2026-11.org.example:host1",
		SessionType:   login.SessionDiscovery,
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	req := m.Start()
	t := login.NewTarget(login.TargetConfig{})
	for {
		resp, _, err := t.Next(req)
		if err != nil {
			fmt.Println(err)
			return
		}
		var done bool
		req, done, err = m.Next(resp)
		if err != nil {
			fmt.Println(err)
			return
		}
		if done {
			break
		}
	}
	res, _ := m.Result()
	fmt.Println(res.Session.SessionType)
	// Output: Discovery
}

// ExampleTextResponder answers a SendTargets=All text request of a
// discovery session in memory, as a target's session layer would on the
// connection.
func ExampleTextResponder() {
	responder := &login.TextResponder{
		Discovery: true,
		Targets: func() []login.DiscoveredTarget {
			return []login.DiscoveredTarget{{
				Name:      "iqn.2026-11.org.example:disk1",
				Addresses: []login.TargetAddress{{Host: "192.0.2.10", Port: 3260, PortalGroupTag: 1, HasPortalGroupTag: true}},
			}}
		},
	}
	x := &login.TextExchange{ITT: 1}
	req := x.Start(login.Pair{Key: "SendTargets", Value: "All"})
	for {
		resp, _, err := responder.Next(req)
		if err != nil {
			fmt.Println(err)
			return
		}
		var done bool
		if req, done, err = x.Next(resp); err != nil {
			fmt.Println(err)
			return
		}
		if done {
			break
		}
	}
	targets, _ := login.ParseSendTargets(x.Text())
	fmt.Println(targets[0].Name, targets[0].Addresses[0])
	// Output: iqn.2026-11.org.example:disk1 192.0.2.10:3260,1
}
