package scsi

import "encoding/binary"

// Third-party copy descriptor types of the Third-party Copy VPD page
// (SPC-4 §7.8.17.1 table 595).
const (
	TPCSupportedCommands    = 0x0001 // Supported Commands (§7.8.17.4)
	TPCParameterData        = 0x0004 // Parameter Data (§7.8.17.5)
	TPCSupportedDescriptors = 0x0008 // Supported Descriptors (§7.8.17.6)
	TPCSupportedCSCDIDs     = 0x000c // Supported CSCD Descriptor IDs (§7.8.17.7)
	TPCGeneralCopyOps       = 0x8001 // General Copy Operations (§7.8.17.11)
)

// ThirdPartyCopyCommand is one command support descriptor of the
// Supported Commands third-party copy descriptor (SPC-4 §7.8.17.4): an
// operation code and the service actions of it the copy manager supports.
type ThirdPartyCopyCommand struct {
	OpCode         OpCode
	ServiceActions []uint8
}

// ThirdPartyCopy is the Third-party Copy VPD page, 8Fh (SPC-4 §7.8.17) of
// a copy manager that processes EXTENDED COPY(LID1): the Supported
// Commands, Parameter Data, Supported Descriptors, Supported CSCD
// Descriptor IDs and General Copy Operations descriptors, in that order.
// Every descriptor is padded to a multiple of four bytes (§7.8.17.1).
type ThirdPartyCopy struct {
	// Supported Commands (0001h): the third-party copy commands.
	Commands []ThirdPartyCopyCommand

	// Parameter Data (0004h), as RECEIVE COPY RESULTS with OPERATING
	// PARAMETERS reports them (SPC-4 §6.18.4).
	MaxCSCDDescriptorCount    uint16 // MAXIMUM CSCD DESCRIPTOR COUNT
	MaxSegmentDescriptorCount uint16 // MAXIMUM SEGMENT DESCRIPTOR COUNT
	MaxDescriptorListLength   uint32 // MAXIMUM DESCRIPTOR LIST LENGTH
	MaxInlineDataLength       uint32 // MAXIMUM INLINE DATA LENGTH

	// Supported Descriptors (0008h): the segment and CSCD descriptor type
	// codes (SPC-4 §6.4.5 table 129, §6.4.6 table 140).
	Descriptors []uint8
	// Supported CSCD Descriptor IDs (000Ch): the CSCD DESCRIPTOR ID values
	// above 07FFh that the copy manager supports (SPC-4 §6.4.4).
	CSCDIDs []uint16

	// General Copy Operations (8001h).
	TotalConcurrentCopies         uint32 // TOTAL CONCURRENT COPIES
	MaxIdentifiedConcurrentCopies uint32 // MAXIMUM IDENTIFIED CONCURRENT COPIES
	MaxSegmentLength              uint32 // MAXIMUM SEGMENT LENGTH, in bytes
	DataSegmentGranularityLog2    uint8  // DATA SEGMENT GRANULARITY, log2 of bytes
	InlineDataGranularityLog2     uint8  // INLINE DATA GRANULARITY, log2 of bytes
}

// PageCode returns VPDThirdPartyCopy.
func (ThirdPartyCopy) PageCode() uint8 { return VPDThirdPartyCopy }

// appendTPCDescriptor appends a third-party copy descriptor: DESCRIPTOR
// TYPE, DESCRIPTOR LENGTH (the bytes after byte 3) and body, padded with
// zeros to a multiple of four bytes.
func appendTPCDescriptor(dst []byte, typ uint16, body []byte) []byte {
	n := (len(body) + 3) &^ 3
	dst = binary.BigEndian.AppendUint16(dst, typ)
	dst = binary.BigEndian.AppendUint16(dst, uint16(n))
	dst = append(dst, body...)
	return append(dst, make([]byte, n-len(body))...)
}

