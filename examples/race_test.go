//go:build race

package examples_test

// raceEnabled: the test was built with -race, and so are the bots it runs.
const raceEnabled = true
