package session

import (
	"bytes"
	"context"
	"errors"
	"net"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/go-iscsi/iscsi/login"
	"github.com/go-iscsi/iscsi/pdu"
	"github.com/go-iscsi/iscsi/scsi"
)

// snackTarget is a scripted raw-PDU target for the tests of the
// initiator's ErrorRecoveryLevel 1: it logs in with login.Accept at the
// ErrorRecoveryLevel and digests given, then reports every PDU it
// receives and sends only what the test writes, with good or deliberately
// broken digests.
type snackTarget struct {
	l     net.Listener
	conns chan *snackConn
	wg    sync.WaitGroup
}

type snackConn struct {
	nc   net.Conn
	r    *pdu.Reader
	d    pdu.Digests
	reqs chan pdu.PDU
	// statSN is the StatSN of the next response; expCmdSN the next CmdSN
	// expected (RFC 7143 §4.2.2).
	statSN, expCmdSN uint32
	mu               sync.Mutex
}

func newSNACKTarget(t *testing.T, erl uint8) *snackTarget {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	st := &snackTarget{l: l, conns: make(chan *snackConn, 4)}
	reg := &login.MemoryRegistry{}
	settings := quickSettings(20, func(s *login.Settings) {
		s.ErrorRecoveryLevel = erl
		s.HeaderDigest, s.DataDigest = login.DigestPrefer, login.DigestPrefer
		s.InitialR2T, s.ImmediateData = true, false
		s.MaxOutstandingR2T = 1
	})
	st.wg.Go(func() {
		for {
			nc, err := l.Accept()
			if err != nil {
				return
			}
			r, w := pdu.NewReader(nc), pdu.NewWriter(nc)
			res, err := login.Accept(context.Background(), r, w, login.TargetConfig{
				Lookup: func(name string) (login.TargetInfo, bool) {
					return login.TargetInfo{Name: testTarget}, name == testTarget
				},
				Sessions: reg,
				Settings: settings,
			})
			if err != nil {
				nc.Close()
				continue
			}
			c := &snackConn{nc: nc, r: r, d: r.Digests(), reqs: make(chan pdu.PDU, 64), statSN: res.StatSN + 1, expCmdSN: res.CmdSN}
			st.conns <- c
			st.wg.Go(func() {
				defer close(c.reqs)
				for {
					p, err := c.r.Read()
					if err != nil {
						return
					}
					if n := p.Header.NOPOut(); p.Header.Opcode() == pdu.OpNOPOut && n.InitiatorTaskTag() != pdu.ReservedTag {
						// A ping (RFC 7143 §11.18) is answered at once.
						var h pdu.BHS
						in := h.NOPIn()
						in.Init()
						in.SetInitiatorTaskTag(n.InitiatorTaskTag())
						in.SetTargetTransferTag(pdu.ReservedTag)
						if c.write(&h, nil, true, sendGood) != nil {
							return
						}
					}
					c.reqs <- pdu.PDU{Header: p.Header, Data: append([]byte(nil), p.Data...)}
				}
			})
		}
	})
	t.Cleanup(func() {
		l.Close()
		for {
			select {
			case c := <-st.conns:
				c.nc.Close()
				continue
			default:
			}
			break
		}
		st.wg.Wait()
	})
	return st
}

// Ways a scripted PDU is sent.
const (
	sendGood       = iota
	sendBadData    // a bit of the data digest flipped
	sendBadHeader  // a bit of the header digest flipped
	sendKeepStatSN // StatSN as set by the caller, none advanced
)

// send writes h and data, stamping ExpCmdSN and MaxCmdSN (RFC 7143
// §4.2.2.1) and, when status is true, the next StatSN.
func (c *snackConn) send(t *testing.T, h *pdu.BHS, data []byte, status bool, how int) {
	t.Helper()
	if err := c.write(h, data, status, how); err != nil {
		t.Fatal(err)
	}
}

