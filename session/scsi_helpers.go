package session

import (
	"context"
	"errors"
	"fmt"

	"github.com/go-iscsi/iscsi/scsi"
)

// Executor runs one SCSI command to its status; *Session is one. The SCSI
// helpers of this package (Inquiry, ReadCapacity, Read, Write, ...) are
// functions over an Executor so that any transport, or a test double, can
// carry them.
type Executor interface {
	Execute(ctx context.Context, cmd *Command) (*Response, error)
}

var _ Executor = (*Session)(nil)

// StatusError is a SCSI command that completed with a status other than
// GOOD (SAM-5 §5.3). With CHECK CONDITION it carries the sense data the
// target returned (RFC 7143 §11.4.7), and errors.As(err, &scsi.Sense{}) or
// scsi.SenseOf recovers it.
type StatusError struct {
	// Op is the operation code of the command.
	Op scsi.OpCode
	// Status is the SCSI status.
	Status scsi.Status
	// Sense is the sense data, nil when the target sent none.
	Sense *scsi.Sense
}

// Error names the command, the status and, when there is one, the sense.
func (e *StatusError) Error() string {
	if e.Sense != nil {
		return fmt.Sprintf("iscsi: %v: %v: %v", e.Op, e.Status, *e.Sense)
	}
	return fmt.Sprintf("iscsi: %v: %v", e.Op, e.Status)
}

// Unwrap returns the sense data as an error, or nil without it.
func (e *StatusError) Unwrap() error {
	if e.Sense == nil {
		return nil
	}
	return *e.Sense
}

// ErrShortTransfer is the cause of an error for a READ or an INQUIRY-like
// command whose target returned less data than the command needs (a
// residual underflow, RFC 7143 §11.4.5.1).
var ErrShortTransfer = errors.New("iscsi: target returned less data than asked for")

// runCDB executes cdb on lun with the given data buffers and turns a status
// other than GOOD into a *StatusError.
func runCDB(ctx context.Context, x Executor, lun scsi.LUN, c scsi.CDB, in, out []byte) (*Response, error) {
	cdb, err := c.Append(make([]byte, 0, 16))
	if err != nil {
		return nil, err
	}
	resp, err := x.Execute(ctx, &Command{LUN: lun, CDB: cdb, DataIn: in, DataOut: out})
	if err != nil {
		return nil, err
	}
	if resp.Status != scsi.StatusGood {
		return resp, &StatusError{Op: c.OperationCode(), Status: resp.Status, Sense: resp.Sense}
	}
	return resp, nil
}

// senseKeyIs reports whether err carries sense data with key k.
func senseKeyIs(err error, k scsi.SenseKey) bool {
	s, ok := scsi.SenseOf(err)
	return ok && s.Key == k
}

// Inquiry reads the standard INQUIRY data of lun (SPC-4 §6.6.1, §6.6.2).
func Inquiry(ctx context.Context, x Executor, lun scsi.LUN) (scsi.InquiryData, error) {
	buf := make([]byte, 255)
	resp, err := runCDB(ctx, x, lun, scsi.Inquiry{AllocationLength: uint16(len(buf))}, buf, nil)
	if err != nil {
		return scsi.InquiryData{}, err
	}
	return scsi.ParseInquiryData(buf[:resp.DataInLength])
}

// VPD reads vital product data page code of lun with INQUIRY EVPD=1
// (SPC-4 §6.6.1, §7.8.1) and returns its body, after the 4-byte header. A
// page longer than the first allocation length is read again whole.
func VPD(ctx context.Context, x Executor, lun scsi.LUN, code uint8) ([]byte, error) {
	n := 1024
	for {
		buf := make([]byte, n)
		resp, err := runCDB(ctx, x, lun, scsi.Inquiry{EVPD: true, PageCode: code, AllocationLength: uint16(n)}, buf, nil)
		if err != nil {
			return nil, err
		}
		buf = buf[:resp.DataInLength]
		if len(buf) < 4 {
			return nil, fmt.Errorf("VPD page 0x%02x: %w", code, ErrShortTransfer)
		}
		// PAGE LENGTH, bytes 2-3 (SPC-4 §7.8.1 table 500).
		total := 4 + (int(buf[2])<<8 | int(buf[3]))
		if total > len(buf) && n < 0xffff {
			n = min(total, 0xffff)
			continue
		}
		_, page, body, err := scsi.ParseVPD(buf)
		if err != nil {
			return nil, err
		}
		if page != code {
			return nil, fmt.Errorf("iscsi: INQUIRY for VPD page 0x%02x returned page 0x%02x", code, page)
		}
		return body, nil
	}
}