// AppendBody appends the descriptors. A list longer than its length field
// holds (255 bytes of command support descriptors, 255 descriptor type
// codes, 32767 CSCD IDs) gives a *FormatError.
func (p ThirdPartyCopy) AppendBody(dst []byte) ([]byte, error) {
	cmds := []byte{0}
	for _, c := range p.Commands {
		if len(c.ServiceActions) > 255 {
			return dst, fieldRange("VPD page 0x8f", 6, "SERVICE ACTION LIST LENGTH")
		}
		cmds = append(cmds, byte(c.OpCode), byte(len(c.ServiceActions)))
		cmds = append(cmds, c.ServiceActions...)
	}
	if len(cmds)-1 > 255 {
		return dst, fieldRange("VPD page 0x8f", 4, "COMMANDS SUPPORTED LIST LENGTH")
	}
	cmds[0] = byte(len(cmds) - 1)
	dst = appendTPCDescriptor(dst, TPCSupportedCommands, cmds)

	var pd [28]byte
	binary.BigEndian.PutUint16(pd[4:], p.MaxCSCDDescriptorCount)
	binary.BigEndian.PutUint16(pd[6:], p.MaxSegmentDescriptorCount)
	binary.BigEndian.PutUint32(pd[8:], p.MaxDescriptorListLength)
	binary.BigEndian.PutUint32(pd[12:], p.MaxInlineDataLength)
	dst = appendTPCDescriptor(dst, TPCParameterData, pd[:])

	if len(p.Descriptors) > 255 {
		return dst, fieldRange("VPD page 0x8f", 4, "SUPPORTED DESCRIPTOR LIST LENGTH")
	}
	dst = appendTPCDescriptor(dst, TPCSupportedDescriptors, append([]byte{byte(len(p.Descriptors))}, p.Descriptors...))

	if 2*len(p.CSCDIDs) > 0xffff {
		return dst, fieldRange("VPD page 0x8f", 4, "SUPPORTED CSCD DESCRIPTOR IDS LIST LENGTH")
	}
	ids := binary.BigEndian.AppendUint16(nil, uint16(2*len(p.CSCDIDs)))
	for _, id := range p.CSCDIDs {
		ids = binary.BigEndian.AppendUint16(ids, id)
	}
	dst = appendTPCDescriptor(dst, TPCSupportedCSCDIDs, ids)

	var g [32]byte
	binary.BigEndian.PutUint32(g[0:], p.TotalConcurrentCopies)
	binary.BigEndian.PutUint32(g[4:], p.MaxIdentifiedConcurrentCopies)
	binary.BigEndian.PutUint32(g[8:], p.MaxSegmentLength)
	g[12], g[13] = p.DataSegmentGranularityLog2, p.InlineDataGranularityLog2
	return appendTPCDescriptor(dst, TPCGeneralCopyOps, g[:]), nil
}

// ParseThirdPartyCopy decodes the body of a Third-party Copy VPD page:
// the descriptors of [ThirdPartyCopy] it finds (others are skipped). A
// descriptor or list that runs past its end gives a *FormatError.
func ParseThirdPartyCopy(body []byte) (ThirdPartyCopy, error) {
	var p ThirdPartyCopy
	bad := func(off int, field string) error { return fieldRange("VPD page 0x8f", off, field) }
	for off := 0; off < len(body); {
		if len(body)-off < 4 {
			return p, bad(4+off, "DESCRIPTOR LENGTH")
		}
		typ := binary.BigEndian.Uint16(body[off:])
		n := int(binary.BigEndian.Uint16(body[off+2:]))
		if n > len(body)-off-4 {
			return p, bad(4+off+2, "DESCRIPTOR LENGTH")
		}
		d := body[off+4 : off+4+n]
		switch typ {
		case TPCSupportedCommands:
			if len(d) < 1 || int(d[0]) > len(d)-1 {
				return p, bad(4+off+4, "COMMANDS SUPPORTED LIST LENGTH")
			}
			l := d[1 : 1+int(d[0])]
			for len(l) > 0 {
				if len(l) < 2 || int(l[1]) > len(l)-2 {
					return p, bad(4+off+4, "SERVICE ACTION LIST LENGTH")
				}
				p.Commands = append(p.Commands, ThirdPartyCopyCommand{OpCode: OpCode(l[0]), ServiceActions: append([]uint8(nil), l[2:2+int(l[1])]...)})
				l = l[2+int(l[1]):]
			}
		case TPCParameterData:
			if len(d) < 16 {
				return p, bad(4+off+2, "DESCRIPTOR LENGTH")
			}
			p.MaxCSCDDescriptorCount = binary.BigEndian.Uint16(d[4:])
			p.MaxSegmentDescriptorCount = binary.BigEndian.Uint16(d[6:])
			p.MaxDescriptorListLength = binary.BigEndian.Uint32(d[8:])
			p.MaxInlineDataLength = binary.BigEndian.Uint32(d[12:])
		case TPCSupportedDescriptors:
			if len(d) < 1 || int(d[0]) > len(d)-1 {
				return p, bad(4+off+4, "SUPPORTED DESCRIPTOR LIST LENGTH")
			}
			p.Descriptors = append([]uint8(nil), d[1:1+int(d[0])]...)
		case TPCSupportedCSCDIDs:
			if len(d) < 2 {
				return p, bad(4+off+2, "DESCRIPTOR LENGTH")
			}
			k := int(binary.BigEndian.Uint16(d))
			if k%2 != 0 || k > len(d)-2 {
				return p, bad(4+off+4, "SUPPORTED CSCD DESCRIPTOR IDS LIST LENGTH")
			}
			for i := 0; i < k; i += 2 {
				p.CSCDIDs = append(p.CSCDIDs, binary.BigEndian.Uint16(d[2+i:]))
			}
		case TPCGeneralCopyOps:
			if len(d) < 14 {
				return p, bad(4+off+2, "DESCRIPTOR LENGTH")
			}
			p.TotalConcurrentCopies = binary.BigEndian.Uint32(d[0:])
			p.MaxIdentifiedConcurrentCopies = binary.BigEndian.Uint32(d[4:])
			p.MaxSegmentLength = binary.BigEndian.Uint32(d[8:])
			p.DataSegmentGranularityLog2, p.InlineDataGranularityLog2 = d[12], d[13]
		}
		off += 4 + n
	}
	return p, nil
}
