// Package peertest runs real iSCSI peers on the loopback interface for
// interoperability tests: the Linux SCSI target daemon tgtd (driven with
// tgtadm), the libiscsi command-line initiators (iscsi-ls, iscsi-inq,
// iscsi-readcapacity16, iscsi-perf, iscsi-test-cu, iscsi-swp), and tshark
// to record what crossed the wire.
//
// It is a normal (non-test) package so that the tests of any package in the
// module can import it; it sits beside the protocol layers and none of them
// imports it outside tests.
//
// # Peers
//
// The peers are the Debian packages tgt, libiscsi-bin and tshark:
//
//	apt-get install -y tgt libiscsi-bin tshark
//
// tgtd must run as root. Every daemon started here listens on 127.0.0.1 only,
// on a port the kernel chooses (portal 127.0.0.1:0), and keeps its management
// socket in a private directory (TGT_IPC_SOCKET), under a control number
// reserved with flock(2) among all processes that use this package, so
// packages whose tests run at the same time under `go test ./...` never see
// each other's daemons. tgtd ignores SIGTERM; [StartTGTD] therefore registers
// a cleanup that deletes every target, then the system, and kills the
// daemon's own PID only if it lingers.
//
// # Running the interop tests
//
// A test calls [Require] with the binaries it needs. When one is missing the
// test is skipped with a message naming the package to install, unless the
// environment has CI=true, in which case it fails: CI installs the peers, so a
// missing peer there is a broken build, not a reason to skip.
//
//	go test ./...                  # skips peer tests if the peers are absent
//	CI=true go test -race ./...    # as CI runs it: peers are mandatory
//
// A typical test:
//
//	func TestInquiry(t *testing.T) {
//		peertest.Require(t, "tgtd", "tgtadm", "iscsi-inq")
//		d := peertest.StartTGTD(t, peertest.Target{Name: "iqn.2026-01.test:disk"})
//		out, err := peertest.LibiscsiTool(t, context.Background(), "iscsi-inq",
//			d.URL("iqn.2026-01.test:disk", 1).String())
//		...
//	}
//
// [Capture] records the traffic of one port with tshark into a pcap, which is
// how the golden streams under pdu/testdata/golden were made (see
// pdu/testdata/golden/capture.sh).
//
// # Facts about the peers that the tests rely on
//
//   - tgtd reports Vendor "IET", Product "VIRTUAL-DISK" in standard INQUIRY
//     data, and always exposes LUN 0 as a storage array controller next to the
//     configured LUNs.
//   - tgtd's CHAP accounts belong to the daemon and are bound to targets;
//     an incoming account is one-way CHAP, an outgoing account makes it
//     mutual (RFC 7143 §12.1.3).
//   - libiscsi 1.19 proposes HeaderDigest=None,CRC32C by default and
//     HeaderDigest=CRC32C with the URL argument header_digest=crc32c; it
//     always offers DataDigest=None, so data digests are never negotiated
//     with it.
//   - libiscsi takes CHAP credentials from the URL (user%password@host) or
//     from LIBISCSI_CHAP_USERNAME / LIBISCSI_CHAP_PASSWORD, and the mutual
//     CHAP secret from the URL arguments target_user and target_password.
package peertest
