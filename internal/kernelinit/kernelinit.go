package kernelinit

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	_ "embed"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/go-iscsi/iscsi/internal/peertest"
)

//go:embed init.sh
var initScript []byte

// Packages are the Debian packages the guest is built from.
var Packages = []string{"qemu-system-x86", "linux-image-amd64", "busybox-static", "open-iscsi", "cpio", "kmod", "e2fsprogs"}

// tools are the host binaries [Build] and [Boot] run or copy.
var tools = []string{"qemu-system-x86_64", "busybox", "iscsistart", "mke2fs", "e2fsck", "cpio", "gzip", "modprobe", "depmod", "ldd"}

// modules are the kernel modules the guest loads, in dependency order once
// expanded by modprobe --show-depends: the NIC, CRC32C for digests and
// ext4, the iSCSI transport and initiator, the disk driver and ext4.
var modules = []string{"virtio_pci", "virtio_net", "crc32c_intel", "crc32c_generic",
	"scsi_transport_iscsi", "libiscsi", "libiscsi_tcp", "iscsi_tcp", "sd_mod",
	"jbd2", "mbcache", "crc16", "ext4"}

// Require skips t when the host cannot build or boot the guest (a tool or
// the kernel image is missing, or the test does not run as root, which
// reading /boot needs), naming the packages to install. With CI=true it
// fails t instead, as [peertest.Require] does.
func Require(t testing.TB) {
	t.Helper()
	var missing []string
	for _, b := range tools {
		if _, err := lookPath(b); err != nil {
			missing = append(missing, b)
		}
	}
	var msg string
	switch {
	case len(missing) > 0:
		msg = fmt.Sprintf("kernel initiator guest: not found: %s (apt-get install -y %s)",
			strings.Join(missing, ", "), strings.Join(Packages, " "))
	case os.Geteuid() != 0:
		msg = "kernel initiator guest: needs root to read the kernel image and modules"
	default:
		if _, err := kernelVersion(); err != nil {
			msg = "kernel initiator guest: " + err.Error() + " (apt-get install -y linux-image-amd64)"
		}
	}
	if msg == "" {
		return
	}
	if peertest.InCI() {
		t.Fatalf("CI=true: %s", msg)
	}
	t.Skip(msg)
}

// lookPath finds b in PATH or in the sbin directories a non-login root
// shell may lack.
func lookPath(b string) (string, error) {
	if p, err := exec.LookPath(b); err == nil {
		return p, nil
	}
	for _, d := range []string{"/usr/sbin", "/sbin", "/usr/bin", "/bin"} {
		p := filepath.Join(d, b)
		if st, err := os.Stat(p); err == nil && st.Mode().IsRegular() {
			return p, nil
		}
	}
	return "", fmt.Errorf("%s not found", b)
}

// kernelVersion returns the newest version that has both /boot/vmlinuz-V
// and /lib/modules/V.
func kernelVersion() (string, error) {
	files, _ := filepath.Glob("/boot/vmlinuz-*")
	var vs []string
	for _, f := range files {
		v := strings.TrimPrefix(f, "/boot/vmlinuz-")
		if st, err := os.Stat(filepath.Join("/lib/modules", v, "kernel")); err == nil && st.IsDir() {
			vs = append(vs, v)
		}
	}
	if len(vs) == 0 {
		return "", errors.New("no /boot/vmlinuz-* with its /lib/modules")
	}
	sort.Strings(vs)
	return vs[len(vs)-1], nil
}

// Image is a kernel and the initramfs built for it.
type Image struct {
	Kernel        string // path of the kernel image
	Initrd        string // path of the gzip-compressed newc cpio initramfs
	KernelVersion string
}

// layoutVersion names the way populate lays out the initramfs; a change
// there changes it, so that no cached image of an older layout is reused.
const layoutVersion = 2

