//go:build !race

package iqn

const raceEnabled = false
