package scsi

import "testing"

func TestSenseKeyAndStatusStrings(t *testing.T) {
	tests := []struct {
		got, want string
	}{
		{SenseIllegalRequest.String(), "ILLEGAL REQUEST"},
		{SenseCompleted.String(), "COMPLETED"},
		{SenseKey(0x10).String(), "SENSE KEY 0x10"},
		{StatusCheckCondition.String(), "CHECK CONDITION"},
		{StatusReservationConflict.String(), "RESERVATION CONFLICT"},
		{StatusTaskAborted.String(), "TASK ABORTED"},
		{Status(0x22).String(), "STATUS 0x22"},
		{OpRead10.String(), "READ(10)"},
		{OpServiceActionIn16.String(), "SERVICE ACTION IN(16)"},
		{OpCode(0xff).String(), "OPERATION CODE 0xff"},
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("got %q, want %q", tt.got, tt.want)
		}
	}
}

func TestStatusAndPageControlNames(t *testing.T) {
	names := map[string]string{
		StatusGood.String():                "GOOD",
		StatusCheckCondition.String():      "CHECK CONDITION",
		StatusConditionMet.String():        "CONDITION MET",
		StatusBusy.String():                "BUSY",
		StatusReservationConflict.String(): "RESERVATION CONFLICT",
		StatusTaskSetFull.String():         "TASK SET FULL",
		StatusACAActive.String():           "ACA ACTIVE",
		StatusTaskAborted.String():         "TASK ABORTED",
		PageControlCurrent.String():        "current",
		PageControlChangeable.String():     "changeable",
		PageControlDefault.String():        "default",
	}
	for got, want := range names {
		if got != want {
			t.Errorf("got %q, want %q", got, want)
		}
	}
	if len(names) != 11 {
		t.Errorf("names collide: %d", len(names))
	}
	for k := range SenseKey(16) {
		if k.String() == "" || k.String()[:5] == "SENSE" {
			t.Errorf("sense key %d has no name", k)
		}
	}
}
