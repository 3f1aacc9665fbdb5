package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/go-iscsi/iscsi/internal/peertest"
)

// TestDDTGTD copies a file to a tgtd logical unit with the dd subcommand,
// at an unaligned offset, and back to another file, and compares them;
// ls must show tgtd's controller LUN 0 and the disk LUN 1.
func TestDDTGTD(t *testing.T) {
	peertest.Require(t, "tgtd", "tgtadm")
	const name = "iqn.2026-11.org.example.go-iscsi:dd-tgtd"
	d := peertest.StartTGTD(t, peertest.Target{Name: name, LUNs: []peertest.LUN{{Number: 1, Size: 8 << 20}}})
	dir := t.TempDir()
	src, dst := filepath.Join(dir, "src"), filepath.Join(dir, "dst")
	data := pattern(3<<20+333, 5)
	if err := os.WriteFile(src, data, 0o644); err != nil {
		t.Fatal(err)
	}
	u := "iscsi://" + d.Addr + "/" + name + "/1"
	mustRun(t, nil, "dd", "-if", src, "-of", u, "-seek", "4097")
	mustRun(t, nil, "dd", "-if", u, "-of", dst, "-skip", "4097", "-count", strconv.Itoa(len(data)), "-bs", "100000")
	got, err := os.ReadFile(dst)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, data) {
		t.Errorf("the file read back from tgtd differs (%d bytes, want %d)", len(got), len(data))
	}
	want := "Target: " + name + "\n" +
		"  LUN 0: STORAGE_ARRAY_CONTROLLER \"IET\" \"Controller\" \"0001\"\n" +
		"  LUN 1: DIRECT_ACCESS \"IET\" \"VIRTUAL-DISK\" \"0001\" 8388608 bytes (16384 blocks of 512)\n"
	if got := mustRun(t, nil, "ls", "iscsi://"+d.Addr); got != want {
		t.Errorf("ls:\n%s\nwant:\n%s", got, want)
	}
}
