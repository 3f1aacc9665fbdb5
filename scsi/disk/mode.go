package disk

import (
	"encoding/binary"
	"sync/atomic"

	"github.com/go-iscsi/iscsi/scsi"
)

// modeState holds the changeable mode parameters. They are atomics so the
// READ and WRITE paths consult WCE without a lock.
type modeState struct {
	wce    atomic.Bool // Caching mode page WCE (SBC-4 §6.5.5)
	dsense atomic.Bool // Control mode page D_SENSE (SPC-4 §7.5.8)
	swp    atomic.Bool // Control mode page SWP (SPC-4 §7.5.8)
}

// resetMode restores the default mode parameters (SPC-4 §7.5.1: after a
// reset the current values are the saved, or else the default, values).
func (lu *LU) resetMode() {
	lu.mode.wce.Store(lu.flusher != nil && !lu.cfg.WriteCacheDisabled)
	lu.mode.dsense.Store(false)
	lu.mode.swp.Store(false)
}

// Page codes of the mode pages the logical unit has (SPC-4 §7.5.2, SBC-4
// §6.5).
const (
	pageReadWriteErrorRecovery = 0x01 // SBC-4 §6.5.9
	pageCaching                = 0x08 // SBC-4 §6.5.5
	pageControl                = 0x0a // SPC-4 §7.5.8
	pageInformationalExcept    = 0x1c // SPC-4 §7.5.11
	pageAll                    = 0x3f // SPC-4 §6.13: return all pages
)

var modePageCodes = [...]byte{pageReadWriteErrorRecovery, pageCaching, pageControl, pageInformationalExcept}

// Page control values (SPC-4 §6.13.2 table 98).
const (
	pcCurrent    = 0
	pcChangeable = 1
	pcDefault    = 2
	pcSaved      = 3
)

// appendModePage appends page code pc's bytes for page control pcv.
func (lu *LU) appendModePage(dst []byte, code byte, pcv byte) []byte {
	switch code {
	case pageReadWriteErrorRecovery:
		p := [12]byte{pageReadWriteErrorRecovery, 10}
		if pcv != pcChangeable {
			p[2] = 0xc0 // AWRE, ARRE: the backend reallocates on its own
		}
		return append(dst, p[:]...)
	case pageCaching:
		p := [20]byte{pageCaching, 18}
		switch pcv {
		case pcChangeable:
			if lu.flusher != nil {
				p[2] = 0x04 // WCE
			}
		case pcDefault:
			if lu.flusher != nil && !lu.cfg.WriteCacheDisabled {
				p[2] = 0x04
			}
		default:
			if lu.mode.wce.Load() {
				p[2] = 0x04
			}
		}
		return append(dst, p[:]...)
	case pageControl:
		p := [12]byte{pageControl, 10}
		switch pcv {
		case pcChangeable:
			p[2] = 0x04 // D_SENSE
			p[4] = 0x08 // SWP
		case pcDefault:
			p[2] = 0x02 // GLTSD
			p[3] = 0x10 // QUEUE ALGORITHM MODIFIER 1: unrestricted reordering
		default:
			p[2] = 0x02
			if lu.mode.dsense.Load() {
				p[2] |= 0x04
			}
			if lu.mode.swp.Load() {
				p[4] |= 0x08
			}
			p[3] = 0x10
		}
		if pcv != pcChangeable {
			binary.BigEndian.PutUint16(p[8:], 0xffff) // BUSY TIMEOUT PERIOD: unlimited
		}
		return append(dst, p[:]...)
	case pageInformationalExcept:
		p := [12]byte{pageInformationalExcept, 10}
		if pcv != pcChangeable {
			p[2] = 0x08 // DEXCPT: no informational exceptions
		}
		return append(dst, p[:]...)
	}
	return dst
}

// modeSense serves MODE SENSE(6) and (10) (SPC-4 §6.13, §6.14) with the
// block descriptor of SBC-4 §6.5.2 (short, or long when LLBAA is set in
// MODE SENSE(10)) unless DBD is set.
func (lu *LU) modeSense(req *Request) Response {
	cdb := req.CDB
	ten := scsi.OpCode(cdb[0]) == scsi.OpModeSense10
	dbd := cdb[1]&0x08 != 0
	llbaa := ten && cdb[1]&0x10 != 0
	pcv, code, sub := cdb[2]>>6, cdb[2]&0x3f, cdb[3]
	var alloc int
	if ten {
		alloc = int(binary.BigEndian.Uint16(cdb[7:]))
	} else {
		alloc = int(cdb[4])
	}
	if pcv == pcSaved {
		return senseResponse(scsi.SenseIllegalRequest, scsi.ASCSavingParametersNotSupported)
	}
	known := code == pageAll
	for _, c := range modePageCodes {
		known = known || c == code
	}
	if !known {
		return invalidCDB(2, 5)
	}
	if sub != 0 && sub != 0xff {
		return invalidCDB(3, 7)
	}
	hdr := 4
	if ten {
		hdr = 8
	}
	out := make([]byte, hdr, 256)
	// Device-specific parameter (SBC-4 §6.5.1): WP, and DPOFUA since DPO
	// and FUA are honoured.
	dsp := byte(0x10)
	if lu.cfg.ReadOnly || lu.mode.swp.Load() {
		dsp |= 0x80
	}
	if !dbd {
		blocks := lu.blocks()
		if llbaa {
			var d [16]byte
			binary.BigEndian.PutUint64(d[0:], blocks)
			binary.BigEndian.PutUint32(d[12:], uint32(lu.bs))
			out = append(out, d[:]...)
		} else {
			var d [8]byte
			binary.BigEndian.PutUint32(d[0:], uint32(min(blocks, 0xffffffff)))
			d[5], d[6], d[7] = byte(lu.bs>>16), byte(lu.bs>>8), byte(lu.bs)
			out = append(out, d[:]...)
		}
	}
	bdl := len(out) - hdr
	if code == pageAll {
		for _, c := range modePageCodes {
			out = lu.appendModePage(out, c, pcv)
		}
	} else {
		out = lu.appendModePage(out, code, pcv)
	}
	if ten {
		binary.BigEndian.PutUint16(out[0:], uint16(len(out)-2))
		out[3] = dsp
		if llbaa && !dbd {
			out[4] = 0x01 // LONGLBA
		}
		binary.BigEndian.PutUint16(out[6:], uint16(bdl))
	} else {
		out[0] = byte(len(out) - 1)
		out[2] = dsp
		out[3] = byte(bdl)
	}
	return putDataIn(req, out, alloc)
}

