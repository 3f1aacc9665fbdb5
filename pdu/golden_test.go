package pdu_test

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/go-iscsi/iscsi/digest"
	"github.com/go-iscsi/iscsi/pdu"
)

// The golden captures under testdata/golden are real traffic between
// libiscsi's tools and tgtd, recorded by testdata/golden/capture.sh; the
// datadigest scenario's initiator is testdata/golden/datadigest/main.go,
// built on this module's login, pdu and scsi packages, since libiscsi 1.19
// never offers a data digest. Each
// scenario directory holds the byte stream of every TCP connection in each
// direction (cN.i2t.bin, cN.t2i.bin) and pdus.tsv, the fields tshark's iSCSI
// dissector shows for every PDU. The test reads each stream with a Reader,
// compares every field tshark shows with the value the view accessors
// return, and re-encodes every PDU, with PDU.AppendTo and with a Writer, to
// exactly the captured bytes.
var goldenScenarios = []struct {
	name string
	// headerDigest and dataDigest are whether the normal sessions of the
	// scenario negotiate HeaderDigest=CRC32C and DataDigest=CRC32C (RFC
	// 7143 §13.1). Discovery sessions negotiate neither: tgtd answers None
	// to a digest offer there.
	headerDigest, dataDigest bool
	// opcodes must all occur in the scenario.
	opcodes []pdu.Opcode
}{
	{
		name: "discovery",
		opcodes: []pdu.Opcode{
			pdu.OpLoginRequest, pdu.OpLoginResponse, pdu.OpTextRequest, pdu.OpTextResponse,
			pdu.OpLogoutRequest, pdu.OpLogoutResponse,
		},
	},
	{
		name: "session",
		opcodes: []pdu.Opcode{
			pdu.OpLoginRequest, pdu.OpLoginResponse, pdu.OpTextRequest, pdu.OpTextResponse,
			pdu.OpSCSICommand, pdu.OpSCSIResponse, pdu.OpSCSIDataIn,
			pdu.OpTaskManagementRequest, pdu.OpTaskManagementResponse,
			pdu.OpLogoutRequest, pdu.OpLogoutResponse,
		},
	},
	{
		name: "r2t",
		opcodes: []pdu.Opcode{
			pdu.OpSCSICommand, pdu.OpR2T, pdu.OpSCSIDataOut, pdu.OpSCSIDataIn, pdu.OpSCSIResponse,
		},
	},
	{
		name:    "chap",
		opcodes: []pdu.Opcode{pdu.OpLoginRequest, pdu.OpLoginResponse, pdu.OpSCSICommand, pdu.OpSCSIDataIn},
	},
	{
		name:         "digest",
		headerDigest: true,
		opcodes: []pdu.Opcode{
			pdu.OpLoginRequest, pdu.OpLoginResponse, pdu.OpSCSICommand, pdu.OpSCSIResponse,
			pdu.OpSCSIDataIn, pdu.OpSCSIDataOut, pdu.OpR2T, pdu.OpLogoutRequest, pdu.OpLogoutResponse,
		},
	},
	{
		name: "nop",
		opcodes: []pdu.Opcode{
			pdu.OpNOPIn, pdu.OpNOPOut, pdu.OpTaskManagementRequest, pdu.OpTaskManagementResponse,
		},
	},
	{
		name:    "errors",
		opcodes: []pdu.Opcode{pdu.OpSCSICommand, pdu.OpSCSIDataOut, pdu.OpR2T, pdu.OpSCSIResponse},
	},
	{
		name:         "datadigest",
		headerDigest: true,
		dataDigest:   true,
		opcodes: []pdu.Opcode{
			pdu.OpLoginRequest, pdu.OpLoginResponse, pdu.OpTextRequest, pdu.OpTextResponse,
			pdu.OpSCSICommand, pdu.OpSCSIResponse, pdu.OpSCSIDataIn, pdu.OpSCSIDataOut, pdu.OpR2T,
			pdu.OpNOPOut, pdu.OpNOPIn, pdu.OpLogoutRequest, pdu.OpLogoutResponse,
		},
	},
}

// goldenRow is one line of pdus.tsv: the frame, TCP stream and direction of
// a PDU and the fields tshark shows for it, in order, a repeated field
// (iscsi.keyvalue) once per occurrence.
type goldenRow struct {
	frame  int
	stream int
	dir    string
	fields map[string][]string
}

