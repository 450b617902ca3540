package conformance

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"path/filepath"

	"github.com/rustynet/rustynet/hostapi"
)

// storeDir returns a path for a store directory that does not exist yet,
// inside a fresh directory of the case.
func storeDir(env *Env) (string, error) {
	parent, err := env.TempDir()
	if err != nil {
		return "", err
	}
	return filepath.Join(parent, "store"), nil
}

// freshStore opens a fresh instance on a fresh directory.
func freshStore(ctx context.Context, env *Env) (*StoreInstance, string, error) {
	dir, err := storeDir(env)
	if err != nil {
		return nil, "", err
	}
	s, err := env.OpenStore(ctx, dir)
	return s, dir, err
}

// closeAndKill closes s and ends its instance, so that another instance can
// open its directory and its files can be changed.
func closeAndKill(ctx context.Context, s *StoreInstance) error {
	if err := s.Close(ctx); err != nil {
		return fmt.Errorf("Close: %w", err)
	}
	s.Kill()
	return nil
}

// appendRange appends entries from..to with data from gen.
func appendRange(ctx context.Context, s hostapi.Store, from, to uint64, gen func(uint64) []byte) error {
	for i := from; i <= to; i++ {
		if err := s.Append(ctx, hostapi.LogEntry{Index: i, Data: gen(i)}); err != nil {
			return fmt.Errorf("Append(%d): %w", i, err)
		}
	}
	return nil
}

// checkLog checks that entries from..to hold gen's data, reading in
// batches of up to 64 entries.
func checkLog(ctx context.Context, s hostapi.Store, from, to uint64, gen func(uint64) []byte) error {
	for i := from; i <= to; {
		start, batch := i, int(min(64, to-i+1))
		got, err := s.ReadLog(ctx, start, batch)
		if err != nil {
			return fmt.Errorf("ReadLog(%d, %d): %w", i, batch, err)
		}
		if len(got) == 0 {
			return fmt.Errorf("ReadLog(%d, %d): got no entries, want entries up to %d", i, batch, to)
		}
		for _, e := range got {
			if e.Index != i {
				return fmt.Errorf("ReadLog(%d, %d): got entry %d where entry %d belongs", start, batch, e.Index, i)
			}
			if want := gen(i); !bytes.Equal(e.Data, want) {
				return fmt.Errorf("entry %d: got %d bytes %s, want %d bytes %s", i, len(e.Data), prefix(e.Data), len(want), prefix(want))
			}
			i++
		}
	}
	return nil
}

// wantHead checks the head.
func wantHead(ctx context.Context, s hostapi.Store, want uint64) error {
	got, err := s.Head(ctx)
	if err != nil {
		return fmt.Errorf("Head: %w", err)
	}
	if got != want {
		return fmt.Errorf("Head: got %d, want %d", got, want)
	}
	return nil
}

// wantSnapshot checks the snapshot.
func wantSnapshot(ctx context.Context, s hostapi.Store, want hostapi.Snapshot) error {
	got, err := s.GetSnapshot(ctx)
	if err != nil {
		return fmt.Errorf("GetSnapshot: %w", err)
	}
	if got.Index != want.Index || !bytes.Equal(got.Data, want.Data) {
		return fmt.Errorf("GetSnapshot: got index %d, %d bytes %s; want index %d, %d bytes %s",
			got.Index, len(got.Data), prefix(got.Data), want.Index, len(want.Data), prefix(want.Data))
	}
	return nil
}

// prefix shows the start of b in hex.
func prefix(b []byte) string {
	if len(b) > 8 {
		return fmt.Sprintf("%x…", b[:8])
	}
	return fmt.Sprintf("%x", b)
}

// errs joins the non-nil errors of a series of checks.
func errs(list ...error) error { return errors.Join(list...) }