func (c *snackConn) write(h *pdu.BHS, data []byte, status bool, how int) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if status && how != sendKeepStatSN {
		h.SCSIResponse().SetStatSN(c.statSN)
		c.statSN++
	}
	h.SCSIResponse().SetExpCmdSN(c.expCmdSN)
	h.SCSIResponse().SetMaxCmdSN(c.expCmdSN + 31)
	var b bytes.Buffer
	w := pdu.NewWriter(&b)
	w.SetDigests(c.d)
	if err := w.Write(h, nil, data); err != nil {
		return err
	}
	raw := b.Bytes()
	switch how {
	case sendBadData:
		raw[len(raw)-1] ^= 0x01
	case sendBadHeader:
		raw[pdu.BHSLength] ^= 0x01
	}
	_, err := c.nc.Write(raw)
	return err
}

// next returns the next PDU of opcode op the target received, skipping
// others.
func (c *snackConn) next(t *testing.T, op pdu.Opcode) pdu.PDU {
	t.Helper()
	timeout := time.After(10 * time.Second)
	for {
		select {
		case p, ok := <-c.reqs:
			if !ok {
				t.Fatalf("connection closed waiting for a %v", op)
			}
			if p.Header.Opcode() == pdu.OpSCSICommand && !p.Header.Immediate() {
				c.mu.Lock()
				c.expCmdSN = p.Header.SCSICommand().CmdSN() + 1
				c.mu.Unlock()
			}
			if p.Header.Opcode() == op {
				return p
			}
		case <-timeout:
			t.Fatalf("no %v within 10s", op)
		}
	}
}

// dataIn builds a Data-In of data at offset with DataSN sn.
func dataIn(itt, sn, offset uint32) pdu.BHS {
	var h pdu.BHS
	d := h.DataIn()
	d.Init()
	d.SetInitiatorTaskTag(itt)
	d.SetTargetTransferTag(pdu.ReservedTag)
	d.SetDataSN(sn)
	d.SetBufferOffset(offset)
	return h
}

// final marks a Data-In as the last, with GOOD status (RFC 7143 §11.7.4).
func final(h pdu.BHS) pdu.BHS {
	d := h.DataIn()
	d.SetFinal(true)
	d.SetStatusPresent(true)
	return h
}

func scsiResp(itt uint32) pdu.BHS {
	var h pdu.BHS
	r := h.SCSIResponse()
	r.Init()
	r.SetInitiatorTaskTag(itt)
	r.SetResponse(pdu.ResponseCommandCompleted)
	return h
}

func dialSNACK(t *testing.T, st *snackTarget, erl uint8, f func(*Options)) (*Session, *snackConn) {
	t.Helper()
	opts := Options{
		InitiatorName: testInitiator, TargetName: testTarget,
		Settings:           quickSettings(20, nil),
		HeaderDigest:       true,
		DataDigest:         true,
		ErrorRecoveryLevel: erl,
		SNACKTimeout:       5 * time.Second,
	}
	if f != nil {
		f(&opts)
	}
	s, err := Dial(context.Background(), st.l.Addr().String(), opts)
	if err != nil {
		t.Fatalf("Dial: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s, <-st.conns
}

// wantSNACK reads the next SNACK and checks its fields (RFC 7143 §11.16).
func wantSNACK(t *testing.T, c *snackConn, typ pdu.SNACKType, itt, ttt, begRun, runLength uint32) pdu.SNACKRequest {
	t.Helper()
	p := c.next(t, pdu.OpSNACKRequest)
	sn := *p.Header.SNACKRequest()
	if err := sn.Validate(); err != nil {
		t.Errorf("SNACK: %v", err)
	}
	if sn.Type() != typ || sn.InitiatorTaskTag() != itt || sn.TargetTransferTag() != ttt || sn.BegRun() != begRun || sn.RunLength() != runLength {
		t.Errorf("SNACK type %v ITT 0x%x TTT 0x%x BegRun %d RunLength %d, want %v 0x%x 0x%x %d %d",
			sn.Type(), sn.InitiatorTaskTag(), sn.TargetTransferTag(), sn.BegRun(), sn.RunLength(), typ, itt, ttt, begRun, runLength)
	}
	return sn
}

// command returns the ITT of the next SCSI Command received.
func (c *snackConn) command(t *testing.T) uint32 {
	t.Helper()
	p := c.next(t, pdu.OpSCSICommand)
	return p.Header.InitiatorTaskTag()
}

// recoveryStats are the counters of recovery in st.
func recoveryStats(st Stats) Stats {
	return Stats{
		Reinstatements: st.Reinstatements, DataDigestErrors: st.DataDigestErrors, HeaderDigestErrors: st.HeaderDigestErrors,
		DataSNACKs: st.DataSNACKs, R2TSNACKs: st.R2TSNACKs, StatusSNACKs: st.StatusSNACKs, DataACKs: st.DataACKs,
		SNACKTimeouts: st.SNACKTimeouts,
	}
}

func pattern(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i*7 + i>>8)
	}
	return b
}

