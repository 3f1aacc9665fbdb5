package session_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/go-iscsi/iscsi/internal/peertest"
	"github.com/go-iscsi/iscsi/login"
	"github.com/go-iscsi/iscsi/pdu"
	"github.com/go-iscsi/iscsi/scsi"
	"github.com/go-iscsi/iscsi/scsi/disk"
	"github.com/go-iscsi/iscsi/session"
)

const interopInitiator = "iqn.2026-11.org.example.go-iscsi:interop-initiator"

// interopConfig is what a target under test is started with.
type interopConfig struct {
	chap, mutual *login.CHAPCredentials
	// restricted: InitialR2T=Yes, ImmediateData=No,
	// MaxRecvDataSegmentLength=4096, MaxBurstLength=16384, so every
	// write of more than 16 KiB needs several R2Ts (RFC 7143 §13.10,
	// §13.11, §13.12, §13.13).
	restricted bool
}

// peerTarget is a running target: its portal, target name and the LUN
// of its disk.
type peerTarget struct {
	addr, name string
	lun        scsi.LUN
}

type interopPeer struct {
	name  string
	bins  []string
	start func(t *testing.T, c interopConfig) peerTarget
	// chapAlgs are the CHAP_A values offered (nil: the default offer).
	chapAlgs []login.CHAPAlgorithm
	// restrictedXmit is the MaxXmitDataSegmentLength the restricted
	// target leaves the initiator with.
	restrictedXmit uint32
}

const (
	chapUser     = "interop-user"
	chapSecret   = "interop-secret-12"
	mutualUser   = "interop-target"
	mutualSecret = "interop-target-secret-34"
)

var interopPeers = []interopPeer{
	{"go-iscsi", nil, startGoTarget, nil, 4096},
	// tgtd accepts CHAP_A=7 but computes SHA-1 for it and fails the login
	// (status 0x0200): the initiator's default
	// algorithms must still log in, by its retry with MD5.
	{"tgtd", []string{"tgtd", "tgtadm"}, startTGTDTarget, nil, 4096},
	// istgt does not declare its MaxRecvDataSegmentLength, so the
	// initiator sends data segments of the default 8192 bytes (RFC 7143
	// §13.12).
	{"istgt", []string{"istgt"}, startISTGTTarget, nil, 8192},
}

func startGoTarget(t *testing.T, c interopConfig) peerTarget {
	lu, err := disk.New(disk.NewMemory(interopLUSize), disk.Config{SerialNumber: "INTEROPINIT"})
	if err != nil {
		t.Fatal(err)
	}
	tg := session.Target{Name: interopTarget, Alias: "interop", LUNs: map[scsi.LUN]session.LogicalUnit{{}: lu}}
	srv := &session.Server{Targets: []session.Target{tg}}
	if c.chap != nil {
		srv.Targets[0].AuthMethods = []string{"CHAP"}
		srv.CHAP = func(_, _, user string) (string, *login.CHAPCredentials, bool) {
			if user != c.chap.User {
				return "", nil, false
			}
			return c.chap.Secret, c.mutual, true
		}
	}
	if c.restricted {
		st := login.DefaultSettings()
		st.InitialR2T, st.ImmediateData = true, false
		st.MaxRecvDataSegmentLength, st.MaxBurstLength, st.FirstBurstLength = 4096, 16384, 4096
		srv.Targets[0].Settings = &st
	}
	return peerTarget{listenAndServe(t, srv), interopTarget, scsi.LUN{}}
}

// interopLUSize is the size of the logical unit of every peer: room for
// the 64 MiB written at an unaligned offset.
const interopLUSize = 80 << 20

func startTGTDTarget(t *testing.T, c interopConfig) peerTarget {
	const name = "iqn.2026-11.org.example.go-iscsi:tgtd-initiator"
	tg := peertest.Target{Name: name, Params: map[string]string{
		"HeaderDigest": "CRC32C,None", "DataDigest": "CRC32C,None",
	}, LUNs: []peertest.LUN{{Number: 1, Size: interopLUSize}}}
	if c.chap != nil {
		tg.IncomingUser, tg.IncomingPassword = c.chap.User, c.chap.Secret
	}
	if c.mutual != nil {
		tg.OutgoingUser, tg.OutgoingPassword = c.mutual.User, c.mutual.Secret
	}
	if c.restricted {
		tg.Params["InitialR2T"] = "Yes"
		tg.Params["ImmediateData"] = "No"
		tg.Params["MaxRecvDataSegmentLength"] = "4096"
		tg.Params["MaxBurstLength"] = "16384"
		tg.Params["FirstBurstLength"] = "4096"
	}
	d := peertest.StartTGTD(t, tg)
	lun, _ := scsi.EncodeLUN(1)
	return peerTarget{d.Addr, name, lun}
}

