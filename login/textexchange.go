package login

import (
	"context"
	"errors"

	"github.com/go-iscsi/iscsi/pdu"
)

// ErrTextSequence: a Text Request or Response that breaks the rules of a
// text exchange (RFC 7143 §11.10, §11.11): a changed ITT, a Target
// Transfer Tag that does not continue the exchange, F and C both set.
var ErrTextSequence = errors.New("login: text exchange out of sequence")

// TextResponder answers Text Requests in full feature phase on the target
// (RFC 7143 §6.4, §11.10, §11.11): SendTargets (§13.3) and the keys that
// may be renegotiated then (those with UseFullFeature in the key table, for
// example MaxRecvDataSegmentLength). It joins request text sent with the C
// bit, and sends long answers over several Text Responses with a Target
// Transfer Tag the initiator continues with. It does no I/O. StatSN,
// ExpCmdSN and MaxCmdSN of the responses are left to the caller, who owns
// the session's sequence numbers.
type TextResponder struct {
	// Targets lists what SendTargets reports; nil answers SendTargets
	// with nothing.
	Targets func() []DiscoveredTarget
	// Discovery says the session is a discovery session (SendTargets=All
	// allowed, nothing else but SendTargets, RFC 7143 §13.21).
	Discovery bool
	// CurrentTarget is the session's target, what an empty SendTargets
	// reports in a normal session, and the only one a normal session
	// reports (RFC 7143 Appendix C).
	CurrentTarget string
	// PortalGroupTag is the session's portal group tag (TargetConfig's
	// PortalGroupTag), given to each address of Targets that has none: a
	// TargetAddress in a SendTargets response MUST carry one (RFC 7143
	// §13.8).
	PortalGroupTag uint16
	// Negotiator, if set, answers the other keys (RFC 7143 §6.4);
	// otherwise keys of the key table are answered Reject and unknown
	// keys NotUnderstood (§6.2.1).
	Negotiator *Negotiator
	// MaxXmitDataSegmentLength is the largest data segment to send: the
	// initiator's MaxRecvDataSegmentLength (RFC 7143 §13.12), which the
	// target's ConnParams.MaxXmitDataSegmentLength holds. Zero means
	// MaxSegment, and both zero 8192.
	MaxXmitDataSegmentLength uint32
	// MaxSegment is an older name of MaxXmitDataSegmentLength, used when
	// that is zero.
	//
	// Deprecated: use MaxXmitDataSegmentLength.
	MaxSegment uint32
	// MaxRecvDataSegmentLength, if not zero, is the target's own
	// MaxRecvDataSegmentLength (its ConnParams.MaxRecvDataSegmentLength).
	// It makes the responder take the initiator's MaxRecvDataSegmentLength
	// in a normal session, the one key of RFC 7143 §13 declared anew in
	// full feature phase (§13.12: declarative, "ALL"): a value in range
	// becomes MaxXmitDataSegmentLength, so that the caller, comparing it
	// before and after Next, sends its data segments within it, and is
	// answered with this declaration of the target's; a value out of
	// range (512 to 2^24-1) or malformed is answered Reject and changes
	// nothing. Zero answers the key Reject, as any key of the table
	// without a Negotiator.
	MaxRecvDataSegmentLength uint32

	in      TextAccumulator
	out     []byte
	buf     []byte
	itt     uint32
	ttt     uint32
	nextTTT uint32
	active  bool
	// reqFinal is the F bit of the request being answered: a response
	// to a request with F clear has F clear too (RFC 7143 §11.11.1).
	reqFinal bool
	resp     pdu.PDU
}

