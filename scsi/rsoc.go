package scsi

import (
	"encoding/binary"
	"iter"
)

// REPORTING OPTIONS of REPORT SUPPORTED OPERATION CODES (SPC-4 §6.35.1
// table 205).
const (
	ReportAllCommands       = 0x0 // every command, all-commands format
	ReportOneCommand        = 0x1 // REQUESTED OPERATION CODE, which has no service action
	ReportOneCommandWithSA  = 0x2 // REQUESTED OPERATION CODE and REQUESTED SERVICE ACTION
	ReportOneCommandMaybeSA = 0x3 // REQUESTED OPERATION CODE, with REQUESTED SERVICE ACTION if it has service actions
)

// SUPPORT field values of the one-command parameter data (SPC-4 §6.35.3
// table 208).
const (
	SupportNotAvailable = 0x0 // data about the command is not currently available
	SupportNone         = 0x1 // the command is not supported
	SupportStandard     = 0x3 // supported, as the standard defines it
	SupportVendor       = 0x5 // supported, in a vendor-specific way
)

// ReportSupportedOperationCodes is the REPORT SUPPORTED OPERATION CODES
// CDB, MAINTENANCE IN with service action 0Ch (SPC-4 §6.35.1 table 204).
type ReportSupportedOperationCodes struct {
	RCTD                   bool          // RCTD: return command timeouts descriptors
	ReportingOptions       uint8         // REPORTING OPTIONS, 3 bits
	RequestedOpCode        OpCode        // REQUESTED OPERATION CODE
	RequestedServiceAction ServiceAction // REQUESTED SERVICE ACTION
	AllocationLength       uint32        // ALLOCATION LENGTH
	Control                byte
}

// OperationCode returns OpMaintenanceIn.
func (ReportSupportedOperationCodes) OperationCode() OpCode { return OpMaintenanceIn }

// Append appends the 12-byte CDB.
func (c ReportSupportedOperationCodes) Append(dst []byte) ([]byte, error) {
	if c.ReportingOptions > 3 {
		return dst, cdbErr(OpMaintenanceIn, "REPORTING OPTIONS", 2, 2)
	}
	dst, b := newCDB(dst, OpMaintenanceIn, 12)
	b[1] = byte(SAReportSupportedOperationCodes)
	b[2] = flag(c.RCTD, 0x80) | c.ReportingOptions
	b[3] = byte(c.RequestedOpCode)
	binary.BigEndian.PutUint16(b[4:], uint16(c.RequestedServiceAction))
	binary.BigEndian.PutUint32(b[6:], c.AllocationLength)
	b[11] = c.Control
	return dst, nil
}

// ParseReportSupportedOperationCodes decodes REPORT SUPPORTED OPERATION
// CODES (SPC-4 §6.35.1): byte 1 bits 7-5, byte 2 bits 6-3 and byte 10 are
// reserved, and REPORTING OPTIONS above 011b are INVALID FIELD IN CDB at
// byte 2. Whether the requested command has service actions, which
// options 001b and 010b depend on, is the logical unit's check.
func ParseReportSupportedOperationCodes(cdb []byte) (ReportSupportedOperationCodes, error) {
	const op = OpMaintenanceIn
	if err := checkCDB(cdb, op); err != nil {
		return ReportSupportedOperationCodes{}, err
	}
	if ServiceAction(cdb[1]&0x1f) != SAReportSupportedOperationCodes {
		return ReportSupportedOperationCodes{}, cdbErr(op, "SERVICE ACTION", 1, 4)
	}
	for _, r := range [...]struct {
		i    int
		mask byte
	}{{1, 0xe0}, {2, 0x78}, {10, 0xff}} {
		if err := reserved(cdb, op, r.i, r.mask); err != nil {
			return ReportSupportedOperationCodes{}, err
		}
	}
	c := ReportSupportedOperationCodes{RCTD: cdb[2]&0x80 != 0, ReportingOptions: cdb[2] & 7, RequestedOpCode: OpCode(cdb[3]),
		RequestedServiceAction: ServiceAction(binary.BigEndian.Uint16(cdb[4:])), AllocationLength: binary.BigEndian.Uint32(cdb[6:]), Control: cdb[11]}
	if c.ReportingOptions > 3 {
		return ReportSupportedOperationCodes{}, cdbErr(op, "REPORTING OPTIONS", 2, 2)
	}
	return c, nil
}

