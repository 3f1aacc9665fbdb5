// Command initiator is an iSCSI initiator on the command line, built on
// package session: SendTargets discovery (RFC 7143 §13.3, Appendix C), a
// listing of targets and their logical units, INQUIRY and READ CAPACITY,
// block reads and writes, a dd between files and logical units, and a load
// generator that prints IOPS and MB/s as libiscsi's iscsi-perf does.
//
//	initiator [global flags] discover PORTAL
//	initiator [global flags] ls URL|PORTAL
//	initiator [global flags] inquiry URL
//	initiator [global flags] readcap URL
//	initiator [global flags] read URL LBA COUNT     > blocks
//	initiator [global flags] write URL LBA          < blocks
//	initiator [global flags] dd -if SRC -of DST [-bs BYTES] [-count BYTES] [-skip BYTES] [-seek BYTES]
//	initiator [global flags] bench URL [-rw read|write|randread|randwrite] [-bs BYTES] [-qd N] [-t DURATION] [-procs N] [-dataloss]
//
// A URL is iscsi://[user[%secret]@]host[:port]/target-name/lun, as
// libiscsi's tools take it; the user and secret are the initiator's CHAP
// credentials (RFC 7143 §12.1.3). A PORTAL is host[:port] or
// iscsi://host[:port]. The global flags are -initiator-name (default: the
// InitiatorName of /etc/iscsi/initiatorname.iscsi, else a generated name
// that is printed on standard error), -target-user and -target-secret for
// mutual CHAP, -header-digest and -data-digest to propose CRC32C (RFC 7143
// §13.1), -erl 1 to propose ErrorRecoveryLevel 1 (§13.20: PDUs lost to
// digest errors asked for again with SNACKs), -max-recv-data-segment-length (RFC 7143 §13.12, default 262144 as
// libiscsi declares), -connections N for a session of N connections (RFC
// 7143 §4.2.1; at most the MaxConnections the target negotiates, §13.2) with
// -connection-policy round-robin|least-loaded, and -timeout, which bounds
// each login and each SCSI command.
//
// The exit status is 0 on success; otherwise one line "initiator: ..." is
// printed on standard error and the status is 1, or 2 for a usage error.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
