package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/go-iscsi/iscsi/login"
	"github.com/go-iscsi/iscsi/scsi"
	"github.com/go-iscsi/iscsi/session"
)

// parsePortal parses a portal, host[:port] or iscsi://host[:port].
func parsePortal(s string) (*session.URL, error) {
	u, err := session.ParseURL(s)
	if err != nil {
		return nil, usagef("%v", err)
	}
	return u, nil
}

func (e *env) discover(ctx context.Context, u *session.URL) ([]login.DiscoveredTarget, error) {
	o, err := e.options(u)
	if err != nil {
		return nil, err
	}
	o.TargetName = ""
	targets, err := session.Discover(ctx, u.Addr(), o)
	if err != nil {
		return nil, fmt.Errorf("discovery at %s: %w", u.Addr(), err)
	}
	return targets, nil
}

// cmdDiscover prints each target of a SendTargets=All discovery (RFC 7143
// §13.3) with its addresses, one per line below it.
func cmdDiscover(ctx context.Context, e *env, args []string) error {
	const usage = "discover PORTAL"
	pos, err := parseFlags(flag.NewFlagSet("discover", flag.ContinueOnError), args, 1, usage)
	if err != nil {
		return err
	}
	u, err := parsePortal(pos[0])
	if err != nil {
		return err
	}
	targets, err := e.discover(ctx, u)
	if err != nil {
		return err
	}
	for _, t := range targets {
		fmt.Fprintln(e.stdout, t.Name)
		for _, a := range t.Addresses {
			fmt.Fprintf(e.stdout, "  portal %s\n", a)
		}
	}
	return nil
}

// deviceTypes names the PERIPHERAL DEVICE TYPEs of SPC-4 §6.6.2 table 146
// as libiscsi's tools print them.
var deviceTypes = map[uint8]string{
	scsi.DeviceTypeDirectAccess:      "DIRECT_ACCESS",
	scsi.DeviceTypeSequentialAccess:  "SEQUENTIAL_ACCESS",
	scsi.DeviceTypeProcessor:         "PROCESSOR",
	scsi.DeviceTypeWriteOnce:         "WRITE_ONCE",
	scsi.DeviceTypeCDDVD:             "MMC",
	scsi.DeviceTypeOpticalMemory:     "OPTICAL_MEMORY",
	scsi.DeviceTypeMediumChanger:     "MEDIA_CHANGER",
	scsi.DeviceTypeStorageArray:      "STORAGE_ARRAY_CONTROLLER",
	scsi.DeviceTypeEnclosureServices: "ENCLOSURE_SERVICES",
	scsi.DeviceTypeSimplifiedDirect:  "SIMPLIFIED_DIRECT_ACCESS",
	scsi.DeviceTypeOpticalCardReader: "OPTICAL_CARD_READER",
	scsi.DeviceTypeObjectStorage:     "OBJECT_STORAGE",
	scsi.DeviceTypeAutomationDrive:   "AUTOMATION_DRIVE",
	scsi.DeviceTypeHostManagedZoned:  "HOST_MANAGED_ZONED",
	scsi.DeviceTypeWellKnownLU:       "WELL_KNOWN_LU",
	scsi.DeviceTypeUnknown:           "UNKNOWN",
}

func deviceType(t uint8) string {
	if s, ok := deviceTypes[t]; ok {
		return s
	}
	return fmt.Sprintf("0x%02x", t)
}

// cmdLs lists the targets of a portal (or the one target of a URL), and
// for each its alias and logical units: device type, identification and,
// for a block device, its capacity.
func cmdLs(ctx context.Context, e *env, args []string) error {
	const usage = "ls URL|PORTAL"
	pos, err := parseFlags(flag.NewFlagSet("ls", flag.ContinueOnError), args, 1, usage)
	if err != nil {
		return err
	}
	u, err := parsePortal(pos[0])
	if err != nil {
		return err
	}
	names := []string{u.Target}
	if u.Target == "" {
		targets, err := e.discover(ctx, u)
		if err != nil {
			return err
		}
		names = names[:0]
		for _, t := range targets {
			names = append(names, t.Name)
		}
	}
	for _, name := range names {
		tu := *u
		tu.Target, tu.LUN = name, 0
		if err := e.lsTarget(ctx, &tu); err != nil {
			return err
		}
	}
	return nil
}