// CommandTimeouts is the command timeouts descriptor (SPC-4 §6.35.4
// table 209), returned when RCTD is one. Times are in seconds; zero means
// not specified.
type CommandTimeouts struct {
	CommandSpecific uint8  // COMMAND SPECIFIC
	Nominal         uint32 // NOMINAL COMMAND PROCESSING TIMEOUT
	Recommended     uint32 // RECOMMENDED COMMAND TIMEOUT
}

func (t CommandTimeouts) append(dst []byte) []byte {
	dst = append(dst, 0, 0x0a, 0, t.CommandSpecific)
	dst = binary.BigEndian.AppendUint32(dst, t.Nominal)
	return binary.BigEndian.AppendUint32(dst, t.Recommended)
}

func parseCommandTimeouts(b []byte) CommandTimeouts {
	return CommandTimeouts{CommandSpecific: b[3], Nominal: binary.BigEndian.Uint32(b[4:]), Recommended: binary.BigEndian.Uint32(b[8:])}
}

// SupportedCommand describes one command a device server supports, for
// the REPORT SUPPORTED OPERATION CODES parameter data.
type SupportedCommand struct {
	Op               OpCode        // OPERATION CODE
	ServiceAction    ServiceAction // SERVICE ACTION, when HasServiceAction
	HasServiceAction bool          // SERVACTV: the command has service actions
	// Usage is the CDB USAGE DATA (SPC-4 §6.35.3): the CDB length in
	// bytes, byte 0 the operation code, the service action in its field,
	// and a one for every other bit the device server looks at.
	// [CDBUsage] returns it for the commands this package decodes.
	Usage    []byte
	Timeouts CommandTimeouts // returned when RCTD is one
}

// AppendAllCommands appends the all-commands parameter data (SPC-4
// §6.35.2 table 206): the COMMAND DATA LENGTH and one command descriptor
// (table 207) per command, 8 bytes, or 20 with RCTD one (CTDP set and a
// command timeouts descriptor). The CDB LENGTH of each descriptor is
// len(Usage).
func AppendAllCommands(dst []byte, cmds []SupportedCommand, rctd bool) []byte {
	size := 8
	if rctd {
		size = 20
	}
	dst = binary.BigEndian.AppendUint32(dst, uint32(size*len(cmds)))
	for _, c := range cmds {
		dst = append(dst, byte(c.Op), 0)
		dst = binary.BigEndian.AppendUint16(dst, uint16(c.ServiceAction))
		dst = append(dst, 0, flag(rctd, 0x02)|flag(c.HasServiceAction, 0x01))
		dst = binary.BigEndian.AppendUint16(dst, uint16(len(c.Usage)))
		if rctd {
			dst = c.Timeouts.append(dst)
		}
	}
	return dst
}

// AppendOneCommand appends the one-command parameter data (SPC-4 §6.35.3
// table 208): the SUPPORT value, the CDB SIZE and CDB USAGE DATA of c
// (empty unless support is SupportStandard or SupportVendor), and with
// RCTD one the command timeouts descriptor.
func AppendOneCommand(dst []byte, support uint8, c SupportedCommand, rctd bool) []byte {
	usage := c.Usage
	if support != SupportStandard && support != SupportVendor {
		usage = nil
	}
	dst = append(dst, 0, flag(rctd, 0x80)|support&7)
	dst = binary.BigEndian.AppendUint16(dst, uint16(len(usage)))
	dst = append(dst, usage...)
	if rctd {
		dst = c.Timeouts.append(dst)
	}
	return dst
}

// AllCommands is all-commands parameter data checked by
// [ParseAllCommands]; All iterates its descriptors.
type AllCommands struct {
	Descriptors []byte // the command descriptors, aliasing the data
}

// All yields the command descriptors. The Usage field of each is nil,
// and len of the CDB is in CDBLength.
func (a AllCommands) All() iter.Seq2[SupportedCommand, int] {
	return func(yield func(SupportedCommand, int) bool) {
		b := a.Descriptors
		for len(b) >= 8 {
			c := SupportedCommand{Op: OpCode(b[0]), ServiceAction: ServiceAction(binary.BigEndian.Uint16(b[2:])), HasServiceAction: b[5]&0x01 != 0}
			n := 8
			if b[5]&0x02 != 0 {
				c.Timeouts = parseCommandTimeouts(b[8:])
				n = 20
			}
			if !yield(c, int(binary.BigEndian.Uint16(b[6:]))) {
				return
			}
			b = b[n:]
		}
	}
}

