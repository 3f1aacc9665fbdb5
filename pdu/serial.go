package pdu

// RFC 7143 §4.2.2.1: comparisons and arithmetic on CmdSN, ExpCmdSN and
// MaxCmdSN use RFC 1982 serial number arithmetic with SERIAL_BITS = 32;
// the other sequence numbers (StatSN, DataSN, R2TSN) wrap the same way.

// SerialLess reports whether a < b in RFC 1982 serial number arithmetic:
// b is ahead of a by less than 2^31. When a and b are exactly 2^31 apart
// the comparison is undefined (RFC 1982 §3.2) and SerialLess returns
// false both ways.
func SerialLess(a, b uint32) bool {
	d := b - a
	return d != 0 && d < 1<<31
}

// SerialLessOrEqual reports whether a == b or SerialLess(a, b).
func SerialLessOrEqual(a, b uint32) bool { return a == b || SerialLess(a, b) }

// SerialInWindow reports whether lo <= x <= hi in serial arithmetic, as a
// target checks that ExpCmdSN <= CmdSN <= MaxCmdSN (RFC 7143 §4.2.2.1).
func SerialInWindow(x, lo, hi uint32) bool {
	return SerialLessOrEqual(lo, x) && SerialLessOrEqual(x, hi)
}
