package scsi

import (
	"encoding/binary"
	"iter"
)

// Mode page codes (SPC-4 §7.5.1 table 436 and SBC-4 §6.5.1 table 208).
const (
	ModePageReadWriteErrorRecovery  = 0x01 // SBC-4 §6.5.9
	ModePageDisconnectReconnect     = 0x02 // SPC-4 §7.5.9
	ModePageCaching                 = 0x08 // SBC-4 §6.5.5
	ModePageControl                 = 0x0a // SPC-4 §7.5.7
	ModePageInformationalExceptions = 0x1c // SPC-4 §7.5.11
	ModePageAll                     = 0x3f // MODE SENSE: return all pages
	ModeSubpageAll                  = 0xff // MODE SENSE: return all subpages
)

// Bits of the DEVICE-SPECIFIC PARAMETER of the mode parameter header for
// direct-access devices (SBC-4 §6.5.1 table 207).
const (
	DeviceSpecificWP     = 0x80 // WP: the medium is write protected
	DeviceSpecificDPOFUA = 0x10 // DPOFUA: DPO and FUA are supported
)

// BlockDescriptor is a direct-access mode parameter block descriptor: the
// short LBA form of SBC-4 §6.5.2.2 table 210 (8 bytes) or the long LBA
// form of table 211 (16 bytes).
type BlockDescriptor struct {
	// NumberOfBlocks is the NUMBER OF LOGICAL BLOCKS; the short form
	// holds FFFFFFFFh for a count above 32 bits.
	NumberOfBlocks uint64
	BlockLength    uint32 // LOGICAL BLOCK LENGTH, 24 bits in the short form
}

// ModeParameters is a mode parameter list (SPC-4 §7.5.4 table 438): the
// Data-In of MODE SENSE and the Data-Out of MODE SELECT, with a header of
// 4 bytes (the 6-byte commands, table 440) or 8 bytes (the 10-byte
// commands, table 441), block descriptors and mode pages.
type ModeParameters struct {
	MediumType     uint8 // MEDIUM TYPE, zero for SBC devices
	DeviceSpecific uint8 // DEVICE-SPECIFIC PARAMETER: DeviceSpecificWP | DeviceSpecificDPOFUA
	// LongLBA is the LONGLBA bit of the 10-byte header: the block
	// descriptors are 16 bytes long.
	LongLBA          bool
	BlockDescriptors []BlockDescriptor
	// Pages holds the mode pages, concatenated; build each with
	// [AppendModePage], walk them with [ModePages].
	Pages []byte
}

// Append appends the mode parameter list in the form op (a MODE SENSE or
// MODE SELECT operation code, 6 or 10 bytes) selects. The MODE DATA
// LENGTH is filled in; a list too long for it, a long LBA descriptor in
// the 6-byte form, or a block length above 24 bits in a short descriptor
// gives a *FormatError.
func (m ModeParameters) Append(dst []byte, op OpCode) ([]byte, error) {
	const format = "mode parameter list"
	six := op == OpModeSense6 || op == OpModeSelect6
	descLen := 8
	if m.LongLBA {
		if six {
			return dst, fieldRange(format, 0, "LONGLBA")
		}
		descLen = 16
	}
	hdr := 8
	if six {
		hdr = 4
	}
	total := hdr + descLen*len(m.BlockDescriptors) + len(m.Pages)
	if (six && total-1 > 0xff) || total-2 > 0xffff {
		return dst, fieldRange(format, 0, "MODE DATA LENGTH")
	}
	start := len(dst)
	if six {
		dst = append(dst, byte(total-1), m.MediumType, m.DeviceSpecific, byte(descLen*len(m.BlockDescriptors)))
	} else {
		dst = binary.BigEndian.AppendUint16(dst, uint16(total-2))
		dst = append(dst, m.MediumType, m.DeviceSpecific, flag(m.LongLBA, 0x01), 0)
		dst = binary.BigEndian.AppendUint16(dst, uint16(descLen*len(m.BlockDescriptors)))
	}
	for _, d := range m.BlockDescriptors {
		if m.LongLBA {
			dst = binary.BigEndian.AppendUint64(dst, d.NumberOfBlocks)
			dst = append(dst, 0, 0, 0, 0)
			dst = binary.BigEndian.AppendUint32(dst, d.BlockLength)
			continue
		}
		if d.BlockLength > 0xffffff {
			return dst[:start], fieldRange(format, len(dst)-start+5, "LOGICAL BLOCK LENGTH")
		}
		dst = binary.BigEndian.AppendUint32(dst, uint32(min(d.NumberOfBlocks, 0xffffffff)))
		dst = binary.BigEndian.AppendUint32(dst, d.BlockLength)
	}
	return append(dst, m.Pages...), nil
}