// ParseAllCommands decodes all-commands parameter data (SPC-4 §6.35.2),
// keeping the whole descriptors that fit in b (the allocation length may
// cut the data short). A descriptor with CTDP one whose timeouts
// descriptor length is not 0Ah is malformed. Errors are *FormatError.
func ParseAllCommands(b []byte) (AllCommands, error) {
	const format = "REPORT SUPPORTED OPERATION CODES data"
	if len(b) < 4 {
		return AllCommands{}, shortData(format, 0, "COMMAND DATA LENGTH")
	}
	end := 4 + min(uint64(binary.BigEndian.Uint32(b)), uint64(len(b)-4))
	i := 4
	for uint64(i)+8 <= end {
		n := 8
		if b[i+5]&0x02 != 0 {
			n = 20
			if uint64(i+n) > end {
				break
			}
			if binary.BigEndian.Uint16(b[i+8:]) != 0x0a {
				return AllCommands{}, malformed(format, i+8, "DESCRIPTOR LENGTH")
			}
		}
		i += n
	}
	return AllCommands{Descriptors: b[4:i]}, nil
}

// OneCommand is one-command parameter data (SPC-4 §6.35.3).
type OneCommand struct {
	Support  uint8            // SUPPORT
	Usage    []byte           // CDB USAGE DATA, aliasing the data
	Timeouts *CommandTimeouts // the command timeouts descriptor, when CTDP is one
}

// ParseOneCommand decodes one-command parameter data (SPC-4 §6.35.3). A
// CDB SIZE beyond the data, or a timeouts descriptor cut short or of the
// wrong length, is an error. Errors are *FormatError.
func ParseOneCommand(b []byte) (OneCommand, error) {
	const format = "REPORT SUPPORTED OPERATION CODES data"
	if len(b) < 4 {
		return OneCommand{}, shortData(format, 2, "CDB SIZE")
	}
	o := OneCommand{Support: b[1] & 7}
	n := int(binary.BigEndian.Uint16(b[2:]))
	if 4+n > len(b) {
		return OneCommand{}, shortData(format, 2, "CDB SIZE")
	}
	o.Usage = b[4 : 4+n]
	if b[1]&0x80 != 0 {
		t := b[4+n:]
		if len(t) < 12 {
			return OneCommand{}, shortData(format, 4+n, "command timeouts descriptor")
		}
		if binary.BigEndian.Uint16(t) != 0x0a {
			return OneCommand{}, malformed(format, 4+n, "DESCRIPTOR LENGTH")
		}
		ct := parseCommandTimeouts(t)
		o.Timeouts = &ct
	}
	return o, nil
}

