package pdu

import (
	"strconv"
)

// TaskAttribute is the ATTR field of a SCSI Command, the SAM task
// attribute (RFC 7143 §11.3.1). It is the one task attribute type of the
// module: package scsi calls it scsi.TaskAttribute, and a logical unit
// receives it in scsi.Request unconverted.
type TaskAttribute uint8

// Task attributes, RFC 7143 §11.3.1. Values 5-7 are reserved.
const (
	TaskUntagged    TaskAttribute = 0
	TaskSimple      TaskAttribute = 1
	TaskOrdered     TaskAttribute = 2
	TaskHeadOfQueue TaskAttribute = 3
	TaskACA         TaskAttribute = 4
)

// String returns the attribute name of RFC 7143 §11.3.1.
func (a TaskAttribute) String() string {
	switch a {
	case TaskUntagged:
		return "Untagged"
	case TaskSimple:
		return "Simple"
	case TaskOrdered:
		return "Ordered"
	case TaskHeadOfQueue:
		return "Head of Queue"
	case TaskACA:
		return "ACA"
	}
	return "TaskAttribute(" + strconv.Itoa(int(a)) + ")"
}

// CDBLength is the size of the CDB field of the SCSI Command BHS
// (RFC 7143 §11.3.5).
const CDBLength = 16

// SCSICommand is a view of the BHS of a SCSI Command PDU (RFC 7143 §11.3). A
// CDB longer than 16 bytes continues in an Extended CDB AHS; see
// [SCSICommand.FullCDB].
type SCSICommand BHS

// BHS returns p as its Basic Header Segment.
func (p *SCSICommand) BHS() *BHS { return (*BHS)(p) }

// Init zeroes the header and sets the opcode (RFC 7143 §11.3).
func (p *SCSICommand) Init() {
	*p = SCSICommand{}
	p[0] = byte(OpSCSICommand)
}

// Immediate returns the I bit: the command is for immediate delivery
// (RFC 7143 §11.2.1.1).
func (p *SCSICommand) Immediate() bool { return p[0]&0x40 != 0 }

// SetImmediate sets Immediate (RFC 7143 §11.2.1.1).
func (p *SCSICommand) SetImmediate(v bool) { setBit(&p[0], 0x40, v) }

// Final returns the F bit: no unsolicited Data-Out PDUs follow this command
// (RFC 7143 §11.3.1).
func (p *SCSICommand) Final() bool { return p[1]&0x80 != 0 }

// SetFinal sets Final (RFC 7143 §11.3.1).
func (p *SCSICommand) SetFinal(v bool) { setBit(&p[1], 0x80, v) }

// Read returns the R bit: data is expected from the target
// (RFC 7143 §11.3.1).
func (p *SCSICommand) Read() bool { return p[1]&0x40 != 0 }

// SetRead sets Read (RFC 7143 §11.3.1).
func (p *SCSICommand) SetRead(v bool) { setBit(&p[1], 0x40, v) }

// Write returns the W bit: data is expected from the initiator
// (RFC 7143 §11.3.1).
func (p *SCSICommand) Write() bool { return p[1]&0x20 != 0 }

// SetWrite sets Write (RFC 7143 §11.3.1).
func (p *SCSICommand) SetWrite(v bool) { setBit(&p[1], 0x20, v) }

// Attributes returns the task attribute ATTR (RFC 7143 §11.3.1).
func (p *SCSICommand) Attributes() TaskAttribute { return TaskAttribute(p[1] >> 0 & 0x07) }

// SetAttributes sets Attributes (RFC 7143 §11.3.1).
func (p *SCSICommand) SetAttributes(v TaskAttribute) { p[1] = p[1]&^(0x07<<0) | byte(v)&0x07<<0 }

// LUN returns bytes 8-15, the Logical Unit Number (RFC 7143 §11.3).
func (p *SCSICommand) LUN() uint64 { return p.BHS().LUN() }

// SetLUN sets LUN (RFC 7143 §11.3).
func (p *SCSICommand) SetLUN(v uint64) { p.BHS().SetLUN(v) }

// InitiatorTaskTag returns the tag the initiator gave the task
// (RFC 7143 §11.3).
func (p *SCSICommand) InitiatorTaskTag() uint32 { return p.BHS().u32(16) }

