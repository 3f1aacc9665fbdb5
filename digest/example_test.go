package digest_test

import (
	"errors"
	"fmt"

	"github.com/go-iscsi/iscsi/digest"
)

// The header digest of the SCSI Read (10) Command PDU from RFC 7143
// Appendix A.4, and the 4 bytes that follow the BHS on the wire.
func ExampleHeader() {
	bhs := []byte{
		0x01, 0xc0, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
		0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
		0x14, 0x00, 0x00, 0x00, 0x00, 0x00, 0x04, 0x00,
		0x00, 0x00, 0x00, 0x14, 0x00, 0x00, 0x00, 0x18,
		0x28, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
		0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	}
	crc := digest.Header(bhs)
	fmt.Printf("%#08x\n", crc)
	fmt.Printf("% x\n", digest.AppendDigest(nil, crc))
	// Output:
	// 0xd9963a56
	// 56 3a 96 d9
}

// A 5-byte data segment is followed on the wire by 3 zero bytes of padding,
// which the data digest covers; Data adds them itself.
func ExampleData() {
	segment := []byte("hello")
	fmt.Println(digest.Data(segment) == digest.Checksum([]byte("hello\x00\x00\x00")))
	// Output:
	// true
}

// A receiver reads the digest that follows a segment and checks it.
func ExampleVerifyData() {
	segment := []byte("hello")
	wire := digest.AppendDigest(nil, digest.Data(segment))
	wire[0] ^= 0xff // damaged in transit

	received, err := digest.FromBytes(wire)
	if err != nil {
		fmt.Println(err)
		return
	}
	err = digest.VerifyData(segment, received)
	var me *digest.MismatchError
	fmt.Println(errors.Is(err, digest.ErrMismatch), errors.As(err, &me) && me.Kind == digest.DataDigest)
	// Output:
	// true true
}

// A data segment gathered from several buffers is summed with a Digest.
func ExampleDigest() {
	d := digest.New()
	d.Write([]byte("hel"))
	d.Write([]byte("lo"))
	fmt.Println(d.PaddedSum32() == digest.Data([]byte("hello")))
	// Output:
	// true
}
