package scsi

import "strconv"

// OpCode is the OPERATION CODE, byte 0 of every CDB (SPC-4 §4.2.5.1). Its
// top three bits are the group code that fixes the CDB length
// ([OpCode.CDBLength]). String gives the T10 command name as the
// direct-access (SBC-4) command set spells it, for example "READ(10)".
type OpCode uint8

// Operation codes of the SPC-4 and SBC-4 commands a direct-access logical
// unit meets (SPC-4 Annex D.3.1, SBC-4 §5 table 23, T10 op-num list).
const (
	OpTestUnitReady             OpCode = 0x00 // SPC-4 §6.47 TEST UNIT READY
	OpRequestSense              OpCode = 0x03 // SPC-4 §6.39 REQUEST SENSE
	OpFormatUnit                OpCode = 0x04 // SBC-4 §5.3 FORMAT UNIT
	OpReassignBlocks            OpCode = 0x07 // SBC-4 §5.30 REASSIGN BLOCKS
	OpRead6                     OpCode = 0x08 // SBC-4 §5.14 READ(6)
	OpWrite6                    OpCode = 0x0a // SBC-4 §5.41 WRITE(6)
	OpInquiry                   OpCode = 0x12 // SPC-4 §6.6 INQUIRY
	OpModeSelect6               OpCode = 0x15 // SPC-4 §6.11 MODE SELECT(6)
	OpReserve6                  OpCode = 0x16 // SPC-2 §7.21 RESERVE(6), obsolete in SPC-3
	OpRelease6                  OpCode = 0x17 // SPC-2 §7.19 RELEASE(6), obsolete in SPC-3
	OpModeSense6                OpCode = 0x1a // SPC-4 §6.13 MODE SENSE(6)
	OpStartStopUnit             OpCode = 0x1b // SBC-4 §5.38 START STOP UNIT
	OpReceiveDiagnosticResults  OpCode = 0x1c // SPC-4 §6.32 RECEIVE DIAGNOSTIC RESULTS
	OpSendDiagnostic            OpCode = 0x1d // SPC-4 §6.42 SEND DIAGNOSTIC
	OpPreventAllowMediumRemoval OpCode = 0x1e // SPC-4 §6.15 PREVENT ALLOW MEDIUM REMOVAL
	OpReadCapacity10            OpCode = 0x25 // SBC-4 §5.20 READ CAPACITY(10)
	OpRead10                    OpCode = 0x28 // SBC-4 §5.15 READ(10)
	OpWrite10                   OpCode = 0x2a // SBC-4 §5.42 WRITE(10)
	OpWriteAndVerify10          OpCode = 0x2e // SBC-4 §5.46 WRITE AND VERIFY(10)
	OpVerify10                  OpCode = 0x2f // SBC-4 §5.39 VERIFY(10)
	OpPreFetch10                OpCode = 0x34 // SBC-4 §5.10 PRE-FETCH(10)
	OpSynchronizeCache10        OpCode = 0x35 // SBC-4 §5.40 SYNCHRONIZE CACHE(10)
	OpReadDefectData10          OpCode = 0x37 // SBC-4 §5.22 READ DEFECT DATA(10)
	OpWriteBuffer               OpCode = 0x3b // SPC-4 §6.49 WRITE BUFFER
	OpReadBuffer10              OpCode = 0x3c // SPC-4 §6.29 READ BUFFER(10)
	OpReadLong10                OpCode = 0x3e // SBC-4 §5.24 READ LONG(10)
	OpWriteLong10               OpCode = 0x3f // SBC-4 §5.48 WRITE LONG(10)
	OpWriteSame10               OpCode = 0x41 // SBC-4 §5.50 WRITE SAME(10)
	OpUnmap                     OpCode = 0x42 // SBC-4 §5.37 UNMAP
	OpSanitize                  OpCode = 0x48 // SBC-4 §5.36 SANITIZE
	OpLogSelect                 OpCode = 0x4c // SPC-4 §6.8 LOG SELECT
	OpLogSense                  OpCode = 0x4d // SPC-4 §6.9 LOG SENSE
	OpModeSelect10              OpCode = 0x55 // SPC-4 §6.12 MODE SELECT(10)
	OpReserve10                 OpCode = 0x56 // SPC-2 §7.22 RESERVE(10), obsolete in SPC-3
	OpRelease10                 OpCode = 0x57 // SPC-2 §7.20 RELEASE(10), obsolete in SPC-3
	OpModeSense10               OpCode = 0x5a // SPC-4 §6.14 MODE SENSE(10)
	OpPersistentReserveIn       OpCode = 0x5e // SPC-4 §6.16 PERSISTENT RESERVE IN
	OpPersistentReserveOut      OpCode = 0x5f // SPC-4 §6.17 PERSISTENT RESERVE OUT
	OpExtendedCDB               OpCode = 0x7e // SPC-4 §4.2.4 extended CDB
	OpVariableLength            OpCode = 0x7f // SPC-4 §4.2.3 variable length CDB
	OpExtendedCopy              OpCode = 0x83 // SPC-4 §6.4 EXTENDED COPY (THIRD-PARTY COPY OUT)
	OpReceiveCopyResults        OpCode = 0x84 // SPC-4 §6.23 RECEIVE COPY RESULTS (THIRD-PARTY COPY IN)
	OpATAPassThrough16          OpCode = 0x85 // SAT-3 ATA PASS-THROUGH(16)
	OpAccessControlIn           OpCode = 0x86 // SPC-4 §8.3.2 ACCESS CONTROL IN
	OpAccessControlOut          OpCode = 0x87 // SPC-4 §8.3.3 ACCESS CONTROL OUT
	OpRead16                    OpCode = 0x88 // SBC-4 §5.17 READ(16)
	OpCompareAndWrite           OpCode = 0x89 // SBC-4 §5.2 COMPARE AND WRITE
	OpWrite16                   OpCode = 0x8a // SBC-4 §5.44 WRITE(16)
	OpOrWrite                   OpCode = 0x8b // SBC-4 §5.8 ORWRITE(16)
	OpReadAttribute             OpCode = 0x8c // SPC-4 §6.18 READ ATTRIBUTE
	OpWriteAttribute            OpCode = 0x8d // SPC-4 §6.48 WRITE ATTRIBUTE
	OpWriteAndVerify16          OpCode = 0x8e // SBC-4 §5.48 WRITE AND VERIFY(16)
	OpVerify16                  OpCode = 0x8f // SBC-4 §5.41 VERIFY(16)
	OpPreFetch16                OpCode = 0x90 // SBC-4 §5.11 PRE-FETCH(16)
	OpSynchronizeCache16        OpCode = 0x91 // SBC-4 §5.41 SYNCHRONIZE CACHE(16)
	OpWriteSame16               OpCode = 0x93 // SBC-4 §5.51 WRITE SAME(16)
	OpWriteAtomic16             OpCode = 0x9c // SBC-4 §5.47 WRITE ATOMIC(16)
	OpServiceActionIn16         OpCode = 0x9e // SPC-4 §4.2.5.1 SERVICE ACTION IN(16): READ CAPACITY(16), GET LBA STATUS, READ LONG(16)
	OpServiceActionOut16        OpCode = 0x9f // SPC-4 §4.2.5.1 SERVICE ACTION OUT(16): WRITE LONG(16)
	OpReportLUNs                OpCode = 0xa0 // SPC-4 §6.33 REPORT LUNS
	OpATAPassThrough12          OpCode = 0xa1 // SAT-3 ATA PASS-THROUGH(12)
	OpSecurityProtocolIn        OpCode = 0xa2 // SPC-4 §6.40 SECURITY PROTOCOL IN
	OpMaintenanceIn             OpCode = 0xa3 // SPC-4 §4.2.5.1 MAINTENANCE IN: REPORT SUPPORTED OPERATION CODES and others
	OpMaintenanceOut            OpCode = 0xa4 // SPC-4 §4.2.5.1 MAINTENANCE OUT
	OpRead12                    OpCode = 0xa8 // SBC-4 §5.16 READ(12)
	OpServiceActionOut12        OpCode = 0xa9 // SPC-4 §4.2.5.1 SERVICE ACTION OUT(12)
	OpWrite12                   OpCode = 0xaa // SBC-4 §5.43 WRITE(12)
	OpServiceActionIn12         OpCode = 0xab // SPC-4 §4.2.5.1 SERVICE ACTION IN(12)
	OpWriteAndVerify12          OpCode = 0xae // SBC-4 §5.47 WRITE AND VERIFY(12)
	OpVerify12                  OpCode = 0xaf // SBC-4 §5.40 VERIFY(12)
	OpSecurityProtocolOut       OpCode = 0xb5 // SPC-4 §6.41 SECURITY PROTOCOL OUT
	OpReadDefectData12          OpCode = 0xb7 // SBC-4 §5.23 READ DEFECT DATA(12)
)