func startISTGTTarget(t *testing.T, c interopConfig) peerTarget {
	o := peertest.ISTGTOptions{Size: interopLUSize}
	if c.chap != nil {
		o.CHAPUser, o.CHAPSecret = c.chap.User, c.chap.Secret
	}
	if c.mutual != nil {
		o.MutualUser, o.MutualSecret = c.mutual.User, c.mutual.Secret
	}
	if c.restricted {
		o.InitialR2T, o.ImmediateData = "Yes", "No"
		o.MaxRecvDataSegmentLength, o.MaxBurstLength, o.FirstBurstLength = 4096, 16384, 4096
	}
	d := peertest.StartISTGT(t, o)
	return peerTarget{d.Addr, d.Target, scsi.LUN{}}
}

// lunResetInFlight resets lun while 32 WRITEs of 64 KiB are outstanding:
// each must end, within a minute, with a status (GOOD, or CHECK CONDITION
// for the aborted and those that see the unit attention) or a typed
// *session.CommandError; none hangs, and the session still reads
// afterwards. istgt 0.4 answers the reset, then leaves the first command
// after it unanswered and closes the connection 30 s later: that READ
// fails with a CommandError (connection lost), the session is reinstated
// and the next READ succeeds.
func lunResetInFlight(t *testing.T, s *session.Session, lun scsi.LUN) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	const n = 32
	started := make(chan struct{}, n)
	errs := make(chan error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			data := make([]byte, 64<<10)
			started <- struct{}{}
			err := session.Write(ctx, s, lun, uint64(i*128), 512, data)
			var ce *session.CommandError
			var se *session.StatusError
			switch {
			case err == nil, errors.As(err, &se), errors.As(err, &ce):
			default:
				errs <- fmt.Errorf("WRITE %d: %w", i, err)
			}
		})
	}
	for range n {
		<-started
	}
	code, err := s.LogicalUnitReset(ctx, lun)
	if err != nil || code != pdu.TMFResponseFunctionComplete {
		t.Errorf("LOGICAL UNIT RESET: %v, %v", code, err)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if ctx.Err() != nil {
		t.Fatal("commands still outstanding a minute after the reset")
	}
	buf := make([]byte, 512)
	var last error
	for range 3 {
		if last = session.Read(ctx, s, lun, 0, 512, buf); last == nil {
			return
		}
	}
	t.Errorf("READ after the reset: %v", last)
}