// SupportedVPDPages reads the Supported VPD Pages page, 00h (SPC-4
// §7.8.15).
func SupportedVPDPages(ctx context.Context, x Executor, lun scsi.LUN) (scsi.SupportedVPDPages, error) {
	body, err := VPD(ctx, x, lun, scsi.VPDSupportedPages)
	return scsi.SupportedVPDPages(body), err
}

// UnitSerialNumber reads the Unit Serial Number page, 80h (SPC-4
// §7.8.16).
func UnitSerialNumber(ctx context.Context, x Executor, lun scsi.LUN) (scsi.UnitSerialNumber, error) {
	body, err := VPD(ctx, x, lun, 0x80)
	if err != nil {
		return "", err
	}
	return scsi.ParseUnitSerialNumber(body), nil
}

// DeviceIdentification reads the Device Identification page, 83h (SPC-4
// §7.8.6).
func DeviceIdentification(ctx context.Context, x Executor, lun scsi.LUN) (scsi.DeviceIdentification, error) {
	body, err := VPD(ctx, x, lun, 0x83)
	if err != nil {
		return nil, err
	}
	return scsi.ParseDeviceIdentification(body)
}

// BlockLimits reads the Block Limits page, B0h (SBC-4 §6.6.4).
func BlockLimits(ctx context.Context, x Executor, lun scsi.LUN) (scsi.BlockLimits, error) {
	body, err := VPD(ctx, x, lun, 0xb0)
	if err != nil {
		return scsi.BlockLimits{}, err
	}
	return scsi.ParseBlockLimits(body), nil
}

// ReadCapacity reads the capacity of lun with READ CAPACITY(16) (SBC-4
// §5.21) and, when the device server rejects it with ILLEGAL REQUEST, with
// READ CAPACITY(10) (SBC-4 §5.20), whose LastLBA and BlockLength then fill
// the result alone. A READ CAPACITY(10) answer of FFFFFFFFh means the
// capacity needs READ CAPACITY(16), and is returned as it is.
func ReadCapacity(ctx context.Context, x Executor, lun scsi.LUN) (scsi.ReadCapacity16Data, error) {
	buf := make([]byte, scsi.ReadCapacity16DataLength)
	resp, err := runCDB(ctx, x, lun, scsi.ReadCapacity16{AllocationLength: uint32(len(buf))}, buf, nil)
	if err == nil {
		return scsi.ParseReadCapacity16Data(buf[:resp.DataInLength])
	}
	if !senseKeyIs(err, scsi.SenseIllegalRequest) {
		return scsi.ReadCapacity16Data{}, err
	}
	buf = buf[:scsi.ReadCapacity10DataLength]
	resp, err = runCDB(ctx, x, lun, scsi.ReadCapacity10{}, buf, nil)
	if err != nil {
		return scsi.ReadCapacity16Data{}, err
	}
	d, err := scsi.ParseReadCapacity10Data(buf[:resp.DataInLength])
	if err != nil {
		return scsi.ReadCapacity16Data{}, err
	}
	return scsi.ReadCapacity16Data{LastLBA: uint64(d.LastLBA), BlockLength: d.BlockLength}, nil
}

// ReportLUNs returns the logical units of the target with REPORT LUNS,
// SELECT REPORT 00h (SPC-4 §6.33), sent to LUN 0; a list longer than the
// first allocation length is read again whole.
func ReportLUNs(ctx context.Context, x Executor) ([]scsi.LUN, error) {
	n := uint32(8 + 8*64)
	for {
		buf := make([]byte, n)
		resp, err := runCDB(ctx, x, scsi.LUN{}, scsi.ReportLUNs{AllocationLength: n}, buf, nil)
		if err != nil {
			return nil, err
		}
		d, err := scsi.ParseReportLUNsData(buf[:resp.DataInLength])
		if err != nil {
			return nil, err
		}
		if need := 8 + d.ListLength; need > n && n < 1<<24 {
			n = min(need, 1<<24)
			continue
		}
		luns := make([]scsi.LUN, d.Len())
		for i := range luns {
			luns[i] = d.At(i)
		}
		return luns, nil
	}
}