func readGoldenRows(t *testing.T, path string) []goldenRow {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var rows []goldenRow
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for line := 1; sc.Scan(); line++ {
		r := goldenRow{fields: map[string][]string{}}
		for i, kv := range strings.Split(sc.Text(), "\t") {
			k, v, ok := strings.Cut(kv, "=")
			if !ok {
				t.Fatalf("%s:%d: field %q is not key=value", path, line, kv)
			}
			switch {
			case i == 0 && k == "frame":
				r.frame, err = strconv.Atoi(v)
			case i == 1 && k == "stream":
				r.stream, err = strconv.Atoi(v)
			case i == 2 && k == "dir":
				r.dir = v
			case i < 3:
				err = fmt.Errorf("field %d is %q", i, k)
			default:
				r.fields[k] = append(r.fields[k], v)
			}
			if err != nil {
				t.Fatalf("%s:%d: %v", path, line, err)
			}
		}
		rows = append(rows, r)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return rows
}

// goldenFields renders the fields of p in tshark's names and notation, each
// from the view accessor that reads it. wire is the PDU as captured, for
// the header digest; d the digests in force.
func goldenFields(p *pdu.PDU, wire []byte, d pdu.Digests) map[string][]string {
	f := map[string][]string{}
	set := func(k, v string) { f[k] = []string{v} }
	dec := func(k string, v uint32) { set(k, strconv.FormatUint(uint64(v), 10)) }
	hex := func(k string, width int, v uint32) { set(k, fmt.Sprintf("0x%0*x", width, v)) }
	bit := func(k string, v bool) {
		if v {
			set(k, "1")
		} else {
			set(k, "0")
		}
	}
	b2u := func(v bool, mask uint32) uint32 {
		if v {
			return mask
		}
		return 0
	}

	h := &p.Header
	hex("iscsi.opcode", 2, uint32(h.Opcode()))
	bit("iscsi.I", h.Immediate())
	dec("iscsi.totalahslength", uint32(h.TotalAHSLength()))
	dec("iscsi.datasegmentlength", h.DataSegmentLength())
	hex("iscsi.initiatortasktag", 8, h.InitiatorTaskTag())
	set("lun", fmt.Sprintf("%016x", h.LUN()))
	if d.Header {
		// The CRC travels least significant byte first (RFC 7143
		// Appendix A.4); tshark shows those four bytes read big-endian.
		hl := pdu.BHSLength + len(p.AHS)
		hex("iscsi.headerdigest32", 8, binary.BigEndian.Uint32(digest.AppendDigest(nil, digest.Header(wire[:hl]))))
	}
	if d.Data && len(p.Data) > 0 {
		// The data digest covers the data segment and its padding (RFC
		// 7143 §11.2.3, §13.1) and travels like the header digest.
		hex("iscsi.datadigest32", 8, binary.BigEndian.Uint32(digest.AppendDigest(nil, digest.Data(p.Data))))
	}
	keyValues := func() {
		for kv := range strings.SplitSeq(string(p.Data), "\x00") {
			if kv != "" {
				f["iscsi.keyvalue"] = append(f["iscsi.keyvalue"], kv)
			}
		}
	}
	isid := func(i pdu.ISID) {
		set("iscsi.isid", fmt.Sprintf("%02x:%02x:%02x:%02x:%02x:%02x", i[0], i[1], i[2], i[3], i[4], i[5]))
		hex("iscsi.isid.t", 2, uint32(i.Type()))
		hex("iscsi.isid.a", 2, uint32(i.A()))
		hex("iscsi.isid.b", 4, uint32(i.B()))
		hex("iscsi.isid.c", 2, uint32(i.C()))
		hex("iscsi.isid.d", 4, uint32(i.D()))
	}

	switch h.Opcode() {
	case pdu.OpNOPOut:
		v := h.NOPOut()
		hex("iscsi.flags", 2, b2u(h.Final(), 0x80))
		hex("iscsi.targettransfertag", 8, v.TargetTransferTag())
		dec("iscsi.cmdsn", v.CmdSN())
		dec("iscsi.expstatsn", v.ExpStatSN())
	case pdu.OpNOPIn:
		v := h.NOPIn()
		hex("iscsi.flags", 2, b2u(h.Final(), 0x80))
		hex("iscsi.targettransfertag", 8, v.TargetTransferTag())
		dec("iscsi.statsn", v.StatSN())
		dec("iscsi.expcmdsn", v.ExpCmdSN())
		dec("iscsi.maxcmdsn", v.MaxCmdSN())
	case pdu.OpSCSICommand:
		v := h.SCSICommand()
		hex("iscsi.flags", 2, b2u(v.Final(), 0x80)|b2u(v.Read(), 0x40)|b2u(v.Write(), 0x20)|uint32(v.Attributes()))
		bit("iscsi.scsicommand.F", v.Final())
		bit("iscsi.scsicommand.R", v.Read())
		bit("iscsi.scsicommand.W", v.Write())
		hex("iscsi.scsicommand.attr", 2, uint32(v.Attributes()))
		dec("iscsi.scsicommand.expecteddatatransferlength", v.ExpectedDataTransferLength())
		dec("iscsi.cmdsn", v.CmdSN())
		dec("iscsi.expstatsn", v.ExpStatSN())
		hex("cdb.opcode", 2, uint32(v.CDB()[0]))
	case pdu.OpSCSIResponse:
		v := h.SCSIResponse()
		hex("iscsi.flags", 2, b2u(h.Final(), 0x80)|
			b2u(v.BidirectionalReadResidualOverflow(), 0x10)|b2u(v.BidirectionalReadResidualUnderflow(), 0x08)|
			b2u(v.ResidualOverflow(), 0x04)|b2u(v.ResidualUnderflow(), 0x02))
		bit("iscsi.scsiresponse.o", v.BidirectionalReadResidualOverflow())
		bit("iscsi.scsiresponse.u", v.BidirectionalReadResidualUnderflow())
		bit("iscsi.scsiresponse.O", v.ResidualOverflow())
		bit("iscsi.scsiresponse.U", v.ResidualUnderflow())
		hex("iscsi.scsiresponse.response", 2, uint32(v.Response()))
		hex("iscsi.scsiresponse.status", 2, uint32(v.Status()))
		dec("iscsi.statsn", v.StatSN())
		dec("iscsi.expcmdsn", v.ExpCmdSN())
		dec("iscsi.maxcmdsn", v.MaxCmdSN())
		hex("iscsi.expdatasn", 8, v.ExpDataSN())
		dec("iscsi.scsiresponse.bidireadresidualcount", v.BidirectionalReadResidualCount())
		dec("iscsi.scsiresponse.residualcount", v.ResidualCount())
		if len(p.Data) >= 2 {
			// RFC 7143 §11.4.7.2: the data segment starts with SenseLength.
			dec("iscsi.scsiresponse.senselength", uint32(binary.BigEndian.Uint16(p.Data)))
		}
	case pdu.OpTaskManagementRequest:
		v := h.TaskManagementRequest()
		hex("iscsi.flags", 2, b2u(h.Final(), 0x80)|uint32(v.Function()))
		hex("iscsi.taskmanfun.function", 2, uint32(v.Function()))
		hex("iscsi.taskmanfun.referencedtasktag", 8, v.ReferencedTaskTag())
		dec("iscsi.cmdsn", v.CmdSN())
		dec("iscsi.expstatsn", v.ExpStatSN())
		dec("iscsi.refcmdsn", v.RefCmdSN())
		hex("iscsi.expdatasn", 8, v.ExpDataSN())
	case pdu.OpTaskManagementResponse:
		v := h.TaskManagementResponse()
		hex("iscsi.flags", 2, b2u(h.Final(), 0x80))
		hex("iscsi.taskmanfun.response", 2, uint32(v.Response()))
		dec("iscsi.statsn", v.StatSN())
		dec("iscsi.expcmdsn", v.ExpCmdSN())
		dec("iscsi.maxcmdsn", v.MaxCmdSN())
	case pdu.OpLoginRequest:
		v := h.LoginRequest()
		bit("iscsi.login.T", v.Transit())
		bit("iscsi.login.C", v.Continue())
		hex("iscsi.login.csg", 2, uint32(v.CSG()))
		hex("iscsi.login.nsg", 2, uint32(v.NSG()))
		hex("iscsi.versionmax", 2, uint32(v.VersionMax()))
		hex("iscsi.versionmin", 2, uint32(v.VersionMin()))
		isid(v.ISID())
		hex("iscsi.tsih", 4, uint32(v.TSIH()))
		hex("iscsi.cid", 4, uint32(v.CID()))
		dec("iscsi.cmdsn", v.CmdSN())
		dec("iscsi.expstatsn", v.ExpStatSN())
		keyValues()
	case pdu.OpLoginResponse:
		v := h.LoginResponse()
		bit("iscsi.login.T", v.Transit())
		bit("iscsi.login.C", v.Continue())
		hex("iscsi.login.csg", 2, uint32(v.CSG()))
		hex("iscsi.login.nsg", 2, uint32(v.NSG()))
		hex("iscsi.versionmax", 2, uint32(v.VersionMax()))
		hex("iscsi.versionactive", 2, uint32(v.VersionActive()))
		isid(v.ISID())
		hex("iscsi.tsih", 4, uint32(v.TSIH()))
		dec("iscsi.statsn", v.StatSN())
		dec("iscsi.expcmdsn", v.ExpCmdSN())
		dec("iscsi.maxcmdsn", v.MaxCmdSN())
		hex("iscsi.login.status", 4, uint32(v.Status()))
		keyValues()
	case pdu.OpTextRequest:
		v := h.TextRequest()
		hex("iscsi.flags", 2, b2u(v.Final(), 0x80)|b2u(v.Continue(), 0x40))
		bit("iscsi.text.F", v.Final())
		bit("iscsi.text.C", v.Continue())
		hex("iscsi.targettransfertag", 8, v.TargetTransferTag())
		dec("iscsi.cmdsn", v.CmdSN())
		dec("iscsi.expstatsn", v.ExpStatSN())
		keyValues()
	case pdu.OpTextResponse:
		v := h.TextResponse()
		hex("iscsi.flags", 2, b2u(v.Final(), 0x80)|b2u(v.Continue(), 0x40))
		bit("iscsi.text.F", v.Final())
		bit("iscsi.text.C", v.Continue())
		hex("iscsi.targettransfertag", 8, v.TargetTransferTag())
		dec("iscsi.statsn", v.StatSN())
		dec("iscsi.expcmdsn", v.ExpCmdSN())
		dec("iscsi.maxcmdsn", v.MaxCmdSN())
		keyValues()
	case pdu.OpSCSIDataOut:
		v := h.DataOut()
		hex("iscsi.flags", 2, b2u(v.Final(), 0x80))
		bit("iscsi.scsidata.F", v.Final())
		hex("iscsi.targettransfertag", 8, v.TargetTransferTag())
		dec("iscsi.expstatsn", v.ExpStatSN())
		dec("iscsi.datasn", v.DataSN())
		dec("iscsi.bufferOffset", v.BufferOffset())
	case pdu.OpSCSIDataIn:
		v := h.DataIn()
		hex("iscsi.flags", 2, b2u(v.Final(), 0x80)|b2u(v.Acknowledge(), 0x40)|
			b2u(v.ResidualOverflow(), 0x04)|b2u(v.ResidualUnderflow(), 0x02)|b2u(v.StatusPresent(), 0x01))
		bit("iscsi.scsidata.F", v.Final())
		bit("iscsi.scsidata.A", v.Acknowledge())
		bit("iscsi.scsidata.O", v.ResidualOverflow())
		bit("iscsi.scsidata.U", v.ResidualUnderflow())
		bit("iscsi.scsidata.S", v.StatusPresent())
		hex("iscsi.scsiresponse.status", 2, uint32(v.Status()))
		hex("iscsi.targettransfertag", 8, v.TargetTransferTag())
		dec("iscsi.statsn", v.StatSN())
		dec("iscsi.expcmdsn", v.ExpCmdSN())
		dec("iscsi.maxcmdsn", v.MaxCmdSN())
		dec("iscsi.datasn", v.DataSN())
		dec("iscsi.bufferOffset", v.BufferOffset())
		dec("iscsi.scsidata.readresidualcount", v.ResidualCount())
	case pdu.OpLogoutRequest:
		v := h.LogoutRequest()
		hex("iscsi.flags", 2, b2u(h.Final(), 0x80)|uint32(v.ReasonCode()))
		hex("iscsi.logout.reason", 2, uint32(v.ReasonCode()))
		hex("iscsi.cid", 4, uint32(v.CID()))
		dec("iscsi.cmdsn", v.CmdSN())
		dec("iscsi.expstatsn", v.ExpStatSN())
	case pdu.OpLogoutResponse:
		v := h.LogoutResponse()
		hex("iscsi.flags", 2, b2u(h.Final(), 0x80))
		hex("iscsi.logout.response", 2, uint32(v.Response()))
		dec("iscsi.statsn", v.StatSN())
		dec("iscsi.expcmdsn", v.ExpCmdSN())
		dec("iscsi.maxcmdsn", v.MaxCmdSN())
		hex("iscsi.time2wait", 4, uint32(v.Time2Wait()))
		hex("iscsi.time2retain", 4, uint32(v.Time2Retain()))
	case pdu.OpR2T:
		v := h.R2T()
		hex("iscsi.flags", 2, b2u(h.Final(), 0x80))
		hex("iscsi.targettransfertag", 8, v.TargetTransferTag())
		dec("iscsi.statsn", v.StatSN())
		dec("iscsi.expcmdsn", v.ExpCmdSN())
		dec("iscsi.maxcmdsn", v.MaxCmdSN())
		dec("iscsi.r2tsn", v.R2TSN())
		dec("iscsi.bufferOffset", v.BufferOffset())
		dec("iscsi.desireddatalength", v.DesiredDataTransferLength())
	case pdu.OpReject:
		v := h.Reject()
		hex("iscsi.flags", 2, b2u(h.Final(), 0x80))
		hex("iscsi.reject.reason", 2, uint32(v.Reason()))
		dec("iscsi.statsn", v.StatSN())
		dec("iscsi.expcmdsn", v.ExpCmdSN())
		dec("iscsi.maxcmdsn", v.MaxCmdSN())
		dec("iscsi.datasn", v.DataSN())
	case pdu.OpAsyncMessage:
		v := h.AsyncMessage()
		hex("iscsi.flags", 2, b2u(h.Final(), 0x80))
		hex("iscsi.asyncevent", 2, uint32(v.AsyncEvent()))
		hex("iscsi.eventvendorcode", 2, uint32(v.AsyncVCode()))
		hex("iscsi.parameter1", 4, uint32(v.Parameter1()))
		hex("iscsi.parameter2", 4, uint32(v.Parameter2()))
		hex("iscsi.parameter3", 4, uint32(v.Parameter3()))
		dec("iscsi.statsn", v.StatSN())
		dec("iscsi.expcmdsn", v.ExpCmdSN())
		dec("iscsi.maxcmdsn", v.MaxCmdSN())
	}
	return f
}

// goldenNegotiated reads the target's side of a connection up to the Login
// Response that enters the Full Feature Phase and returns how many Login
// Responses that took and the digests the target agreed to (RFC 7143 §13.1:
// they apply from the first PDU after that response). ok is false when the
// connection never reached the Full Feature Phase.
func goldenNegotiated(t *testing.T, t2i []byte) (logins int, d pdu.Digests, ok bool) {
	t.Helper()
	return goldenNegotiatedTB(t, t2i)
}

func goldenNegotiatedTB(t testing.TB, t2i []byte) (logins int, d pdu.Digests, ok bool) {
	t.Helper()
	r := pdu.NewReader(bytes.NewReader(t2i))
	r.SetMaxRecvDataSegmentLength(pdu.MaxDataSegmentLength)
	for {
		p, err := r.Read()
		if err == io.EOF {
			return logins, pdu.Digests{}, false
		}
		if err != nil {
			t.Fatalf("login phase: %v", err)
		}
		if p.Header.Opcode() != pdu.OpLoginResponse {
			t.Fatalf("login phase: %v before the Full Feature Phase", p.Header.Opcode())
		}
		logins++
		for kv := range strings.SplitSeq(string(p.Data), "\x00") {
			switch kv {
			case "HeaderDigest=CRC32C":
				d.Header = true
			case "DataDigest=CRC32C":
				d.Data = true
			}
		}
		v := p.Header.LoginResponse()
		if v.Status() != pdu.LoginSuccess {
			return logins, pdu.Digests{}, false
		}
		if v.Transit() && v.NSG() == pdu.FullFeaturePhase {
			return logins, d, true
		}
	}
}

// goldenDiscovery reports whether the first Login Request of a connection's
// initiator stream asks for a discovery session (RFC 7143 §13.21).
func goldenDiscovery(i2t []byte) bool {
	p, _, err := pdu.Decode(i2t, pdu.Digests{})
	if err != nil || p.Header.Opcode() != pdu.OpLoginRequest {
		return false
	}
	return slices.Contains(strings.Split(string(p.Data), "\x00"), "SessionType=Discovery")
}

func TestGolden(t *testing.T) {
	for _, sc := range goldenScenarios {
		t.Run(sc.name, func(t *testing.T) {
			dir := filepath.Join("testdata", "golden", sc.name)
			rows := readGoldenRows(t, filepath.Join(dir, "pdus.tsv"))
			if len(rows) == 0 {
				t.Fatal("pdus.tsv is empty")
			}
			byStream := map[string][]goldenRow{}
			for _, r := range rows {
				k := fmt.Sprintf("c%d.%s", r.stream, r.dir)
				byStream[k] = append(byStream[k], r)
			}
			streams, err := filepath.Glob(filepath.Join(dir, "c*.t2i.bin"))
			if err != nil || len(streams) == 0 {
				t.Fatalf("no streams in %s (%v)", dir, err)
			}

			seen := map[pdu.Opcode]int{}
			var checked int
			for _, t2iPath := range streams {
				conn := strings.TrimSuffix(filepath.Base(t2iPath), ".t2i.bin")
				t2i, err := os.ReadFile(t2iPath)
				if err != nil {
					t.Fatal(err)
				}
				i2t, err := os.ReadFile(filepath.Join(dir, conn+".i2t.bin"))
				if err != nil {
					t.Fatal(err)
				}
				logins, digests, ffp := goldenNegotiated(t, t2i)
				want := pdu.Digests{Header: sc.headerDigest, Data: sc.dataDigest}
				if goldenDiscovery(i2t) {
					want = pdu.Digests{}
				}
				if ffp && digests != want {
					t.Errorf("%s: digests negotiated %+v, scenario expects %+v", conn, digests, want)
				}
				for _, s := range []struct {
					dir   string
					bytes []byte
					login pdu.Opcode
				}{
					{"i2t", i2t, pdu.OpLoginRequest},
					{"t2i", t2i, pdu.OpLoginResponse},
				} {
					key := conn + "." + s.dir
					t.Run(key, func(t *testing.T) {
						n := goldenStream(t, s.bytes, byStream[key], s.login, logins, digests, seen)
						checked += n
					})
					delete(byStream, key)
				}
			}
			for k, rs := range byStream {
				t.Errorf("tshark shows %d PDUs on %s, which has no stream file", len(rs), k)
			}
			if checked != len(rows) {
				t.Errorf("checked %d PDUs, pdus.tsv has %d", checked, len(rows))
			}
			for _, op := range sc.opcodes {
				if seen[op] == 0 {
					t.Errorf("no %v PDU in the scenario", op)
				}
			}
			t.Logf("%d PDUs in %d connections: %v", checked, len(streams), seen)
		})
	}
}

// goldenStream checks one direction of one connection: it reads stream with
// a Reader, switching digests on after the logins-th PDU with opcode login
// as the peers did, compares each PDU with its tshark row and re-encodes it.
// It returns the number of PDUs read.
func goldenStream(t *testing.T, stream []byte, rows []goldenRow, login pdu.Opcode, logins int, negotiated pdu.Digests, seen map[pdu.Opcode]int) int {
	r := pdu.NewReader(bytes.NewReader(stream))
	r.SetMaxRecvDataSegmentLength(pdu.MaxDataSegmentLength)
	// r2 reads the same stream in two steps, header then data segment
	// into a buffer of the caller's.
	r2 := pdu.NewReader(bytes.NewReader(stream))
	r2.SetMaxRecvDataSegmentLength(pdu.MaxDataSegmentLength)
	var data2 []byte
	var (
		d      pdu.Digests
		off    int
		n      int
		logged int
		enc    []byte
		out    bytes.Buffer
	)
	for ; ; n++ {
		p, err := r.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("PDU %d at offset %d: %v", n, off, err)
		}
		size := p.WireLength(d)
		if off+size > len(stream) {
			t.Fatalf("PDU %d at offset %d: WireLength %d runs past the stream (%d bytes)", n, off, size, len(stream))
		}
		wire := stream[off : off+size]
		op := p.Header.Opcode()
		seen[op]++

		if err := p.Header.Validate(); err != nil {
			t.Errorf("PDU %d (%v) at offset %d: Validate: %v", n, op, off, err)
		}

		// ReadHeader and ReadData see the same PDU.
		if p2, err := r2.ReadHeader(); err != nil {
			t.Errorf("PDU %d (%v): ReadHeader: %v", n, op, err)
		} else if p2.Header != p.Header || !bytes.Equal(p2.AHS, p.AHS) {
			t.Errorf("PDU %d (%v): ReadHeader returned a different header", n, op)
		} else {
			data2 = slices.Grow(data2[:0], len(p.Data))[:p2.Header.DataSegmentLength()]
			if err := r2.ReadData(data2); err != nil || !bytes.Equal(data2, p.Data) {
				t.Errorf("PDU %d (%v): ReadData: %v, same data: %v", n, op, err, bytes.Equal(data2, p.Data))
			}
		}

		// Decode frames the same bytes the same way.
		dp, dn, err := pdu.Decode(stream[off:], d)
		if err != nil || dn != size || dp.Header != p.Header || !bytes.Equal(dp.AHS, p.AHS) || !bytes.Equal(dp.Data, p.Data) {
			t.Errorf("PDU %d (%v): Decode = %d bytes, %v; Reader took %d bytes", n, op, dn, err, size)
		}

		// Encoding the decoded PDU gives back the captured bytes.
		enc, err = p.AppendTo(enc[:0], d)
		if err != nil {
			t.Errorf("PDU %d (%v): AppendTo: %v", n, op, err)
		} else if !bytes.Equal(enc, wire) {
			t.Errorf("PDU %d (%v): AppendTo differs from the capture:\n got % x\nwant % x", n, op, goldenHead(enc), goldenHead(wire))
		}
		out.Reset()
		w := pdu.NewWriter(&out)
		w.SetHeaderDigest(d.Header)
		w.SetDataDigest(d.Data)
		if err := w.Write(&p.Header, p.AHS, p.Data); err != nil {
			t.Errorf("PDU %d (%v): Writer.Write: %v", n, op, err)
		} else if !bytes.Equal(out.Bytes(), wire) {
			t.Errorf("PDU %d (%v): Writer output differs from the capture:\n got % x\nwant % x", n, op, goldenHead(out.Bytes()), goldenHead(wire))
		}

		// Every field tshark shows, as the view accessors read it.
		if n >= len(rows) {
			t.Errorf("PDU %d (%v) at offset %d: tshark shows only %d PDUs", n, op, off, len(rows))
		} else {
			want := rows[n].fields
			all := goldenFields(p, wire, d)
			got := make(map[string][]string, len(want))
			for k := range want {
				if v, ok := all[k]; ok {
					got[k] = v
				} else {
					got[k] = []string{"(no view accessor for this tshark field)"}
				}
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("PDU %d (%v, frame %d): tshark fields (-tshark +view):\n%s", n, op, rows[n].frame, diff)
			}
		}

		off += size
		// RFC 7143 §13.1: digests negotiated in the login apply from the
		// PDU after the final Login Response, in both directions.
		if op == login {
			logged++
			if logged == logins {
				d = negotiated
				r.SetHeaderDigest(d.Header)
				r.SetDataDigest(d.Data)
				r2.SetHeaderDigest(d.Header)
				r2.SetDataDigest(d.Data)
			}
		}
	}
	if off != len(stream) {
		t.Errorf("PDUs cover %d of %d bytes", off, len(stream))
	}
	if _, err := r2.ReadHeader(); err != io.EOF {
		t.Errorf("ReadHeader at the end of the stream: %v, want io.EOF", err)
	}
	if n != len(rows) {
		t.Errorf("read %d PDUs, tshark shows %d", n, len(rows))
	}
	return n
}

