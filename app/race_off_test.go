//go:build !race

package app

const raceEnabled, raceMemFactor = false, 1
