package scsi

import (
	"bytes"
	"encoding/binary"
	"iter"
	"strconv"
	"unicode/utf8"
)

// VPD page codes (SPC-4 §7.8.1 table 467, SBC-4 §6.6.1 table 227).
const (
	VPDSupportedPages             = 0x00 // Supported VPD Pages (SPC-4 §7.8.15)
	VPDUnitSerialNumber           = 0x80 // Unit Serial Number (SPC-4 §7.8.17)
	VPDDeviceIdentification       = 0x83 // Device Identification (SPC-4 §7.8.6)
	VPDExtendedInquiry            = 0x86 // Extended INQUIRY Data (SPC-4 §7.8.7)
	VPDModePagePolicy             = 0x87 // Mode Page Policy (SPC-4 §7.8.9)
	VPDSCSIPorts                  = 0x88 // SCSI Ports (SPC-4 §7.8.13)
	VPDThirdPartyCopy             = 0x8f // Third-party Copy (SPC-4 §7.8.16)
	VPDBlockLimits                = 0xb0 // Block Limits (SBC-4 §6.6.4)
	VPDBlockDeviceCharacteristics = 0xb1 // Block Device Characteristics (SBC-4 §6.6.2)
	VPDLogicalBlockProvisioning   = 0xb2 // Logical Block Provisioning (SBC-4 §6.6.6)
)

// VPDPage is the body of a vital product data page: everything after
// the 4-byte header (SPC-4 §7.8.1 table 466) that [AppendVPD] writes.
type VPDPage interface {
	PageCode() uint8
	AppendBody(dst []byte) ([]byte, error)
}

// AppendVPD appends a VPD page (SPC-4 §7.8.1 table 466): the peripheral
// byte (see [PeripheralByte]), the PAGE CODE, the PAGE LENGTH and the
// body of p. A body longer than 65535 bytes gives a *FormatError.
func AppendVPD(dst []byte, peripheral byte, p VPDPage) ([]byte, error) {
	start := len(dst)
	dst = append(dst, peripheral, p.PageCode(), 0, 0)
	dst, err := p.AppendBody(dst)
	if err != nil {
		return dst[:start], err
	}
	n := len(dst) - start - 4
	if n > 0xffff {
		return dst[:start], fieldRange("VPD page 0x"+hex2(p.PageCode()), 2, "PAGE LENGTH")
	}
	binary.BigEndian.PutUint16(dst[start+2:], uint16(n))
	return dst, nil
}

// ParseVPD splits a VPD page (SPC-4 §7.8.1) into its peripheral byte,
// page code and body. The body is cut to the PAGE LENGTH; data shorter
// than the PAGE LENGTH (an allocation length cut it) is accepted and the
// body is what there is. Errors are *FormatError.
func ParseVPD(b []byte) (peripheral, pageCode byte, body []byte, err error) {
	if len(b) < 4 {
		return 0, 0, nil, shortData("VPD page", 2, "PAGE LENGTH")
	}
	n := min(int(binary.BigEndian.Uint16(b[2:])), len(b)-4)
	return b[0], b[1], b[4 : 4+n], nil
}

// SupportedVPDPages is the Supported VPD Pages page, 00h (SPC-4 §7.8.15
// table 515): the page codes the device server returns, in ascending
// order.
type SupportedVPDPages []byte

// PageCode returns VPDSupportedPages.
func (SupportedVPDPages) PageCode() uint8 { return VPDSupportedPages }

// AppendBody appends the page codes.
func (p SupportedVPDPages) AppendBody(dst []byte) ([]byte, error) { return append(dst, p...), nil }

// UnitSerialNumber is the Unit Serial Number page, 80h (SPC-4 §7.8.17
// table 518): the PRODUCT SERIAL NUMBER, printable ASCII.
type UnitSerialNumber string

// PageCode returns VPDUnitSerialNumber.
func (UnitSerialNumber) PageCode() uint8 { return VPDUnitSerialNumber }

