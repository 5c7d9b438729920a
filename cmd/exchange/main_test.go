package main

import (
	"bytes"
	"regexp"
	"testing"
)

func TestBenchBook(t *testing.T) {
	var out, errOut bytes.Buffer
	if code := run([]string{"bench", "book", "--commands", "20000", "--seed", "3"}, &out, &errOut); code != 0 {
		t.Fatalf("exit %d: %s", code, errOut.String())
	}
	for _, re := range []string{
		`flow F1: 20000 commands, seed 3, \d+ fills, \d+ orders resting`,
		`throughput\s+\d+ commands/s\s+[\d.]+ ns/command\s+[\d.]+ allocs/command`,
		`latency\s+p50 \S+\s+p99 \S+\s+p99\.9 \S+\s+max \S+`,
	} {
		if !regexp.MustCompile(re).MatchString(out.String()) {
			t.Errorf("output lacks %q:\n%s", re, out.String())
		}
	}
}

func TestBadUsage(t *testing.T) {
	for _, args := range [][]string{
		nil,
		{"bench"},
		{"bench", "nope"},
		{"bench", "book", "--commands", "0"},
		{"bench", "book", "--commands", "x"},
		{"bench", "book", "--bogus"},
	} {
		var out, errOut bytes.Buffer
		if code := run(args, &out, &errOut); code != 2 {
			t.Errorf("%q: exit %d, want 2", args, code)
		}
		if errOut.Len() == 0 {
			t.Errorf("%q: no message", args)
		}
	}
}
