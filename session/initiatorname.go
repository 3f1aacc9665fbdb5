package session

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/go-iscsi/iscsi/iqn"
)

// DefaultInitiatorNameFile is where open-iscsi keeps the host's
// InitiatorName.
const DefaultInitiatorNameFile = "/etc/iscsi/initiatorname.iscsi"

// maxInitiatorNameLine bounds a line of an initiator name file; an iSCSI name
// is at most 223 bytes (RFC 7143 §4.2.7.2), so a longer line is not one.
const maxInitiatorNameLine = 4096

// ErrNoInitiatorName is matched (errors.Is) by the error of
// ParseInitiatorNameFile for a file with no InitiatorName line.
var ErrNoInitiatorName = errors.New("no InitiatorName line")

// InitiatorNameError is an error of ParseInitiatorNameFile: Line is the
// 1-based line it concerns (0 for the file as a whole) and Err says why, for
// example an *iqn.Error for an invalid name.
type InitiatorNameError struct {
	Line int
	Err  error
}

func (e *InitiatorNameError) Error() string {
	if e.Line == 0 {
		return "session: initiator name file: " + e.Err.Error()
	}
	return fmt.Sprintf("session: initiator name file: line %d: %v", e.Line, e.Err)
}

// Unwrap returns Err.
func (e *InitiatorNameError) Unwrap() error { return e.Err }

// ParseInitiatorNameFile reads open-iscsi's initiator name file
// (DefaultInitiatorNameFile): lines of the form InitiatorName=NAME, where
// blank lines and lines whose first non-blank character is '#' are ignored,
// as is blank space around the key, the '=' and the name. The name must be a
// valid iSCSI name (RFC 7143 §4.2.7); it is returned in normalized form.
// Exactly one InitiatorName line may appear. open-iscsi also writes an
// InitiatorAlias line, which is accepted and ignored; any other line is an
// error.
//
// Every error is an *InitiatorNameError.
func ParseInitiatorNameFile(r io.Reader) (string, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 256), maxInitiatorNameLine)
	var name string
	line, at := 0, 0
	for sc.Scan() {
		line++
		s := strings.TrimSpace(sc.Text())
		if s == "" || s[0] == '#' {
			continue
		}
		key, value, ok := strings.Cut(s, "=")
		if !ok {
			return "", &InitiatorNameError{Line: line, Err: errors.New("no '=' in the line")}
		}
		key, value = strings.TrimSpace(key), strings.TrimSpace(value)
		switch key {
		case "InitiatorName":
		case "InitiatorAlias":
			continue
		default:
			return "", &InitiatorNameError{Line: line, Err: fmt.Errorf("unknown key %q", key)}
		}
		if name != "" {
			return "", &InitiatorNameError{Line: line, Err: fmt.Errorf("second InitiatorName (the first is on line %d)", at)}
		}
		n, err := iqn.Parse(value)
		if err != nil {
			return "", &InitiatorNameError{Line: line, Err: err}
		}
		name, at = n.String(), line
	}
	if err := sc.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			return "", &InitiatorNameError{Line: line + 1, Err: fmt.Errorf("line longer than %d bytes", maxInitiatorNameLine)}
		}
		return "", &InitiatorNameError{Err: err}
	}
	if name == "" {
		return "", &InitiatorNameError{Err: ErrNoInitiatorName}
	}
	return name, nil
}

// ReadInitiatorName reads the InitiatorName of the initiator name file at
// path with ParseInitiatorNameFile. An error opening the file is returned
// as it is (errors.Is(err, fs.ErrNotExist) tells a missing file); an error
// in its content is an *InitiatorNameError.
func ReadInitiatorName(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	return ParseInitiatorNameFile(f)
}
