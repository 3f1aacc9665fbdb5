package scsi_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/go-iscsi/iscsi/pdu"
	"github.com/go-iscsi/iscsi/scsi"
)

// The task attribute of the logical unit contract is the one of the wire:
// the same type, the same codes (RFC 7143 §11.3.1), so that a transport
// passes the ATTR field of a SCSI Command through unconverted.
func TestTaskAttributeIsTheWireType(t *testing.T) {
	tests := []struct {
		name string
		scsi scsi.TaskAttribute
		wire pdu.TaskAttribute
		code uint8
	}{
		{"Untagged", scsi.TaskUntagged, pdu.TaskUntagged, 0},
		{"Simple", scsi.TaskSimple, pdu.TaskSimple, 1},
		{"Ordered", scsi.TaskOrdered, pdu.TaskOrdered, 2},
		{"Head of Queue", scsi.TaskHeadOfQueue, pdu.TaskHeadOfQueue, 3},
		{"ACA", scsi.TaskACA, pdu.TaskACA, 4},
	}
	for _, tt := range tests {
		if tt.scsi != tt.wire || uint8(tt.scsi) != tt.code {
			t.Errorf("%s: scsi %d, pdu %d, want both %d", tt.name, tt.scsi, tt.wire, tt.code)
		}
		if got := tt.scsi.String(); got != tt.name {
			t.Errorf("%d.String() = %q, want %q", tt.code, got, tt.name)
		}
		var h pdu.BHS
		c := h.SCSICommand()
		c.Init()
		c.SetAttributes(tt.scsi)
		req := scsi.Request{TaskAttribute: c.Attributes()}
		if req.TaskAttribute != tt.scsi {
			t.Errorf("%s: through a SCSI Command: %v", tt.name, req.TaskAttribute)
		}
	}
}

func TestResponseAppendSense(t *testing.T) {
	sense := scsi.NewSense(scsi.SenseNotReady, scsi.ASCMediumNotPresent)
	tests := []struct {
		name string
		resp scsi.Response
		want []byte
	}{
		{"good", scsi.Response{Status: scsi.StatusGood, Sense: sense}, nil},
		{"fixed", scsi.Response{Status: scsi.StatusCheckCondition, Sense: sense}, sense.AppendFixed(nil)},
		{"descriptor", scsi.Response{Status: scsi.StatusCheckCondition, Sense: sense, DescriptorSense: true}, sense.AppendDescriptor(nil)},
	}
	for _, tt := range tests {
		if diff := cmp.Diff(tt.want, tt.resp.AppendSense(nil)); diff != "" {
			t.Errorf("%s: AppendSense (-want +got):\n%s", tt.name, diff)
		}
	}
}

// emptyDrive is a logical unit written on the contract of package scsi
// alone: a drive without a medium. Package session serves it as it
// serves a *disk.LU.
type emptyDrive struct{}

func (emptyDrive) Execute(ctx context.Context, req *scsi.Request) scsi.Response {
	if scsi.OpCode(req.CDB[0]) == scsi.OpInquiry {
		n := copy(req.DataIn, []byte{0x00, 0x80, 0x06, 0x02, 0x00})
		return scsi.Response{Status: scsi.StatusGood, DataInLen: n}
	}
	return scsi.Response{
		Status: scsi.StatusCheckCondition,
		Sense:  scsi.NewSense(scsi.SenseNotReady, scsi.ASCMediumNotPresent),
	}
}

func (emptyDrive) DataOutLength(cdb []byte) int { return 0 }
func (emptyDrive) ITNexusLoss(n scsi.Nexus)     {}
func (emptyDrive) Reset(kind scsi.ResetKind)    {}

// A logical unit needs nothing but package scsi: its Execute takes a
// Request and returns a Response.
func ExampleRequest() {
	var lu emptyDrive
	req := &scsi.Request{
		Nexus:         scsi.Nexus{InitiatorPort: "iqn.2025-01.example:host,i,0x23d000000001"},
		CDB:           []byte{byte(scsi.OpTestUnitReady), 0, 0, 0, 0, 0},
		TaskAttribute: scsi.TaskSimple,
	}
	resp := lu.Execute(context.Background(), req)
	fmt.Println(resp.Status)
	fmt.Println(resp.Sense)
	fmt.Printf("% x\n", resp.AppendSense(nil)[:3])
	// Output:
	// CHECK CONDITION
	// NOT READY: MEDIUM NOT PRESENT
	// 70 00 02
}