// TestInitiatorERL1DataIn: at ErrorRecoveryLevel 1 a Data-In lost (to a
// data digest error, or never arriving: a DataSN gap, or missing at the
// end as the SCSI Response's ExpDataSN shows) is asked for again with a
// Data/R2T SNACK (RFC 7143 §7.2.1, §11.16), the resent PDU lands at its
// BufferOffset, and the READ returns exactly the target's bytes; a Data-In
// with the A bit is acknowledged with a DataACK (§11.7.2).
func TestInitiatorERL1DataIn(t *testing.T) {
	const seg = 512
	want := pattern(3 * seg)
	tests := []struct {
		name string
		// script sends the Data-In of itt, answers the initiator's
		// SNACKs, and sends the status.
		script func(t *testing.T, c *snackConn, itt uint32)
		stats  Stats
	}{
		{
			name: "data digest error",
			script: func(t *testing.T, c *snackConn, itt uint32) {
				for i, how := range []int{sendGood, sendBadData} {
					h := dataIn(itt, uint32(i), uint32(i*seg))
					c.send(t, &h, want[i*seg:(i+1)*seg], false, how)
				}
				wantSNACK(t, c, pdu.SNACKDataR2T, itt, pdu.ReservedTag, 1, 1)
				h := final(dataIn(itt, 2, 2*seg))
				c.send(t, &h, want[2*seg:], true, sendGood)
				h = dataIn(itt, 1, seg)
				c.send(t, &h, want[seg:2*seg], false, sendGood)
			},
			stats: Stats{DataDigestErrors: 1, DataSNACKs: 1},
		},
		{
			name: "DataSN gap",
			script: func(t *testing.T, c *snackConn, itt uint32) {
				h := dataIn(itt, 0, 0)
				c.send(t, &h, want[:seg], false, sendGood)
				c.mu.Lock()
				status := c.statSN
				c.mu.Unlock()
				h = final(dataIn(itt, 2, 2*seg))
				c.send(t, &h, want[2*seg:], true, sendGood)
				// RFC 7143 §4.2.2.2: the status is not acknowledged
				// while its task misses Data-In.
				if sn := wantSNACK(t, c, pdu.SNACKDataR2T, itt, pdu.ReservedTag, 1, 1); sn.ExpStatSN() != status {
					t.Errorf("SNACK ExpStatSN %d, want %d: the status was acknowledged before its data", sn.ExpStatSN(), status)
				}
				h = dataIn(itt, 1, seg)
				c.send(t, &h, want[seg:2*seg], false, sendGood)
			},
			stats: Stats{DataSNACKs: 1},
		},
		{
			name: "header digest error",
			script: func(t *testing.T, c *snackConn, itt uint32) {
				for i, how := range []int{sendGood, sendBadHeader} {
					h := dataIn(itt, uint32(i), uint32(i*seg))
					c.send(t, &h, want[i*seg:(i+1)*seg], false, how)
				}
				h := final(dataIn(itt, 2, 2*seg))
				c.send(t, &h, want[2*seg:], true, sendGood)
				wantSNACK(t, c, pdu.SNACKDataR2T, itt, pdu.ReservedTag, 1, 1)
				h = dataIn(itt, 1, seg)
				c.send(t, &h, want[seg:2*seg], false, sendGood)
			},
			stats: Stats{HeaderDigestErrors: 1, DataSNACKs: 1},
		},
		{
			name: "last Data-In lost before the SCSI Response",
			script: func(t *testing.T, c *snackConn, itt uint32) {
				for i := range 2 {
					h := dataIn(itt, uint32(i), uint32(i*seg))
					c.send(t, &h, want[i*seg:(i+1)*seg], false, sendGood)
				}
				h := scsiResp(itt)
				h.SCSIResponse().SetExpDataSN(3)
				c.send(t, &h, nil, true, sendGood)
				wantSNACK(t, c, pdu.SNACKDataR2T, itt, pdu.ReservedTag, 2, 1)
				h = dataIn(itt, 2, 2*seg)
				h.DataIn().SetFinal(true)
				c.send(t, &h, want[2*seg:], false, sendGood)
			},
			stats: Stats{DataSNACKs: 1},
		},
		{
			name: "A bit after a lost Data-In",
			script: func(t *testing.T, c *snackConn, itt uint32) {
				h := dataIn(itt, 0, 0)
				c.send(t, &h, want[:seg], false, sendBadData)
				wantSNACK(t, c, pdu.SNACKDataR2T, itt, pdu.ReservedTag, 0, 1)
				for i := 1; i < 3; i++ {
					h := dataIn(itt, uint32(i), uint32(i*seg))
					if i == 2 {
						h.DataIn().SetFinal(true)
						h.DataIn().SetAcknowledge(true)
						h.DataIn().SetTargetTransferTag(0x99)
					}
					c.send(t, &h, want[i*seg:(i+1)*seg], false, sendGood)
				}
				// §11.16.1: the DataACK waits for the Data-In missing.
				h = dataIn(itt, 0, 0)
				c.send(t, &h, want[:seg], false, sendGood)
				wantSNACK(t, c, pdu.SNACKDataACK, pdu.ReservedTag, 0x99, 3, 0)
				h = scsiResp(itt)
				h.SCSIResponse().SetExpDataSN(3)
				c.send(t, &h, nil, true, sendGood)
			},
			stats: Stats{DataDigestErrors: 1, DataSNACKs: 1, DataACKs: 1},
		},
		{
			name: "A bit",
			script: func(t *testing.T, c *snackConn, itt uint32) {
				for i := range 3 {
					h := dataIn(itt, uint32(i), uint32(i*seg))
					if i == 1 {
						h.DataIn().SetAcknowledge(true)
						h.DataIn().SetTargetTransferTag(0x1234)
						h.DataIn().SetLUN(0)
					}
					if i == 2 {
						h = final(h)
					}
					c.send(t, &h, want[i*seg:(i+1)*seg], i == 2, sendGood)
					if i == 1 {
						wantSNACK(t, c, pdu.SNACKDataACK, pdu.ReservedTag, 0x1234, 2, 0)
					}
				}
			},
			stats: Stats{DataACKs: 1},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			st := newSNACKTarget(t, 1)
			s, c := dialSNACK(t, st, 1, nil)
			if sp, _ := s.Params(); sp.ErrorRecoveryLevel != 1 {
				t.Fatalf("ErrorRecoveryLevel %d negotiated, want 1", sp.ErrorRecoveryLevel)
			}
			buf := make([]byte, len(want))
			type outcome struct {
				resp *Response
				err  error
			}
			done := make(chan outcome, 1)
			go func() {
				resp, err := s.Execute(context.Background(), &Command{CDB: rw10(0x28, 0, 3), DataIn: buf})
				done <- outcome{resp, err}
			}()
			tc.script(t, c, c.command(t))
			o := <-done
			if o.err != nil {
				t.Fatalf("Execute: %v", o.err)
			}
			if o.resp.Status != scsi.StatusGood || o.resp.DataInLength != len(want) {
				t.Errorf("status %v, %d bytes, want GOOD, %d", o.resp.Status, o.resp.DataInLength, len(want))
			}
			if !bytes.Equal(buf, want) {
				t.Error("READ data differ from the target's")
			}
			if got := recoveryStats(s.Stats()); !reflect.DeepEqual(got, tc.stats) {
				t.Errorf("Stats %+v, want %+v", got, tc.stats)
			}
		})
	}
}

