#!/bin/sh
# /init of the guest that logs in with the Linux kernel iSCSI initiator.
# It runs as PID 1 under busybox sh, takes its settings from kinit.*= words
# of the kernel command line, prints "KINIT ..." lines the host parses, and
# always ends with exactly one "KINIT RESULT: PASS|FAIL ..." line and a
# power-off.
export PATH=/sbin:/bin:/usr/sbin:/usr/bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mount -t tmpfs -o size=200m tmpfs /tmp
mount -t tmpfs tmpfs /run
mkdir -p /run/lock/iscsi /var/lib/iscsi /var/lock /mnt

port=3260 iqn= lun=0 user= pass= user_in= pass_in= seed=0 mib=32 fs=1 params=
set -f
for w in $(cat /proc/cmdline); do
	v=${w#*=}
	case "$w" in
	kinit.port=*) port=$v ;;
	kinit.iqn=*) iqn=$v ;;
	kinit.lun=*) lun=$v ;;
	kinit.user=*) user=$v ;;
	kinit.pass=*) pass=$v ;;
	kinit.user_in=*) user_in=$v ;;
	kinit.pass_in=*) pass_in=$v ;;
	kinit.seed=*) seed=$v ;;
	kinit.mib=*) mib=$v ;;
	kinit.fs=*) fs=$v ;;
	kinit.param=*) params="$params $v" ;;
	esac
done

up() { cut -d' ' -f1 /proc/uptime; }
dt() { awk -v a="$1" -v b="$(up)" 'BEGIN { printf "%.2f", b - a }'; }
say() { echo "KINIT: $*"; }
bye() {
	sync
	poweroff -f
	echo o >/proc/sysrq-trigger
	sleep 60
}
fail() {
	dmesg | grep -i -E 'iscsi|scsi|sd[a-z]|ext4|connection' | tail -40 | sed 's/^/KINIT DMESG: /'
	echo "KINIT RESULT: FAIL $*"
	bye
}
# pattern FIRST_LBA COUNT: COUNT 512-byte sectors, each naming the seed and
# its own LBA and padded with dots to 511 bytes and a newline.
pattern() {
	awk -v seed="$seed" -v first="$1" -v n="$2" 'BEGIN {
		pad = "."; while (length(pad) < 511) pad = pad pad
		for (i = 0; i < n; i++) {
			s = sprintf("go-iscsi kernel initiator seed=%s lba=%d ", seed, first + i)
			printf "%s%s\n", s, substr(pad, 1, 511 - length(s))
		}
	}'
}

t0=$(up)
[ -n "$iqn" ] || fail "no kinit.iqn on the kernel command line"
while read -r m; do
	[ -n "$m" ] && insmod "/lib/modules/$m" 2>/dev/null
done </etc/kinit/modules

i=0
while [ ! -e /sys/class/net/eth0 ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
[ -e /sys/class/net/eth0 ] || fail "no eth0"
ip link set lo up
ip link set eth0 up
ip addr add 10.0.2.15/24 dev eth0
ip route add default via 10.0.2.2

set -- -i iqn.2026-11.org.example.go-iscsi:kernel-guest -t "$iqn" -g 1 -a 10.0.2.2 -p "$port"
[ -n "$user" ] && set -- "$@" -u "$user" -w "$pass" -P node.session.auth.authmethod=CHAP
[ -n "$user_in" ] && set -- "$@" -U "$user_in" -W "$pass_in"
for p in $params; do set -- "$@" -P "$p"; done
set +f
tl=$(up)
# iscsistart retries a portal that refuses it without end: bound it.
timeout 60 /sbin/iscsistart "$@" >/tmp/login.log 2>&1
rc=$?
sed 's/^/KINIT ISCSISTART: /' /tmp/login.log
[ $rc -eq 0 ] || fail "login: iscsistart exit status $rc"
echo "KINIT LOGIN: seconds=$(dt "$tl")"

digest() { case "$(cat "$1" 2>/dev/null)" in 1) echo CRC32C ;; 0) echo None ;; *) echo unknown ;; esac; }
for c in /sys/class/iscsi_connection/connection*; do
	[ -e "$c" ] || continue
	echo "KINIT CONN: header_digest=$(digest $c/header_digest) data_digest=$(digest $c/data_digest) max_recv=$(cat $c/max_recv_dlength) max_xmit=$(cat $c/max_xmit_dlength)"
