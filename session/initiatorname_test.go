package session

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/go-iscsi/iscsi/iqn"
)

func TestParseInitiatorNameFile(t *testing.T) {
	const name = "iqn.1993-08.org.debian:01:5b4e7c3a9f1"
	tests := []struct {
		in   string
		want string
		line int // InitiatorNameError.Line when parsing must fail
	}{
		{in: "InitiatorName=" + name + "\n", want: name},
		{in: "## DO NOT EDIT OR REMOVE THIS FILE!\n## If you remove this file, the iSCSI daemon will not start.\n\nInitiatorName=" + name + "\n", want: name},
		{in: "  InitiatorName = " + name + "  \r\n", want: name},
		{in: "InitiatorName=" + name, want: name},
		{in: "InitiatorName=IQN.1993-08.Org.Debian:01:5B4E7C3A9F1\n", want: name},
		{in: "InitiatorName=" + name + "\nInitiatorAlias=host1\n", want: name},
		{in: "\t# comment\nInitiatorName=eui.02004567A425678D\n", want: "eui.02004567a425678d"},

		{in: "", line: 0},
		{in: "# only a comment\n\n", line: 0},
		{in: "InitiatorAlias=x\n", line: 0},
		{in: "\nInitiatorName\n", line: 2},
		{in: "InitiatorName=\n", line: 1},
		{in: "InitiatorName=not-a-name\n", line: 1},
		{in: "#\nInitiatorName=iqn.1993-13.org.debian\n", line: 2},
		{in: "Initiatorname=" + name + "\n", line: 1},
		{in: "InitiatorName=" + name + "\n\nInitiatorName=" + name + "\n", line: 3},
		{in: "InitiatorName=" + name + " extra\n", line: 1},
		{in: "InitiatorName=" + strings.Repeat("a", 5000) + "\n", line: 1},
		{in: "InitiatorName=iqn.2026-01.org.example:\x00\n", line: 1},
	}
	for _, tt := range tests {
		got, err := ParseInitiatorNameFile(strings.NewReader(tt.in))
		if tt.want == "" {
			var e *InitiatorNameError
			if !errors.As(err, &e) {
				t.Errorf("ParseInitiatorNameFile(%q) = %q, %v; want an *InitiatorNameError", tt.in, got, err)
				continue
			}
			if e.Line != tt.line {
				t.Errorf("ParseInitiatorNameFile(%q): error %q on line %d, want %d", tt.in, err, e.Line, tt.line)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("ParseInitiatorNameFile(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
}

func TestInitiatorNameErrorKinds(t *testing.T) {
	_, err := ParseInitiatorNameFile(strings.NewReader("# nothing\n"))
	if !errors.Is(err, ErrNoInitiatorName) {
		t.Errorf("error %v does not match ErrNoInitiatorName", err)
	}
	_, err = ParseInitiatorNameFile(strings.NewReader("InitiatorName=iqn.1993-13.org.debian\n"))
	if !errors.Is(err, iqn.ErrBadDate) {
		t.Errorf("error %v does not match iqn.ErrBadDate", err)
	}
}

func TestReadInitiatorName(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "initiatorname.iscsi")
	if err := os.WriteFile(path, []byte("InitiatorName=iqn.2026-01.org.example:host\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	got, err := ReadInitiatorName(path)
	if err != nil || got != "iqn.2026-01.org.example:host" {
		t.Errorf("ReadInitiatorName = %q, %v", got, err)
	}
	if _, err := ReadInitiatorName(filepath.Join(dir, "missing")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("ReadInitiatorName of a missing file: %v, want fs.ErrNotExist", err)
	}
}

func FuzzParseInitiatorNameFile(f *testing.F) {
	f.Add("InitiatorName=iqn.1993-08.org.debian:01:5b4e7c3a9f1\n")
	f.Fuzz(func(t *testing.T, s string) {
		name, err := ParseInitiatorNameFile(strings.NewReader(s))
		if err != nil {
			var e *InitiatorNameError
			if !errors.As(err, &e) {
				t.Fatalf("error %T is not an *InitiatorNameError", err)
			}
			return
		}
		if !iqn.IsCanonical(name) {
			t.Fatalf("name %q is not in normalized form", name)
		}
		again, err := ParseInitiatorNameFile(strings.NewReader("InitiatorName=" + name + "\n"))
		if err != nil || again != name {
			t.Fatalf("name %q does not parse again: %q, %v", name, again, err)
		}
	})
}

func ExampleParseInitiatorNameFile() {
	const file = `## DO NOT EDIT OR REMOVE THIS FILE!
InitiatorName=iqn.1993-08.org.debian:01:5b4e7c3a9f1
`
	name, err := ParseInitiatorNameFile(strings.NewReader(file))
	fmt.Println(name, err)
	// Output: iqn.1993-08.org.debian:01:5b4e7c3a9f1 <nil>
}