// ParseModeParameters decodes a mode parameter list in the form op
// selects (SPC-4 §7.5.4). For MODE SELECT the MODE DATA LENGTH is
// reserved (§7.5.5) and ignored; for MODE SENSE data it bounds the list.
// A list shorter than its header, a BLOCK DESCRIPTOR LENGTH that is not a
// multiple of the descriptor size or overruns the list, and MODE SENSE
// data whose MODE DATA LENGTH does not cover its header, is PARAMETER LIST
// LENGTH ERROR; so is a page that overruns the list (checked by walking
// the pages). Errors are *ParameterError, whose sense a logical unit
// returns for MODE SELECT as is.
func ParseModeParameters(op OpCode, b []byte) (ModeParameters, error) {
	var m ModeParameters
	six := op == OpModeSense6 || op == OpModeSelect6
	sense := op == OpModeSense6 || op == OpModeSense10
	hdr := 8
	if six {
		hdr = 4
	}
	if len(b) < hdr {
		return m, paramLenErr(op, "mode parameter header")
	}
	var descLen int
	if six {
		if sense {
			b = b[:min(len(b), int(b[0])+1)]
			if len(b) < hdr {
				return m, paramLenErr(op, "MODE DATA LENGTH")
			}
		}
		m.MediumType, m.DeviceSpecific, descLen = b[1], b[2], int(b[3])
	} else {
		if sense {
			b = b[:min(len(b), int(binary.BigEndian.Uint16(b))+2)]
			if len(b) < hdr {
				return m, paramLenErr(op, "MODE DATA LENGTH")
			}
		}
		if v := b[4] & 0xfe; v != 0 {
			return m, paramErr(op, "reserved", 4, bitOf(v))
		}
		m.MediumType, m.DeviceSpecific, m.LongLBA = b[2], b[3], b[4]&0x01 != 0
		descLen = int(binary.BigEndian.Uint16(b[6:]))
	}
	size := 8
	if m.LongLBA {
		size = 16
	}
	if descLen%size != 0 || hdr+descLen > len(b) {
		return ModeParameters{}, paramLenErr(op, "BLOCK DESCRIPTOR LENGTH")
	}
	if descLen > 0 {
		m.BlockDescriptors = make([]BlockDescriptor, 0, descLen/size)
	}
	for i := hdr; i < hdr+descLen; i += size {
		if m.LongLBA {
			m.BlockDescriptors = append(m.BlockDescriptors, BlockDescriptor{NumberOfBlocks: binary.BigEndian.Uint64(b[i:]), BlockLength: binary.BigEndian.Uint32(b[i+12:])})
		} else {
			m.BlockDescriptors = append(m.BlockDescriptors, BlockDescriptor{NumberOfBlocks: uint64(binary.BigEndian.Uint32(b[i:])), BlockLength: binary.BigEndian.Uint32(b[i+4:]) & 0xffffff})
		}
	}
	m.Pages = b[hdr+descLen:]
	for _, err := range ModePages(m.Pages) {
		if err != nil {
			if pe, ok := err.(*ParameterError); ok {
				pe.Op = op
			}
			return ModeParameters{}, err
		}
	}
	return m, nil
}