// TestInitiatorERL1Status: at ErrorRecoveryLevel 1 a SCSI Response lost
// (never arriving: the next StatSN jumps; or dropped for a data digest
// error) is asked for once with a Status SNACK (RFC 7143 §7.2.2, §11.16),
// ExpStatSN staying at the lost one until it comes.
func TestInitiatorERL1Status(t *testing.T) {
	sense := scsi.NewSense(scsi.SenseNotReady, scsi.NewASC(0x04, 0x00)).AppendFixed(nil)
	senseSeg := append([]byte{0, byte(len(sense))}, sense...)
	tests := []struct {
		name  string
		how   int
		stats Stats
	}{
		{"response lost", -1, Stats{StatusSNACKs: 1}},
		{"data digest error", sendBadData, Stats{StatusSNACKs: 1, DataDigestErrors: 1}},
		{"header digest error", sendBadHeader, Stats{StatusSNACKs: 1, HeaderDigestErrors: 1}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			st := newSNACKTarget(t, 1)
			s, c := dialSNACK(t, st, 1, nil)
			errs := make(chan error, 2)
			for range 2 {
				go func() {
					resp, err := s.Execute(context.Background(), &Command{CDB: []byte{0, 0, 0, 0, 0, 0}})
					if err == nil && resp.Status != scsi.StatusCheckCondition {
						err = errors.New("not CHECK CONDITION")
					}
					if err == nil && (resp.Sense == nil || resp.Sense.Key != scsi.SenseNotReady) {
						err = errors.New("sense data lost")
					}
					errs <- err
				}()
			}
			a := c.command(t)
			b := c.command(t)
			c.mu.Lock()
			lost := c.statSN
			c.mu.Unlock()
			h := scsiResp(a)
			h.SCSIResponse().SetStatus(uint8(scsi.StatusCheckCondition))
			if tc.how < 0 {
				c.statSN++ // the response is lost on the way
			} else {
				c.send(t, &h, senseSeg, true, tc.how)
			}
			hb := scsiResp(b)
			hb.SCSIResponse().SetStatus(uint8(scsi.StatusCheckCondition))
			c.send(t, &hb, senseSeg, true, sendGood)
			sn := wantSNACK(t, c, pdu.SNACKStatus, pdu.ReservedTag, pdu.ReservedTag, lost, 1)
			if sn.ExpStatSN() != lost {
				t.Errorf("SNACK ExpStatSN %d, want %d (the lost response)", sn.ExpStatSN(), lost)
			}
			h.SCSIResponse().SetStatSN(lost)
			c.send(t, &h, senseSeg, true, sendKeepStatSN)
			for range 2 {
				if err := <-errs; err != nil {
					t.Error(err)
				}
			}
			if got := recoveryStats(s.Stats()); !reflect.DeepEqual(got, tc.stats) {
				t.Errorf("Stats %+v, want %+v", got, tc.stats)
			}
		})
	}
}

