// Command iscsi-name checks iSCSI names the way a target or initiator reads
// them: it parses each argument (or each line of standard input when there
// are no arguments) with package iqn, prints its normalized form and parts,
// and says whether the input was already canonical.
//
//	go run ./examples/iscsi-name iqn.2001-04.org.gentoo:iSCSI.test.disk1
//
// With -strict, a valid name that is not already in normalized form (RFC
// 3722: case folded, NFKC) counts as an error. The exit status is 0 when
// every name is valid, 1 when any is not, and 2 on a usage error.
package main

import (
	"bufio"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/go-iscsi/iscsi/iqn"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("iscsi-name", flag.ContinueOnError)
	fs.SetOutput(stderr)
	strict := fs.Bool("strict", false, "reject names that are valid but not already in normalized form")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: iscsi-name [-strict] [name ...]")
		fmt.Fprintln(stderr, "Reads names from standard input, one per line, when none are given.")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return 2
	}
	names := fs.Args()
	if len(names) == 0 {
		sc := bufio.NewScanner(stdin)
		for sc.Scan() {
			names = append(names, sc.Text())
		}
		if err := sc.Err(); err != nil {
			fmt.Fprintln(stderr, "iscsi-name: reading standard input:", err)
			return 2
		}
	}
	status := 0
	for i, s := range names {
		if i > 0 {
			fmt.Fprintln(stdout)
		}
		if !describe(stdout, s, *strict) {
			status = 1
		}
	}
	return status
}

// describe prints what s is and reports whether it is acceptable.
func describe(w io.Writer, s string, strict bool) bool {
	fmt.Fprintf(w, "input:      %q\n", s)
	parse := iqn.Parse
	if strict {
		parse = iqn.ParseStrict
	}
	n, err := parse(s)
	if err != nil {
		fmt.Fprintf(w, "error:      %v\n", err)
		var e *iqn.Error
		if errors.As(err, &e) {
			fmt.Fprintf(w, "kind:       %v\n", e.Kind)
		}
		return false
	}
	fmt.Fprintf(w, "name:       %s\n", n)
	fmt.Fprintf(w, "canonical:  %t\n", n.String() == s)
	fmt.Fprintf(w, "type:       %s\n", n.Type())
	switch n.Type() {
	case iqn.IQN:
		year, month := n.Date()
		fmt.Fprintf(w, "date:       %04d-%02d\n", year, int(month))
		fmt.Fprintf(w, "authority:  %s (domain %s)\n", n.NamingAuthority(), n.Domain())
		if n.HasUnique() {
			fmt.Fprintf(w, "unique:     %s\n", n.Unique())
		}
	default:
		fmt.Fprintf(w, "identifier: %X\n", n.Bytes())
	}
	return true
}
