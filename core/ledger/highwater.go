package ledger

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
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
	hw, _, err := decodeMark(data)
	if err != nil {
		return nil, integrityf("high-water mark %s: %v", path, err)
	}
	return hw, nil
}

// The mark's file is two slots of markSlotSize bytes, written in place
// alternately (see writeMarkSlots), so that advancing it costs one write
// and one data sync — no temporary file, rename or directory sync. A slot
// is
//
//	magic "RNHWMRK1" | seq (8 bytes, big endian) | n (4) | CRC-32C (4) of
//	seq, n and the payload | payload (n bytes of the mark as JSON) | zeros
//
// and the valid slot of the highest seq is the mark. A write torn by a
// crash spoils only the slot it wrote; the other still holds the mark
// before it, which lags the log by at most one write — what a crash
// between an append and its mark leaves anyway. A mark written by an
// older version is a single JSON object; it is read as it is and replaced
// by the slot form at its next write.
const (
	markSlotSize   = 4096
	markSlotHeader = 24
	markMagic      = "RNHWMRK1"
)

var markCRC = crc32.MakeTable(crc32.Castagnoli)

// decodeMark decodes a mark file: two slots, or a legacy JSON object
// (seq 0).
func decodeMark(data []byte) (*highWater, uint64, error) {
	if t := bytes.TrimLeft(data, " \t\r\n"); len(t) > 0 && t[0] == '{' {
		hw, err := decodeMarkPayload(data)
		return hw, 0, err
	}
	if len(data) != 2*markSlotSize {
		return nil, 0, fmt.Errorf("%d bytes: neither two slots of %d bytes nor a JSON object", len(data), markSlotSize)
	}
	var best *highWater
	var bestSeq uint64
	var errs []error
	for i := range 2 {
		hw, seq, err := decodeSlot(data[i*markSlotSize : (i+1)*markSlotSize])
		if err != nil {
			errs = append(errs, fmt.Errorf("slot %d: %w", i, err))
			continue
		}
		if best == nil || seq > bestSeq {
			best, bestSeq = hw, seq
		}
	}
	if best == nil {
		return nil, 0, fmt.Errorf("no valid slot: %w", errors.Join(errs...))
	}
	return best, bestSeq, nil
}

func decodeSlot(b []byte) (*highWater, uint64, error) {
	if string(b[:8]) != markMagic {
		return nil, 0, errors.New("no mark")
	}
	seq := binary.BigEndian.Uint64(b[8:16])
	n := binary.BigEndian.Uint32(b[16:20])
	if n == 0 || int(n) > markSlotSize-markSlotHeader {
		return nil, 0, fmt.Errorf("payload of %d bytes", n)
	}
	crc := crc32.Update(crc32.Checksum(b[8:20], markCRC), markCRC, b[markSlotHeader:markSlotHeader+int(n)])
	if crc != binary.BigEndian.Uint32(b[20:24]) {
		return nil, 0, errors.New("checksum mismatch (a torn write)")
	}
	hw, err := decodeMarkPayload(b[markSlotHeader : markSlotHeader+int(n)])
	return hw, seq, err
}

func decodeMarkPayload(data []byte) (*highWater, error) {
	var hw highWater
	if err := json.Unmarshal(data, &hw); err != nil {
		return nil, fmt.Errorf("unreadable: %v", err)
	}
	if _, err := membership.ParseHash(hw.StateRoot); err != nil {
		return nil, err
	}
	return &hw, nil
}

// encodeSlot returns one slot holding payload with sequence number seq.
func encodeSlot(payload []byte, seq uint64) ([]byte, error) {
	if len(payload) > markSlotSize-markSlotHeader {
		return nil, fmt.Errorf("high-water mark: %d bytes do not fit a slot of %d (a state directory path that long?)", len(payload), markSlotSize-markSlotHeader)
	}
	b := make([]byte, markSlotSize)
	copy(b, markMagic)
	binary.BigEndian.PutUint64(b[8:16], seq)
	binary.BigEndian.PutUint32(b[16:20], uint32(len(payload)))
	copy(b[markSlotHeader:], payload)
	crc := crc32.Update(crc32.Checksum(b[8:20], markCRC), markCRC, payload)
	binary.BigEndian.PutUint32(b[20:24], crc)
	return b, nil
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
	var k keptMark
	defer k.close()
	return k.writeHighWater(path, hw)
}

