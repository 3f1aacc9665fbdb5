package pdu

import (
	"encoding/binary"
	"strconv"
)

// ParseSenseSegment splits the data segment of a SCSI Response (RFC 7143
// §11.4.7) or of an Asynchronous Message with AsyncEvent 0 (§11.9.4): a
// 2-byte SenseLength, that many bytes of SCSI sense data, then the rest,
// Response Data (§11.4.7.3) or iSCSI event data. An empty segment holds no
// sense data. sense and rest alias seg; package scsi decodes sense with
// scsi.ParseSense. A segment of one byte, or a SenseLength beyond the
// segment, gives a *SenseSegmentError, which matches [ErrSenseSegment].
func ParseSenseSegment(seg []byte) (sense, rest []byte, err error) {
	if len(seg) == 0 {
		return nil, nil, nil
	}
	if len(seg) < 2 {
		return nil, nil, &SenseSegmentError{SenseLength: -1, SegmentLength: len(seg)}
	}
	n := int(binary.BigEndian.Uint16(seg))
	if n > len(seg)-2 {
		return nil, nil, &SenseSegmentError{SenseLength: n, SegmentLength: len(seg)}
	}
	return seg[2 : 2+n : 2+n], seg[2+n:], nil
}

// AppendSenseSegment appends to dst the data segment of a SCSI Response
// that carries sense (RFC 7143 §11.4.7.2): its length as the 2-byte
// SenseLength, then the sense data. It appends nothing for empty sense,
// since a response without sense data has no data segment (§11.4.7). The
// Writer adds the padding. Sense longer than 65535 bytes is cut to 65535.
func AppendSenseSegment(dst, sense []byte) []byte {
	if len(sense) == 0 {
		return dst
	}
	sense = sense[:min(len(sense), 0xffff)]
	dst = binary.BigEndian.AppendUint16(dst, uint16(len(sense)))
	return append(dst, sense...)
}

// SenseSegmentError reports a SCSI Response or Asynchronous Message data
// segment whose SenseLength does not fit it (RFC 7143 §11.4.7.1).
type SenseSegmentError struct {
	// SenseLength is the SenseLength field, -1 when the segment is too
	// short to hold it.
	SenseLength int
	// SegmentLength is the length of the data segment.
	SegmentLength int
}

// Error gives the SenseLength and the segment length.
func (e *SenseSegmentError) Error() string {
	if e.SenseLength < 0 {
		return "pdu: " + strconv.Itoa(e.SegmentLength) + "-byte data segment too short for SenseLength"
	}
	return "pdu: SenseLength " + strconv.Itoa(e.SenseLength) + " beyond its " +
		strconv.Itoa(e.SegmentLength) + "-byte data segment"
}

// Is matches [ErrSenseSegment].
func (e *SenseSegmentError) Is(target error) bool { return target == ErrSenseSegment }
