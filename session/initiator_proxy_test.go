package session

import (
	"bufio"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/go-iscsi/iscsi/pdu"
)

// faultProxy forwards TCP connections from a loopback listener to a target
// and breaks them on demand: cut closes the connections of the moment,
// stall stops forwarding from the target to the initiator, refuse closes
// new connections at once. With tap it decodes the PDU headers the
// initiator sends (no digests) for the test to inspect.
type faultProxy struct {
	t      testing.TB
	l      net.Listener
	target string
	tap    bool

	refusing atomic.Bool
	toInit   atomic.Int64 // bytes forwarded target → initiator
	accepted atomic.Int64
	acceptCh chan struct{} // a token per connection accepted, if room

	// flip, when set, frames the PDUs going either way and corrupts the
	// data segment of some Data PDUs (flipPDUs).
	flip *pduFlipper

	mu    sync.Mutex
	pairs []*proxyPair
	sent  []pdu.BHS // headers initiator → target, with tap
	waits []byteWait
	wg    sync.WaitGroup
}

type byteWait struct {
	n  int64
	ch chan struct{}
}

// after returns a channel closed once n more bytes than now have gone
// from the target to the initiator.
func (p *faultProxy) after(n int64) <-chan struct{} {
	ch := make(chan struct{})
	p.mu.Lock()
	p.waits = append(p.waits, byteWait{p.toInit.Load() + n, ch})
	p.mu.Unlock()
	return ch
}

func (p *faultProxy) counted(n int64) {
	total := p.toInit.Add(n)
	p.mu.Lock()
	kept := p.waits[:0]
	for _, w := range p.waits {
		if total >= w.n {
			close(w.ch)
		} else {
			kept = append(kept, w)
		}
	}
	p.waits = kept
	p.mu.Unlock()
}

type proxyPair struct {
	a, b net.Conn // initiator side, target side
	// digests is set once the login phase is over, when the negotiated
	// digests (both of them, with flip) come into force.
	digests atomic.Bool
	stalled chan struct{}
	stall   sync.Once
	closed  chan struct{}
	once    sync.Once
}

func (p *proxyPair) close() {
	p.once.Do(func() {
		close(p.closed)
		p.a.Close()
		p.b.Close()
	})
}

func newFaultProxy(t testing.TB, target string, tap bool) *faultProxy {
	t.Helper()
	return newProxy(t, target, tap, nil)
}

// newFlipProxy is a faultProxy whose connections go through f.
func newFlipProxy(t testing.TB, target string, f *pduFlipper) *faultProxy {
	t.Helper()
	return newProxy(t, target, false, f)
}

func newProxy(t testing.TB, target string, tap bool, f *pduFlipper) *faultProxy {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &faultProxy{t: t, l: l, target: target, tap: tap, flip: f, acceptCh: make(chan struct{}, 64)}
	p.wg.Go(p.accept)
	t.Cleanup(func() {
		l.Close()
		p.cut()
		p.wg.Wait()
	})
	return p
}

func (p *faultProxy) addr() string { return p.l.Addr().String() }

func (p *faultProxy) accept() {
	for {
		a, err := p.l.Accept()
		if err != nil {
			return
		}
		p.accepted.Add(1)
		refuse := p.refusing.Load()
		select {
		case p.acceptCh <- struct{}{}:
		default:
		}
		if refuse {
			a.Close()
			continue
		}
		b, err := net.Dial("tcp", p.target)
		if err != nil {
			a.Close()
			continue
		}
		pair := &proxyPair{a: a, b: b, stalled: make(chan struct{}), closed: make(chan struct{})}
		p.mu.Lock()
		p.pairs = append(p.pairs, pair)
		p.mu.Unlock()
		var tapW *io.PipeWriter
		if p.tap {
			r, w := io.Pipe()
			tapW = w
			p.wg.Go(func() { p.decode(r) })
		}
		p.wg.Go(func() { p.forward(pair, a, b, tapW, false) })
		p.wg.Go(func() { p.forward(pair, b, a, nil, true) })
	}
}

// forward copies src to dst until either fails; from the target it stops
// while the pair is stalled.
func (p *faultProxy) forward(pair *proxyPair, src, dst net.Conn, tap *io.PipeWriter, toInit bool) {
	defer pair.close()
	if p.flip != nil {
		p.flip.forward(pair, src, dst, toInit)
		return
	}
	if tap != nil {
		defer tap.Close()
	}
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			if toInit {
				select {
				case <-pair.stalled:
					<-pair.closed
					return
				default:
				}
			}
			if tap != nil {
				tap.Write(buf[:n])
			}
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return
			}
			if toInit {
				p.counted(int64(n))
			}
		}
		if err != nil {
			return
		}
	}
}