// ModePage is one mode page of a mode parameter list, in the page_0
// format (SPC-4 §7.5.7 table 444, SPF zero) or the sub_page format (table
// 445, SPF one).
type ModePage struct {
	PS          bool   // PS: the page can be saved (MODE SENSE); reserved in MODE SELECT
	SPF         bool   // SPF: sub_page format
	PageCode    uint8  // PAGE CODE, 6 bits
	SubpageCode uint8  // SUBPAGE CODE (sub_page format)
	Parameters  []byte // the mode parameters after the page header, aliasing the list
	Offset      int    // the offset of the page in the pages it was read from
}

// ModePages walks concatenated mode pages. A page whose header or PAGE
// LENGTH overruns the pages yields PARAMETER LIST LENGTH ERROR as a
// *ParameterError and stops.
func ModePages(pages []byte) iter.Seq2[ModePage, error] {
	return func(yield func(ModePage, error) bool) {
		for i := 0; i < len(pages); {
			p := ModePage{PS: pages[i]&0x80 != 0, SPF: pages[i]&0x40 != 0, PageCode: pages[i] & 0x3f, Offset: i}
			var hdr, n int
			if p.SPF {
				if i+4 > len(pages) {
					yield(ModePage{}, paramLenErr(OpModeSelect10, "PAGE LENGTH"))
					return
				}
				hdr, n = 4, int(binary.BigEndian.Uint16(pages[i+2:]))
				p.SubpageCode = pages[i+1]
			} else {
				if i+2 > len(pages) {
					yield(ModePage{}, paramLenErr(OpModeSelect10, "PAGE LENGTH"))
					return
				}
				hdr, n = 2, int(pages[i+1])
			}
			if i+hdr+n > len(pages) {
				yield(ModePage{}, paramLenErr(OpModeSelect10, "PAGE LENGTH"))
				return
			}
			p.Parameters = pages[i+hdr : i+hdr+n]
			if !yield(p, nil) {
				return
			}
			i += hdr + n
		}
	}
}

// ModePageParameters is a typed mode page: the parameters after its
// header. The page types of this package implement it.
type ModePageParameters interface {
	PageCode() uint8
	SubpageCode() uint8
	AppendParameters(dst []byte) []byte
}

// AppendModePage appends page p with its header: page_0 format when its
// subpage code is zero, sub_page format otherwise (SPC-4 §7.5.7). ps sets
// the PS bit, which MODE SENSE sets for a page that can be saved and MODE
// SELECT leaves zero.
func AppendModePage(dst []byte, p ModePageParameters, ps bool) []byte {
	start := len(dst)
	if p.SubpageCode() == 0 {
		dst = append(dst, flag(ps, 0x80)|p.PageCode()&0x3f, 0)
		dst = p.AppendParameters(dst)
		dst[start+1] = byte(len(dst) - start - 2)
		return dst
	}
	dst = append(dst, flag(ps, 0x80)|0x40|p.PageCode()&0x3f, p.SubpageCode(), 0, 0)
	dst = p.AppendParameters(dst)
	binary.BigEndian.PutUint16(dst[start+2:], uint16(len(dst)-start-4))
	return dst
}

// CheckModeSelectPage checks a page sent with MODE SELECT against the
// device server's current and changeable values of that page (its
// parameters, as AppendParameters gives them), as SPC-4 §6.11 and
// §7.5.7 require: PS must be zero; the PAGE LENGTH must equal the
// device's; and no bit may differ from the current value unless the
// changeable mask has it set. pagesOffset is the offset of the pages
// within the parameter list, so the field pointer of the INVALID FIELD IN
// PARAMETER LIST sense points into the whole list. It returns nil or a
// *ParameterError.
func CheckModeSelectPage(op OpCode, sent ModePage, current, changeable []byte, pagesOffset int) error {
	at := pagesOffset + sent.Offset
	hdr := 2
	if sent.SPF {
		hdr = 4
	}
	switch {
	case sent.PS:
		return paramErr(op, "PS", at, 7)
	case len(sent.Parameters) != len(current) || len(changeable) != len(current):
		return paramErr(op, "PAGE LENGTH", at+hdr-1, -1)
	}
	for i, v := range sent.Parameters {
		if d := (v ^ current[i]) &^ changeable[i]; d != 0 {
			return paramErr(op, "mode parameter", at+hdr+i, bitOf(d))
		}
	}
	return nil
}

