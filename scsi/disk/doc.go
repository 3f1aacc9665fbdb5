// Package disk is a direct-access block device logical unit (T10 SBC-4
// over SPC-4) served from a pluggable storage [Backend].
//
// # Place among the layers
//
// Package disk sits beside package login and on package
// [github.com/go-iscsi/iscsi/scsi], whose status codes, sense data and
// operation codes it uses. It knows nothing of iSCSI: an [LU] takes a CDB,
// the identity of the I_T nexus it came on ([scsi.Nexus]) and data buffers,
// and returns status, sense data and the length of its Data-In. Package
// session and the reference target put it behind iSCSI; any other
// transport could do the same.
//
// # Executing commands
//
// [LU.Execute] runs one [scsi.Request] and returns a [scsi.Response]:
// the contract between a transport and a logical unit lives in package
// scsi, so that another logical unit implements it without this package.
// Before the Data-Out phase a transport learns from [LU.DataOutLength] how
// many bytes the command wants, and it tells in Request.DataOutBufferSize
// how many the initiator had to send: logical block data of one fixed
// length (WRITE SAME, COMPARE AND WRITE, ...) fails when the two differ.
// READ reads straight into Request.DataIn and WRITE writes straight from
// Request.DataOut: the read and write paths allocate nothing. Sense data is kept as a [scsi.Sense] and appended in fixed
// format, or in descriptor format once an initiator sets D_SENSE in the
// Control mode page ([scsi.Response.AppendSense]).
//
// Task management reaches the logical unit through [LU.Reset] (LOGICAL
// UNIT RESET, target reset) and [LU.ITNexusLoss]; [LU.CapacityChanged]
// reports a resized backend. The logical unit holds no task queue: the
// transport orders commands by task attribute, and aborts the tasks of
// the nexuses that PREEMPT AND ABORT hands to Config.AbortTasks.
//
// The logical unit keeps state for every I_T nexus it has seen (its unit
// attention queue); a transport calls [LU.ITNexusLoss] when a nexus ends
// so that the state does not grow without bound.
//
// # Commands
//
// The dispatch table holds one row per supported operation code and
// service action, with the CDB usage data that REPORT SUPPORTED OPERATION
// CODES returns; the same usage data rejects any CDB bit the logical unit
// does not implement with INVALID FIELD IN CDB and a field pointer, so the
// report never lies. Supported:
//
//   - SPC-4: TEST UNIT READY, REQUEST SENSE, INQUIRY (standard data; VPD
//     pages 00h, 80h, 83h, 8Fh, B0h, B1h, B2h), MODE SENSE(6/10) and MODE
//     SELECT(6/10) (pages 01h, 08h, 0Ah, 1Ch; WCE and D_SENSE changeable),
//     REPORT LUNS, REPORT SUPPORTED OPERATION CODES, EXTENDED COPY(LID1)
//     within the logical unit (block to block segments, with and without
//     byte offsets; §6.4) and RECEIVE
//     COPY RESULTS (COPY STATUS, OPERATING PARAMETERS), PERSISTENT RESERVE
//     IN/OUT (§5.12: all six reservation types, REGISTER, REGISTER AND
//     IGNORE EXISTING KEY, RESERVE, RELEASE, CLEAR, PREEMPT, PREEMPT AND
//     ABORT; READ KEYS, READ RESERVATION, REPORT CAPABILITIES, READ FULL
//     STATUS), PREVENT ALLOW MEDIUM REMOVAL, and the SPC-2
//     RESERVE(6/10)/RELEASE(6/10) with compatible reservation handling.
//   - SBC-4: READ and WRITE (6/10/12/16), VERIFY and WRITE AND VERIFY
//     (10/12/16), WRITE SAME(10/16) with UNMAP and NDOB (WSNZ=0: zero
//     blocks writes through the last LBA), UNMAP, COMPARE AND WRITE,
//     ORWRITE(16), WRITE ATOMIC(16), SYNCHRONIZE CACHE(10/16),
//     PRE-FETCH(10/16), READ CAPACITY(10/16), GET LBA STATUS, START STOP
//     UNIT, SANITIZE (OVERWRITE, BLOCK ERASE, EXIT FAILURE MODE; run in the
//     background, with IMMED answered at once and progress reported in
//     sense data, §4.11), READ DEFECT DATA(10/12).
//
// Any other operation code gets ILLEGAL REQUEST, INVALID COMMAND
// OPERATION CODE.
//
// Unit attention conditions follow SAM-5 §5.14: POWER ON, RESET, OR BUS
// DEVICE RESET OCCURRED on the first command of each new I_T nexus,
// then conditions for resets, mode parameter changes, capacity changes,
// medium changes and reservation events, each queued per nexus. INQUIRY,
// REPORT LUNS and REQUEST SENSE run despite a pending unit attention;
// REQUEST SENSE returns and clears it.
//
// # Backends
//
// A [Backend] is an io.ReaderAt and io.WriterAt with a size. Optional
// interfaces add a volatile cache ([Flusher]), thin provisioning
// ([Deallocator]: UNMAP, WRITE SAME with UNMAP, LBPME and LBPRZ), fast
// zeroing ([ZeroWriter]) and allocation maps for GET LBA STATUS
// ([AllocationMapper]). [NewMemory] is a sparse in-memory backend that
// costs nothing until written; [OpenFile] serves a regular file or block
// device with fdatasync, hole punching and SEEK_DATA/SEEK_HOLE on Linux
// and portable fallbacks elsewhere.
//
// # Concurrency
//
// Execute may be called from many goroutines: reads and writes run in
// parallel; COMPARE AND WRITE, ORWRITE(16), WRITE ATOMIC(16) and a
// sanitize operation exclude every other media access while they run (a
// sanitize operation on a goroutine of its own, which ends by itself when
// the medium is done); unit attention and reservation state
// each have their own lock.
//
// # Standards
//
// T10 SAM-5 (§5.14 unit attention, §6.3 events), SPC-4 r37 (§4.5 sense
// data, §5.12 persistent reservations, §6 commands, §7.5 mode pages, §7.8
// VPD pages), SBC-4 r15 (§4.7 logical block provisioning, §5 commands,
// §6.5 mode pages, §6.6 VPD pages) and SPC-2 §5.5 (RESERVE/RELEASE).
package disk
