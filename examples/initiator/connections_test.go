package main

import (
	"bytes"
	"context"
	"net"
	"sync/atomic"
	"testing"

	"github.com/go-iscsi/iscsi/scsi"
	"github.com/go-iscsi/iscsi/scsi/disk"
	"github.com/go-iscsi/iscsi/session"
)

// countingListener counts the connections it accepts.
type countingListener struct {
	net.Listener
	n atomic.Int64
}

func (l *countingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err == nil {
		l.n.Add(1)
	}
	return c, err
}

// TestConnectionsFlag: -connections N opens a session of N connections (RFC
// 7143 §4.2.1) when the target's MaxConnections allows it, and fewer when
// it does not (§13.2); the data written is read back either way.
func TestConnectionsFlag(t *testing.T) {
	tests := []struct {
		name     string
		maxConns int
		args     []string
		perLogin int64
	}{
		{"four", 8, []string{"-connections", "4"}, 4},
		{"four least loaded", 8, []string{"-connections", "4", "-connection-policy", "least-loaded"}, 4},
		{"target allows two", 2, []string{"-connections", "4"}, 2},
		{"default", 8, nil, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mem, err := disk.New(disk.NewMemory(memSize), disk.Config{SerialNumber: "MCS0"})
			if err != nil {
				t.Fatal(err)
			}
			srv := &session.Server{
				Targets: []session.Target{{Name: testTarget, LUNs: map[scsi.LUN]session.LogicalUnit{{}: mem}}},
				Limits:  session.Limits{MaxConnections: tt.maxConns},
			}
			l0, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			l := &countingListener{Listener: l0}
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan struct{})
			go func() { srv.Serve(ctx, l); close(done) }()
			t.Cleanup(func() { cancel(); <-done })
			url := "iscsi://" + l.Addr().String() + "/" + testTarget + "/0"
			data := pattern(64<<10, 7)
			mustRun(t, data, append(tt.args, "write", url, "16")...)
			got := mustRun(t, nil, append(tt.args, "read", url, "16", "128")...)
			if !bytes.Equal([]byte(got), data) {
				t.Error("read back other data than written")
			}
			if n := l.n.Load(); n != 2*tt.perLogin {
				t.Errorf("%d connections for two commands, want %d", n, 2*tt.perLogin)
			}
		})
	}
	if code, _, _ := runCLI(t, nil, "-connections", "0", "readcap", "iscsi://127.0.0.1:1/x/0"); code != 2 {
		t.Errorf("-connections 0: status %d, want 2", code)
	}
	if code, _, _ := runCLI(t, nil, "-busy-poll", "-1ms", "readcap", "iscsi://127.0.0.1:1/x/0"); code != 2 {
		t.Errorf("-busy-poll -1ms: status %d, want 2", code)
	}
	if code, _, _ := runCLI(t, nil, "-connection-policy", "random", "readcap", "iscsi://127.0.0.1:1/x/0"); code != 2 {
		t.Errorf("-connection-policy random: status %d, want 2", code)
	}
}
