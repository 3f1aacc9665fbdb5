package disk

import (
	"errors"
	"fmt"

	"github.com/go-iscsi/iscsi/scsi"
)

// Config describes a logical unit: its identity as INQUIRY reports it
// (so udev rules keyed on vendor, model and serial keep matching), its
// geometry, and the limits it advertises in the Block Limits VPD page
// (SBC-4 §6.6.3). The zero value of every field picks a documented
// default; [New] checks the rest.
type Config struct {
	// BlockSize is the logical block length in bytes (SBC-4 §4.5):
	// 512 (the default), 1024, 2048 or 4096.
	BlockSize int
	// PhysicalBlockSize is the physical block length in bytes (SBC-4
	// §4.6): BlockSize times a power of two from 1 to 2^15, which
	// READ CAPACITY(16) reports as the LOGICAL BLOCKS PER PHYSICAL BLOCK
	// EXPONENT (SBC-4 §5.21.2), the first physical block starting at
	// LBA 0. Zero means BlockSize; 4096 with a BlockSize of 512 is a
	// 512e disk. The Block Limits defaults of the transfer and unmap
	// granularities are at least one physical block.
	PhysicalBlockSize int

	// Vendor is the T10 VENDOR IDENTIFICATION (SPC-4 §6.6.2), at most 8
	// printable ASCII characters; default "GOISCSI".
	Vendor string
	// Product is the PRODUCT IDENTIFICATION, at most 16 printable ASCII
	// characters; default "VIRTUAL-DISK".
	Product string
	// Revision is the PRODUCT REVISION LEVEL, at most 4 printable ASCII
	// characters; default "0001".
	Revision string
	// SerialNumber is the PRODUCT SERIAL NUMBER of the Unit Serial Number
	// VPD page (SPC-4 §7.8.15), printable ASCII, at most 252 characters.
	// Empty means the page reports an empty serial number and the NAA
	// designator is derived from Vendor and Product.
	SerialNumber string
	// DeviceID, when set, is the vendor specific identifier of the T10
	// vendor ID designator of the Device Identification VPD page (SPC-4
	// §7.8.6.6.3), as IET's ScsiId sets it; printable ASCII, at most 240
	// characters. Empty means Product, then ":" and SerialNumber if set.
	DeviceID string
	// NAA is the 16-byte NAA IEEE Registered Extended designator (NAA 6,
	// SPC-4 §7.8.6.6.4) of the Device Identification VPD page. Zero means
	// one derived from the serial number under the company ID in
	// NAACompanyID.
	NAA [16]byte
	// NAACompanyID is the 24-bit IEEE company ID (OUI) of a derived NAA
	// designator; zero means 0x001405, the OUI under which the Linux LIO
	// target derives its NAA designators.
	NAACompanyID uint32

	// ReadOnly makes every command that would change the medium fail with
	// DATA PROTECT, WRITE PROTECTED (SBC-4 §4.6) and sets the WP bit of
	// the mode parameter header (SBC-4 §6.5.1).
	ReadOnly bool
	// Removable sets the RMB bit (SPC-4 §6.6.2): START STOP UNIT with LOEJ
	// can eject the medium, after which media access commands fail with
	// NOT READY, MEDIUM NOT PRESENT; PREVENT ALLOW MEDIUM REMOVAL can
	// forbid the ejection.
	Removable bool
	// ThinProvisioning sets LBPME (SBC-4 §4.7.3) and enables UNMAP and
	// WRITE SAME with the UNMAP bit. It needs a backend that implements
	// [Deallocator].
	ThinProvisioning bool
	// WriteCacheDisabled clears the initial WCE bit of the Caching mode
	// page (SBC-4 §6.5.5); an initiator may change it with MODE SELECT.
	// With WCE zero every write is followed by a flush (write-through).
	// WCE is only reported one when the backend implements [Flusher].
	WriteCacheDisabled bool

	// MaxTransferLength is the MAXIMUM TRANSFER LENGTH in logical blocks
	// (SBC-4 §6.6.3); a longer READ or WRITE fails with INVALID FIELD IN
	// CDB. Default 32 MiB worth of blocks (65536 blocks of 512 bytes),
	// which is the default per-command buffer of session.Limits
	// MaxDataLength.
	MaxTransferLength uint32
	// OptimalTransferLength is the OPTIMAL TRANSFER LENGTH in blocks;
	// default MaxTransferLength.
	OptimalTransferLength uint32
	// OptimalTransferLengthGranularity is the OPTIMAL TRANSFER LENGTH
	// GRANULARITY in blocks; default 4 KiB worth or a physical block,
	// whichever is more.
	OptimalTransferLengthGranularity uint16
	// MaxUnmapLBACount is the MAXIMUM UNMAP LBA COUNT, the most blocks one
	// UNMAP block descriptor may name; default 1048576 blocks.
	MaxUnmapLBACount uint32
	// MaxUnmapBlockDescriptorCount is the MAXIMUM UNMAP BLOCK DESCRIPTOR
	// COUNT; default 256.
	MaxUnmapBlockDescriptorCount uint32
	// MaxWriteSameLength is the MAXIMUM WRITE SAME LENGTH in blocks;
	// default 4 GiB worth of blocks.
	MaxWriteSameLength uint64
	// MaxCompareAndWriteLength is the MAXIMUM COMPARE AND WRITE LENGTH in
	// blocks (SBC-4 §5.3); default 1.
	MaxCompareAndWriteLength uint8
	// MaxAtomicTransferLength is the MAXIMUM ATOMIC TRANSFER LENGTH of
	// WRITE ATOMIC(16) (SBC-4 §4.29) in blocks; default 128 KiB worth.
	MaxAtomicTransferLength uint32

	// AbortTasks, if set, is called after PERSISTENT RESERVE OUT with
	// PREEMPT AND ABORT (SPC-4 §5.12.11.4.4) with the I_T nexuses whose
	// registrations were preempted: the transport aborts their tasks in
	// this logical unit, which the logical unit cannot do itself since it
	// holds no task queue. It runs on the goroutine of the command, after
	// the reservation state has changed and with no lock held.
	AbortTasks func(preempted []scsi.Nexus)

	// LUNs lists the LUNs (SAM-5 §4.7) the logical unit answers REPORT
	// LUNS with when a target passes that command to it; empty means LUN 0
	// alone. A target with several logical units answers REPORT LUNS
	// itself, with scsi.AppendReportLUNsData.
	LUNs []scsi.LUN
}

