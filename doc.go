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
//	examples/target, examples/initiator   reference binaries
//	session                               sessions, connections, sequencing
//	login            scsi, scsi/disk      negotiation and login | SCSI commands and a logical unit
//	pdu                                   the wire: PDUs, framing, digests on the connection
//	iqn              digest               iSCSI names | CRC32C digests
//
// Package [github.com/go-iscsi/iscsi/iqn] parses, builds, validates and
// normalizes iSCSI names (RFC 7143 §4.2.7, RFC 3721, RFC 3722): the iqn.,
// eui. and naa. forms.
//
// Package [github.com/go-iscsi/iscsi/digest] computes the CRC32C header and
// data digests of RFC 7143 §11.1, padding included.
//
// Package [github.com/go-iscsi/iscsi/pdu] encodes and decodes every PDU of
// RFC 7143 §11 as views over the 48-byte Basic Header Segment, and frames
// PDUs on a connection with a Reader and a Writer that allocate nothing per
// PDU.
//
// Package [github.com/go-iscsi/iscsi/login] holds the key=value text codec,
// the negotiation of every RFC 7143 §13 key, the login state machine for
// both roles, CHAP authentication and SendTargets discovery.
//
// Package [github.com/go-iscsi/iscsi/scsi] holds SCSI command descriptor
// blocks, status, sense data, INQUIRY and VPD pages, mode pages and LUN
// encoding (T10 SAM, SPC, SBC). Package
// [github.com/go-iscsi/iscsi/scsi/disk] is a direct-access logical unit
// over a pluggable storage backend; it knows nothing of iSCSI.
//
// Package session (initiator sessions and the target side of connections:
// CmdSN windows, R2T and Data-In/Out sequencing, task management, recovery)
// and the reference target and initiator under examples are built on these.
//
// The fuzz directory holds fuzz targets that cross packages, down to whole
// connections; each package also fuzzes its own parsers.
package iscsi
