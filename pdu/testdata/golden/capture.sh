#!/usr/bin/env bash
# capture.sh: regenerate the golden iSCSI captures under this directory.
#
# Each scenario starts a fresh tgtd (Debian package tgt) on 127.0.0.1, drives
# it with libiscsi's command-line initiators (libiscsi-bin) or, for
# datadigest, with the Go program in datadigest/main.go, and records the
# traffic with dumpcap/tshark (tshark). Nothing leaves the loopback interface.
# Run it as root (tgtd and packet capture need it), with go in PATH for
# datadigest:
#
#	apt-get install -y tgt libiscsi-bin tshark
#	sudo pdu/testdata/golden/capture.sh [scenario ...]
#
# With no argument every scenario is captured; naming scenarios (for example
# "capture.sh datadigest") captures only those and leaves the others' files
# as they are. For a scenario NAME it replaces the captured files of NAME/
# (any .go file there is kept) with:
#
#	capture.pcap      the TCP traffic of the portal (libpcap format)
#	cN.i2t.bin        TCP stream N (tshark's tcp.stream), initiator to target:
#	cN.t2i.bin        the reassembled payload bytes, in order, and the other way
#	pdus.tsv          one line per iSCSI PDU as tshark's iSCSI dissector decoded
#	                  it: "frame=F<TAB>stream=N<TAB>dir=i2t|t2i<TAB>field=value..."
#	                  with tshark's field names (iscsi.opcode, iscsi.cmdsn, ...),
#	                  "lun=" for the LUN field's 8 bytes in hex, bulk data fields
#	                  left out, and a field that occurs twice listed twice
#	scenario.txt      what the scenario ran and the negotiated digests
#
# The .bin files must be the exact byte streams: a retransmitted segment is
# taken once, and the script stops if tshark reports a lost or out-of-order
# segment.
#
# Scenarios (see the functions scenario_* below):
#	discovery  iscsi-ls SendTargets discovery of a portal with two targets
#	session    normal sessions: iscsi-ls -s, iscsi-inq, iscsi-readcapacity16,
#	           iscsi-swp (MODE SELECT), iscsi-test-cu residual and task
#	           management tests (Data-In, SCSI Response with sense data and
#	           residuals, Task Management, Logout)
#	r2t        writes and reads with ImmediateData=No and small
#	           MaxBurstLength and MaxRecvDataSegmentLength: R2T, multi-PDU
#	           Data-Out sequences, Data-In with residuals. (tgtd splits Data-In
#	           only at the initiator's MaxRecvDataSegmentLength, 256 KiB for
#	           libiscsi, so multi-PDU Data-In is left out to keep the files
#	           small.)
#	chap       one-way and mutual CHAP logins (RFC 7143 §12.1.3)
#	digest     HeaderDigest=CRC32C on every connection (libiscsi 1.19 never
#	           offers DataDigest=CRC32C, so data digests stay off)
#	nop        tgtd's NOP-In pings (nop_interval) answered by NOP-Out while
#	           iscsi-test-cu idles after LUN RESET and TARGET WARM RESET
#	           task management requests
#	errors     CmdSN outside the window and an invalid DataSN (iscsi-test-cu)
#	datadigest HeaderDigest=CRC32C and DataDigest=CRC32C, driven by
#	           datadigest/main.go (this module's login, pdu and scsi
#	           packages). Connection 0 is a discovery session offering
#	           CRC32C digests, which tgtd answers None (its discovery
#	           sessions keep the defaults), with Text SendTargets=All: tgtd
#	           takes Text requests only in discovery sessions. Connection 1
#	           is a normal session with both digests: TEST UNIT READY (CHECK
#	           CONDITION, UNIT ATTENTION, then GOOD), INQUIRY, READ
#	           CAPACITY(16), WRITE(10) of 16 KiB as immediate data,
#	           unsolicited Data-Out and R2T-solicited Data-Out, READ(10) of
#	           16 KiB as four Data-In PDUs, a NOP-Out ping whose data needs
#	           padding, and Logout. tshark 4.0 has no digest preference: its
#	           iSCSI dissector takes the digests from the Login Responses of
#	           each connection, so every PDU after login shows them.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
module=$(cd "$here/../../.." && pwd)
all_scenarios=(discovery session r2t chap digest nop errors datadigest)
scenarios=("$@")
[ ${#scenarios[@]} -gt 0 ] || scenarios=("${all_scenarios[@]}")
for s in "${scenarios[@]}"; do
	[[ " ${all_scenarios[*]} " == *" $s "* ]] || { echo "capture.sh: unknown scenario $s (one of: ${all_scenarios[*]})" >&2; exit 1; }
done

for b in tgtd tgtadm iscsi-ls iscsi-inq iscsi-readcapacity16 iscsi-swp iscsi-test-cu dumpcap tshark flock xxd; do
	command -v "$b" >/dev/null || { echo "capture.sh: $b not found (apt-get install -y tgt libiscsi-bin tshark)" >&2; exit 1; }
done
if [[ " ${scenarios[*]} " == *" datadigest "* ]]; then
	command -v go >/dev/null || { echo "capture.sh: go not found (needed for the datadigest scenario)" >&2; exit 1; }
fi
[ "$(id -u)" = 0 ] || { echo "capture.sh: run as root" >&2; exit 1; }

work=$(mktemp -d /tmp/golden.XXXXXX)
export TGT_IPC_SOCKET=$work/socket
tgtd_pid= dumpcap_pid= control= port=

# A control number for tgtd -C, reserved with the same lock files as
# internal/peertest so that the script and running tests never collide.
lockdir=${TMPDIR:-/tmp}/go-iscsi-peertest
mkdir -p "$lockdir"
for n in $(seq 1 30); do
	exec 9>"$lockdir/tgtd-control-$n.lock"
	if flock -n 9; then control=$n; break; fi
	exec 9>&-
done
[ -n "$control" ] || { echo "capture.sh: no free tgtd control number" >&2; exit 1; }

adm() { tgtadm -C "$control" --lld iscsi "$@"; }

# tshark, without its warning about running as root.
ts() { tshark "$@" 2> >(grep -v 'Running as user' >&2); }

stop_tgtd() {
	[ -n "$tgtd_pid" ] || return 0
	local tid
	for tid in $(adm --mode target --op show 2>/dev/null | sed -n 's/^Target \([0-9]*\):.*/\1/p'); do
		adm --mode target --op delete --force --tid "$tid" || true
	done
	tgtadm -C "$control" --op delete --mode system || true
	local i
	for i in $(seq 1 100); do
		kill -0 "$tgtd_pid" 2>/dev/null || break
		sleep 0.1
	done
	if kill -0 "$tgtd_pid" 2>/dev/null; then kill -KILL "$tgtd_pid"; fi
	wait "$tgtd_pid" 2>/dev/null || true
	tgtd_pid=
}

cleanup() {
	[ -z "$dumpcap_pid" ] || { kill -INT "$dumpcap_pid" 2>/dev/null || true; wait "$dumpcap_pid" 2>/dev/null || true; }
	stop_tgtd
	rm -rf "$work"
}
trap cleanup EXIT

# start_tgtd starts a daemon on 127.0.0.1 on a port the kernel picks
# (portal port 0) and sets $port.
start_tgtd() {
	tgtd -f -C "$control" --iscsi portal=127.0.0.1:0 >"$work/tgtd.log" 2>&1 &
	tgtd_pid=$!
	local i out
	for i in $(seq 1 200); do
		if out=$(adm --mode portal --op show 2>/dev/null); then
			port=$(sed -n 's/^Portal: 127\.0\.0\.1:\([0-9]*\),.*/\1/p' <<<"$out")
			[ -n "$port" ] && return 0
		fi
		kill -0 "$tgtd_pid" 2>/dev/null || break
		sleep 0.05
	done
	echo "capture.sh: tgtd did not start:" >&2
	cat "$work/tgtd.log" >&2
	exit 1
}

# new_target TID NAME SIZE: a target with LUN 1 backed by a sparse file of
# SIZE bytes, open to every initiator address.
new_target() {
	adm --mode target --op new --tid "$1" --targetname "$2"
	truncate -s "$3" "$work/lun-$1.img"
	adm --mode logicalunit --op new --tid "$1" --lun 1 --backing-store "$work/lun-$1.img"
	adm --mode target --op bind --tid "$1" --initiator-address ALL
}

# The Linux packet ring hands packets to dumpcap in blocks; a UDP datagram
# with a fresh token to a port nobody listens on marks a point in the
# traffic, and waiting until the token is in the file proves everything
# before it is too. The capture filter keeps the marker datagrams; the
# display filter "tcp" drops them from capture.pcap.
marker_port=9
mark() {
	local token i
	token="golden-marker-$RANDOM$RANDOM$RANDOM"
	for i in $(seq 1 300); do
		if (( i % 20 == 1 )); then
			printf '%s' "$token" >/dev/udp/127.0.0.1/$marker_port || true
		fi
		grep -qa "$token" "$work/raw.pcap" 2>/dev/null && return 0
		sleep 0.05
	done
	echo "capture.sh: capture marker not seen" >&2
	exit 1
}

start_capture() {
	rm -f "$work/raw.pcap"
	dumpcap -q -P -i lo -f "tcp port $port or (udp dst port $marker_port)" -w "$work/raw.pcap" 2>"$work/dumpcap.log" &
	dumpcap_pid=$!
	mark
}

stop_capture() {
	mark
	kill -INT "$dumpcap_pid"
	wait "$dumpcap_pid" || true
	dumpcap_pid=
}

url() { echo "iscsi://$1127.0.0.1:$port/$2/1$3"; }

run() {
	echo "+ $*" >>"$out/scenario.txt"
	"$@" >>"$work/tools.log" 2>&1 || echo "  (exit status $?)" >>"$out/scenario.txt"
}

# stream_bytes FILTER writes the TCP payload of the segments FILTER selects
# from capture.pcap in sequence order, once.
stream_bytes() {
	ts -r "$out/capture.pcap" -o tcp.relative_sequence_numbers:TRUE -Y "($1) && tcp.len > 0" \
		-T fields -e tcp.seq -e tcp.len -e tcp.payload |
		awk -F '\t' '
		NR == 1 { next_seq = $1 }
		$1 > next_seq { printf "capture.sh: gap before sequence number %d\n", $1 > "/dev/stderr"; exit 1 }
		$1 + $2 <= next_seq { retransmitted++; next }
		{ print substr($3, 2 * (next_seq - $1) + 1); next_seq = $1 + $2 }
		END { if (retransmitted) printf "retransmitted segments dropped: %d\n", retransmitted >> "'"$out/scenario.txt"'" }
		' | xxd -r -p
}

# extract writes capture.pcap, the per-stream .bin files and pdus.tsv.
extract() {
	ts -r "$work/raw.pcap" -Y tcp -F pcap -w "$out/capture.pcap"
	local bad
	bad=$(ts -r "$out/capture.pcap" -Y 'tcp.analysis.lost_segment || tcp.analysis.out_of_order || tcp.analysis.ack_lost_segment' | wc -l)
	[ "$bad" = 0 ] || { echo "capture.sh: $bad lost or out-of-order TCP segments in $out/capture.pcap" >&2; exit 1; }

	# The payload of each direction in sequence order. A retransmitted
	# segment (loopback does see them) is dropped, or trimmed to its new
	# bytes; a gap stops the script.
	local s
	for s in $(ts -r "$out/capture.pcap" -T fields -e tcp.stream | sort -un); do
		stream_bytes "tcp.stream == $s && tcp.dstport == $port" >"$out/c$s.i2t.bin"
		stream_bytes "tcp.stream == $s && tcp.srcport == $port" >"$out/c$s.t2i.bin"
	done

	ts -r "$out/capture.pcap" -o "iscsi.target_ports:$port" -o tcp.desegment_tcp_streams:TRUE -T pdml |
		awk -v port="$port" '
		function attr(name,   m) {
			if (match($0, " " name "=\"[^\"]*\"")) {
				m = substr($0, RSTART + length(name) + 3, RLENGTH - length(name) - 4)
				return m
			}
			return ""
		}
		# A PDU row runs from its <proto name="iscsi"> to the next one or the
		# end of the packet: tshark puts some iscsi fields (the flags) in a
		# wrapper after it, and the CDB in a "SCSI CDB" proto of its own.
		/<packet>/ { frame = ""; stream = ""; sport = ""; row = ""; cdb = 0 }
		/<field name="num"/ && frame == "" { frame = attr("show") }
		/<field name="tcp.stream"/ { stream = attr("show") }
		/<field name="tcp.srcport"/ { sport = attr("show") }
		/<proto name="iscsi"/ {
			if (row != "") print row
			dir = (sport == port) ? "t2i" : "i2t"
			row = "frame=" frame "\tstream=" stream "\tdir=" dir
			cdb = 0
			iniscsi = 1
			next
		}
		/<\/proto>/ { iniscsi = 0 }
		/<proto / { cdb = (attr("showname") ~ /^SCSI CDB /) }
		/<\/packet>/ { if (row != "") print row; row = "" }
		row != "" && /<field name="iscsi\./ {
			name = attr("name")
			if (name ~ /^iscsi\.(immediatedata|pingdata|asynceventdata|vendorspecificdata|padding|time|request_frame|response_frame|data_in_frame|data_out_frame|ahs\.unknown_blob)$/) next
			row = row "\t" name "=" attr("show")
		}
		iniscsi && /<field name="" show="LUNs?"/ { row = row "\tlun=" attr("value") }
		row != "" && cdb && /<field name="scsi[_a-z]*\.opcode"/ && attr("size") == "1" { row = row "\tcdb.opcode=" attr("show"); cdb = 0 }
		' >"$out/pdus.tsv"
	{
		echo "header digests (tshark iscsi.headerdigest32 fields): $(grep -c 'iscsi.headerdigest32=' "$out/pdus.tsv" || true)"
		echo "data digests (tshark iscsi.datadigest32 fields): $(grep -c 'iscsi.datadigest32=' "$out/pdus.tsv" || true)"
		echo "opcodes (iscsi.opcode: count):"
		grep -o 'iscsi.opcode=0x[0-9a-f]*' "$out/pdus.tsv" | sort | uniq -c | sed 's/^/ /'
	} >>"$out/scenario.txt"
}

begin() {
	# Written under $work and moved into place when complete, so the
	# committed files are never half-written.
	out=$work/out/$1
	rm -rf "$out"
	mkdir -p "$out"
	: >"$work/tools.log"
	echo "scenario $1 (tgtd $(tgtd -V 2>&1 | head -1), libiscsi-bin $(dpkg-query -W -f '${Version}' libiscsi-bin 2>/dev/null || echo unknown))" >"$out/scenario.txt"
	start_tgtd
}

end() {
	stop_capture
	stop_tgtd
	extract
	local name f
	name=$(basename "$out")
	# A scenario's own program (datadigest/main.go) stays.
	for f in "$here/$name"/*.go; do
		if [ -e "$f" ]; then cp -p "$f" "$out/"; fi
	done
	rm -rf "${here:?}/$name"
	mv "$out" "$here/$name"
	echo "captured $name: $(wc -l <"$here/$name/pdus.tsv") PDUs, $(du -sk "$here/$name" | cut -f1) KiB"
}

scenario_discovery() {
	begin discovery
	new_target 1 iqn.2026-01.org.example.golden:disk1 1M
	new_target 2 iqn.2026-01.org.example.golden:disk2 1M
	start_capture
	run iscsi-ls "iscsi://127.0.0.1:$port"
	end
}

scenario_session() {
	begin session
	new_target 1 iqn.2026-01.org.example.golden:disk 1M
	start_capture
	local u
	u=$(url "" iqn.2026-01.org.example.golden:disk "")
	run iscsi-ls -s "iscsi://127.0.0.1:$port"
	run iscsi-inq "$u"
	run iscsi-inq -e 1 -c 0x80 "$u"
	run iscsi-readcapacity16 "$u"
	run iscsi-swp -s on "$u"
	run iscsi-swp -s off "$u"
	run iscsi-test-cu -d -s -t iSCSI.iSCSIResiduals.Read10Residuals "$u"
	run iscsi-test-cu -d -s -t iSCSI.iSCSITMF "$u"
	end
}

scenario_r2t() {
	begin r2t
	new_target 1 iqn.2026-01.org.example.golden:disk 1M
	adm --mode target --op update --tid 1 --name ImmediateData --value No
	adm --mode target --op update --tid 1 --name InitialR2T --value Yes
	adm --mode target --op update --tid 1 --name MaxRecvDataSegmentLength --value 1024
	adm --mode target --op update --tid 1 --name MaxBurstLength --value 2048
	adm --mode target --op update --tid 1 --name FirstBurstLength --value 1024
	start_capture
	local u
	u=$(url "" iqn.2026-01.org.example.golden:disk "")
	run iscsi-test-cu -d -s -t iSCSI.iSCSIResiduals.Write10Residuals "$u"
	run iscsi-test-cu -d -s -t iSCSI.iSCSIResiduals.Read10Residuals "$u"
	end
}

scenario_chap() {
	begin chap
	new_target 1 iqn.2026-01.org.example.golden:oneway 1M
	new_target 2 iqn.2026-01.org.example.golden:mutual 1M
	adm --mode account --op new --user alice --password alicesecret1
	adm --mode account --op new --user target --password targetsecret
	adm --mode account --op bind --tid 1 --user alice
	adm --mode account --op bind --tid 2 --user alice
	adm --mode account --op bind --tid 2 --user target --outgoing
	start_capture
	run iscsi-inq "$(url "alice%alicesecret1@" iqn.2026-01.org.example.golden:oneway "")"
	run iscsi-inq "$(url "alice%wrongsecret1@" iqn.2026-01.org.example.golden:oneway "")"
	run iscsi-inq "$(url "alice%alicesecret1@" iqn.2026-01.org.example.golden:mutual "?target_user=target&target_password=targetsecret")"
	end
}

scenario_digest() {
	begin digest
	new_target 1 iqn.2026-01.org.example.golden:disk 1M
	adm --mode target --op update --tid 1 --name HeaderDigest --value CRC32C
	adm --mode target --op update --tid 1 --name ImmediateData --value No
	adm --mode target --op update --tid 1 --name MaxRecvDataSegmentLength --value 1024
	start_capture
	local u
	u=$(url "" iqn.2026-01.org.example.golden:disk "?header_digest=crc32c")
	run iscsi-inq "$u"
	run iscsi-readcapacity16 "$u"
	run iscsi-test-cu -d -s -t iSCSI.iSCSIResiduals.Write10Residuals "$u"
	end
}

scenario_nop() {
	begin nop
	new_target 1 iqn.2026-01.org.example.golden:disk 1M
	adm --mode target --op update --tid 1 --name nop_interval --value 1
	adm --mode target --op update --tid 1 --name nop_count --value 5
	start_capture
	# Each test idles three seconds after a LUN or target reset, long
	# enough for tgtd's NOP-In pings.
	local u
	u=$(url "" iqn.2026-01.org.example.golden:disk "")
	run iscsi-test-cu -d -s -t SCSI.Reserve6.LUNReset "$u"
	run iscsi-test-cu -d -s -t SCSI.Reserve6.TargetWarmReset "$u"
	end
}

scenario_errors() {
	begin errors
	new_target 1 iqn.2026-01.org.example.golden:disk 1M
	start_capture
	local u
	u=$(url "" iqn.2026-01.org.example.golden:disk "")
	run iscsi-test-cu -d -s -t iSCSI.iSCSIcmdsn "$u"
	run iscsi-test-cu -d -s -t iSCSI.iSCSIdatasn "$u"
	end
}

scenario_datadigest() {
	begin datadigest
	new_target 1 iqn.2026-01.org.example.golden:disk 1M
	# Both digests required; 4 KiB data segments both ways. A 16 KiB write
	# then goes as 4 KiB of immediate data, 4 KiB of unsolicited Data-Out
	# (FirstBurstLength 8 KiB) and one R2T for the last 8 KiB
	# (MaxBurstLength); the initiator declares 4 KiB too, so a 16 KiB read
	# comes back as four Data-In PDUs.
	adm --mode target --op update --tid 1 --name HeaderDigest --value CRC32C
	adm --mode target --op update --tid 1 --name DataDigest --value CRC32C
	adm --mode target --op update --tid 1 --name MaxRecvDataSegmentLength --value 4096
	adm --mode target --op update --tid 1 --name ImmediateData --value Yes
	adm --mode target --op update --tid 1 --name InitialR2T --value No
	adm --mode target --op update --tid 1 --name FirstBurstLength --value 8192
	adm --mode target --op update --tid 1 --name MaxBurstLength --value 8192
	# Compiled before the capture starts; go run then only runs it.
	(cd "$module" && go build -o /dev/null ./pdu/testdata/golden/datadigest)
	start_capture
	local cmd=(go run ./pdu/testdata/golden/datadigest -addr "127.0.0.1:$port" -target iqn.2026-01.org.example.golden:disk)
	echo "+ ${cmd[*]}" >>"$out/scenario.txt"
	# Unlike the libiscsi tools, the program checks every response: a
	# failure stops the script.
	if ! (cd "$module" && "${cmd[@]}") >"$work/tools.log" 2>&1; then
		echo "capture.sh: datadigest initiator failed:" >&2
		cat "$work/tools.log" "$work/tgtd.log" >&2
		exit 1
	fi
	sed 's/^/  /' "$work/tools.log" >>"$out/scenario.txt"
	end
}

for s in "${scenarios[@]}"; do
	"scenario_$s"
done
