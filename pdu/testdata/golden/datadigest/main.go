// Command datadigest is the initiator of the datadigest golden scenario
// that capture.sh records against tgtd: a session with HeaderDigest=CRC32C and
// DataDigest=CRC32C (RFC 7143 §13.1), built only from this module's public
// packages login, pdu and scsi.
//
// It first runs a discovery session that offers CRC32C digests and sends a
// Text request SendTargets=All (RFC 7143 §11.10, §13.3): tgtd answers Text
// requests only in discovery sessions, and negotiates no digest in them.
// Then it logs in to the target requiring both digests, with 4 KiB data
// segments, and sends TEST UNIT READY (which, as the first command of a new
// I_T nexus, the target answers with CHECK CONDITION, UNIT ATTENTION and
// sense data: SAM-5's unit attention condition) until it succeeds, INQUIRY, READ CAPACITY(16), a WRITE(10) of 16 KiB
// (immediate data, unsolicited Data-Out and R2T-solicited Data-Out, RFC 7143
// §11.3, §11.7, §11.8), a READ(10) of the same blocks (Data-In over several
// PDUs, §11.7), a NOP-Out ping (§11.18) and a Logout (§11.14). Every response
// is checked: status GOOD, the data read equals the data written, sequence
// numbers and offsets as RFC 7143 requires, and every digest, which the
// Reader verifies. Any failure ends the program with exit status 1.
//
//	go run ./pdu/testdata/golden/datadigest -addr 127.0.0.1:3260 -target iqn.2026-01.org.example.golden:disk
package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"os"
	"time"

	"github.com/go-iscsi/iscsi/login"
	"github.com/go-iscsi/iscsi/pdu"
	"github.com/go-iscsi/iscsi/scsi"
)

const (
	// blockLength is tgtd's logical block length for a file-backed LU.
	blockLength = 512
	// ioLength is the length of the WRITE(10) and READ(10): four data
	// segments at the MaxRecvDataSegmentLength both sides declare.
	ioLength = 16 * 1024
	// ioLBA is where the WRITE(10) and READ(10) go.
	ioLBA = 8
	// maxRecvDataSegmentLength is what the initiator declares (RFC 7143
	// §13.12); the target splits Data-In at it.
	maxRecvDataSegmentLength = 4096
)

func main() {
	addr := flag.String("addr", "", "target portal, host:port")
	target := flag.String("target", "", "target name (iqn.…)")
	initiator := flag.String("initiator", "iqn.2026-01.org.example.golden:go-initiator", "initiator name")
	timeout := flag.Duration("timeout", 30*time.Second, "time limit for the whole session")
	flag.Parse()
	if *addr == "" || *target == "" || flag.NArg() != 0 {
		flag.Usage()
		os.Exit(2)
	}
	if err := run(*addr, *target, *initiator, *timeout); err != nil {
		fmt.Fprintln(os.Stderr, "datadigest:", err)
		os.Exit(1)
	}
}

// session is the state of one connection in the full feature phase.
type session struct {
	r *pdu.Reader
	w *pdu.Writer
	// lun is the LUN field of every PDU (SAM-5 §4.7, LUN 1).
	lun uint64
	// cmdSN is the CmdSN of the next non-immediate command, expStatSN the
	// next StatSN expected (RFC 7143 §4.2.2).
	cmdSN, expStatSN uint32
	itt              uint32
	// maxXmit is the target's MaxRecvDataSegmentLength (RFC 7143 §13.12).
	maxXmit uint32
	params  login.SessionParams
}

