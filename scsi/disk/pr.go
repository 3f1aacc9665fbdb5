package disk

import (
	"encoding/binary"
	"sync"

	"github.com/go-iscsi/iscsi/scsi"
)

// Persistent reservation types (SPC-4 §6.17.2 table 173).
const (
	prWriteExclusive                 = 0x1
	prExclusiveAccess                = 0x3
	prWriteExclusiveRegistrantsOnly  = 0x5
	prExclusiveAccessRegistrantsOnly = 0x6
	prWriteExclusiveAllRegistrants   = 0x7
	prExclusiveAccessAllRegistrants  = 0x8
)

// PERSISTENT RESERVE OUT service actions (SPC-4 §6.17.2 table 171).
const (
	proRegister                  = 0x00
	proReserve                   = 0x01
	proRelease                   = 0x02
	proClear                     = 0x03
	proPreempt                   = 0x04
	proPreemptAndAbort           = 0x05
	proRegisterAndIgnoreExisting = 0x06
)

// maxRegistrations bounds the registered I_T nexuses; one more gets
// INSUFFICIENT REGISTRATION RESOURCES (SPC-4 §5.12.7).
const maxRegistrations = 4096

type registration struct {
	nexus Nexus
	key   uint64
}

// reservations is the persistent reservation state of SPC-4 §5.12 and
// the SPC-2 reservation (RESERVE/RELEASE, SPC-2 §5.5), under one lock of
// their own. Registrations are kept in the order they were made, which
// READ KEYS and READ FULL STATUS report. Persist Through Power Loss is not
// supported (PTPL_C zero): the state lives as long as the LU.
type reservations struct {
	mu         sync.RWMutex
	generation uint32
	regs       []registration

	held   bool
	holder Nexus // for all-registrants types any registrant holds it
	rtype  uint8

	spc2Held   bool
	spc2Holder Nexus
}

func (r *reservations) find(n Nexus) int {
	for i := range r.regs {
		if r.regs[i].nexus == n {
			return i
		}
	}
	return -1
}

func allRegistrants(t uint8) bool {
	return t == prWriteExclusiveAllRegistrants || t == prExclusiveAccessAllRegistrants
}

// isHolder applies SPC-4 §5.12.10: for the all-registrants types every
// registered I_T nexus is a reservation holder.
func (r *reservations) isHolder(n Nexus) bool {
	if !r.held {
		return false
	}
	if allRegistrants(r.rtype) {
		return r.find(n) >= 0
	}
	return r.holder == n
}

// conflicts tells whether cmd from n meets RESERVATION CONFLICT: an SPC-2
// reservation held by another nexus blocks everything but the exempt
// commands (SPC-2 §5.5.1); a persistent reservation blocks by command
// class and reservation type (SPC-4 §5.12.8 table 62, SBC-4 §4.17 table
// 11).
func (r *reservations) conflicts(n Nexus, cmd *command) bool {
	r.mu.RLock()
	defer r.mu.RUnlock()
	if r.spc2Held && r.spc2Holder != n && cmd.flags&fSPC2Exempt == 0 {
		return true
	}
	if !r.held || cmd.res == resAllowed || cmd.res == resOwn || r.isHolder(n) {
		return false
	}
	registered := r.find(n) >= 0
	switch r.rtype {
	case prWriteExclusive:
		return cmd.res == resWrite
	case prExclusiveAccess:
		return true
	case prWriteExclusiveRegistrantsOnly, prWriteExclusiveAllRegistrants:
		return !registered && cmd.res == resWrite
	case prExclusiveAccessRegistrantsOnly, prExclusiveAccessAllRegistrants:
		return !registered
	}
	return false
}

// releaseSPC2 releases the SPC-2 reservation if n holds it (any holder
// when n is nil).
func (r *reservations) releaseSPC2(n *Nexus) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.spc2Held && (n == nil || r.spc2Holder == *n) {
		r.spc2Held = false
		r.spc2Holder = Nexus{}
	}
}

