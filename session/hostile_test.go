package session

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-iscsi/iscsi/digest"
	"github.com/go-iscsi/iscsi/login"
	"github.com/go-iscsi/iscsi/pdu"
	"github.com/go-iscsi/iscsi/scsi"
)

// hostileLoginTimeout is the Server's login timeout in the hostile-peer
// test: the bound on a connection that never completes its login.
const hostileLoginTimeout = 2 * time.Second

// The CHAP target of the hostile-peer test and its one account.
const (
	hostileCHAPTarget = testTarget + "-chap"
	hostileCHAPUser   = "hostile"
	hostileCHAPSecret = "initiator-secret-0123"
)

// hostileWait bounds how long a hostile case waits for the target's answer.
const hostileWait = 20 * time.Second

// hostilePeer is one connection of the hostile-peer test, opened with its
// own initiator name so that no login of it reinstates another session.
type hostilePeer struct {
	c    net.Conn
	r    *pdu.Reader
	w    *pdu.Writer
	res  *login.Result
	name string

	cmdSN, expStatSN uint32
}

var hostileSeq atomic.Uint32

func openHostile(addr string) (*hostilePeer, error) {
	c, err := net.DialTimeout("tcp", addr, hostileWait)
	if err != nil {
		return nil, err
	}
	c.SetDeadline(time.Now().Add(hostileWait))
	n := hostileSeq.Add(1)
	return &hostilePeer{
		c: c, r: pdu.NewReader(c), w: pdu.NewWriter(c),
		name: fmt.Sprintf("iqn.2026-11.org.example.go-iscsi:hostile-%d", n),
	}, nil
}

// login logs in to testTarget with settings (nil: defaults) and sets the
// digests the login negotiated on the peer's Reader and Writer.
func (p *hostilePeer) login(settings *login.Settings) error {
	st := login.DefaultSettings()
	if settings != nil {
		st = *settings
	}
	n := hostileSeq.Add(1)
	res, err := login.Initiate(context.Background(), p.r, p.w, login.InitiatorConfig{
		InitiatorName: p.name, TargetName: testTarget,
		ISID:             pdu.NewISID(pdu.ISIDRandom, 0, uint16(n), 0, uint16(n>>16)),
		InitiatorTaskTag: 0x100, CmdSN: 1, Settings: &st,
	})
	if err != nil {
		return fmt.Errorf("login: %w", err)
	}
	p.res = res
	p.cmdSN = res.CmdSN
	p.expStatSN = res.StatSN + 1
	d := pdu.Digests{Header: res.Conn.HeaderDigest, Data: res.Conn.DataDigest}
	p.r.SetDigests(d)
	p.w.SetDigests(d)
	return nil
}

// expectClosed reads until the target ends the connection. Reject PDUs on
// the way are allowed (RFC 7143 §7.2: a target may reject before it drops);
// any other PDU, or a connection still open at the deadline, is an error.
func (p *hostilePeer) expectClosed() error {
	for {
		q, err := p.r.Read()
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				return errors.New("the target left the connection open")
			}
			return nil
		}
		if q.Header.Opcode() != pdu.OpReject {
			return fmt.Errorf("got %v before the connection ended, want none", q.Header.Opcode())
		}
	}
}

// expectLoginFailure reads the Login Response to a malformed request and
// wants an initiator-error status (class 2, RFC 7143 §11.13.5); a target
// that simply drops the connection is accepted too (§7.2, protocol errors
// during login).
func (p *hostilePeer) expectLoginFailure() error {
	q, err := p.r.Read()
	if err != nil {
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			return errors.New("no answer to a malformed login")
		}
		return nil
	}
	if q.Header.Opcode() != pdu.OpLoginResponse {
		return fmt.Errorf("malformed login answered by %v", q.Header.Opcode())
	}
	lr := q.Header.LoginResponse()
	if lr.StatusClass() != pdu.StatusClass(2) {
		return fmt.Errorf("malformed login answered with status 0x%04x, want class 2", uint16(lr.Status()))
	}
	return p.expectClosed()
}

