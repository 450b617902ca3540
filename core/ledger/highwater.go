package ledger

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/rustynet/rustynet/core/membership"
	"github.com/rustynet/rustynet/internal/atomicfile"
)

// highWater is the highest point of the chain this node has trusted for one
// state directory. It lives outside that directory, so a restored old copy
// of the directory cannot carry an old high-water mark with it.
type highWater struct {
	Dir       string `json:"state_dir"`
	Index     uint64 `json:"index"`
	StateRoot string `json:"state_root"`
	EntryHash string `json:"entry_hash"`
}

// DefaultHighWaterPath returns where the high-water mark of the store at
// stateDir lives by default: under the invoking user's state directory
// ($XDG_STATE_HOME/rustynet, else ~/.local/state/rustynet), in
// highwater/<first 32 hex digits of SHA-256(absolute stateDir, symbolic
// links resolved)>.json.
func DefaultHighWaterPath(stateDir string) (string, error) {
	abs, err := filepath.Abs(stateDir)
	if err != nil {
		return "", err
	}
	// One directory has one mark, however it is reached: resolve symbolic
	// links when the directory exists (a new one is keyed by its path).
	if real, err := filepath.EvalSymlinks(abs); err == nil {
		abs = real
	}
	base := os.Getenv("XDG_STATE_HOME")
	if base == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			return "", fmt.Errorf("no state directory for the high-water mark: %w", err)
		}
		base = filepath.Join(home, ".local", "state")
	}
	sum := sha256.Sum256([]byte(abs))
	return filepath.Join(base, "rustynet", "highwater", hex.EncodeToString(sum[:16])+".json"), nil
}

// readHighWater returns the mark at path, or nil if none was ever written.
func readHighWater(path string) (*highWater, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading high-water mark: %w", err)
	}
	var hw highWater
	if err := json.Unmarshal(data, &hw); err != nil {
		return nil, integrityf("high-water mark %s is unreadable: %v", path, err)
	}
	if _, err := membership.ParseHash(hw.StateRoot); err != nil {
		return nil, integrityf("high-water mark %s: %v", path, err)
	}
	return &hw, nil
}

// writeHighWater durably replaces the mark at path, creating its directory
// (0700) if needed.
func writeHighWater(path string, hw *highWater) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return fmt.Errorf("creating high-water directory: %w", err)
	}
	data, err := json.MarshalIndent(hw, "", "  ")
	if err != nil {
		return err
	}
	return atomicfile.WriteFile(path, append(data, '\n'), 0o600)
}
