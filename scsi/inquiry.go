package scsi

import (
	"bytes"
	"encoding/binary"
)

// Peripheral device types (SPC-4 §6.6.2 table 146).
const (
	DeviceTypeDirectAccess      = 0x00 // SBC-4 direct access block device
	DeviceTypeSequentialAccess  = 0x01 // SSC-4 tape
	DeviceTypeProcessor         = 0x03
	DeviceTypeWriteOnce         = 0x04
	DeviceTypeCDDVD             = 0x05 // MMC-6
	DeviceTypeOpticalMemory     = 0x07
	DeviceTypeMediumChanger     = 0x08
	DeviceTypeStorageArray      = 0x0c // SCC-2 storage array controller
	DeviceTypeEnclosureServices = 0x0d // SES-3
	DeviceTypeSimplifiedDirect  = 0x0e // RBC
	DeviceTypeOpticalCardReader = 0x0f
	DeviceTypeObjectStorage     = 0x11 // OSD-2
	DeviceTypeAutomationDrive   = 0x12
	DeviceTypeHostManagedZoned  = 0x14 // ZBC
	DeviceTypeWellKnownLU       = 0x1e
	DeviceTypeUnknown           = 0x1f // unknown or no device type
)

// Peripheral qualifiers (SPC-4 §6.6.2 table 145).
const (
	QualifierConnected    = 0x0 // the device type is connected to this logical unit
	QualifierNotConnected = 0x1 // the device server can support the device type, but none is connected
	QualifierNotCapable   = 0x3 // no logical unit here: byte 0 reads 7Fh (SPC-4 §6.6.2)
)

// VERSION values of standard INQUIRY data (SPC-4 §6.6.2 table 147).
const (
	VersionNone = 0x00 // no conformance claimed
	VersionSPC2 = 0x04
	VersionSPC3 = 0x05
	VersionSPC4 = 0x06
	VersionSPC5 = 0x07
)

// Version descriptors of standard INQUIRY data (SPC-4 §6.6.2 table 148,
// the "no version claimed" entries).
const (
	VersionDescriptorSAM5  = 0x00a0 // SAM-5
	VersionDescriptorSPC4  = 0x0460 // SPC-4
	VersionDescriptorSPC5  = 0x05c0 // SPC-5
	VersionDescriptorSBC3  = 0x04c0 // SBC-3
	VersionDescriptorSBC4  = 0x0600 // SBC-4
	VersionDescriptorISCSI = 0x0960 // iSCSI
)

// Target port group support values of the TPGS field (SPC-4 §6.6.2 table
// 149).
const (
	TPGSNone     = 0 // asymmetric logical unit access not supported
	TPGSImplicit = 1 // implicit access only
	TPGSExplicit = 2 // explicit access only
	TPGSBoth     = 3 // both
)

// StandardInquiryLength is the length of standard INQUIRY data as
// [InquiryData.Append] builds it: 96 bytes, through the eight version
// descriptors and the reserved bytes that follow them (SPC-4 §6.6.2 table
// 144).
const StandardInquiryLength = 96

// InquiryData is standard INQUIRY data (SPC-4 §6.6.2 table 144).
type InquiryData struct {
	PeripheralQualifier  uint8 // PERIPHERAL QUALIFIER, 3 bits
	PeripheralDeviceType uint8 // PERIPHERAL DEVICE TYPE, 5 bits
	RMB                  bool  // RMB: removable medium
	LUCong               bool  // LU_CONG: the logical unit is a conglomerate
	Version              uint8 // VERSION: VersionSPC4, VersionSPC5
	NormACA              bool  // NORMACA: the device server supports NACA one
	HiSup                bool  // HISUP: hierarchical LUNs
	// ResponseDataFormat is the RESPONSE DATA FORMAT, which SPC-4 fixes
	// at 2; Append writes 2 when it is zero.
	ResponseDataFormat uint8
	SCCS               bool  // SCCS: embedded storage array controller
	ACC                bool  // ACC: access controls coordinator
	TPGS               uint8 // TPGS, 2 bits: asymmetric logical unit access
	ThreePC            bool  // 3PC: third-party copy (EXTENDED COPY) supported
	Protect            bool  // PROTECT: protection information supported
	EncServ            bool  // ENCSERV: embedded enclosure services
	MultiP             bool  // MULTIP: multiple SCSI ports
	CmdQue             bool  // CMDQUE: full task management model
	// VendorID, ProductID and ProductRevision are the T10 VENDOR
	// IDENTIFICATION (8 bytes), PRODUCT IDENTIFICATION (16) and PRODUCT
	// REVISION LEVEL (4): printable ASCII, left-aligned and padded with
	// spaces on the wire (SPC-4 §4.3.1); Parse trims the padding.
	VendorID        string
	ProductID       string
	ProductRevision string
	// VersionDescriptors are the VERSION DESCRIPTOR fields; zero entries
	// are unused.
	VersionDescriptors [8]uint16
}

// PeripheralByte returns byte 0 of INQUIRY and VPD data: PERIPHERAL
// QUALIFIER and PERIPHERAL DEVICE TYPE.
func PeripheralByte(qualifier, deviceType uint8) byte { return qualifier<<5 | deviceType&0x1f }

