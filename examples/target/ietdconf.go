package main

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/go-iscsi/iscsi/iqn"
	"github.com/go-iscsi/iscsi/login"
)

// The configuration file is the ietd.conf of the iSCSI Enterprise Target
// (IET), read line by line:
//
//   - A '#' at the start of a word begins a comment that runs to the end of
//     the line; blank lines and leading whitespace are ignored.
//   - A line ending in a backslash continues on the next line.
//   - Words are separated by blanks; a double-quoted word may hold blanks
//     ("a secret with spaces"), and \" or \\ inside quotes stand for the
//     character.
//   - Keys are matched without regard to case, as IET does.
//
// Before the first Target line, IncomingUser and OutgoingUser set the
// CHAP credentials of discovery sessions (RFC 7143 §12.1.3). Each
// "Target NAME" line opens a target whose keys follow until the next
// Target line: Lun, Alias, IncomingUser, OutgoingUser, Vendor, Product,
// the operational keys of RFC 7143 §13, and IET's NOPInterval,
// NOPTimeout, QueuedCommands and Wthreads. MaxConnections (RFC 7143 §13.2,
// default 1 as in IET) is offered at login, at most -max-connections. A
// value this target cannot honour (Wthreads, MaxXmitDataSegmentLength) is
// accepted and reported as a warning: login
// negotiates such keys down to what is implemented.

// ConfigError is a configuration file line that cannot be served: File and
// Line locate it, Key is the key it sets (or the Lun parameter), Err says
// what is wrong.
type ConfigError struct {
	File string
	Line int
	Key  string
	Err  error
}

// Error prints FILE:LINE: key: problem.
func (e *ConfigError) Error() string {
	if e.Key == "" {
		return fmt.Sprintf("%s:%d: %v", e.File, e.Line, e.Err)
	}
	return fmt.Sprintf("%s:%d: %s: %v", e.File, e.Line, e.Key, e.Err)
}

// Unwrap returns Err.
func (e *ConfigError) Unwrap() error { return e.Err }

// configWarning is a line that was accepted but is not fully honoured.
type configWarning struct {
	Line int
	Key  string
	Msg  string
}

// chapAccount is one IncomingUser or OutgoingUser line.
type chapAccount struct {
	User, Secret string
}

// fileConfig is a parsed configuration file.
type fileConfig struct {
	File string
	// Discovery CHAP: IncomingUser and OutgoingUser before the first
	// Target.
	IncomingUsers []chapAccount
	OutgoingUser  *chapAccount
	Targets       []*targetConfig
	// NOPInterval, NOPTimeout and QueuedCommands apply to the whole
	// server (session.Limits); the first target that sets one sets it.
	NOPInterval, NOPTimeout time.Duration
	QueuedCommands          uint32
	Warnings                []configWarning
}

// targetConfig is one Target block.
type targetConfig struct {
	Line          int
	Name          string // normalized (RFC 3722 stringprep)
	Alias         string
	IncomingUsers []chapAccount
	OutgoingUser  *chapAccount
	Vendor        string
	Product       string
	Settings      login.Settings
	LUNs          []*lunConfig
}

// lunConfig is one Lun line.
type lunConfig struct {
	Line      int
	Number    uint16
	Path      string
	Type      string // fileio, blockio, nullio or memory
	ScsiID    string
	ScsiSN    string
	IOMode    string // wb, wt or ro
	BlockSize int
	// PhysicalBlockSize (ours, like Type=memory and Size) is the physical
	// block length: a multiple of BlockSize by a power of two (SBC-4
	// §5.20.2, LOGICAL BLOCKS PER PHYSICAL BLOCK EXPONENT); 0 means
	// BlockSize.
	PhysicalBlockSize int
	Size              int64
	Vendor            string
	Product           string
}

// maxLUN is the highest LUN of the single level peripheral and flat
// address methods (SAM-5 §4.7.7).
const maxLUN = 16383

