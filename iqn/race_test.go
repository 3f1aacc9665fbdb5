//go:build race

package iqn

// raceEnabled makes the exhaustive tests sample instead: the race detector
// slows them twentyfold and adds nothing to code without goroutines.
const raceEnabled = true
