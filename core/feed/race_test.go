//go:build race

package feed

// raceEnabled: the race detector slows the large tests past their use.
const raceEnabled = true