done

dev=
i=0
while [ -z "$dev" ] && [ $i -lt 300 ]; do
	for d in /sys/class/scsi_disk/*:"$lun"; do
		for b in "$d"/device/block/*; do
			[ -b "/dev/${b##*/}" ] && [ "$(cat "$b/size")" != 0 ] && dev=${b##*/}
		done
	done
	[ -n "$dev" ] || { sleep 0.1; i=$((i + 1)); }
done
[ -n "$dev" ] || fail "no disk for LUN $lun within 30s of login"
size=$(($(cat /sys/block/$dev/size) * 512))
say "disk /dev/$dev $size bytes, $(cat /sys/block/$dev/device/vendor) $(cat /sys/block/$dev/device/model)"

# Raw: mib MiB of the pattern into the last whole MiBs of the disk, direct
# I/O both ways, compared in the guest.
bytes=$((mib * 1048576))
[ $size -ge $bytes ] || fail "disk of $size bytes is smaller than ${mib}MiB"
off=$(((size - bytes) / 1048576 * 1048576))
pattern $((off / 512)) $((bytes / 512)) >/tmp/want || fail "pattern"
t=$(up)
dd if=/tmp/want of=/dev/$dev bs=1M seek=$((off / 1048576)) oflag=direct conv=fsync,notrunc 2>/tmp/dd.log ||
	{ cat /tmp/dd.log; fail "raw write"; }
wt=$(dt "$t")
t=$(up)
dd if=/dev/$dev of=/tmp/got bs=1M skip=$((off / 1048576)) count=$mib iflag=direct 2>/tmp/dd.log ||
	{ cat /tmp/dd.log; fail "raw read"; }
rt=$(dt "$t")
cmp /tmp/want /tmp/got || fail "raw read-back differs from what was written"
sum=$(md5sum </tmp/want | cut -d' ' -f1)
rm -f /tmp/got
echo "KINIT RAW: offset=$off bytes=$bytes write_seconds=$wt read_seconds=$rt md5=$sum"

# ext4 below the raw region, so that the host still finds the pattern.
if [ "$fs" = 1 ]; then
	[ $off -ge 16777216 ] || fail "disk too small for ext4 below the raw region"
	/sbin/mke2fs -t ext4 -F -q -E nodiscard,lazy_itable_init=0,lazy_journal_init=0 /dev/$dev $((off / 1024))k \
		>/tmp/mkfs.log 2>&1 || { cat /tmp/mkfs.log; fail "mkfs.ext4"; }
	mount -t ext4 /dev/$dev /mnt || fail "ext4 first mount"
	mkdir /mnt/d
	j=0
	while [ $j -lt 8 ]; do
		pattern $((j * 2048)) 2048 >/mnt/d/f$j || fail "ext4 write f$j"
		j=$((j + 1))
	done
	echo "$seed" >/mnt/d/seed
	(cd /mnt/d && md5sum f* seed) >/tmp/sums
	umount /mnt || fail "ext4 first umount"
	echo 3 >/proc/sys/vm/drop_caches
	mount -t ext4 /dev/$dev /mnt || fail "ext4 remount"
	(cd /mnt/d && md5sum -c /tmp/sums) >/tmp/check 2>&1 || { cat /tmp/check; fail "ext4 files differ after remount"; }
	umount /mnt || fail "ext4 second umount"
	/sbin/e2fsck -fn /dev/$dev >/tmp/fsck.log 2>&1 || { cat /tmp/fsck.log; fail "e2fsck -fn"; }
	dd if=/dev/$dev bs=1M skip=$((off / 1048576)) count=$mib iflag=direct 2>/dev/null | md5sum | grep -q "^$sum" ||
		fail "raw region changed by the ext4 test"
	echo "KINIT EXT4: files=8 bytes=$((8 * 2048 * 512)) fsck=clean"
fi
say "done $(dt "$t0")s after init"
echo "KINIT RESULT: PASS"
bye