// SelectModePage returns the parameters of a page for MODE SENSE with
// page control pc (SPC-4 §6.13 table 170): the current, changeable or
// default values the device server keeps. Saved values are the current
// ones for a device server that does not save pages; asking for them when
// saving is unsupported is SAVING PARAMETERS NOT SUPPORTED (SPC-4
// §6.13), which is returned as the Sense when saved is false.
func SelectModePage(pc PageControl, current, changeable, def []byte, saved bool) ([]byte, error) {
	switch pc {
	case PageControlCurrent:
		return current, nil
	case PageControlChangeable:
		return changeable, nil
	case PageControlDefault:
		return def, nil
	}
	if !saved {
		return nil, NewSense(SenseIllegalRequest, ASCSavingParametersNotSupported)
	}
	return current, nil
}

// pageParams checks that the parameters of a page hold at least n bytes.
func pageParams(code uint8, p []byte, n int) error {
	if len(p) < n {
		return &ParameterError{Op: OpModeSelect10, Field: "PAGE LENGTH of page 0x" + hex2(code), Sense: NewSense(SenseIllegalRequest, ASCParameterListLengthError)}
	}
	return nil
}

// ReadWriteErrorRecoveryPage is the Read-Write Error Recovery mode page,
// 01h (SBC-4 §6.5.9 table 219); PAGE LENGTH 0Ah.
type ReadWriteErrorRecoveryPage struct {
	AWRE, ARRE, TB, RC, EER, PER, DTE, DCR bool   // byte 2
	ReadRetryCount                         uint8  // READ RETRY COUNT
	LBPERE                                 bool   // LBPERE: logical block provisioning error reporting
	WriteRetryCount                        uint8  // WRITE RETRY COUNT
	RecoveryTimeLimit                      uint16 // RECOVERY TIME LIMIT, milliseconds
}

// PageCode returns ModePageReadWriteErrorRecovery.
func (ReadWriteErrorRecoveryPage) PageCode() uint8 { return ModePageReadWriteErrorRecovery }

// SubpageCode returns 0.
func (ReadWriteErrorRecoveryPage) SubpageCode() uint8 { return 0 }

// AppendParameters appends the 10 bytes of parameters.
func (p ReadWriteErrorRecoveryPage) AppendParameters(dst []byte) []byte {
	dst = append(dst, flag(p.AWRE, 0x80)|flag(p.ARRE, 0x40)|flag(p.TB, 0x20)|flag(p.RC, 0x10)|
		flag(p.EER, 0x08)|flag(p.PER, 0x04)|flag(p.DTE, 0x02)|flag(p.DCR, 0x01),
		p.ReadRetryCount, 0, 0, 0, flag(p.LBPERE, 0x80), p.WriteRetryCount, 0)
	return binary.BigEndian.AppendUint16(dst, p.RecoveryTimeLimit)
}

// ParseReadWriteErrorRecoveryPage decodes the page's parameters.
func ParseReadWriteErrorRecoveryPage(p []byte) (ReadWriteErrorRecoveryPage, error) {
	if err := pageParams(ModePageReadWriteErrorRecovery, p, 10); err != nil {
		return ReadWriteErrorRecoveryPage{}, err
	}
	return ReadWriteErrorRecoveryPage{
		AWRE: p[0]&0x80 != 0, ARRE: p[0]&0x40 != 0, TB: p[0]&0x20 != 0, RC: p[0]&0x10 != 0,
		EER: p[0]&0x08 != 0, PER: p[0]&0x04 != 0, DTE: p[0]&0x02 != 0, DCR: p[0]&0x01 != 0,
		ReadRetryCount: p[1], LBPERE: p[5]&0x80 != 0, WriteRetryCount: p[6], RecoveryTimeLimit: binary.BigEndian.Uint16(p[8:]),
	}, nil
}