// AppendBody appends the serial number, rejecting non-printable ASCII
// (SPC-4 §4.3.1) with a *FormatError.
func (s UnitSerialNumber) AppendBody(dst []byte) ([]byte, error) {
	return appendASCII(dst, string(s), len(s), "VPD page 0x80", 4, "PRODUCT SERIAL NUMBER")
}

// ParseUnitSerialNumber decodes the body of the Unit Serial Number page,
// trimming spaces and NULs on both sides: SPC-4 §4.3.1 pads ASCII fields
// on the right, but devices such as tgtd right-align serial numbers.
func ParseUnitSerialNumber(body []byte) UnitSerialNumber {
	return UnitSerialNumber(bytes.Trim(body, " \x00"))
}

// Protocol identifiers (SPC-4 §7.6.1 table 444).
const (
	ProtocolFC    = 0x0
	ProtocolSAS   = 0x6
	ProtocolISCSI = 0x5 // RFC 7143
	ProtocolSRP   = 0x4
	ProtocolSOP   = 0xa // SCSI over PCIe
	ProtocolNone  = 0xf // no specific protocol
)

// Code sets of designation descriptors (SPC-4 §7.8.6.1 table 474).
const (
	CodeSetBinary = 0x1
	CodeSetASCII  = 0x2
	CodeSetUTF8   = 0x3
)

// Associations of designation descriptors (SPC-4 §7.8.6.1 table 475).
const (
	AssociationLogicalUnit  = 0x0 // the designator names the logical unit
	AssociationTargetPort   = 0x1 // the target port that received the INQUIRY
	AssociationTargetDevice = 0x2 // the SCSI target device holding the logical unit
)

// Designator types (SPC-4 §7.8.6.1 table 476).
const (
	DesignatorVendorSpecific     = 0x0
	DesignatorT10VendorID        = 0x1 // SPC-4 §7.8.6.4
	DesignatorEUI64              = 0x2 // SPC-4 §7.8.6.5
	DesignatorNAA                = 0x3 // SPC-4 §7.8.6.6
	DesignatorRelativeTargetPort = 0x4 // SPC-4 §7.8.6.7
	DesignatorTargetPortGroup    = 0x5 // SPC-4 §7.8.6.8
	DesignatorLogicalUnitGroup   = 0x6 // SPC-4 §7.8.6.9
	DesignatorMD5LogicalUnit     = 0x7 // SPC-4 §7.8.6.10
	DesignatorSCSINameString     = 0x8 // SPC-4 §7.8.6.11
	DesignatorProtocolSpecific   = 0x9 // SPC-4 §7.8.6.12
	DesignatorUUID               = 0xa // SPC-5
)

// Designator is one designation descriptor of the Device Identification
// page (SPC-4 §7.8.6.1 table 473).
type Designator struct {
	ProtocolIdentifier uint8 // PROTOCOL IDENTIFIER, meaningful when PIV
	CodeSet            uint8 // CODE SET
	PIV                bool  // PIV: the PROTOCOL IDENTIFIER is valid
	Association        uint8 // ASSOCIATION
	Type               uint8 // DESIGNATOR TYPE
	// Value is the DESIGNATOR; parsed values alias the page.
	Value []byte
}

// DeviceIdentification is the Device Identification page, 83h (SPC-4
// §7.8.6 table 472): a list of designation descriptors.
type DeviceIdentification []Designator

// PageCode returns VPDDeviceIdentification.
func (DeviceIdentification) PageCode() uint8 { return VPDDeviceIdentification }

// AppendBody appends the designation descriptors. A designator longer
// than 255 bytes, or a field out of range, gives a *FormatError.
func (p DeviceIdentification) AppendBody(dst []byte) ([]byte, error) {
	const format = "VPD page 0x83"
	start := len(dst)
	for _, d := range p {
		if len(d.Value) > 0xff || d.ProtocolIdentifier > 0xf || d.CodeSet > 0xf || d.Association > 3 || d.Type > 0xf {
			return dst[:start], fieldRange(format, len(dst)-start+4, "designation descriptor")
		}
		dst = append(dst, d.ProtocolIdentifier<<4|d.CodeSet, flag(d.PIV, 0x80)|d.Association<<4|d.Type, 0, byte(len(d.Value)))
		dst = append(dst, d.Value...)
	}
	return dst, nil
}