// Next takes a Text Request and returns the Text Response to send, valid
// until the next call. done reports that the exchange is complete (the
// response has F set). Requests that break the sequence rules return an
// error wrapping ErrTextSequence and no response; the caller answers them
// with a Reject PDU (RFC 7143 §11.17).
func (x *TextResponder) Next(req *pdu.PDU) (resp *pdu.PDU, done bool, err error) {
	if req == nil {
		return nil, false, ErrTextSequence
	}
	h := &req.Header
	if h.Opcode() != pdu.OpTextRequest {
		return nil, false, errors.Join(ErrTextSequence, errors.New("not a Text Request"))
	}
	tr := h.TextRequest()
	if err := tr.Validate(); err != nil {
		return nil, false, err
	}
	if tr.Final() && tr.Continue() {
		return nil, false, ErrTextSequence
	}
	if tr.TargetTransferTag() == pdu.ReservedTag {
		// RFC 7143 §11.10.4: a reserved TTT starts a new exchange
		// (and abandons one in progress).
		x.reset()
		x.itt = tr.InitiatorTaskTag()
		x.active = true
	} else if !x.active || tr.TargetTransferTag() != x.ttt || tr.InitiatorTaskTag() != x.itt {
		return nil, false, errors.Join(ErrTextSequence, errors.New("Target Transfer Tag does not continue the exchange"))
	}
	x.reqFinal = tr.Final()
	if len(x.out) > 0 {
		if len(req.Data) != 0 {
			return nil, false, errors.Join(ErrTextSequence, errors.New("text sent while the response continues"))
		}
		resp := x.send()
		return resp, !x.active, nil
	}
	complete, err := x.in.Add(req.Data, tr.Continue())
	if err != nil {
		x.reset()
		return nil, false, err
	}
	if !complete {
		// Acknowledge with an empty response (RFC 7143 §6.2) and a
		// TTT to continue with (§11.11.1, §11.11.4).
		x.ttt = x.newTTT()
		return x.reply(nil, false, false), false, nil
	}
	pairs, err := ParseText(x.in.Bytes())
	x.in.Reset()
	if err == nil {
		err = CheckDuplicates(pairs)
	}
	if err != nil {
		x.reset()
		return nil, false, err
	}
	x.buf = x.buf[:0]
	var others, declared []Pair
	for _, p := range pairs {
		if p.Key == "MaxRecvDataSegmentLength" && x.MaxRecvDataSegmentLength != 0 && !x.Discovery {
			a, err := x.declareMaxRecv(p.Value)
			if err != nil {
				x.reset()
				return nil, false, err
			}
			declared = append(declared, a)
			continue
		}
		if p.Key != "SendTargets" {
			others = append(others, p)
			continue
		}
		var targets []DiscoveredTarget
		if x.Targets != nil {
			targets = withPortalGroupTag(x.Targets(), x.PortalGroupTag)
		}
		text, ok := SelectSendTargets(p.Value, x.Discovery, x.CurrentTarget, targets)
		if !ok {
			x.buf = AppendText(x.buf, Pair{Key: "SendTargets", Value: Reject})
			continue
		}
		x.buf = append(x.buf, text...)
	}
	if len(others) > 0 {
		var answers []Pair
		switch {
		case x.Discovery:
			// RFC 7143 §13.21: a discovery session carries SendTargets
			// only in full feature phase.
			for _, p := range others {
				answers = append(answers, Pair{Key: p.Key, Value: Irrelevant})
			}
		case x.Negotiator != nil:
			x.Negotiator.BeginSequence()
			answers, err = x.Negotiator.Receive(others, FullFeaturePhase)
			if err != nil {
				x.reset()
				return nil, false, err
			}
		default:
			// RFC 7143 §6.2.1: a key the target does not know is
			// answered NotUnderstood; one it knows but does not
			// renegotiate here is answered Reject.
			for _, p := range others {
				v := Reject
				if _, known := LookupKey(p.Key); !known {
					v = NotUnderstood
				}
				answers = append(answers, Pair{Key: p.Key, Value: v})
			}
		}
		x.buf = AppendText(x.buf, answers...)
	}
	x.buf = AppendText(x.buf, declared...)
	x.out = x.buf
	if len(x.out) == 0 {
		x.out = nil
		if !x.reqFinal {
			// RFC 7143 §11.11.1: a Text Response with F set to a
			// Text Request with F clear is a protocol error; invite
			// the next request.
			x.ttt = x.newTTT()
			return x.reply(nil, false, false), false, nil
		}
		x.active = false
		return x.reply(nil, true, false), true, nil
	}
	resp = x.send()
	return resp, !x.active, nil
}

// declareMaxRecv takes the initiator's MaxRecvDataSegmentLength declared
// in full feature phase (RFC 7143 §13.12) and returns the answer: the
// target's own declaration, or Reject for a value the key's range (512 to
// 2^24-1) or kind does not allow (§6.2.1, as the Negotiator answers a
// declaration it cannot accept). A reserved constant proposed as the value
// is a protocol error (§6.2): a *TextError wrapping ErrReservedValue.
func (x *TextResponder) declareMaxRecv(v string) (Pair, error) {
	const key = "MaxRecvDataSegmentLength"
	if isConstant(v) {
		return Pair{}, textErr(key, v, ErrReservedValue)
	}
	if err := keyIndex[key].checkValue(v); err != nil {
		return Pair{Key: key, Value: Reject}, nil
	}
	x.MaxXmitDataSegmentLength = uint32(mustNum(v))
	return Pair{Key: key, Value: num(uint64(x.MaxRecvDataSegmentLength))}, nil
}