// dial connects to addr and logs in with cfg, bounded by deadline.
func dial(addr string, deadline time.Time, cfg login.InitiatorConfig) (net.Conn, *session, *login.Result, error) {
	conn, err := net.DialTimeout("tcp", addr, time.Until(deadline))
	if err != nil {
		return nil, nil, nil, err
	}
	if err := conn.SetDeadline(deadline); err != nil {
		conn.Close()
		return nil, nil, nil, err
	}
	r := pdu.NewReader(conn)
	w := pdu.NewWriter(conn)
	res, err := login.Initiate(context.Background(), r, w, cfg)
	if err != nil {
		conn.Close()
		return nil, nil, nil, fmt.Errorf("login: %w", err)
	}
	// RFC 7143 §13.1: the digests agreed apply from the first PDU after
	// the final Login Response; Initiate sets them on r and w.
	want := pdu.Digests{Header: res.Conn.HeaderDigest, Data: res.Conn.DataDigest}
	if r.Digests() != want || w.Digests() != want {
		conn.Close()
		return nil, nil, nil, fmt.Errorf("login agreed digests %+v, Reader has %+v, Writer %+v", want, r.Digests(), w.Digests())
	}
	lun, err := scsi.EncodeLUN(1)
	if err != nil {
		conn.Close()
		return nil, nil, nil, err
	}
	s := &session{
		r: r, w: w, lun: lun.Uint64(),
		cmdSN: res.CmdSN, expStatSN: res.StatSN + 1, itt: cfg.InitiatorTaskTag,
		maxXmit: res.Conn.MaxXmitDataSegmentLength, params: res.Session,
	}
	return conn, s, res, nil
}

func digestName(on bool) string {
	if on {
		return "CRC32C"
	}
	return "None"
}

func run(addr, target, initiator string, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	if err := discover(addr, target, initiator, deadline); err != nil {
		return fmt.Errorf("discovery session: %w", err)
	}

	st := login.DefaultSettings()
	st.HeaderDigest = login.DigestRequire
	st.DataDigest = login.DigestRequire
	st.MaxRecvDataSegmentLength = maxRecvDataSegmentLength
	// RFC 7143 §13.10, §13.11, §13.13, §13.14: InitialR2T is the OR,
	// ImmediateData the AND, the burst lengths the minimum of both sides:
	// the target's values decide.
	st.InitialR2T = false
	st.ImmediateData = true
	st.MaxBurstLength = 256 * 1024
	st.FirstBurstLength = 64 * 1024
	conn, s, res, err := dial(addr, deadline, login.InitiatorConfig{
		InitiatorName:    initiator,
		TargetName:       target,
		ISID:             pdu.NewISID(pdu.ISIDRandom, 0, 0x5dd1, 0x9e, 0x0001),
		InitiatorTaskTag: 0x10,
		CmdSN:            1,
		Settings:         &st,
	})
	if err != nil {
		return err
	}
	defer conn.Close()
	if !res.Conn.HeaderDigest || !res.Conn.DataDigest {
		return fmt.Errorf("login: digests header %v, data %v; want CRC32C for both", res.Conn.HeaderDigest, res.Conn.DataDigest)
	}
	fmt.Printf("normal session: TSIH %#04x, HeaderDigest=CRC32C DataDigest=CRC32C, MaxRecvDataSegmentLength %d (target %d), ImmediateData %v, InitialR2T %v, FirstBurstLength %d, MaxBurstLength %d\n",
		res.TSIH, res.Conn.MaxRecvDataSegmentLength, s.maxXmit, s.params.ImmediateData, s.params.InitialR2T,
		s.params.FirstBurstLength, s.params.MaxBurstLength)

	if err := s.testUnitReady(); err != nil {
		return fmt.Errorf("TEST UNIT READY: %w", err)
	}
	if err := s.inquiry(); err != nil {
		return fmt.Errorf("INQUIRY: %w", err)
	}
	if err := s.readCapacity(); err != nil {
		return fmt.Errorf("READ CAPACITY(16): %w", err)
	}
	data := make([]byte, ioLength)
	for i := range data {
		data[i] = byte(i*7 + i>>9)
	}
	if err := s.write(data); err != nil {
		return fmt.Errorf("WRITE(10): %w", err)
	}
	if err := s.read(data); err != nil {
		return fmt.Errorf("READ(10): %w", err)
	}
	if err := s.ping(); err != nil {
		return fmt.Errorf("NOP-Out: %w", err)
	}
	if err := s.logout(); err != nil {
		return fmt.Errorf("logout: %w", err)
	}
	return nil
}

