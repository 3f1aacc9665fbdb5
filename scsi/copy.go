package scsi

import "encoding/binary"

// Service actions of EXTENDED COPY, THIRD-PARTY COPY OUT (SPC-4 §6.3
// table 110, §6.4).
const (
	ExtendedCopyLID1 ServiceAction = 0x00 // EXTENDED COPY(LID1): one-byte list identifiers
	ExtendedCopyLID4 ServiceAction = 0x01 // EXTENDED COPY(LID4): four-byte list identifiers
)

// Service actions of RECEIVE COPY RESULTS, THIRD-PARTY COPY IN (SPC-4
// §6.18 table 150).
const (
	CopyStatusLID1             ServiceAction = 0x00 // RECEIVE COPY STATUS(LID1)
	ReceiveDataLID1            ServiceAction = 0x01 // RECEIVE COPY DATA(LID1)
	OperatingParameters        ServiceAction = 0x03 // RECEIVE COPY OPERATING PARAMETERS
	FailedSegmentDetailsLID1   ServiceAction = 0x04 // RECEIVE COPY FAILURE DETAILS(LID1)
	CopyStatusLID4             ServiceAction = 0x05 // RECEIVE COPY STATUS(LID4)
	ReceiveDataLID4            ServiceAction = 0x06 // RECEIVE COPY DATA(LID4)
	ReceiveRODTokenInformation ServiceAction = 0x07 // RECEIVE ROD TOKEN INFORMATION
	ReportAllRODTokens         ServiceAction = 0x08 // REPORT ALL ROD TOKENS
)

// ExtendedCopy is the EXTENDED COPY(LID1) or (LID4) CDB (SPC-4 §6.4.1
// table 122, §6.5.1): operation code 83h with the service action in byte
// 1. The other THIRD-PARTY COPY OUT service actions (POPULATE TOKEN,
// WRITE USING TOKEN, COPY OPERATION ABORT) are not decoded.
type ExtendedCopy struct {
	ServiceAction       ServiceAction // ExtendedCopyLID1 or ExtendedCopyLID4
	ParameterListLength uint32        // PARAMETER LIST LENGTH
	Control             byte
}

// OperationCode returns OpExtendedCopy.
func (ExtendedCopy) OperationCode() OpCode { return OpExtendedCopy }

// Append appends the 16-byte CDB.
func (c ExtendedCopy) Append(dst []byte) ([]byte, error) {
	if c.ServiceAction != ExtendedCopyLID1 && c.ServiceAction != ExtendedCopyLID4 {
		return dst, cdbErr(OpExtendedCopy, "SERVICE ACTION", 1, 4)
	}
	dst, b := newCDB(dst, OpExtendedCopy, 16)
	b[1] = byte(c.ServiceAction)
	binary.BigEndian.PutUint32(b[10:], c.ParameterListLength)
	b[15] = c.Control
	return dst, nil
}

// ParseExtendedCopy decodes EXTENDED COPY(LID1) or (LID4) (SPC-4 §6.4.1):
// byte 1 bits 7-5, bytes 2-9 and byte 14 are reserved; another service
// action is INVALID FIELD IN CDB at byte 1.
func ParseExtendedCopy(cdb []byte) (ExtendedCopy, error) {
	const op = OpExtendedCopy
	if err := checkCDB(cdb, op); err != nil {
		return ExtendedCopy{}, err
	}
	if err := reserved(cdb, op, 1, 0xe0); err != nil {
		return ExtendedCopy{}, err
	}
	c := ExtendedCopy{ServiceAction: ServiceAction(cdb[1] & 0x1f), ParameterListLength: binary.BigEndian.Uint32(cdb[10:]), Control: cdb[15]}
	if c.ServiceAction != ExtendedCopyLID1 && c.ServiceAction != ExtendedCopyLID4 {
		return ExtendedCopy{}, cdbErr(op, "SERVICE ACTION", 1, 4)
	}
	if err := reservedBytes(cdb, op, 2, 10); err != nil {
		return ExtendedCopy{}, err
	}
	if err := reserved(cdb, op, 14, 0xff); err != nil {
		return ExtendedCopy{}, err
	}
	return c, nil
}

// ReceiveCopyResults is the RECEIVE COPY RESULTS CDB (SPC-4 §6.18 table
// 149; THIRD-PARTY COPY IN in SPC-5): operation code 84h with the service
// action in byte 1.
type ReceiveCopyResults struct {
	ServiceAction ServiceAction // CopyStatusLID1 ... ReportAllRODTokens
	// ListIdentifier is the LIST IDENTIFIER: byte 2 for the LID1 service
	// actions, bytes 2-5 for the LID4 ones and RECEIVE ROD TOKEN
	// INFORMATION; zero for OPERATING PARAMETERS and REPORT ALL ROD
	// TOKENS, which have none.
	ListIdentifier   uint32
	AllocationLength uint32 // ALLOCATION LENGTH
	Control          byte
}

// OperationCode returns OpReceiveCopyResults.
func (ReceiveCopyResults) OperationCode() OpCode { return OpReceiveCopyResults }

