package pdu

import (
	"strconv"
)

// AsyncEvent is the AsyncEvent code of an Asynchronous Message
// (RFC 7143 §11.9.1).
type AsyncEvent uint8

// Asynchronous events, RFC 7143 §11.9.1. The RFC defines codes 0-5 (5,
// Task Termination, only on sessions that negotiated TaskReporting=FastAbort,
// §13.23, has no constant here), gives 248-255 to vendor-specific events and
// leaves all others unassigned.
const (
	// AsyncSCSIEvent: a SCSI asynchronous event; the data segment holds
	// sense data.
	AsyncSCSIEvent AsyncEvent = 0
	// AsyncLogoutRequested: the target asks for a logout; Parameter3 is
	// the time to do it in, in seconds.
	AsyncLogoutRequested AsyncEvent = 1
	// AsyncConnectionDropped: the target will drop the connection
	// Parameter1 names (CID), after Parameter2 (Time2Wait) and keeping
	// state for Parameter3 (Time2Retain) seconds.
	AsyncConnectionDropped AsyncEvent = 2
	// AsyncAllConnectionsDropped: the target will drop all connections of
	// the session.
	AsyncAllConnectionsDropped AsyncEvent = 3
	// AsyncNegotiationRequested: the target asks for parameter
	// negotiation; Parameter3 is the time to start it in.
	AsyncNegotiationRequested AsyncEvent = 4
	// AsyncTaskTermination: all active tasks of the logical unit named by
	// the LUN field are being terminated.
	AsyncTaskTermination AsyncEvent = 5
	// AsyncVendorSpecific: a vendor-specific event; AsyncVCode says which.
	// RFC 7143 §11.9.1 gives all of 248-255 to vendors (see
	// AsyncEvent.VendorSpecific); this is 255, the value RFC 3720 used.
	AsyncVendorSpecific AsyncEvent = 255
)

// VendorSpecific reports whether e is in the range 248-255 that RFC 7143
// §11.9.1 reserves for vendor-specific iSCSI events.
func (e AsyncEvent) VendorSpecific() bool { return e >= 248 }

// String describes the event as RFC 7143 §11.9.1 does.
func (e AsyncEvent) String() string {
	switch e {
	case AsyncSCSIEvent:
		return "SCSI asynchronous event"
	case AsyncLogoutRequested:
		return "target requests logout"
	case AsyncConnectionDropped:
		return "target will drop the connection"
	case AsyncAllConnectionsDropped:
		return "target will drop all connections"
	case AsyncNegotiationRequested:
		return "target requests parameter negotiation"
	case AsyncTaskTermination:
		return "task termination"
	}
	if e.VendorSpecific() {
		return "vendor-specific iSCSI event"
	}
	return "AsyncEvent(" + strconv.Itoa(int(e)) + ")"
}

// AsyncMessage is a view of the BHS of an Asynchronous Message PDU
// (RFC 7143 §11.9), by which the target reports an event.
type AsyncMessage BHS

// BHS returns p as its Basic Header Segment.
func (p *AsyncMessage) BHS() *BHS { return (*BHS)(p) }

// Init zeroes the header and sets the opcode, the bit fixed at 1 and the
// Initiator Task Tag field to 0xffffffff (RFC 7143 §11.9).
func (p *AsyncMessage) Init() {
	*p = AsyncMessage{}
	p[0] = byte(OpAsyncMessage)
	p[1] = 0x80
	p.BHS().setU32(16, ReservedTag)
}

// LUN returns bytes 8-15, the Logical Unit Number for a SCSI asynchronous
// event, else reserved (RFC 7143 §11.9.3).
func (p *AsyncMessage) LUN() uint64 { return p.BHS().LUN() }

// SetLUN sets LUN (RFC 7143 §11.9.3).
func (p *AsyncMessage) SetLUN(v uint64) { p.BHS().SetLUN(v) }

// StatSN returns the status sequence number (RFC 7143 §11.9).
func (p *AsyncMessage) StatSN() uint32 { return p.BHS().u32(24) }

// SetStatSN sets StatSN (RFC 7143 §11.9).
func (p *AsyncMessage) SetStatSN(v uint32) { p.BHS().setU32(24, v) }

// ExpCmdSN returns the next expected CmdSN (RFC 7143 §11.9).
func (p *AsyncMessage) ExpCmdSN() uint32 { return p.BHS().u32(28) }

// SetExpCmdSN sets ExpCmdSN (RFC 7143 §11.9).
func (p *AsyncMessage) SetExpCmdSN(v uint32) { p.BHS().setU32(28, v) }

// MaxCmdSN returns the maximum CmdSN the target accepts (RFC 7143 §11.9).
func (p *AsyncMessage) MaxCmdSN() uint32 { return p.BHS().u32(32) }

// SetMaxCmdSN sets MaxCmdSN (RFC 7143 §11.9).
func (p *AsyncMessage) SetMaxCmdSN(v uint32) { p.BHS().setU32(32, v) }

// AsyncEvent returns the event code (RFC 7143 §11.9.1).
func (p *AsyncMessage) AsyncEvent() AsyncEvent { return AsyncEvent(p[36]) }

// SetAsyncEvent sets AsyncEvent (RFC 7143 §11.9.1).
func (p *AsyncMessage) SetAsyncEvent(v AsyncEvent) { p[36] = byte(v) }

// AsyncVCode returns the vendor-specific detail of a vendor-specific event
// (RFC 7143 §11.9.2).
func (p *AsyncMessage) AsyncVCode() uint8 { return p[37] }

// SetAsyncVCode sets AsyncVCode (RFC 7143 §11.9.2).
func (p *AsyncMessage) SetAsyncVCode(v uint8) { p[37] = v }

// Parameter1 returns the first event parameter (RFC 7143 §11.9.1).
func (p *AsyncMessage) Parameter1() uint16 { return p.BHS().u16(38) }

// SetParameter1 sets Parameter1 (RFC 7143 §11.9.1).
func (p *AsyncMessage) SetParameter1(v uint16) { p.BHS().setU16(38, v) }

// Parameter2 returns the second event parameter (RFC 7143 §11.9.1).
func (p *AsyncMessage) Parameter2() uint16 { return p.BHS().u16(40) }

// SetParameter2 sets Parameter2 (RFC 7143 §11.9.1).
func (p *AsyncMessage) SetParameter2(v uint16) { p.BHS().setU16(40, v) }

// Parameter3 returns the third event parameter (RFC 7143 §11.9.1).
func (p *AsyncMessage) Parameter3() uint16 { return p.BHS().u16(42) }

// SetParameter3 sets Parameter3 (RFC 7143 §11.9.1).
func (p *AsyncMessage) SetParameter3(v uint16) { p.BHS().setU16(42, v) }

var asyncMessageReserved = fields(rsvByte0Target, []field{{1, 0x7f}, {2, 0xff}, {3, 0xff}}, span(20, 24), span(44, 48))

// Validate checks the opcode, the fixed bit, that reserved fields are zero,
// and that the Initiator Task Tag field is 0xffffffff (RFC 7143 §11.9).
func (p *AsyncMessage) Validate() error {
	h := p.BHS()
	if err := h.checkHeader(OpAsyncMessage, asyncMessageReserved, oneFinal); err != nil {
		return err
	}
	if v := h.u32(16); v != ReservedTag {
		return h.invalid(16, v, "Initiator Task Tag field is not 0xffffffff")
	}
	return nil
}
