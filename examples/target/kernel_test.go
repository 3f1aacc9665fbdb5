package main

import (
	"bytes"
	"context"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/go-iscsi/iscsi/internal/kernelinit"
)

// TestKernelInitiator serves a file disk to the Linux kernel's iSCSI
// initiator (open-iscsi's iscsistart, the iscsi_tcp and sd drivers) in a
// QEMU guest: login without authentication, with one-way CHAP and CRC32C
// header and data digests (RFC 7143 §12.1.3, §13.1), with mutual CHAP, and
// a refused login with a wrong CHAP secret. Each guest writes a pattern
// with direct I/O and reads it back; the test then finds the pattern in the
// backing file at the offset the guest reports. The first guest also makes
// an ext4 filesystem, fills, remounts and checks it, and the host runs
// e2fsck on the backing file.
func TestKernelInitiator(t *testing.T) {
	kernelinit.Require(t)
	ctx := context.Background()
	t0 := time.Now()
	img, err := kernelinit.Build(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("guest image: kernel %s, initrd %s (%v)", img.KernelVersion, img.Initrd, time.Since(t0).Round(time.Millisecond))

	const (
		user, secret             = "kernel-guest", "initiator-secret-1"
		mutualUser, mutualSecret = "go-iscsi-target", "target-secret-22"
		target                   = "iqn.2026-11.org.example.go-iscsi:kernel"
	)
	digests := []string{"node.conn[0].iscsi.HeaderDigest=CRC32C", "node.conn[0].iscsi.DataDigest=CRC32C"}
	for _, tc := range []struct {
		name    string
		args    []string // target flags beyond -listen, -target and -file
		opts    kernelinit.Options
		wantErr bool   // the guest must fail to log in
		digest  string // the HeaderDigest and DataDigest the guest must report
	}{{
		name:   "none-raw-ext4",
		opts:   kernelinit.Options{Ext4: true},
		digest: "None",
	}, {
		name:   "chap-crc32c",
		args:   []string{"-chap-user", user, "-chap-secret", secret},
		opts:   kernelinit.Options{CHAPUser: user, CHAPSecret: secret, Params: digests, MiB: 16},
		digest: "CRC32C",
	}, {
		name: "mutual-chap",
		args: []string{"-chap-user", user, "-chap-secret", secret, "-mutual-user", mutualUser, "-mutual-secret", mutualSecret},
		opts: kernelinit.Options{CHAPUser: user, CHAPSecret: secret,
			MutualUser: mutualUser, MutualSecret: mutualSecret, MiB: 16},
		digest: "None",
	}, {
		name:    "chap-wrong-secret",
		args:    []string{"-chap-user", user, "-chap-secret", secret},
		opts:    kernelinit.Options{CHAPUser: user, CHAPSecret: "not-the-secret-1", MiB: 1},
		wantErr: true,
	}} {
		t.Run(tc.name, func(t *testing.T) {
			file := filepath.Join(t.TempDir(), "lun0.img")
			addr := start(t, append([]string{"-target", target, "-file", file, "-size", "128MiB"}, tc.args...)...)
			_, port, _ := net.SplitHostPort(addr)
			o := tc.opts
			o.Port, _ = strconv.Atoi(port)
			o.Target = target
			o.Seed = tc.name + "-" + strconv.FormatInt(time.Now().UnixNano(), 36)
			r, err := kernelinit.Boot(ctx, img, o)
			if err != nil {
				t.Fatalf("%v; console:\n%s", err, r.Console)
			}
			if tc.wantErr {
				if r.Pass || r.LoginSeconds != 0 {
					t.Fatalf("guest logged in with a wrong CHAP secret: %s; console:\n%s", r.Summary, r.Console)
				}
				t.Logf("refused as expected in %v: %s", r.Elapsed.Round(100*time.Millisecond), r.Summary)
				return
			}
			if !r.Pass {
				t.Fatalf("guest: %s; console:\n%s", r.Summary, r.Console)
			}
			if r.HeaderDigest != tc.digest || r.DataDigest != tc.digest {
				t.Errorf("negotiated HeaderDigest=%s DataDigest=%s, want %s", r.HeaderDigest, r.DataDigest, tc.digest)
			}
			mib := float64(r.RawBytes) / (1 << 20)
			t.Logf("boot %v, login %.2fs, raw %.0f MiB at %d: write %.1f MiB/s, read %.1f MiB/s, digests %s/%s, ext4 %v",
				r.Elapsed.Round(100*time.Millisecond), r.LoginSeconds, mib, r.RawOffset,
				mib/r.WriteSeconds, mib/r.ReadSeconds, r.HeaderDigest, r.DataDigest, r.Ext4)
			wantMiB := o.MiB
			if wantMiB == 0 {
				wantMiB = 32
			}
			if r.RawBytes != int64(wantMiB)<<20 {
				t.Errorf("guest tested %d bytes, want %d MiB", r.RawBytes, wantMiB)
			}
			verifyBacking(t, file, o.Seed, r.RawOffset, r.RawBytes)
			if o.Ext4 {
				if !r.Ext4 {
					t.Errorf("guest ran no ext4 test; console:\n%s", r.Console)
				}
				out, err := exec.Command("e2fsck", "-fn", file).CombinedOutput()
				if err != nil {
					t.Errorf("host e2fsck -fn %s: %v\n%s", file, err, out)
				}
			}
		})
	}
}

// verifyBacking checks that the backing file holds the guest's pattern at
// offset: the bytes the kernel wrote reached the file where the LBAs say.
func verifyBacking(t *testing.T, file, seed string, offset, n int64) {
	t.Helper()
	if n == 0 || offset%512 != 0 {
		t.Fatalf("guest reported raw offset %d, %d bytes", offset, n)
	}
	f, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	got := make([]byte, n)
	if _, err := f.ReadAt(got, offset); err != nil {
		t.Fatalf("read backing file: %v", err)
	}
	want := kernelinit.Pattern(seed, offset/512, n/512)
	if !bytes.Equal(got, want) {
		for i := int64(0); i < n; i += 512 {
			if !bytes.Equal(got[i:i+512], want[i:i+512]) {
				t.Fatalf("backing file differs at byte %d (LBA %d):\ngot  %q\nwant %q", offset+i, (offset+i)/512, got[i:i+64], want[i:i+64])
			}
		}
	}
}