// ParseDeviceIdentification decodes the body of the Device Identification
// page. A descriptor that overruns the body is malformed. Values alias
// body. Errors are *FormatError.
func ParseDeviceIdentification(body []byte) (DeviceIdentification, error) {
	var p DeviceIdentification
	for i := 0; i < len(body); {
		if i+4 > len(body) {
			return nil, malformed("VPD page 0x83", 4+i, "designation descriptor header")
		}
		n := int(body[i+3])
		if i+4+n > len(body) {
			return nil, malformed("VPD page 0x83", 4+i+3, "DESIGNATOR LENGTH")
		}
		p = append(p, Designator{
			ProtocolIdentifier: body[i] >> 4,
			CodeSet:            body[i] & 0x0f,
			PIV:                body[i+1]&0x80 != 0,
			Association:        body[i+1] >> 4 & 3,
			Type:               body[i+1] & 0x0f,
			Value:              body[i+4 : i+4+n],
		})
		i += 4 + n
	}
	return p, nil
}

// NAAIEEERegistered returns an NAA IEEE Registered designator value (NAA
// 5h, SPC-4 §7.8.6.6.4 table 486): the 24-bit IEEE COMPANY_ID and a 36-bit
// VENDOR SPECIFIC IDENTIFIER.
func NAAIEEERegistered(companyID uint32, vendorSpecific uint64) [8]byte {
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], 0x5<<60|uint64(companyID&0xffffff)<<36|vendorSpecific&(1<<36-1))
	return b
}

// NAAIEEERegisteredExtended returns an NAA IEEE Registered Extended
// designator value (NAA 6h, SPC-4 §7.8.6.6.5 table 487): the 24-bit IEEE
// COMPANY_ID, a 36-bit VENDOR SPECIFIC IDENTIFIER and a 64-bit VENDOR
// SPECIFIC IDENTIFIER EXTENSION.
func NAAIEEERegisteredExtended(companyID uint32, vendorSpecific, extension uint64) [16]byte {
	var b [16]byte
	binary.BigEndian.PutUint64(b[:], 0x6<<60|uint64(companyID&0xffffff)<<36|vendorSpecific&(1<<36-1))
	binary.BigEndian.PutUint64(b[8:], extension)
	return b
}

// NAADesignator returns a logical unit designator of type NAA (SPC-4
// §7.8.6.6) holding value, an 8- or 16-byte NAA identifier.
func NAADesignator(value []byte) Designator {
	return Designator{CodeSet: CodeSetBinary, Association: AssociationLogicalUnit, Type: DesignatorNAA, Value: value}
}

// T10VendorIDDesignator returns a logical unit designator of type T10
// vendor ID (SPC-4 §7.8.6.4 table 479): the 8-byte T10 VENDOR
// IDENTIFICATION, space padded, followed by a vendor specific identifier.
func T10VendorIDDesignator(vendor, id string) Designator {
	v, _ := appendASCII(nil, vendor[:min(len(vendor), 8)], 8, "", 0, "")
	return Designator{CodeSet: CodeSetASCII, Association: AssociationLogicalUnit, Type: DesignatorT10VendorID, Value: append(v, id...)}
}

