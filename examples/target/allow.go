package main

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"regexp"
	"strings"

	"github.com/go-iscsi/iscsi/iqn"
)

// An access file is IET's initiators.allow (-allow) or initiators.deny
// (-deny): each line names a target, or ALL for every target, then a
// comma-separated list of initiators, each one of
//
//   - ALL, any initiator;
//   - an IPv4 address or network (192.168.1.10, 10.0.0.0/8);
//   - an IPv6 address or network, in brackets or not ([::1], [fd00::]/8);
//   - an initiator name, compared in normalized form, or else a regular
//     expression the whole name must match (iqn\.1994-05\.com\.redhat:.*).
//
// '#' starts a comment, blank lines are ignored. An initiator may use a
// target when an allow line for the target or ALL matches it; otherwise
// a matching deny line refuses it; otherwise it is refused if any allow
// line names the target or ALL, and allowed if none does.

// accessRule is one line of an access file.
type accessRule struct {
	target  string // normalized name, or "" for ALL
	entries []accessEntry
}

type accessEntry struct {
	all    bool
	prefix netip.Prefix
	name   string
	re     *regexp.Regexp
}

func (e accessEntry) match(initiator string, remote netip.Addr) bool {
	switch {
	case e.all:
		return true
	case e.prefix.IsValid():
		return remote.IsValid() && e.prefix.Contains(remote.Unmap())
	}
	if n, err := iqn.Parse(initiator); err == nil && n.String() == e.name {
		return true
	}
	return e.re != nil && e.re.MatchString(initiator)
}

// parseAccess reads an access file; name is the file name errors report.
// Any error is a *ConfigError.
func parseAccess(name string, r io.Reader) ([]accessRule, error) {
	var rules []accessRule
	sc := bufio.NewScanner(r)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		if i := strings.IndexByte(line, '#'); i >= 0 {
			line = line[:i]
		}
		fields := strings.Fields(line)
		if len(fields) == 0 {
			continue
		}
		if len(fields) < 2 {
			return nil, &ConfigError{File: name, Line: n, Key: fields[0], Err: fmt.Errorf("no initiators listed")}
		}
		var rule accessRule
		if !strings.EqualFold(fields[0], "ALL") {
			t, err := iqn.Parse(fields[0])
			if err != nil {
				return nil, &ConfigError{File: name, Line: n, Key: fields[0], Err: err}
			}
			rule.target = t.String()
		}
		for _, item := range strings.Split(strings.Join(fields[1:], ""), ",") {
			if item == "" {
				continue
			}
			e, err := parseAccessEntry(item)
			if err != nil {
				return nil, &ConfigError{File: name, Line: n, Key: item, Err: err}
			}
			rule.entries = append(rule.entries, e)
		}
		rules = append(rules, rule)
	}
	if err := sc.Err(); err != nil {
		return nil, &ConfigError{File: name, Err: err}
	}
	return rules, nil
}

func parseAccessEntry(s string) (accessEntry, error) {
	if strings.EqualFold(s, "ALL") {
		return accessEntry{all: true}, nil
	}
	addr := strings.Replace(strings.TrimPrefix(s, "["), "]", "", 1)
	if p, err := netip.ParsePrefix(addr); err == nil {
		return accessEntry{prefix: p.Masked()}, nil
	}
	if a, err := netip.ParseAddr(addr); err == nil {
		return accessEntry{prefix: netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen())}, nil
	}
	e := accessEntry{}
	if n, err := iqn.Parse(s); err == nil {
		e.name = n.String()
	}
	re, err := regexp.Compile("^(?:" + s + ")$")
	if err != nil {
		if e.name != "" {
			return e, nil
		}
		return e, fmt.Errorf("neither an address, an initiator name nor a regular expression: %v", err)
	}
	e.re = re
	return e, nil
}

// accessPolicy is the -allow and -deny files together.
type accessPolicy struct {
	allow, deny []accessRule
}

// loadAccess reads the -allow and -deny files; an empty path is no file.
func loadAccess(allowPath, denyPath string) (*accessPolicy, error) {
	var p accessPolicy
	for _, f := range []struct {
		path string
		dst  *[]accessRule
	}{{allowPath, &p.allow}, {denyPath, &p.deny}} {
		if f.path == "" {
			continue
		}
		fh, err := os.Open(f.path)
		if err != nil {
			return nil, &ConfigError{File: f.path, Err: err}
		}
		rules, err := parseAccess(f.path, fh)
		fh.Close()
		if err != nil {
			return nil, err
		}
		*f.dst = rules
	}
	return &p, nil
}

// allowFunc returns the session.Target.Allow of target, or nil when no
// rule concerns it.
func (p *accessPolicy) allowFunc(target string) func(string, net.Addr) bool {
	if p == nil {
		return nil
	}
	if n, err := iqn.Parse(target); err == nil {
		target = n.String()
	}
	var allow, deny []accessEntry
	for _, r := range p.allow {
		if r.target == "" || r.target == target {
			allow = append(allow, r.entries...)
		}
	}
	for _, r := range p.deny {
		if r.target == "" || r.target == target {
			deny = append(deny, r.entries...)
		}
	}
	restricted := false
	for _, r := range p.allow {
		if r.target == "" || r.target == target {
			restricted = true
		}
	}
	if !restricted && len(deny) == 0 {
		return nil
	}
	return func(initiator string, remote net.Addr) bool {
		var ip netip.Addr
		if ap, err := netip.ParseAddrPort(remote.String()); err == nil {
			ip = ap.Addr().Unmap()
		}
		for _, e := range allow {
			if e.match(initiator, ip) {
				return true
			}
		}
		for _, e := range deny {
			if e.match(initiator, ip) {
				return false
			}
		}
		return !restricted
	}
}