func interopDial(t *testing.T, tg peerTarget, o session.Options) *session.Session {
	t.Helper()
	o.InitiatorName = interopInitiator
	o.TargetName = tg.name
	s, err := session.Dial(context.Background(), tg.addr, o)
	if err != nil {
		t.Fatalf("Dial %s at %s: %v", tg.name, tg.addr, err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// checkIO writes n bytes of a random pattern at an unaligned offset
// through a BlockDevice, in pieces of random lengths, and reads them back
// in other pieces.
func checkIO(t *testing.T, s *session.Session, lun scsi.LUN, off int64, n int) {
	t.Helper()
	ctx := context.Background()
	d, err := session.NewBlockDevice(ctx, s, lun)
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(uint64(off), uint64(n)))
	data := make([]byte, n)
	for i := range data {
		data[i] = byte(rng.Uint32())
	}
	for done := 0; done < n; {
		k := min(n-done, 1+rng.IntN(3<<20))
		if _, err := d.WriteAt(data[done:done+k], off+int64(done)); err != nil {
			t.Fatalf("WriteAt %d bytes at %d: %v", k, off+int64(done), err)
		}
		done += k
	}
	got := make([]byte, n)
	for done := 0; done < n; {
		k := min(n-done, 1+rng.IntN(2<<20))
		if _, err := d.ReadAt(got[done:done+k], off+int64(done)); err != nil {
			t.Fatalf("ReadAt %d bytes at %d: %v", k, off+int64(done), err)
		}
		done += k
	}
	if !bytes.Equal(got, data) {
		i := 0
		for i = range got {
			if got[i] != data[i] {
				break
			}
		}
		t.Fatalf("read back differs from what was written, first at byte %d of %d", i, n)
	}
	if err := d.Sync(); err != nil {
		t.Errorf("Sync: %v", err)
	}
}

// TestInitiatorInterop runs the initiator against the project's target,
// tgtd and istgt: discovery, logins without authentication and with
// one-way and mutual CHAP, CRC32C digests, 64 MiB through a BlockDevice at
// unaligned offsets, and a target whose settings make every write go
// through many R2Ts.
func TestInitiatorInterop(t *testing.T) {
	for _, p := range interopPeers {
		t.Run(p.name, func(t *testing.T) {
			if p.bins != nil {
				peertest.Require(t, p.bins...)
			}
			ctx := context.Background()
			t.Run("discovery", func(t *testing.T) {
				tg := p.start(t, interopConfig{})
				got, err := session.Discover(ctx, tg.addr, session.Options{InitiatorName: interopInitiator})
				if err != nil {
					t.Fatal(err)
				}
				if !slices.ContainsFunc(got, func(d login.DiscoveredTarget) bool { return d.Name == tg.name }) {
					t.Errorf("SendTargets = %+v, want %s among them", got, tg.name)
				}
			})
			chap := &login.CHAPCredentials{User: chapUser, Secret: chapSecret}
			mutual := &login.CHAPCredentials{User: mutualUser, Secret: mutualSecret}
			for _, a := range []struct {
				name         string
				chap, mutual *login.CHAPCredentials
			}{{"no auth", nil, nil}, {"chap", chap, nil}, {"mutual chap", chap, mutual}} {
				t.Run("login "+a.name, func(t *testing.T) {
					tg := p.start(t, interopConfig{chap: a.chap, mutual: a.mutual})
					if a.chap != nil {
						bad := *a.chap
						bad.Secret += "x"
						_, err := session.Dial(ctx, tg.addr, session.Options{InitiatorName: interopInitiator, TargetName: tg.name, CHAP: &bad, MutualCHAP: a.mutual, CHAPAlgorithms: p.chapAlgs})
						var le *session.LoginError
						if !errors.As(err, &le) {
							t.Errorf("Dial with a wrong CHAP secret: %v, want a *LoginError", err)
						}
					}
					if a.mutual != nil {
						bad := *a.mutual
						bad.Secret += "x"
						if s, err := session.Dial(ctx, tg.addr, session.Options{InitiatorName: interopInitiator, TargetName: tg.name, CHAP: a.chap, MutualCHAP: &bad, CHAPAlgorithms: p.chapAlgs}); err == nil {
							s.Close()
							t.Errorf("Dial expecting another target secret succeeded")
						}
					}
					s := interopDial(t, tg, session.Options{CHAP: a.chap, MutualCHAP: a.mutual, CHAPAlgorithms: p.chapAlgs})
					if err := session.TestUnitReady(ctx, s, tg.lun); err != nil {
						t.Fatal(err)
					}
					inq, err := session.Inquiry(ctx, s, tg.lun)
					if err != nil {
						t.Fatal(err)
					}
					if inq.PeripheralDeviceType != scsi.DeviceTypeDirectAccess {
						t.Errorf("PERIPHERAL DEVICE TYPE %#x, want a direct access device", inq.PeripheralDeviceType)
					}
				})
			}
			t.Run("digests and 64 MiB unaligned", func(t *testing.T) {
				tg := p.start(t, interopConfig{})
				s := interopDial(t, tg, session.Options{HeaderDigest: true, DataDigest: true})
				_, cp := s.Params()
				if !cp.HeaderDigest || !cp.DataDigest {
					t.Errorf("digests negotiated: header %t, data %t; want CRC32C for both", cp.HeaderDigest, cp.DataDigest)
				}
				checkIO(t, s, tg.lun, 777, 64<<20)
			})
			t.Run("LUN reset with 32 commands in flight", func(t *testing.T) {
				tg := p.start(t, interopConfig{})
				s := interopDial(t, tg, session.Options{})
				lunResetInFlight(t, s, tg.lun)
			})
			t.Run("many R2Ts", func(t *testing.T) {
				tg := p.start(t, interopConfig{restricted: true})
				s := interopDial(t, tg, session.Options{})
				sp, cp := s.Params()
				got := []uint32{b2u(sp.InitialR2T), b2u(sp.ImmediateData), sp.MaxBurstLength, cp.MaxXmitDataSegmentLength}
				if diff := cmp.Diff([]uint32{1, 0, 16384, p.restrictedXmit}, got); diff != "" {
					t.Errorf("InitialR2T, ImmediateData, MaxBurstLength, MaxXmitDataSegmentLength (-want +got):\n%s", diff)
				}
				checkIO(t, s, tg.lun, 4095, 2<<20)
			})
		})
	}
}

func b2u(b bool) uint32 {
	if b {
		return 1
	}
	return 0
}
