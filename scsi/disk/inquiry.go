package disk

import (
	"encoding/binary"
	"strings"

	"github.com/go-iscsi/iscsi/scsi"
)

// VPD page codes the logical unit supports (SPC-4 §7.8, SBC-4 §6.6).
const (
	vpdSupportedPages             = 0x00 // SPC-4 §7.8.14
	vpdUnitSerialNumber           = 0x80 // SPC-4 §7.8.15
	vpdDeviceIdentification       = 0x83 // SPC-4 §7.8.6
	vpdThirdPartyCopy             = 0x8f // SPC-4 §7.8.17
	vpdBlockLimits                = 0xb0 // SBC-4 §6.6.3
	vpdBlockDeviceCharacteristics = 0xb1 // SBC-4 §6.6.2
	vpdLogicalBlockProvisioning   = 0xb2 // SBC-4 §6.6.4
)

var vpdPages = [...]byte{vpdSupportedPages, vpdUnitSerialNumber, vpdDeviceIdentification,
	vpdThirdPartyCopy, vpdBlockLimits, vpdBlockDeviceCharacteristics, vpdLogicalBlockProvisioning}

// Version descriptors of the standard INQUIRY data (SPC-4 §6.6.2 table
// 144): SAM-5, SPC-4, SBC-3.
var versionDescriptors = [...]uint16{0x00a0, 0x0460, 0x04c0}

// inquiry serves INQUIRY (SPC-4 §6.6): the standard data when EVPD is
// zero (PAGE CODE must then be zero), or a VPD page. The data is built
// with the builders of package scsi.
func (lu *LU) inquiry(req *Request) Response {
	cdb := req.CDB
	evpd, page := cdb[1]&0x01 != 0, cdb[2]
	alloc := int(binary.BigEndian.Uint16(cdb[3:]))
	if !evpd {
		if page != 0 {
			return invalidCDB(2, -1)
		}
		return lu.putBuilt(req, alloc)(lu.standardInquiry().Append(nil))
	}
	var p scsi.VPDPage
	switch page {
	case vpdSupportedPages:
		p = scsi.SupportedVPDPages(vpdPages[:])
	case vpdUnitSerialNumber:
		p = scsi.UnitSerialNumber(lu.cfg.SerialNumber)
	case vpdDeviceIdentification:
		p = lu.deviceIdentification(req.Nexus)
	case vpdThirdPartyCopy:
		p = lu.thirdPartyCopy()
	case vpdBlockLimits:
		p = lu.blockLimits()
	case vpdBlockDeviceCharacteristics:
		p = lu.blockDeviceCharacteristics()
	case vpdLogicalBlockProvisioning:
		var lbp scsi.LogicalBlockProvisioning
		if lu.thin {
			// SBC-4 §6.6.4: UNMAP and WRITE SAME(10/16) with UNMAP, LBPRZ
			// 001b (deallocated blocks read as zeros), thin provisioned.
			lbp = scsi.LogicalBlockProvisioning{LBPU: true, LBPWS: true, LBPWS10: true, LBPRZ: 1, ProvisioningType: 2}
		}
		p = lbp
	default:
		return invalidCDB(2, -1)
	}
	return lu.putBuilt(req, alloc)(scsi.AppendVPD(nil, scsi.PeripheralByte(scsi.QualifierConnected, scsi.DeviceTypeDirectAccess), p))
}

// putBuilt returns a function that sends the output of a package scsi
// builder, or INTERNAL TARGET FAILURE if the builder refused a value the
// configuration should have ruled out.
func (lu *LU) putBuilt(req *Request, alloc int) func([]byte, error) Response {
	return func(b []byte, err error) Response {
		if err != nil {
			return senseResponse(scsi.SenseHardwareError, scsi.ASCInternalTargetFailure)
		}
		return putDataIn(req, b, alloc)
	}
}

// standardInquiry is the standard INQUIRY data (SPC-4 §6.6.2): a direct
// access block device claiming SPC-4, HISUP and CMDQUE, with the version
// descriptors of SAM-5, SPC-4 and SBC-3.
func (lu *LU) standardInquiry() scsi.InquiryData {
	d := scsi.InquiryData{
		PeripheralDeviceType: scsi.DeviceTypeDirectAccess,
		RMB:                  lu.cfg.Removable,
		Version:              scsi.VersionSPC4,
		HiSup:                true,
		ThreePC:              true, // EXTENDED COPY within the logical unit
		CmdQue:               true,
		VendorID:             lu.cfg.Vendor,
		ProductID:            lu.cfg.Product,
		ProductRevision:      lu.cfg.Revision,
	}
	copy(d.VersionDescriptors[:], versionDescriptors[:])
	return d
}

