// Package session will hold the iSCSI session layer for both roles: on the
// initiator side, sessions of one or more connections that issue SCSI
// commands; on the target side, the handling of accepted connections that
// feeds commands to logical units. Its scope is RFC 7143 §4 to §10: CmdSN
// windows and command ordering (§4.2.2), R2T, Data-In and Data-Out
// sequencing (§4.2.3, §11.7, §11.8), task management (§11.5), NOP
// keep-alive (§11.18, §11.19), logout (§11.14), error recovery (§7) and
// several connections per session.
//
// It stands on packages pdu (the wire), login (negotiation, whose typed
// outcome configures a connection) and scsi (commands and logical units).
// The package has no API yet: it is the next layer to be built.
package session