// DisconnectReconnectPage is the Disconnect-Reconnect mode page, 02h
// (SPC-4 §7.5.9 table 451); PAGE LENGTH 0Eh. Burst sizes are in units of
// 512 bytes.
type DisconnectReconnectPage struct {
	BufferFullRatio     uint8  // BUFFER FULL RATIO
	BufferEmptyRatio    uint8  // BUFFER EMPTY RATIO
	BusInactivityLimit  uint16 // BUS INACTIVITY LIMIT
	DisconnectTimeLimit uint16 // DISCONNECT TIME LIMIT
	ConnectTimeLimit    uint16 // CONNECT TIME LIMIT
	MaximumBurstSize    uint16 // MAXIMUM BURST SIZE
	EMDP                bool   // EMDP
	FairArbitration     uint8  // FAIR ARBITRATION, 3 bits
	DIMM                bool   // DIMM
	DTDC                uint8  // DTDC, 3 bits
	FirstBurstSize      uint16 // FIRST BURST SIZE
}

// PageCode returns ModePageDisconnectReconnect.
func (DisconnectReconnectPage) PageCode() uint8 { return ModePageDisconnectReconnect }

// SubpageCode returns 0.
func (DisconnectReconnectPage) SubpageCode() uint8 { return 0 }

// AppendParameters appends the 14 bytes of parameters.
func (p DisconnectReconnectPage) AppendParameters(dst []byte) []byte {
	dst = append(dst, p.BufferFullRatio, p.BufferEmptyRatio)
	for _, v := range [...]uint16{p.BusInactivityLimit, p.DisconnectTimeLimit, p.ConnectTimeLimit, p.MaximumBurstSize} {
		dst = binary.BigEndian.AppendUint16(dst, v)
	}
	dst = append(dst, flag(p.EMDP, 0x80)|(p.FairArbitration&7)<<4|flag(p.DIMM, 0x08)|p.DTDC&7, 0)
	return binary.BigEndian.AppendUint16(dst, p.FirstBurstSize)
}

// ParseDisconnectReconnectPage decodes the page's parameters.
func ParseDisconnectReconnectPage(p []byte) (DisconnectReconnectPage, error) {
	if err := pageParams(ModePageDisconnectReconnect, p, 14); err != nil {
		return DisconnectReconnectPage{}, err
	}
	return DisconnectReconnectPage{
		BufferFullRatio: p[0], BufferEmptyRatio: p[1],
		BusInactivityLimit: binary.BigEndian.Uint16(p[2:]), DisconnectTimeLimit: binary.BigEndian.Uint16(p[4:]),
		ConnectTimeLimit: binary.BigEndian.Uint16(p[6:]), MaximumBurstSize: binary.BigEndian.Uint16(p[8:]),
		EMDP: p[10]&0x80 != 0, FairArbitration: p[10] >> 4 & 7, DIMM: p[10]&0x08 != 0, DTDC: p[10] & 7,
		FirstBurstSize: binary.BigEndian.Uint16(p[12:]),
	}, nil
}

