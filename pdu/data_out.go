package pdu

// DataOut is a view of the BHS of a SCSI Data-Out PDU (RFC 7143 §11.7),
// which carries write data from the initiator, unsolicited or in answer to
// an R2T.
type DataOut BHS

// BHS returns p as its Basic Header Segment.
func (p *DataOut) BHS() *BHS { return (*BHS)(p) }

// Init zeroes the header and sets the opcode (RFC 7143 §11.7).
func (p *DataOut) Init() {
	*p = DataOut{}
	p[0] = byte(OpSCSIDataOut)
}

// Final returns the F bit: the last PDU of an unsolicited burst or of the
// data an R2T asked for (RFC 7143 §11.7.1).
func (p *DataOut) Final() bool { return p[1]&0x80 != 0 }

// SetFinal sets Final (RFC 7143 §11.7.1).
func (p *DataOut) SetFinal(v bool) { setBit(&p[1], 0x80, v) }

// LUN returns bytes 8-15, the Logical Unit Number when the Target Transfer
// Tag is valid, else reserved (RFC 7143 §11.7.4).
func (p *DataOut) LUN() uint64 { return p.BHS().LUN() }

// SetLUN sets LUN (RFC 7143 §11.7.4).
func (p *DataOut) SetLUN(v uint64) { p.BHS().SetLUN(v) }

// InitiatorTaskTag returns the tag of the command the data belongs to
// (RFC 7143 §11.7).
func (p *DataOut) InitiatorTaskTag() uint32 { return p.BHS().u32(16) }

// SetInitiatorTaskTag sets InitiatorTaskTag (RFC 7143 §11.7).
func (p *DataOut) SetInitiatorTaskTag(v uint32) { p.BHS().setU32(16, v) }

// TargetTransferTag returns the tag of the R2T this data answers, or
// 0xffffffff for unsolicited data (RFC 7143 §11.7.4).
func (p *DataOut) TargetTransferTag() uint32 { return p.BHS().u32(20) }

// SetTargetTransferTag sets TargetTransferTag (RFC 7143 §11.7.4).
func (p *DataOut) SetTargetTransferTag(v uint32) { p.BHS().setU32(20, v) }

// ExpStatSN returns the next expected status sequence number
// (RFC 7143 §11.7).
func (p *DataOut) ExpStatSN() uint32 { return p.BHS().u32(28) }

// SetExpStatSN sets ExpStatSN (RFC 7143 §11.7).
func (p *DataOut) SetExpStatSN(v uint32) { p.BHS().setU32(28, v) }

// DataSN returns the number of this Data-Out PDU within the R2T or
// unsolicited burst, from 0 (RFC 7143 §11.7.5).
func (p *DataOut) DataSN() uint32 { return p.BHS().u32(36) }

// SetDataSN sets DataSN (RFC 7143 §11.7.5).
func (p *DataOut) SetDataSN(v uint32) { p.BHS().setU32(36, v) }

// BufferOffset returns the offset of this data within the command's whole
// data (RFC 7143 §11.7.6).
func (p *DataOut) BufferOffset() uint32 { return p.BHS().u32(40) }

// SetBufferOffset sets BufferOffset (RFC 7143 §11.7.6).
func (p *DataOut) SetBufferOffset(v uint32) { p.BHS().setU32(40, v) }

var dataOutReserved = fields(rsvByte0Target, []field{{1, 0x7f}, {2, 0xff}, {3, 0xff}}, span(24, 28), span(32, 36), span(44, 48))

// Validate checks the opcode and that reserved fields are zero
// (RFC 7143 §11.7).
func (p *DataOut) Validate() error {
	h := p.BHS()
	if err := h.checkHeader(OpSCSIDataOut, dataOutReserved, nil); err != nil {
		return err
	}
	return nil
}