// ServiceAction is the SERVICE ACTION field of a CDB whose operation code
// names a family of commands (SPC-4 §4.2.5.1): five bits in byte 1 for
// SERVICE ACTION IN(16), MAINTENANCE IN and the persistent reservation
// commands, two bytes in variable length CDBs.
type ServiceAction uint16

// Service actions of SERVICE ACTION IN(16), SERVICE ACTION OUT(16) and
// MAINTENANCE IN (SBC-4 §5 table 23, SPC-4 Annex D.3.2).
const (
	SAReadCapacity16                     ServiceAction = 0x10 // SBC-4 §5.21 READ CAPACITY(16), under OpServiceActionIn16
	SAReadLong16                         ServiceAction = 0x11 // SBC-4 §5.25 READ LONG(16), under OpServiceActionIn16
	SAGetLBAStatus                       ServiceAction = 0x12 // SBC-4 §5.5 GET LBA STATUS, under OpServiceActionIn16
	SAWriteLong16                        ServiceAction = 0x11 // SBC-4 §5.49 WRITE LONG(16), under OpServiceActionOut16
	SAReportIdentifyingInformation       ServiceAction = 0x05 // SPC-4 §6.30 REPORT IDENTIFYING INFORMATION, under OpMaintenanceIn
	SAReportTargetPortGroups             ServiceAction = 0x0a // SPC-4 §6.36 REPORT TARGET PORT GROUPS, under OpMaintenanceIn
	SAReportSupportedOperationCodes      ServiceAction = 0x0c // SPC-4 §6.35 REPORT SUPPORTED OPERATION CODES, under OpMaintenanceIn
	SAReportSupportedTaskManagementFuncs ServiceAction = 0x0d // SPC-4 §6.36 REPORT SUPPORTED TASK MANAGEMENT FUNCTIONS, under OpMaintenanceIn
	SAReportTimestamp                    ServiceAction = 0x0f // SPC-4 §6.38 REPORT TIMESTAMP, under OpMaintenanceIn
)

