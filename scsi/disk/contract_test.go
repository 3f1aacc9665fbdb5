package disk

import (
	"context"
	"errors"
	"testing"

	"github.com/go-iscsi/iscsi/pdu"
	"github.com/go-iscsi/iscsi/scsi"
)

// *LU implements the logical unit contract of package scsi.
var _ interface {
	Execute(ctx context.Context, req *scsi.Request) scsi.Response
	DataOutLength(cdb []byte) int
	ITNexusLoss(n scsi.Nexus)
	Reset(kind scsi.ResetKind)
} = (*LU)(nil)

// The names this package kept are those of package scsi, and the task
// attributes have the codes of the wire.
func TestContractAliases(t *testing.T) {
	var req *scsi.Request = &Request{Nexus: Nexus{InitiatorPort: "i"}}
	var resp scsi.Response = Response{Status: scsi.StatusGood}
	_, _ = req, resp
	tests := []struct {
		name      string
		got, want pdu.TaskAttribute
	}{
		{"TaskSimple", TaskSimple, pdu.TaskSimple},
		{"TaskOrdered", TaskOrdered, pdu.TaskOrdered},
		{"TaskHeadOfQueue", TaskHeadOfQueue, pdu.TaskHeadOfQueue},
		{"TaskACA", TaskACA, pdu.TaskACA},
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("%s = %d, want %d", tt.name, tt.got, tt.want)
		}
	}
	if LogicalUnitReset != scsi.LogicalUnitReset || TargetReset != scsi.TargetReset {
		t.Errorf("reset kinds %d %d, want %d %d", LogicalUnitReset, TargetReset, scsi.LogicalUnitReset, scsi.TargetReset)
	}
}

// ErrOutsideBackend is the name of a backend access outside its size, and
// the old name ErrOutOfRange the same value.
func TestErrOutsideBackend(t *testing.T) {
	m := NewMemory(4096)
	_, err := m.WriteAt([]byte{1}, 4096)
	for _, target := range []error{ErrOutsideBackend, ErrOutOfRange} {
		if !errors.Is(err, target) {
			t.Errorf("WriteAt beyond the end: %v does not match %v", err, target)
		}
	}
}
