package main

import (
	"strings"
	"testing"
	"time"
)

// TestExpiresIn checks --expires-in: Go durations and day units, the 24h
// default, and the maximum, which the help states and a longer value
// exceeds as a usage error naming it.
func TestExpiresIn(t *testing.T) {
	tests := []struct {
		name    string
		flag    []string // nil: the default
		want    string   // the validity, formatted; "" for a usage error
		wantErr string
	}{
		{"default", nil, "24h", ""},
		{"hours", []string{"--expires-in", "36h"}, "36h", ""},
		{"days", []string{"--expires-in", "7d"}, "7d", ""},
		{"days and hours", []string{"--expires-in", "1d12h"}, "36h", ""},
		{"the maximum", []string{"--expires-in", "90d"}, "90d", ""},
		{"beyond the maximum", []string{"--expires-in", "90d1s"}, "", "longer than the maximum of 90d"},
		{"far beyond", []string{"--expires-in", "30000d"}, "", "longer than the maximum of 90d"},
		{"zero", []string{"--expires-in", "0d"}, "", "must be positive"},
		{"negative", []string{"--expires-in", "-1h"}, "", "must be positive"},
		{"negative days", []string{"--expires-in", "-1d"}, "", "not a duration"},
		{"fractional days", []string{"--expires-in", "1.5d"}, "", "not a duration"},
		{"days after hours", []string{"--expires-in", "12h1d"}, "", "not a duration"},
		{"a sign after the days", []string{"--expires-in", "1d-1h"}, "", "not a duration"},
		{"no number", []string{"--expires-in", "d"}, "", "not a duration"},
	}
	for _, tt := range tests {
		for _, cmd := range [][]string{
			{"membership", "propose-revoke-node", "--from", "log.json", "--node-id", "n1", "--out", "u.json"},
			{"membership", "init", "--network-id", "x", "--threshold", "1", "--approver", "a={alice}:owner", "--out", "u.json"},
		} {
			t.Run(tt.name+"/"+cmd[1], func(t *testing.T) {
				n := newNet(t)
				r := runCLI(t, append(n.expand(cmd...), tt.flag...)...)
				if tt.wantErr != "" {
					if r.exit != exitUsage || !strings.HasPrefix(r.stderr, "error: USAGE: ") || !strings.Contains(r.stderr, tt.wantErr) {
						t.Errorf("exit %d, stderr %q; want a usage error containing %q", r.exit, r.stderr, tt.wantErr)
					}
					return
				}
				if r.exit != exitOK {
					t.Fatalf("exit %d, stderr %q", r.exit, r.stderr)
				}
				u, _, err := readUpdate("u.json")
				if err != nil {
					t.Fatal(err)
				}
				got := formatDays(time.Duration(u.Body.ExpiresAt-u.Body.CreatedAt) * time.Second)
				if got != tt.want {
					t.Errorf("validity: got %s, want %s", got, tt.want)
				}
			})
		}
	}
	for _, cmd := range []string{"propose-add-node", "init"} {
		r := mustRun(t, "membership", cmd, "-h")
		if !strings.Contains(r.stdout, "at most 90d") || !strings.Contains(r.stdout, "default 24h") {
			t.Errorf("membership %s -h does not state the default (24h) and the maximum (90d):\n%s", cmd, r.stdout)
		}
	}
}

func TestFormatDays(t *testing.T) {
	for _, s := range []string{"1h30m", "24h", "36h", "47h59m59s", "2d", "2d12h", "7d", "90d", "1h30m", "3d0h0m1s"} {
		d, err := parseDays(s)
		if err != nil {
			t.Errorf("parseDays(%q): %v", s, err)
			continue
		}
		want := strings.ReplaceAll(s, "0h0m", "")
		if got := formatDays(d); got != want {
			t.Errorf("formatDays(parseDays(%q)): got %q, want %q", s, got, want)
		}
	}
}