// opNames holds the T10 op-num names of the operation codes above.
var opNames = [256]string{
	OpTestUnitReady:             "TEST UNIT READY",
	OpRequestSense:              "REQUEST SENSE",
	OpFormatUnit:                "FORMAT UNIT",
	OpReassignBlocks:            "REASSIGN BLOCKS",
	OpRead6:                     "READ(6)",
	OpWrite6:                    "WRITE(6)",
	OpInquiry:                   "INQUIRY",
	OpModeSelect6:               "MODE SELECT(6)",
	OpReserve6:                  "RESERVE(6)",
	OpRelease6:                  "RELEASE(6)",
	OpModeSense6:                "MODE SENSE(6)",
	OpStartStopUnit:             "START STOP UNIT",
	OpReceiveDiagnosticResults:  "RECEIVE DIAGNOSTIC RESULTS",
	OpSendDiagnostic:            "SEND DIAGNOSTIC",
	OpPreventAllowMediumRemoval: "PREVENT ALLOW MEDIUM REMOVAL",
	OpReadCapacity10:            "READ CAPACITY(10)",
	OpRead10:                    "READ(10)",
	OpWrite10:                   "WRITE(10)",
	OpWriteAndVerify10:          "WRITE AND VERIFY(10)",
	OpVerify10:                  "VERIFY(10)",
	OpPreFetch10:                "PRE-FETCH(10)",
	OpSynchronizeCache10:        "SYNCHRONIZE CACHE(10)",
	OpReadDefectData10:          "READ DEFECT DATA(10)",
	OpWriteBuffer:               "WRITE BUFFER",
	OpReadBuffer10:              "READ BUFFER(10)",
	OpReadLong10:                "READ LONG(10)",
	OpWriteLong10:               "WRITE LONG(10)",
	OpWriteSame10:               "WRITE SAME(10)",
	OpUnmap:                     "UNMAP",
	OpSanitize:                  "SANITIZE",
	OpLogSelect:                 "LOG SELECT",
	OpLogSense:                  "LOG SENSE",
	OpModeSelect10:              "MODE SELECT(10)",
	OpReserve10:                 "RESERVE(10)",
	OpRelease10:                 "RELEASE(10)",
	OpModeSense10:               "MODE SENSE(10)",
	OpPersistentReserveIn:       "PERSISTENT RESERVE IN",
	OpPersistentReserveOut:      "PERSISTENT RESERVE OUT",
	OpExtendedCDB:               "EXTENDED CDB",
	OpVariableLength:            "VARIABLE LENGTH CDB",
	OpExtendedCopy:              "EXTENDED COPY",
	OpReceiveCopyResults:        "RECEIVE COPY RESULTS",
	OpATAPassThrough16:          "ATA PASS-THROUGH(16)",
	OpAccessControlIn:           "ACCESS CONTROL IN",
	OpAccessControlOut:          "ACCESS CONTROL OUT",
	OpRead16:                    "READ(16)",
	OpCompareAndWrite:           "COMPARE AND WRITE",
	OpWrite16:                   "WRITE(16)",
	OpOrWrite:                   "ORWRITE(16)",
	OpReadAttribute:             "READ ATTRIBUTE",
	OpWriteAttribute:            "WRITE ATTRIBUTE",
	OpWriteAndVerify16:          "WRITE AND VERIFY(16)",
	OpVerify16:                  "VERIFY(16)",
	OpPreFetch16:                "PRE-FETCH(16)",
	OpSynchronizeCache16:        "SYNCHRONIZE CACHE(16)",
	OpWriteSame16:               "WRITE SAME(16)",
	OpWriteAtomic16:             "WRITE ATOMIC(16)",
	OpServiceActionIn16:         "SERVICE ACTION IN(16)",
	OpServiceActionOut16:        "SERVICE ACTION OUT(16)",
	OpReportLUNs:                "REPORT LUNS",
	OpATAPassThrough12:          "ATA PASS-THROUGH(12)",
	OpSecurityProtocolIn:        "SECURITY PROTOCOL IN",
	OpMaintenanceIn:             "MAINTENANCE IN",
	OpMaintenanceOut:            "MAINTENANCE OUT",
	OpRead12:                    "READ(12)",
	OpServiceActionOut12:        "SERVICE ACTION OUT(12)",
	OpWrite12:                   "WRITE(12)",
	OpServiceActionIn12:         "SERVICE ACTION IN(12)",
	OpWriteAndVerify12:          "WRITE AND VERIFY(12)",
	OpVerify12:                  "VERIFY(12)",
	OpSecurityProtocolOut:       "SECURITY PROTOCOL OUT",
	OpReadDefectData12:          "READ DEFECT DATA(12)",
}

