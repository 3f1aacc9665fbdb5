// Package kernelinit boots a throwaway QEMU guest whose Linux kernel iSCSI
// initiator (open-iscsi's iscsistart with the iscsi_tcp, libiscsi and sd
// drivers) logs in to a target on the host's loopback interface and checks
// block I/O end to end: direct raw writes and reads of a known pattern, and
// optionally an ext4 filesystem made, filled, remounted and checked with
// e2fsck.
//
// It is a test helper beside internal/peertest: the guest is one more real
// initiator for interoperability tests. The guest runs Debian's packaged
// kernel (/boot/vmlinuz-*, package linux-image-amd64) with an initramfs
// that [Build] assembles from busybox, the kernel's own modules and the
// iscsistart, mke2fs and e2fsck binaries of the host. QEMU's user-mode
// network shows the host's 127.0.0.1:PORT to the guest as 10.0.2.2:PORT, so
// the target listens on loopback only and the guest reaches nothing else.
//
// The guest is emulated (TCG) unless the host has a hardware KVM module
// (kvm_intel or kvm_amd); one boot takes about 15 to 20 seconds under TCG.
// [Boot] bounds every guest with a deadline and kills QEMU by its PID when
// the deadline passes.
package kernelinit
