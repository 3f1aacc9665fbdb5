package scsi

import (
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// tpcGolden is a Third-party Copy VPD page of a copy manager that
// supports EXTENDED COPY(LID1) and RECEIVE COPY RESULTS with OPERATING
// PARAMETERS: the layout of the page the Linux LIO target returns (SPC-4
// §7.8.17), with its values.
var tpcGolden = []byte{
	0x00, 0x8f, 0x00, 0x60,
	// Supported Commands: 83h SA 00h, 84h SA 03h, one pad byte.
	0x00, 0x01, 0x00, 0x08, 0x06, 0x83, 0x01, 0x00, 0x84, 0x01, 0x03, 0x00,
	// Parameter Data: 2 CSCD, 1 segment, 1024-byte list, no inline data.
	0x00, 0x04, 0x00, 0x1c, 0, 0, 0, 0, 0x00, 0x02, 0x00, 0x01, 0x00, 0x00, 0x04, 0x00, 0, 0, 0, 0,
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	// Supported Descriptors: 02h, E4h, one pad byte.
	0x00, 0x08, 0x00, 0x04, 0x02, 0x02, 0xe4, 0x00,
	// Supported CSCD Descriptor IDs: none.
	0x00, 0x0c, 0x00, 0x04, 0x00, 0x00, 0x00, 0x00,
	// General Copy Operations: 1 and 1 copies, 256 MiB segments, 512-byte
	// data granularity, 1-byte inline granularity.
	0x80, 0x01, 0x00, 0x20, 0, 0, 0, 1, 0, 0, 0, 1, 0x10, 0, 0, 0, 9, 0,
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
}

var tpcGoldenPage = ThirdPartyCopy{
	Commands: []ThirdPartyCopyCommand{
		{OpCode: OpExtendedCopy, ServiceActions: []uint8{0x00}},
		{OpCode: OpReceiveCopyResults, ServiceActions: []uint8{0x03}},
	},
	MaxCSCDDescriptorCount: 2, MaxSegmentDescriptorCount: 1, MaxDescriptorListLength: 1024,
	Descriptors:           []uint8{0x02, 0xe4},
	TotalConcurrentCopies: 1, MaxIdentifiedConcurrentCopies: 1, MaxSegmentLength: 256 << 20,
	DataSegmentGranularityLog2: 9,
}

func TestThirdPartyCopyGolden(t *testing.T) {
	b, err := AppendVPD(nil, 0, tpcGoldenPage)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(tpcGolden, b); diff != "" {
		t.Fatalf("AppendVPD (-want +got):\n%s", diff)
	}
	_, code, body, err := ParseVPD(tpcGolden)
	if err != nil || code != VPDThirdPartyCopy {
		t.Fatalf("ParseVPD: page %#x, %v", code, err)
	}
	got, err := ParseThirdPartyCopy(body)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(tpcGoldenPage, got); diff != "" {
		t.Fatalf("ParseThirdPartyCopy (-want +got):\n%s", diff)
	}
}

func TestThirdPartyCopyErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		page ThirdPartyCopy
	}{
		{"too many service actions", ThirdPartyCopy{Commands: []ThirdPartyCopyCommand{{OpCode: 0x84, ServiceActions: make([]uint8, 256)}}}},
		{"command list too long", ThirdPartyCopy{Commands: []ThirdPartyCopyCommand{{OpCode: 0x84, ServiceActions: make([]uint8, 200)}, {OpCode: 0x83, ServiceActions: make([]uint8, 100)}}}},
		{"too many descriptor types", ThirdPartyCopy{Descriptors: make([]uint8, 256)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := tc.page.AppendBody(nil); !errors.Is(err, ErrFieldRange) {
				t.Fatalf("AppendBody: %v, want ErrFieldRange", err)
			}
		})
	}
	body := tpcGolden[4:]
	for _, tc := range []struct {
		name string
		body []byte
	}{
		{"descriptor header cut", body[:2]},
		{"descriptor cut", body[:10]},
		{"command list longer than its descriptor", append([]byte{0x00, 0x01, 0x00, 0x04, 0x09, 0x83, 0x01, 0x00}, body[12:]...)},
		{"service actions past the list", append([]byte{0x00, 0x01, 0x00, 0x04, 0x02, 0x83, 0x05, 0x00}, body[12:]...)},
		{"odd CSCD ID list", []byte{0x00, 0x0c, 0x00, 0x04, 0x00, 0x01, 0x00, 0x00}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := ParseThirdPartyCopy(tc.body); !errors.Is(err, ErrFieldRange) {
				t.Fatalf("ParseThirdPartyCopy: %v, want ErrFieldRange", err)
			}
		})
	}
}