// reserveSPC2 serves RESERVE(6) and (10) (SPC-2 §7.21, §7.22) with the
// compatible reservation handling of SPC-4 §5.12.3 (CRH=1): while
// persistent reservations or registrations exist, a registered I_T nexus
// gets GOOD without effect and any other RESERVATION CONFLICT.
func (lu *LU) reserveSPC2(req *Request) Response {
	r := &lu.pr
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.held || len(r.regs) > 0 {
		if r.find(req.Nexus) >= 0 {
			return good(0)
		}
		return Response{Status: scsi.StatusReservationConflict}
	}
	if r.spc2Held && r.spc2Holder != req.Nexus {
		return Response{Status: scsi.StatusReservationConflict}
	}
	r.spc2Held, r.spc2Holder = true, req.Nexus
	return good(0)
}

// releaseSPC2 serves RELEASE(6) and (10): the holder's release ends the
// reservation; anyone else's is GOOD without effect (SPC-2 §7.19). With
// persistent reservations present, SPC-4 §5.12.3 applies as for RESERVE.
func (lu *LU) releaseSPC2(req *Request) Response {
	r := &lu.pr
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.held || len(r.regs) > 0 {
		if r.find(req.Nexus) >= 0 {
			return good(0)
		}
		return Response{Status: scsi.StatusReservationConflict}
	}
	if r.spc2Held && r.spc2Holder == req.Nexus {
		r.spc2Held = false
		r.spc2Holder = Nexus{}
	}
	return good(0)
}

func validType(t uint8) bool {
	switch t {
	case prWriteExclusive, prExclusiveAccess, prWriteExclusiveRegistrantsOnly,
		prExclusiveAccessRegistrantsOnly, prWriteExclusiveAllRegistrants, prExclusiveAccessAllRegistrants:
		return true
	}
	return false
}

var conflict = Response{Status: scsi.StatusReservationConflict}

