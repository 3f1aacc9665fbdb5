package session

import (
	"github.com/go-iscsi/iscsi/scsi"
)

// luns returns the LUNs of the session's target in ascending order.
func (s *session) luns() []scsi.LUN {
	if v := s.currentView(); v != nil {
		return v.sorted
	}
	return nil
}

// checkCondition makes the task end with CHECK CONDITION and sense s.
func (t *task) checkCondition(s scsi.Sense) {
	t.resp.Status = scsi.StatusCheckCondition
	t.resp.Sense = s
	t.resp.DataInLen = 0
}

// senseOf returns the sense data a CDB decoding error carries, or INVALID
// FIELD IN CDB.
func senseOf(err error) scsi.Sense {
	if s, ok := scsi.SenseOf(err); ok {
		return s
	}
	return scsi.InvalidFieldInCDB(0, -1)
}

// putDataIn copies data into the task's Data-In buffer, truncated to the
// allocation length and the buffer (SPC-4 §4.2.5.6), with GOOD status.
func (t *task) putDataIn(data []byte, alloc int) {
	in := bytesOf(t.dataIn)
	n := min(len(data), alloc, len(in))
	copy(in, data[:n])
	t.resp.Status = scsi.StatusGood
	t.resp.DataInLen = n
}

// reportLUNs answers REPORT LUNS (SPC-4 §6.33) for the session's LUN view,
// whichever LUN it is addressed to: SELECT REPORT 00h and 02h list every
// logical unit, 01h the well-known logical units (there are none). An
// ALLOCATION LENGTH below 16 is INVALID FIELD IN CDB. Answered, it clears
// the I_T nexus's pending REPORTED LUNS DATA HAS CHANGED unit attention
// (SAM-5 §5.14).
func (t *task) reportLUNs() {
	c, err := scsi.ParseReportLUNs(t.cdb)
	if err != nil {
		t.checkCondition(senseOf(err))
		return
	}
	if c.AllocationLength < 16 {
		t.checkCondition(scsi.InvalidFieldInCDB(6, -1))
		return
	}
	var luns []scsi.LUN
	switch c.SelectReport {
	case 0x00, 0x02:
		luns = t.c.sess.luns()
	case 0x01:
	default:
		t.checkCondition(scsi.InvalidFieldInCDB(2, -1))
		return
	}
	t.putDataIn(scsi.AppendReportLUNsData(nil, luns), int(min(c.AllocationLength, 1<<30)))
	t.c.sess.inv.inventoryChanged.Store(false)
}

// noLogicalUnit answers a command addressed to a LUN outside the map
// (SPC-4 §4.2.1, §6.6.2, §6.39): standard INQUIRY data with peripheral
// qualifier 011b and device type 1Fh, REQUEST SENSE returning LOGICAL UNIT
// NOT SUPPORTED sense data with GOOD status, and CHECK CONDITION, ILLEGAL
// REQUEST, LOGICAL UNIT NOT SUPPORTED for anything else.
func (t *task) noLogicalUnit() {
	notSupported := scsi.NewSense(scsi.SenseIllegalRequest, scsi.ASCLogicalUnitNotSupported)
	switch scsi.OpCode(t.cdb[0]) {
	case scsi.OpInquiry:
		c, err := scsi.ParseInquiry(t.cdb)
		if err != nil {
			t.checkCondition(senseOf(err))
			return
		}
		if c.EVPD {
			t.checkCondition(notSupported)
			return
		}
		var data [36]byte
		data[0] = 0x3<<5 | 0x1f // PERIPHERAL QUALIFIER 011b, DEVICE TYPE 1Fh
		data[2] = 0x06          // VERSION: SPC-4
		data[3] = 0x02          // RESPONSE DATA FORMAT 2
		data[4] = byte(len(data) - 5)
		copy(data[8:36], "GOISCSI NO LOGICAL UNIT     ")
		t.putDataIn(data[:], int(c.AllocationLength))
	case scsi.OpRequestSense:
		c, err := scsi.ParseRequestSense(t.cdb)
		if err != nil {
			t.checkCondition(senseOf(err))
			return
		}
		t.putDataIn(notSupported.Append(nil, c.Desc), int(c.AllocationLength))
	default:
		t.checkCondition(notSupported)
	}
}