// cdbUsage holds the CDB usage data of the commands this package decodes:
// a one for every bit its Parse function reads (and none for reserved,
// obsolete or ignored bits), the CONTROL byte left zero.
var cdbUsage = [...]struct {
	op    OpCode
	sa    ServiceAction
	hasSA bool
	usage string
}{
	{OpTestUnitReady, 0, false, "\x00\x00\x00\x00\x00\x00"},
	{OpRequestSense, 0, false, "\x03\x01\x00\x00\xff\x00"},
	{OpFormatUnit, 0, false, "\x04\xff\xff\x00\x03\x00"},
	{OpRead6, 0, false, "\x08\x1f\xff\xff\xff\x00"},
	{OpWrite6, 0, false, "\x0a\x1f\xff\xff\xff\x00"},
	{OpInquiry, 0, false, "\x12\x01\xff\xff\xff\x00"},
	{OpModeSelect6, 0, false, "\x15\x11\x00\x00\xff\x00"},
	{OpReserve6, 0, false, "\x16\x1e\x00\x00\x00\x00"},
	{OpRelease6, 0, false, "\x17\x1e\x00\x00\x00\x00"},
	{OpModeSense6, 0, false, "\x1a\x08\xff\xff\xff\x00"},
	{OpStartStopUnit, 0, false, "\x1b\x01\x00\x0f\xf7\x00"},
	{OpPreventAllowMediumRemoval, 0, false, "\x1e\x00\x00\x00\x03\x00"},
	{OpReadCapacity10, 0, false, "\x25\x00\xff\xff\xff\xff\x00\x00\x01\x00"},
	{OpRead10, 0, false, "\x28\xfc\xff\xff\xff\xff\x3f\xff\xff\x00"},
	{OpWrite10, 0, false, "\x2a\xf8\xff\xff\xff\xff\x3f\xff\xff\x00"},
	{OpWriteAndVerify10, 0, false, "\x2e\xf6\xff\xff\xff\xff\x3f\xff\xff\x00"},
	{OpVerify10, 0, false, "\x2f\xf6\xff\xff\xff\xff\x3f\xff\xff\x00"},
	{OpPreFetch10, 0, false, "\x34\x02\xff\xff\xff\xff\x3f\xff\xff\x00"},
	{OpSynchronizeCache10, 0, false, "\x35\x02\xff\xff\xff\xff\x3f\xff\xff\x00"},
	{OpReadDefectData10, 0, false, "\x37\x00\x1f\x00\x00\x00\x00\xff\xff\x00"},
	{OpWriteSame10, 0, false, "\x41\xf8\xff\xff\xff\xff\x3f\xff\xff\x00"},
	{OpUnmap, 0, false, "\x42\x01\x00\x00\x00\x00\x3f\xff\xff\x00"},
	{OpSanitize, SanitizeOverwrite, true, "\x48\xa1\x00\x00\x00\x00\x00\xff\xff\x00"},
	{OpSanitize, SanitizeBlockErase, true, "\x48\xa2\x00\x00\x00\x00\x00\x00\x00\x00"},
	{OpSanitize, SanitizeCryptographicErase, true, "\x48\xa3\x00\x00\x00\x00\x00\x00\x00\x00"},
	{OpSanitize, SanitizeExitFailureMode, true, "\x48\xbf\x00\x00\x00\x00\x00\x00\x00\x00"},
	{OpModeSelect10, 0, false, "\x55\x11\x00\x00\x00\x00\x00\xff\xff\x00"},
	{OpReserve10, 0, false, "\x56\x12\x00\xff\x00\x00\x00\xff\xff\x00"},
	{OpRelease10, 0, false, "\x57\x12\x00\xff\x00\x00\x00\xff\xff\x00"},
	{OpModeSense10, 0, false, "\x5a\x18\xff\xff\x00\x00\x00\xff\xff\x00"},
	{OpPersistentReserveIn, PRInReadKeys, true, "\x5e\x00\x00\x00\x00\x00\x00\xff\xff\x00"},
	{OpPersistentReserveIn, PRInReadReservation, true, "\x5e\x01\x00\x00\x00\x00\x00\xff\xff\x00"},
	{OpPersistentReserveIn, PRInReportCapabilities, true, "\x5e\x02\x00\x00\x00\x00\x00\xff\xff\x00"},
	{OpPersistentReserveIn, PRInReadFullStatus, true, "\x5e\x03\x00\x00\x00\x00\x00\xff\xff\x00"},
	{OpPersistentReserveOut, PROutRegister, true, "\x5f\x00\xff\x00\x00\xff\xff\xff\xff\x00"},
	{OpPersistentReserveOut, PROutReserve, true, "\x5f\x01\xff\x00\x00\xff\xff\xff\xff\x00"},
	{OpPersistentReserveOut, PROutRelease, true, "\x5f\x02\xff\x00\x00\xff\xff\xff\xff\x00"},
	{OpPersistentReserveOut, PROutClear, true, "\x5f\x03\xff\x00\x00\xff\xff\xff\xff\x00"},
	{OpPersistentReserveOut, PROutPreempt, true, "\x5f\x04\xff\x00\x00\xff\xff\xff\xff\x00"},
	{OpPersistentReserveOut, PROutPreemptAndAbort, true, "\x5f\x05\xff\x00\x00\xff\xff\xff\xff\x00"},
	{OpPersistentReserveOut, PROutRegisterAndIgnoreExistingKey, true, "\x5f\x06\xff\x00\x00\xff\xff\xff\xff\x00"},
	{OpPersistentReserveOut, PROutRegisterAndMove, true, "\x5f\x07\xff\x00\x00\xff\xff\xff\xff\x00"},
	{OpExtendedCopy, ExtendedCopyLID1, true, "\x83\x00\x00\x00\x00\x00\x00\x00\x00\x00\xff\xff\xff\xff\x00\x00"},
	{OpExtendedCopy, ExtendedCopyLID4, true, "\x83\x01\x00\x00\x00\x00\x00\x00\x00\x00\xff\xff\xff\xff\x00\x00"},
	{OpReceiveCopyResults, CopyStatusLID1, true, "\x84\x00\xff\x00\x00\x00\x00\x00\x00\x00\xff\xff\xff\xff\x00\x00"},
	{OpReceiveCopyResults, ReceiveDataLID1, true, "\x84\x01\xff\x00\x00\x00\x00\x00\x00\x00\xff\xff\xff\xff\x00\x00"},
	{OpReceiveCopyResults, OperatingParameters, true, "\x84\x03\x00\x00\x00\x00\x00\x00\x00\x00\xff\xff\xff\xff\x00\x00"},
	{OpReceiveCopyResults, FailedSegmentDetailsLID1, true, "\x84\x04\xff\x00\x00\x00\x00\x00\x00\x00\xff\xff\xff\xff\x00\x00"},
	{OpReceiveCopyResults, CopyStatusLID4, true, "\x84\x05\xff\xff\xff\xff\x00\x00\x00\x00\xff\xff\xff\xff\x00\x00"},
	{OpReceiveCopyResults, ReceiveDataLID4, true, "\x84\x06\xff\xff\xff\xff\x00\x00\x00\x00\xff\xff\xff\xff\x00\x00"},
	{OpRead16, 0, false, "\x88\xfc\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\x3f\x00"},
	{OpCompareAndWrite, 0, false, "\x89\xf8\xff\xff\xff\xff\xff\xff\xff\xff\x00\x00\x00\xff\x3f\x00"},
	{OpWrite16, 0, false, "\x8a\xf8\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\x3f\x00"},
	{OpWriteAndVerify16, 0, false, "\x8e\xf6\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\x3f\x00"},
	{OpVerify16, 0, false, "\x8f\xf6\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\x3f\x00"},
	{OpPreFetch16, 0, false, "\x90\x02\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\x3f\x00"},
	{OpSynchronizeCache16, 0, false, "\x91\x02\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\x3f\x00"},
	{OpWriteSame16, 0, false, "\x93\xf9\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\x3f\x00"},
	{OpWriteAtomic16, 0, false, "\x9c\xf8\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\x3f\x00"},
	{OpServiceActionIn16, SAReadCapacity16, true, "\x9e\x10\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01\x00"},
	{OpServiceActionIn16, SAGetLBAStatus, true, "\x9e\x12\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\x03\x00"},
	{OpReportLUNs, 0, false, "\xa0\x00\xff\x00\x00\x00\xff\xff\xff\xff\x00\x00"},
	{OpMaintenanceIn, SAReportSupportedOperationCodes, true, "\xa3\x0c\x87\xff\xff\xff\xff\xff\xff\xff\x00\x00"},
	{OpRead12, 0, false, "\xa8\xfc\xff\xff\xff\xff\xff\xff\xff\xff\x3f\x00"},
	{OpWrite12, 0, false, "\xaa\xf8\xff\xff\xff\xff\xff\xff\xff\xff\x3f\x00"},
	{OpWriteAndVerify12, 0, false, "\xae\xf6\xff\xff\xff\xff\xff\xff\xff\xff\x3f\x00"},
	{OpVerify12, 0, false, "\xaf\xf6\xff\xff\xff\xff\xff\xff\xff\xff\x3f\x00"},
	{OpReadDefectData12, 0, false, "\xb7\x1f\xff\xff\xff\xff\xff\xff\xff\xff\x00\x00"},
}

