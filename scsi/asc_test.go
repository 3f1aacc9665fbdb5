package scsi

import "testing"

func TestASCTableSortedAndUnique(t *testing.T) {
	for i := 1; i < len(ascNames); i++ {
		if ascNames[i-1].code >= ascNames[i].code {
			t.Fatalf("ascNames[%d] = 0x%04x not above 0x%04x", i, ascNames[i].code, ascNames[i-1].code)
		}
	}
	if len(ascNames) < 150 {
		t.Errorf("table has %d entries, want at least 150", len(ascNames))
	}
	for _, e := range ascNames {
		if got := e.code.String(); got != e.name {
			t.Errorf("ASC(0x%04x).String() = %q, want %q", uint16(e.code), got, e.name)
		}
	}
}

func TestASCString(t *testing.T) {
	tests := []struct {
		code ASC
		want string
	}{
		{ASCNoAdditionalSense, "NO ADDITIONAL SENSE INFORMATION"},
		{ASCLBAOutOfRange, "LOGICAL BLOCK ADDRESS OUT OF RANGE"},
		{ASCInvalidCommandOperationCode, "INVALID COMMAND OPERATION CODE"},
		{ASCInvalidFieldInCDB, "INVALID FIELD IN CDB"},
		{ASCLogicalUnitNotSupported, "LOGICAL UNIT NOT SUPPORTED"},
		{ASCInvalidFieldInParameterList, "INVALID FIELD IN PARAMETER LIST"},
		{ASCParameterListLengthError, "PARAMETER LIST LENGTH ERROR"},
		{ASCWriteProtected, "WRITE PROTECTED"},
		{ASCMiscompareDuringVerifyOperation, "MISCOMPARE DURING VERIFY OPERATION"},
		{ASCPowerOnResetOrBusDeviceResetOccurred, "POWER ON, RESET, OR BUS DEVICE RESET OCCURRED"},
		{ASCPowerOnOccurred, "POWER ON OCCURRED"},
		{ASCBusDeviceResetFunctionOccurred, "BUS DEVICE RESET FUNCTION OCCURRED"},
		{ASCITNexusLossOccurred, "I_T NEXUS LOSS OCCURRED"},
		{ASCParametersChanged, "PARAMETERS CHANGED"},
		{ASCModeParametersChanged, "MODE PARAMETERS CHANGED"},
		{ASCReservationsPreempted, "RESERVATIONS PREEMPTED"},
		{ASCReservationsReleased, "RESERVATIONS RELEASED"},
		{ASCRegistrationsPreempted, "REGISTRATIONS PREEMPTED"},
		{ASCCapacityDataHasChanged, "CAPACITY DATA HAS CHANGED"},
		{ASCMediumNotPresent, "MEDIUM NOT PRESENT"},
		{ASCInvalidMessageError, "INVALID MESSAGE ERROR"},
		{ASCSavingParametersNotSupported, "SAVING PARAMETERS NOT SUPPORTED"},
		{ASCInsufficientRegistrationResources, "INSUFFICIENT REGISTRATION RESOURCES"},
		{ASCUnrecoveredReadError, "UNRECOVERED READ ERROR"},
		{ASCWriteError, "WRITE ERROR"},
		{ASCLogicalUnitNotReadyCauseNotReportable, "LOGICAL UNIT NOT READY, CAUSE NOT REPORTABLE"},
		{ASCLogicalUnitNotReadyInitializingCommandRequired, "LOGICAL UNIT NOT READY, INITIALIZING COMMAND REQUIRED"},
		{ASCLogicalUnitNotReadyManualInterventionRequired, "LOGICAL UNIT NOT READY, MANUAL INTERVENTION REQUIRED"},
		{ASCMediumRemovalPrevented, "MEDIUM REMOVAL PREVENTED"},
		{ASCCommandSequenceError, "COMMAND SEQUENCE ERROR"},
		{ASCInternalTargetFailure, "INTERNAL TARGET FAILURE"},
		{ASCInvalidReleaseOfPersistentReservation, "INVALID RELEASE OF PERSISTENT RESERVATION"},
		{ASCReportedLUNsDataHasChanged, "REPORTED LUNS DATA HAS CHANGED"},
		{ASCInquiryDataHasChanged, "INQUIRY DATA HAS CHANGED"},
		{ASCSpaceAllocationFailedWriteProtect, "SPACE ALLOCATION FAILED WRITE PROTECT"},
		{ASCThinProvisioningSoftThresholdReached, "THIN PROVISIONING SOFT THRESHOLD REACHED"},
		{ASCOverlappedCommandsAttempted, "OVERLAPPED COMMANDS ATTEMPTED"},
		{0x4d2a, "TAGGED OVERLAPPED COMMANDS (TASK TAG 0x2a)"},
		{0x40ff, "DIAGNOSTIC FAILURE ON COMPONENT 0xff"},
		{0x4010, "ASC 0x40 ASCQ 0x10"},
		{0x7005, "DECOMPRESSION EXCEPTION SHORT ALGORITHM ID OF 0x05"},
		{0x8000, "ASC 0x80 ASCQ 0x00"},
		{0xffff, "ASC 0xff ASCQ 0xff"},
	}
	for _, tt := range tests {
		if got := tt.code.String(); got != tt.want {
			t.Errorf("ASC(0x%04x).String() = %q, want %q", uint16(tt.code), got, tt.want)
		}
		if known := tt.code.Known(); known != (tt.want[:4] != "ASC ") {
			t.Errorf("ASC(0x%04x).Known() = %v", uint16(tt.code), known)
		}
	}
	if c := NewASC(0x21, 0x00); c != ASCLBAOutOfRange || c.AdditionalSenseCode() != 0x21 || c.Qualifier() != 0 {
		t.Errorf("NewASC(0x21, 0) = 0x%04x", uint16(c))
	}
}