// TestInitiatorERL1R2T: an R2TSN gap is asked for with a Data/R2T SNACK
// (RFC 7143 §7.2.1, §11.16.1), and an R2T for data already sent (a
// recovery R2T, §7.2.2) is answered with that data again.
func TestInitiatorERL1R2T(t *testing.T) {
	data := pattern(1024)
	r2t := func(itt, sn, ttt, off, n uint32) pdu.BHS {
		var h pdu.BHS
		r := h.R2T()
		r.Init()
		r.SetInitiatorTaskTag(itt)
		r.SetTargetTransferTag(ttt)
		r.SetR2TSN(sn)
		r.SetBufferOffset(off)
		r.SetDesiredDataTransferLength(n)
		return h
	}
	// wantData reads one Data-Out sequence and checks it carries
	// data[off:off+n].
	wantData := func(t *testing.T, c *snackConn, ttt, off, n uint32) {
		t.Helper()
		var got []byte
		for {
			p := c.next(t, pdu.OpSCSIDataOut)
			d := p.Header.DataOut()
			if d.TargetTransferTag() != ttt || d.BufferOffset() != off+uint32(len(got)) {
				t.Fatalf("Data-Out TTT 0x%x offset %d, want 0x%x %d", d.TargetTransferTag(), d.BufferOffset(), ttt, off+uint32(len(got)))
			}
			got = append(got, p.Data...)
			if d.Final() {
				break
			}
		}
		if !bytes.Equal(got, data[off:off+n]) {
			t.Errorf("Data-Out for the R2T at %d+%d differ", off, n)
		}
	}
	tests := []struct {
		name   string
		script func(t *testing.T, c *snackConn, itt uint32)
		stats  Stats
	}{
		{
			name: "R2TSN gap",
			script: func(t *testing.T, c *snackConn, itt uint32) {
				h := r2t(itt, 1, 11, 512, 512)
				c.send(t, &h, nil, false, sendGood)
				// The SNACK goes before the Data-Out answering the R2T.
				wantSNACK(t, c, pdu.SNACKDataR2T, itt, pdu.ReservedTag, 0, 1)
				wantData(t, c, 11, 512, 512)
				h = r2t(itt, 0, 10, 0, 512)
				c.send(t, &h, nil, false, sendGood)
				wantData(t, c, 10, 0, 512)
			},
			stats: Stats{R2TSNACKs: 1},
		},
		{
			name: "Data-Out rejected for its data digest",
			script: func(t *testing.T, c *snackConn, itt uint32) {
				h := r2t(itt, 0, 10, 0, 1024)
				c.send(t, &h, nil, false, sendGood)
				p := c.next(t, pdu.OpSCSIDataOut)
				if d := p.Header.DataOut(); !d.Final() || d.BufferOffset() != 0 || len(p.Data) != 1024 {
					t.Fatalf("Data-Out at %d+%d, want the whole 1024 bytes", d.BufferOffset(), len(p.Data))
				}
				// RFC 7143 §7.8: the target rejects the Data-Out and
				// asks for it again with a recovery R2T.
				var rj pdu.BHS
				r := rj.Reject()
				r.Init()
				r.SetReason(pdu.RejectDataDigestError)
				c.send(t, &rj, p.Header[:], true, sendGood)
				h = r2t(itt, 1, 12, 0, 1024)
				c.send(t, &h, nil, false, sendGood)
				wantData(t, c, 12, 0, 1024)
			},
		},
		{
			name: "recovery R2T",
			script: func(t *testing.T, c *snackConn, itt uint32) {
				h := r2t(itt, 0, 10, 0, 1024)
				c.send(t, &h, nil, false, sendGood)
				wantData(t, c, 10, 0, 1024)
				h = r2t(itt, 1, 12, 256, 512)
				c.send(t, &h, nil, false, sendGood)
				wantData(t, c, 12, 256, 512)
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			st := newSNACKTarget(t, 1)
			s, c := dialSNACK(t, st, 1, nil)
			done := make(chan error, 1)
			go func() {
				_, err := s.Execute(context.Background(), &Command{CDB: rw10(0x2a, 0, 2), DataOut: data})
				done <- err
			}()
			itt := c.command(t)
			tc.script(t, c, itt)
			h := scsiResp(itt)
			c.send(t, &h, nil, true, sendGood)
			if err := <-done; err != nil {
				t.Fatalf("Execute: %v", err)
			}
			if got := recoveryStats(s.Stats()); !reflect.DeepEqual(got, tc.stats) {
				t.Errorf("Stats %+v, want %+v", got, tc.stats)
			}
		})
	}
}

