package login

import (
	"context"

	"github.com/go-iscsi/iscsi/pdu"
)

// Initiate runs the initiator side of a login on a connection framed by r
// and w (RFC 7143 §6.3) and returns the outcome. On success it sets the
// digests on r and w and r's MaxRecvDataSegmentLength from the negotiated
// ConnParams, which take effect with the first PDU after login (RFC 7143
// §13.1, §13.12).
//
// ctx is checked between PDUs; a read or write blocked on the connection is
// not interrupted by it. To bound the login in time, set a deadline on the
// net.Conn, or close it when ctx is done (context.AfterFunc).
func Initiate(ctx context.Context, r *pdu.Reader, w *pdu.Writer, cfg InitiatorConfig) (*Result, error) {
	m, err := NewInitiator(cfg)
	if err != nil {
		return nil, err
	}
	req := m.Start()
	for {
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
		req, done, err = m.Next(resp)
		if err != nil {
			return nil, err
		}
		if done {
			res, _ := m.Result()
			configure(r, w, res.Conn)
			return res, nil
		}
	}
}

// Accept runs the target side of a login on a connection framed by r and
// w (RFC 7143 §6.3). A failed login returns the *LoginError whose status
// was sent; the caller then closes the connection. On success it sets the
// digests and MaxRecvDataSegmentLength as Initiate does. ctx is handled as
// in Initiate.
func Accept(ctx context.Context, r *pdu.Reader, w *pdu.Writer, cfg TargetConfig) (*Result, error) {
	m := NewTarget(cfg)
	for {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		req, err := r.Read()
		if err != nil {
			return nil, err
		}
		resp, done, lerr := m.Next(req)
		if resp != nil {
			if err := w.Write(&resp.Header, resp.AHS, resp.Data); err != nil {
				return nil, err
			}
		}
		if lerr != nil {
			return nil, lerr
		}
		if done {
			res, _ := m.Result()
			configure(r, w, res.Conn)
			return res, nil
		}
	}
}

func configure(r *pdu.Reader, w *pdu.Writer, c ConnParams) {
	r.SetHeaderDigest(c.HeaderDigest)
	r.SetDataDigest(c.DataDigest)
	r.SetMaxRecvDataSegmentLength(c.MaxRecvDataSegmentLength)
	w.SetHeaderDigest(c.HeaderDigest)
	w.SetDataDigest(c.DataDigest)
}