// Build returns the guest image, assembling the initramfs into a cache
// directory under os.UserCacheDir()/go-iscsi-kinit named by a hash of its
// inputs (the init script, the kernel and the package versions), so that a
// second call with unchanged inputs reuses it.
func Build(ctx context.Context) (Image, error) {
	kver, err := kernelVersion()
	if err != nil {
		return Image{}, err
	}
	kernel := "/boot/vmlinuz-" + kver
	h := sha256.New()
	fmt.Fprintln(h, "layout", layoutVersion)
	h.Write(initScript)
	fmt.Fprintln(h, kver, strings.Join(modules, " "))
	if st, err := os.Stat(kernel); err == nil {
		fmt.Fprintln(h, st.Size(), st.ModTime().UnixNano())
	}
	if out, err := exec.CommandContext(ctx, "dpkg-query", "-W", "busybox-static", "open-iscsi", "e2fsprogs").Output(); err == nil {
		h.Write(out)
	}
	base, err := os.UserCacheDir()
	if err != nil {
		base = os.TempDir()
	}
	dir := filepath.Join(base, "go-iscsi-kinit", hex.EncodeToString(h.Sum(nil))[:16])
	img := Image{Kernel: kernel, Initrd: filepath.Join(dir, "initrd.img"), KernelVersion: kver}
	if st, err := os.Stat(img.Initrd); err == nil && st.Size() > 0 {
		return img, nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return Image{}, err
	}
	root, err := os.MkdirTemp(dir, "root-")
	if err != nil {
		return Image{}, err
	}
	defer os.RemoveAll(root)
	if err := populate(ctx, root, kver); err != nil {
		return Image{}, fmt.Errorf("kernelinit: build initramfs: %w", err)
	}
	tmp := img.Initrd + ".tmp"
	pack := exec.CommandContext(ctx, "sh", "-c", `find . -print0 | cpio --null -o -H newc -R 0:0 --quiet | gzip -1 >"$0"`, tmp)
	pack.Dir = root
	if out, err := pack.CombinedOutput(); err != nil {
		return Image{}, fmt.Errorf("kernelinit: pack initramfs: %w: %s", err, out)
	}
	if err := os.Rename(tmp, img.Initrd); err != nil {
		return Image{}, err
	}
	return img, nil
}

// populate fills root with the initramfs tree for kernel kver.
func populate(ctx context.Context, root, kver string) error {
	for _, d := range []string{"bin", "sbin", "usr/bin", "usr/sbin", "etc/kinit", "etc/iscsi", "proc", "sys", "dev", "tmp", "mnt", "run", "var/lib/iscsi"} {
		if err := os.MkdirAll(filepath.Join(root, d), 0o755); err != nil {
			return err
		}
	}
	bb, err := lookPath("busybox")
	if err != nil {
		return err
	}
	if err := copyFile(bb, filepath.Join(root, "bin/busybox"), 0o755); err != nil {
		return err
	}
	list, err := exec.CommandContext(ctx, bb, "--list-full").Output()
	if err != nil {
		return fmt.Errorf("busybox --list-full: %w", err)
	}
	for _, a := range strings.Fields(string(list)) {
		dst := filepath.Join(root, a)
		if _, err := os.Lstat(dst); err == nil {
			continue
		}
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			return err
		}
		if err := os.Symlink("/bin/busybox", dst); err != nil {
			return err
		}
	}
	// busybox's own mke2fs makes only ext2, and its applets run ahead of
	// PATH: the init script calls the real binaries by full path.
	for _, b := range []string{"iscsistart", "mke2fs", "e2fsck"} {
		src, err := lookPath(b)
		if err != nil {
			return err
		}
		if err := copyBinary(ctx, root, src, "sbin/"+b); err != nil {
			return err
		}
	}
	for _, f := range []string{"/etc/mke2fs.conf", "/etc/iscsi/iscsid.conf"} {
		if _, err := os.Stat(f); err == nil {
			if err := copyFile(f, filepath.Join(root, f), 0o644); err != nil {
				return err
			}
		}
	}
	if err := os.WriteFile(filepath.Join(root, "etc/passwd"), []byte("root:x:0:0:root:/:/bin/sh\n"), 0o644); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(root, "etc/group"), []byte("root:x:0:\n"), 0o644); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(root, "init"), initScript, 0o755); err != nil {
		return err
	}
	return copyModules(ctx, root, kver)
}

// copyModules copies the modules and their dependencies, decompressed
// because busybox insmod loads plain .ko files, and writes their load
// order to etc/kinit/modules.
func copyModules(ctx context.Context, root, kver string) error {
	seen := map[string]bool{}
	var order []string
	for _, m := range modules {
		out, err := exec.CommandContext(ctx, "modprobe", "-S", kver, "--show-depends", m).Output()
		if err != nil {
			return fmt.Errorf("modprobe --show-depends %s: %w", m, err)
		}
		sc := bufio.NewScanner(bytes.NewReader(out))
		for sc.Scan() {
			f := strings.Fields(sc.Text())
			if len(f) < 2 || f[0] != "insmod" || seen[f[1]] {
				continue
			}
			seen[f[1]] = true
			order = append(order, f[1])
		}
	}
	prefix := "/lib/modules/" + kver + "/"
	var list strings.Builder
	for _, p := range order {
		rel := strings.TrimPrefix(p, "/lib/modules/")
		var dec []string
		switch filepath.Ext(p) {
		case ".xz":
			dec = []string{"xz", "-dc", p}
		case ".zst":
			dec = []string{"zstd", "-qdc", p}
		case ".gz":
			dec = []string{"gzip", "-dc", p}
		}
		if dec != nil {
			rel = strings.TrimSuffix(rel, filepath.Ext(rel))
		}
		dst := filepath.Join(root, "lib/modules", rel)
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			return err
		}
		if dec == nil {
			if err := copyFile(p, dst, 0o644); err != nil {
				return err
			}
		} else {
			data, err := exec.CommandContext(ctx, dec[0], dec[1:]...).Output()
			if err != nil {
				return fmt.Errorf("%s: %w", strings.Join(dec, " "), err)
			}
			if err := os.WriteFile(dst, data, 0o644); err != nil {
				return err
			}
		}
		list.WriteString(rel + "\n")
	}
	for _, f := range []string{"modules.builtin", "modules.builtin.modinfo", "modules.order"} {
		if _, err := os.Stat(prefix + f); err == nil {
			if err := copyFile(prefix+f, filepath.Join(root, "lib/modules", kver, f), 0o644); err != nil {
				return err
			}
		}
	}
	// iscsistart asks libkmod whether iscsi_tcp is there; depmod gives it
	// the index to look in.
	if out, err := exec.CommandContext(ctx, "depmod", "-b", root, kver).CombinedOutput(); err != nil {
		return fmt.Errorf("depmod: %w: %s", err, out)
	}
	return os.WriteFile(filepath.Join(root, "etc/kinit/modules"), []byte(list.String()), 0o644)
}

