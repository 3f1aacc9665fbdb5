// Package fuzz holds fuzz targets that cross packages, down to whole
// connections: a byte stream from a hostile peer is framed by package pdu
// and driven through package login on either side, as a target or an
// initiator would. Each package also fuzzes its own parsers beside its
// code; the targets here check that the layers stay panic-free and return
// typed errors when composed.
//
// fuzz/run (a script beside this file) runs every fuzz target of the module
// in turn for a given time each and prints a table of execs, new inputs and
// crashes: fuzz/run -time 5m. Run one with, for example:
//
//	go test ./fuzz -run '^$' -fuzz FuzzTargetConnection -fuzztime 60s
//
// Seed corpora come from captures of real traffic between libiscsi's tools
// and tgtd (pdu/testdata/golden).
package fuzz
