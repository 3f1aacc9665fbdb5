package disk_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/go-iscsi/iscsi/scsi/disk"
)

// ExampleLU serves a 1 GiB in-memory disk: an INQUIRY, then a WRITE(10)
// and a READ(10) of one block.
func ExampleLU() {
	lu, err := disk.New(disk.NewMemory(1<<30), disk.Config{
		Vendor:       "ACME",
		Product:      "RAMDISK",
		SerialNumber: "0001",
	})
	if err != nil {
		panic(err)
	}
	nexus := disk.Nexus{
		InitiatorPort: "iqn.1993-08.org.debian:01:abc,i,0x23d000000001",
		TargetPort:    "iqn.2024-01.com.example:disk,t,0x1",
	}
	ctx := context.Background()

	// INQUIRY runs despite the power-on unit attention of a new nexus.
	inq := &disk.Request{Nexus: nexus, CDB: []byte{0x12, 0, 0, 0, 96, 0}, DataIn: make([]byte, 96)}
	r := lu.Execute(ctx, inq)
	fmt.Printf("INQUIRY: %v, %q\n", r.Status, strings.TrimSpace(string(inq.DataIn[8:32])))

	// The first other command reports the unit attention.
	r = lu.Execute(ctx, &disk.Request{Nexus: nexus, CDB: []byte{0x00, 0, 0, 0, 0, 0}})
	fmt.Printf("TEST UNIT READY: %v, %v\n", r.Status, r.Sense)

	block := make([]byte, lu.BlockSize())
	copy(block, "hello, block 7")
	write := []byte{0x2a, 0, 0, 0, 0, 7, 0, 0, 1, 0} // WRITE(10) LBA 7, 1 block
	fmt.Println("Data-Out bytes:", lu.DataOutLength(write))
	r = lu.Execute(ctx, &disk.Request{Nexus: nexus, CDB: write, DataOut: block})
	fmt.Println("WRITE(10):", r.Status)

	read := &disk.Request{Nexus: nexus, CDB: []byte{0x28, 0, 0, 0, 0, 7, 0, 0, 1, 0}, DataIn: make([]byte, 512)}
	r = lu.Execute(ctx, read)
	fmt.Printf("READ(10): %v, %d bytes, %q\n", r.Status, r.DataInLen, read.DataIn[:14])

	// An out-of-range read fails with sense data.
	r = lu.Execute(ctx, &disk.Request{Nexus: nexus, CDB: []byte{0x28, 0, 0x10, 0, 0, 0, 0, 0, 1, 0}, DataIn: make([]byte, 512)})
	fmt.Printf("READ(10) past the end: %v, %v\n", r.Status, r.Sense.Key)
	fmt.Printf("sense data: % x\n", r.AppendSense(nil)[:14])
	// Output:
	// INQUIRY: GOOD, "ACME    RAMDISK"
	// TEST UNIT READY: CHECK CONDITION, UNIT ATTENTION: POWER ON, RESET, OR BUS DEVICE RESET OCCURRED
	// Data-Out bytes: 512
	// WRITE(10): GOOD
	// READ(10): GOOD, 512 bytes, "hello, block 7"
	// READ(10) past the end: CHECK CONDITION, ILLEGAL REQUEST
	// sense data: f0 00 05 10 00 00 00 0a 00 00 00 00 21 00
}

// ExampleOpenFile serves a sparse image file as a thin-provisioned
// logical unit: UNMAP punches holes in the file.
func ExampleOpenFile() {
	dir, err := os.MkdirTemp("", "disk-example")
	if err != nil {
		panic(err)
	}
	defer os.RemoveAll(dir)
	f, err := disk.OpenFile(filepath.Join(dir, "lun0.img"), disk.FileOptions{Create: true, Size: 64 << 20})
	if err != nil {
		panic(err)
	}
	defer f.Close()
	lu, err := disk.New(f, disk.Config{BlockSize: 4096, ThinProvisioning: true, SerialNumber: "IMG0"})
	if err != nil {
		panic(err)
	}
	fmt.Println("blocks of", lu.BlockSize(), "bytes:", f.Size()/int64(lu.BlockSize()))

	// READ CAPACITY(16): last LBA, block length, LBPME and LBPRZ.
	n := disk.Nexus{InitiatorPort: "iqn.1993-08.org.debian:01:abc,i,0x23d000000001"}
	req := &disk.Request{Nexus: n, CDB: []byte{0x9e, 0x10, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 32, 0, 0}, DataIn: make([]byte, 32)}
	lu.Execute(context.Background(), req) // the power-on unit attention
	r := lu.Execute(context.Background(), req)
	fmt.Printf("%v: % x\n", r.Status, req.DataIn[:16])
	// Output:
	// blocks of 4096 bytes: 16384
	// GOOD: 00 00 00 00 00 00 3f ff 00 00 10 00 00 00 c0 00
}