// checkBlocks checks that buf holds whole blocks of blockSize bytes and
// returns how many.
func checkBlocks(buf []byte, blockSize uint32) (uint32, error) {
	if blockSize == 0 || len(buf)%int(blockSize) != 0 {
		return 0, fmt.Errorf("%w: %d bytes are not whole blocks of %d", ErrOptions, len(buf), blockSize)
	}
	n := len(buf) / int(blockSize)
	if uint64(n) > 0xffffffff {
		return 0, fmt.Errorf("%w: %d blocks exceed a TRANSFER LENGTH", ErrOptions, n)
	}
	return uint32(n), nil
}

// Read reads len(buf) bytes, whole logical blocks of blockSize bytes, from
// lba of lun into buf with READ(10), or READ(16) when the LBA or the
// length needs it (SBC-4 §5.15, §5.17). Less data than asked for is
// ErrShortTransfer.
func Read(ctx context.Context, x Executor, lun scsi.LUN, lba uint64, blockSize uint32, buf []byte) error {
	n, err := checkBlocks(buf, blockSize)
	if err != nil || n == 0 {
		return err
	}
	resp, err := runCDB(ctx, x, lun, scsi.NewReadWrite(false, lba, n), buf, nil)
	if err != nil {
		return err
	}
	if resp.DataInLength < len(buf) {
		return fmt.Errorf("READ of %d bytes at LBA %d: %d bytes came: %w", len(buf), lba, resp.DataInLength, ErrShortTransfer)
	}
	return nil
}

// Write writes data, whole logical blocks of blockSize bytes, to lba of
// lun with WRITE(10), or WRITE(16) when the LBA or the length needs it
// (SBC-4 §5.42, §5.44).
func Write(ctx context.Context, x Executor, lun scsi.LUN, lba uint64, blockSize uint32, data []byte) error {
	n, err := checkBlocks(data, blockSize)
	if err != nil || n == 0 {
		return err
	}
	_, err = runCDB(ctx, x, lun, scsi.NewReadWrite(true, lba, n), nil, data)
	return err
}

// SynchronizeCache asks lun to write every cached block of the medium to
// it with SYNCHRONIZE CACHE(10), LBA 0 and NUMBER OF LOGICAL BLOCKS 0
// (SBC-4 §5.40: the whole medium), and waits for it (IMMED=0).
func SynchronizeCache(ctx context.Context, x Executor, lun scsi.LUN) error {
	_, err := runCDB(ctx, x, lun, scsi.SynchronizeCache{Op: scsi.OpSynchronizeCache10}, nil, nil)
	return err
}

// Unmap deallocates the block ranges descs of lun with UNMAP (SBC-4
// §5.37); at most 4095 descriptors fit one parameter list.
func Unmap(ctx context.Context, x Executor, lun scsi.LUN, descs []scsi.UnmapBlockDescriptor) error {
	list, err := scsi.AppendUnmapParameterList(nil, descs)
	if err != nil {
		return err
	}
	_, err = runCDB(ctx, x, lun, scsi.Unmap{ParameterListLength: uint16(len(list))}, nil, list)
	return err
}

// MaxUnitAttentions bounds how many UNIT ATTENTION conditions
// TestUnitReady takes before it gives up.
const MaxUnitAttentions = 8

// TestUnitReady sends TEST UNIT READY to lun (SPC-4 §6.47). A CHECK
// CONDITION with UNIT ATTENTION reports an event (power on, a reset, a
// changed capacity) and clears the condition it reports (SAM-5 §5.14, SPC-4
// §4.5.6): the command is sent again, at most MaxUnitAttentions times. Any
// other failure, NOT READY among them, is returned.
func TestUnitReady(ctx context.Context, x Executor, lun scsi.LUN) error {
	var err error
	for range MaxUnitAttentions + 1 {
		_, err = runCDB(ctx, x, lun, scsi.TestUnitReady{}, nil, nil)
		if err == nil || !senseKeyIs(err, scsi.SenseUnitAttention) {
			return err
		}
	}
	return err
}