// goldenHead returns at most the first 96 bytes of b, for messages.
func goldenHead(b []byte) []byte { return b[:min(len(b), 96)] }

// TestGoldenCorruptedDigest flips one bit in each header digest of a
// captured stream with HeaderDigest=CRC32C and checks that the Reader
// reports a header digest error as connection-fatal (RFC 7143 §7.8).
func TestGoldenCorruptedDigest(t *testing.T) {
	dir := filepath.Join("testdata", "golden", "digest")
	streams, err := filepath.Glob(filepath.Join(dir, "c*.t2i.bin"))
	if err != nil || len(streams) == 0 {
		t.Fatalf("no streams in %s (%v)", dir, err)
	}
	var tried int
	for _, path := range streams {
		t2i, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		logins, d, ok := goldenNegotiated(t, t2i)
		if !ok || !d.Header {
			continue
		}
		// Offset of the first PDU of the Full Feature Phase and its
		// header digest.
		off := 0
		for range logins {
			_, n, err := pdu.Decode(t2i[off:], pdu.Digests{})
			if err != nil {
				t.Fatal(err)
			}
			off += n
		}
		if off == len(t2i) {
			continue
		}
		p, _, err := pdu.Decode(t2i[off:], d)
		if err != nil {
			t.Fatal(err)
		}
		digestAt := off + pdu.BHSLength + len(p.AHS)
		bad := slices.Clone(t2i)
		bad[digestAt] ^= 0x01

		r := pdu.NewReader(bytes.NewReader(bad))
		r.SetMaxRecvDataSegmentLength(pdu.MaxDataSegmentLength)
		for range logins {
			if _, err := r.Read(); err != nil {
				t.Fatal(err)
			}
		}
		r.SetHeaderDigest(true)
		_, err = r.Read()
		var ce *pdu.ConnectionError
		var de *pdu.DigestError
		if !errors.As(err, &ce) || !errors.As(err, &de) || de.Data {
			t.Errorf("%s: Read of a PDU with a corrupted header digest: %v, want a *ConnectionError with a header *DigestError", filepath.Base(path), err)
		}
		tried++
	}
	if tried == 0 {
		t.Fatal("no connection with header digests in the digest scenario")
	}
}