// expectReject wants a Reject of the PDU just sent.
func (p *hostilePeer) expectReject() error {
	q, err := p.r.Read()
	if err != nil {
		return fmt.Errorf("no Reject: %w", err)
	}
	if q.Header.Opcode() != pdu.OpReject {
		return fmt.Errorf("got %v, want Reject", q.Header.Opcode())
	}
	p.expStatSN = q.Header.Reject().StatSN() + 1
	return nil
}

// nop pings the target with an immediate NOP-Out and wants its NOP-In:
// the connection still works.
func (p *hostilePeer) nop() error {
	var h pdu.BHS
	n := h.NOPOut()
	n.Init()
	n.SetImmediate(true)
	n.SetInitiatorTaskTag(0x4242)
	n.SetTargetTransferTag(pdu.ReservedTag)
	n.SetCmdSN(p.cmdSN)
	n.SetExpStatSN(p.expStatSN)
	if err := p.w.Write(&h, nil, []byte("ping")); err != nil {
		return err
	}
	q, err := p.r.Read()
	if err != nil {
		return fmt.Errorf("no NOP-In: %w", err)
	}
	if q.Header.Opcode() != pdu.OpNOPIn || q.Header.InitiatorTaskTag() != 0x4242 || string(q.Data) != "ping" {
		return fmt.Errorf("ping answered by %v", q.Header.String())
	}
	p.expStatSN = q.Header.NOPIn().StatSN() + 1
	return nil
}

// nopAfterOptionalReject pings the target and reads its NOP-In, allowing
// one Reject before it.
func (p *hostilePeer) nopAfterOptionalReject() error {
	var h pdu.BHS
	n := h.NOPOut()
	n.Init()
	n.SetImmediate(true)
	n.SetInitiatorTaskTag(0x4343)
	n.SetTargetTransferTag(pdu.ReservedTag)
	n.SetCmdSN(p.cmdSN)
	n.SetExpStatSN(p.expStatSN)
	if err := p.w.Write(&h, nil, nil); err != nil {
		return err
	}
	for range 2 {
		q, err := p.r.Read()
		if err != nil {
			return fmt.Errorf("no NOP-In: %w", err)
		}
		switch {
		case q.Header.Opcode() == pdu.OpReject:
			continue
		case q.Header.Opcode() == pdu.OpNOPIn && q.Header.InitiatorTaskTag() == 0x4343:
			return nil
		default:
			return fmt.Errorf("ping answered by %v", q.Header.String())
		}
	}
	return errors.New("two Rejects and no NOP-In")
}

// loginRequest builds the first Login Request of a hostile login carrying
// text, in the security stage with T set towards the operational stage.
func (p *hostilePeer) loginRequest(text []byte, cont bool) (*pdu.BHS, []byte) {
	var h pdu.BHS
	lr := h.LoginRequest()
	lr.Init()
	lr.SetCSG(pdu.SecurityNegotiation)
	lr.SetNSG(pdu.LoginOperationalNegotiation)
	lr.SetTransit(!cont)
	lr.SetContinue(cont)
	n := hostileSeq.Add(1)
	lr.SetISID(pdu.NewISID(pdu.ISIDRandom, 0, uint16(n), 0, 1))
	lr.SetInitiatorTaskTag(1)
	lr.SetCmdSN(1)
	return &h, text
}

func keys(kv ...string) []byte {
	var b []byte
	for _, s := range kv {
		b = append(b, s...)
		b = append(b, 0)
	}
	return b
}

// hostileCase is one kind of hostile peer: run does what the peer does and
// checks the answer RFC 7143 prescribes.
type hostileCase struct {
	name string
	run  func(addr string) error
}