// SetInitiatorTaskTag sets InitiatorTaskTag (RFC 7143 §11.3).
func (p *SCSICommand) SetInitiatorTaskTag(v uint32) { p.BHS().setU32(16, v) }

// ExpectedDataTransferLength returns the number of bytes of data the
// initiator expects to transfer for the operation; for a bidirectional
// command it is the write (Data-Out) length, the read length being in a
// Bidirectional Read Expected Data Transfer Length AHS (RFC 7143 §11.3.4).
func (p *SCSICommand) ExpectedDataTransferLength() uint32 { return p.BHS().u32(20) }

// SetExpectedDataTransferLength sets ExpectedDataTransferLength
// (RFC 7143 §11.3.4).
func (p *SCSICommand) SetExpectedDataTransferLength(v uint32) { p.BHS().setU32(20, v) }

// CmdSN returns the command sequence number (RFC 7143 §11.3.2).
func (p *SCSICommand) CmdSN() uint32 { return p.BHS().u32(24) }

// SetCmdSN sets CmdSN (RFC 7143 §11.3.2).
func (p *SCSICommand) SetCmdSN(v uint32) { p.BHS().setU32(24, v) }

// ExpStatSN returns the next expected status sequence number
// (RFC 7143 §11.3.3).
func (p *SCSICommand) ExpStatSN() uint32 { return p.BHS().u32(28) }

// SetExpStatSN sets ExpStatSN (RFC 7143 §11.3.3).
func (p *SCSICommand) SetExpStatSN(v uint32) { p.BHS().setU32(28, v) }

var scsiCommandReserved = fields(rsvByte0Initiator, []field{{1, 0x18}, {2, 0xff}, {3, 0xff}})

// Validate checks the opcode, that reserved fields are zero, that at least
// one of the W and F bits is 1, that ATTR is not one of the reserved
// values 5-7, and that R or W is 1 when the Expected Data Transfer Length
// is not 0 (RFC 7143 §11.3.1).
func (p *SCSICommand) Validate() error {
	h := p.BHS()
	if err := h.checkHeader(OpSCSICommand, scsiCommandReserved, nil); err != nil {
		return err
	}
	if h[1]&0xa0 == 0 {
		return h.invalid(1, uint32(h[1]), "W and F bits both 0")
	}
	if a := h[1] & 7; a > byte(TaskACA) {
		return h.protocolViolation(1, uint32(a), "reserved task attribute")
	}
	if h[1]&0x60 == 0 && h.u32(20) != 0 {
		return h.invalid(20, h.u32(20), "Expected Data Transfer Length is not 0 but R and W are both 0")
	}
	return nil
}

// CDB returns the 16-byte CDB field (RFC 7143 §11.3.5) as a slice of p: a
// CDB shorter than 16 bytes is padded with zeros, one longer continues in
// an Extended CDB AHS (see [SCSICommand.FullCDB]).
func (p *SCSICommand) CDB() []byte { return p[32:48] }

// SetCDB copies the first 16 bytes of cdb into the CDB field, padding a
// shorter CDB with zeros (RFC 7143 §11.3.5). The rest of a longer CDB
// belongs in an Extended CDB AHS: see [AppendExtendedCDBAHS].
func (p *SCSICommand) SetCDB(cdb []byte) {
	n := copy(p[32:48], cdb)
	clear(p[32+n : 48])
}

// FullCDB appends to dst the whole CDB: the 16 bytes of the CDB field
// followed by the bytes of the Extended CDB AHS, if ahs (the PDU's
// Additional Header Segments) holds one (RFC 7143 §11.2.2.3, §11.3.5).
// Without one it appends the 16-byte field as it is.
func (p *SCSICommand) FullCDB(dst []byte, ahs []byte) ([]byte, error) {
	dst = append(dst, p[32:48]...)
	for it := (AHSIterator{b: ahs}); ; {
		a, ok, err := it.Next()
		if err != nil {
			return dst, err
		}
		if !ok {
			return dst, nil
		}
		if a.Type == AHSExtendedCDB {
			ext, err := a.ExtendedCDB()
			if err != nil {
				return dst, err
			}
			return append(dst, ext...), nil
		}
	}
}