// TestGoldenCorruptedDataDigest corrupts, one at a time, a data byte and a
// data digest bit of every PDU with a data segment in the streams of the
// datadigest scenario, and checks that the Reader reports that PDU as a data
// digest error confined to it (RFC 7143 §7.8: the PDU is discarded and
// answered with a Reject, or recovered with a SNACK; the framing is intact)
// and reads every other PDU of the stream as before.
func TestGoldenCorruptedDataDigest(t *testing.T) {
	dir := filepath.Join("testdata", "golden", "datadigest")
	streams, err := filepath.Glob(filepath.Join(dir, "c*.t2i.bin"))
	if err != nil || len(streams) == 0 {
		t.Fatalf("no streams in %s (%v)", dir, err)
	}
	var tried int
	for _, t2iPath := range streams {
		t2i, err := os.ReadFile(t2iPath)
		if err != nil {
			t.Fatal(err)
		}
		i2t, err := os.ReadFile(strings.TrimSuffix(t2iPath, ".t2i.bin") + ".i2t.bin")
		if err != nil {
			t.Fatal(err)
		}
		logins, d, ok := goldenNegotiated(t, t2i)
		if !ok || !d.Data {
			continue
		}
		for _, stream := range [][]byte{i2t, t2i} {
			// The offset and size of each PDU, digests on after the
			// logins-th.
			type span struct{ off, size, data, dataAt int }
			var spans []span
			for off, n := 0, 0; off < len(stream); n++ {
				dd := pdu.Digests{}
				if n >= logins {
					dd = d
				}
				p, size, err := pdu.Decode(stream[off:], dd)
				if err != nil {
					t.Fatalf("%s PDU %d: %v", filepath.Base(t2iPath), n, err)
				}
				dataAt := off + pdu.BHSLength + len(p.AHS)
				if dd.Header {
					dataAt += pdu.DigestLength
				}
				spans = append(spans, span{off, size, len(p.Data), dataAt})
				off += size
			}
			for i, sp := range spans {
				if i < logins || sp.data == 0 {
					continue
				}
				digestAt := sp.off + sp.size - pdu.DigestLength
				for _, at := range []int{sp.dataAt, digestAt} {
					bad := slices.Clone(stream)
					bad[at] ^= 0x80
					r := pdu.NewReader(bytes.NewReader(bad))
					r.SetMaxRecvDataSegmentLength(pdu.MaxDataSegmentLength)
					for n := 0; ; n++ {
						if n == logins {
							r.SetDigests(d)
						}
						p, err := r.Read()
						if err == io.EOF {
							if n != len(spans) {
								t.Errorf("PDU %d corrupted at %d: read %d PDUs, want %d", i, at, n, len(spans))
							}
							break
						}
						if n != i {
							if err != nil {
								t.Fatalf("PDU %d corrupted at %d: PDU %d: %v", i, at, n, err)
							}
							continue
						}
						var pe *pdu.ProtocolError
						var de *pdu.DigestError
						var ce *pdu.ConnectionError
						if !errors.As(err, &pe) || pe.Reason != pdu.RejectDataDigestError || !errors.As(err, &de) || !de.Data ||
							!errors.Is(err, pdu.ErrDataDigest) || errors.As(err, &ce) {
							t.Fatalf("PDU %d corrupted at %d: Read = %v, %v; want a *ProtocolError with reason %v and a data *DigestError",
								i, at, p, err, pdu.RejectDataDigestError)
						}
						if pe.Header != *(*pdu.BHS)(bad[sp.off:]) {
							t.Errorf("PDU %d corrupted at %d: ProtocolError.Header is not the PDU's header", i, at)
						}
						tried++
					}
				}
			}
		}
	}
	if tried == 0 {
		t.Fatal("no PDU with a data digest in the datadigest scenario")
	}
	t.Logf("%d corrupted PDUs reported", tried)
}

