//go:build race

package actors

// raceEnabled is true when the race detector is on (tests that depend on
// raw speed skip then).
const raceEnabled = true