// appendASCII appends s padded with spaces to n bytes, checking that it
// holds only the printable ASCII that SPC-4 §4.3.1 allows.
func appendASCII(dst []byte, s string, n int, format string, offset int, field string) ([]byte, error) {
	if len(s) > n {
		return dst, fieldRange(format, offset, field)
	}
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] > 0x7e {
			return dst, fieldRange(format, offset+i, field)
		}
	}
	dst = append(dst, s...)
	for range n - len(s) {
		dst = append(dst, ' ')
	}
	return dst, nil
}

// trimASCII returns b without trailing spaces and NULs.
func trimASCII(b []byte) string { return string(bytes.TrimRight(b, " \x00")) }

// Append appends StandardInquiryLength bytes of standard INQUIRY data.
// A vendor, product or revision string too long for its field or holding
// other than printable ASCII gives a *FormatError matching ErrFieldRange.
func (d InquiryData) Append(dst []byte) ([]byte, error) {
	const format = "standard INQUIRY data"
	switch {
	case d.PeripheralQualifier > 7:
		return dst, fieldRange(format, 0, "PERIPHERAL QUALIFIER")
	case d.PeripheralDeviceType > 0x1f:
		return dst, fieldRange(format, 0, "PERIPHERAL DEVICE TYPE")
	case d.ResponseDataFormat > 0xf:
		return dst, fieldRange(format, 3, "RESPONSE DATA FORMAT")
	case d.TPGS > 3:
		return dst, fieldRange(format, 5, "TPGS")
	}
	start := len(dst)
	rdf := d.ResponseDataFormat
	if rdf == 0 {
		rdf = 2
	}
	dst = append(dst,
		PeripheralByte(d.PeripheralQualifier, d.PeripheralDeviceType),
		flag(d.RMB, 0x80)|flag(d.LUCong, 0x40),
		d.Version,
		flag(d.NormACA, 0x20)|flag(d.HiSup, 0x10)|rdf,
		StandardInquiryLength-5,
		flag(d.SCCS, 0x80)|flag(d.ACC, 0x40)|d.TPGS<<4|flag(d.ThreePC, 0x08)|flag(d.Protect, 0x01),
		flag(d.EncServ, 0x40)|flag(d.MultiP, 0x10),
		flag(d.CmdQue, 0x02))
	var err error
	if dst, err = appendASCII(dst, d.VendorID, 8, format, 8, "T10 VENDOR IDENTIFICATION"); err != nil {
		return dst[:start], err
	}
	if dst, err = appendASCII(dst, d.ProductID, 16, format, 16, "PRODUCT IDENTIFICATION"); err != nil {
		return dst[:start], err
	}
	if dst, err = appendASCII(dst, d.ProductRevision, 4, format, 32, "PRODUCT REVISION LEVEL"); err != nil {
		return dst[:start], err
	}
	dst = append(dst, make([]byte, 22)...) // bytes 36-55 vendor specific, 56-57 reserved
	for _, v := range d.VersionDescriptors {
		dst = binary.BigEndian.AppendUint16(dst, v)
	}
	return append(dst, make([]byte, StandardInquiryLength-74)...), nil
}

// ParseInquiryData decodes standard INQUIRY data (SPC-4 §6.6.2). It needs
// the 36 bytes through PRODUCT REVISION LEVEL that every device returns
// and reads the version descriptors when the data (cut to the ADDITIONAL
// LENGTH) holds them. Errors are *FormatError.
func ParseInquiryData(b []byte) (InquiryData, error) {
	const format = "standard INQUIRY data"
	if len(b) < 36 {
		return InquiryData{}, shortData(format, 35, "PRODUCT REVISION LEVEL")
	}
	if int(b[4])+5 < 36 {
		return InquiryData{}, malformed(format, 4, "ADDITIONAL LENGTH")
	}
	d := InquiryData{
		PeripheralQualifier:  b[0] >> 5,
		PeripheralDeviceType: b[0] & 0x1f,
		RMB:                  b[1]&0x80 != 0,
		LUCong:               b[1]&0x40 != 0,
		Version:              b[2],
		NormACA:              b[3]&0x20 != 0,
		HiSup:                b[3]&0x10 != 0,
		ResponseDataFormat:   b[3] & 0x0f,
		SCCS:                 b[5]&0x80 != 0,
		ACC:                  b[5]&0x40 != 0,
		TPGS:                 b[5] >> 4 & 3,
		ThreePC:              b[5]&0x08 != 0,
		Protect:              b[5]&0x01 != 0,
		EncServ:              b[6]&0x40 != 0,
		MultiP:               b[6]&0x10 != 0,
		CmdQue:               b[7]&0x02 != 0,
		VendorID:             trimASCII(b[8:16]),
		ProductID:            trimASCII(b[16:32]),
		ProductRevision:      trimASCII(b[32:36]),
	}
	end := min(len(b), int(b[4])+5)
	for i := range d.VersionDescriptors {
		off := 58 + 2*i
		if off+2 > end {
			break
		}
		d.VersionDescriptors[i] = binary.BigEndian.Uint16(b[off:])
	}
	return d, nil
}