func hostileCases() []hostileCase {
	withPeer := func(f func(p *hostilePeer) error) func(string) error {
		return func(addr string) error {
			p, err := openHostile(addr)
			if err != nil {
				return err
			}
			defer p.c.Close()
			return f(p)
		}
	}
	loggedIn := func(settings *login.Settings, f func(p *hostilePeer) error) func(string) error {
		return withPeer(func(p *hostilePeer) error {
			if err := p.login(settings); err != nil {
				return err
			}
			return f(p)
		})
	}
	rawHeader := func(p *hostilePeer, h *pdu.BHS, tail []byte) error {
		if _, err := p.c.Write(append(h[:], tail...)); err != nil {
			return err
		}
		return nil
	}
	return []hostileCase{
		{"garbage before login", withPeer(func(p *hostilePeer) error {
			junk := make([]byte, 4096)
			rng := rand.New(rand.NewPCG(1, 2))
			for i := range junk {
				junk[i] = byte(rng.Uint32())
			}
			junk[0] = 0x3f // not a Login Request
			p.c.Write(junk)
			return p.expectClosed()
		})},
		{"truncated header, then silence", withPeer(func(p *hostilePeer) error {
			h, _ := p.loginRequest(nil, false)
			p.c.Write(h[:20])
			// The login timeout ends a login that never completes (RFC 7143
			// §6.3 leaves the bound to the implementation).
			return p.expectClosed()
		})},
		{"no bytes at all", withPeer(func(p *hostilePeer) error {
			return p.expectClosed()
		})},
		{"trickled login request", withPeer(func(p *hostilePeer) error {
			h, _ := p.loginRequest(nil, false)
			for i := range 6 {
				if _, err := p.c.Write(h[i : i+1]); err != nil {
					return nil // closed by the target: fine
				}
				time.Sleep(hostileLoginTimeout / 4)
			}
			return p.expectClosed()
		})},
		{"disconnect mid-PDU during login", withPeer(func(p *hostilePeer) error {
			h, _ := p.loginRequest(keys("InitiatorName=iqn.2026-11.org.example:x"), false)
			p.c.Write(h[:30])
			return nil
		})},
		{"login value of 64 KiB", withPeer(func(p *hostilePeer) error {
			big := "InitiatorAlias=" + strings.Repeat("a", 64<<10)
			text := keys("InitiatorName="+p.name, "SessionType=Normal", "TargetName="+testTarget, big)
			// Sent in 8 KiB Login Requests with C set (RFC 7143 §11.12.2),
			// as a login text longer than one PDU must be.
			for off := 0; off < len(text); off += 8192 {
				end := min(off+8192, len(text))
				h, data := p.loginRequest(text[off:end], end < len(text))
				if err := p.w.Write(h, nil, data); err != nil {
					return nil
				}
				if end < len(text) {
					// The target acknowledges each partial text with an
					// empty Login Response (C-bit handling); or it fails.
					q, err := p.r.Read()
					if err != nil {
						return nil
					}
					if q.Header.Opcode() != pdu.OpLoginResponse {
						return fmt.Errorf("partial login text answered by %v", q.Header.Opcode())
					}
					if q.Header.LoginResponse().StatusClass() != 0 {
						return p.expectClosed()
					}
				}
			}
			return p.expectLoginFailure()
		})},
		{"10,000 keys", withPeer(func(p *hostilePeer) error {
			kv := []string{"InitiatorName=" + p.name, "TargetName=" + testTarget}
			for i := range 10000 {
				kv = append(kv, fmt.Sprintf("X-k%05d=v", i))
			}
			text := keys(kv...)
			for off := 0; off < len(text); off += 8192 {
				end := min(off+8192, len(text))
				h, data := p.loginRequest(text[off:end], end < len(text))
				if err := p.w.Write(h, nil, data); err != nil {
					return nil
				}
				if end < len(text) {
					q, err := p.r.Read()
					if err != nil {
						return nil
					}
					if q.Header.Opcode() != pdu.OpLoginResponse {
						return fmt.Errorf("partial login text answered by %v", q.Header.Opcode())
					}
					if q.Header.LoginResponse().StatusClass() != 0 {
						return p.expectClosed()
					}
				}
			}
			return p.expectLoginFailure()
		})},
		{"duplicate keys", withPeer(func(p *hostilePeer) error {
			// RFC 7143 §6.2: a key sent twice in a negotiation is a
			// protocol error.
			h, data := p.loginRequest(keys("InitiatorName="+p.name, "InitiatorName="+p.name, "TargetName="+testTarget, "AuthMethod=None"), false)
			p.w.Write(h, nil, data)
			return p.expectLoginFailure()
		})},
		{"wrong stage transition", withPeer(func(p *hostilePeer) error {
			// RFC 7143 §11.12.3: NSG must not be a stage before CSG; 2 is
			// reserved.
			h, data := p.loginRequest(keys("InitiatorName="+p.name, "TargetName="+testTarget, "AuthMethod=None"), false)
			lr := h.LoginRequest()
			lr.SetCSG(pdu.LoginOperationalNegotiation)
			lr.SetNSG(pdu.SecurityNegotiation)
			p.w.Write(h, nil, data)
			return p.expectLoginFailure()
		})},
		{"CHAP reflection", withPeer(func(p *hostilePeer) error {
			// The initiator answers the target's challenge correctly but
			// sends that same challenge back as its own mutual-CHAP
			// challenge: RFC 7143 §12.1.3 has the target refuse it, or the
			// answer would let an impostor authenticate as the target.
			exchange := func(kv []string, transit bool) (map[string]string, error) {
				h, data := p.loginRequest(keys(kv...), false)
				h.LoginRequest().SetTransit(transit)
				h.LoginRequest().SetISID(pdu.NewISID(pdu.ISIDRandom, 0, 0x7eed, 0, 1))
				h.LoginRequest().SetTSIH(0)
				if err := p.w.Write(h, nil, data); err != nil {
					return nil, err
				}
				q, err := p.r.Read()
				if err != nil {
					return nil, err
				}
				lr := q.Header.LoginResponse()
				if q.Header.Opcode() != pdu.OpLoginResponse || lr.StatusClass() != 0 {
					return nil, fmt.Errorf("answered %v status 0x%04x", q.Header.Opcode(), uint16(lr.Status()))
				}
				pairs, err := login.ParseText(q.Data)
				if err != nil {
					return nil, err
				}
				m := map[string]string{}
				for _, kv := range pairs {
					m[kv.Key] = kv.Value
				}
				return m, nil
			}
			if _, err := exchange([]string{"InitiatorName=" + p.name, "SessionType=Normal", "TargetName=" + hostileCHAPTarget, "AuthMethod=CHAP"}, false); err != nil {
				return fmt.Errorf("AuthMethod: %w", err)
			}
			m, err := exchange([]string{"CHAP_A=5"}, false)
			if err != nil {
				return fmt.Errorf("CHAP_A: %w", err)
			}
			id, err := login.ParseNumber(m["CHAP_I"])
			if err != nil {
				return fmt.Errorf("CHAP_I %q: %w", m["CHAP_I"], err)
			}
			challenge, err := hex.DecodeString(strings.TrimPrefix(strings.ToLower(m["CHAP_C"]), "0x"))
			if err != nil {
				return fmt.Errorf("CHAP_C %q: %w", m["CHAP_C"], err)
			}
			resp := login.CHAPResponse(login.CHAPMD5, byte(id), []byte(hostileCHAPSecret), challenge)
			h, data := p.loginRequest(keys("CHAP_N="+hostileCHAPUser, "CHAP_R="+login.EncodeHex(resp),
				"CHAP_I=7", "CHAP_C="+m["CHAP_C"]), false)
			h.LoginRequest().SetISID(pdu.NewISID(pdu.ISIDRandom, 0, 0x7eed, 0, 1))
			if err := p.w.Write(h, nil, data); err != nil {
				return err
			}
			return p.expectLoginFailure()
		})},
		{"reserved opcode", loggedIn(nil, func(p *hostilePeer) error {
			var h pdu.BHS
			h[0] = 0x1f // a reserved initiator opcode (RFC 7143 §11.1.1)
			binary.BigEndian.PutUint32(h[16:], 0x55)
			binary.BigEndian.PutUint32(h[24:], p.cmdSN)
			binary.BigEndian.PutUint32(h[28:], p.expStatSN)
			p.w.AllowIllegalWrites = true
			err := p.w.Write(&h, nil, nil)
			p.w.AllowIllegalWrites = false
			if err != nil {
				return err
			}
			if err := p.expectReject(); err != nil {
				return err
			}
			return p.nop()
		})},
		{"DataSegmentLength 0xFFFFFF without data", loggedIn(nil, func(p *hostilePeer) error {
			var h pdu.BHS
			n := h.NOPOut()
			n.Init()
			n.SetImmediate(true)
			n.SetInitiatorTaskTag(7)
			n.SetTargetTransferTag(pdu.ReservedTag)
			n.SetCmdSN(p.cmdSN)
			h[5], h[6], h[7] = 0xff, 0xff, 0xff
			// Beyond the MaxRecvDataSegmentLength the target declared:
			// the framing cannot be trusted, the connection goes (RFC 7143
			// §7.3).
			rawHeader(p, &h, nil)
			return p.expectClosed()
		})},
		{"TotalAHSLength lie", loggedIn(nil, func(p *hostilePeer) error {
			var h pdu.BHS
			n := h.NOPOut()
			n.Init()
			n.SetImmediate(true)
			n.SetInitiatorTaskTag(8)
			n.SetTargetTransferTag(pdu.ReservedTag)
			n.SetCmdSN(p.cmdSN)
			h[4] = 1 // one 4-byte word of AHS, whose AHSLength says 200
			rawHeader(p, &h, []byte{0, 200, 1, 0})
			// RFC 7143 §11.2.2: a malformed AHS makes the PDU one the
			// target rejects (§11.17.1); the connection goes on.
			if err := p.expectReject(); err != nil {
				return err
			}
			return p.nop()
		})},
		{"CmdSN outside the window", loggedIn(nil, func(p *hostilePeer) error {
			var h pdu.BHS
			n := h.NOPOut()
			n.Init()
			n.SetInitiatorTaskTag(9)
			n.SetTargetTransferTag(pdu.ReservedTag)
			// RFC 7143 §4.2.2.1: a non-immediate PDU whose CmdSN is outside
			// the window is silently ignored.
			n.SetCmdSN(p.cmdSN + 1000)
			n.SetExpStatSN(p.expStatSN)
			if err := p.w.Write(&h, nil, nil); err != nil {
				return err
			}
			return p.nop()
		})},
		{"Data-Out for an unknown task", loggedIn(nil, func(p *hostilePeer) error {
			var h pdu.BHS
			d := h.DataOut()
			d.Init()
			d.SetInitiatorTaskTag(0x7777)
			d.SetTargetTransferTag(0x1234)
			d.SetExpStatSN(p.expStatSN)
			d.SetFinal(true)
			if err := p.w.Write(&h, nil, make([]byte, 512)); err != nil {
				return err
			}
			// Data-Out of a task the target no longer knows (one just
			// aborted, RFC 7143 §11.5.1, or never seen) is discarded or
			// rejected; either way the connection goes on.
			return p.nopAfterOptionalReject()
		})},
		{"bad header digest", loggedIn(&login.Settings{
			HeaderDigest: login.DigestRequire, DataDigest: login.DigestRequire,
			MaxRecvDataSegmentLength: 8192, MaxConnections: 1, InitialR2T: true, ImmediateData: true,
			MaxBurstLength: 262144, FirstBurstLength: 65536, DefaultTime2Wait: 2, DefaultTime2Retain: 20,
			MaxOutstandingR2T: 1, DataPDUInOrder: true, DataSequenceInOrder: true,
		}, func(p *hostilePeer) error {
			if !p.res.Conn.HeaderDigest {
				return errors.New("header digest not negotiated")
			}
			var h pdu.BHS
			n := h.NOPOut()
			n.Init()
			n.SetImmediate(true)
			n.SetInitiatorTaskTag(10)
			n.SetTargetTransferTag(pdu.ReservedTag)
			n.SetCmdSN(p.cmdSN)
			var d [4]byte
			binary.LittleEndian.PutUint32(d[:], digest.Header(h[:])^1)
			// RFC 7143 §7.8: at ErrorRecoveryLevel 0 a header digest error
			// ends the connection.
			rawHeader(p, &h, d[:])
			return p.expectClosed()
		})},
		{"flood of NOPs", loggedIn(nil, func(p *hostilePeer) error {
			const n = 3000
			errc := make(chan error, 1)
			go func() {
				for i := range n {
					var h pdu.BHS
					o := h.NOPOut()
					o.Init()
					o.SetImmediate(true)
					o.SetInitiatorTaskTag(uint32(0x10000 + i))
					o.SetTargetTransferTag(pdu.ReservedTag)
					o.SetCmdSN(p.cmdSN)
					if err := p.w.Write(&h, nil, nil); err != nil {
						errc <- err
						return
					}
				}
				errc <- nil
			}()
			for i := range n {
				q, err := p.r.Read()
				if err != nil {
					return fmt.Errorf("NOP-In %d of %d: %w", i, n, err)
				}
				if q.Header.Opcode() != pdu.OpNOPIn || q.Header.InitiatorTaskTag() != uint32(0x10000+i) {
					return fmt.Errorf("NOP %d answered by %v", i, q.Header.String())
				}
			}
			return <-errc
		})},
		{"R2T never answered", loggedIn(nil, func(p *hostilePeer) error {
			var h pdu.BHS
			cmd := h.SCSICommand()
			cmd.Init()
			cmd.SetFinal(true)
			cmd.SetWrite(true)
			cmd.SetAttributes(pdu.TaskSimple)
			cmd.SetLUN(lunOf(0))
			cmd.SetInitiatorTaskTag(11)
			cmd.SetExpectedDataTransferLength(256 << 10)
			cmd.SetCmdSN(p.cmdSN)
			cmd.SetExpStatSN(p.expStatSN)
			cmd.SetCDB([]byte{0x2a, 0, 0, 0, 0x10, 0, 0, 0x02, 0x00, 0}) // WRITE(10) 512 blocks at 4096
			if err := p.w.Write(&h, nil, nil); err != nil {
				return err
			}
			q, err := p.r.Read()
			if err != nil {
				return fmt.Errorf("no R2T: %w", err)
			}
			if q.Header.Opcode() != pdu.OpR2T {
				return fmt.Errorf("WRITE without data answered by %v, want R2T", q.Header.Opcode())
			}
			// The R2T stays unanswered: past Limits.DataOutTimeout the
			// target drops the connection, which ends the task and frees its
			// buffer (the goroutine and memory counts at the end check it).
			return p.expectClosed()
		})},
		{"disconnect mid-PDU in full feature phase", loggedIn(nil, func(p *hostilePeer) error {
			var h pdu.BHS
			cmd := h.SCSICommand()
			cmd.Init()
			cmd.SetFinal(true)
			cmd.SetWrite(true)
			cmd.SetLUN(lunOf(0))
			cmd.SetInitiatorTaskTag(12)
			cmd.SetExpectedDataTransferLength(4096)
			cmd.SetCmdSN(p.cmdSN)
			cmd.SetCDB([]byte{0x2a, 0, 0, 0, 0x20, 0, 0, 0, 8, 0})
			h[5], h[6], h[7] = 0, 0x10, 0 // 4096 bytes of immediate data, of which 100 come
			p.c.Write(append(h[:], make([]byte, 100)...))
			return nil
		})},
	}
}