// SCSINameDesignator returns a designator of type SCSI name string (SPC-4
// §7.8.6.11 table 494) with the given association: name in UTF-8, null
// terminated and null padded to a multiple of four bytes. With an
// association other than the logical unit, the PROTOCOL IDENTIFIER is
// iSCSI and PIV is one. A name that is not valid UTF-8 or does not fit in
// 255 bytes gives a *FormatError.
func SCSINameDesignator(association uint8, name string) (Designator, error) {
	n := (len(name) + 4) &^ 3
	if !utf8.ValidString(name) || n > 0xfc {
		return Designator{}, fieldRange("VPD page 0x83", 4, "SCSI NAME STRING")
	}
	v := make([]byte, n)
	copy(v, name)
	d := Designator{CodeSet: CodeSetUTF8, Association: association, Type: DesignatorSCSINameString, Value: v}
	if association != AssociationLogicalUnit {
		d.ProtocolIdentifier, d.PIV = ProtocolISCSI, true
	}
	return d, nil
}

// ISCSITargetPortName returns the SCSI target port name of an iSCSI
// target port: the iSCSI name, ",t,0x" and the target portal group tag in
// four hexadecimal digits (the SCSI port names of RFC 7143, carried in
// the SCSI name string of SPC-4 §7.8.6.11; the form Linux LIO reports).
func ISCSITargetPortName(targetName string, tpgt uint16) string {
	return targetName + ",t,0x" + pad0(strconv.FormatUint(uint64(tpgt), 16), 4)
}

// ISCSIInitiatorPortName returns the SCSI initiator port name of an iSCSI
// initiator port: the iSCSI name, ",i,0x" and the 6-byte ISID in twelve
// hexadecimal digits (the SCSI initiator port name of RFC 7143, used in
// iSCSI TransportIDs of SPC-4 §7.6.4.6).
func ISCSIInitiatorPortName(initiatorName string, isid [6]byte) string {
	var u uint64
	for _, c := range isid {
		u = u<<8 | uint64(c)
	}
	return initiatorName + ",i,0x" + pad0(strconv.FormatUint(u, 16), 12)
}

// pad0 left-pads s with zeros to n characters.
func pad0(s string, n int) string {
	for len(s) < n {
		s = "0" + s
	}
	return s
}

// relativeDesignator returns a 4-byte designator whose last two bytes
// hold id (SPC-4 §7.8.6.7-§7.8.6.9).
func relativeDesignator(assoc, typ uint8, id uint16) Designator {
	d := Designator{CodeSet: CodeSetBinary, Association: assoc, Type: typ, Value: []byte{0, 0, byte(id >> 8), byte(id)}}
	if assoc == AssociationTargetPort {
		d.ProtocolIdentifier, d.PIV = ProtocolISCSI, true
	}
	return d
}

// RelativeTargetPortDesignator returns the target port designator of type
// relative target port identifier (SPC-4 §7.8.6.7 table 488), with the
// iSCSI protocol identifier.
func RelativeTargetPortDesignator(id uint16) Designator {
	return relativeDesignator(AssociationTargetPort, DesignatorRelativeTargetPort, id)
}

// TargetPortGroupDesignator returns the target port designator of type
// target port group (SPC-4 §7.8.6.8 table 490), with the iSCSI protocol
// identifier.
func TargetPortGroupDesignator(group uint16) Designator {
	return relativeDesignator(AssociationTargetPort, DesignatorTargetPortGroup, group)
}

// LogicalUnitGroupDesignator returns the logical unit designator of type
// logical unit group (SPC-4 §7.8.6.9 table 491).
func LogicalUnitGroupDesignator(group uint16) Designator {
	return relativeDesignator(AssociationLogicalUnit, DesignatorLogicalUnitGroup, group)
}

// SCSIName returns the SCSI NAME STRING of a designator of that type,
// without its null padding.
func (d Designator) SCSIName() string {
	v := d.Value
	for len(v) > 0 && v[len(v)-1] == 0 {
		v = v[:len(v)-1]
	}
	return string(v)
}