// parseConfig reads a configuration file from r; name is the file name the
// errors report. Any error is a *ConfigError.
func parseConfig(name string, r io.Reader) (*fileConfig, error) {
	p := &confParser{cfg: &fileConfig{File: name}}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 4096), 1<<20)
	lineNo, start := 0, 0
	var logical []byte
	for sc.Scan() {
		lineNo++
		line := sc.Bytes()
		if len(logical) == 0 {
			start = lineNo
		}
		if bytes.HasSuffix(line, []byte{'\\'}) {
			logical = append(logical, line[:len(line)-1]...)
			logical = append(logical, ' ')
			continue
		}
		logical = append(logical, line...)
		if err := p.line(start, string(logical)); err != nil {
			return nil, err
		}
		logical = logical[:0]
	}
	if err := sc.Err(); err != nil {
		return nil, &ConfigError{File: name, Line: lineNo + 1, Err: err}
	}
	if len(logical) > 0 {
		if err := p.line(start, string(logical)); err != nil {
			return nil, err
		}
	}
	return p.cfg, nil
}

type confParser struct {
	cfg *fileConfig
	cur *targetConfig
}

func (p *confParser) errorf(line int, key, format string, args ...any) error {
	return &ConfigError{File: p.cfg.File, Line: line, Key: key, Err: fmt.Errorf(format, args...)}
}

func (p *confParser) warn(line int, key, msg string) {
	p.cfg.Warnings = append(p.cfg.Warnings, configWarning{Line: line, Key: key, Msg: msg})
}

// splitWords splits a line into words, honouring double quotes and ending
// at a '#' that starts a word.
func splitWords(s string) ([]string, error) {
	var words []string
	i := 0
	for {
		for i < len(s) && (s[i] == ' ' || s[i] == '\t' || s[i] == '\r') {
			i++
		}
		if i == len(s) || s[i] == '#' {
			return words, nil
		}
		var w strings.Builder
		for i < len(s) && s[i] != ' ' && s[i] != '\t' && s[i] != '\r' {
			if s[i] != '"' {
				w.WriteByte(s[i])
				i++
				continue
			}
			i++
			closed := false
			for i < len(s) {
				c := s[i]
				if c == '\\' && i+1 < len(s) && (s[i+1] == '"' || s[i+1] == '\\') {
					w.WriteByte(s[i+1])
					i += 2
					continue
				}
				i++
				if c == '"' {
					closed = true
					break
				}
				w.WriteByte(c)
			}
			if !closed {
				return nil, errors.New("unterminated quote")
			}
		}
		words = append(words, w.String())
	}
}

func (p *confParser) line(n int, text string) error {
	words, err := splitWords(text)
	if err != nil {
		return &ConfigError{File: p.cfg.File, Line: n, Err: err}
	}
	if len(words) == 0 {
		return nil
	}
	key, args := words[0], words[1:]
	lkey := strings.ToLower(key)
	switch lkey {
	case "target":
		return p.target(n, key, args)
	case "incominguser", "outgoinguser":
		if len(args) != 2 || args[0] == "" || args[1] == "" {
			return p.errorf(n, key, "want a user name and a secret")
		}
		acct := chapAccount{User: args[0], Secret: args[1]}
		if lkey == "incominguser" {
			if p.cur == nil {
				p.cfg.IncomingUsers = append(p.cfg.IncomingUsers, acct)
			} else {
				p.cur.IncomingUsers = append(p.cur.IncomingUsers, acct)
			}
			return nil
		}
		dst := &p.cfg.OutgoingUser
		if p.cur != nil {
			dst = &p.cur.OutgoingUser
		}
		if *dst != nil {
			return p.errorf(n, key, "set twice: one OutgoingUser per target")
		}
		*dst = &acct
		return nil
	}
	if p.cur == nil {
		if _, ok := targetKeys[lkey]; ok || lkey == "lun" || lkey == "alias" {
			return p.errorf(n, key, "outside a Target block")
		}
		return p.errorf(n, key, "unknown key")
	}
	if lkey == "lun" {
		return p.lun(n, key, args)
	}
	if len(args) != 1 {
		return p.errorf(n, key, "want one value, got %d", len(args))
	}
	v := args[0]
	switch lkey {
	case "alias":
		p.cur.Alias = v
		return nil
	case "vendor":
		if err := checkIdent(v, 8); err != nil {
			return p.errorf(n, key, "%v", err)
		}
		p.cur.Vendor = v
		return nil
	case "product":
		if err := checkIdent(v, 16); err != nil {
			return p.errorf(n, key, "%v", err)
		}
		p.cur.Product = v
		return nil
	}
	set, ok := targetKeys[lkey]
	if !ok {
		return p.errorf(n, key, "unknown key")
	}
	return set(p, n, key, v)
}