func (x *TextResponder) reset() {
	x.in.Reset()
	x.out = nil
	x.active = false
}

func (x *TextResponder) newTTT() uint32 {
	x.nextTTT++
	if x.nextTTT == pdu.ReservedTag {
		x.nextTTT = 1
	}
	return x.nextTTT
}

// send emits the next part of the answer: F set on the last, with the
// reserved TTT; otherwise F clear, C set and a TTT to continue with (RFC
// 7143 §11.11.1, §11.11.2, §11.11.4). The last part answering a request
// with F clear has F clear and a TTT too: F set there is a protocol error
// (§11.11.1), and the initiator's next request continues the exchange.
func (x *TextResponder) send() *pdu.PDU {
	max := segmentLimit(x.MaxXmitDataSegmentLength, x.MaxSegment)
	seg, rest, more := CutSegment(x.out, max)
	x.out = rest
	if more {
		x.ttt = x.newTTT()
		return x.reply(seg, false, true)
	}
	if !x.reqFinal {
		x.ttt = x.newTTT()
		return x.reply(seg, false, false)
	}
	x.active = false
	return x.reply(seg, true, false)
}

func (x *TextResponder) reply(data []byte, final, cont bool) *pdu.PDU {
	x.resp.Header = pdu.BHS{}
	r := x.resp.Header.TextResponse()
	r.Init()
	r.SetFinal(final)
	r.SetContinue(cont)
	r.SetInitiatorTaskTag(x.itt)
	if final {
		r.SetTargetTransferTag(pdu.ReservedTag)
	} else {
		r.SetTargetTransferTag(x.ttt)
	}
	x.resp.Header.SetDataSegmentLength(uint32(len(data)))
	x.resp.AHS = nil
	x.resp.Data = data
	return &x.resp
}

// TextExchange is the initiator side of one text exchange in full feature
// phase (RFC 7143 §6.4, §11.10, §11.11): it sends the request text (over
// several PDUs with the C bit if long), continues the target's answer with
// its Target Transfer Tag, and gathers the whole answer. Requests are sent
// as immediate, so all carry the same CmdSN (RFC 7143 §4.2.2.1).
type TextExchange struct {
	// ITT is the Initiator Task Tag of the exchange; CmdSN and ExpStatSN
	// those of the first request. ExpStatSN follows the responses.
	ITT              uint32
	CmdSN, ExpStatSN uint32
	// MaxXmitDataSegmentLength is the largest data segment to send: the
	// target's MaxRecvDataSegmentLength (RFC 7143 §13.12), which the
	// initiator's ConnParams.MaxXmitDataSegmentLength holds. Zero means
	// MaxSegment, and both zero 8192.
	MaxXmitDataSegmentLength uint32
	// MaxSegment is an older name of MaxXmitDataSegmentLength, used when
	// that is zero.
	//
	// Deprecated: use MaxXmitDataSegmentLength.
	MaxSegment uint32
	// MaxRecvDataSegmentLength, if not zero, is the target's own
	// MaxRecvDataSegmentLength (its ConnParams.MaxRecvDataSegmentLength).
	// It makes the responder take the initiator's MaxRecvDataSegmentLength
	// in a normal session, the one key of RFC 7143 §13 declared anew in
	// full feature phase (§13.12: declarative, "ALL"): a value in range
	// becomes MaxXmitDataSegmentLength, so that the caller, comparing it
	// before and after Next, sends its data segments within it, and is
	// answered with this declaration of the target's; a value out of
	// range (512 to 2^24-1) or malformed is answered Reject and changes
	// nothing. Zero answers the key Reject, as any key of the table
	// without a Negotiator.
	MaxRecvDataSegmentLength uint32
	// MaxTextLength bounds the answer; zero means DefaultMaxTextLength.
	MaxTextLength int

	out   []byte
	ttt   uint32
	in    TextAccumulator
	req   pdu.PDU
	final bool
}

