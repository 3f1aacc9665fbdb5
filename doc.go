// Package iscsi is the root of a library of iSCSI protocol primitives:
// the pieces from which iSCSI targets and initiators are built, each in a
// small package of its own. This package holds no code; it documents how
// the others fit together.
//
// # Layers
//
// Packages form layers, and a package imports only packages of the layers
// below it:
//
//	examples/...                          reference binaries
//	session                               sessions, connections, sequencing
//	login            scsi/disk            negotiation and login | a logical unit
//	                 scsi                 SCSI commands and the logical unit contract
//	pdu                                   the wire: PDUs, framing, digests on the connection
//	iqn              digest               iSCSI names | CRC32C digests
//
// Package [github.com/go-iscsi/iscsi/iqn] parses, builds, validates and
// normalizes iSCSI names (RFC 7143 §4.2.7, RFC 3721, RFC 3722): the iqn.,
// eui. and naa. forms.
//
// Package [github.com/go-iscsi/iscsi/digest] computes the CRC32C header and
// data digests of RFC 7143 §11.2.3 and §13.1, the padding of §11.1
// included.
//
// Package [github.com/go-iscsi/iscsi/pdu] encodes and decodes every PDU of
// RFC 7143 §11 as views over the 48-byte Basic Header Segment, and frames
// PDUs on a connection with a Reader and a Writer that allocate nothing per
// PDU. Its [github.com/go-iscsi/iscsi/pdu.PaddedLength] is the module's
// padding rule (§11.1).
//
// Package [github.com/go-iscsi/iscsi/login] holds the key=value text codec,
// the negotiation of every RFC 7143 §13 key, the login state machine for
// both roles, CHAP authentication and SendTargets discovery.
//
// Package [github.com/go-iscsi/iscsi/scsi] holds SCSI command descriptor
// blocks, status, sense data, INQUIRY and VPD pages, mode pages and LUN
// encoding (T10 SAM, SPC, SBC), and the contract between a transport and a
// logical unit: [github.com/go-iscsi/iscsi/scsi.Request],
// [github.com/go-iscsi/iscsi/scsi.Response], the I_T nexus and the task
// attribute, whose one type is package pdu's (scsi imports pdu for it
// alone). Package [github.com/go-iscsi/iscsi/scsi/disk] is a direct-access
// logical unit on that contract, over a pluggable storage backend; it
// knows nothing of iSCSI, and any logical unit written on the contract
// serves as well.
//
// Package session (initiator sessions and the target side of connections:
// CmdSN windows, R2T and Data-In/Out sequencing, task management, recovery)
// and the programs under examples are built on these: the reference target
// and initiator, iscsi-name (names checked with package iqn) and bench (the
// reference target measured beside C targets).
//
// The fuzz directory holds fuzz targets that cross packages, down to whole
// connections; each package also fuzzes its own parsers.
package iscsi