// TestInitiatorERL1Fallback: what recovery within the connection cannot
// mend falls back to the recovery of ErrorRecoveryLevel 0 (RFC 7143
// §7.1.4.3): at level 0 a data digest error ends the connection and the
// session is reinstated; at level 1 a SNACK unanswered within
// SNACKTimeout does the same. The READ then either completes on the new
// session (RecoveryRetry) or fails (RecoveryFail), never reports data it
// did not get.
func TestInitiatorERL1Fallback(t *testing.T) {
	const seg = 512
	want := pattern(2 * seg)
	tests := []struct {
		name   string
		erl    uint8
		how    int
		policy RecoveryPolicy
		stats  Stats
	}{
		{"ERL 0 data digest error", 0, sendBadData, RecoveryRetry, Stats{Reinstatements: 1, DataDigestErrors: 1}},
		{"ERL 0 header digest error", 0, sendBadHeader, RecoveryRetry, Stats{Reinstatements: 1, HeaderDigestErrors: 1}},
		{"ERL 1 SNACK unanswered, retry", 1, sendBadData, RecoveryRetry, Stats{Reinstatements: 1, DataDigestErrors: 1, DataSNACKs: 1, SNACKTimeouts: 1}},
		{"ERL 1 SNACK unanswered, fail", 1, sendBadData, RecoveryFail, Stats{Reinstatements: 1, DataDigestErrors: 1, DataSNACKs: 1, SNACKTimeouts: 1}},
		// Every resend corrupted again: after maxTaskSNACKs SNACKs the
		// connection goes.
		{"ERL 1 resends corrupted", 1, -sendBadData, RecoveryRetry, Stats{Reinstatements: 1, DataDigestErrors: maxTaskSNACKs + 1, DataSNACKs: maxTaskSNACKs}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			st := newSNACKTarget(t, tc.erl)
			s, c := dialSNACK(t, st, tc.erl, func(o *Options) {
				o.Recovery = tc.policy
				o.SNACKTimeout = 100 * time.Millisecond
			})
			buf := make([]byte, len(want))
			done := make(chan error, 1)
			go func() {
				_, err := s.Execute(context.Background(), &Command{CDB: rw10(0x28, 0, 2), DataIn: buf})
				done <- err
			}()
			itt := c.command(t)
			how := max(tc.how, -tc.how)
			h := dataIn(itt, 0, 0)
			c.send(t, &h, want[:seg], false, how)
			h = final(dataIn(itt, 1, seg))
			c.send(t, &h, want[seg:], true, sendGood)
			if tc.erl > 0 {
				wantSNACK(t, c, pdu.SNACKDataR2T, itt, pdu.ReservedTag, 0, 1)
			}
			for i := 0; tc.how < 0 && i < maxTaskSNACKs; i++ {
				h := dataIn(itt, 0, 0)
				c.send(t, &h, want[:seg], false, how)
				if i < maxTaskSNACKs-1 {
					wantSNACK(t, c, pdu.SNACKDataR2T, itt, pdu.ReservedTag, 0, 1)
				}
			}
			// The connection ends; the session is reinstated on a new one.
			c2 := <-st.conns
			if tc.policy == RecoveryRetry {
				itt := c2.command(t)
				h := final(dataIn(itt, 0, 0))
				c2.send(t, &h, want, true, sendGood)
			}
			err := <-done
			// A command on the new session: the reinstatement is over.
			go func() {
				_, err := s.Execute(context.Background(), &Command{CDB: []byte{0, 0, 0, 0, 0, 0}})
				done <- err
			}()
			h = scsiResp(c2.command(t))
			c2.send(t, &h, nil, true, sendGood)
			if err := <-done; err != nil {
				t.Errorf("TEST UNIT READY on the new session: %v", err)
			}
			switch {
			case tc.policy == RecoveryRetry && err != nil:
				t.Fatalf("Execute: %v", err)
			case tc.policy == RecoveryRetry && !bytes.Equal(buf, want):
				t.Error("READ data differ from the target's")
			case tc.policy == RecoveryFail && !errors.Is(err, ErrConnectionLost):
				t.Errorf("Execute: %v, want ErrConnectionLost", err)
			}
			if got := recoveryStats(s.Stats()); !reflect.DeepEqual(got, tc.stats) {
				t.Errorf("Stats %+v, want %+v", got, tc.stats)
			}
		})
	}
}