// persistentReserveOut serves PERSISTENT RESERVE OUT (SPC-4 §6.17, §5.12):
// REGISTER, REGISTER AND IGNORE EXISTING KEY, RESERVE, RELEASE, CLEAR,
// PREEMPT and PREEMPT AND ABORT; REGISTER AND MOVE is not supported.
// The basic parameter list is 24 bytes; SPEC_I_PT, ALL_TG_PT and APTPL are
// not supported (SIP_C, ATP_C and PTPL_C are zero) and give INVALID FIELD
// IN PARAMETER LIST. PREEMPT AND ABORT preempts like PREEMPT, then hands
// the preempted nexuses to Config.AbortTasks so the transport aborts
// their tasks. Unit attentions go to the nexuses SPC-4 names.
func (lu *LU) persistentReserveOut(req *Request) Response {
	cdb := req.CDB
	sa := cdb[1] & 0x1f
	scope, typ := cdb[2]>>4, cdb[2]&0x0f
	plen := binary.BigEndian.Uint32(cdb[5:])
	if plen != 24 {
		return senseResponse(scsi.SenseIllegalRequest, scsi.ASCParameterListLengthError)
	}
	if len(req.DataOut) < 24 {
		return shortDataOut()
	}
	p := req.DataOut[:24]
	key := binary.BigEndian.Uint64(p[0:])
	saKey := binary.BigEndian.Uint64(p[8:])
	if p[20]&0x08 != 0 {
		return invalidParam(20, 3) // SPEC_I_PT
	}
	if p[20]&0x04 != 0 {
		return invalidParam(20, 2) // ALL_TG_PT
	}
	if p[20]&0x01 != 0 {
		return invalidParam(20, 0) // APTPL
	}
	if sa == proReserve || sa == proRelease || sa == proPreempt || sa == proPreemptAndAbort {
		if scope != 0 {
			return invalidCDB(2, 7) // SCOPE: LU_SCOPE only
		}
	}
	n := req.Nexus
	var uaCode scsi.ASC
	var uaNexuses []Nexus
	var uaCode2 scsi.ASC
	var uaNexuses2 []Nexus
	resp := func() Response {
		r := &lu.pr
		r.mu.Lock()
		defer r.mu.Unlock()
		if r.spc2Held && r.spc2Holder != n {
			return conflict
		}
		idx := r.find(n)
		switch sa {
		case proRegister, proRegisterAndIgnoreExisting:
			if idx < 0 {
				if sa == proRegister && key != 0 {
					return conflict
				}
				if saKey == 0 {
					return good(0) // SPC-4 §5.12.7: no action, PRGENERATION unchanged
				}
				if len(r.regs) >= maxRegistrations {
					return senseResponse(scsi.SenseIllegalRequest, scsi.ASCInsufficientRegistrationResources)
				}
				r.regs = append(r.regs, registration{n, saKey})
				r.generation++
				return good(0)
			}
			if sa == proRegister && key != r.regs[idx].key {
				return conflict
			}
			r.generation++
			if saKey != 0 {
				r.regs[idx].key = saKey
				return good(0)
			}
			// Unregister (SPC-4 §5.12.11.2.3).
			wasHolder := r.isHolder(n)
			r.regs = append(r.regs[:idx], r.regs[idx+1:]...)
			if wasHolder && (!allRegistrants(r.rtype) || len(r.regs) == 0) {
				t := r.rtype
				r.held, r.holder, r.rtype = false, Nexus{}, 0
				if t == prWriteExclusiveRegistrantsOnly || t == prExclusiveAccessRegistrantsOnly {
					uaCode, uaNexuses = scsi.ASCReservationsReleased, r.others(n)
				}
			}
			return good(0)
		}
		if idx < 0 || r.regs[idx].key != key {
			return conflict
		}
		switch sa {
		case proReserve:
			if !validType(typ) {
				return invalidCDB(2, 3)
			}
			if r.held {
				if r.isHolder(n) && r.rtype == typ {
					return good(0)
				}
				return conflict
			}
			r.held, r.holder, r.rtype = true, n, typ
			return good(0)
		case proRelease:
			if !r.held || !r.isHolder(n) {
				return good(0)
			}
			if r.rtype != typ {
				return senseResponse(scsi.SenseIllegalRequest, scsi.ASCInvalidReleaseOfPersistentReservation)
			}
			t := r.rtype
			r.held, r.holder, r.rtype = false, Nexus{}, 0
			if t != prWriteExclusive && t != prExclusiveAccess {
				uaCode, uaNexuses = scsi.ASCReservationsReleased, r.others(n)
			}
			return good(0)
		case proClear:
			uaCode, uaNexuses = scsi.ASCReservationsPreempted, r.others(n)
			r.regs = r.regs[:0]
			r.held, r.holder, r.rtype = false, Nexus{}, 0
			r.generation++
			return good(0)
		}
		// PREEMPT, PREEMPT AND ABORT (SPC-4 §5.12.11.4).
		if !r.held || !allRegistrants(r.rtype) {
			if saKey == 0 {
				return invalidParam(8, -1)
			}
		}
		switch {
		case r.held && allRegistrants(r.rtype) && saKey == 0:
			if !validType(typ) {
				return invalidCDB(2, 3)
			}
			// Remove every other registration; the preempting nexus holds
			// a new reservation.
			uaNexuses = r.others(n)
			uaCode = scsi.ASCRegistrationsPreempted
			r.regs = append(r.regs[:0], registration{n, key})
			r.held, r.holder, r.rtype = true, n, typ
		case r.held && !allRegistrants(r.rtype) && r.holderKey() == saKey:
			if !validType(typ) {
				return invalidCDB(2, 3)
			}
			oldType := r.rtype
			uaNexuses = r.removeKey(saKey, n)
			uaCode = scsi.ASCRegistrationsPreempted
			r.held, r.holder, r.rtype = true, n, typ
			if oldType != typ {
				uaCode2, uaNexuses2 = scsi.ASCReservationsReleased, r.others(n)
			}
		default:
			removed := r.removeKey(saKey, n)
			if len(removed) == 0 {
				return conflict
			}
			uaNexuses, uaCode = removed, scsi.ASCRegistrationsPreempted
		}
		r.generation++
		return good(0)
	}()
	lu.uaTo(uaCode, uaNexuses)
	lu.uaTo(uaCode2, uaNexuses2)
	if sa == proPreemptAndAbort && resp.Status == scsi.StatusGood && uaCode == scsi.ASCRegistrationsPreempted &&
		len(uaNexuses) > 0 && lu.cfg.AbortTasks != nil {
		lu.cfg.AbortTasks(uaNexuses)
	}
	return resp
}