// String returns the T10 name of the operation code ("READ(10)"), or
// "OPERATION CODE 0xNN" for a code this package does not name.
func (op OpCode) String() string {
	if s := opNames[op]; s != "" {
		return s
	}
	return "OPERATION CODE 0x" + hex2(uint8(op))
}

// Known reports whether this package names the operation code.
func (op OpCode) Known() bool { return opNames[op] != "" }

// GroupCode returns the GROUP CODE, the top three bits of the operation
// code (SPC-4 §4.2.5.1 table 5).
func (op OpCode) GroupCode() uint8 { return uint8(op) >> 5 }

// CDBLength returns the CDB length the group code fixes (SPC-4 §4.2.5.1
// table 5): 6 bytes for group 0, 10 for groups 1 and 2, 16 for group 4, 12
// for group 5. It returns 0 for group 3 (reserved, and the variable length
// and extended CDBs of SPC-4 §4.2.3 and §4.2.4) and for the vendor-specific
// groups 6 and 7, whose length the group code does not tell.
func (op OpCode) CDBLength() int {
	switch op.GroupCode() {
	case 0:
		return 6
	case 1, 2:
		return 10
	case 4:
		return 16
	case 5:
		return 12
	}
	return 0
}

const hexDigits = "0123456789abcdef"

// hex2 formats b as two lower-case hexadecimal digits.
func hex2(b uint8) string {
	return string([]byte{hexDigits[b>>4], hexDigits[b&0x0f]})
}

// hexU formats v in hexadecimal without leading zeros.
func hexU(v uint64) string { return strconv.FormatUint(v, 16) }
