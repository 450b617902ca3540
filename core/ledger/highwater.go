package ledger

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/rustynet/rustynet/core/membership"
	"github.com/rustynet/rustynet/core/paths"
	"github.com/rustynet/rustynet/hostapi"
	"github.com/rustynet/rustynet/internal/atomicfile"
	"github.com/rustynet/rustynet/internal/fileperm"
)

// highWater is the highest point of the chain this node has trusted for one
// state directory. It lives outside that directory, so a restored old copy
// of the directory cannot carry an old high-water mark with it.
type highWater struct {
	Dir       string `json:"state_dir"`
	Index     uint64 `json:"index"`
	StateRoot string `json:"state_root"`
	EntryHash string `json:"entry_hash"`
	// Resolving is set while a fork resolution replaces the log's suffix
	// (see resolve.go): the log may then be shorter than Index.
	Resolving *resolvingMark `json:"resolving,omitempty"`
}

// DefaultHighWaterPath returns where the high-water mark of the store at
// stateDir lives by default: in the high-water directory of the process's
// default layout (paths.Current: /var/lib/rustynet/highwater for a root
// node on Linux, $XDG_STATE_HOME/rustynet/highwater or
// ~/.local/state/rustynet/highwater for a user's), as HighWaterPathIn
// names it.
func DefaultHighWaterPath(stateDir string) (string, error) {
	l, err := paths.Current()
	if l.HighWaterDir == "" {
		return "", fmt.Errorf("no state directory for the high-water mark: %w", err)
	}
	return HighWaterPathIn(l.HighWaterDir, stateDir)
}

// HighWaterPathIn returns the high-water mark of the store at stateDir
// within the directory dir: <dir>/<first 32 hex digits of
// SHA-256(absolute stateDir, symbolic links resolved)>.json.
func HighWaterPathIn(dir, stateDir string) (string, error) {
	abs, err := filepath.Abs(stateDir)
	if err != nil {
		return "", err
	}
	// One directory has one mark, however it is reached: resolve symbolic
	// links when the directory exists (a new one is keyed by its path).
	if real, err := filepath.EvalSymlinks(abs); err == nil {
		abs = real
	}
	sum := sha256.Sum256([]byte(abs))
	return filepath.Join(dir, hex.EncodeToString(sum[:16])+".json"), nil
}

// maxMarkBytes bounds what readHighWater reads: a mark is a few hundred
// bytes.
const maxMarkBytes = 64 << 10

// readHighWater returns the mark at path, or nil if none was ever written.
// The mark and its directory obey fileperm's rule, as the state
// directory's files do: whoever could replace the mark could hide a
// rollback. A mark or directory that breaks it fails with
// hostapi.ErrPermission naming it.
func readHighWater(path string) (*highWater, error) {
	dir, err := openMarkDir(path, false)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	defer dir.Close()
	f, err := dir.Open(filepath.Base(path))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		if info, lerr := os.Lstat(path); lerr == nil {
			if perr := fileperm.CheckPrivate(path, info); perr != nil {
				return nil, markPermission(perr) // a symbolic link, typically
			}
		}
		return nil, fmt.Errorf("reading high-water mark: %w", err)
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("reading high-water mark: %w", err)
	}
	if err := fileperm.CheckPrivate(path, info); err != nil {
		return nil, markPermission(err)
	}
	data, err := io.ReadAll(io.LimitReader(f, maxMarkBytes+1))
	if err != nil {
		return nil, fmt.Errorf("reading high-water mark: %w", err)
	}
	if len(data) > maxMarkBytes {
		return nil, integrityf("high-water mark %s is larger than %d bytes", path, maxMarkBytes)
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

// openMarkDir opens the directory of the mark at path (a symbolic link
// naming it is resolved once), creating it (0700) first if create is set,
// and checks it with fileperm.CheckParent. A missing directory is an error
// wrapping fs.ErrNotExist.
func openMarkDir(path string, create bool) (*atomicfile.Dir, error) {
	name := filepath.Dir(path)
	if _, err := os.Lstat(name); create && errors.Is(err, fs.ErrNotExist) {
		if err := os.MkdirAll(name, 0o700); err != nil {
			return nil, fmt.Errorf("creating high-water directory: %w", err)
		}
		// Private on Windows too (an owner-only access control list, which
		// the marks created in it inherit); on Unix 0700 already is.
		if err := fileperm.MakePrivate(name); err != nil {
			return nil, fmt.Errorf("creating high-water directory: %w", err)
		}
	}
	real, err := filepath.EvalSymlinks(name)
	if err != nil {
		return nil, fmt.Errorf("high-water directory: %w", err)
	}
	dir, err := atomicfile.OpenDir(real)
	if err != nil {
		return nil, fmt.Errorf("high-water directory: %w", err)
	}
	info, err := dir.Stat()
	if err == nil {
		err = fileperm.CheckParent(name, info)
		if err != nil {
			err = markPermission(err)
		}
	}
	if err != nil {
		dir.Close()
		return nil, err
	}
	return dir, nil
}

// markPermission reports a fileperm.Error about the mark as
// hostapi.ErrPermission.
func markPermission(err error) error {
	return hostapi.Errorf(hostapi.CodePermission, "high-water mark: %v", err)
}

// writeHighWater durably replaces the mark at path, creating its directory
// (0700) if needed, through the open directory and never through a
// symbolic link (see atomicfile.Dir).
func writeHighWater(path string, hw *highWater) error {
	data, err := json.MarshalIndent(hw, "", "  ")
	if err != nil {
		return err
	}
	return writeMarkFile(path, append(data, '\n'), 0o600)
}

// writeMarkFile replaces the mark's file; a variable so that tests can
// make it fail as a full disk does.
var writeMarkFile = replaceMark

func replaceMark(path string, data []byte, perm fs.FileMode) error {
	dir, err := openMarkDir(path, true)
	if err != nil {
		return err
	}
	defer dir.Close()
	if err := dir.WriteFile(filepath.Base(path), data, perm); err != nil {
		return err
	}
	return fileperm.MakePrivate(path) // Windows: whatever directory it is in
}