// CachingPage is the Caching mode page, 08h (SBC-4 §6.5.5 table 213);
// PAGE LENGTH 12h.
type CachingPage struct {
	IC, ABPF, CAP, DISC, SIZE bool // byte 2 bits 7-3
	WCE                       bool // WCE: write cache enabled
	MF                        bool // MF: multiplication factor
	RCD                       bool // RCD: read cache disabled
	// DemandReadRetentionPriority and WriteRetentionPriority are 4 bits
	// each.
	DemandReadRetentionPriority   uint8
	WriteRetentionPriority        uint8
	DisablePrefetchTransferLength uint16 // DISABLE PRE-FETCH TRANSFER LENGTH
	MinimumPrefetch               uint16 // MINIMUM PRE-FETCH
	MaximumPrefetch               uint16 // MAXIMUM PRE-FETCH
	MaximumPrefetchCeiling        uint16 // MAXIMUM PRE-FETCH CEILING
	FSW, LBCSS, DRA               bool   // byte 12 bits 7-5
	SyncProg                      uint8  // SYNC_PROG, 2 bits (SBC-4)
	NVDis                         bool   // NV_DIS
	NumberOfCacheSegments         uint8  // NUMBER OF CACHE SEGMENTS
	CacheSegmentSize              uint16 // CACHE SEGMENT SIZE
}

// PageCode returns ModePageCaching.
func (CachingPage) PageCode() uint8 { return ModePageCaching }

// SubpageCode returns 0.
func (CachingPage) SubpageCode() uint8 { return 0 }

// AppendParameters appends the 18 bytes of parameters.
func (p CachingPage) AppendParameters(dst []byte) []byte {
	dst = append(dst, flag(p.IC, 0x80)|flag(p.ABPF, 0x40)|flag(p.CAP, 0x20)|flag(p.DISC, 0x10)|flag(p.SIZE, 0x08)|
		flag(p.WCE, 0x04)|flag(p.MF, 0x02)|flag(p.RCD, 0x01),
		p.DemandReadRetentionPriority<<4|p.WriteRetentionPriority&0x0f)
	for _, v := range [...]uint16{p.DisablePrefetchTransferLength, p.MinimumPrefetch, p.MaximumPrefetch, p.MaximumPrefetchCeiling} {
		dst = binary.BigEndian.AppendUint16(dst, v)
	}
	dst = append(dst, flag(p.FSW, 0x80)|flag(p.LBCSS, 0x40)|flag(p.DRA, 0x20)|(p.SyncProg&3)<<1|flag(p.NVDis, 0x01), p.NumberOfCacheSegments)
	dst = binary.BigEndian.AppendUint16(dst, p.CacheSegmentSize)
	return append(dst, 0, 0, 0, 0)
}

// ParseCachingPage decodes the page's parameters.
func ParseCachingPage(p []byte) (CachingPage, error) {
	if err := pageParams(ModePageCaching, p, 18); err != nil {
		return CachingPage{}, err
	}
	return CachingPage{
		IC: p[0]&0x80 != 0, ABPF: p[0]&0x40 != 0, CAP: p[0]&0x20 != 0, DISC: p[0]&0x10 != 0, SIZE: p[0]&0x08 != 0,
		WCE: p[0]&0x04 != 0, MF: p[0]&0x02 != 0, RCD: p[0]&0x01 != 0,
		DemandReadRetentionPriority: p[1] >> 4, WriteRetentionPriority: p[1] & 0x0f,
		DisablePrefetchTransferLength: binary.BigEndian.Uint16(p[2:]), MinimumPrefetch: binary.BigEndian.Uint16(p[4:]),
		MaximumPrefetch: binary.BigEndian.Uint16(p[6:]), MaximumPrefetchCeiling: binary.BigEndian.Uint16(p[8:]),
		FSW: p[10]&0x80 != 0, LBCSS: p[10]&0x40 != 0, DRA: p[10]&0x20 != 0, SyncProg: p[10] >> 1 & 3, NVDis: p[10]&0x01 != 0,
		NumberOfCacheSegments: p[11], CacheSegmentSize: binary.BigEndian.Uint16(p[12:]),
	}, nil
}

// QERR values of the Control mode page (SPC-4 §7.5.8 table 449).
const (
	QErrContinue       = 0 // other commands continue after a CHECK CONDITION
	QErrAbortAll       = 1 // abort every command of the task set
	QErrAbortThisNexus = 3 // abort the commands of the faulting I_T nexus
)