// deviceIdentification builds the Device Identification VPD page (SPC-4
// §7.8.6): the NAA and T10 vendor ID designators of the logical unit, and
// for the nexus's target port its SCSI name string, relative target port
// and target port group designators. The target port designators carry
// PROTOCOL IDENTIFIER 5h (iSCSI) with PIV set when the target port name
// has the iSCSI ",t,0x" form, and no protocol otherwise.
func (lu *LU) deviceIdentification(n Nexus) scsi.DeviceIdentification {
	id := strings.TrimRight(lu.cfg.Product, " ")
	if lu.cfg.SerialNumber != "" {
		id += ":" + lu.cfg.SerialNumber
	}
	if lu.cfg.DeviceID != "" {
		id = lu.cfg.DeviceID
	}
	page := scsi.DeviceIdentification{
		scsi.NAADesignator(lu.cfg.NAA[:]),
		scsi.T10VendorIDDesignator(lu.cfg.Vendor, id),
	}
	var port []scsi.Designator
	if n.TargetPort != "" {
		if d, err := scsi.SCSINameDesignator(scsi.AssociationTargetPort, n.TargetPort); err == nil {
			port = append(port, d)
		}
	}
	if n.RelativeTargetPort != 0 {
		port = append(port, scsi.RelativeTargetPortDesignator(n.RelativeTargetPort), scsi.TargetPortGroupDesignator(n.TargetPortGroup))
	}
	iscsi := strings.Contains(n.TargetPort, ",t,0x")
	for i := range port {
		port[i].PIV = iscsi
		if !iscsi {
			port[i].ProtocolIdentifier = 0
		}
	}
	return append(page, port...)
}

// blockLimits is the Block Limits VPD page (SBC-4 §6.6.3).
func (lu *LU) blockLimits() scsi.BlockLimits {
	c := lu.cfg
	bl := scsi.BlockLimits{
		WSNZ:                             false, // zero blocks: to the last LBA (SBC-4 §5.49)
		MaxCompareAndWriteLength:         c.MaxCompareAndWriteLength,
		OptimalTransferLengthGranularity: c.OptimalTransferLengthGranularity,
		MaxTransferLength:                c.MaxTransferLength,
		OptimalTransferLength:            c.OptimalTransferLength,
		MaxPrefetchLength:                c.MaxTransferLength,
		MaxWriteSameLength:               c.MaxWriteSameLength,
		MaxAtomicTransferLength:          c.MaxAtomicTransferLength,
		AtomicAlignment:                  1,
		AtomicTransferLengthGranularity:  1,
	}
	if lu.thin {
		bl.MaxUnmapLBACount = c.MaxUnmapLBACount
		bl.MaxUnmapBlockDescriptorCount = c.MaxUnmapBlockDescriptorCount
		// 4 KiB or a physical block, whichever is more, aligned
		// with LBA 0 as the physical blocks are.
		bl.OptimalUnmapGranularity = uint32(max(4096, int64(c.PhysicalBlockSize)) / lu.bs)
		bl.UGAValid = true
	}
	return bl
}

// requestSense serves REQUEST SENSE (SPC-4 §6.39): a pending unit
// attention is returned and cleared; with no medium, NOT READY, MEDIUM
// NOT PRESENT; during a sanitize operation, NOT READY, SANITIZE IN
// PROGRESS with its progress indication (SBC-4 §4.11); otherwise NO
// SENSE. DESC selects the format.
func (lu *LU) requestSense(req *Request) Response {
	cdb := req.CDB
	desc := cdb[1]&0x01 != 0
	alloc := int(cdb[4])
	s := scsi.Sense{}
	if code, ok := lu.takeUA(req.Nexus); ok {
		s = scsi.NewSense(scsi.SenseUnitAttention, code)
	} else if lu.noMedium.Load() {
		s = scsi.NewSense(scsi.SenseNotReady, scsi.ASCMediumNotPresent)
	} else if lu.sanitizing.Load() {
		s = lu.sanitizeInProgress()
	}
	var buf [64]byte
	var out []byte
	if desc {
		out = s.AppendDescriptor(buf[:0])
	} else {
		out = s.AppendFixed(buf[:0])
	}
	return putDataIn(req, out, alloc)
}