// TestHostilePeers runs a good session that writes and reads back with
// verification while hostile peers connect to the same target: garbage,
// truncated and trickled PDUs, malformed logins, protocol violations in
// full feature phase, bad digests, floods and a thousand idle connections.
// Each hostile peer must get what RFC 7143 §7 prescribes; the good session
// must see no error and no data difference; afterwards the target's
// goroutines and heap must be back near where they started.
// hostileIdle is how many silent connections TestHostilePeers opens.
const hostileIdle = 1000

func TestHostilePeers(t *testing.T) {
	if testing.Short() {
		t.Skip("hostile-peer test skipped in -short mode")
	}
	srv := newTestServer(t, nil)
	srv.Limits.LoginTimeout = hostileLoginTimeout
	srv.Limits.DataOutTimeout = hostileLoginTimeout
	// Room in the login phase for the thousand idle connections and every
	// hostile peer at once: the bound itself is TestLimitsMaxLogins's;
	// here the hostile peers must get their answers whenever they start.
	srv.Limits.MaxLogins = hostileIdle + len(hostileCases()) + 8
	srv.Targets = append(srv.Targets, Target{Name: hostileCHAPTarget, AuthMethods: []string{"CHAP"}, LUNs: srv.Targets[0].LUNs})
	srv.CHAP = func(initiatorName, targetName, user string) (string, *login.CHAPCredentials, bool) {
		if user != hostileCHAPUser {
			return "", nil, false
		}
		return hostileCHAPSecret, &login.CHAPCredentials{User: "target", Secret: "target-secret-0123"}, true
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ctx, l) }()
	defer func() {
		cancel()
		<-served
	}()

	// Goroutines and heap of an idle target, before any connection.
	baseG, baseHeap := settle(0, 0)

	good := dialTCP(t, addr)

	var wg sync.WaitGroup
	cases := hostileCases()
	failures := make([]error, len(cases))
	for i, c := range cases {
		wg.Add(1)
		go func() {
			defer wg.Done()
			failures[i] = c.run(addr)
		}()
	}
	// A thousand connections that never send a byte: each must be closed
	// by the login timeout, and none may starve the good session.
	const idle = hostileIdle
	idleConns := make([]net.Conn, 0, idle)
	for range idle {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatalf("idle connection %d: %v", len(idleConns), err)
		}
		idleConns = append(idleConns, c)
	}
	var idleOpen atomic.Int32
	for _, c := range idleConns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer c.Close()
			c.SetDeadline(time.Now().Add(hostileWait))
			if _, err := io.ReadAll(c); err != nil {
				idleOpen.Add(1)
			}
		}()
	}
	done := make(chan struct{})
	go func() {
		wg.Wait()
		close(done)
	}()

	// The good session: 64 KiB writes at random block-aligned offsets,
	// each read back and compared, until every hostile peer is done (and
	// at least 50 round trips).
	rng := rand.New(rand.NewPCG(3, 4))
	ops, mismatches := 0, 0
	for running := true; running || ops < 50; ops++ {
		select {
		case <-done:
			running = false
		default:
		}
		lba := uint32(rng.IntN(testBlocks - 128))
		data := make([]byte, 64<<10)
		for i := range data {
			data[i] = byte(rng.Uint32())
		}
		w := good.command(0, rw10(0x2a, lba, 128), uint32(len(data)), false, data)
		if isUnitAttention(w) {
			// SPC-4 §5.14: the first command of a new I_T nexus reports
			// POWER ON, RESET, OR BUS DEVICE RESET OCCURRED; the initiator
			// repeats it.
			w = good.command(0, rw10(0x2a, lba, 128), uint32(len(data)), false, data)
		}
		if w.Status != 0 {
			t.Fatalf("good WRITE(10) at %d: status %v, sense %x", lba, w.Status, w.Sense)
		}
		r := good.command(0, rw10(0x28, lba, 128), uint32(len(data)), true, nil)
		if r.Status != 0 {
			t.Fatalf("good READ(10) at %d: status %v, sense %x", lba, r.Status, r.Sense)
		}
		if !bytes.Equal(r.Data, data) {
			mismatches++
		}
	}
	<-done
	good.logout()
	good.c.Close()

	for i, c := range cases {
		if failures[i] != nil {
			t.Errorf("%s: %v", c.name, failures[i])
		}
	}
	if n := idleOpen.Load(); n > 0 {
		t.Errorf("%d of %d idle connections were not closed by the login timeout", n, idle)
	}
	if mismatches > 0 {
		t.Errorf("good session: %d of %d reads differ from what was written", mismatches, ops)
	}
	endG, endHeap := settle(baseG, baseHeap)
	t.Logf("good session: %d write+read round trips, %d mismatches; %d hostile cases, %d idle connections; goroutines %d -> %d; heap %d KiB -> %d KiB",
		ops, mismatches, len(cases), idle, baseG, endG, baseHeap>>10, endHeap>>10)
	if endG > baseG+2 {
		t.Errorf("goroutines: %d at the start, %d after every connection ended\n%s", baseG, endG, goroutineDump())
	}
	// The memory disks are sparse: what the good session wrote (at most
	// 8 MiB per LU) stays. Anything beyond that and some slack is held by
	// connections that ended.
	if endHeap > baseHeap+24<<20 {
		t.Errorf("heap: %d KiB at the start, %d KiB after every connection ended", baseHeap>>10, endHeap>>10)
	}
}

