package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/go-iscsi/iscsi/session"
)

// TestMaxConnections: -max-connections and the ietd.conf MaxConnections key
// bound the connections of a session (RFC 7143 §13.2: the result is the
// minimum of the offers), and an initiator asking for more gets that many.
func TestMaxConnections(t *testing.T) {
	conf := filepath.Join(t.TempDir(), "ietd.conf")
	const confTarget = "iqn.2026-11.org.example:mcs"
	if err := os.WriteFile(conf, []byte("Target "+confTarget+"\n\tLun 0 Type=memory,Size=4M\n\tMaxConnections 3\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		args   []string
		target string
		want   int
	}{
		{"flag", []string{"-size", "4MiB", "-max-connections", "2"}, defaultName, 2},
		{"default", []string{"-size", "4MiB"}, defaultName, 4},
		{"ietd.conf key", []string{"-config", conf}, confTarget, 3},
		{"ietd.conf key bounded by the flag", []string{"-config", conf, "-max-connections", "2"}, confTarget, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			addr := start(t, tt.args...)
			ctx := context.Background()
			s, err := session.Dial(ctx, addr, session.Options{
				InitiatorName: "iqn.2026-11.org.example:mcs-test", TargetName: tt.target, Connections: 4,
			})
			if err != nil {
				t.Fatalf("Dial: %v", err)
			}
			defer s.Close()
			if got := s.Stats().Connections; got != tt.want {
				t.Errorf("%d connections, want %d", got, tt.want)
			}
			if sp, _ := s.Params(); sp.MaxConnections != uint32(tt.want) {
				t.Errorf("MaxConnections %d negotiated, want %d", sp.MaxConnections, tt.want)
			}
			buf := make([]byte, 512)
			for i := range 8 {
				if _, err := s.Execute(ctx, &session.Command{CDB: []byte{0x28, 0, 0, 0, 0, byte(i), 0, 0, 1, 0}, DataIn: buf}); err != nil {
					t.Fatalf("READ %d: %v", i, err)
				}
			}
			if err := s.Logout(ctx); err != nil {
				t.Errorf("Logout: %s", fmt.Sprint(err))
			}
		})
	}
}
