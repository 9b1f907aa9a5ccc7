//go:build race

package main

// raceEnabled: the test binary, and so every rigor a test starts, has the
// race detector.
const raceEnabled = true