// ErrInvalidConfig is matched (errors.Is) by every error [New] returns
// for a bad [Config] or backend; the error itself is a [*ConfigError].
var ErrInvalidConfig = errors.New("disk: invalid config")

// ConfigError is a [Config] field that [New] refused; it matches
// [ErrInvalidConfig] with errors.Is.
type ConfigError struct {
	Field  string // the Config field
	Reason string // what is wrong with it
}

func (e *ConfigError) Error() string {
	return fmt.Sprintf("disk: config %s: %s", e.Field, e.Reason)
}

// Is reports whether target is [ErrInvalidConfig].
func (e *ConfigError) Is(target error) bool { return target == ErrInvalidConfig }

func printableASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] > 0x7e {
			return false
		}
	}
	return true
}

// defaultMaxTransferBytes is the default MAXIMUM TRANSFER LENGTH in
// bytes.
const defaultMaxTransferBytes = 32 << 20

func (c Config) withDefaults() (Config, error) {
	if c.BlockSize == 0 {
		c.BlockSize = 512
	}
	switch c.BlockSize {
	case 512, 1024, 2048, 4096:
	default:
		return c, &ConfigError{"BlockSize", fmt.Sprintf("%d is not 512, 1024, 2048 or 4096", c.BlockSize)}
	}
	if c.PhysicalBlockSize == 0 {
		c.PhysicalBlockSize = c.BlockSize
	}
	if ratio := c.PhysicalBlockSize / c.BlockSize; c.PhysicalBlockSize < c.BlockSize || c.PhysicalBlockSize%c.BlockSize != 0 ||
		ratio&(ratio-1) != 0 || ratio > 1<<15 {
		return c, &ConfigError{"PhysicalBlockSize", fmt.Sprintf("%d is not BlockSize %d times a power of two up to 2^15", c.PhysicalBlockSize, c.BlockSize)}
	}
	if c.Vendor == "" {
		c.Vendor = "GOISCSI"
	}
	if c.Product == "" {
		c.Product = "VIRTUAL-DISK"
	}
	if c.Revision == "" {
		c.Revision = "0001"
	}
	for _, f := range []struct {
		name, v string
		max     int
	}{{"Vendor", c.Vendor, 8}, {"Product", c.Product, 16}, {"Revision", c.Revision, 4}, {"SerialNumber", c.SerialNumber, 252}, {"DeviceID", c.DeviceID, 240}} {
		if len(f.v) > f.max {
			return c, &ConfigError{f.name, fmt.Sprintf("%q is longer than %d bytes", f.v, f.max)}
		}
		if !printableASCII(f.v) {
			return c, &ConfigError{f.name, fmt.Sprintf("%q is not printable ASCII", f.v)}
		}
	}
	bs := uint64(c.BlockSize)
	if c.MaxTransferLength == 0 {
		c.MaxTransferLength = uint32(defaultMaxTransferBytes / bs)
	}
	if c.OptimalTransferLength == 0 {
		c.OptimalTransferLength = c.MaxTransferLength
	}
	if c.OptimalTransferLengthGranularity == 0 {
		c.OptimalTransferLengthGranularity = uint16(max(4096, uint64(c.PhysicalBlockSize)) / bs)
	}
	if c.MaxUnmapLBACount == 0 {
		c.MaxUnmapLBACount = 1 << 20
	}
	if c.MaxUnmapBlockDescriptorCount == 0 {
		c.MaxUnmapBlockDescriptorCount = 256
	}
	if c.MaxWriteSameLength == 0 {
		c.MaxWriteSameLength = (4 << 30) / bs
	}
	if c.MaxCompareAndWriteLength == 0 {
		c.MaxCompareAndWriteLength = 1
	}
	if c.MaxAtomicTransferLength == 0 {
		c.MaxAtomicTransferLength = uint32((128 << 10) / bs)
	}
	if c.MaxAtomicTransferLength > c.MaxTransferLength {
		c.MaxAtomicTransferLength = c.MaxTransferLength
	}
	if c.NAACompanyID == 0 {
		c.NAACompanyID = 0x001405
	}
	if c.NAACompanyID > 0xffffff {
		return c, &ConfigError{"NAACompanyID", fmt.Sprintf("%#x is wider than 24 bits", c.NAACompanyID)}
	}
	if c.NAA == ([16]byte{}) {
		c.NAA = deriveNAA(c.NAACompanyID, c.Vendor+"\x00"+c.Product+"\x00"+c.SerialNumber)
	} else if c.NAA[0]>>4 != 6 {
		return c, &ConfigError{"NAA", fmt.Sprintf("NAA field %d is not 6 (IEEE Registered Extended)", c.NAA[0]>>4)}
	}
	return c, nil
}

// deriveNAA builds an NAA 6 designator (SPC-4 §7.8.6.6.4): NAA=6, the
// 24-bit IEEE company ID, then a 100-bit vendor specific identifier taken
// from an FNV-1a hash of the identity so that it is stable across restarts.
func deriveNAA(companyID uint32, identity string) [16]byte {
	var h1, h2 uint64 = 0xcbf29ce484222325, 0x84222325cbf29ce4
	for i := 0; i < len(identity); i++ {
		h1 = (h1 ^ uint64(identity[i])) * 0x100000001b3
		h2 = (h2 ^ uint64(identity[len(identity)-1-i])) * 0x100000001b3
	}
	var d [16]byte
	d[0] = 0x60 | byte(companyID>>20)
	d[1] = byte(companyID >> 12)
	d[2] = byte(companyID >> 4)
	d[3] = byte(companyID<<4) | byte(h1&0x0f)
	for i := 4; i < 8; i++ {
		d[i] = byte(h1 >> (8 * (i - 3)))
	}
	for i := 8; i < 16; i++ {
		d[i] = byte(h2 >> (8 * (i - 8)))
	}
	return d
}
