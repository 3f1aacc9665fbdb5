package peertest

import (
	"os/exec"
	"syscall"
)

// setParentDeath asks the kernel to kill the daemon if the test binary dies
// before its cleanup runs, so a crashed test leaves no tgtd behind.
func setParentDeath(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
