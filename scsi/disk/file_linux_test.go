package disk

import (
	"os"
	"testing"

	"golang.org/x/sys/unix"
)

// TestFileNonBlocking checks that a File reports NonBlocking exactly when
// its file is on tmpfs.
func TestFileNonBlocking(t *testing.T) {
	for _, dir := range []string{"/dev/shm", t.TempDir()} {
		if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
			continue
		}
		f, err := OpenFile(dir+"/go-iscsi-nonblocking-test.img", FileOptions{Create: true, Size: 1 << 20})
		if err != nil {
			t.Logf("%s: %v", dir, err)
			continue
		}
		var st unix.Statfs_t
		want := unix.Statfs(dir, &st) == nil && st.Type == unix.TMPFS_MAGIC
		if got := f.NonBlocking(); got != want {
			t.Errorf("File in %s: NonBlocking %v, want %v (statfs type %#x)", dir, got, want, st.Type)
		}
		f.Close()
		os.Remove(dir + "/go-iscsi-nonblocking-test.img")
	}
}