// goldenPlainStream returns every captured stream of the scenarios without
// digests, one after the other: a long, valid run of real PDUs.
func goldenPlainStream(tb testing.TB) []byte {
	tb.Helper()
	var all []byte
	for _, sc := range goldenScenarios {
		if sc.headerDigest || sc.dataDigest {
			continue
		}
		paths, err := filepath.Glob(filepath.Join("testdata", "golden", sc.name, "c*.bin"))
		if err != nil {
			tb.Fatal(err)
		}
		for _, p := range paths {
			b, err := os.ReadFile(p)
			if err != nil {
				tb.Fatal(err)
			}
			all = append(all, b...)
		}
	}
	if len(all) == 0 {
		tb.Fatal("no golden streams")
	}
	return all
}

// goldenPass reads every PDU of the stream in br and re-encodes it with
// AppendTo into buf and with w, returning the PDU count.
func goldenPass(tb testing.TB, r *pdu.Reader, w *pdu.Writer, buf []byte) int {
	n := 0
	for {
		p, err := r.Read()
		if err == io.EOF {
			return n
		}
		if err != nil {
			tb.Fatal(err)
		}
		if buf, err = p.AppendTo(buf[:0], pdu.Digests{}); err != nil {
			tb.Fatal(err)
		}
		if err := w.Write(&p.Header, p.AHS, p.Data); err != nil {
			tb.Fatal(err)
		}
		n++
	}
}