func (p *confParser) target(n int, key string, args []string) error {
	if len(args) != 1 {
		return p.errorf(n, key, "want one target name")
	}
	name, err := iqn.Parse(args[0])
	if err != nil {
		return p.errorf(n, key, "%v", err)
	}
	for _, t := range p.cfg.Targets {
		if t.Name == name.String() {
			return p.errorf(n, key, "duplicate target %s (first on line %d)", name, t.Line)
		}
	}
	p.cur = &targetConfig{Line: n, Name: name.String(), Settings: login.DefaultSettings()}
	p.cfg.Targets = append(p.cfg.Targets, p.cur)
	return nil
}

func (p *confParser) lun(n int, key string, args []string) error {
	if len(args) < 2 {
		return p.errorf(n, key, "want a number and parameters (Path=...,Type=...)")
	}
	num, err := strconv.ParseUint(args[0], 10, 16)
	if err != nil || num > maxLUN {
		return p.errorf(n, key, "LUN %q is not a number from 0 to %d", args[0], maxLUN)
	}
	for _, l := range p.cur.LUNs {
		if l.Number == uint16(num) {
			return p.errorf(n, key, "duplicate LUN %d (first on line %d)", num, l.Line)
		}
	}
	lu := &lunConfig{Line: n, Number: uint16(num), Type: "fileio", IOMode: "wb"}
	seen := map[string]bool{}
	for _, param := range strings.Split(strings.Join(args[1:], ","), ",") {
		if param == "" {
			continue
		}
		k, v, ok := strings.Cut(param, "=")
		if !ok {
			return p.errorf(n, key, "parameter %q is not Name=value", param)
		}
		lk := strings.ToLower(k)
		if seen[lk] {
			return p.errorf(n, k, "set twice")
		}
		seen[lk] = true
		switch lk {
		case "path":
			if v == "" {
				return p.errorf(n, k, "empty")
			}
			lu.Path = v
		case "type":
			switch t := strings.ToLower(v); t {
			case "fileio", "blockio", "nullio", "memory":
				lu.Type = t
			default:
				return p.errorf(n, k, "%q is not fileio, blockio, nullio or memory", v)
			}
		case "scsiid":
			// IET keeps at most 24 bytes of ScsiId (VPD page 83h).
			if err := checkIdent(v, 24); err != nil {
				return p.errorf(n, k, "%v", err)
			}
			lu.ScsiID = v
		case "scsisn":
			// IET keeps at most 16 bytes of ScsiSN (VPD page 80h).
			if err := checkIdent(v, 16); err != nil {
				return p.errorf(n, k, "%v", err)
			}
			lu.ScsiSN = v
		case "iomode":
			switch m := strings.ToLower(v); m {
			case "wb", "wt", "ro":
				lu.IOMode = m
			default:
				return p.errorf(n, k, "%q is not wb, wt or ro", v)
			}
		case "blocksize":
			bs, err := strconv.Atoi(v)
			if err != nil || (bs != 512 && bs != 1024 && bs != 2048 && bs != 4096) {
				return p.errorf(n, k, "%q is not 512, 1024, 2048 or 4096", v)
			}
			lu.BlockSize = bs
		case "physicalblocksize":
			pbs, err := strconv.Atoi(v)
			if err != nil || pbs < 512 || pbs > 1<<20 || pbs&(pbs-1) != 0 {
				return p.errorf(n, k, "%q is not a power of two from 512 to 1048576", v)
			}
			lu.PhysicalBlockSize = pbs
		case "size":
			sz, err := parseSize(v)
			if err != nil {
				return p.errorf(n, k, "%v", err)
			}
			lu.Size = sz
		case "vendor":
			if err := checkIdent(v, 8); err != nil {
				return p.errorf(n, k, "%v", err)
			}
			lu.Vendor = v
		case "product":
			if err := checkIdent(v, 16); err != nil {
				return p.errorf(n, k, "%v", err)
			}
			lu.Product = v
		default:
			return p.errorf(n, k, "unknown Lun parameter")
		}
	}
	switch lu.Type {
	case "fileio", "blockio":
		if lu.Path == "" {
			return p.errorf(n, "Path", "missing: Type=%s needs a file or device", lu.Type)
		}
	case "memory":
		if lu.Size == 0 {
			return p.errorf(n, "Size", "missing: Type=memory needs a size")
		}
		if lu.Path != "" {
			return p.errorf(n, "Path", "Type=memory takes no path")
		}
	case "nullio":
		if lu.Path != "" {
			return p.errorf(n, "Path", "Type=nullio takes no path")
		}
	}
	if lu.Size != 0 && lu.BlockSize != 0 && lu.Size%int64(lu.BlockSize) != 0 {
		return p.errorf(n, "Size", "%d is not a multiple of BlockSize %d", lu.Size, lu.BlockSize)
	}
	if bs := max(lu.BlockSize, 512); lu.PhysicalBlockSize != 0 && (lu.PhysicalBlockSize < bs || lu.PhysicalBlockSize/bs > 1<<15) {
		return p.errorf(n, "PhysicalBlockSize", "%d is not BlockSize %d times a power of two up to 2^15", lu.PhysicalBlockSize, bs)
	}
	p.cur.LUNs = append(p.cur.LUNs, lu)
	return nil
}