func (e *env) lsTarget(ctx context.Context, u *session.URL) (err error) {
	o, err := e.options(u)
	if err != nil {
		return err
	}
	s, err := session.Dial(ctx, u.Addr(), o)
	if err != nil {
		return fmt.Errorf("login to %s at %s: %w", u.Target, u.Addr(), err)
	}
	l := &lu{s: s, x: timeoutExecutor{s, e.timeout}, warn: e.stderr}
	defer closeWith(l, &err)
	sp, _ := s.Params()
	fmt.Fprintf(e.stdout, "Target: %s", u.Target)
	if sp.TargetAlias != "" {
		fmt.Fprintf(e.stdout, " (alias %q)", sp.TargetAlias)
	}
	fmt.Fprintln(e.stdout)
	// REPORT LUNS is answered even with a unit attention pending (SPC-4
	// §6.33), but a target may report one first: take it.
	luns, err := session.ReportLUNs(ctx, l.x)
	if senseKey(err) == scsi.SenseUnitAttention {
		luns, err = session.ReportLUNs(ctx, l.x)
	}
	if err != nil {
		return fmt.Errorf("%s: REPORT LUNS: %w", u.Target, err)
	}
	for _, lun := range luns {
		if err := session.TestUnitReady(ctx, l.x, lun); err != nil && senseKey(err) != scsi.SenseNotReady {
			return fmt.Errorf("%s LUN %v: %w", u.Target, lun, err)
		}
		inq, err := session.Inquiry(ctx, l.x, lun)
		if err != nil {
			return fmt.Errorf("%s LUN %v: %w", u.Target, lun, err)
		}
		fmt.Fprintf(e.stdout, "  LUN %v: %s %q %q %q", lun, deviceType(inq.PeripheralDeviceType), inq.VendorID, inq.ProductID, inq.ProductRevision)
		if inq.PeripheralDeviceType == scsi.DeviceTypeDirectAccess {
			rc, err := session.ReadCapacity(ctx, l.x, lun)
			if err != nil {
				return fmt.Errorf("%s LUN %v: %w", u.Target, lun, err)
			}
			n := rc.LastLBA + 1
			fmt.Fprintf(e.stdout, " %d bytes (%d blocks of %d)", n*uint64(rc.BlockLength), n, rc.BlockLength)
		}
		fmt.Fprintln(e.stdout)
	}
	return nil
}

func senseKey(err error) scsi.SenseKey {
	if s, ok := scsi.SenseOf(err); ok {
		return s.Key
	}
	return scsi.SenseNoSense
}

// openArg parses the one URL argument of a subcommand and opens its
// logical unit.
func (e *env) openArg(ctx context.Context, name, usage string, args []string, n int) (*lu, []string, error) {
	pos, err := parseFlags(flag.NewFlagSet(name, flag.ContinueOnError), args, n, usage)
	if err != nil {
		return nil, nil, err
	}
	u, err := parseLUNURL(pos[0])
	if err != nil {
		return nil, nil, err
	}
	l, err := e.open(ctx, u)
	return l, pos[1:], err
}

// cmdInquiry prints the standard INQUIRY data (SPC-4 §6.6.2) and the unit
// serial number (VPD page 80h, SPC-4 §7.8.16) when the unit has one.
func cmdInquiry(ctx context.Context, e *env, args []string) (err error) {
	l, _, err := e.openArg(ctx, "inquiry", "inquiry URL", args, 1)
	if err != nil {
		return err
	}
	defer closeWith(l, &err)
	inq, err := session.Inquiry(ctx, l.x, l.lun)
	if err != nil {
		return err
	}
	w := e.stdout
	fmt.Fprintf(w, "Peripheral Qualifier: %d\n", inq.PeripheralQualifier)
	fmt.Fprintf(w, "Peripheral Device Type: %s\n", deviceType(inq.PeripheralDeviceType))
	fmt.Fprintf(w, "Removable: %t\n", inq.RMB)
	fmt.Fprintf(w, "Version: 0x%02x\n", inq.Version)
	fmt.Fprintf(w, "Vendor: %s\n", inq.VendorID)
	fmt.Fprintf(w, "Product: %s\n", inq.ProductID)
	fmt.Fprintf(w, "Revision: %s\n", inq.ProductRevision)
	if pages, err := session.SupportedVPDPages(ctx, l.x, l.lun); err == nil {
		for p := range pages.All() {
			if p == 0x80 {
				sn, err := session.UnitSerialNumber(ctx, l.x, l.lun)
				if err != nil {
					return err
				}
				fmt.Fprintf(w, "Unit Serial Number: %s\n", sn)
			}
		}
	}
	return nil
}