// isUnitAttention says r is CHECK CONDITION with sense key UNIT ATTENTION.
func isUnitAttention(r result) bool {
	return r.Status == scsi.StatusCheckCondition && len(r.Sense) > 2 && r.Sense[2]&0x0f == 6
}

// settle waits until the goroutine count falls to at most wantG+2 (or ten
// seconds pass) and returns the goroutine count and the heap in use after
// a collection. With wantG 0 it just measures.
func settle(wantG int, _ uint64) (int, uint64) {
	deadline := time.Now().Add(10 * time.Second)
	for wantG > 0 && runtime.NumGoroutine() > wantG+2 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return runtime.NumGoroutine(), m.HeapInuse
}

func goroutineDump() string {
	buf := make([]byte, 1<<20)
	return string(buf[:runtime.Stack(buf, true)])
}

// rw10 builds a READ(10) or WRITE(10) CDB.
func rw10(op byte, lba uint32, blocks uint16) []byte {
	cdb := make([]byte, 10)
	cdb[0] = op
	binary.BigEndian.PutUint32(cdb[2:], lba)
	binary.BigEndian.PutUint16(cdb[7:], blocks)
	return cdb
}

// dialTCP logs in to the target at addr over TCP as testInitiator.
func dialTCP(t testing.TB, addr string) *initiator {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	c.SetDeadline(time.Now().Add(5 * time.Minute))
	served := make(chan error, 1)
	served <- nil // logout reads the ServeConn result, which a TCP peer cannot see
	in := &initiator{t: t, c: c, r: pdu.NewReader(c), w: pdu.NewWriter(c), served: served}
	t.Cleanup(func() { c.Close() })
	st := login.DefaultSettings()
	res, err := login.Initiate(context.Background(), in.r, in.w, login.InitiatorConfig{
		InitiatorName: testInitiator, TargetName: testTarget,
		ISID:             pdu.NewISID(pdu.ISIDRandom, 0, 0xbeef, 0, 1),
		InitiatorTaskTag: 0x1000, CmdSN: 1, Settings: &st,
	})
	if err != nil {
		t.Fatalf("login: %v", err)
	}
	in.res = res
	in.cmdSN = res.CmdSN
	in.statSN = res.StatSN + 1
	in.maxRecv = st.MaxRecvDataSegmentLength
	return in
}
