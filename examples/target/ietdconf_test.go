package main

import (
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/go-iscsi/iscsi/internal/peertest"
	"github.com/go-iscsi/iscsi/login"
)

// writeConfig writes text to a file named ietd.conf in a temporary
// directory, with @DIR@ replaced by that directory, and returns its path.
func writeConfig(t *testing.T, text string) string {
	t.Helper()
	dir := t.TempDir()
	path := filepath.Join(dir, "ietd.conf")
	if err := os.WriteFile(path, []byte(strings.ReplaceAll(text, "@DIR@", dir)), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// makeImage creates a sparse image file of size bytes.
func makeImage(t *testing.T, path string, size int64) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := f.Truncate(size); err != nil {
		t.Fatal(err)
	}
}

func readTestdata(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestParseConfigGrammar(t *testing.T) {
	const text = `# comment
   IncomingUser  disc  "discovery secret"   # trailing comment
OutgoingUser tgt targetsecret1

Target iqn.2001-04.org.Gentoo:Disk1
  Alias "my disk"
  Lun 0 Path=/x,Type=fileio,\
        ScsiId=ID0,ScsiSN=SN0,IOMode=wt,BlockSize=4096
  lun 1 type=MEMORY,size=1G
  InitialR2T No
  HeaderDigest CRC32C
  MaxBurstLength 131072
  IncomingUser alice alicesecret12
`
	fc, err := parseConfig("ietd.conf", strings.NewReader(text))
	if err != nil {
		t.Fatal(err)
	}
	st := login.DefaultSettings()
	st.InitialR2T = false
	st.HeaderDigest = login.DigestRequire
	st.MaxBurstLength = 131072
	want := &fileConfig{
		File:          "ietd.conf",
		IncomingUsers: []chapAccount{{"disc", "discovery secret"}},
		OutgoingUser:  &chapAccount{"tgt", "targetsecret1"},
		Targets: []*targetConfig{{
			Line: 5, Name: "iqn.2001-04.org.gentoo:disk1", Alias: "my disk",
			IncomingUsers: []chapAccount{{"alice", "alicesecret12"}},
			Settings:      st,
			LUNs: []*lunConfig{
				{Line: 7, Number: 0, Path: "/x", Type: "fileio", ScsiID: "ID0", ScsiSN: "SN0", IOMode: "wt", BlockSize: 4096},
				{Line: 9, Number: 1, Type: "memory", IOMode: "wb", Size: 1 << 30},
			},
		}},
	}
	if diff := cmp.Diff(want, fc); diff != "" {
		t.Errorf("parseConfig (-want +got):\n%s", diff)
	}
}

func TestParseConfigWarnings(t *testing.T) {
	fc, err := parseConfig("f", strings.NewReader("Target iqn.2001-04.org.example:a\nMaxConnections 4\nErrorRecoveryLevel 2\nWthreads 8\nMaxXmitDataSegmentLength 8192\n"))
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	for _, w := range fc.Warnings {
		keys = append(keys, w.Key)
	}
	// MaxConnections is honoured (RFC 7143 §13.2): no warning.
	// Nor is ErrorRecoveryLevel 2 (RFC 7143 §7.1.4.3).
	if diff := cmp.Diff([]string{"Wthreads", "MaxXmitDataSegmentLength"}, keys); diff != "" {
		t.Errorf("warnings (-want +got):\n%s", diff)
	}
	if s := fc.Targets[0].Settings; s.MaxConnections != 4 || s.ErrorRecoveryLevel != 2 {
		t.Errorf("MaxConnections %d, ErrorRecoveryLevel %d: want 4 and 2", s.MaxConnections, s.ErrorRecoveryLevel)
	}
	// ErrorRecoveryLevel 1 is implemented (RFC 7143 §7.1.4.1): no warning.
	fc, err = parseConfig("f", strings.NewReader("Target iqn.2001-04.org.example:a\nErrorRecoveryLevel 1\n"))
	if err != nil {
		t.Fatal(err)
	}
	if len(fc.Warnings) != 0 || fc.Targets[0].Settings.ErrorRecoveryLevel != 1 {
		t.Errorf("ErrorRecoveryLevel 1: warnings %v, value %d; want none and 1", fc.Warnings, fc.Targets[0].Settings.ErrorRecoveryLevel)
	}
}

// TestConfigErrors loads malformed files and checks the FILE:LINE and key
// of the error, and that the error is a *ConfigError.
func TestConfigErrors(t *testing.T) {
	const tgt = "Target iqn.2001-04.org.example:t\n"
	tests := []struct {
		name string
		text string
		line int
		key  string
	}{
		{"unknown global key", "Bogus 1\n", 1, "Bogus"},
		{"unknown target key", tgt + "NoSuchKey 1\n", 2, "NoSuchKey"},
		{"target key outside a target", "\n\nMaxBurstLength 65536\n", 3, "MaxBurstLength"},
		{"bad IQN", "Target iqn.2001-13.org.example:t\n", 1, "Target"},
		{"not a name at all", "Target disk1\n", 1, "Target"},
		{"duplicate target after normalization", tgt + "Lun 0 Type=nullio\nTarget iqn.2001-04.org.EXAMPLE:T\n", 3, "Target"},
		{"duplicate LUN", tgt + "Lun 0 Type=nullio\n# x\nLun 0 Type=nullio\n", 4, "Lun"},
		{"LUN out of range", tgt + "Lun 16384 Type=nullio\n", 2, "Lun"},
		{"LUN not a number", tgt + "Lun one Type=nullio\n", 2, "Lun"},
		{"bad type", tgt + "Lun 0 Path=/x,Type=diskio\n", 2, "Type"},
		{"unknown Lun parameter", tgt + "Lun 0 Path=/x,Color=blue\n", 2, "Color"},
		{"fileio without path", tgt + "Lun 0 Type=fileio\n", 2, "Path"},
		{"memory without size", tgt + "Lun 0 Type=memory\n", 2, "Size"},
		{"bad block size", tgt + "Lun 0 Type=memory,Size=1M,BlockSize=520\n", 2, "BlockSize"},
		{"bad physical block size", tgt + "Lun 0 Type=memory,Size=1M,PhysicalBlockSize=3000\n", 2, "PhysicalBlockSize"},
		{"physical block below the logical", tgt + "Lun 0 Type=memory,Size=1M,BlockSize=4096,PhysicalBlockSize=512\n", 2, "PhysicalBlockSize"},
		{"size not a multiple of the block size", tgt + "Lun 0 Type=memory,Size=1000,BlockSize=512\n", 2, "Size"},
		{"bad IOMode", tgt + "Lun 0 Type=nullio,IOMode=rw\n", 2, "IOMode"},
		{"ScsiSN too long", tgt + "Lun 0 Type=nullio,ScsiSN=12345678901234567\n", 2, "ScsiSN"},
		{"bad boolean", tgt + "InitialR2T Maybe\n", 2, "InitialR2T"},
		{"number out of range", tgt + "MaxRecvDataSegmentLength 100\n", 2, "MaxRecvDataSegmentLength"},
		{"bad digest", tgt + "HeaderDigest MD5\n", 2, "HeaderDigest"},
		{"two values", tgt + "MaxBurstLength 1 2\n", 2, "MaxBurstLength"},
		{"IncomingUser without secret", "IncomingUser joe\n", 1, "IncomingUser"},
		{"OutgoingUser twice", "OutgoingUser a secretsecret1\nOutgoingUser b secretsecret1\n", 2, "OutgoingUser"},
		{"unterminated quote", tgt + "Alias \"open\n", 2, ""},
		{"continued line reports its first line", tgt + "Lun 0 Type=nullio,\\\n  Bogus=1\n", 2, "Bogus"},
		{"missing file", tgt + "Lun 0 Path=@DIR@/absent.img,Type=fileio\n", 2, "Path"},
		{"blockio on a regular file", tgt + "Lun 0 Path=@DIR@/ietd.conf,Type=blockio\n", 2, "Path"},
		{"FirstBurstLength above MaxBurstLength", tgt + "MaxBurstLength 65536\nFirstBurstLength 131072\n", 1, "Target"},
	}
	log := slog.New(slog.DiscardHandler)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := writeConfig(t, tt.text)
			var pool luPool
			defer pool.close()
			_, err := loadConfig(path, &pool, log)
			if err == nil {
				t.Fatalf("loadConfig accepted:\n%s", tt.text)
			}
			var ce *ConfigError
			if !errors.As(err, &ce) {
				t.Fatalf("error %v (%T) is not a *ConfigError", err, err)
			}
			if ce.File != path || ce.Line != tt.line || ce.Key != tt.key {
				t.Errorf("error %q: at %s:%d key %q, want %s:%d key %q", err, ce.File, ce.Line, ce.Key, path, tt.line, tt.key)
			}
			prefix := path + ":" + strconv.Itoa(tt.line) + ": "
			if tt.key != "" {
				prefix += tt.key + ": "
			}
			if !strings.HasPrefix(err.Error(), prefix) {
				t.Errorf("error %q does not start with %q", err, prefix)
			}
		})
	}
}

