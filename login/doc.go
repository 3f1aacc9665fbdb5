// Package login implements what happens before and beside the data path of
// iSCSI: how two nodes agree on parameters, prove who they are, and find
// targets. Both roles, initiator and target, are served from it.
//
// # Place among the layers
//
// login stands on [github.com/go-iscsi/iscsi/pdu] (Login, Text and Logout
// PDUs, the Reader and Writer that frame them) and
// [github.com/go-iscsi/iscsi/iqn] (iSCSI names), beside package scsi, which
// it does not import. The session layer above it runs the login on each new
// connection, then configures the connection from the typed outcome
// ([SessionParams], [ConnParams]).
//
// # What it implements
//
//   - The key=value text format of RFC 7143 §6.1: [ParseText], [AppendText],
//     the number and binary encodings ([ParseNumber], [ParseRegularBinary],
//     [ParseBinary], [EncodeHex], [EncodeBase64]), text spanning several PDUs with the C bit
//     ([TextAccumulator], [CutSegment]), and typed errors ([*TextError]).
//   - Text mode negotiation, RFC 7143 §6.2: one table row per key of §12.1
//     and §13 ([Key], [LookupKey]) with its scope, when it may be sent, who
//     sends it, its default, range and result function (list, minimum,
//     maximum, AND, OR, declarative), and a [Negotiator] driven by that
//     table, which answers NotUnderstood, Irrelevant or Reject where the RFC
//     prescribes them and reports protocol errors (a key sent in a login
//     stage that does not allow it, a repeated key, a reserved constant
//     proposed, NotUnderstood to a key of RFC 7143, an answer the offer did
//     not allow) and checks the integrity rules of the outcome (§13.14,
//     §13.19, §7.4.1). RFC 7144's iSCSIProtocolLevel is included.
//   - CHAP authentication, RFC 7143 §12.1.3, §9.2.1 and RFC 1994, one-way
//     and mutual, with MD5, SHA-1, SHA-256 and SHA3-256 ([CHAPAlgorithm]),
//     constant-time comparisons, reflection checks, and secrets that never
//     appear in errors, String or logs ([CHAPCredentials]).
//   - The login phase, RFC 7143 §6.3, §11.12 and §11.13, as two state
//     machines that take PDUs and return PDUs, with no I/O inside:
//     [Initiator] and [Target]. They check the stage order and the T, C,
//     CSG and NSG rules and ISID, TSIH, CID, ITT and CmdSN constancy,
//     number StatSN and ExpStatSN (§11.13.4, §11.12.9), and answer every
//     fault with the status of §11.13.5 ([LoginError]). Sessions and
//     connections are admitted through a [SessionRegistry] (session
//     reinstatement, §6.3.5; adding connections); [MemoryRegistry] is a
//     simple one.
//   - Thin drivers over a connection: [Initiate] and [Accept].
//   - Text requests in full feature phase, RFC 7143 §6.4, §11.10, §11.11:
//     [TextResponder] on the target and [TextExchange] on the initiator, with
//     the C bit and Target Transfer Tag continuation.
//   - SendTargets discovery, RFC 7143 §13.3 and Appendix C:
//     [SelectSendTargets], [AppendSendTargets], [ParseSendTargets],
//     [ParseTargetAddress] and the [SendTargets] driver.
//
// # Interoperability
//
// The tests log in to tgtd (no authentication, one-way and mutual CHAP,
// discovery) and let libiscsi's iscsi-ls discover targets from this
// package's target side, with and without CHAP. tgtd implements CHAP_A=5
// (MD5) and computes SHA-1 for the value 7, which the IANA registry gives to
// SHA-256; offer [CHAPMD5] only when talking to it. libiscsi 1.19 sends
// every operational key again in each Login Request of the operational
// stage, which RFC 7143 §6.3 forbids; a target that may answer it with T=0
// sets [TargetConfig.AllowRepeatedKeys]. The tests also replay the golden
// libiscsi–tgtd captures of package pdu through both machines.
package login