// TestGoldenAllocs checks on real traffic that a Reader whose buffer has
// grown, PDU.AppendTo into a reused buffer and a Writer allocate nothing.
func TestGoldenAllocs(t *testing.T) {
	stream := goldenPlainStream(t)
	br := bytes.NewReader(stream)
	r := pdu.NewReader(br)
	r.SetMaxRecvDataSegmentLength(pdu.MaxDataSegmentLength)
	w := pdu.NewWriter(io.Discard)
	buf := make([]byte, 0, 1<<20)
	pdus := goldenPass(t, r, w, buf)
	allocs := testing.AllocsPerRun(20, func() {
		br.Reset(stream)
		goldenPass(t, r, w, buf)
	})
	if allocs != 0 {
		t.Errorf("reading and re-encoding %d PDUs (%d bytes) allocated %v times, want 0", pdus, len(stream), allocs)
	}
}

// BenchmarkGoldenRead measures framing real traffic with a Reader.
func BenchmarkGoldenRead(b *testing.B) {
	stream := goldenPlainStream(b)
	br := bytes.NewReader(stream)
	r := pdu.NewReader(br)
	r.SetMaxRecvDataSegmentLength(pdu.MaxDataSegmentLength)
	b.SetBytes(int64(len(stream)))
	b.ReportAllocs()
	var pdus int
	for b.Loop() {
		br.Reset(stream)
		pdus = 0
		for {
			if _, err := r.Read(); err == io.EOF {
				break
			} else if err != nil {
				b.Fatal(err)
			}
			pdus++
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*pdus), "ns/PDU")
}