// nextITT returns a fresh Initiator Task Tag (RFC 7143 §11.2.1.8).
func (s *session) nextITT() uint32 {
	s.itt++
	return s.itt
}

// readPDU reads the next PDU; the Reader checks its header and data
// digests (RFC 7143 §13.1).
func (s *session) readPDU() (*pdu.PDU, error) { return s.r.Read() }

// writePDU sends h with data; the Writer appends the digests.
func (s *session) writePDU(h *pdu.BHS, data []byte) error { return s.w.Write(h, nil, data) }

// statSN checks the StatSN of a response that carries status: RFC 7143
// §4.2.2.2, the target numbers them in order on a connection.
func (s *session) statSN(op pdu.Opcode, got uint32) error {
	if got != s.expStatSN {
		return fmt.Errorf("%v with StatSN %d, want %d", op, got, s.expStatSN)
	}
	s.expStatSN++
	return nil
}

// command runs one SCSI command on LUN 1 (RFC 7143 §11.3): it sends out, if
// any, as immediate data, unsolicited Data-Out and Data-Out answering R2Ts,
// and fills in with the Data-In. It returns the number of bytes of Data-In.
func (s *session) command(cdb scsi.CDB, in, out []byte) (int, error) {
	cdbBytes, err := cdb.Append(nil)
	if err != nil {
		return 0, err
	}
	itt := s.nextITT()
	var h pdu.BHS
	c := h.SCSICommand()
	c.Init()
	c.SetRead(len(in) > 0)
	c.SetWrite(len(out) > 0)
	c.SetAttributes(pdu.TaskSimple)
	c.SetLUN(s.lun)
	c.SetInitiatorTaskTag(itt)
	c.SetExpectedDataTransferLength(uint32(len(in) + len(out)))
	c.SetCmdSN(s.cmdSN)
	c.SetExpStatSN(s.expStatSN)
	c.SetCDB(cdbBytes)

	// RFC 7143 §13.11, §13.14: immediate data and unsolicited Data-Out
	// together carry at most FirstBurstLength bytes; each data segment at
	// most the target's MaxRecvDataSegmentLength.
	var immediate, unsolicited uint32
	if len(out) > 0 {
		burst := min(uint32(len(out)), s.params.FirstBurstLength)
		if s.params.ImmediateData {
			immediate = min(burst, s.maxXmit)
		}
		if !s.params.InitialR2T {
			unsolicited = burst - immediate
		}
	}
	// RFC 7143 §11.3.1: F is 1 when no unsolicited Data-Out follows.
	c.SetFinal(unsolicited == 0)
	if err := s.writePDU(&h, out[:immediate]); err != nil {
		return 0, err
	}
	s.cmdSN++
	if unsolicited > 0 {
		// RFC 7143 §11.7.4: unsolicited Data-Out carries the reserved
		// Target Transfer Tag.
		if err := s.dataOut(itt, pdu.ReservedTag, out, immediate, unsolicited); err != nil {
			return 0, err
		}
	}

	var (
		received  int
		dataSN    uint32
		r2tSN     uint32
		solicited = immediate + unsolicited
	)
	for {
		p, err := s.readPDU()
		if err != nil {
			return received, err
		}
		op := p.Header.Opcode()
		if p.Header.InitiatorTaskTag() != itt {
			return received, fmt.Errorf("%v for ITT %#x, want %#x", op, p.Header.InitiatorTaskTag(), itt)
		}
		switch op {
		case pdu.OpSCSIDataIn:
			v := p.Header.DataIn()
			// RFC 7143 §11.7.5, §11.7.4: DataSN counts the Data-In
			// PDUs of a command from 0, and with DataPDUInOrder the
			// offsets follow each other.
			if v.DataSN() != dataSN {
				return received, fmt.Errorf("Data-In DataSN %d, want %d", v.DataSN(), dataSN)
			}
			if int(v.BufferOffset()) != received {
				return received, fmt.Errorf("Data-In buffer offset %d, want %d", v.BufferOffset(), received)
			}
			if received+len(p.Data) > len(in) {
				return received, fmt.Errorf("Data-In past the expected %d bytes", len(in))
			}
			dataSN++
			received += copy(in[received:], p.Data)
			if v.StatusPresent() {
				if err := s.statSN(op, v.StatSN()); err != nil {
					return received, err
				}
				if st := scsi.Status(v.Status()); st != scsi.StatusGood {
					return received, fmt.Errorf("status %v in the final Data-In", st)
				}
				return received, nil
			}
		case pdu.OpR2T:
			v := p.Header.R2T()
			// RFC 7143 §11.8: R2TSN counts a command's R2Ts from 0;
			// the target asks for data not yet sent.
			if v.R2TSN() != r2tSN {
				return received, fmt.Errorf("R2TSN %d, want %d", v.R2TSN(), r2tSN)
			}
			r2tSN++
			off, n := v.BufferOffset(), v.DesiredDataTransferLength()
			if off < solicited || uint64(off)+uint64(n) > uint64(len(out)) || n == 0 || n > s.params.MaxBurstLength {
				return received, fmt.Errorf("R2T for %d bytes at offset %d of %d, %d already sent", n, off, len(out), solicited)
			}
			if err := s.dataOut(itt, v.TargetTransferTag(), out, off, n); err != nil {
				return received, err
			}
			solicited = max(solicited, off+n)
		case pdu.OpSCSIResponse:
			v := p.Header.SCSIResponse()
			if err := s.statSN(op, v.StatSN()); err != nil {
				return received, err
			}
			if v.Response() != pdu.ResponseCommandCompleted {
				return received, fmt.Errorf("iSCSI response %#02x", uint8(v.Response()))
			}
			if st := scsi.Status(v.Status()); st != scsi.StatusGood {
				return received, statusError(st, p.Data)
			}
			if len(out) > 0 && solicited != uint32(len(out)) {
				return received, fmt.Errorf("GOOD status after %d of %d bytes of Data-Out", solicited, len(out))
			}
			return received, nil
		default:
			return received, fmt.Errorf("unexpected %v", op)
		}
	}
}