// ControlPage is the Control mode page, 0Ah (SPC-4 §7.5.8 table 447);
// PAGE LENGTH 0Ah.
type ControlPage struct {
	TST     uint8 // TST, 3 bits: 0 one task set, 1 one per I_T nexus
	TMFOnly bool  // TMF_ONLY
	DPICZ   bool  // DPICZ
	DSense  bool  // D_SENSE: return descriptor format sense data
	GLTSD   bool  // GLTSD
	RLEC    bool  // RLEC
	// QueueAlgorithmModifier is 4 bits: 0 restricted, 1 unrestricted
	// reordering.
	QueueAlgorithmModifier uint8
	NUAR                   bool   // NUAR
	QErr                   uint8  // QERR, 2 bits
	RAC                    bool   // RAC
	UAIntlckCtrl           uint8  // UA_INTLCK_CTRL, 2 bits
	SWP                    bool   // SWP: software write protect
	ATO                    bool   // ATO: application tag owner
	TAS                    bool   // TAS: report TASK ABORTED status
	ATMPE                  bool   // ATMPE
	RWWP                   bool   // RWWP
	SBLP                   bool   // SBLP
	AutoloadMode           uint8  // AUTOLOAD MODE, 3 bits
	BusyTimeoutPeriod      uint16 // BUSY TIMEOUT PERIOD, units of 100 ms
	ExtendedSelfTestTime   uint16 // EXTENDED SELF-TEST COMPLETION TIME, seconds
}

// PageCode returns ModePageControl.
func (ControlPage) PageCode() uint8 { return ModePageControl }

// SubpageCode returns 0.
func (ControlPage) SubpageCode() uint8 { return 0 }

// AppendParameters appends the 10 bytes of parameters.
func (p ControlPage) AppendParameters(dst []byte) []byte {
	dst = append(dst,
		(p.TST&7)<<5|flag(p.TMFOnly, 0x10)|flag(p.DPICZ, 0x08)|flag(p.DSense, 0x04)|flag(p.GLTSD, 0x02)|flag(p.RLEC, 0x01),
		p.QueueAlgorithmModifier<<4|flag(p.NUAR, 0x08)|(p.QErr&3)<<1,
		flag(p.RAC, 0x40)|(p.UAIntlckCtrl&3)<<4|flag(p.SWP, 0x08),
		flag(p.ATO, 0x80)|flag(p.TAS, 0x40)|flag(p.ATMPE, 0x20)|flag(p.RWWP, 0x10)|flag(p.SBLP, 0x08)|p.AutoloadMode&7,
		0, 0)
	dst = binary.BigEndian.AppendUint16(dst, p.BusyTimeoutPeriod)
	return binary.BigEndian.AppendUint16(dst, p.ExtendedSelfTestTime)
}

// ParseControlPage decodes the page's parameters.
func ParseControlPage(p []byte) (ControlPage, error) {
	if err := pageParams(ModePageControl, p, 10); err != nil {
		return ControlPage{}, err
	}
	return ControlPage{
		TST: p[0] >> 5, TMFOnly: p[0]&0x10 != 0, DPICZ: p[0]&0x08 != 0, DSense: p[0]&0x04 != 0, GLTSD: p[0]&0x02 != 0, RLEC: p[0]&0x01 != 0,
		QueueAlgorithmModifier: p[1] >> 4, NUAR: p[1]&0x08 != 0, QErr: p[1] >> 1 & 3,
		RAC: p[2]&0x40 != 0, UAIntlckCtrl: p[2] >> 4 & 3, SWP: p[2]&0x08 != 0,
		ATO: p[3]&0x80 != 0, TAS: p[3]&0x40 != 0, ATMPE: p[3]&0x20 != 0, RWWP: p[3]&0x10 != 0, SBLP: p[3]&0x08 != 0, AutoloadMode: p[3] & 7,
		BusyTimeoutPeriod: binary.BigEndian.Uint16(p[6:]), ExtendedSelfTestTime: binary.BigEndian.Uint16(p[8:]),
	}, nil
}