// copyBinary copies the dynamic executable src to root/dst with every
// library ldd names.
func copyBinary(ctx context.Context, root, src, dst string) error {
	if err := copyFile(src, filepath.Join(root, dst), 0o755); err != nil {
		return err
	}
	out, err := exec.CommandContext(ctx, "ldd", src).Output()
	if err != nil {
		return fmt.Errorf("ldd %s: %w", src, err)
	}
	for _, f := range strings.Fields(string(out)) {
		if !strings.HasPrefix(f, "/") {
			continue
		}
		d := filepath.Join(root, f)
		if _, err := os.Stat(d); err == nil {
			continue
		}
		if err := os.MkdirAll(filepath.Dir(d), 0o755); err != nil {
			return err
		}
		if err := copyFile(f, d, 0o755); err != nil {
			return err
		}
	}
	return nil
}

// copyFile copies src, following symbolic links, to dst. Whatever is at
// dst is removed first, never written through: dst may be a busybox
// applet link whose absolute target names the host's own busybox.
func copyFile(src, dst string, mode os.FileMode) error {
	data, err := os.ReadFile(src)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return err
	}
	if err := os.Remove(dst); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return os.WriteFile(dst, data, mode)
}

// Options say what one guest boot does.
type Options struct {
	Port   int    // the target's port on 127.0.0.1
	Target string // the target's iSCSI name
	LUN    int    // the logical unit to test
	// CHAPUser and CHAPSecret, when set, make the guest authenticate with
	// CHAP (RFC 7143 §12.1.3); MutualUser and MutualSecret add the
	// credentials it expects the target to answer with (mutual CHAP).
	CHAPUser, CHAPSecret     string
	MutualUser, MutualSecret string
	// Params are open-iscsi node settings passed as iscsistart -P, for
	// example node.conn[0].iscsi.HeaderDigest=CRC32C.
	Params []string
	MiB    int  // size of the raw test; 32 when zero
	Ext4   bool // also run the ext4 test below the raw region
	Seed   string
	// Timeout bounds the whole boot; 180 s when zero.
	Timeout time.Duration
}

// Result is what the guest reported.
type Result struct {
	Pass    bool
	Summary string // the text of the KINIT RESULT line
	Console string // the whole serial console, carriage returns removed
	Elapsed time.Duration

	LoginSeconds              float64
	HeaderDigest, DataDigest  string // "None" or "CRC32C", from sysfs
	RawOffset, RawBytes       int64
	WriteSeconds, ReadSeconds float64
	Ext4                      bool // the ext4 test ran and passed
}

// Pattern returns the n 512-byte sectors from LBA first that the guest
// writes for seed: each names the seed and its LBA and is padded with dots
// to 511 bytes and a newline.
func Pattern(seed string, first, n int64) []byte {
	b := make([]byte, 0, n*512)
	for i := range n {
		s := fmt.Sprintf("go-iscsi kernel initiator seed=%s lba=%d ", seed, first+i)
		b = append(b, s...)
		for range 511 - len(s) {
			b = append(b, '.')
		}
		b = append(b, '\n')
	}
	return b
}