// cmdReadcap prints what READ CAPACITY (SBC-4 §5.20, §5.21) reports.
func cmdReadcap(ctx context.Context, e *env, args []string) (err error) {
	l, _, err := e.openArg(ctx, "readcap", "readcap URL", args, 1)
	if err != nil {
		return err
	}
	defer closeWith(l, &err)
	rc, err := session.ReadCapacity(ctx, l.x, l.lun)
	if err != nil {
		return err
	}
	w := e.stdout
	fmt.Fprintf(w, "Last LBA: %d\n", rc.LastLBA)
	fmt.Fprintf(w, "Block Length: %d\n", rc.BlockLength)
	fmt.Fprintf(w, "Blocks: %d\n", rc.LastLBA+1)
	fmt.Fprintf(w, "Size: %d\n", (rc.LastLBA+1)*uint64(rc.BlockLength))
	fmt.Fprintf(w, "Thin Provisioning (LBPME): %t\n", rc.LBPME)
	return nil
}

// checkRange checks that count blocks from lba lie within the unit.
func checkRange(lba, count uint64, rc scsi.ReadCapacity16Data) error {
	if lba > rc.LastLBA || count > rc.LastLBA+1-lba {
		return usagef("LBA %d and %d blocks: the unit has blocks 0 to %d", lba, count, rc.LastLBA)
	}
	return nil
}

// cmdRead writes COUNT blocks from LBA to standard output.
func cmdRead(ctx context.Context, e *env, args []string) (err error) {
	l, pos, err := e.openArg(ctx, "read", "read URL LBA COUNT", args, 3)
	if err != nil {
		return err
	}
	defer closeWith(l, &err)
	lba, err := parseUint("LBA", pos[0])
	if err != nil {
		return err
	}
	count, err := parseUint("COUNT", pos[1])
	if err != nil {
		return err
	}
	d, err := session.NewBlockDevice(ctx, l.x, l.lun)
	if err != nil {
		return err
	}
	rc := scsi.ReadCapacity16Data{LastLBA: uint64(d.Size()/int64(d.BlockSize())) - 1}
	if err := checkRange(lba, count, rc); err != nil {
		return err
	}
	bs := int64(d.BlockSize())
	_, err = io.Copy(e.stdout, io.NewSectionReader(readerAtContext{ctx, d}, int64(lba)*bs, int64(count)*bs))
	return err
}

// readerAtContext reads d under ctx.
type readerAtContext struct {
	ctx context.Context
	d   *session.BlockDevice
}

func (r readerAtContext) ReadAt(p []byte, off int64) (int, error) {
	return r.d.ReadAtContext(r.ctx, p, off)
}

// cmdWrite writes standard input, whole blocks, from LBA on.
func cmdWrite(ctx context.Context, e *env, args []string) (err error) {
	l, pos, err := e.openArg(ctx, "write", "write URL LBA", args, 2)
	if err != nil {
		return err
	}
	defer closeWith(l, &err)
	lba, err := parseUint("LBA", pos[0])
	if err != nil {
		return err
	}
	d, err := session.NewBlockDevice(ctx, l.x, l.lun)
	if err != nil {
		return err
	}
	bs := d.BlockSize()
	blocks := uint64(d.Size() / int64(bs))
	if lba >= blocks {
		return usagef("LBA %d: the unit has blocks 0 to %d", lba, blocks-1)
	}
	buf := make([]byte, d.MaxTransferBlocks()*bs)
	off := int64(lba) * int64(bs)
	for {
		n, rerr := io.ReadFull(e.stdin, buf)
		if n%bs != 0 {
			return fmt.Errorf("standard input ends inside a block: %d bytes written, %d left over (want whole blocks of %d bytes)", off-int64(lba)*int64(bs), n%bs, bs)
		}
		if n > 0 {
			if off+int64(n) > d.Size() {
				return fmt.Errorf("standard input reaches past the last block %d", blocks-1)
			}
			if _, err := d.WriteAtContext(ctx, buf[:n], off); err != nil {
				return err
			}
			off += int64(n)
		}
		if errors.Is(rerr, io.EOF) || errors.Is(rerr, io.ErrUnexpectedEOF) {
			return nil
		}
		if rerr != nil {
			return rerr
		}
	}
}

// isURL reports whether s names an iSCSI logical unit rather than a file.
func isURL(s string) bool { return strings.HasPrefix(s, "iscsi://") }