// holderKey returns the reservation key of the holder of a reservation
// that is not of an all-registrants type.
func (r *reservations) holderKey() uint64 {
	if i := r.find(r.holder); i >= 0 {
		return r.regs[i].key
	}
	return 0
}

// others returns every registered nexus but n.
func (r *reservations) others(n Nexus) []Nexus {
	var out []Nexus
	for _, g := range r.regs {
		if g.nexus != n {
			out = append(out, g.nexus)
		}
	}
	return out
}

// removeKey removes the registrations with key other than keep's and
// returns their nexuses.
func (r *reservations) removeKey(key uint64, keep Nexus) []Nexus {
	var removed []Nexus
	kept := r.regs[:0]
	for _, g := range r.regs {
		if g.key == key && g.nexus != keep {
			removed = append(removed, g.nexus)
			continue
		}
		kept = append(kept, g)
	}
	r.regs = kept
	return removed
}

// persistentReserveIn serves PERSISTENT RESERVE IN (SPC-4 §6.16): READ
// KEYS, READ RESERVATION, REPORT CAPABILITIES and READ FULL STATUS.
func (lu *LU) persistentReserveIn(req *Request) Response {
	cdb := req.CDB
	alloc := int(binary.BigEndian.Uint16(cdb[7:]))
	r := &lu.pr
	r.mu.RLock()
	defer r.mu.RUnlock()
	out := make([]byte, 8, 64)
	binary.BigEndian.PutUint32(out[0:], r.generation)
	switch cdb[1] & 0x1f {
	case 0x00: // READ KEYS
		for _, g := range r.regs {
			out = binary.BigEndian.AppendUint64(out, g.key)
		}
	case 0x01: // READ RESERVATION
		if r.held {
			var d [16]byte
			if !allRegistrants(r.rtype) {
				if i := r.find(r.holder); i >= 0 {
					binary.BigEndian.PutUint64(d[0:], r.regs[i].key)
				}
			}
			d[13] = r.rtype // SCOPE 0h LU_SCOPE
			out = append(out, d[:]...)
		}
	case 0x02: // REPORT CAPABILITIES (SPC-4 §6.16.4)
		c := make([]byte, 8)
		binary.BigEndian.PutUint16(c[0:], 8)
		c[2] = 0x10                             // CRH; SIP_C, ATP_C, PTPL_C zero
		c[3] = 0x80 | 0x10                      // TMV, ALLOW COMMANDS 001b
		c[4] = 0x80 | 0x40 | 0x20 | 0x08 | 0x02 // WR_EX_AR, EX_AC_RO, WR_EX_RO, EX_AC, WR_EX
		c[5] = 0x01                             // EX_AC_AR
		return putDataIn(req, c, alloc)
	case 0x03: // READ FULL STATUS (SPC-4 §6.16.5)
		for _, g := range r.regs {
			var d [24]byte
			binary.BigEndian.PutUint64(d[0:], g.key)
			if r.isHolder(g.nexus) {
				d[12] = 0x01 // R_HOLDER
				d[13] = r.rtype
			}
			binary.BigEndian.PutUint16(d[18:], g.nexus.RelativeTargetPort)
			start := len(out)
			out = append(out, d[:]...)
			var err error
			if out, err = scsi.TransportIDOfPort(g.nexus.InitiatorPort).Append(out); err != nil {
				out = out[:start] // a name no TransportID can carry
				continue
			}
			binary.BigEndian.PutUint32(out[start+20:], uint32(len(out)-start-24))
		}
	}
	binary.BigEndian.PutUint32(out[4:], uint32(len(out)-8))
	return putDataIn(req, out, alloc)
}
