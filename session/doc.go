// Package session is the session layer of iSCSI (RFC 7143 §4 to §11) on
// both sides. On the target side a Server serves the iSCSI targets it is
// given on a net.Listener (Server.Serve) or on single connections
// (Server.ServeConn), carrying SCSI commands to the logical units of each
// target. It tells initiators of events with Asynchronous Messages (RFC
// 7143 §11.9): Server.Shutdown asks each to log out, Server.DropSessions
// announces a drop, and Server.CapacityChanged and Server.SendSCSIEvent
// report SCSI events. On the initiator side Dial logs in to a target and
// returns a Session that carries SCSI commands to it (Session.Execute), and
// Discover asks a portal for its targets.
//
// # Place among the layers
//
// session stands on package pdu (the wire: PDU views, Reader, Writer and
// their typed errors), package login (the login phase, run with
// login.Accept, whose typed outcome configures each connection; the
// SessionRegistry that hands out TSIHs and reinstates sessions; the
// TextResponder of the full feature phase) and packages scsi and scsi/disk
// (CDBs, sense data, LUNs; the LogicalUnit interface is written in scsi's
// logical unit contract, scsi.Request and scsi.Response, and *disk.LU
// implements it). Examples and the reference target stand on it.
//
// # What it implements
//
//   - Sessions and connections (RFC 7143 §4.4): each connection's login
//     through login.Accept with its deadline; session reinstatement (§6.3.5),
//     which ends the old session before the new one starts; discovery
//     sessions (§4.3, §13.21) answering SendTargets (§13.3) with the targets of
//     the Server. Sessions have up to MaxConnections connections
//     (§4.2.1, §13.2; Limits.MaxConnections bounds it): a login with the
//     session's TSIH and a new CID adds one (§6.3.1), one with a CID in use
//     reinstates that connection (§6.3.4), Logout closes one connection or
//     the session (§11.14.1), and the session ends with its last
//     connection.
//   - ErrorRecoveryLevel 0, 1 and 2 (§7.1.4, §7.2, §13.20): at level 1
//     and above a PDU with a header digest
//     error is discarded, skipped by its own lengths (§7.8,
//     pdu.Reader.SetHeaderDigestRecovery), and the connection goes on; a
//     Data-Out or immediate data with a data digest error is rejected
//     with reason Data Digest Error (§7.8) and its range asked for again
//     with a recovery R2T, as is Data-Out missing from a sequence (a gap
//     in DataSN and BufferOffset, or a sequence ended short) when its
//     final PDU arrives; when Data-Out stops coming for half of
//     Limits.DataOutTimeout (the final PDU of a sequence, or an R2T, lost)
//     a NOP-In ping goes out and, on its answer, recovery R2Ts ask for the
//     rest of the open sequences; SNACKs (§11.16) are answered: Data SNACKs with
//     the Data-In first sent, R2T SNACKs with the outstanding R2Ts,
//     Status SNACKs with the responses of those StatSNs, DataACKs (asked
//     for with the A bit on the last Data-In, §11.7.2) release retained
//     Data-In, and R-Data SNACKs (§11.16.3, after the initiator declared a
//     new MaxRecvDataSegmentLength) get the task's unacknowledged Data-In
//     resegmented to the length declared last, DataSN from 0, then a SCSI
//     Response with the status's StatSN and the SNACK Tag (§11.4.4). Each connection retains the Data-In and status PDUs it sent
//     until acknowledged by DataACK or ExpStatSN, within
//     Limits.RetainBytes; Server.Stats counts digest errors, recovery R2Ts
//     and SNACKs.
//   - Connection recovery at ErrorRecoveryLevel 2 (§7.1.4.3, §7.2.2): when
//     a connection fails (its TCP connection ends, a digest or framing
//     error, a NOP-In or Data-Out timeout), is removed by a Logout with
//     reason code 2 (§11.14.1, answered with Time2Wait and Time2Retain,
//     §11.15) or is reinstated by a login with its CID (§6.3.4), its
//     tasks are not aborted: they run on, and wait without connection
//     allegiance for DefaultTime2Wait plus DefaultTime2Retain (§13.15,
//     §13.16; 0 discards them at once), a session whose last connection
//     failed living on as long for a login with its TSIH. TASK REASSIGN
//     (§11.5.1) on a connection of the session takes a task over: a READ
//     gets its Data-In again from the request's ExpDataSN, and every
//     task its status with a StatSN of the new connection; a WRITE still
//     collecting data gets R2Ts for the data not yet received. The status
//     of a task is kept until acknowledged even beyond
//     Limits.RetainBytes (at most Limits.MaxPendingTasks of them per
//     connection), its Data-In not: a READ(6/10/12/16) whose Data-In was
//     not retained reads it again from its logical unit. A task
//     still allegiant to a live connection is answered "Task still
//     allegiant", an unknown one "Task does not exist", and below level 2
//     "Task allegiance reassignment not supported". Server.Stats counts
//     connections recovered and tasks reassigned and discarded.
//   - Command numbering (§4.2.2): the CmdSN window, ExpCmdSN and MaxCmdSN
//     in every response, immediate delivery, requests outside the window
//     ignored; StatSN per connection (§4.2.2.2). A SCSI Command ahead of
//     ExpCmdSN (on another connection than the one the gap's command
//     comes on, or after a lost command at level 1 and above) takes in its
//     data but starts only in CmdSN order, without holding up its
//     connection's reader; it stays unacknowledged, a copy of it is
//     ignored, and it is discarded with its connection (§11.14.1). A gap
//     open longer than Limits.DataOutTimeout ends the connections behind
//     it; on a session of one connection at level 0 a gap ends it at once.
//   - SCSI commands (§11.3, §11.4): immediate data and unsolicited Data-Out
//     under ImmediateData, InitialR2T and FirstBurstLength (§13.10, §13.11,
//     §13.14); R2Ts (§11.8) of at most MaxBurstLength, at most
//     MaxOutstandingR2T at a time; Data-Out checks of DataSN and
//     BufferOffset (§11.7); Data-In in sequences of MaxBurstLength and
//     segments of the initiator's MaxRecvDataSegmentLength, with the status
//     in the last Data-In when there is no sense data (§11.7.3), else a SCSI
//     Response with SenseLength and sense data (§11.4.7); residual overflow and
//     underflow (§11.4.5).
//   - REPORT LUNS for the target's whole LUN map and the answers of SPC-4
//     for a LUN that does not exist (INQUIRY with peripheral qualifier 011b,
//     LOGICAL UNIT NOT SUPPORTED).
//   - Task management (§11.5, §11.6): ABORT TASK, ABORT TASK SET, CLEAR
//     TASK SET, LOGICAL UNIT RESET, TARGET WARM RESET, TARGET COLD RESET;
//     the response follows the end of every task it covers.
//   - NOP-Out answered by NOP-In (§11.18, §11.19) and, with
//     Limits.NOPInInterval, NOP-In pings of the target whose unanswered
//     ones drop the connection; Text Requests (§11.10): SendTargets
//     (§13.3), and the initiator's MaxRecvDataSegmentLength declared anew
//     (§13.12, the one key of §13 allowed in full feature phase), answered
//     with the target's own declaration and bounding the data segments the
//     connection sends after that answer, other keys answered Reject or
//     NotUnderstood (§6.2.1); Logout (§11.14, §11.15), Reject (§11.17) for PDUs in error, the end of
//     a connection on a *pdu.ConnectionError, and ITNexusLoss for every
//     logical unit when a session ends (SAM-5 §6.3.4).
//
// Commands run concurrently on Limits.MaxTasks worker goroutines per
// connection, except those an InlineUnit says complete without waiting (a
// READ or WRITE over memory), which the connection's reader runs itself,
// saving a handoff per command; all are started in CmdSN order and ordered
// by their task attributes (SAM-5 §8.6: an ORDERED task waits for every
// task before it and holds those after it, a HEAD OF QUEUE task starts at
// once); the order spans all the logical units and all the connections of
// the session (RFC 7143 §4.2.2.1), stricter than SAM-5's task set per
// logical unit. One writer goroutine per connection sends every PDU; the
// responses ready together leave in one vectored write, Data-In straight
// from the command's buffer. Tasks and data buffers are pooled: a READ or
// WRITE allocates nothing in the steady state. Limits.BusyPoll (and
// Options.BusyPoll on the initiator side) has a connection's reader spin on
// an empty socket before it sleeps, for lower latency at queue depth 1
// (PERFORMANCE.md).
//
// # The initiator side
//
//   - Login (Dial, Discover) through login.Initiate: AuthMethod None, CHAP
//     and mutual CHAP with the strongest CHAP_A first and a retry offering
//     MD5 alone (§12.1.3), temporary redirections followed (§11.13.5),
//     the login bounded by Options.LoginTimeout; discovery with
//     SendTargets=All (§13.3).
//   - SCSI commands (Session.Execute, ExecuteInto): Data-In placed in the
//     caller's buffer at its BufferOffset with DataSN checked (§11.7);
//     immediate data, unsolicited Data-Out and R2T-driven Data-Out within
//     FirstBurstLength, MaxBurstLength and the target's
//     MaxRecvDataSegmentLength (§11.8, §13); the CmdSN window (§4.2.2.1);
//     a command whose context ends is aborted with ABORT TASK (§11.5.1)
//     and nothing touches its buffers once Execute has returned.
//   - Task management (§11.5, RFC 7144 §4.1): ABORT TASK, ABORT TASK SET,
//     CLEAR TASK SET, LOGICAL UNIT RESET, TARGET WARM RESET, TARGET COLD
//     RESET (which ends the session), and, only when iSCSIProtocolLevel 2
//     was negotiated, QUERY TASK, QUERY TASK SET, I_T NEXUS RESET and
//     QUERY ASYNCHRONOUS EVENT; the commands a completed function ended
//     return a *CommandError.
//   - NOP-Out keep-alive (§11.18) after Options.NOPInterval of silence,
//     with Options.NOPTimeout declaring the connection dead; target pings
//     answered (§11.19).
//   - Asynchronous Messages (§11.9): SCSI events to Options.OnAsyncEvent
//     with their sense data decoded; a requested logout done after the
//     commands in flight, within Parameter3; an announced connection drop
//     recovered after Parameter2; a requested renegotiation answered with
//     a Text Request declaring MaxRecvDataSegmentLength, the only
//     operational key of §13 negotiable in full feature phase; other
//     events logged.
//   - Recovery at ErrorRecoveryLevel 0 (§6.3.5, §7.1.4.3): when the
//     connection fails the session is reinstated — after DefaultTime2Wait,
//     a login with the same ISID and names and TSIH 0, retried with a
//     growing backoff until DefaultTime2Retain has passed, then a
//     *RecoveryError. Options.Recovery decides the unfinished commands:
//     RecoveryFail fails them (outcome unknown), RecoveryRetry issues them
//     again in CmdSN order at most Options.RetryLimit times, RecoveryNone
//     ends the session instead. Commands issued meanwhile wait for the new
//     session; Close and Logout end a recovery. Session.Stats counts
//     reinstatements, retries, failures and NOP timeouts.
//   - Recovery within a connection at ErrorRecoveryLevel 1 (§7.1.4.1,
//     §7.2), proposed with Options.ErrorRecoveryLevel: a Data-In whose data
//     digest fails is dropped and asked for again with a Data/R2T SNACK
//     (§11.16), as are Data-In missing from a DataSN gap or, at the end,
//     from the SCSI Response's ExpDataSN (§11.4.8), and R2Ts missing from
//     an R2TSN gap; the resent data lands at its BufferOffset, and a
//     command completes, and its status is acknowledged in ExpStatSN
//     (§4.2.2.2), only once all its Data-In are in. A StatSN gap, or
//     a response dropped for its data digest, is asked for once with a
//     Status SNACK, ExpStatSN staying at the first response missing; a
//     NOP-In of the target's shows a gap at the end. A Data-In with the A
//     bit is acknowledged with a DataACK SNACK (§11.7.2) once none before
//     it is missing. A Data-Out the target rejects for its data digest
//     leaves its command to the target's recovery R2T, answered like any
//     R2T. A PDU with a header digest error is dropped (at most three in
//     a row) and a NOP-Out ping shows a response lost with it. What a
//     SNACK does not bring back within Options.SNACKTimeout drops the
//     connection, which is recovered as at level 0. Session.Stats counts
//     digest errors, SNACKs and DataACKs.
//   - Connection recovery at ErrorRecoveryLevel 2 (§7.1.4.3, §7.2.2),
//     proposed with Options.ErrorRecoveryLevel: when a connection fails
//     it is taken out of service, and after DefaultTime2Wait its CID is
//     logged in again with the session's ISID and TSIH (connection
//     reinstatement, §6.3.4), retried until DefaultTime2Retain has passed.
//     New commands wait meanwhile. Each command of the failed connection
//     is moved to the new one with a TASK REASSIGN (§11.5.1, ExpDataSN 0:
//     its Data-In all sent again; a WRITE takes the R2TSNs of the
//     target's new R2Ts); one the target does not know, lost with the
//     connection, is issued again with its ITT and CmdSN (§6.2.1), and one
//     the target refuses fails. When no login succeeds the session is
//     recovered as at level 0. With another connection in full feature
//     phase (Options.ConnectionRecovery RecoverOnOtherConnection, the
//     default) the failed connection is instead logged out on it with
//     reason code 2 (§11.14.1), its commands reassigned to it after the
//     response's Time2Wait (§11.15.3), and a new connection logged in in
//     its place. Session.Stats counts the connections recovered, the
//     logouts for recovery and the tasks reassigned.
//   - Retry of lost commands at levels 1 and 2 (§6.2.1): a command at the
//     target's ExpCmdSN for Options.RetryTimeout, still there after a
//     ping on its connection, was not received (its PDU was dropped for a
//     header digest error) and is sent again with its ITT and CmdSN.
//
// Tasks are pooled and reused with their channels: a command allocates
// nothing in the initiator in the steady state except the *Response that
// Execute returns (ExecuteInto reuses the caller's).
//
// # Not implemented
//
// On the initiator side: the retry of a command whose DataOutReader is not
// an io.Seeker (it fails: its data cannot be read twice); R-Data SNACK
// (§11.16.1, type 3: the initiator declares MaxRecvDataSegmentLength again
// only as it was, so it never needs one), bidirectional commands, iSER,
// and renegotiation of any key other than MaxRecvDataSegmentLength.
//
// On the target side: at level 2, reassignment of a task whose Data-In
// was sent while Limits.RetainBytes was full and whose command is not
// READ(6/10/12/16), which alone are read again (any other might change
// state when run twice: a TASK REASSIGN finds no task unless the
// initiator's ExpDataSN shows it has all the Data-In), or whose status was
// sent while the connection already kept Limits.MaxPendingTasks statuses
// without their Data-In (it is not kept either); at level 1, a Data or
// R-Data SNACK for a task whose Data-In was not retained, or an R-Data
// SNACK for one whose response is not sent yet (rejected with reason
// SNACK Reject), and recovery of stopped Data-Out without
// DataPDUInOrder (what is missing is unknown: the command waits until
// Limits.DataOutTimeout ends the connection); at level 0, SNACK is
// rejected and a Data-Out with a data digest error ends the connection.
// Nor are renegotiation in full feature phase of keys other than
// MaxRecvDataSegmentLength, bidirectional commands, or Data-In overflow for
// commands other than READ(6/10/12/16).
package session
