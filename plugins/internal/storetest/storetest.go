// Package storetest is a small contract test for hostapi.Store
// implementations: one table of cases, run against fresh stores made by a
// factory, like tailscale's chonktest. The project's conformance suite will
// supersede it; until then both built-in stores run it from their tests.
//
// Some cases need a second process (the inter-process lock, SIGKILL during
// writes). They re-execute the test binary with the calling top-level test
// selected and an environment variable set; Run, seeing it, plays the
// child's part instead of running the cases. So Run must be the first thing
// its top-level test does.
package storetest

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rustynet/rustynet/hostapi"
)

// Factory returns a new, unopened store.
type Factory func() hostapi.Store

// harness is what every case gets: the factory, the store's advertised
// capabilities and the name of the top-level test for re-execution.
type harness struct {
	newStore Factory
	caps     hostapi.StoreCapabilities
	topTest  string
}

// Run runs every contract case against stores made by newStore. Call it
// first in a top-level test (see the package documentation).
func Run(t *testing.T, newStore Factory) {
	if mode := os.Getenv(envChild); mode != "" {
		os.Exit(runChild(mode, os.Getenv(envDir), newStore))
	}
	probe := newStore()
	info, err := probe.Info(t.Context())
	probe.Close(t.Context())
	if err != nil {
		t.Fatalf("Info before Open: got error %v, want nil", err)
	}
	h := &harness{newStore: newStore, caps: info.Capabilities, topTest: strings.SplitN(t.Name(), "/", 2)[0]}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) { c.run(t, h) })
	}
}

// cases is the contract, clause by clause; see hostapi.Store.
var cases = []struct {
	name string
	run  func(*testing.T, *harness)
}{
	{"Info", testInfo},
	{"ClosedBeforeOpen", testClosedBeforeOpen},
	{"ClosedAfterClose", testClosedAfterClose},
	{"OpenTwice", testOpenTwice},
	{"AppendIndex", testAppendIndex},
	{"AppendData", testAppendData},
	{"Head", testHead},
	{"ReadLog", testReadLog},
	{"ReadLogEmpty", testReadLogEmpty},
	{"Snapshot", testSnapshot},
	{"SnapshotData", testSnapshotData},
	{"Large", testLarge},
	{"NoAliasing", testNoAliasing},
	{"CanceledWrite", testCanceledWrite},
	{"ConcurrentAppend", testConcurrentAppend},
	{"Reopen", testReopen},
	{"CreatedModes", testCreatedModes},
	{"LooseDir", testLooseDir},
	{"LooseEntry", testLooseEntry},
	{"LockInProcess", testLockInProcess},
	{"LockOtherProcess", testLockOtherProcess},
	{"CorruptEntry", testCorruptEntry},
	{"CorruptSnapshot", testCorruptSnapshot},
	{"DamagedFiles", testDamagedFiles},
	{"CrashAppend", testCrashAppend},
	{"CrashSnapshot", testCrashSnapshot},
}

// newDir returns a path for a store directory that does not exist yet.
func newDir(t testing.TB) string {
	t.Helper()
	return filepath.Join(t.TempDir(), "store")
}

// open opens a new store at dir and closes it at cleanup.
func (h *harness) open(t testing.TB, dir string) hostapi.Store {
	t.Helper()
	s := h.newStore()
	if err := s.Open(t.Context(), hostapi.StoreConfig{Dir: dir}); err != nil {
		t.Fatalf("Open(%s): got error %v, want nil", dir, err)
	}
	t.Cleanup(func() { s.Close(context.Background()) })
	return s
}

// closeStore closes s and fails the test on error.
func closeStore(t testing.TB, s hostapi.Store) {
	t.Helper()
	if err := s.Close(t.Context()); err != nil {
		t.Fatalf("Close: got error %v, want nil", err)
	}
}

// wantCode fails the test unless err carries code want.
func wantCode(t testing.TB, what string, err error, want hostapi.Code) {
	t.Helper()
	if got := hostapi.CodeOf(err); got != want {
		t.Errorf("%s: got %v (error %v), want %v", what, got, err, want)
	}
}

// append appends entries from..to with data from gen and fails on error.
func appendRange(t testing.TB, s hostapi.Store, from, to uint64, gen func(uint64) []byte) {
	t.Helper()
	for i := from; i <= to; i++ {
		if err := s.Append(t.Context(), hostapi.LogEntry{Index: i, Data: gen(i)}); err != nil {
			t.Fatalf("Append(%d): got error %v, want nil", i, err)
		}
	}
}

// head returns s's head and fails on error.
func head(t testing.TB, s hostapi.Store) uint64 {
	t.Helper()
	h, err := s.Head(t.Context())
	if err != nil {
		t.Fatalf("Head: got error %v, want nil", err)
	}
	return h
}

// checkLog fails unless entries from..to of s hold gen's data. It reads in
// batches, so it also works on long logs with large entries.
func checkLog(t testing.TB, s hostapi.Store, from, to uint64, gen func(uint64) []byte) {
	t.Helper()
	for i := from; i <= to; {
		batch := int(min(256, to-i+1))
		got, err := s.ReadLog(t.Context(), i, batch)
		if err != nil {
			t.Fatalf("ReadLog(%d, %d): got error %v, want nil", i, batch, err)
		}
		if len(got) == 0 {
			t.Fatalf("ReadLog(%d, %d): got no entries, want entries up to %d", i, batch, to)
		}
		for _, e := range got {
			if e.Index != i {
				t.Fatalf("ReadLog: got entry %d, want %d", e.Index, i)
			}
			if want := gen(i); !bytes.Equal(e.Data, want) {
				t.Fatalf("entry %d: got %d bytes %.16x…, want %d bytes %.16x…", i, len(e.Data), e.Data, len(want), want)
			}
			i++
		}
	}
}