// Start returns the first Text Request carrying text (RFC 7143 §6.1
// encoding of pairs), valid until the next call.
func (x *TextExchange) Start(pairs ...Pair) *pdu.PDU {
	x.out = AppendText(nil, pairs...)
	x.ttt = pdu.ReservedTag
	x.in = TextAccumulator{Limit: x.MaxTextLength}
	return x.request()
}

func (x *TextExchange) request() *pdu.PDU {
	max := segmentLimit(x.MaxXmitDataSegmentLength, x.MaxSegment)
	seg, rest, more := CutSegment(x.out, max)
	x.out = rest
	x.req.Header = pdu.BHS{}
	r := x.req.Header.TextRequest()
	r.Init()
	r.SetImmediate(true)
	r.SetFinal(!more)
	r.SetContinue(more)
	r.SetInitiatorTaskTag(x.ITT)
	r.SetTargetTransferTag(x.ttt)
	r.SetCmdSN(x.CmdSN)
	r.SetExpStatSN(x.ExpStatSN)
	x.req.Header.SetDataSegmentLength(uint32(len(seg)))
	x.req.AHS = nil
	x.req.Data = seg
	return &x.req
}

// Next takes a Text Response and returns the next Text Request, or done
// with the whole answer in Text.
func (x *TextExchange) Next(resp *pdu.PDU) (req *pdu.PDU, done bool, err error) {
	if resp == nil {
		return nil, false, ErrTextSequence
	}
	h := &resp.Header
	if h.Opcode() != pdu.OpTextResponse {
		return nil, false, errors.Join(ErrTextSequence, errors.New("not a Text Response"))
	}
	tr := h.TextResponse()
	if err := tr.Validate(); err != nil {
		return nil, false, err
	}
	if tr.InitiatorTaskTag() != x.ITT || (tr.Final() && tr.Continue()) {
		return nil, false, ErrTextSequence
	}
	x.ExpStatSN = tr.StatSN() + 1
	if len(x.out) > 0 {
		if len(resp.Data) != 0 || tr.Final() {
			return nil, false, errors.Join(ErrTextSequence, errors.New("answer before the request text ended"))
		}
		x.ttt = tr.TargetTransferTag()
		return x.request(), false, nil
	}
	if _, err := x.in.Add(resp.Data, !tr.Final()); err != nil {
		return nil, false, err
	}
	if tr.Final() {
		if tr.TargetTransferTag() != pdu.ReservedTag {
			return nil, false, errors.Join(ErrTextSequence, errors.New("final Text Response with a Target Transfer Tag"))
		}
		x.final = true
		return nil, true, nil
	}
	if tr.TargetTransferTag() == pdu.ReservedTag {
		return nil, false, errors.Join(ErrTextSequence, errors.New("Text Response not final without a Target Transfer Tag"))
	}
	// RFC 7143 §11.10.4: continue with the target's TTT and no text.
	x.ttt = tr.TargetTransferTag()
	return x.request(), false, nil
}

// Text returns the target's whole answer once Next reported done.
func (x *TextExchange) Text() []byte {
	if !x.final {
		return nil
	}
	return x.in.Bytes()
}

// SendTargets runs a SendTargets text exchange (RFC 7143 §13.3) on a
// connection in full feature phase and returns the targets reported. value
// is "All" in a discovery session, an iSCSI name, or "" for the session's
// own target. x carries the ITT and sequence numbers; its ExpStatSN is
// updated. ctx is handled as in Initiate.
func SendTargets(ctx context.Context, r *pdu.Reader, w *pdu.Writer, x *TextExchange, value string) ([]DiscoveredTarget, error) {
	req := x.Start(Pair{Key: "SendTargets", Value: value})
	for range 1 << 16 {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if err := w.Write(&req.Header, req.AHS, req.Data); err != nil {
			return nil, err
		}
		resp, err := r.Read()
		if err != nil {
			return nil, err
		}
		var done bool
		req, done, err = x.Next(resp)
		if err != nil {
			return nil, err
		}
		if done {
			return ParseSendTargets(x.Text())
		}
	}
	return nil, ErrTextSequence
}

// segmentLimit is the largest data segment a text exchange sends: the
// MaxXmitDataSegmentLength field, else the deprecated MaxSegment, else
// the RFC 7143 §13.12 default of 8192.
func segmentLimit(maxXmit, maxSegment uint32) int {
	switch {
	case maxXmit != 0:
		return int(maxXmit)
	case maxSegment != 0:
		return int(maxSegment)
	}
	return loginSegment
}