// listIDWidth returns the width of the LIST IDENTIFIER for sa: 1, 4, 0 for
// none, or -1 for a service action this package does not know.
func listIDWidth(sa ServiceAction) int {
	switch sa {
	case CopyStatusLID1, ReceiveDataLID1, FailedSegmentDetailsLID1:
		return 1
	case CopyStatusLID4, ReceiveDataLID4, ReceiveRODTokenInformation:
		return 4
	case OperatingParameters, ReportAllRODTokens:
		return 0
	}
	return -1
}

// Append appends the 16-byte CDB.
func (c ReceiveCopyResults) Append(dst []byte) ([]byte, error) {
	const op = OpReceiveCopyResults
	w := listIDWidth(c.ServiceAction)
	switch {
	case w < 0:
		return dst, cdbErr(op, "SERVICE ACTION", 1, 4)
	case w == 0 && c.ListIdentifier != 0, w == 1 && c.ListIdentifier > 0xff:
		return dst, cdbErr(op, "LIST IDENTIFIER", 2, -1)
	}
	dst, b := newCDB(dst, op, 16)
	b[1] = byte(c.ServiceAction)
	if w == 1 {
		b[2] = byte(c.ListIdentifier)
	} else {
		binary.BigEndian.PutUint32(b[2:], c.ListIdentifier)
	}
	binary.BigEndian.PutUint32(b[10:], c.AllocationLength)
	b[15] = c.Control
	return dst, nil
}

// ParseReceiveCopyResults decodes RECEIVE COPY RESULTS (SPC-4 §6.18):
// byte 1 bits 7-5, the bytes of 2-9 that the service action does not use
// for its LIST IDENTIFIER, and byte 14 are reserved; an unknown service
// action is INVALID FIELD IN CDB at byte 1.
func ParseReceiveCopyResults(cdb []byte) (ReceiveCopyResults, error) {
	const op = OpReceiveCopyResults
	if err := checkCDB(cdb, op); err != nil {
		return ReceiveCopyResults{}, err
	}
	if err := reserved(cdb, op, 1, 0xe0); err != nil {
		return ReceiveCopyResults{}, err
	}
	c := ReceiveCopyResults{ServiceAction: ServiceAction(cdb[1] & 0x1f), AllocationLength: binary.BigEndian.Uint32(cdb[10:]), Control: cdb[15]}
	w := listIDWidth(c.ServiceAction)
	if w < 0 {
		return ReceiveCopyResults{}, cdbErr(op, "SERVICE ACTION", 1, 4)
	}
	switch w {
	case 1:
		c.ListIdentifier = uint32(cdb[2])
	case 4:
		c.ListIdentifier = binary.BigEndian.Uint32(cdb[2:])
	}
	if err := reservedBytes(cdb, op, 2+w, 10); err != nil {
		return ReceiveCopyResults{}, err
	}
	if err := reserved(cdb, op, 14, 0xff); err != nil {
		return ReceiveCopyResults{}, err
	}
	return c, nil
}

// ExtendedCopyParameters is the header of an EXTENDED COPY parameter list
// and the three lists it delimits (SPC-4 §6.4.3 table 124 for LID1, 16
// bytes of header; §6.4.2 table 126 for LID4, 48 bytes of header whose
// first 32 bytes, as an SPC-3 copy manager reads them, form one CSCD
// descriptor of the invalid type FFh). The lists alias the parameter data.
type ExtendedCopyParameters struct {
	LID4           bool   // the LID4 format (PARAMETER LIST FORMAT 01h)
	ListIdentifier uint32 // LIST IDENTIFIER: one byte in LID1, four in LID4
	STR            bool   // STR: sequential striped
	ListIDUsage    uint8  // LIST ID USAGE, 2 bits (SPC-4 §6.4.3.2)
	Priority       uint8  // PRIORITY, 3 bits
	GSense         bool   // G_SENSE (LID4): return sense data with GOOD status
	Immed          bool   // IMMED (LID4): return status before the first segment

	CSCDDescriptors    []byte // the CSCD (target) descriptor list
	SegmentDescriptors []byte // the segment descriptor list
	InlineData         []byte // the inline data
}

// extendedCopyHeaderLen is the header length of each format.
const (
	extendedCopyLID1HeaderLen = 16
	extendedCopyLID4HeaderLen = 48
)

