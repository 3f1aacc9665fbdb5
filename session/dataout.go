package session

// A WRITE's Data-Out buffer grows with the data the target solicits,
// rather than being allocated for the whole Expected Data Transfer Length
// when the command arrives: an initiator that sends commands and no data
// makes the target hold, per command, no more than the data it may send
// unsolicited and the bursts of the R2Ts outstanding at once.

// initialDataOut returns the length of the Data-Out buffer a WRITE gets
// when it arrives: what the initiator may send before an R2T, immediate
// and unsolicited data up to FirstBurstLength (RFC 7143 §13.14), and the
// bursts of the first R2Ts, at most MaxOutstandingR2T of MaxBurstLength
// each (§13.13, §13.17), bounded by what the command transfers.
func (c *conn) initialDataOut(t *task) uint32 {
	sp := &c.sess.params
	r2ts := uint64(min(int(max(sp.MaxOutstandingR2T, 1)), len(t.r2tArr)))
	n := uint64(sp.FirstBurstLength) + r2ts*uint64(sp.MaxBurstLength)
	return uint32(min(uint64(t.want), n))
}

// growDataOut makes the task's Data-Out buffer at least end bytes long
// (at most t.want) before an R2T solicits data up to end (RFC 7143
// §11.8). It at least doubles the buffer, so that a long WRITE copies what
// it received about once; within the capacity of the pooled buffer it
// only extends it.
func (t *task) growDataOut(end uint32) {
	cur := bytesOf(t.dataOut)
	if int(end) <= len(cur) {
		return
	}
	n := min(t.want, max(end, 2*uint32(min(len(cur), 1<<31-1))))
	if t.dataOut != nil && int(n) <= cap(cur) {
		*t.dataOut = cur[:n]
		return
	}
	nb := getBuf(int(n))
	copy(*nb, cur)
	putBuf(t.dataOut)
	t.dataOut = nb
}

// dataInSize returns the length of the Data-In buffer of a command: its
// Expected Data Transfer Length, bounded by Limits.MaxDataLength and, for
// a READ whose logical unit tells its block length, by what the CDB asks
// for, so that a small READ announcing a huge transfer gets a small
// buffer.
func (c *conn) dataInSize(t *task) int {
	n := min(t.edtl, c.srv.limits.MaxDataLength)
	if t.cdbIn > 0 {
		n = min(n, t.cdbIn)
	}
	return int(n)
}