// BlockLimits is the Block Limits page, B0h (SBC-4 §6.6.4 table 229).
// Lengths are in logical blocks; zero means no limit reported.
type BlockLimits struct {
	WSNZ                             bool   // WSNZ: WRITE SAME with zero blocks is not supported
	MaxCompareAndWriteLength         uint8  // MAXIMUM COMPARE AND WRITE LENGTH
	OptimalTransferLengthGranularity uint16 // OPTIMAL TRANSFER LENGTH GRANULARITY
	MaxTransferLength                uint32 // MAXIMUM TRANSFER LENGTH
	OptimalTransferLength            uint32 // OPTIMAL TRANSFER LENGTH
	MaxPrefetchLength                uint32 // MAXIMUM PREFETCH LENGTH
	MaxUnmapLBACount                 uint32 // MAXIMUM UNMAP LBA COUNT
	MaxUnmapBlockDescriptorCount     uint32 // MAXIMUM UNMAP BLOCK DESCRIPTOR COUNT
	OptimalUnmapGranularity          uint32 // OPTIMAL UNMAP GRANULARITY
	UGAValid                         bool   // UGAVALID: the alignment field is valid
	UnmapGranularityAlignment        uint32 // UNMAP GRANULARITY ALIGNMENT, 31 bits
	MaxWriteSameLength               uint64 // MAXIMUM WRITE SAME LENGTH
	MaxAtomicTransferLength          uint32 // MAXIMUM ATOMIC TRANSFER LENGTH
	AtomicAlignment                  uint32 // ATOMIC ALIGNMENT
	AtomicTransferLengthGranularity  uint32 // ATOMIC TRANSFER LENGTH GRANULARITY
	MaxAtomicTransferLengthBoundary  uint32 // MAXIMUM ATOMIC TRANSFER LENGTH WITH ATOMIC BOUNDARY
	MaxAtomicBoundarySize            uint32 // MAXIMUM ATOMIC BOUNDARY SIZE
}

// BlockLimitsLength is the PAGE LENGTH of the Block Limits page (SBC-4
// table 229): 3Ch.
const BlockLimitsLength = 0x3c

// PageCode returns VPDBlockLimits.
func (BlockLimits) PageCode() uint8 { return VPDBlockLimits }

// AppendBody appends the 60 bytes after the header.
func (p BlockLimits) AppendBody(dst []byte) ([]byte, error) {
	if p.UnmapGranularityAlignment > 0x7fffffff {
		return dst, fieldRange("VPD page 0xb0", 32, "UNMAP GRANULARITY ALIGNMENT")
	}
	dst = append(dst, flag(p.WSNZ, 0x01), p.MaxCompareAndWriteLength)
	dst = binary.BigEndian.AppendUint16(dst, p.OptimalTransferLengthGranularity)
	for _, v := range [...]uint32{p.MaxTransferLength, p.OptimalTransferLength, p.MaxPrefetchLength,
		p.MaxUnmapLBACount, p.MaxUnmapBlockDescriptorCount, p.OptimalUnmapGranularity} {
		dst = binary.BigEndian.AppendUint32(dst, v)
	}
	uga := p.UnmapGranularityAlignment
	if p.UGAValid {
		uga |= 0x80000000
	}
	dst = binary.BigEndian.AppendUint32(dst, uga)
	dst = binary.BigEndian.AppendUint64(dst, p.MaxWriteSameLength)
	for _, v := range [...]uint32{p.MaxAtomicTransferLength, p.AtomicAlignment, p.AtomicTransferLengthGranularity,
		p.MaxAtomicTransferLengthBoundary, p.MaxAtomicBoundarySize} {
		dst = binary.BigEndian.AppendUint32(dst, v)
	}
	return dst, nil
}

