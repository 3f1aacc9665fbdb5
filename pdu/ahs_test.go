package pdu

import (
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestAHSIterator(t *testing.T) {
	var area []byte
	area, err := AppendExtendedCDBAHS(area, seq(20))
	if err != nil {
		t.Fatal(err)
	}
	area = AppendBidirectionalReadDataLengthAHS(area, 0x01020304)
	area, err = AppendAHS(area, 60, []byte{0xaa})
	if err != nil {
		t.Fatal(err)
	}
	// Extended CDB of a 20-byte CDB: AHSLength 5, type 1, reserved, bytes
	// 17-20, padding (RFC 7143 §11.2.2.3).
	want := []byte{
		0, 5, 1, 0, 17, 18, 19, 20,
		0, 5, 2, 0, 1, 2, 3, 4,
		0, 1, 60, 0xaa,
	}
	if !cmp.Equal(area, want) {
		t.Fatalf("AHS area\n got % x\nwant % x", area, want)
	}
	type seen struct {
		Type     AHSType
		Specific []byte
	}
	var got []seen
	it := NewAHSIterator(area)
	for {
		a, ok, err := it.Next()
		if err != nil {
			t.Fatal(err)
		}
		if !ok {
			break
		}
		got = append(got, seen(a))
	}
	wantSeen := []seen{
		{AHSExtendedCDB, []byte{0, 17, 18, 19, 20}},
		{AHSBidirectionalReadDataLength, []byte{0, 1, 2, 3, 4}},
		{60, []byte{0xaa}},
	}
	if diff := cmp.Diff(wantSeen, got); diff != "" {
		t.Fatalf("AHS seen (-want +got):\n%s", diff)
	}
}

func TestParseAHSErrors(t *testing.T) {
	tests := []struct {
		name string
		b    []byte
	}{
		{"short", []byte{0, 1, 1}},
		{"overrun", []byte{0, 9, 1, 0, 0, 0, 0, 0}},
		{"padding overrun", []byte{0, 2, 1, 0, 0}},
		{"reserved type bits", []byte{0, 1, 0x81, 0}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := ParseAHS(tt.b)
			var ae *AHSError
			if !errors.As(err, &ae) || !errors.Is(err, ErrBadAHS) {
				t.Fatalf("ParseAHS = %v, want an AHSError", err)
			}
		})
	}
	// The iterator reports where the bad AHS starts.
	it := NewAHSIterator([]byte{0, 1, 1, 0, 0, 9, 2, 0})
	if _, ok, err := it.Next(); !ok || err != nil {
		t.Fatalf("first AHS: %v %v", ok, err)
	}
	_, ok, err := it.Next()
	var ae *AHSError
	if ok || !errors.As(err, &ae) || ae.Offset != 4 {
		t.Fatalf("second AHS: ok %v err %v, want an AHSError at offset 4", ok, err)
	}
	if _, ok, err := it.Next(); ok || err != nil {
		t.Fatalf("after an error: %v %v, want the end", ok, err)
	}
}

func TestAHSAccessorErrors(t *testing.T) {
	if _, err := (AHS{Type: AHSBidirectionalReadDataLength, Specific: []byte{0, 1, 2, 3, 4}}).ExtendedCDB(); !errors.Is(err, ErrBadAHS) {
		t.Errorf("ExtendedCDB of type 2: %v", err)
	}
	if _, err := (AHS{Type: AHSExtendedCDB}).ExpectedReadDataLength(); !errors.Is(err, ErrBadAHS) {
		t.Errorf("ExpectedReadDataLength of type 1: %v", err)
	}
	if _, err := (AHS{Type: AHSBidirectionalReadDataLength, Specific: []byte{0, 1}}).ExpectedReadDataLength(); !errors.Is(err, ErrBadAHS) {
		t.Errorf("ExpectedReadDataLength with AHSLength 2: %v", err)
	}
	if _, err := AppendAHS(nil, 64, nil); !errors.Is(err, ErrBadAHS) {
		t.Errorf("AppendAHS type 64: %v", err)
	}
	if _, err := AppendAHS(nil, 1, make([]byte, 1018)); !errors.Is(err, ErrBadAHS) {
		t.Errorf("AppendAHS too long: %v", err)
	}
	if n, ok, err := BidirectionalReadDataLength(nil); n != 0 || ok || err != nil {
		t.Errorf("BidirectionalReadDataLength(nil) = %d %v %v", n, ok, err)
	}
	testStrings(t, map[AHSType]string{
		AHSExtendedCDB:                 "Extended-CDB",
		AHSBidirectionalReadDataLength: "Bidirectional Read Expected Data Transfer Length",
		0:                              "AHSType(0)",
	})
}
