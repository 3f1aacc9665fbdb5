package pdu_test

import (
	"fmt"

	"github.com/go-iscsi/iscsi/pdu"
	"github.com/go-iscsi/iscsi/scsi"
)

// A target answers a command with CHECK CONDITION: the sense data goes in
// the data segment after its SenseLength (RFC 7143 §11.4.7). The
// initiator reads the status, the sequence numbers, and the sense, which
// package scsi decodes.
func ExampleParseSenseSegment() {
	// Target side.
	sense := scsi.NewSense(scsi.SenseIllegalRequest, scsi.ASCLBAOutOfRange)
	var h pdu.BHS
	r := h.SCSIResponse()
	r.Init()
	r.SetStatus(uint8(scsi.StatusCheckCondition))
	r.SetStatSN(41)
	r.SetExpCmdSN(7)
	r.SetMaxCmdSN(38)
	seg := pdu.AppendSenseSegment(nil, sense.AppendFixed(nil))

	// Initiator side: sequence numbers without a switch on the opcode,
	// then status and sense.
	statSN, _ := h.StatSN()
	exp, _ := h.ExpCmdSN()
	maxSN, _ := h.MaxCmdSN()
	fmt.Println(statSN, exp, maxSN)
	fmt.Println(scsi.Status(h.SCSIResponse().Status()))
	raw, _, err := pdu.ParseSenseSegment(seg)
	if err != nil {
		fmt.Println(err)
		return
	}
	got, err := scsi.ParseSense(raw)
	fmt.Println(got, err)
	// Output:
	// 41 7 38
	// CHECK CONDITION
	// ILLEGAL REQUEST: LOGICAL BLOCK ADDRESS OUT OF RANGE <nil>
}

// The LUN field of the BHS is the eight bytes of a SAM LUN read as a
// number; package scsi converts.
func ExampleSCSICommand_SetLUN() {
	var h pdu.BHS
	c := h.SCSICommand()
	c.Init()
	c.SetLUN(scsi.LUNNumber(3).Uint64())
	c.SetAttributes(scsi.TaskSimple)
	fmt.Println(scsi.LUNFromUint64(c.LUN()), c.Attributes())
	// Output: 3 Simple
}

// An ISID by its meaning rather than its raw A, B, C and D fields (RFC
// 7143 §11.12.5): a vendor's OUI with a qualifier, or random.
func ExampleNewOUIISID() {
	i := pdu.NewOUIISID(0x00023d, 1) // open-iscsi's default
	fmt.Println(i, i.Type(), i.Qualifier())
	r := pdu.RandomISID()
	fmt.Println(r.Type(), r[0])
	// Output:
	// 00023d000001 OUI-Format 1
	// Random 128
}