// checkIdent checks an INQUIRY or VPD identity string: printable ASCII
// (SPC-4 §4.3.1) of at most max bytes.
func checkIdent(s string, max int) error {
	if s == "" {
		return errors.New("empty")
	}
	if len(s) > max {
		return fmt.Errorf("%q is longer than %d bytes", s, max)
	}
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] > 0x7e {
			return fmt.Errorf("%q is not printable ASCII", s)
		}
	}
	return nil
}

// targetKeys sets the per-target keys that take one value.
var targetKeys = map[string]func(p *confParser, n int, key, v string) error{
	"maxconnections": func(p *confParser, n int, key, v string) error {
		x, err := p.number(n, key, v, 1, 65535)
		if err == nil {
			p.cur.Settings.MaxConnections = uint32(x)
		}
		return err
	},
	"errorrecoverylevel": func(p *confParser, n int, key, v string) error {
		// RFC 7143 §13.20: levels 0, 1 and 2 (connection recovery
		// with task reassignment, §7.1.4.3) are implemented.
		x, err := p.number(n, key, v, 0, 2)
		if err != nil {
			return err
		}
		p.cur.Settings.ErrorRecoveryLevel = uint8(x)
		return nil
	},
	"initialr2t":          boolKey(func(s *login.Settings) *bool { return &s.InitialR2T }),
	"immediatedata":       boolKey(func(s *login.Settings) *bool { return &s.ImmediateData }),
	"datapduinorder":      boolKey(func(s *login.Settings) *bool { return &s.DataPDUInOrder }),
	"datasequenceinorder": boolKey(func(s *login.Settings) *bool { return &s.DataSequenceInOrder }),
	// RFC 7143 §13.12 to §13.14: 512 to 2^24-1 bytes.
	"maxrecvdatasegmentlength": numKey(512, 1<<24-1, func(s *login.Settings) *uint32 { return &s.MaxRecvDataSegmentLength }),
	"maxburstlength":           numKey(512, 1<<24-1, func(s *login.Settings) *uint32 { return &s.MaxBurstLength }),
	"firstburstlength":         numKey(512, 1<<24-1, func(s *login.Settings) *uint32 { return &s.FirstBurstLength }),
	// §13.15, §13.16: 0 to 3600 seconds; §13.17: 1 to 65535.
	"defaulttime2wait":   numKey(0, 3600, func(s *login.Settings) *uint32 { return &s.DefaultTime2Wait }),
	"defaulttime2retain": numKey(0, 3600, func(s *login.Settings) *uint32 { return &s.DefaultTime2Retain }),
	"maxoutstandingr2t":  numKey(1, 65535, func(s *login.Settings) *uint32 { return &s.MaxOutstandingR2T }),
	"headerdigest":       digestKey(func(s *login.Settings) *login.DigestPolicy { return &s.HeaderDigest }),
	"datadigest":         digestKey(func(s *login.Settings) *login.DigestPolicy { return &s.DataDigest }),
	"maxxmitdatasegmentlength": func(p *confParser, n int, key, v string) error {
		if _, err := p.number(n, key, v, 512, 1<<24-1); err != nil {
			return err
		}
		p.warn(n, key, "ignored: the target sends Data-In segments up to the initiator's MaxRecvDataSegmentLength")
		return nil
	},
	"nopinterval": func(p *confParser, n int, key, v string) error {
		x, err := p.number(n, key, v, 0, 3600)
		if err != nil {
			return err
		}
		p.serverWide(n, key, &p.cfg.NOPInterval, time.Duration(x)*time.Second)
		return nil
	},
	"noptimeout": func(p *confParser, n int, key, v string) error {
		x, err := p.number(n, key, v, 0, 3600)
		if err != nil {
			return err
		}
		p.serverWide(n, key, &p.cfg.NOPTimeout, time.Duration(x)*time.Second)
		return nil
	},
	"queuedcommands": func(p *confParser, n int, key, v string) error {
		x, err := p.number(n, key, v, 1, 2048)
		if err != nil {
			return err
		}
		if p.cfg.QueuedCommands != 0 && p.cfg.QueuedCommands != uint32(x) {
			p.warn(n, key, "the command window is server-wide: the first value set is kept")
		} else {
			p.cfg.QueuedCommands = uint32(x)
		}
		return nil
	},
	"wthreads": func(p *confParser, n int, key, v string) error {
		if _, err := p.number(n, key, v, 1, 128); err != nil {
			return err
		}
		p.warn(n, key, "ignored: commands run on goroutines")
		return nil
	},
}