// ParseBlockLimits decodes the body of the Block Limits page. Devices
// that follow SBC-2 return a 12-byte body (PAGE LENGTH 0Ch) and SBC-3
// devices may stop after 36 or 40 bytes; fields past the end of body are
// zero.
func ParseBlockLimits(body []byte) BlockLimits {
	var b [BlockLimitsLength]byte
	copy(b[:], body)
	u32 := func(i int) uint32 { return binary.BigEndian.Uint32(b[i-4:]) }
	return BlockLimits{
		WSNZ:                             b[0]&0x01 != 0,
		MaxCompareAndWriteLength:         b[1],
		OptimalTransferLengthGranularity: binary.BigEndian.Uint16(b[2:]),
		MaxTransferLength:                u32(8),
		OptimalTransferLength:            u32(12),
		MaxPrefetchLength:                u32(16),
		MaxUnmapLBACount:                 u32(20),
		MaxUnmapBlockDescriptorCount:     u32(24),
		OptimalUnmapGranularity:          u32(28),
		UGAValid:                         b[28]&0x80 != 0,
		UnmapGranularityAlignment:        u32(32) & 0x7fffffff,
		MaxWriteSameLength:               binary.BigEndian.Uint64(b[32:]),
		MaxAtomicTransferLength:          u32(44),
		AtomicAlignment:                  u32(48),
		AtomicTransferLengthGranularity:  u32(52),
		MaxAtomicTransferLengthBoundary:  u32(56),
		MaxAtomicBoundarySize:            u32(60),
	}
}

// MEDIUM ROTATION RATE values (SBC-4 §6.6.2 table 224).
const (
	RotationRateNotReported = 0x0000
	RotationRateNonRotating = 0x0001 // solid state
)

// NOMINAL FORM FACTOR values (SBC-4 §6.6.2 table 226).
const (
	FormFactorNotReported = 0x0
	FormFactor5_25        = 0x1
	FormFactor3_5         = 0x2
	FormFactor2_5         = 0x3
	FormFactor1_8         = 0x4
	FormFactorLess1_8     = 0x5
)

// BlockDeviceCharacteristics is the Block Device Characteristics page,
// B1h (SBC-4 §6.6.2 table 223).
type BlockDeviceCharacteristics struct {
	MediumRotationRate uint16 // MEDIUM ROTATION RATE: RotationRateNonRotating, or rpm
	ProductType        uint8  // PRODUCT TYPE
	WABEREQ            uint8  // WABEREQ, 2 bits
	WACEREQ            uint8  // WACEREQ, 2 bits
	NominalFormFactor  uint8  // NOMINAL FORM FACTOR, 4 bits
	Zoned              uint8  // ZONED, 2 bits
	FUAB               bool   // FUAB
	VBULS              bool   // VBULS
}

// PageCode returns VPDBlockDeviceCharacteristics.
func (BlockDeviceCharacteristics) PageCode() uint8 { return VPDBlockDeviceCharacteristics }

// AppendBody appends the 60 bytes after the header (PAGE LENGTH 3Ch).
func (p BlockDeviceCharacteristics) AppendBody(dst []byte) ([]byte, error) {
	if p.WABEREQ > 3 || p.WACEREQ > 3 || p.NominalFormFactor > 0xf || p.Zoned > 3 {
		return dst, fieldRange("VPD page 0xb1", 7, "WABEREQ, WACEREQ, NOMINAL FORM FACTOR or ZONED")
	}
	dst = binary.BigEndian.AppendUint16(dst, p.MediumRotationRate)
	dst = append(dst, p.ProductType, p.WABEREQ<<6|p.WACEREQ<<4|p.NominalFormFactor, p.Zoned<<4|flag(p.FUAB, 0x02)|flag(p.VBULS, 0x01))
	return append(dst, make([]byte, 0x3c-5)...), nil
}

// ParseBlockDeviceCharacteristics decodes the body of the Block Device
// Characteristics page; fields past the end of body are zero.
func ParseBlockDeviceCharacteristics(body []byte) BlockDeviceCharacteristics {
	var b [5]byte
	copy(b[:], body)
	return BlockDeviceCharacteristics{
		MediumRotationRate: binary.BigEndian.Uint16(b[:]),
		ProductType:        b[2],
		WABEREQ:            b[3] >> 6,
		WACEREQ:            b[3] >> 4 & 3,
		NominalFormFactor:  b[3] & 0xf,
		Zoned:              b[4] >> 4 & 3,
		FUAB:               b[4]&0x02 != 0,
		VBULS:              b[4]&0x01 != 0,
	}
}

