package pdu

import (
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
)

// ISID is the 6-byte initiator part of the session identifier, carried in
// bytes 8-13 of Login Request and Login Response PDUs (RFC 7143 §11.12.5).
// Its first byte holds the 2-bit type T and the 6-bit field A; then come the
// 16-bit B, the 8-bit C and the 16-bit D, all big-endian.
type ISID [6]byte

// ISIDType is the 2-bit T field of an [ISID] (RFC 7143 §11.12.5).
type ISIDType uint8

// ISID types, RFC 7143 §11.12.5.
const (
	// ISIDOUI: A and B hold a 22-bit OUI, C and D a qualifier.
	ISIDOUI ISIDType = 0
	// ISIDEN: A is reserved, B and C hold an IANA Enterprise Number, D a
	// qualifier.
	ISIDEN ISIDType = 1
	// ISIDRandom: A is reserved, B and C are random, D is a qualifier.
	ISIDRandom ISIDType = 2
	// ISIDReserved is the reserved type 3.
	ISIDReserved ISIDType = 3
)

// String returns the format name of RFC 7143 §11.12.5.
func (t ISIDType) String() string {
	switch t {
	case ISIDOUI:
		return "OUI-Format"
	case ISIDEN:
		return "EN-Format"
	case ISIDRandom:
		return "Random"
	}
	return "Reserved"
}

// NewISID assembles an ISID from its raw fields (RFC 7143 §11.12.5): the
// type t, the 6-bit a, the 16-bit b, the 8-bit c and the 16-bit d, which
// mean, by type:
//
//	ISIDOUI     a and b: a 22-bit OUI; c and d: a 24-bit qualifier
//	ISIDEN      a: reserved (0); b and c: a 24-bit IANA Enterprise Number; d: a qualifier
//	ISIDRandom  a: reserved (0); b and c: 24 random bits; d: a qualifier
//	type 3      reserved
//
// [NewOUIISID], [NewENISID] and [RandomISID] take the fields by meaning
// instead. Bits of t above 2 and of a above 6 are dropped.
func NewISID(t ISIDType, a uint8, b uint16, c uint8, d uint16) ISID {
	var i ISID
	i[0] = byte(t)<<6 | a&0x3f
	binary.BigEndian.PutUint16(i[1:3], b)
	i[3] = c
	binary.BigEndian.PutUint16(i[4:6], d)
	return i
}

// NewOUIISID returns the ISID of type OUI-Format (T 00b, RFC 7143
// §11.12.5) for the vendor of IEEE OUI oui: A and B hold the 22 low bits
// of oui (the format omits the I/G and U/L bits), C and D the 24 low bits
// of qualifier. open-iscsi's default ISID 0x00023d000001 is
// NewOUIISID(0x00023d, 0x000001). A vendor with an OUI MUST use it or its
// Enterprise Number in the ISIDs its components generate (§11.12.5).
func NewOUIISID(oui, qualifier uint32) ISID {
	ab := oui & (1<<22 - 1)
	return NewISID(ISIDOUI, uint8(ab>>16), uint16(ab), uint8(qualifier>>16), uint16(qualifier))
}

// NewENISID returns the ISID of type EN-Format (T 01b, RFC 7143
// §11.12.5): A reserved (zero), B and C the 24 low bits of the IANA
// Enterprise Number en, D the qualifier.
func NewENISID(en uint32, qualifier uint16) ISID {
	return NewISID(ISIDEN, 0, uint16(en>>8), uint8(en), qualifier)
}

// Type returns the T field (RFC 7143 §11.12.5).
func (i ISID) Type() ISIDType { return ISIDType(i[0] >> 6) }

// A returns the 6-bit A field (RFC 7143 §11.12.5).
func (i ISID) A() uint8 { return i[0] & 0x3f }

// B returns the 16-bit B field (RFC 7143 §11.12.5).
func (i ISID) B() uint16 { return binary.BigEndian.Uint16(i[1:3]) }

// C returns the 8-bit C field (RFC 7143 §11.12.5).
func (i ISID) C() uint8 { return i[3] }

// D returns the 16-bit D field, the qualifier (RFC 7143 §11.12.5).
func (i ISID) D() uint16 { return binary.BigEndian.Uint16(i[4:6]) }

// Uint64 returns the ISID as a 48-bit number, as SCSI port names use it.
func (i ISID) Uint64() uint64 {
	var b [8]byte
	copy(b[2:], i[:])
	return binary.BigEndian.Uint64(b[:])
}

// String returns the ISID as 12 lower-case hexadecimal digits, the form
// SCSI initiator port names append after ",i,0x".
func (i ISID) String() string { return hex.EncodeToString(i[:]) }

// Qualifier returns the qualifier of the ISID's format (RFC 7143
// §11.12.5): the 24 bits of C and D for OUI-Format, D for the others.
func (i ISID) Qualifier() uint32 {
	if i.Type() == ISIDOUI {
		return uint32(i.C())<<16 | uint32(i.D())
	}
	return uint32(i.D())
}

// RandomISID returns an ISID of type Random (T 10b, so the first byte is
// 0x80 to 0xbf; RFC 7143 §11.12.5): A zero (reserved), B and C 24 random
// bits, and a random qualifier D, all from crypto/rand. An initiator
// without an OUI or Enterprise Number of its own uses this format (RFC
// 3721 says how random ISIDs meet the conservative reuse of ISIDs). To
// vary the qualifier alone, use NewISID(ISIDRandom, 0, i.B(), i.C(), d).
func RandomISID() ISID {
	var b [5]byte
	rand.Read(b[:])
	return NewISID(ISIDRandom, 0, binary.BigEndian.Uint16(b[0:2]), b[2], binary.BigEndian.Uint16(b[3:5]))
}
