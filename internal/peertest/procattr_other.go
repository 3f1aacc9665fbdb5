//go:build !linux

package peertest

import "os/exec"

// setParentDeath has no portable equivalent outside Linux; the test cleanup
// still stops the daemon.
func setParentDeath(*exec.Cmd) {}
