package session

import (
	"context"
	"errors"
	"testing"

	"github.com/go-iscsi/iscsi/login"
	"github.com/go-iscsi/iscsi/pdu"
	"github.com/go-iscsi/iscsi/scsi"
)

// TestInitiatorTaskManagementFunctions runs each task management function
// against the project's target at iSCSIProtocolLevel 1 and 2: the RFC 7144
// functions are refused before anything is sent below level 2, every
// other answer is the target's, and the session stays usable.
func TestInitiatorTaskManagementFunctions(t *testing.T) {
	lun1, _ := scsi.EncodeLUN(1)
	type call func(ctx context.Context, s *Session) (pdu.TaskManagementResponseCode, error)
	tests := []struct {
		name  string
		level uint8
		call  call
		want  pdu.TaskManagementResponseCode
		err   error
	}{
		{"ABORT TASK of no task", 1, func(ctx context.Context, s *Session) (pdu.TaskManagementResponseCode, error) {
			return s.AbortTask(ctx, scsi.LUN{}, 0x1234)
		}, pdu.TMFResponseTaskDoesNotExist, nil},
		{"ABORT TASK SET", 1, func(ctx context.Context, s *Session) (pdu.TaskManagementResponseCode, error) {
			return s.AbortTaskSet(ctx, lun1)
		}, pdu.TMFResponseFunctionComplete, nil},
		{"CLEAR TASK SET", 1, func(ctx context.Context, s *Session) (pdu.TaskManagementResponseCode, error) {
			return s.ClearTaskSet(ctx, scsi.LUN{})
		}, pdu.TMFResponseFunctionComplete, nil},
		{"LOGICAL UNIT RESET", 1, func(ctx context.Context, s *Session) (pdu.TaskManagementResponseCode, error) {
			return s.LogicalUnitReset(ctx, lun1)
		}, pdu.TMFResponseFunctionComplete, nil},
		{"TARGET WARM RESET", 1, func(ctx context.Context, s *Session) (pdu.TaskManagementResponseCode, error) {
			return s.TargetWarmReset(ctx)
		}, pdu.TMFResponseFunctionComplete, nil},
		{"QUERY TASK at level 1", 1, func(ctx context.Context, s *Session) (pdu.TaskManagementResponseCode, error) {
			return s.QueryTask(ctx, scsi.LUN{}, 1)
		}, 0, ErrProtocolLevel},
		{"QUERY TASK SET at level 1", 1, func(ctx context.Context, s *Session) (pdu.TaskManagementResponseCode, error) {
			return s.QueryTaskSet(ctx, scsi.LUN{})
		}, 0, ErrProtocolLevel},
		{"I_T NEXUS RESET at level 1", 1, func(ctx context.Context, s *Session) (pdu.TaskManagementResponseCode, error) {
			return s.ITNexusReset(ctx)
		}, 0, ErrProtocolLevel},
		{"QUERY ASYNCHRONOUS EVENT at level 1", 1, func(ctx context.Context, s *Session) (pdu.TaskManagementResponseCode, error) {
			return s.QueryAsyncEvent(ctx, scsi.LUN{})
		}, 0, ErrProtocolLevel},
		// The project's target answers the RFC 7144 functions "not
		// supported" (RFC 7143 §11.6.1); what matters here is that they
		// are sent and answered.
		{"QUERY TASK at level 2", 2, func(ctx context.Context, s *Session) (pdu.TaskManagementResponseCode, error) {
			return s.QueryTask(ctx, scsi.LUN{}, 1)
		}, pdu.TMFResponseFunctionNotSupported, nil},
		{"QUERY TASK SET at level 2", 2, func(ctx context.Context, s *Session) (pdu.TaskManagementResponseCode, error) {
			return s.QueryTaskSet(ctx, scsi.LUN{})
		}, pdu.TMFResponseFunctionNotSupported, nil},
		{"I_T NEXUS RESET at level 2", 2, func(ctx context.Context, s *Session) (pdu.TaskManagementResponseCode, error) {
			return s.ITNexusReset(ctx)
		}, pdu.TMFResponseFunctionNotSupported, nil},
		{"QUERY ASYNCHRONOUS EVENT at level 2", 2, func(ctx context.Context, s *Session) (pdu.TaskManagementResponseCode, error) {
			return s.QueryAsyncEvent(ctx, scsi.LUN{})
		}, pdu.TMFResponseFunctionNotSupported, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			st := login.DefaultSettings()
			st.ProtocolLevel = tc.level
			s := dialTest(t, serveLoopback(t, newTestServer(t, &st)), Options{Settings: &st})
			if sp, _ := s.Params(); sp.ProtocolLevel != tc.level {
				t.Fatalf("iSCSIProtocolLevel %d negotiated, want %d", sp.ProtocolLevel, tc.level)
			}
			ctx := context.Background()
			code, err := tc.call(ctx, s)
			if !errors.Is(err, tc.err) || code != tc.want {
				t.Fatalf("got %v, %v; want %v, %v", code, err, tc.want, tc.err)
			}
			if err := good(ctx, s, &Command{CDB: make([]byte, 6)}); err != nil {
				t.Errorf("TEST UNIT READY afterwards: %v", err)
			}
		})
	}
}

// TestInitiatorTargetColdReset: after a completed TARGET COLD RESET the
// target drops its connections (RFC 7143 §11.5.1) and the session is over,
// not reinstated.
func TestInitiatorTargetColdReset(t *testing.T) {
	s := dialTest(t, serveLoopback(t, newTestServer(t, quickSettings(20, nil))), Options{Settings: quickSettings(20, nil)})
	ctx := context.Background()
	code, err := s.TargetColdReset(ctx)
	if err != nil || code != pdu.TMFResponseFunctionComplete {
		t.Fatalf("TARGET COLD RESET: %v, %v", code, err)
	}
	if _, err := s.Execute(ctx, &Command{CDB: make([]byte, 6)}); !errors.Is(err, ErrClosed) {
		t.Errorf("Execute after TARGET COLD RESET: %v, want ErrClosed", err)
	}
	if st := s.Stats(); st.Reinstatements != 0 {
		t.Errorf("Stats %+v, want no reinstatement", st)
	}
}