// keptMark is the mark file a ledger keeps open between its writes, and
// the sequence number of the slot it wrote last. The first write goes the
// whole way (writeMarkSlots: the directory and the file opened and
// checked, both slots read); the file stays open, and each later write
// is the next slot in place and one fdatasync — the same bytes at the same
// offsets, with none of the opening, checking and reading (half the
// write's time). Every write of a mark must go through the one keptMark
// that holds its file: another writer would leave its sequence number
// stale. A write that fails closes the file, so the next goes the whole
// way again. The zero value holds no file.
type keptMark struct {
	f   *os.File
	seq uint64
}

// writeHighWater durably writes hw as the mark at path through k.
func (k *keptMark) writeHighWater(path string, hw *highWater) error {
	data, err := json.Marshal(hw)
	if err != nil {
		return err
	}
	return writeMarkFile(k, path, data, 0o600)
}

// writeMarkFile writes payload as the mark at path through k; a variable
// so that tests can make it fail as a full disk does.
var writeMarkFile = (*keptMark).write

func (k *keptMark) write(path string, payload []byte, perm fs.FileMode) error {
	if k.f == nil {
		f, seq, err := writeMarkSlots(path, payload, perm)
		k.f, k.seq = f, seq
		return err
	}
	slot, err := encodeSlot(payload, k.seq+1)
	if err != nil {
		return err
	}
	if _, err := k.f.WriteAt(slot, int64((k.seq+1)%2)*markSlotSize); err != nil {
		k.close()
		return err
	}
	if err := atomicfile.Datasync(k.f); err != nil {
		k.close()
		return err
	}
	k.seq++
	return nil
}

// close closes the kept file, if any.
func (k *keptMark) close() {
	if k.f != nil {
		k.f.Close()
		k.f = nil
	}
}

// writeMarkSlots writes payload into the slot after the current one, in
// place, and syncs its data: durable when it returns nil. A file that is
// missing, of an older version or has no valid slot is replaced whole,
// atomically, by a file of one slot (seq 1). On success it returns the
// mark file, open for writing, and the sequence number it wrote.
func writeMarkSlots(path string, payload []byte, perm fs.FileMode) (*os.File, uint64, error) {
	dir, err := openMarkDir(path, true)
	if err != nil {
		return nil, 0, err
	}
	defer dir.Close()
	name := filepath.Base(path)
	f, err := dir.OpenFile(name, os.O_RDWR, 0)
	if errors.Is(err, fs.ErrNotExist) {
		return replaceMark(dir, path, payload, perm)
	}
	if err != nil {
		return nil, 0, err
	}
	keep := false
	defer func() {
		if !keep {
			f.Close()
		}
	}()
	info, err := f.Stat()
	if err != nil {
		return nil, 0, err
	}
	if err := fileperm.CheckPrivate(path, info); err != nil {
		return nil, 0, markPermission(err)
	}
	data, err := io.ReadAll(io.LimitReader(f, maxMarkBytes+1))
	if err != nil {
		return nil, 0, err
	}
	_, seq, derr := decodeMark(data)
	if derr != nil || seq == 0 || len(data) != 2*markSlotSize {
		f.Close()
		keep = true // closed already
		return replaceMark(dir, path, payload, perm)
	}
	slot, err := encodeSlot(payload, seq+1)
	if err != nil {
		return nil, 0, err
	}
	if _, err := f.WriteAt(slot, int64((seq+1)%2)*markSlotSize); err != nil {
		return nil, 0, err
	}
	if err := atomicfile.Datasync(f); err != nil {
		return nil, 0, err
	}
	keep = true
	return f, seq + 1, nil
}

// replaceMark writes a new mark file of one slot (seq 1; the other
// empty) atomically.
// It returns the new file, open for writing, and seq 1.
func replaceMark(dir *atomicfile.Dir, path string, payload []byte, perm fs.FileMode) (*os.File, uint64, error) {
	slot, err := encodeSlot(payload, 1)
	if err != nil {
		return nil, 0, err
	}
	data := make([]byte, 2*markSlotSize)
	copy(data[markSlotSize:], slot) // seq 1 lives in slot 1
	if err := dir.WriteFile(filepath.Base(path), data, perm); err != nil {
		return nil, 0, err
	}
	if err := fileperm.MakePrivate(path); err != nil { // Windows: whatever directory it is in
		return nil, 0, err
	}
	f, err := dir.OpenFile(filepath.Base(path), os.O_RDWR, 0)
	if err != nil {
		return nil, 0, err
	}
	return f, 1, nil
}
