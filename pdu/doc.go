// Package pdu is the wire layer of iSCSI: every PDU of RFC 7143 §11 as a
// view over its 48-byte Basic Header Segment, and a [Reader] and [Writer]
// that frame PDUs on a connection, digests included.
//
// # Place among the layers
//
// pdu stands on package digest (CRC32C, RFC 7143 §13.1) and under login,
// scsi's transport users and session. It knows the layout of each PDU and
// the framing rules; it knows nothing of negotiation, sequencing or SCSI
// semantics. SCSI status bytes are plain uint8 here.
//
// # Headers as views
//
// A [BHS] is the raw 48 bytes of RFC 7143 §11.2.1. Each PDU type is a type
// with the same underlying array ([LoginRequest], [SCSICommand], [DataIn],
// ...), so a *BHS converts to the view of its opcode for free:
//
//	switch h.Opcode() {
//	case pdu.OpSCSIDataIn:
//		din := h.DataIn() // or (*pdu.DataIn)(h)
//		offset := din.BufferOffset()
//		...
//	}
//
// Views have a getter and a setter for every field, named in the RFC's
// words, Init to start a header of that type, and Validate to check the
// fields RFC 7143 §11 reserves and the combinations it forbids.
//
// # Framing
//
// A PDU on the wire (RFC 7143 §11.1, §11.2) is the BHS, TotalAHSLength*4
// bytes of Additional Header Segments, an optional header digest, the data
// segment padded to a multiple of 4 bytes, and an optional data digest.
// [Reader.Read] returns each as a [PDU] whose slices alias the Reader's
// buffer until the next read; [Reader.ReadHeader] and [Reader.ReadData]
// land a data segment straight into a caller's buffer. [Writer.Write]
// sends a PDU in one vectored write without copying the data segment.
// [Decode] and [PDU.AppendTo] do the same on byte slices. None of these
// allocates per PDU.
//
// # Errors
//
// RFC 7143 §7 distinguishes errors confined to a PDU from errors that
// break the connection, and so do the error types here: a
// [*ProtocolError] carries the Reject reason a target answers with
// (RFC 7143 §11.17.1), the offending header, and whether it is a format
// error (RFC 7143 §7.7); a [*ConnectionError] (header digest error,
// RFC 7143 §7.8; a stream cut inside a PDU; an oversized data segment,
// RFC 7143 §13.12) means the connection must be closed. At
// ErrorRecoveryLevel 1 a Reader can skip a PDU whose header digest failed
// instead ([Reader.SetHeaderDigestRecovery]) and report it with a
// [*HeaderDigestError] (RFC 7143 §7.8, §7.1.4.1). Details are in
// [*ReservedFieldError], [*FieldError], [*OpcodeError], [*DigestError],
// [*SegmentTooLongError] and [*AHSError], each matching a sentinel such
// as [ErrReservedField] with errors.Is.
//
// # Sections implemented
//
// RFC 7143 §11.1 (padding), §11.2 (BHS, AHS, digests), §11.3-§11.19 (every PDU),
// the codes of §11.4.3, §11.5.1, §11.6.1, §11.9.1, §11.12.5, §11.13.5,
// §11.14.1, §11.15.1, §11.16.1 and §11.17.1; the task management
// functions and response RFC 7144 adds; serial number arithmetic of
// RFC 7143 §4.2.2.1.
package pdu