// CDBUsage returns the command description of op (and sa, for an
// operation code with service actions) for the REPORT SUPPORTED OPERATION
// CODES data, with CDB USAGE DATA (SPC-4 §6.35.3) that has a one for
// every bit this package's Parse function for the command reads. The
// CONTROL byte's usage is zero; a device server that honours NACA sets bit
// 2 of the last byte. The usage slice is the caller's to modify. ok is
// false for a command this package does not decode.
func CDBUsage(op OpCode, sa ServiceAction) (c SupportedCommand, ok bool) {
	for _, u := range cdbUsage {
		if u.op == op && (!u.hasSA || u.sa == sa) {
			return SupportedCommand{Op: op, ServiceAction: u.sa, HasServiceAction: u.hasSA, Usage: []byte(u.usage)}, true
		}
	}
	return SupportedCommand{}, false
}

// HasServiceActions reports whether this package decodes op by service
// action (SERVICE ACTION IN(16), MAINTENANCE IN, the persistent
// reservation and copy commands, SANITIZE).
func HasServiceActions(op OpCode) bool {
	for _, u := range cdbUsage {
		if u.op == op {
			return u.hasSA
		}
	}
	return false
}

// SupportedCommands returns a description, with CDB usage data, of every
// command this package decodes, one per operation code and service
// action, in operation code order: the list a device server that supports
// them all reports with reporting options 000b.
func SupportedCommands() []SupportedCommand {
	cmds := make([]SupportedCommand, 0, len(cdbUsage))
	for _, u := range cdbUsage {
		cmds = append(cmds, SupportedCommand{Op: u.op, ServiceAction: u.sa, HasServiceAction: u.hasSA, Usage: []byte(u.usage)})
	}
	return cmds
}