// A statusErr is a SCSI status other than GOOD, with the sense data of the
// SCSI Response if it had any (RFC 7143 §11.4.7).
type statusErr struct {
	status scsi.Status
	sense  *scsi.Sense
}

func (e *statusErr) Error() string {
	if e.sense == nil {
		return "status " + e.status.String()
	}
	return "status " + e.status.String() + ": " + e.sense.Error()
}

// statusError decodes the data segment of a SCSI Response: RFC 7143
// §11.4.7.2, a 2-byte SenseLength and the sense data.
func statusError(st scsi.Status, data []byte) error {
	e := &statusErr{status: st}
	if len(data) >= 2 {
		n := int(data[0])<<8 | int(data[1])
		if n > 0 && 2+n <= len(data) {
			if sense, err := scsi.ParseSense(data[2 : 2+n]); err == nil {
				e.sense = &sense
			}
		}
	}
	return e
}

// dataOut sends out[off:off+n] as one Data-Out sequence (RFC 7143 §11.7):
// segments of at most the target's MaxRecvDataSegmentLength, DataSN from 0,
// F on the last.
func (s *session) dataOut(itt, ttt uint32, out []byte, off, n uint32) error {
	var h pdu.BHS
	d := h.DataOut()
	end := off + n
	for sn := uint32(0); off < end; sn++ {
		seg := min(end-off, s.maxXmit)
		d.Init()
		d.SetLUN(s.lun)
		d.SetInitiatorTaskTag(itt)
		d.SetTargetTransferTag(ttt)
		d.SetExpStatSN(s.expStatSN)
		d.SetDataSN(sn)
		d.SetBufferOffset(off)
		d.SetFinal(off+seg == end)
		if err := s.writePDU(&h, out[off:off+seg]); err != nil {
			return err
		}
		off += seg
	}
	return nil
}

