package main

import (
	"bytes"
	"context"
	"math/rand/v2"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/go-iscsi/iscsi/scsi"
	"github.com/go-iscsi/iscsi/scsi/disk"
	"github.com/go-iscsi/iscsi/session"
)

const (
	testTarget    = "iqn.2026-11.org.example.go-iscsi:initiator-cli"
	testInitiator = "iqn.2026-11.org.example.go-iscsi:cli-test"
	memSize       = 4 << 20
	fileSize      = 2 << 20
)

// startTarget serves testTarget on 127.0.0.1 with a memory LU at LUN 0
// and a file LU at LUN 1 and returns its address.
func startTarget(t *testing.T) string {
	t.Helper()
	mem, err := disk.New(disk.NewMemory(memSize), disk.Config{SerialNumber: "MEM0"})
	if err != nil {
		t.Fatal(err)
	}
	f, err := disk.OpenFile(filepath.Join(t.TempDir(), "lun1.img"), disk.FileOptions{Size: fileSize, Create: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	file, err := disk.New(f, disk.Config{SerialNumber: "FILE1", BlockSize: 4096})
	if err != nil {
		t.Fatal(err)
	}
	l1, _ := scsi.EncodeLUN(1)
	srv := &session.Server{Targets: []session.Target{{
		Name: testTarget, Alias: "cli test",
		LUNs: map[scsi.LUN]session.LogicalUnit{{}: mem, l1: file},
	}}}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { srv.Serve(ctx, l); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	return l.Addr().String()
}

// runCLI runs the command with the test's initiator name and returns its
// status, standard output and standard error.
func runCLI(t *testing.T, stdin []byte, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(context.Background(), append([]string{"-initiator-name", testInitiator}, args...), bytes.NewReader(stdin), &out, &errb)
	return code, out.String(), errb.String()
}

func mustRun(t *testing.T, stdin []byte, args ...string) string {
	t.Helper()
	code, out, errs := runCLI(t, stdin, args...)
	if code != 0 || errs != "" {
		t.Fatalf("initiator %s: status %d, stderr %q", strings.Join(args, " "), code, errs)
	}
	return out
}

func pattern(n int, seed uint64) []byte {
	b := make([]byte, n)
	r := rand.New(rand.NewPCG(seed, 1))
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

func TestSubcommands(t *testing.T) {
	addr := startTarget(t)
	lun0 := "iscsi://" + addr + "/" + testTarget + "/0"
	lun1 := "iscsi://" + addr + "/" + testTarget + "/1"

	if diff := cmp.Diff(testTarget+"\n  portal "+addr+",1\n", mustRun(t, nil, "discover", addr)); diff != "" {
		t.Errorf("discover (-want +got):\n%s", diff)
	}
	wantLs := "Target: " + testTarget + " (alias \"cli test\")\n" +
		"  LUN 0: DIRECT_ACCESS \"GOISCSI\" \"VIRTUAL-DISK\" \"0001\" 4194304 bytes (8192 blocks of 512)\n" +
		"  LUN 1: DIRECT_ACCESS \"GOISCSI\" \"VIRTUAL-DISK\" \"0001\" 2097152 bytes (512 blocks of 4096)\n"
	for _, arg := range []string{"iscsi://" + addr, lun0} {
		if diff := cmp.Diff(wantLs, mustRun(t, nil, "ls", arg)); diff != "" {
			t.Errorf("ls %s (-want +got):\n%s", arg, diff)
		}
	}
	inq := mustRun(t, nil, "inquiry", lun1)
	for _, want := range []string{"Peripheral Device Type: DIRECT_ACCESS\n", "Vendor: GOISCSI\n", "Product: VIRTUAL-DISK\n", "Unit Serial Number: FILE1\n"} {
		if !strings.Contains(inq, want) {
			t.Errorf("inquiry output lacks %q:\n%s", want, inq)
		}
	}
	wantCap := "Last LBA: 511\nBlock Length: 4096\nBlocks: 512\nSize: 2097152\nThin Provisioning (LBPME): false\n"
	if diff := cmp.Diff(wantCap, mustRun(t, nil, "readcap", lun1)); diff != "" {
		t.Errorf("readcap (-want +got):\n%s", diff)
	}

	for _, tc := range []struct {
		url   string
		bs    int
		lba   string
		count string
		n     int
	}{{lun0, 512, "8190", "2", 2}, {lun1, 4096, "3", "5", 5}} {
		data := pattern(tc.bs*tc.n, uint64(tc.bs))
		mustRun(t, data, "write", tc.url, tc.lba)
		if got := mustRun(t, nil, "read", tc.url, tc.lba, tc.count); !bytes.Equal([]byte(got), data) {
			t.Errorf("read %s %s %s returned other bytes than were written", tc.url, tc.lba, tc.count)
		}
	}

	perf := regexp.MustCompile(`(?s)performing RANDOM READ with 4 parallel requests\nFIXED transfer size of 8 blocks \(4096 byte\)\n.*\niops average [1-9][0-9]* \([0-9]+ MB/s\)\nfinished\.\n$`)
	if out := mustRun(t, nil, "bench", lun0, "-rw", "randread", "-qd", "4", "-t", "300ms"); !perf.MatchString(out) {
		t.Errorf("bench output:\n%s", out)
	}
	if out := mustRun(t, nil, "bench", lun1, "-rw", "write", "-bs", "8192", "-qd", "2", "-t", "200ms", "-dataloss"); !strings.Contains(out, "performing SEQUENTIAL WRITE with 2 parallel requests\n") {
		t.Errorf("bench output:\n%s", out)
	}
}

func TestErrors(t *testing.T) {
	addr := startTarget(t)
	lun0 := "iscsi://" + addr + "/" + testTarget + "/0"
	// A port nothing listens on: the listener is closed at once.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := l.Addr().String()
	l.Close()
	tests := []struct {
		name  string
		stdin []byte
		args  []string
		code  int
		match string
	}{
		{"no command", nil, nil, 2, "no command"},
		{"unknown command", nil, []string{"frobnicate"}, 2, `unknown command "frobnicate"`},
		{"unknown global flag", nil, []string{"-frob", "ls", addr}, 2, "flag provided but not defined"},
		{"bad scheme", nil, []string{"inquiry", "http://" + addr + "/" + testTarget + "/0"}, 2, "scheme"},
		{"bad LUN in URL", nil, []string{"inquiry", lun0 + "x"}, 2, "lun"},
		{"portal for inquiry", nil, []string{"inquiry", "iscsi://" + addr}, 2, "names a portal"},
		{"missing argument", nil, []string{"readcap"}, 2, "want 1 argument"},
		{"extra argument", nil, []string{"readcap", lun0, "x"}, 2, "want 1 argument"},
		{"LBA not a number", nil, []string{"read", lun0, "x", "1"}, 2, `LBA "x"`},
		{"LBA past the end", nil, []string{"read", lun0, "8192", "1"}, 2, "blocks 0 to 8191"},
		{"count past the end", nil, []string{"read", lun0, "8190", "3"}, 2, "blocks 0 to 8191"},
		{"write partial block", make([]byte, 700), []string{"write", lun0, "0"}, 1, "inside a block"},
		{"write past the end", make([]byte, 1024), []string{"write", lun0, "8191"}, 1, "past the last block"},
		{"bench write without -dataloss", nil, []string{"bench", lun0, "-rw", "write"}, 2, "-dataloss"},
		{"bench bad -rw", nil, []string{"bench", lun0, "-rw", "sideways"}, 2, `-rw "sideways"`},
		{"bench -bs not whole blocks", nil, []string{"bench", lun0, "-bs", "1000", "-t", "1s"}, 2, "multiple of the block length"},
		{"bench negative -procs", nil, []string{"bench", lun0, "-procs", "-1"}, 2, "-procs -1"},
		{"dd without -if", nil, []string{"dd", "-of", "-"}, 2, "-if and -of are required"},
		{"dd -seek to stdout", nil, []string{"dd", "-if", "-", "-of", "-", "-seek", "1"}, 2, "-seek needs"},
		{"dd missing input file", nil, []string{"dd", "-if", filepath.Join(t.TempDir(), "none"), "-of", "-"}, 1, "no such file"},
		{"segment length too small", nil, []string{"-max-recv-data-segment-length", "511", "ls", addr}, 2, "want 512 to 16777215"},
		{"timeout zero", nil, []string{"-timeout", "0s", "ls", addr}, 2, "-timeout"},
		{"target user without secret", nil, []string{"-target-user", "t", "ls", addr}, 2, "go together"},
		{"mutual CHAP without CHAP", nil, []string{"-target-user", "t", "-target-secret", "tsecret123456", "ls", addr}, 2, "needs the initiator's CHAP"},
		{"unknown target", nil, []string{"inquiry", "iscsi://" + addr + "/iqn.2026-11.org.example:nothing/0"}, 1, "login to"},
		{"nobody listening", nil, []string{"discover", dead}, 1, "discovery at"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, out, errs := runCLI(t, tc.stdin, tc.args...)
			if code != tc.code {
				t.Errorf("status %d, want %d (stderr %q)", code, tc.code, errs)
			}
			if strings.Count(errs, "\n") != 1 || !strings.HasPrefix(errs, "initiator: ") || !strings.Contains(errs, tc.match) {
				t.Errorf("stderr %q: want one line \"initiator: ...%s...\"", errs, tc.match)
			}
			if tc.code == 2 && out != "" {
				t.Errorf("a usage error printed %q on stdout", out)
			}
		})
	}
}

// TestDD copies a file to a logical unit at an unaligned offset and back
// to another file, and compares the bytes.
func TestDD(t *testing.T) {
	addr := startTarget(t)
	dir := t.TempDir()
	src, dst := filepath.Join(dir, "src"), filepath.Join(dir, "dst")
	data := pattern(300_000+17, 9)
	if err := os.WriteFile(src, data, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, lun := range []string{"0", "1"} {
		u := "iscsi://" + addr + "/" + testTarget + "/" + lun
		mustRun(t, nil, "dd", "-if", src, "-of", u, "-seek", "1001", "-bs", "65536")
		mustRun(t, nil, "-max-recv-data-segment-length", "512", "dd", "-if", u, "-of", dst, "-skip", "1001", "-count", "300017", "-bs", "7000")
		got, err := os.ReadFile(dst)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, data) {
			t.Errorf("LUN %s: the file read back differs from the file written (%d bytes, want %d)", lun, len(got), len(data))
		}
		// Standard input to the unit and the unit to standard output.
		part := data[:5000]
		mustRun(t, part, "dd", "-if", "-", "-of", u, "-seek", "3")
		if out := mustRun(t, nil, "dd", "-if", u, "-of", "-", "-skip", "3", "-count", "5000"); !bytes.Equal([]byte(out), part) {
			t.Errorf("LUN %s: dd through standard streams returned other bytes", lun)
		}
	}
}

// TestInitiatorNameDefault takes the initiator name from the initiator
// name file, and generates and announces one when there is no file.
func TestInitiatorNameDefault(t *testing.T) {
	addr := startTarget(t)
	dir := t.TempDir()
	file := filepath.Join(dir, "initiatorname.iscsi")
	if err := os.WriteFile(file, []byte("## comment\nInitiatorName="+testInitiator+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	defer func(f string) { initiatorNameFile = f }(initiatorNameFile)
	tests := []struct {
		file       string
		wantStderr *regexp.Regexp
	}{
		{file, regexp.MustCompile(`^$`)},
		{filepath.Join(dir, "missing"), regexp.MustCompile(`^initiator: using generated initiator name iqn\.2026-11\.org\.example\.go-iscsi:initiator-[0-9a-f]{12}\n$`)},
	}
	for _, tc := range tests {
		initiatorNameFile = tc.file
		var out, errb bytes.Buffer
		if code := run(context.Background(), []string{"discover", addr}, nil, &out, &errb); code != 0 {
			t.Errorf("%s: status %d, stderr %q", tc.file, code, errb.String())
		}
		if !tc.wantStderr.MatchString(errb.String()) {
			t.Errorf("%s: stderr %q, want %v", tc.file, errb.String(), tc.wantStderr)
		}
	}
}
