package scsi_test

import (
	"errors"
	"fmt"

	"github.com/go-iscsi/iscsi/scsi"
)

func ExampleParseSense() {
	// Fixed format sense data as a target returns it after a READ(16)
	// beyond the end of the medium.
	data := []byte{0xf0, 0, 0x05, 0x00, 0x02, 0x00, 0x00, 10, 0, 0, 0, 0, 0x21, 0x00, 0, 0, 0, 0}
	s, err := scsi.ParseSense(data)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(s.Key, "|", s.Code, "|", s.Information)
	// Output: ILLEGAL REQUEST | LOGICAL BLOCK ADDRESS OUT OF RANGE | 131072
}

func ExampleSense_Error() {
	// A Sense is an error; a logical unit returns one and its caller
	// recovers key and code with errors.As.
	var err error = fmt.Errorf("write: %w", scsi.NewSense(scsi.SenseDataProtect, scsi.ASCWriteProtected))
	fmt.Println(err)
	var s scsi.Sense
	if errors.As(err, &s) {
		fmt.Printf("key 0x%x asc 0x%02x ascq 0x%02x\n", uint8(s.Key), s.Code.AdditionalSenseCode(), s.Code.Qualifier())
	}
	// Output:
	// write: DATA PROTECT: WRITE PROTECTED
	// key 0x7 asc 0x27 ascq 0x00
}

func ExampleReadWrite_Append() {
	cdb, err := scsi.ReadWrite{Op: scsi.OpWrite16, LBA: 0x12345678, TransferLength: 8, FUA: true}.Append(nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("% x\n", cdb)
	// Output: 8a 08 00 00 00 00 12 34 56 78 00 00 00 08 00 00
}

func ExampleParseReadWrite() {
	// A logical unit decodes a CDB and answers a bad one with the sense
	// data the error carries.
	cdb := []byte{0x28, 0x04, 0, 0, 0, 0, 0, 0, 1, 0} // READ(10) with RARC, bit 2 of byte 1
	if rw, err := scsi.ParseReadWrite(cdb); err == nil {
		fmt.Println(rw.Op, rw.LBA, rw.TransferLength, rw.RARC)
	}
	cdb = []byte{0x2a, 0x04, 0, 0, 0, 0, 0, 0, 1, 0} // WRITE(10): bit 2 of byte 1 is reserved
	if _, err := scsi.ParseReadWrite(cdb); err != nil {
		sense, _ := scsi.SenseOf(err)
		fmt.Println(scsi.StatusCheckCondition, "|", sense)
		fmt.Printf("% x\n", sense.AppendFixed(nil))
	}
	// Output:
	// READ(10) 0 1 true
	// CHECK CONDITION | ILLEGAL REQUEST: INVALID FIELD IN CDB (CDB byte 1 bit 2)
	// 70 00 05 00 00 00 00 0a 00 00 00 00 24 00 00 ca 00 01
}

func ExampleEncodeLUN() {
	for _, n := range []uint16{0, 255, 256, 16383} {
		lun, err := scsi.EncodeLUN(n)
		if err != nil {
			fmt.Println(err)
			continue
		}
		back, _ := lun.Number()
		fmt.Printf("%5d % x %d\n", n, lun[:], back)
	}
	_, err := scsi.EncodeLUN(16384)
	fmt.Println(err)
	// Output:
	//     0 00 00 00 00 00 00 00 00 0
	//   255 00 ff 00 00 00 00 00 00 255
	//   256 41 00 00 00 00 00 00 00 256
	// 16383 7f ff 00 00 00 00 00 00 16383
	// scsi: LUN: byte 0 (FLAT SPACE LUN): scsi: value does not fit its field
}

func ExampleAppendVPD() {
	page := scsi.BlockLimits{MaxTransferLength: 2048, OptimalTransferLength: 256, MaxUnmapLBACount: 1 << 16, MaxUnmapBlockDescriptorCount: 64}
	b, err := scsi.AppendVPD(nil, scsi.PeripheralByte(scsi.QualifierConnected, scsi.DeviceTypeDirectAccess), page)
	if err != nil {
		fmt.Println(err)
		return
	}
	_, code, body, _ := scsi.ParseVPD(b)
	fmt.Printf("page 0x%02x, %d bytes, max transfer %d blocks\n", code, len(b), scsi.ParseBlockLimits(body).MaxTransferLength)
	// Output: page 0xb0, 64 bytes, max transfer 2048 blocks
}

func ExampleParseCDB() {
	c, err := scsi.ParseCDB([]byte{0x9e, 0x10, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 32, 0, 0})
	if err != nil {
		fmt.Println(err)
		return
	}
	switch c := c.(type) {
	case scsi.ReadCapacity16:
		fmt.Println("READ CAPACITY(16), allocation length", c.AllocationLength)
	}
	// Output: READ CAPACITY(16), allocation length 32
}

func ExampleAppendOneCommand() {
	// A device server answers REPORT SUPPORTED OPERATION CODES for one
	// command with the usage bitmap this package derives from its parser.
	c, ok := scsi.CDBUsage(scsi.OpWrite10, 0)
	if !ok {
		return
	}
	fmt.Printf("% x\n", scsi.AppendOneCommand(nil, scsi.SupportStandard, c, false))
	// Output: 00 03 00 0a 2a f8 ff ff ff ff 3f ff ff 00
}
