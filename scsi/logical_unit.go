package scsi

import "github.com/go-iscsi/iscsi/pdu"

// This file holds the contract between a transport and a logical unit: the
// I_T nexus a command comes on, the command with its buffers, its outcome,
// and the reset events of task management. Package scsi/disk implements a
// logical unit on it; package session serves any logical unit that takes
// these types, so a logical unit need not import scsi/disk.

// TaskAttribute is the task attribute of a command (SAM-5 §8.6). It is the
// one type of the module for it, [pdu.TaskAttribute], whose values are
// those of the ATTR field of an iSCSI SCSI Command (RFC 7143 §11.3.1), so
// a transport passes the field through unconverted.
type TaskAttribute = pdu.TaskAttribute

// Task attributes of SAM-5 §8.6, with the codes of RFC 7143 §11.3.1.
// TaskUntagged, which SAM-5 no longer has, is the zero value; a logical
// unit treats it as TaskSimple.
const (
	TaskUntagged    = pdu.TaskUntagged    // 0: untagged
	TaskSimple      = pdu.TaskSimple      // 1: SIMPLE
	TaskOrdered     = pdu.TaskOrdered     // 2: ORDERED
	TaskHeadOfQueue = pdu.TaskHeadOfQueue // 3: HEAD OF QUEUE
	TaskACA         = pdu.TaskACA         // 4: ACA
)

// Nexus identifies the I_T nexus a command arrived on (SAM-5 §4.6): the
// initiator port, the target port, and the identifiers the target port
// has in its target port group. It is comparable, and a logical unit
// keys unit attentions, reservations and registrations by it.
//
// InitiatorPort is the initiator port name. For iSCSI it is the
// initiator name followed by ",i,0x" and the ISID in hex (RFC 7143
// §4.2.7.3), for example "iqn.1993-08.org.debian:01:abc,i,0x23d000000001";
// PERSISTENT RESERVE IN READ FULL STATUS reports it as an iSCSI
// TransportID (SPC-4 §7.6.4.6).
type Nexus struct {
	InitiatorPort string
	// TargetPort is the target port name, for iSCSI the target name, ",t,0x"
	// and the target portal group tag in hex; the Device Identification VPD
	// page reports it as a SCSI name string designator (SPC-4 §7.8.6.11).
	TargetPort string
	// RelativeTargetPort is the RELATIVE TARGET PORT IDENTIFIER
	// (SPC-4 §7.8.6.5); zero is reserved, so zero omits the designator.
	RelativeTargetPort uint16
	// TargetPortGroup is the TARGET PORT GROUP (SPC-4 §7.8.6.6); reported
	// only when RelativeTargetPort is nonzero.
	TargetPortGroup uint16
}

// Request is one SCSI command a transport hands to a logical unit: the
// CDB, the nexus it came on and the buffers of its data phases.
type Request struct {
	// Nexus is the I_T nexus the command came on.
	Nexus Nexus
	// CDB is the command descriptor block. It may be longer than the
	// command's CDB length (iSCSI carries 16 bytes); trailing bytes are
	// ignored.
	CDB []byte
	// DataOut holds the data the initiator sent (write data, parameter
	// lists). A logical unit tells in advance how many bytes the CDB asks
	// for (the DataOutLength method of package session's LogicalUnit).
	// WRITE and WRITE AND VERIFY write the bytes DataOut holds when it is
	// shorter (the transport's expected length ran out first, RFC 7143
	// §11.4.5.1). Other logical block data (WRITE SAME, COMPARE AND WRITE,
	// VERIFY with BYTCHK, ...) must have exactly that length, and a
	// parameter list at least that length; otherwise the command fails
	// with ILLEGAL REQUEST, INVALID FIELD IN COMMAND INFORMATION UNIT and
	// changes nothing.
	DataOut []byte
	// DataOutBufferSize is the size of the initiator's Data-Out buffer,
	// the Execute Command argument of that name (SAM-5 §5.1): for iSCSI
	// the Expected Data Transfer Length of a write (RFC 7143 §11.3.4).
	// It may exceed len(DataOut), since a transport moves no more than
	// the CDB asks for. Logical block data that must have exactly the
	// CDB's length fails as above when the buffer is larger too, as
	// FCP-4 §9.4.2 lets a device server end a command whose data length
	// does not match the CDB. Zero means len(DataOut).
	DataOutBufferSize int64
	// DataIn is the caller's buffer for data to the initiator; its length
	// caps the transfer together with the CDB's allocation length (for
	// iSCSI, make it ExpectedDataTransferLength long).
	DataIn []byte
	// TaskAttribute is the command's task attribute. A logical unit may
	// leave ordering by task attribute to the transport: package scsi/disk
	// does, and package session starts a command only when its attribute
	// allows (SAM-5 §8.6).
	TaskAttribute TaskAttribute
}

// Response is the outcome of a command.
type Response struct {
	// Status is the SAM-5 §5.3 status.
	Status Status
	// Sense is the sense data of a CHECK CONDITION (zero otherwise).
	Sense Sense
	// DescriptorSense tells whether the sense data is to be sent in
	// descriptor format: the D_SENSE bit of the Control mode page (SPC-4
	// §7.5.8) when the command completed. [Response.AppendSense] follows it.
	DescriptorSense bool
	// DataInLen is how many bytes at the start of Request.DataIn hold data
	// for the initiator.
	DataInLen int
}

// AppendSense appends the sense data of r in the format the logical unit
// uses (fixed, SPC-4 §4.5.3, unless D_SENSE asked for descriptor format,
// SPC-4 §4.5.2). It appends nothing unless Status is CHECK CONDITION.
func (r *Response) AppendSense(dst []byte) []byte {
	if r.Status != StatusCheckCondition {
		return dst
	}
	if r.DescriptorSense {
		return r.Sense.AppendDescriptor(dst)
	}
	return r.Sense.AppendFixed(dst)
}

// ResetKind says which task management event a logical unit's Reset
// method reports (SAM-5 §6.3).
type ResetKind uint8

const (
	// LogicalUnitReset is the LOGICAL UNIT RESET task management function
	// (SAM-5 §7.7): unit attention BUS DEVICE RESET FUNCTION OCCURRED.
	LogicalUnitReset ResetKind = iota
	// TargetReset is a hard reset of the target (SAM-5 §6.3.2, iSCSI
	// TARGET WARM/COLD RESET): unit attention POWER ON, RESET, OR BUS
	// DEVICE RESET OCCURRED.
	TargetReset
)
