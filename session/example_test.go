package session_test

import (
	"context"
	"fmt"
	"log"
	"net"

	"github.com/go-iscsi/iscsi/login"
	"github.com/go-iscsi/iscsi/pdu"
	"github.com/go-iscsi/iscsi/scsi"
	"github.com/go-iscsi/iscsi/scsi/disk"
	"github.com/go-iscsi/iscsi/session"
)

// A target serving one 64 MiB memory disk as LUN 0 on a loopback port,
// which an initiator discovers with SendTargets.
func ExampleServer_Serve() {
	lu, err := disk.New(disk.NewMemory(64<<20), disk.Config{})
	if err != nil {
		log.Fatal(err)
	}
	srv := &session.Server{
		Targets: []session.Target{{
			Name: "iqn.2026-11.org.example:disk0",
			LUNs: map[scsi.LUN]session.LogicalUnit{{}: lu},
		}},
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	ctx, stop := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, l) }()

	c, err := net.Dial("tcp", l.Addr().String())
	if err != nil {
		log.Fatal(err)
	}
	r, w := pdu.NewReader(c), pdu.NewWriter(c)
	res, err := login.Initiate(ctx, r, w, login.InitiatorConfig{
		InitiatorName: "iqn.2026-11.org.example:host",
		SessionType:   login.SessionDiscovery,
		ISID:          pdu.NewISID(pdu.ISIDRandom, 0, 1, 0, 1),
		CmdSN:         1,
	})
	if err != nil {
		log.Fatal(err)
	}
	x := &login.TextExchange{ITT: 1, CmdSN: res.CmdSN, ExpStatSN: res.StatSN + 1}
	targets, err := login.SendTargets(ctx, r, w, x, "All")
	if err != nil {
		log.Fatal(err)
	}
	for _, t := range targets {
		fmt.Println(t.Name, t.Addresses[0].PortalGroupTag)
	}
	c.Close()
	stop()
	fmt.Println(<-done)
	// Output:
	// iqn.2026-11.org.example:disk0 1
	// context canceled
}

// ServeConn serves a single connection, here one end of a net.Pipe.
func ExampleServer_ServeConn() {
	lu, err := disk.New(disk.NewMemory(1<<20), disk.Config{})
	if err != nil {
		log.Fatal(err)
	}
	srv := &session.Server{Targets: []session.Target{{
		Name: "iqn.2026-11.org.example:disk1",
		LUNs: map[scsi.LUN]session.LogicalUnit{{}: lu},
	}}}
	initiatorEnd, targetEnd := net.Pipe()
	served := make(chan error, 1)
	go func() { served <- srv.ServeConn(context.Background(), targetEnd) }()

	r, w := pdu.NewReader(initiatorEnd), pdu.NewWriter(initiatorEnd)
	res, err := login.Initiate(context.Background(), r, w, login.InitiatorConfig{
		InitiatorName: "iqn.2026-11.org.example:host",
		TargetName:    "iqn.2026-11.org.example:disk1",
		ISID:          pdu.NewISID(pdu.ISIDRandom, 0, 2, 0, 1),
		CmdSN:         1,
	})
	if err != nil {
		log.Fatal(err)
	}
	// Logout closes the session (RFC 7143 §11.14).
	var h pdu.BHS
	lr := h.LogoutRequest()
	lr.Init()
	lr.SetImmediate(true)
	lr.SetInitiatorTaskTag(1)
	lr.SetCmdSN(res.CmdSN)
	lr.SetExpStatSN(res.StatSN + 1)
	if err := w.Write(&h, nil, nil); err != nil {
		log.Fatal(err)
	}
	p, err := r.Read()
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(p.Header.LogoutResponse().Response())
	fmt.Println(<-served)
	// Output:
	// connection or session closed successfully
	// <nil>
}

// serveExample serves a 1 MiB memory disk as LUN 0 of target name on a
// loopback port and returns its address and a function that stops it.
func serveExample(name string) (string, func()) {
	lu, err := disk.New(disk.NewMemory(1<<20), disk.Config{})
	if err != nil {
		log.Fatal(err)
	}
	srv := &session.Server{Targets: []session.Target{{
		Name: name,
		LUNs: map[scsi.LUN]session.LogicalUnit{{}: lu},
	}}}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	ctx, stop := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { srv.Serve(ctx, l); close(done) }()
	return l.Addr().String(), func() { stop(); <-done }
}

// An initiator logs in to a target, sends an INQUIRY and logs out.
func ExampleDial() {
	addr, stop := serveExample("iqn.2026-11.org.example:disk2")
	defer stop()
	ctx := context.Background()
	s, err := session.Dial(ctx, addr, session.Options{
		InitiatorName: "iqn.2026-11.org.example:host",
		TargetName:    "iqn.2026-11.org.example:disk2",
	})
	if err != nil {
		log.Fatal(err)
	}
	// INQUIRY (SPC-4 §6.6) with ALLOCATION LENGTH 36: the standard data.
	buf := make([]byte, 36)
	resp, err := s.Execute(ctx, &session.Command{CDB: []byte{0x12, 0, 0, 0, 36, 0}, DataIn: buf})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(resp.Status, resp.DataInLength, "bytes")
	fmt.Printf("peripheral device type %d, vendor %q\n", buf[0]&0x1f, buf[8:16])
	if err := s.Logout(ctx); err != nil {
		log.Fatal(err)
	}
	// Output:
	// GOOD 36 bytes
	// peripheral device type 0, vendor "GOISCSI "
}

// An initiator asks a portal for its targets with SendTargets (RFC 7143
// §13.3).
func ExampleDiscover() {
	addr, stop := serveExample("iqn.2026-11.org.example:disk3")
	defer stop()
	targets, err := session.Discover(context.Background(), addr, session.Options{
		InitiatorName: "iqn.2026-11.org.example:host",
	})
	if err != nil {
		log.Fatal(err)
	}
	for _, t := range targets {
		fmt.Println(t.Name, t.Addresses[0].PortalGroupTag)
	}
	// Output:
	// iqn.2026-11.org.example:disk3 1
}
