package hostapi_test

import (
	"context"
	"os"
	"testing"

	"github.com/rustynet/rustynet/hostapi"
	"github.com/rustynet/rustynet/hostapi/hostapitest"
)

// benchStore returns a store with entries entries of size bytes, served in
// process or as a plugin process.
func benchStore(b *testing.B, process bool, entries, size int) hostapi.Store {
	b.Helper()
	var c interface {
		hostapi.Store
		Kill()
	}
	if process {
		ctx, cancel := context.WithTimeout(b.Context(), testTimeout)
		defer cancel()
		p, err := osExecutable()
		if err != nil {
			b.Fatal(err)
		}
		sc, err := hostapi.LaunchStore(ctx, hostapi.LaunchConfig{Path: p, Env: []string{helperEnv + "=store"}})
		if err != nil {
			b.Fatal(err)
		}
		c = sc
	} else {
		sc, err := hostapi.ServeStoreTest(b.Context(), hostapitest.NewStore())
		if err != nil {
			b.Fatal(err)
		}
		c = sc
	}
	b.Cleanup(c.Kill)
	if err := c.Open(b.Context(), hostapi.StoreConfig{Dir: b.TempDir()}); err != nil {
		b.Fatal(err)
	}
	data := make([]byte, size)
	for i := range entries {
		if err := c.Append(b.Context(), hostapi.LogEntry{Index: uint64(i + 1), Data: data}); err != nil {
			b.Fatal(err)
		}
	}
	return c
}

func BenchmarkRoundTrip(b *testing.B) {
	for _, mode := range []struct {
		name    string
		process bool
	}{{"in-process", false}, {"process", true}} {
		b.Run(mode.name, func(b *testing.B) {
			s := benchStore(b, mode.process, 1, 1)
			for b.Loop() {
				if _, err := s.Head(b.Context()); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkReadLog reads a 10,000-entry log of 1 KiB entries, as a cold
// start does.
func BenchmarkReadLog(b *testing.B) {
	for _, mode := range []struct {
		name    string
		process bool
	}{{"in-process", false}, {"process", true}} {
		b.Run(mode.name, func(b *testing.B) {
			s := benchStore(b, mode.process, 10000, 1024)
			b.SetBytes(10000 * 1024)
			for b.Loop() {
				got, err := s.ReadLog(b.Context(), 1, 10000)
				if err != nil || len(got) != 10000 {
					b.Fatal(len(got), err)
				}
			}
		})
	}
}

func BenchmarkLaunchStore(b *testing.B) {
	p, err := osExecutable()
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		c, err := hostapi.LaunchStore(b.Context(), hostapi.LaunchConfig{Path: p, Env: []string{helperEnv + "=store"}})
		if err != nil {
			b.Fatal(err)
		}
		c.Kill()
	}
}

func osExecutable() (string, error) { return os.Executable() }