// BenchmarkGoldenReencode measures reading real traffic and encoding every
// PDU again, with AppendTo and with a Writer.
func BenchmarkGoldenReencode(b *testing.B) {
	stream := goldenPlainStream(b)
	br := bytes.NewReader(stream)
	r := pdu.NewReader(br)
	r.SetMaxRecvDataSegmentLength(pdu.MaxDataSegmentLength)
	w := pdu.NewWriter(io.Discard)
	buf := make([]byte, 0, 1<<20)
	b.SetBytes(int64(len(stream)))
	b.ReportAllocs()
	for b.Loop() {
		br.Reset(stream)
		goldenPass(b, r, w, buf)
	}
}

// FuzzGoldenStream starts from the captured streams, each direction of each
// connection, and checks that a Reader fails on any mutation of them only
// with a typed error, and that every PDU it returns re-encodes, with
// AppendTo and with a Writer, to bytes that decode to the same PDU. The
// streams of connections with digests are given from their first Full
// Feature Phase PDU on, with the digests they negotiated.
func FuzzGoldenStream(f *testing.F) {
	for _, sc := range goldenScenarios {
		paths, err := filepath.Glob(filepath.Join("testdata", "golden", sc.name, "c*.t2i.bin"))
		if err != nil {
			f.Fatal(err)
		}
		for _, t2iPath := range paths {
			t2i, err := os.ReadFile(t2iPath)
			if err != nil {
				f.Fatal(err)
			}
			i2t, err := os.ReadFile(strings.TrimSuffix(t2iPath, ".t2i.bin") + ".i2t.bin")
			if err != nil {
				f.Fatal(err)
			}
			logins, d, _ := goldenNegotiatedTB(f, t2i)
			for _, s := range [][]byte{i2t, t2i} {
				if d == (pdu.Digests{}) {
					f.Add(s, false, false)
					continue
				}
				off := 0
				for range logins {
					_, n, err := pdu.Decode(s[off:], pdu.Digests{})
					if err != nil {
						f.Fatal(err)
					}
					off += n
				}
				f.Add(s[off:], d.Header, d.Data)
			}
		}
	}
	f.Fuzz(func(t *testing.T, stream []byte, headerDigest, dataDigest bool) {
		d := pdu.Digests{Header: headerDigest, Data: dataDigest}
		r := pdu.NewReader(bytes.NewReader(stream))
		r.SetMaxRecvDataSegmentLength(1 << 16)
		r.SetDigests(d)
		var out bytes.Buffer
		w := pdu.NewWriter(&out)
		w.SetDigests(d)
		for range 10000 {
			p, err := r.Read()
			if err == io.EOF {
				return
			}
			var ce *pdu.ConnectionError
			var pe *pdu.ProtocolError
			switch {
			case errors.As(err, &ce):
				return
			case errors.As(err, &pe):
				continue
			case err != nil:
				t.Fatalf("untyped error %T: %v", err, err)
			}
			enc, err := p.AppendTo(nil, d)
			if err != nil {
				t.Fatalf("AppendTo of a PDU the Reader returned: %v", err)
			}
			q, n, err := pdu.Decode(enc, d)
			if err != nil || n != len(enc) || q.Header != p.Header || !bytes.Equal(q.AHS, p.AHS) || !bytes.Equal(q.Data, p.Data) {
				t.Fatalf("re-encoded %v decodes differently (%d of %d bytes): %v", p.Header.Opcode(), n, len(enc), err)
			}
			out.Reset()
			if err := w.Write(&p.Header, p.AHS, p.Data); err != nil || !bytes.Equal(out.Bytes(), enc) {
				t.Fatalf("Writer output differs from AppendTo: %v", err)
			}
		}
	})
}
