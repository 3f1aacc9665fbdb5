package session

import (
	"context"
	"errors"
	"testing"

	"github.com/go-iscsi/iscsi/scsi"
	"github.com/go-iscsi/iscsi/scsi/disk"
)

// scsiOnlyLU is a logical unit written against package scsi alone, without
// package scsi/disk: the contract of LogicalUnit is scsi's.
type scsiOnlyLU struct{}

func (scsiOnlyLU) Execute(context.Context, *scsi.Request) scsi.Response {
	return scsi.Response{Status: scsi.StatusGood}
}
func (scsiOnlyLU) DataOutLength([]byte) int { return 0 }
func (scsiOnlyLU) ITNexusLoss(scsi.Nexus)   {}
func (scsiOnlyLU) Reset(scsi.ResetKind)     {}

var _ LogicalUnit = scsiOnlyLU{}

// A configuration error has one name in session and in disk,
// ErrInvalidConfig; the old session name is the same value.
func TestErrInvalidConfig(t *testing.T) {
	tests := []struct {
		name   string
		err    error
		target error
	}{
		{"session", &ConfigError{Field: "Targets[0].Name", Reason: "empty"}, ErrInvalidConfig},
		{"session, old name", &ConfigError{Field: "Targets[0].Name", Reason: "empty"}, ErrTargetConfig},
		{"disk", &disk.ConfigError{Field: "BlockSize", Reason: "is not a power of two"}, disk.ErrInvalidConfig},
	}
	for _, tt := range tests {
		if !errors.Is(tt.err, tt.target) {
			t.Errorf("%s: %v does not match %v", tt.name, tt.err, tt.target)
		}
	}
}