// ParseExtendedCopyParameters decodes an EXTENDED COPY parameter list
// header; sa says which format the CDB named. A list shorter than its
// header, or whose list lengths overrun it, is PARAMETER LIST LENGTH ERROR
// (SPC-4 §6.4.3.5); in LID4 a PARAMETER LIST FORMAT other than 01h, a
// HEADER CSCD DESCRIPTOR LIST LENGTH other than 0020h or a HEADER CSCD
// DESCRIPTOR TYPE CODE other than FFh is INVALID FIELD IN PARAMETER LIST.
// Byte 1 bits 7-6 are reserved in both formats. The descriptors themselves
// are left to the copy manager. Errors are *ParameterError.
func ParseExtendedCopyParameters(sa ServiceAction, b []byte) (ExtendedCopyParameters, error) {
	const op = OpExtendedCopy
	var p ExtendedCopyParameters
	hdr := extendedCopyLID1HeaderLen
	if sa == ExtendedCopyLID4 {
		hdr = extendedCopyLID4HeaderLen
	}
	if len(b) < hdr {
		return p, paramLenErr(op, "PARAMETER LIST LENGTH")
	}
	if v := b[1] & 0xc0; v != 0 {
		return p, paramErr(op, "reserved", 1, bitOf(v))
	}
	p.STR, p.ListIDUsage, p.Priority = b[1]&0x20 != 0, b[1]>>3&3, b[1]&7
	var cscd, seg, inline uint64
	if sa == ExtendedCopyLID4 {
		switch {
		case b[0] != 0x01:
			return p, paramErr(op, "PARAMETER LIST FORMAT", 0, -1)
		case binary.BigEndian.Uint16(b[2:]) != 0x20:
			return p, paramErr(op, "HEADER CSCD DESCRIPTOR LIST LENGTH", 2, -1)
		case b[16] != 0xff:
			return p, paramErr(op, "HEADER CSCD DESCRIPTOR TYPE CODE", 16, -1)
		}
		p.LID4 = true
		p.GSense, p.Immed = b[15]&0x02 != 0, b[15]&0x01 != 0
		p.ListIdentifier = binary.BigEndian.Uint32(b[20:])
		cscd = uint64(binary.BigEndian.Uint16(b[42:]))
		seg = uint64(binary.BigEndian.Uint16(b[44:]))
		inline = uint64(binary.BigEndian.Uint16(b[46:]))
	} else {
		p.ListIdentifier = uint32(b[0])
		cscd = uint64(binary.BigEndian.Uint16(b[2:]))
		seg = uint64(binary.BigEndian.Uint32(b[8:]))
		inline = uint64(binary.BigEndian.Uint32(b[12:]))
	}
	if uint64(hdr)+cscd+seg+inline > uint64(len(b)) {
		return p, paramLenErr(op, "PARAMETER LIST LENGTH")
	}
	i, j, k := hdr+int(cscd), hdr+int(cscd+seg), hdr+int(cscd+seg+inline)
	p.CSCDDescriptors, p.SegmentDescriptors, p.InlineData = b[hdr:i], b[i:j], b[j:k]
	return p, nil
}

// Append appends the parameter list: the header of the format LID4
// selects, then the three lists.
func (p ExtendedCopyParameters) Append(dst []byte) ([]byte, error) {
	const op = OpExtendedCopy
	switch {
	case p.ListIDUsage > 3:
		return dst, paramErr(op, "LIST ID USAGE", 1, 4)
	case p.Priority > 7:
		return dst, paramErr(op, "PRIORITY", 1, 2)
	case !p.LID4 && p.ListIdentifier > 0xff:
		return dst, paramErr(op, "LIST IDENTIFIER", 0, -1)
	case len(p.CSCDDescriptors) > 0xffff:
		return dst, paramErr(op, "CSCD DESCRIPTOR LIST LENGTH", 2, -1)
	case p.LID4 && (len(p.SegmentDescriptors) > 0xffff || len(p.InlineData) > 0xffff):
		return dst, paramErr(op, "SEGMENT DESCRIPTOR LIST LENGTH", 44, -1)
	case !p.LID4 && (p.GSense || p.Immed):
		return dst, paramErr(op, "G_SENSE", 1, -1)
	}
	b1 := flag(p.STR, 0x20) | p.ListIDUsage<<3 | p.Priority
	if p.LID4 {
		i := len(dst)
		dst = append(dst, make([]byte, extendedCopyLID4HeaderLen)...)
		h := dst[i:]
		h[0], h[1], h[3] = 0x01, b1, 0x20
		h[15] = flag(p.GSense, 0x02) | flag(p.Immed, 0x01)
		h[16] = 0xff
		binary.BigEndian.PutUint32(h[20:], p.ListIdentifier)
		binary.BigEndian.PutUint16(h[42:], uint16(len(p.CSCDDescriptors)))
		binary.BigEndian.PutUint16(h[44:], uint16(len(p.SegmentDescriptors)))
		binary.BigEndian.PutUint16(h[46:], uint16(len(p.InlineData)))
	} else {
		dst = append(dst, byte(p.ListIdentifier), b1)
		dst = binary.BigEndian.AppendUint16(dst, uint16(len(p.CSCDDescriptors)))
		dst = append(dst, 0, 0, 0, 0)
		dst = binary.BigEndian.AppendUint32(dst, uint32(len(p.SegmentDescriptors)))
		dst = binary.BigEndian.AppendUint32(dst, uint32(len(p.InlineData)))
	}
	dst = append(dst, p.CSCDDescriptors...)
	dst = append(dst, p.SegmentDescriptors...)
	return append(dst, p.InlineData...), nil
}