// TestInitiatorERLProposal: Options.ErrorRecoveryLevel is proposed, 3
// lowered to 2, with MaxOutstandingR2T 1 as RFC 7143 §13.19 requires at
// level 1 and above.
func TestInitiatorERLProposal(t *testing.T) {
	for _, tc := range []struct{ target, proposed, want uint8 }{
		{2, 0, 0}, {2, 1, 1}, {2, 2, 2}, {2, 3, 2}, {0, 1, 0},
	} {
		st := newSNACKTarget(t, tc.target)
		s, _ := dialSNACK(t, st, tc.proposed, nil)
		sp, _ := s.Params()
		if sp.ErrorRecoveryLevel != tc.want {
			t.Errorf("target %d, proposed %d: ErrorRecoveryLevel %d, want %d", tc.target, tc.proposed, sp.ErrorRecoveryLevel, tc.want)
		}
		if sp.ErrorRecoveryLevel > 0 && sp.MaxOutstandingR2T != 1 {
			t.Errorf("MaxOutstandingR2T %d at ErrorRecoveryLevel %d", sp.MaxOutstandingR2T, sp.ErrorRecoveryLevel)
		}
		s.Close()
	}
}

// TestSNGaps: the runs of missing sequence numbers a task keeps shrink,
// split and empty as the PDUs asked for again arrive, in any order.
func TestSNGaps(t *testing.T) {
	tests := []struct {
		name  string
		add   []snRun
		fill  []uint32
		ok    []bool
		left  int
		first uint32
	}{
		{"one run filled in order", []snRun{{5, 3}}, []uint32{5, 6, 7}, []bool{true, true, true}, 0, 0},
		{"split in the middle", []snRun{{5, 3}}, []uint32{6}, []bool{true}, 2, 5},
		{"end of the run", []snRun{{5, 3}}, []uint32{7, 5}, []bool{true, true}, 1, 6},
		{"not missing", []snRun{{5, 1}}, []uint32{4, 6}, []bool{false, false}, 1, 5},
		{"two runs", []snRun{{9, 1}, {2, 2}}, []uint32{9}, []bool{true}, 1, 2},
		{"serial wrap", []snRun{{0xffffffff, 2}}, []uint32{0}, []bool{true}, 1, 0xffffffff},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var g snGaps
			for _, r := range tc.add {
				if !g.add(r.lo, r.n) {
					t.Fatal("add failed")
				}
			}
			for i, sn := range tc.fill {
				if got := g.fill(sn); got != tc.ok[i] {
					t.Errorf("fill(%d) = %v, want %v", sn, got, tc.ok[i])
				}
			}
			if g.n != tc.left {
				t.Errorf("%d runs left, want %d", g.n, tc.left)
			}
			if lo, ok := g.first(); tc.left > 0 && (!ok || lo != tc.first) {
				t.Errorf("first() = %d, %v, want %d", lo, ok, tc.first)
			}
		})
	}
	var g snGaps
	for i := range maxSNGaps {
		g.add(uint32(10*i), 1)
	}
	if g.add(100, 1) {
		t.Error("add beyond maxSNGaps succeeded")
	}
}