func (p *faultProxy) decode(r *io.PipeReader) {
	defer r.Close()
	pr := pdu.NewReader(r)
	pr.SetMaxRecvDataSegmentLength(1 << 24)
	for {
		q, err := pr.Read()
		if err != nil {
			return
		}
		p.mu.Lock()
		p.sent = append(p.sent, q.Header)
		p.mu.Unlock()
	}
}

// headers returns the PDU headers the initiator sent so far.
func (p *faultProxy) headers() []pdu.BHS {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]pdu.BHS(nil), p.sent...)
}

// cut closes every connection open now.
func (p *faultProxy) cut() {
	p.mu.Lock()
	pairs := p.pairs
	p.pairs = nil
	p.mu.Unlock()
	for _, pair := range pairs {
		pair.close()
	}
}

// stall stops forwarding target → initiator on the connections open now.
func (p *faultProxy) stall() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, pair := range p.pairs {
		pair.stall.Do(func() { close(pair.stalled) })
	}
}

// pduFlipper corrupts, once full feature phase has begun with both digests
// CRC32C, one bit of the data segment (or the header) of one in every Every Data-In
// (target to initiator) and Data-Out (initiator to target) PDUs, so the
// receiver sees a data digest error (RFC 7143 §7.8).
type pduFlipper struct {
	Every int64
	// Header moves the flipped bit of Data-In to byte 12 of the BHS,
	// which is no length, so the header digest fails and the initiator
	// drops the PDU; Data-Out still have their data corrupted.
	Header bool
	// OutHeader does the same to the final Data-Out of each sequence,
	// and counts only those: the target drops the PDU, and nothing after
	// it shows it missing.
	OutHeader bool
	// Commands, when positive, corrupts the header of one in every
	// Commands SCSI Command PDUs instead (initiator to target, byte 12 of
	// the BHS): the target drops the command for its header digest (RFC
	// 7143 §7.8), and the initiator must retry it (§6.2.1). cmdSeen and
	// cmdFlipped count them.
	Commands            int64
	cmdSeen, cmdFlipped atomic.Int64
	// seen and flipped count the Data PDUs with data forwarded and those
	// corrupted: [0] Data-Out, [1] Data-In.
	seen, flipped [2]atomic.Int64
}

// forward frames the PDUs of src (RFC 7143 §11.2: BHS, AHS, header digest,
// padded data segment, data digest) and writes them to dst, corrupting as
// the flipper says. Digests come into force after the Login Response that
// ends the login phase (§13.1), which goes to the initiator before it
// sends anything else.
func (f *pduFlipper) forward(pair *proxyPair, src, dst net.Conn, toInit bool) {
	br := bufio.NewReaderSize(src, 64<<10)
	buf := make([]byte, 0, 64<<10)
	dir := 0
	if toInit {
		dir = 1
	}
	for {
		buf = buf[:pdu.BHSLength]
		if _, err := io.ReadFull(br, buf); err != nil {
			return
		}
		dig := pair.digests.Load()
		ahs := int(buf[4]) * 4
		dsl := int(buf[5])<<16 | int(buf[6])<<8 | int(buf[7])
		hl := pdu.BHSLength + ahs
		if dig {
			hl += pdu.DigestLength
		}
		n := hl + int(pdu.PaddedLength(uint32(dsl)))
		if dig && dsl > 0 {
			n += pdu.DigestLength
		}
		if cap(buf) < n {
			buf = append(make([]byte, 0, n), buf...)
		}
		buf = buf[:n]
		if _, err := io.ReadFull(br, buf[pdu.BHSLength:]); err != nil {
			return
		}
		op := pdu.Opcode(buf[0] & 0x3f)
		if dig && f.Commands > 0 && !toInit && op == pdu.OpSCSICommand {
			if k := f.cmdSeen.Add(1); k%f.Commands == 0 {
				buf[12] ^= 0x10
				f.cmdFlipped.Add(1)
			}
		} else if dig && f.Commands <= 0 && dsl > 0 && (op == pdu.OpSCSIDataIn || op == pdu.OpSCSIDataOut) &&
			(!f.OutHeader || toInit || buf[1]&0x80 != 0) {
			if k := f.seen[dir].Add(1); k%f.Every == 0 {
				if f.Header && toInit || f.OutHeader && !toInit {
					buf[12] ^= 0x10
				} else {
					buf[hl+int(k/f.Every)%dsl] ^= 0x10
				}
				f.flipped[dir].Add(1)
			}
		}
		// RFC 7143 §11.13: a successful Login Response with the T bit
		// and NSG full feature phase ends the login phase.
		if toInit && op == pdu.OpLoginResponse && buf[1]&0x80 != 0 && buf[1]&0x03 == 3 && buf[36] == 0 {
			pair.digests.Store(true)
		}
		if _, err := dst.Write(buf); err != nil {
			return
		}
	}
}