// InformationalExceptionsPage is the Informational Exceptions Control
// mode page, 1Ch (SPC-4 §7.5.11 table 460); PAGE LENGTH 0Ah.
type InformationalExceptionsPage struct {
	PERF, EBF, EWASC, DEXCPT, TEST, EBACKERR, LOGERR bool   // byte 2
	MRIE                                             uint8  // MRIE, 4 bits: method of reporting
	IntervalTimer                                    uint32 // INTERVAL TIMER, units of 100 ms
	ReportCount                                      uint32 // REPORT COUNT
}

// PageCode returns ModePageInformationalExceptions.
func (InformationalExceptionsPage) PageCode() uint8 { return ModePageInformationalExceptions }

// SubpageCode returns 0.
func (InformationalExceptionsPage) SubpageCode() uint8 { return 0 }

// AppendParameters appends the 10 bytes of parameters.
func (p InformationalExceptionsPage) AppendParameters(dst []byte) []byte {
	dst = append(dst, flag(p.PERF, 0x80)|flag(p.EBF, 0x20)|flag(p.EWASC, 0x10)|flag(p.DEXCPT, 0x08)|
		flag(p.TEST, 0x04)|flag(p.EBACKERR, 0x02)|flag(p.LOGERR, 0x01), p.MRIE&0x0f)
	dst = binary.BigEndian.AppendUint32(dst, p.IntervalTimer)
	return binary.BigEndian.AppendUint32(dst, p.ReportCount)
}

// ParseInformationalExceptionsPage decodes the page's parameters.
func ParseInformationalExceptionsPage(p []byte) (InformationalExceptionsPage, error) {
	if err := pageParams(ModePageInformationalExceptions, p, 10); err != nil {
		return InformationalExceptionsPage{}, err
	}
	return InformationalExceptionsPage{
		PERF: p[0]&0x80 != 0, EBF: p[0]&0x20 != 0, EWASC: p[0]&0x10 != 0, DEXCPT: p[0]&0x08 != 0,
		TEST: p[0]&0x04 != 0, EBACKERR: p[0]&0x02 != 0, LOGERR: p[0]&0x01 != 0,
		MRIE: p[1] & 0x0f, IntervalTimer: binary.BigEndian.Uint32(p[2:]), ReportCount: binary.BigEndian.Uint32(p[6:]),
	}, nil
}

// AppendRequestedModePages appends, with their headers, the pages of
// pages that a MODE SENSE for pageCode and subpageCode asks for (SPC-4
// §6.13): page 3Fh with subpage 00h selects every page in the page_0
// format, 3Fh with FFh every page and subpage, a page code with FFh that
// page and its subpages, and otherwise the one page that matches. pages
// hold the values of the page control the CDB asked for ([SelectModePage]
// chooses them); ps sets the PS bit of each. When nothing matches it
// returns INVALID FIELD IN CDB at byte 2 of the CDB (byte 3 when the page
// exists without that subpage), as a [Sense].
func AppendRequestedModePages(dst []byte, pages []ModePageParameters, pageCode, subpageCode uint8, ps bool) ([]byte, error) {
	found, pageSeen := false, false
	for _, p := range pages {
		pc, spc := p.PageCode(), p.SubpageCode()
		var want bool
		switch {
		case pageCode == ModePageAll && subpageCode == 0:
			want = spc == 0
		case pageCode == ModePageAll && subpageCode == ModeSubpageAll:
			want = true
		case pc != pageCode:
			want = false
		case subpageCode == ModeSubpageAll:
			want = true
		default:
			want = spc == subpageCode
		}
		pageSeen = pageSeen || pc == pageCode
		if want {
			dst = AppendModePage(dst, p, ps)
			found = true
		}
	}
	if found {
		return dst, nil
	}
	if pageSeen && pageCode != ModePageAll {
		return dst, InvalidFieldInCDB(3, -1)
	}
	return dst, InvalidFieldInCDB(2, 5)
}
