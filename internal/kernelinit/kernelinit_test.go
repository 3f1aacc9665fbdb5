package kernelinit

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

func TestPattern(t *testing.T) {
	b := Pattern("s1", 100, 3)
	if len(b) != 3*512 {
		t.Fatalf("len %d, want %d", len(b), 3*512)
	}
	for i, lba := range []string{"100", "101", "102"} {
		sec := b[i*512 : (i+1)*512]
		head := "go-iscsi kernel initiator seed=s1 lba=" + lba + " "
		if !bytes.HasPrefix(sec, []byte(head)) {
			t.Errorf("sector %d starts %q, want %q", i, sec[:len(head)], head)
		}
		if sec[511] != '\n' || bytes.Count(sec[len(head):511], []byte(".")) != 511-len(head) {
			t.Errorf("sector %d is not padded with dots to a newline: %q", i, sec)
		}
	}
	if bytes.Equal(Pattern("s1", 0, 1), Pattern("s2", 0, 1)) {
		t.Error("different seeds give the same sector")
	}
}

func TestParse(t *testing.T) {
	for _, tc := range []struct {
		name    string
		console string
		want    Result
		found   bool
	}{{
		name: "pass",
		console: "[    1.0] boot\r\nKINIT LOGIN: seconds=1.25\r\n" +
			"KINIT CONN: header_digest=CRC32C data_digest=None max_recv=262144 max_xmit=8192\n" +
			"KINIT RAW: offset=100663296 bytes=33554432 write_seconds=0.90 read_seconds=0.50 md5=x\n" +
			"KINIT EXT4: files=8 bytes=8388608 fsck=clean\nKINIT RESULT: PASS\n",
		want: Result{Pass: true, Summary: "PASS", LoginSeconds: 1.25, HeaderDigest: "CRC32C", DataDigest: "None",
			RawOffset: 100663296, RawBytes: 33554432, WriteSeconds: 0.9, ReadSeconds: 0.5, Ext4: true},
		found: true,
	}, {
		name:    "fail after a kernel message on the same line",
		console: "[ 3.1] sd 2:0:0:0: attachedKINIT RESULT: FAIL login: iscsistart exit status 19\n",
		want:    Result{Summary: "FAIL login: iscsistart exit status 19"},
		found:   true,
	}, {
		name:    "no result",
		console: "KINIT LOGIN: seconds=2\n",
		want:    Result{LoginSeconds: 2},
	}} {
		t.Run(tc.name, func(t *testing.T) {
			r := Result{Console: strings.ReplaceAll(tc.console, "\r", "")}
			if got := parse(&r); got != tc.found {
				t.Errorf("parse found a result line: %v, want %v", got, tc.found)
			}
			if d := cmp.Diff(tc.want, r, cmpopts.IgnoreFields(Result{}, "Console")); d != "" {
				t.Errorf("Result (-want +got):\n%s", d)
			}
		})
	}
}

// TestCopyFileReplacesLink checks that copying onto a symbolic link
// replaces the link and leaves the file it points to alone: the initramfs
// tree holds busybox applet links to an absolute /bin/busybox, and writing
// through one would overwrite the host's busybox.
func TestCopyFileReplacesLink(t *testing.T) {
	dir := t.TempDir()
	target := filepath.Join(dir, "busybox")
	if err := os.WriteFile(target, []byte("busybox"), 0o755); err != nil {
		t.Fatal(err)
	}
	src := filepath.Join(dir, "mke2fs.src")
	if err := os.WriteFile(src, []byte("mke2fs"), 0o755); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(dir, "sbin", "mke2fs")
	if err := os.MkdirAll(filepath.Dir(link), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(target, link); err != nil {
		t.Fatal(err)
	}
	if err := copyFile(src, link, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ path, want string }{{target, "busybox"}, {link, "mke2fs"}} {
		got, err := os.ReadFile(c.path)
		if err != nil {
			t.Fatal(err)
		}
		if string(got) != c.want {
			t.Errorf("%s holds %q, want %q", c.path, got, c.want)
		}
	}
	if fi, err := os.Lstat(link); err != nil || fi.Mode()&os.ModeSymlink != 0 {
		t.Errorf("%s is still a link (%v)", link, err)
	}
}
