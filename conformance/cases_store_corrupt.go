package conformance

import (
	"bytes"
	"context"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/rustynet/rustynet/hostapi"
)

// The corruption cases know nothing of a store's layout: they plant a
// marker in the data, close the store and damage the files below its
// directory, then read through a new instance. The core verifies what it
// reads back, so a store that cannot tell damage only SHOULD fail these
// cases; a store that keeps checksums, as the built-in ones do, reports
// CORRUPT where the core would otherwise find a broken chain.

func storeCorruptCases() []Case {
	return []Case{
		{
			ID: "store.corrupt.entry", Level: Should,
			Rule: "an entry damaged on disk reads back as CORRUPT, never as other bytes, and the other entries and the snapshot still read",
			Run:  storeCorruptEntry,
		},
		{
			ID: "store.corrupt.snapshot", Level: Should,
			Rule: "a snapshot damaged on disk reads back as CORRUPT, never as other bytes, and a new PutSnapshot replaces it",
			Run:  storeCorruptSnapshot,
		},
		{
			ID: "store.corrupt.files", Level: Should,
			Rule: "with its files truncated, emptied, overwritten, zeroed or extended, Open or a read fails with CORRUPT or reads back exactly what was written",
			Run:  storeDamagedFiles,
		},
	}
}

// marker is 32 bytes that occur nowhere else in a store's directory.
var marker = sized("marker", 32)

// withMarker returns data that embeds marker.
func withMarker(prefix string) []byte {
	return append(append([]byte(prefix), marker...), " end"...)
}

// damageFiles replaces the content of every regular file below dir by
// damage(content).
func damageFiles(dir string, damage func([]byte) []byte) error {
	return filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		return os.WriteFile(path, damage(b), 0o600)
	})
}

// flipMarker flips one byte of every occurrence of marker in the files
// below dir. A store that keeps no data bytes verbatim (it compresses or
// encrypts) offers nothing to flip: the case skips.
func flipMarker(dir string) error {
	flipped := 0
	err := damageFiles(dir, func(b []byte) []byte {
		for i := bytes.Index(b, marker); i >= 0; i = bytes.Index(b, marker) {
			b[i+len(marker)/2] ^= 0xff
			flipped++
		}
		return b
	})
	if err != nil {
		return fmt.Errorf("damaging %s: %w", dir, err)
	}
	if flipped == 0 {
		return Skip("the store keeps no data bytes verbatim, so the suite cannot damage them")
	}
	return nil
}

// markedStore writes entries 1 to 3 with gen's data and snap to a fresh
// store, closes it, flips a byte of the marker that gen or snap carries,
// and returns a new instance opened on the damaged store.
func markedStore(ctx context.Context, env *Env, gen func(uint64) []byte, snap hostapi.Snapshot) (*StoreInstance, error) {
	s, dir, err := freshStore(ctx, env)
	if err != nil {
		return nil, err
	}
	if err := appendRange(ctx, s, 1, 3, gen); err != nil {
		return nil, err
	}
	if err := s.PutSnapshot(ctx, snap); err != nil {
		return nil, fmt.Errorf("PutSnapshot: %w", err)
	}
	if err := closeAndKill(ctx, s); err != nil {
		return nil, err
	}
	if err := flipMarker(dir); err != nil {
		return nil, err
	}
	again, err := env.OpenStore(ctx, dir)
	if err != nil {
		return nil, fmt.Errorf("reopening: %w", err)
	}
	return again, nil
}

func storeCorruptEntry(ctx context.Context, env *Env) error {
	gen := func(i uint64) []byte {
		if i == 2 {
			return withMarker("entry 2 ")
		}
		return small(i)
	}
	snap := hostapi.Snapshot{Index: 3, Data: []byte("snapshot")}
	s, err := markedStore(ctx, env, gen, snap)
	if err != nil {
		return err
	}
	var fails []error
	for _, w := range []struct {
		from  uint64
		limit int
	}{{2, 1}, {1, 3}, {1, 2}, {2, 2}} {
		_, err := s.ReadLog(ctx, w.from, w.limit)
		fails = append(fails, wantCode(fmt.Sprintf("ReadLog(%d, %d) over the damaged entry 2", w.from, w.limit), err, hostapi.CodeCorrupt))
	}
	return errs(append(fails, checkLog(ctx, s, 1, 1, gen), checkLog(ctx, s, 3, 3, gen), wantSnapshot(ctx, s, snap))...)
}

func storeCorruptSnapshot(ctx context.Context, env *Env) error {
	s, err := markedStore(ctx, env, small, hostapi.Snapshot{Index: 3, Data: withMarker("snapshot ")})
	if err != nil {
		return err
	}
	_, err = s.GetSnapshot(ctx)
	if err := errs(wantCode("GetSnapshot of the damaged snapshot", err, hostapi.CodeCorrupt), checkLog(ctx, s, 1, 3, small)); err != nil {
		return err
	}
	fresh := hostapi.Snapshot{Index: 3, Data: []byte("fresh")}
	if err := s.PutSnapshot(ctx, fresh); err != nil {
		return fmt.Errorf("PutSnapshot over the damaged snapshot: %w", err)
	}
	return wantSnapshot(ctx, s, fresh)
}

// storeDamagedFiles damages every file of a populated store at once, in
// several ways.
func storeDamagedFiles(ctx context.Context, env *Env) error {
	var fails []error
	for _, d := range []struct {
		name   string
		damage func([]byte) []byte
	}{
		{"truncated to half", func(b []byte) []byte { return b[:len(b)/2] }},
		{"truncated to one byte", func(b []byte) []byte { return b[:min(len(b), 1)] }},
		{"emptied", func([]byte) []byte { return nil }},
		{"overwritten", func(b []byte) []byte { return bytes.Repeat([]byte{0xa5}, len(b)) }},
		{"zeroed", func(b []byte) []byte { return make([]byte, len(b)) }},
		{"extended", func(b []byte) []byte { return append(b, "trailing garbage"...) }},
	} {
		if err := damagedFiles(ctx, env, d.damage); err != nil {
			fails = append(fails, fmt.Errorf("files %s: %w", d.name, err))
		}
	}
	return errs(fails...)
}

// damagedFiles populates a store, damages its files and checks what a new
// instance makes of them.
func damagedFiles(ctx context.Context, env *Env, damage func([]byte) []byte) error {
	dir, err := storeDir(env)
	if err != nil {
		return err
	}
	if err := populate(ctx, env, dir); err != nil {
		return err
	}
	if err := damageFiles(dir, damage); err != nil {
		return fmt.Errorf("damaging %s: %w", dir, err)
	}
	s, err := env.StartStore(ctx)
	if err != nil {
		return err
	}
	if err := s.Open(ctx, hostapi.StoreConfig{Dir: dir}); err != nil {
		return wantCode("Open", err, hostapi.CodeCorrupt)
	}
	env.Cleanup(func() { _ = s.Close(context.Background()) })
	var fails []error
	if _, err := s.ReadLog(ctx, 1, 3); err != nil {
		fails = append(fails, wantCode("ReadLog", err, hostapi.CodeCorrupt))
	} else {
		fails = append(fails, checkLog(ctx, s, 1, 3, small))
	}
	if _, err := s.GetSnapshot(ctx); err != nil {
		fails = append(fails, wantCode("GetSnapshot", err, hostapi.CodeCorrupt))
	} else {
		fails = append(fails, wantSnapshot(ctx, s, populatedSnapshot))
	}
	return errs(fails...)
}