func (p *confParser) serverWide(n int, key string, dst *time.Duration, v time.Duration) {
	if *dst != 0 && *dst != v {
		p.warn(n, key, "server-wide: the first value set is kept")
		return
	}
	*dst = v
}

func (p *confParser) number(n int, key, v string, lo, hi uint64) (uint64, error) {
	x, err := strconv.ParseUint(v, 10, 32)
	if err != nil || x < lo || x > hi {
		return 0, p.errorf(n, key, "%q is not a number from %d to %d", v, lo, hi)
	}
	return x, nil
}

func numKey(lo, hi uint64, field func(*login.Settings) *uint32) func(*confParser, int, string, string) error {
	return func(p *confParser, n int, key, v string) error {
		x, err := p.number(n, key, v, lo, hi)
		if err != nil {
			return err
		}
		*field(&p.cur.Settings) = uint32(x)
		return nil
	}
}

func boolKey(field func(*login.Settings) *bool) func(*confParser, int, string, string) error {
	return func(p *confParser, n int, key, v string) error {
		switch strings.ToLower(v) {
		case "yes":
			*field(&p.cur.Settings) = true
		case "no":
			*field(&p.cur.Settings) = false
		default:
			return p.errorf(n, key, "%q is not Yes or No", v)
		}
		return nil
	}
}

// digestKey reads a HeaderDigest or DataDigest list (RFC 7143 §13.1).
func digestKey(field func(*login.Settings) *login.DigestPolicy) func(*confParser, int, string, string) error {
	return func(p *confParser, n int, key, v string) error {
		var d login.DigestPolicy
		switch strings.ToLower(v) {
		case "none":
			d = login.DigestRefuse
		case "crc32c":
			d = login.DigestRequire
		case "crc32c,none":
			d = login.DigestPrefer
		case "none,crc32c":
			d = login.DigestAccept
		default:
			return p.errorf(n, key, "%q is not None, CRC32C or a list of both", v)
		}
		*field(&p.cur.Settings) = d
		return nil
	}
}
