package pdu

// DataIn is a view of the BHS of a SCSI Data-In PDU (RFC 7143 §11.7), which
// carries read data from the target and, with the S bit, the command status
// too.
type DataIn BHS

// BHS returns p as its Basic Header Segment.
func (p *DataIn) BHS() *BHS { return (*BHS)(p) }

// Init zeroes the header and sets the opcode (RFC 7143 §11.7).
func (p *DataIn) Init() {
	*p = DataIn{}
	p[0] = byte(OpSCSIDataIn)
}

// Final returns the F bit: the last PDU of the sequence (RFC 7143 §11.7.1).
func (p *DataIn) Final() bool { return p[1]&0x80 != 0 }

// SetFinal sets Final (RFC 7143 §11.7.1).
func (p *DataIn) SetFinal(v bool) { setBit(&p[1], 0x80, v) }

// Acknowledge returns the A bit: the target asks for a DataACK SNACK, at
// ErrorRecoveryLevel 1 or higher (RFC 7143 §11.7.2).
func (p *DataIn) Acknowledge() bool { return p[1]&0x40 != 0 }

// SetAcknowledge sets Acknowledge (RFC 7143 §11.7.2).
func (p *DataIn) SetAcknowledge(v bool) { setBit(&p[1], 0x40, v) }

// ResidualOverflow returns the O bit, valid only with S (RFC 7143 §11.7.3,
// §11.4.1).
func (p *DataIn) ResidualOverflow() bool { return p[1]&0x04 != 0 }

// SetResidualOverflow sets ResidualOverflow (RFC 7143 §11.7.3, §11.4.1).
func (p *DataIn) SetResidualOverflow(v bool) { setBit(&p[1], 0x04, v) }

// ResidualUnderflow returns the U bit, valid only with S (RFC 7143 §11.7.3,
// §11.4.1).
func (p *DataIn) ResidualUnderflow() bool { return p[1]&0x02 != 0 }

// SetResidualUnderflow sets ResidualUnderflow (RFC 7143 §11.7.3, §11.4.1).
func (p *DataIn) SetResidualUnderflow(v bool) { setBit(&p[1], 0x02, v) }

// StatusPresent returns the S bit: the PDU carries the command status, and F
// is 1 (RFC 7143 §11.7.3).
func (p *DataIn) StatusPresent() bool { return p[1]&0x01 != 0 }

// SetStatusPresent sets StatusPresent (RFC 7143 §11.7.3).
func (p *DataIn) SetStatusPresent(v bool) { setBit(&p[1], 0x01, v) }

// Status returns the SCSI status byte when S is 1, else reserved
// (RFC 7143 §11.7.3, §11.4.2).
func (p *DataIn) Status() uint8 { return p[3] }

// SetStatus sets Status (RFC 7143 §11.7.3, §11.4.2).
func (p *DataIn) SetStatus(v uint8) { p[3] = v }

// LUN returns bytes 8-15, the Logical Unit Number when A is 1, else reserved
// (RFC 7143 §11.7.4).
func (p *DataIn) LUN() uint64 { return p.BHS().LUN() }

// SetLUN sets LUN (RFC 7143 §11.7.4).
func (p *DataIn) SetLUN(v uint64) { p.BHS().SetLUN(v) }

// InitiatorTaskTag returns the tag of the command the data belongs to
// (RFC 7143 §11.7).
func (p *DataIn) InitiatorTaskTag() uint32 { return p.BHS().u32(16) }

// SetInitiatorTaskTag sets InitiatorTaskTag (RFC 7143 §11.7).
func (p *DataIn) SetInitiatorTaskTag(v uint32) { p.BHS().setU32(16, v) }

// TargetTransferTag returns a tag for the DataACK when A is 1, else
// 0xffffffff (RFC 7143 §11.7.4).
func (p *DataIn) TargetTransferTag() uint32 { return p.BHS().u32(20) }

// SetTargetTransferTag sets TargetTransferTag (RFC 7143 §11.7.4).
func (p *DataIn) SetTargetTransferTag(v uint32) { p.BHS().setU32(20, v) }

// StatSN returns the status sequence number when S is 1, else reserved
// (RFC 7143 §11.7).
func (p *DataIn) StatSN() uint32 { return p.BHS().u32(24) }

// SetStatSN sets StatSN (RFC 7143 §11.7).
func (p *DataIn) SetStatSN(v uint32) { p.BHS().setU32(24, v) }

// ExpCmdSN returns the next expected CmdSN (RFC 7143 §11.7).
func (p *DataIn) ExpCmdSN() uint32 { return p.BHS().u32(28) }

// SetExpCmdSN sets ExpCmdSN (RFC 7143 §11.7).
func (p *DataIn) SetExpCmdSN(v uint32) { p.BHS().setU32(28, v) }

// MaxCmdSN returns the maximum CmdSN the target accepts (RFC 7143 §11.7).
func (p *DataIn) MaxCmdSN() uint32 { return p.BHS().u32(32) }

// SetMaxCmdSN sets MaxCmdSN (RFC 7143 §11.7).
func (p *DataIn) SetMaxCmdSN(v uint32) { p.BHS().setU32(32, v) }

// DataSN returns the number of this Data-In PDU within the command, from 0
// (RFC 7143 §11.7.5).
func (p *DataIn) DataSN() uint32 { return p.BHS().u32(36) }

// SetDataSN sets DataSN (RFC 7143 §11.7.5).
func (p *DataIn) SetDataSN(v uint32) { p.BHS().setU32(36, v) }

// BufferOffset returns the offset of this data within the command's whole
// data (RFC 7143 §11.7.6).
func (p *DataIn) BufferOffset() uint32 { return p.BHS().u32(40) }

// SetBufferOffset sets BufferOffset (RFC 7143 §11.7.6).
func (p *DataIn) SetBufferOffset(v uint32) { p.BHS().setU32(40, v) }

// ResidualCount returns the residual count when S is 1 and O or U is set
// (RFC 7143 §11.7, §11.4.5).
func (p *DataIn) ResidualCount() uint32 { return p.BHS().u32(44) }

// SetResidualCount sets ResidualCount (RFC 7143 §11.7, §11.4.5).
func (p *DataIn) SetResidualCount(v uint32) { p.BHS().setU32(44, v) }

var dataInReserved = fields(rsvByte0Target, []field{{1, 0x38}, {2, 0xff}})

// Validate checks the opcode, that reserved fields are zero, that S is 1
// only with F (RFC 7143 §11.7.3), and that O and U are not both 1
// (RFC 7143 §11.4.1).
func (p *DataIn) Validate() error {
	h := p.BHS()
	if err := h.checkHeader(OpSCSIDataIn, dataInReserved, nil); err != nil {
		return err
	}
	if h[1]&0x81 == 0x01 {
		return h.invalid(1, uint32(h[1]), "S bit set without F bit")
	}
	if h[1]&0x06 == 0x06 {
		return h.protocolViolation(1, uint32(h[1]), "O and U bits both set")
	}
	return nil
}