// testUnitReady sends TEST UNIT READY until it succeeds: the first command
// of a new I_T nexus other than INQUIRY, REPORT LUNS or REQUEST SENSE
// reports the unit attention condition POWER ON, RESET, OR BUS DEVICE RESET
// OCCURRED (SAM-5, unit attention conditions), which reporting clears.
func (s *session) testUnitReady() error {
	for range 2 {
		_, err := s.command(scsi.TestUnitReady{}, nil, nil)
		var se *statusErr
		switch {
		case err == nil:
			fmt.Println("TEST UNIT READY: GOOD")
			return nil
		case errors.As(err, &se) && se.status == scsi.StatusCheckCondition && se.sense != nil && se.sense.Key == scsi.SenseUnitAttention:
			fmt.Printf("TEST UNIT READY: %v\n", err)
		default:
			return err
		}
	}
	return errors.New("unit attention reported twice")
}

func (s *session) inquiry() error {
	buf := make([]byte, scsi.StandardInquiryLength)
	n, err := s.command(scsi.Inquiry{AllocationLength: uint16(len(buf))}, buf, nil)
	if err != nil {
		return err
	}
	d, err := scsi.ParseInquiryData(buf[:n])
	if err != nil {
		return err
	}
	if d.PeripheralDeviceType != scsi.DeviceTypeDirectAccess {
		return fmt.Errorf("peripheral device type %#02x, want direct access", d.PeripheralDeviceType)
	}
	fmt.Printf("INQUIRY: %d bytes, %q %q %q\n", n, d.VendorID, d.ProductID, d.ProductRevision)
	return nil
}

func (s *session) readCapacity() error {
	buf := make([]byte, scsi.ReadCapacity16DataLength)
	n, err := s.command(scsi.ReadCapacity16{AllocationLength: uint32(len(buf))}, buf, nil)
	if err != nil {
		return err
	}
	d, err := scsi.ParseReadCapacity16Data(buf[:n])
	if err != nil {
		return err
	}
	if d.BlockLength != blockLength {
		return fmt.Errorf("logical block length %d, want %d", d.BlockLength, blockLength)
	}
	if d.LastLBA < ioLBA+ioLength/blockLength-1 {
		return fmt.Errorf("last LBA %d: too small for the test", d.LastLBA)
	}
	fmt.Printf("READ CAPACITY(16): last LBA %d, %d-byte blocks\n", d.LastLBA, d.BlockLength)
	return nil
}

func (s *session) write(data []byte) error {
	_, err := s.command(scsi.ReadWrite{Op: scsi.OpWrite10, LBA: ioLBA, TransferLength: uint32(len(data) / blockLength)}, nil, data)
	if err == nil {
		fmt.Printf("WRITE(10): %d bytes at LBA %d\n", len(data), ioLBA)
	}
	return err
}

func (s *session) read(want []byte) error {
	buf := make([]byte, len(want))
	n, err := s.command(scsi.ReadWrite{Op: scsi.OpRead10, LBA: ioLBA, TransferLength: uint32(len(want) / blockLength)}, buf, nil)
	if err != nil {
		return err
	}
	if n != len(want) || !bytes.Equal(buf, want) {
		return fmt.Errorf("read back %d bytes that differ from the %d written", n, len(want))
	}
	fmt.Printf("READ(10): %d bytes at LBA %d, equal to those written\n", n, ioLBA)
	return nil
}

// ping sends a NOP-Out with ping data the target must echo (RFC 7143
// §11.18, §11.19). Its length is not a multiple of 4, so the data digest
// covers padding too (RFC 7143 §11.1).
func (s *session) ping() error {
	data := []byte("datadigest ping: CRC32C covers this segment and its padding")
	itt := s.nextITT()
	var h pdu.BHS
	n := h.NOPOut()
	n.Init()
	n.SetImmediate(true)
	n.SetLUN(s.lun)
	n.SetInitiatorTaskTag(itt)
	n.SetTargetTransferTag(pdu.ReservedTag)
	n.SetCmdSN(s.cmdSN)
	n.SetExpStatSN(s.expStatSN)
	if err := s.writePDU(&h, data); err != nil {
		return err
	}
	p, err := s.readPDU()
	if err != nil {
		return err
	}
	if op := p.Header.Opcode(); op != pdu.OpNOPIn {
		return fmt.Errorf("answered with %v", op)
	}
	v := p.Header.NOPIn()
	if v.InitiatorTaskTag() != itt || v.TargetTransferTag() != pdu.ReservedTag {
		return fmt.Errorf("NOP-In ITT %#x TTT %#x, want %#x and %#x", v.InitiatorTaskTag(), v.TargetTransferTag(), itt, pdu.ReservedTag)
	}
	if err := s.statSN(pdu.OpNOPIn, v.StatSN()); err != nil {
		return err
	}
	if !bytes.Equal(p.Data, data) {
		return errors.New("NOP-In does not echo the ping data")
	}
	fmt.Printf("NOP-Out: %d bytes of ping data echoed\n", len(data))
	return nil
}