// PROVISIONING TYPE values (SBC-4 §6.6.6 table 235).
const (
	ProvisioningFull     = 0x0 // fully provisioned (or not reported)
	ProvisioningResource = 0x1 // resource provisioned
	ProvisioningThin     = 0x2 // thin provisioned
)

// LogicalBlockProvisioning is the Logical Block Provisioning page, B2h
// (SBC-4 §6.6.6 table 234).
type LogicalBlockProvisioning struct {
	ThresholdExponent uint8 // THRESHOLD EXPONENT
	LBPU              bool  // LBPU: UNMAP supported
	LBPWS             bool  // LBPWS: WRITE SAME(16) with UNMAP supported
	LBPWS10           bool  // LBPWS10: WRITE SAME(10) with UNMAP supported
	// LBPRZ is the LBPRZ field, 3 bits in SBC-4 (one bit, bit 2, in
	// SBC-3): 1 means unmapped blocks read as zeros.
	LBPRZ               uint8
	ANCSup              bool  // ANC_SUP: ANCHOR supported
	MinimumPercentage   uint8 // MINIMUM PERCENTAGE, 5 bits
	ProvisioningType    uint8 // PROVISIONING TYPE, 3 bits
	ThresholdPercentage uint8 // THRESHOLD PERCENTAGE
	// ProvisioningGroupDescriptor is the designation descriptor that
	// follows when DP is one; DP is set when it is non-empty.
	ProvisioningGroupDescriptor []byte
}

// PageCode returns VPDLogicalBlockProvisioning.
func (LogicalBlockProvisioning) PageCode() uint8 { return VPDLogicalBlockProvisioning }

// AppendBody appends the 4 bytes after the header and the provisioning
// group descriptor, if any.
func (p LogicalBlockProvisioning) AppendBody(dst []byte) ([]byte, error) {
	if p.LBPRZ > 7 || p.MinimumPercentage > 0x1f || p.ProvisioningType > 7 {
		return dst, fieldRange("VPD page 0xb2", 5, "LBPRZ, MINIMUM PERCENTAGE or PROVISIONING TYPE")
	}
	dst = append(dst, p.ThresholdExponent,
		flag(p.LBPU, 0x80)|flag(p.LBPWS, 0x40)|flag(p.LBPWS10, 0x20)|p.LBPRZ<<2|flag(p.ANCSup, 0x02)|flag(len(p.ProvisioningGroupDescriptor) > 0, 0x01),
		p.MinimumPercentage<<3|p.ProvisioningType, p.ThresholdPercentage)
	return append(dst, p.ProvisioningGroupDescriptor...), nil
}

// ParseLogicalBlockProvisioning decodes the body of the Logical Block
// Provisioning page. A body shorter than 4 bytes is short. Errors are
// *FormatError.
func ParseLogicalBlockProvisioning(body []byte) (LogicalBlockProvisioning, error) {
	if len(body) < 4 {
		return LogicalBlockProvisioning{}, shortData("VPD page 0xb2", 7, "THRESHOLD PERCENTAGE")
	}
	p := LogicalBlockProvisioning{
		ThresholdExponent:   body[0],
		LBPU:                body[1]&0x80 != 0,
		LBPWS:               body[1]&0x40 != 0,
		LBPWS10:             body[1]&0x20 != 0,
		LBPRZ:               body[1] >> 2 & 7,
		ANCSup:              body[1]&0x02 != 0,
		MinimumPercentage:   body[2] >> 3,
		ProvisioningType:    body[2] & 7,
		ThresholdPercentage: body[3],
	}
	if body[1]&0x01 != 0 {
		p.ProvisioningGroupDescriptor = body[4:]
	}
	return p, nil
}

// All yields the page codes.
func (p SupportedVPDPages) All() iter.Seq[uint8] {
	return func(yield func(uint8) bool) {
		for _, c := range p {
			if !yield(c) {
				return
			}
		}
	}
}