// modeSelect serves MODE SELECT(6) and (10) (SPC-4 §6.11, §6.12). Saving
// (SP) is not supported. Each page sent must have the length the logical
// unit reports, and may change only the bits MODE SENSE reports
// changeable (WCE, D_SENSE, SWP); any other difference is INVALID FIELD IN
// PARAMETER LIST pointing at the byte. A change establishes MODE
// PARAMETERS CHANGED for the other I_T nexuses (SPC-4 §7.5.1).
func (lu *LU) modeSelect(req *Request) Response {
	cdb := req.CDB
	ten := scsi.OpCode(cdb[0]) == scsi.OpModeSelect10
	if cdb[1]&0x01 != 0 {
		return senseResponse(scsi.SenseIllegalRequest, scsi.ASCSavingParametersNotSupported)
	}
	var plen, hdr int
	if ten {
		plen, hdr = int(binary.BigEndian.Uint16(cdb[7:])), 8
	} else {
		plen, hdr = int(cdb[4]), 4
	}
	if plen == 0 {
		return good(0) // SPC-4 §6.11: no data, not an error
	}
	if len(req.DataOut) < plen {
		return shortDataOut()
	}
	if plen < hdr {
		return senseResponse(scsi.SenseIllegalRequest, scsi.ASCParameterListLengthError)
	}
	p := req.DataOut[:plen]
	var bdl int
	if ten {
		bdl = int(binary.BigEndian.Uint16(p[6:]))
	} else {
		bdl = int(p[3])
	}
	if hdr+bdl > plen {
		return senseResponse(scsi.SenseIllegalRequest, scsi.ASCParameterListLengthError)
	}
	longLBA := ten && p[4]&0x01 != 0
	switch {
	case bdl == 0:
	case bdl == 8 && !longLBA:
		// The BLOCK LENGTH may not change (no FORMAT UNIT); NUMBER OF
		// LOGICAL BLOCKS is ignored.
		d := p[hdr:]
		if bl := uint32(d[5])<<16 | uint32(d[6])<<8 | uint32(d[7]); bl != uint32(lu.bs) {
			return invalidParam(hdr+5, -1)
		}
	case bdl == 16 && longLBA:
		if bl := binary.BigEndian.Uint32(p[hdr+12:]); bl != uint32(lu.bs) {
			return invalidParam(hdr+12, -1)
		}
	default:
		return invalidParam(hdr-1, -1)
	}
	wce, dsense, swp := lu.mode.wce.Load(), lu.mode.dsense.Load(), lu.mode.swp.Load()
	for off := hdr + bdl; off < plen; {
		if plen-off < 2 {
			return senseResponse(scsi.SenseIllegalRequest, scsi.ASCParameterListLengthError)
		}
		code, spf := p[off]&0x3f, p[off]&0x40 != 0
		if p[off]&0x80 != 0 { // PS is reserved in MODE SELECT
			return invalidParam(off, 7)
		}
		if spf {
			return invalidParam(off, 6)
		}
		cur := lu.appendModePage(nil, code, pcCurrent)
		if len(cur) == 0 {
			return invalidParam(off, 5)
		}
		if int(p[off+1]) != len(cur)-2 {
			return invalidParam(off+1, -1)
		}
		if off+len(cur) > plen {
			return senseResponse(scsi.SenseIllegalRequest, scsi.ASCParameterListLengthError)
		}
		chg := lu.appendModePage(nil, code, pcChangeable)
		for i := 2; i < len(cur); i++ {
			if diff := (p[off+i] ^ cur[i]) &^ chg[i]; diff != 0 {
				bit := 7
				for diff&(1<<bit) == 0 {
					bit--
				}
				return invalidParam(off+i, bit)
			}
		}
		switch code {
		case pageCaching:
			wce = p[off+2]&0x04 != 0
		case pageControl:
			dsense = p[off+2]&0x04 != 0
			swp = p[off+4]&0x08 != 0
		}
		off += len(cur)
	}
	changed := wce != lu.mode.wce.Load() || dsense != lu.mode.dsense.Load() || swp != lu.mode.swp.Load()
	lu.mode.wce.Store(wce)
	lu.mode.dsense.Store(dsense)
	lu.mode.swp.Store(swp)
	if changed {
		n := req.Nexus
		lu.broadcastUA(&n, scsi.ASCModeParametersChanged)
	}
	return good(0)
}
