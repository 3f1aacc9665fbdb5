// Package scsi holds the SCSI layer that rides on iSCSI: command descriptor
// blocks (CDBs), status codes, sense data, INQUIRY and vital product data
// pages, READ CAPACITY data, mode pages, REPORT LUNS data, persistent
// reservation data and logical unit number encoding.
//
// # Place among the layers
//
// Package scsi sits beside package login, above pdu, iqn and digest, and
// below session and scsi/disk. Of this module it imports package pdu alone,
// for the one [TaskAttribute] type, whose codes are those of the iSCSI
// ATTR field; it knows nothing else of iSCSI: a transport carries its byte
// forms, and a logical unit (such as package scsi/disk) decodes CDBs with
// it and builds its replies with it.
//
// # The logical unit contract
//
// A transport hands a logical unit a [Request] (the CDB, the [Nexus] it
// came on, the Data-Out and Data-In buffers and the [TaskAttribute]) and
// gets back a [Response] (status, sense data, the length of the Data-In);
// task management reaches it as a [ResetKind]. These types are the whole
// contract: package session serves any logical unit written on them, and
// package scsi/disk is one implementation.
//
// iSCSI carries a LUN as the eight bytes of a BHS field that package pdu
// reads as a uint64: [LUNFromUint64] and [LUN.Uint64] convert, and the
// SCSI status byte of a SCSI Response converts as [Status](b).
//
// # Conventions
//
// Every CDB has a typed value (implementing [CDB]) with an Append method
// that appends its bytes to a caller's slice, and a Parse function that
// checks the length, the operation code, every bit the standard calls
// reserved, and ranges such as LOGICAL BLOCK ADDRESS plus TRANSFER LENGTH
// overflowing 2^64. [ParseReadWrite] decodes the whole READ, WRITE,
// VERIFY and WRITE AND VERIFY family, every length, into one value;
// [ParseCDB] decodes any CDB the package knows. A Parse function's error
// is a *[CDBError] that unwraps to the [Sense] a device server returns
// with CHECK CONDITION status (ILLEGAL REQUEST, INVALID FIELD IN CDB with
// a field pointer at the offending byte and bit, or INVALID COMMAND
// OPERATION CODE), so a logical unit answers a bad CDB with:
//
//	rw, err := scsi.ParseReadWrite(cdb)
//	if err != nil {
//		sense, _ := scsi.SenseOf(err)
//		return scsi.StatusCheckCondition, sense
//	}
//
// [Sense] is itself an error whose text reads like
// "ILLEGAL REQUEST: LOGICAL BLOCK ADDRESS OUT OF RANGE", so device code can
// return a Sense as its error and callers recover the key, additional sense
// code and qualifier with errors.As.
//
// The CONTROL byte (SAM-5 §5.2) is carried as a byte in every CDB value.
// Its NACA bit (bit 2) asks for ACA handling; a device server that does not
// support ACA (NORMACA zero in its INQUIRY data) must reject a CDB whose
// NACA bit is one with INVALID FIELD IN CDB. Parse functions leave that
// choice to the logical unit: [CheckControl] applies it.
//
// Parameter lists a device server receives (the Data-Out of MODE SELECT,
// UNMAP, PERSISTENT RESERVE OUT, EXTENDED COPY, SANITIZE) parse with a
// *[ParameterError] that likewise unwraps to the sense to return (INVALID
// FIELD IN PARAMETER LIST with a field pointer, or PARAMETER LIST LENGTH
// ERROR). Data a device server returns (INQUIRY data, VPD pages, READ
// CAPACITY data, mode pages, REPORT LUNS data, persistent reservation data,
// sense data) has Append builders and Parse functions with the same
// discipline: short or inconsistent data gives a *[FormatError] (errors.Is
// [ErrShortData] or [ErrMalformed]; a value a builder cannot encode,
// [ErrFieldRange]), never a panic. Parsers accept data cut short by an
// allocation length wherever the standard allows it, and parsed views
// alias the caller's buffer rather than copy it.
//
// REPORT SUPPORTED OPERATION CODES data for the commands this package
// decodes comes from [SupportedCommands] and [CDBUsage], whose CDB usage
// bitmaps are checked against the parsers bit by bit.
//
// # Standards
//
// The package follows T10 SAM-5 (status §5.3, LUN formats §4.7), SPC-4 and
// SPC-5 (sense data §4.5, INQUIRY §6.6, VPD pages §7.8, mode parameters
// §7.5, persistent reservations §5.12 and §6.16/§6.17, REPORT LUNS §6.33,
// REPORT SUPPORTED OPERATION CODES §6.35, EXTENDED COPY §6.4, the
// additional sense codes of Annex D) and SBC-3/SBC-4 (the block commands of
// §5, READ CAPACITY data, block limits and provisioning VPD pages, the
// caching mode page). Section and table numbers follow the SPC-4 and SBC-4
// drafts and may be off by a few in other revisions; the command and
// field names are T10's. RFC 7143 §11.3 carries these CDBs and §11.4
// their status and sense data.
package scsi
