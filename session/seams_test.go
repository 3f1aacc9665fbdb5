package session

import (
	"context"

	"github.com/go-iscsi/iscsi/scsi"
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