// discover runs a discovery session (RFC 7143 §13.21, Appendix C) that
// offers CRC32C digests: tgtd takes Text requests only in discovery sessions
// and negotiates no digest in them, so this connection shows a target
// answering None to a CRC32C offer, and SendTargets=All without digests.
func discover(addr, target, initiator string, deadline time.Time) error {
	st := login.DefaultSettings()
	st.HeaderDigest = login.DigestPrefer
	st.DataDigest = login.DigestPrefer
	st.MaxRecvDataSegmentLength = maxRecvDataSegmentLength
	conn, s, res, err := dial(addr, deadline, login.InitiatorConfig{
		InitiatorName:    initiator,
		SessionType:      login.SessionDiscovery,
		ISID:             pdu.NewISID(pdu.ISIDRandom, 0, 0x5dd0, 0x9e, 0x0001),
		InitiatorTaskTag: 1,
		CmdSN:            1,
		Settings:         &st,
	})
	if err != nil {
		return err
	}
	defer conn.Close()
	fmt.Printf("discovery session: TSIH %#04x, HeaderDigest=%s DataDigest=%s\n",
		res.TSIH, digestName(res.Conn.HeaderDigest), digestName(res.Conn.DataDigest))
	if err := s.sendTargets(target); err != nil {
		return fmt.Errorf("SendTargets: %w", err)
	}
	if err := s.logout(); err != nil {
		return fmt.Errorf("logout: %w", err)
	}
	return nil
}

func (s *session) sendTargets(target string) error {
	x := &login.TextExchange{ITT: s.nextITT(), CmdSN: s.cmdSN, ExpStatSN: s.expStatSN, MaxXmitDataSegmentLength: s.maxXmit}
	targets, err := login.SendTargets(context.Background(), s.r, s.w, x, "All")
	if err != nil {
		return err
	}
	s.expStatSN = x.ExpStatSN
	for _, t := range targets {
		if t.Name == target && len(t.Addresses) > 0 {
			fmt.Printf("SendTargets=All: %d targets, %s at %v\n", len(targets), t.Name, t.Addresses)
			return nil
		}
	}
	return fmt.Errorf("%s not among %+v", target, targets)
}

func (s *session) logout() error {
	itt := s.nextITT()
	var h pdu.BHS
	l := h.LogoutRequest()
	l.Init()
	l.SetImmediate(true)
	l.SetReasonCode(pdu.LogoutCloseSession)
	l.SetInitiatorTaskTag(itt)
	l.SetCmdSN(s.cmdSN)
	l.SetExpStatSN(s.expStatSN)
	if err := s.writePDU(&h, nil); err != nil {
		return err
	}
	p, err := s.readPDU()
	if err != nil {
		return err
	}
	if op := p.Header.Opcode(); op != pdu.OpLogoutResponse {
		return fmt.Errorf("answered with %v", op)
	}
	v := p.Header.LogoutResponse()
	if v.InitiatorTaskTag() != itt {
		return fmt.Errorf("Logout Response ITT %#x, want %#x", v.InitiatorTaskTag(), itt)
	}
	if err := s.statSN(pdu.OpLogoutResponse, v.StatSN()); err != nil {
		return err
	}
	if v.Response() != pdu.LogoutClosedSuccessfully {
		return fmt.Errorf("logout response %d", v.Response())
	}
	fmt.Println("Logout: session closed")
	return nil
}
