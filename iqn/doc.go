// Package iqn parses, builds, validates, normalizes and compares iSCSI
// names: the iqn., eui. and naa. names that identify every iSCSI initiator
// and target (RFC 7143 §4.2.7, RFC 3721, RFC 3722, RFC 3980).
//
// # Place among the layers
//
// Package iqn sits at the bottom of the module beside package digest and
// imports neither; package login uses it for the InitiatorName and
// TargetName keys, and package session to identify the nexus. It does no
// I/O.
//
// # Names
//
// RFC 7143 §4.2.7.3 defines three types of name, told apart by a type
// designator:
//
//	iqn.2001-04.com.example:storage:diskarrays-sn-a8675309   §4.2.7.4
//	eui.02004567A425678D                                     §4.2.7.5
//	naa.52004567BA64678D                                     §4.2.7.6, RFC 3980
//
// An iqn. name holds the year and month in which the naming authority owned
// its domain, the domain name reversed, and an optional unique part after a
// ':'. An eui. name holds an IEEE EUI-64 and an naa. name a 64- or 128-bit
// T11 NAA identifier, both in hexadecimal. [Parse] reads all three into a
// [Name], a small comparable value; [NewIQN], [FromDomain], [NewEUI],
// [NewNAA64] and [NewNAA128] build them.
//
// # Normalization
//
// iSCSI names may use international characters but no upper case
// (RFC 7143 §4.2.7.1), so input is prepared, and names are compared, in
// the form given by the "iSCSI" stringprep profile of RFC 3722, which
// [Normalize] implements: code points unassigned in Unicode 3.2 are
// rejected, a few invisible characters are removed, letters are case
// folded, the result is put in Unicode normalization form KC, and spaces,
// controls, most ASCII punctuation and other prohibited characters are
// rejected, as are strings that break the bidirectional rules of
// RFC 3454 §6. What is left may be at most 223 bytes long
// (RFC 7143 §4.2.7.2). In ASCII terms, a normalized name holds only
// lower-case letters, digits, '-', '.' and ':'.
//
// [Parse] normalizes, so iqn.2001-04.org.gentoo:iSCSI.test.disk1 and
// iqn.2001-04.org.gentoo:iscsi.test.disk1 parse to the same, equal Name,
// whose String is the second. [ParseStrict] and [IsCanonical] tell whether
// an input was already in normalized form. Because normalization case
// folds the whole name, the hexadecimal digits of eui. and naa. names are
// lower case in normalized form, although RFC 7143 writes them upper case;
// both forms parse to the same Name.
//
// Every name begins with a left-to-right type designator, so under
// RFC 3454 §6 no name can contain a right-to-left (Hebrew, Arabic, ...)
// character: Parse rejects such names with [ErrBidi].
//
// # Errors
//
// Every error is an *[Error] whose Kind is one of the Err sentinels
// ([ErrBadDate], [ErrProhibitedChar], ...), so errors.Is tells what was
// wrong, and whose Offset says where. Bad input never causes a panic; only
// [MustParse], meant for names written in source code, panics on an invalid
// name.
//
// # Choices this package makes
//
// RFC 7143 leaves some rules open; this package decides them as follows.
// An iqn. year must be 1900 or later (no domain is older than 1985). The
// naming authority is one or more non-empty dot-separated labels of
// letters, digits and hyphens, letters and digits of any script allowed; a
// hyphen may begin or end a label. The unique part may be empty, and
// iqn.2001-04.com.example: (with the ':') is a different name from
// iqn.2001-04.com.example. An naa. name's NAA field must match its length
// as T10 SPC-4 §7.8.6.6 defines the field for SCSI device names: 2, 3 or 5
// for 64 bits, 6 for 128 bits.
package iqn
