package main

import (
	"bufio"
	"context"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"time"
)

// Machine is what the figures were measured on and when.
type Machine struct {
	CPU         string `json:"cpu"`   // "model name" of /proc/cpuinfo
	Cores       int    `json:"cores"` // logical CPUs (runtime.NumCPU)
	MemoryTotal string `json:"memory_total"`
	Kernel      string `json:"kernel"`
	OS          string `json:"os"`
	Go          string `json:"go"`
	GitCommit   string `json:"git_commit"`
	// GitDirty counts files that differ from GitCommit in the working
	// tree the benchmarks were built from (git status --porcelain).
	GitDirty  int       `json:"git_dirty_files"`
	Started   time.Time `json:"started"`
	Finished  time.Time `json:"finished"`
	LoadStart string    `json:"load_average_start"` // /proc/loadavg: 1, 5, 15 minutes
	LoadEnd   string    `json:"load_average_end"`
}

// machineFacts reads what it can of the machine; a fact it cannot read is
// "unknown" (the report runs where /proc or git may be missing).
func machineFacts(ctx context.Context, root string) Machine {
	m := Machine{
		CPU: procField("/proc/cpuinfo", "model name"), Cores: runtime.NumCPU(),
		MemoryTotal: memTotal(),
		Kernel:      firstLine("/proc/sys/kernel/osrelease"),
		OS:          runtime.GOOS + "/" + runtime.GOARCH,
		Go:          command(ctx, root, "go", "version"),
		GitCommit:   command(ctx, root, "git", "rev-parse", "HEAD"),
		Started:     time.Now().UTC().Truncate(time.Second),
		LoadStart:   loadAverage(),
	}
	if st := command(ctx, root, "git", "status", "--porcelain"); st != "unknown" && st != "" {
		m.GitDirty = len(strings.Split(st, "\n"))
	}
	return m
}

// memTotal returns MemTotal of /proc/meminfo in GiB.
func memTotal() string {
	f := strings.Fields(procField("/proc/meminfo", "MemTotal"))
	if len(f) != 2 || f[1] != "kB" {
		return "unknown"
	}
	kb, err := strconv.ParseFloat(f[0], 64)
	if err != nil {
		return "unknown"
	}
	return strconv.FormatFloat(kb/(1<<20), 'f', 1, 64) + " GiB"
}

// loadAverage returns the 1, 5 and 15 minute load averages.
func loadAverage() string {
	f := strings.Fields(firstLine("/proc/loadavg"))
	if len(f) < 3 {
		return "unknown"
	}
	return strings.Join(f[:3], " ")
}

// procField returns the value of the first "key: value" line of a /proc
// file with the given key.
func procField(path, key string) string {
	f, err := os.Open(path)
	if err != nil {
		return "unknown"
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		k, v, ok := strings.Cut(s.Text(), ":")
		if ok && strings.TrimSpace(k) == key {
			return strings.TrimSpace(v)
		}
	}
	return "unknown"
}

func firstLine(path string) string {
	data, err := os.ReadFile(path)
	if err != nil {
		return "unknown"
	}
	line, _, _ := strings.Cut(string(data), "\n")
	return strings.TrimSpace(line)
}

// command returns a command's trimmed output, "unknown" if it fails.
func command(ctx context.Context, dir, name string, args ...string) string {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = dir
	out, err := cmd.Output()
	if err != nil {
		return "unknown"
	}
	return strings.TrimSpace(string(out))
}
