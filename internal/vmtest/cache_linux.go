package vmtest

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"golang.org/x/sys/unix"
)

// CacheEnv names the environment variable that overrides CacheDir.
const CacheEnv = "RUSTYNET_VM_CACHE"

// CacheDir returns the directory that keeps downloaded and extracted
// kernels between runs: $RUSTYNET_VM_CACHE if set, else rustynet/vm under
// the user's cache directory ($XDG_CACHE_HOME or ~/.cache).
func CacheDir() (string, error) {
	if dir := os.Getenv(CacheEnv); dir != "" {
		return dir, nil
	}
	base, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("vmtest: no cache directory (set %s): %w", CacheEnv, err)
	}
	return filepath.Join(base, "rustynet", "vm"), nil
}

// lockPoll is how often lockCache retries a lock another process holds.
const lockPoll = 100 * time.Millisecond

// lockCache takes the exclusive lock of the cache directory dir, creating
// it, and returns the function that releases it. It waits for another
// holder until ctx is done.
func lockCache(ctx context.Context, dir string) (unlock func(), err error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("vmtest: cache: %w", err)
	}
	f, err := os.OpenFile(filepath.Join(dir, "lock"), os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("vmtest: cache lock: %w", err)
	}
	tick := time.NewTicker(lockPoll)
	defer tick.Stop()
	for {
		err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB)
		if err == nil {
			return func() { _ = f.Close() }, nil // closing releases the lock
		}
		if !errors.Is(err, unix.EWOULDBLOCK) && !errors.Is(err, unix.EINTR) {
			_ = f.Close()
			return nil, fmt.Errorf("vmtest: cache lock: %w", err)
		}
		select {
		case <-ctx.Done():
			_ = f.Close()
			return nil, fmt.Errorf("vmtest: waiting for the cache lock: %w", ctx.Err())
		case <-tick.C:
		}
	}
}