// Boot runs one guest against the target of o and returns its report. The
// error is not nil when QEMU could not run or produced no result line; a
// guest that ran and failed a check returns Pass false and a nil error.
func Boot(ctx context.Context, img Image, o Options) (Result, error) {
	if o.MiB == 0 {
		o.MiB = 32
	}
	if o.Timeout == 0 {
		o.Timeout = 180 * time.Second
	}
	words := map[string]string{
		"port": strconv.Itoa(o.Port), "iqn": o.Target, "lun": strconv.Itoa(o.LUN),
		"user": o.CHAPUser, "pass": o.CHAPSecret, "user_in": o.MutualUser, "pass_in": o.MutualSecret,
		"seed": o.Seed, "mib": strconv.Itoa(o.MiB), "fs": "0",
	}
	if o.Ext4 {
		words["fs"] = "1"
	}
	cmdline := []string{"console=ttyS0", "panic=1", "loglevel=4", "edd=off"}
	for _, k := range []string{"port", "iqn", "lun", "user", "pass", "user_in", "pass_in", "seed", "mib", "fs"} {
		if words[k] != "" {
			cmdline = append(cmdline, "kinit."+k+"="+words[k])
		}
	}
	for _, p := range o.Params {
		cmdline = append(cmdline, "kinit.param="+p)
	}
	for _, w := range cmdline {
		if strings.ContainsAny(w, " \t\n\"'\\") {
			return Result{}, fmt.Errorf("kernelinit: %q cannot travel on the kernel command line", w)
		}
	}
	accel := []string{"-accel", "tcg", "-cpu", "max"}
	if hardwareKVM() {
		accel = []string{"-enable-kvm", "-cpu", "host,-arch-capabilities"}
	}
	qemu, err := lookPath("qemu-system-x86_64")
	if err != nil {
		return Result{}, err
	}
	ctx, cancel := context.WithTimeout(ctx, o.Timeout)
	defer cancel()
	args := append(accel, "-m", "512", "-smp", "1", "-nographic", "-no-reboot",
		"-kernel", img.Kernel, "-initrd", img.Initrd, "-append", strings.Join(cmdline, " "),
		"-netdev", "user,id=n0", "-device", "virtio-net-pci,netdev=n0,romfile=")
	cmd := exec.CommandContext(ctx, qemu, args...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	cmd.WaitDelay = 5 * time.Second
	start := time.Now()
	runErr := cmd.Run()
	r := Result{Elapsed: time.Since(start), Console: strings.ReplaceAll(out.String(), "\r", "")}
	found := parse(&r)
	if !found {
		if ctx.Err() != nil {
			return r, fmt.Errorf("kernelinit: no result within %v (qemu killed)", o.Timeout)
		}
		return r, fmt.Errorf("kernelinit: no result line (qemu: %v)", runErr)
	}
	return r, nil
}

// hardwareKVM reports whether /dev/kvm is backed by kvm_intel or kvm_amd.
// Other providers (kvm_pvm on some cloud machines) run only enlightened
// guest kernels; a stock kernel hangs there, so the guest is emulated.
func hardwareKVM() bool {
	f, err := os.OpenFile("/dev/kvm", os.O_RDWR, 0)
	if err != nil {
		return false
	}
	f.Close()
	for _, m := range []string{"kvm_intel", "kvm_amd"} {
		if _, err := os.Stat("/sys/module/" + m); err == nil {
			return true
		}
	}
	return false
}

// parse fills r from the KINIT lines of its console and reports whether a
// result line was there.
func parse(r *Result) bool {
	found := false
	for line := range strings.Lines(r.Console) {
		line = strings.TrimRight(line, "\n")
		i := strings.Index(line, "KINIT ")
		if i < 0 {
			continue
		}
		line = line[i:]
		kv := fields(line)
		switch {
		case strings.HasPrefix(line, "KINIT RESULT: "):
			found = true
			r.Summary = strings.TrimPrefix(line, "KINIT RESULT: ")
			r.Pass = r.Summary == "PASS"
		case strings.HasPrefix(line, "KINIT LOGIN: "):
			r.LoginSeconds, _ = strconv.ParseFloat(kv["seconds"], 64)
		case strings.HasPrefix(line, "KINIT CONN: "):
			r.HeaderDigest, r.DataDigest = kv["header_digest"], kv["data_digest"]
		case strings.HasPrefix(line, "KINIT RAW: "):
			r.RawOffset, _ = strconv.ParseInt(kv["offset"], 10, 64)
			r.RawBytes, _ = strconv.ParseInt(kv["bytes"], 10, 64)
			r.WriteSeconds, _ = strconv.ParseFloat(kv["write_seconds"], 64)
			r.ReadSeconds, _ = strconv.ParseFloat(kv["read_seconds"], 64)
		case strings.HasPrefix(line, "KINIT EXT4: "):
			r.Ext4 = kv["fsck"] == "clean"
		}
	}
	return found
}

func fields(line string) map[string]string {
	m := map[string]string{}
	for _, f := range strings.Fields(line) {
		if k, v, ok := strings.Cut(f, "="); ok {
			m[k] = v
		}
	}
	return m
}
