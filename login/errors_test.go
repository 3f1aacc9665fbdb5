package login

import (
	"errors"
	"strings"
	"testing"

	"github.com/go-iscsi/iscsi/pdu"
)

// Every error of the package names it first, "login: ...", as those of
// pdu, scsi, disk and iqn name theirs; wrapping adds no second prefix.
func TestErrorPrefix(t *testing.T) {
	sentinels := []error{
		ErrAuthFailed, ErrSecretTooShort, ErrCHAPAlgorithm, ErrCHAPReflection,
		ErrCHAPProtocol, ErrCHAPMD5Required, ErrTargetAddress, ErrSendTargets,
		ErrProtocol, ErrLoginDone, ErrSessionNotFound, ErrTooManyConnections,
		ErrCantIncludeInSession, ErrOutOfResources, ErrKeyName, ErrNoDelimiter,
		ErrValueTooLong, ErrValue, ErrNotTerminated, ErrTextTooLong,
		ErrDuplicateKey, ErrOutOfRange, ErrWrongPhase, ErrUnexpectedAnswer,
		ErrReservedValue, ErrMissingKey, ErrTextSequence,
	}
	tests := []struct {
		name string
		err  error
		want string
	}{
		{"protocol", protoErr("ITT changed"), "login: protocol violation: ITT changed"},
		{"text", textErr("MaxBurstLength", "1", ErrOutOfRange), `login: value out of range: key "MaxBurstLength" value "1"`},
		{"status", &LoginError{Status: pdu.LoginNotFound}, "login: status 0x0203 (Not found)"},
	}
	for _, err := range sentinels {
		tests = append(tests, struct {
			name string
			err  error
			want string
		}{err.Error(), err, ""})
	}
	for _, tt := range tests {
		got := tt.err.Error()
		if !strings.HasPrefix(got, "login: ") || strings.HasPrefix(got[len("login: "):], "login: ") {
			t.Errorf("%s: %q does not begin with one \"login: \"", tt.name, got)
		}
		if tt.want != "" && got != tt.want {
			t.Errorf("%s: %q, want %q", tt.name, got, tt.want)
		}
	}
	if !errors.Is(protoErr("x"), ErrProtocol) {
		t.Error("protoErr does not wrap ErrProtocol")
	}
}
