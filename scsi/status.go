package scsi

// Status is the status byte a device server returns at the end of a
// command (SAM-5 §5.3.1 table 30); iSCSI carries it in the Status field of
// the SCSI Response PDU (RFC 7143 §11.4.2).
type Status uint8

// SAM-5 §5.3.1 table 30: status codes. The codes not listed are obsolete
// or reserved.
const (
	StatusGood                Status = 0x00 // GOOD: the command completed
	StatusCheckCondition      Status = 0x02 // CHECK CONDITION: sense data describes the error
	StatusConditionMet        Status = 0x04 // CONDITION MET: PRE-FETCH found room in the cache
	StatusBusy                Status = 0x08 // BUSY: the logical unit is busy; retry later
	StatusReservationConflict Status = 0x18 // RESERVATION CONFLICT: another I_T nexus holds a reservation
	StatusTaskSetFull         Status = 0x28 // TASK SET FULL: no room for another command
	StatusACAActive           Status = 0x30 // ACA ACTIVE: an ACA condition blocks the command
	StatusTaskAborted         Status = 0x40 // TASK ABORTED: another I_T nexus aborted the command (TAS=1)
)

// String returns the SAM-5 name of the status ("CHECK CONDITION"), or
// "STATUS 0xNN" for a reserved or obsolete code.
func (s Status) String() string {
	switch s {
	case StatusGood:
		return "GOOD"
	case StatusCheckCondition:
		return "CHECK CONDITION"
	case StatusConditionMet:
		return "CONDITION MET"
	case StatusBusy:
		return "BUSY"
	case StatusReservationConflict:
		return "RESERVATION CONFLICT"
	case StatusTaskSetFull:
		return "TASK SET FULL"
	case StatusACAActive:
		return "ACA ACTIVE"
	case StatusTaskAborted:
		return "TASK ABORTED"
	}
	return "STATUS 0x" + hex2(uint8(s))
}

// SenseKey is the SENSE KEY of sense data, the general class of a CHECK
// CONDITION (SPC-4 §4.5.6 table 48).
type SenseKey uint8

// SPC-4 §4.5.6 table 48: sense keys. 0x0C is obsolete (EQUAL).
const (
	SenseNoSense        SenseKey = 0x0 // NO SENSE
	SenseRecoveredError SenseKey = 0x1 // RECOVERED ERROR
	SenseNotReady       SenseKey = 0x2 // NOT READY
	SenseMediumError    SenseKey = 0x3 // MEDIUM ERROR
	SenseHardwareError  SenseKey = 0x4 // HARDWARE ERROR
	SenseIllegalRequest SenseKey = 0x5 // ILLEGAL REQUEST
	SenseUnitAttention  SenseKey = 0x6 // UNIT ATTENTION
	SenseDataProtect    SenseKey = 0x7 // DATA PROTECT
	SenseBlankCheck     SenseKey = 0x8 // BLANK CHECK
	SenseVendorSpecific SenseKey = 0x9 // VENDOR SPECIFIC
	SenseCopyAborted    SenseKey = 0xa // COPY ABORTED
	SenseAbortedCommand SenseKey = 0xb // ABORTED COMMAND
	SenseVolumeOverflow SenseKey = 0xd // VOLUME OVERFLOW
	SenseMiscompare     SenseKey = 0xe // MISCOMPARE
	SenseCompleted      SenseKey = 0xf // COMPLETED
)

var senseKeyNames = [16]string{
	"NO SENSE", "RECOVERED ERROR", "NOT READY", "MEDIUM ERROR",
	"HARDWARE ERROR", "ILLEGAL REQUEST", "UNIT ATTENTION", "DATA PROTECT",
	"BLANK CHECK", "VENDOR SPECIFIC", "COPY ABORTED", "ABORTED COMMAND",
	"EQUAL", "VOLUME OVERFLOW", "MISCOMPARE", "COMPLETED",
}

// String returns the SPC-4 name of the sense key ("ILLEGAL REQUEST"), or
// "SENSE KEY 0xNN" for a value above 0x0F.
func (k SenseKey) String() string {
	if k < 16 {
		return senseKeyNames[k]
	}
	return "SENSE KEY 0x" + hex2(uint8(k))
}