// TestConfigNotHalfOpened checks that a file whose last LUN fails opens
// nothing: the error comes back and no logical unit is left serving.
func TestConfigNotHalfOpened(t *testing.T) {
	path := writeConfig(t, "Target iqn.2001-04.org.example:a\nLun 0 Type=memory,Size=1M\nTarget iqn.2001-04.org.example:b\nLun 0 Path=@DIR@/none,Type=fileio\n")
	var pool luPool
	sc, err := loadConfig(path, &pool, slog.New(slog.DiscardHandler))
	if err == nil || sc != nil {
		t.Fatalf("loadConfig = %v, %v; want no configuration and an error", sc, err)
	}
	if n := len(pool.lus); n != 0 {
		t.Errorf("%d logical units left open", n)
	}
}

// TestServeSeedConfig serves the ietd.conf of the IET setup guide, its
// device replaced by an image file: discovery finds its target, and the
// logical unit answers INQUIRY as IET's do, so udev rules written for
// IET (vendor IET, model VIRTUAL-DISK) match it.
func TestServeSeedConfig(t *testing.T) {
	peertest.Require(t, "iscsi-ls", "iscsi-inq")
	dir := t.TempDir()
	img := filepath.Join(dir, "hda5.img")
	makeImage(t, img, 32<<20)
	text := strings.Replace(readTestdata(t, "seed-ietd.conf"), "/dev/hda5", img, 1)
	conf := filepath.Join(dir, "ietd.conf")
	if err := os.WriteFile(conf, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	addr := start(t, "-config", conf)
	const name = "iqn.2001-04.org.gentoo:iscsi.test.disk1"
	out, err := libiscsi(t, "iscsi-ls", "-s", "iscsi://"+addr)
	if err != nil || !strings.Contains(out, "Target:"+name) || !strings.Contains(out, "Lun:0") {
		t.Fatalf("iscsi-ls: %v\n%s", err, out)
	}
	url := peertest.URL{Host: addr, Target: name}.String()
	out, err = libiscsi(t, "iscsi-inq", url)
	if err != nil || !strings.Contains(out, "Vendor:IET") || !strings.Contains(out, "Product:VIRTUAL-DISK") {
		t.Fatalf("iscsi-inq: %v\n%s", err, out)
	}
}

// TestServeThreeTargets serves three targets of file, memory and nullio
// logical units with discovery CHAP, and reads every LUN's identity.
func TestServeThreeTargets(t *testing.T) {
	peertest.Require(t, "iscsi-ls", "iscsi-inq")
	conf := writeConfig(t, readTestdata(t, "three-targets.conf"))
	dir := filepath.Dir(conf)
	for _, f := range []string{"a.img", "b.img", "c.img"} {
		makeImage(t, filepath.Join(dir, f), 8<<20)
	}
	addr := start(t, "-config", conf)

	disc := peertest.URL{Host: addr, User: "discuser", Password: "discoverysecret1"}.String()
	out, err := libiscsi(t, "iscsi-ls", "-s", disc)
	if err != nil {
		t.Fatalf("iscsi-ls: %v\n%s", err, out)
	}
	for _, w := range []string{"Target:iqn.2026-11.org.example:files", "Target:iqn.2026-11.org.example:mem", "Target:iqn.2026-11.org.example:mixed", "Lun:7"} {
		if !strings.Contains(out, w) {
			t.Errorf("iscsi-ls output lacks %q:\n%s", w, out)
		}
	}
	if out, err := libiscsi(t, "iscsi-ls", "-s", "iscsi://"+addr); err == nil {
		t.Errorf("discovery without the CHAP of IncomingUser succeeded:\n%s", out)
	}

	luns := []struct {
		target        string
		lun           int
		vendor, model string
		serial        string
	}{
		{"files", 0, "IET", "VIRTUAL-DISK", "SNFILEA"},
		{"files", 1, "IET", "VIRTUAL-DISK", "SNFILEB"},
		{"mem", 0, "IET", "VIRTUAL-DISK", "SNMEM0"},
		{"mem", 1, "IET", "VIRTUAL-DISK", "SNMEM1"},
		{"mem", 2, "IET", "VIRTUAL-DISK", "SNNULL2"},
		{"mixed", 3, "ACME", "VIRTUAL-DISK", ""},
		{"mixed", 7, "ACME", "ANVIL", "SNMIXED7"},
	}
	for _, l := range luns {
		url := peertest.URL{Host: addr, Target: "iqn.2026-11.org.example:" + l.target, LUN: l.lun}.String()
		out, err := libiscsi(t, "iscsi-inq", url)
		if err != nil || !strings.Contains(out, "Vendor:"+l.vendor) || !strings.Contains(out, "Product:"+l.model) {
			t.Errorf("iscsi-inq %s: %v\n%s", url, err, out)
		}
		if l.serial == "" {
			continue
		}
		out, err = libiscsi(t, "iscsi-inq", "-e", "1", "-c", "128", url)
		if err != nil || !strings.Contains(out, "Unit Serial Number:["+l.serial+"]") {
			t.Errorf("iscsi-inq VPD 80h %s: %v\n%s", url, err, out)
		}
	}
}

// TestConfigLimits checks that the server-wide keys reach session.Limits.
func TestConfigLimits(t *testing.T) {
	conf := writeConfig(t, readTestdata(t, "three-targets.conf"))
	dir := filepath.Dir(conf)
	for _, f := range []string{"a.img", "b.img", "c.img"} {
		makeImage(t, filepath.Join(dir, f), 8<<20)
	}
	var pool luPool
	defer pool.close()
	sc, err := loadConfig(conf, &pool, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	if sc.limits.NOPInInterval != 5*time.Second || sc.limits.NOPInTimeout != 5*time.Second || sc.limits.CmdSNWindow != 32 {
		t.Errorf("limits %+v", sc.limits)
	}
	if diff := cmp.Diff([]string{"CHAP"}, sc.discoveryAuthMethods); diff != "" {
		t.Errorf("discovery auth methods (-want +got):\n%s", diff)
	}
	if got := len(sc.targets[1].LUNs); got != 3 {
		t.Errorf("target mem has %d LUNs, want 3", got)
	}
}

func FuzzParseConfig(f *testing.F) {
	for _, name := range []string{"seed-ietd.conf", "three-targets.conf"} {
		b, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(string(b))
	}
	f.Add("Target iqn.2001-04.org.example:e512\n\tLun 0 Type=memory,Size=8M,BlockSize=512,PhysicalBlockSize=4096\n")
	f.Fuzz(func(t *testing.T, text string) {
		fc, err := parseConfig("fuzz.conf", strings.NewReader(text))
		if err != nil {
			var ce *ConfigError
			if !errors.As(err, &ce) {
				t.Fatalf("error %v is not a *ConfigError", err)
			}
			return
		}
		seen := map[string]bool{}
		for _, tc := range fc.Targets {
			if seen[tc.Name] {
				t.Fatalf("duplicate target %s accepted", tc.Name)
			}
			seen[tc.Name] = true
			for _, l := range tc.LUNs {
				if l.Number > maxLUN {
					t.Fatalf("LUN %d accepted", l.Number)
				}
			}
		}
	})
}
