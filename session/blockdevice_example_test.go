package session_test

import (
	"context"
	"fmt"
	"log"
	"net"

	"github.com/go-iscsi/iscsi/scsi"
	"github.com/go-iscsi/iscsi/scsi/disk"
	"github.com/go-iscsi/iscsi/session"
)

// exampleTarget serves a 1 MiB memory disk as LUN 0 of
// iqn.2026-11.org.example:disk on 127.0.0.1 and returns its address.
func exampleTarget() (string, func()) {
	lu, err := disk.New(disk.NewMemory(1<<20), disk.Config{SerialNumber: "EXAMPLE"})
	if err != nil {
		log.Fatal(err)
	}
	srv := &session.Server{Targets: []session.Target{{
		Name: "iqn.2026-11.org.example:disk",
		LUNs: map[scsi.LUN]session.LogicalUnit{{}: lu},
	}}}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { srv.Serve(ctx, l); close(done) }()
	return l.Addr().String(), func() { cancel(); <-done }
}

func ExampleNewBlockDevice() {
	addr, stop := exampleTarget()
	defer stop()
	ctx := context.Background()
	s, err := session.Dial(ctx, addr, session.Options{
		InitiatorName: "iqn.2026-11.org.example:initiator",
		TargetName:    "iqn.2026-11.org.example:disk",
	})
	if err != nil {
		log.Fatal(err)
	}
	defer s.Close()
	d, err := session.NewBlockDevice(ctx, s, scsi.LUN{})
	if err != nil {
		log.Fatal(err)
	}
	// Any offset and length: the partial blocks are read, merged and
	// written back.
	if _, err := d.WriteAt([]byte("hello, block device"), 1000); err != nil {
		log.Fatal(err)
	}
	buf := make([]byte, 5)
	if _, err := d.ReadAt(buf, 1007); err != nil {
		log.Fatal(err)
	}
	fmt.Printf("%d bytes in blocks of %d; %q\n", d.Size(), d.BlockSize(), buf)
	// Output: 1048576 bytes in blocks of 512; "block"
}

func ExampleInquiry() {
	addr, stop := exampleTarget()
	defer stop()
	ctx := context.Background()
	s, err := session.Dial(ctx, addr, session.Options{
		InitiatorName: "iqn.2026-11.org.example:initiator",
		TargetName:    "iqn.2026-11.org.example:disk",
	})
	if err != nil {
		log.Fatal(err)
	}
	defer s.Close()
	// The first command of the new I_T nexus gets the power-on unit
	// attention; TestUnitReady takes it.
	if err := session.TestUnitReady(ctx, s, scsi.LUN{}); err != nil {
		log.Fatal(err)
	}
	inq, err := session.Inquiry(ctx, s, scsi.LUN{})
	if err != nil {
		log.Fatal(err)
	}
	rc, err := session.ReadCapacity(ctx, s, scsi.LUN{})
	if err != nil {
		log.Fatal(err)
	}
	sn, err := session.UnitSerialNumber(ctx, s, scsi.LUN{})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(inq.VendorID, inq.ProductID, sn, rc.LastLBA+1, rc.BlockLength)
	// Output: GOISCSI VIRTUAL-DISK EXAMPLE 2048 512
}
