//go:build race

package app

// raceEnabled: the race detector multiplies memory use (shadow memory), so
// memory bounds in tests are scaled by raceMemFactor.
const raceEnabled, raceMemFactor = true, 4
