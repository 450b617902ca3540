package ledger

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/rustynet/rustynet/core/membership"
	"github.com/rustynet/rustynet/core/membership/membershiptest"
	"github.com/rustynet/rustynet/hostapi"
	storefile "github.com/rustynet/rustynet/plugins/store-file"
	storesqlite "github.com/rustynet/rustynet/plugins/store-sqlite"
)

// storeKinds are the real stores the ledger is tested on, in-process.
var storeKinds = []string{"file", "sqlite"}

func newStore(kind string) hostapi.Store {
	if kind == "sqlite" {
		return storesqlite.New(nil)
	}
	return storefile.New(nil)
}

// openStore opens a store of kind at dir and closes it at cleanup.
func openStore(t testing.TB, kind, dir string) hostapi.Store {
	t.Helper()
	s := newStore(kind)
	if err := s.Open(context.Background(), hostapi.StoreConfig{Dir: dir}); err != nil {
		t.Fatalf("open %s store at %s: %v", kind, dir, err)
	}
	t.Cleanup(func() { s.Close(context.Background()) })
	return s
}

// fixture is a test network plus a ledger directory and high-water path.
type fixture struct {
	kind string
	net  *membershiptest.Network
	dir  string
	hw   string
}

func newFixture(t *testing.T, kind string) *fixture {
	t.Helper()
	root := t.TempDir()
	return &fixture{
		kind: kind,
		net:  membershiptest.New(t, 3),
		dir:  filepath.Join(root, "state"),
		hw:   filepath.Join(root, "hw", "mark.json"),
	}
}

func (f *fixture) config(s hostapi.Store) Config {
	return Config{
		Store:         s,
		StateDir:      f.dir,
		HighWaterPath: f.hw,
		GenesisRoot:   f.net.Log[0].Body.NewStateRoot,
		Now:           func() time.Time { return f.net.Now },
		SnapshotEvery: 4,
	}
}

// open opens the store and ledger at f.dir.
func (f *fixture) open(t *testing.T) (*Ledger, hostapi.Store) {
	t.Helper()
	s := openStore(t, f.kind, f.dir)
	l, err := Open(context.Background(), f.config(s))
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	return l, s
}

// addNodes proposes, signs (alice, bob) and applies n add_node updates
// through l, keeping the fixture's network chain in step.
func (f *fixture) addNodes(t *testing.T, l *Ledger, n int) {
	t.Helper()
	for i := 0; i < n; i++ {
		id := membershiptest.NodeID(1000 + f.net.Chain.State().NodeCount())
		u := f.net.Propose(t, membership.Operation{Type: membership.OpAddNode, Node: membershiptest.Node(id, 1000+f.net.Chain.State().NodeCount())})
		f.net.Sign(t, u, "alice", "bob")
		if _, err := l.Apply(context.Background(), u); err != nil {
			t.Fatalf("ledger apply %d: %v", i, err)
		}
		f.net.MustApply(t, u)
	}
}

func TestApplyReopenRoundTrip(t *testing.T) {
	for _, kind := range storeKinds {
		t.Run(kind, func(t *testing.T) {
			f := newFixture(t, kind)
			l, s := f.open(t)
			if l.State() != nil || l.Restricted() != nil {
				t.Fatalf("empty ledger: state %v, restricted %v", l.State(), l.Restricted())
			}
			if _, err := l.Apply(context.Background(), f.net.Log[0]); err != nil {
				t.Fatalf("apply genesis: %v", err)
			}
			f.addNodes(t, l, 9)
			want := f.net.Chain.State().Root()
			if got := l.State().Root(); got != want {
				t.Fatalf("root after applies = %s, want %s", got, want)
			}
			if err := l.Close(context.Background()); err != nil {
				t.Fatal(err)
			}
			s.Close(context.Background())

			for _, size := range readBatchSizes {
				withReadBatch(t, size)
				l2, s2 := f.open(t)
				if err := l2.Restricted(); err != nil {
					t.Fatalf("reopen (read batches of %d) is restricted: %v", size, err)
				}
				st := l2.Status()
				if st.Root != want || st.Epoch != 10 || st.Head != 10 {
					t.Errorf("reopened (read batches of %d) status = %+v, want epoch 10 root %s", size, st, want)
				}
				if got := len(mustLog(t, l2)); got != 10 {
					t.Errorf("reopened (read batches of %d) log has %d updates, want 10", size, got)
				}
				s2.Close(context.Background())
			}
		})
	}
}

func TestRejectedUpdateChangesNothing(t *testing.T) {
	for _, kind := range storeKinds {
		t.Run(kind, func(t *testing.T) {
			f := newFixture(t, kind)
			l, s := f.open(t)
			if _, err := l.Apply(context.Background(), f.net.Log[0]); err != nil {
				t.Fatal(err)
			}
			u := f.net.Propose(t, membership.Operation{Type: membership.OpAddNode, Node: membershiptest.Node("x", 77)})
			f.net.Sign(t, u, "alice") // 1 of 2
			before, _ := s.Head(context.Background())
			_, err := l.Apply(context.Background(), u)
			if membership.CodeOf(err) != membership.ThresholdNotMet {
				t.Fatalf("apply under threshold: got %v, want THRESHOLD_NOT_MET", err)
			}
			after, _ := s.Head(context.Background())
			if before != after || l.Status().Epoch != 1 {
				t.Errorf("store head %d -> %d, epoch %d: a rejected update changed state", before, after, l.Status().Epoch)
			}
		})
	}
}

func TestEmptyLedgerAcceptsOnlyPinnedGenesis(t *testing.T) {
	f := newFixture(t, "file")
	l, _ := f.open(t)
	other := membershiptest.NewWith(t, "test", 1, []membershiptest.Approver{membershiptest.NewApprover("mallory", membership.RoleOwner)}, 0)
	if _, err := l.Apply(context.Background(), other.Log[0]); membership.CodeOf(err) != membership.IllegalOperation {
		t.Fatalf("apply of an unpinned genesis: got %v, want ILLEGAL_OPERATION", err)
	}
	f.addNodesAfterGenesis(t, l)
}

func (f *fixture) addNodesAfterGenesis(t *testing.T, l *Ledger) {
	t.Helper()
	if _, err := l.Apply(context.Background(), f.net.Log[0]); err != nil {
		t.Fatalf("apply of the pinned genesis: %v", err)
	}
}

// rewrite replaces the store directory with one holding entries and snap,
// as an attacker with write access to the directory could.
func (f *fixture) rewrite(t *testing.T, entries []hostapi.LogEntry, snap *hostapi.Snapshot) {
	t.Helper()
	if err := os.RemoveAll(f.dir); err != nil {
		t.Fatal(err)
	}
	s := newStore(f.kind)
	ctx := context.Background()
	if err := s.Open(ctx, hostapi.StoreConfig{Dir: f.dir}); err != nil {
		t.Fatal(err)
	}
	defer s.Close(ctx)
	for i, e := range entries {
		if err := s.Append(ctx, hostapi.LogEntry{Index: uint64(i + 1), Data: e.Data}); err != nil {
			t.Fatalf("rewrite entry %d: %v", i+1, err)
		}
	}
	if snap != nil {
		if err := s.PutSnapshot(ctx, *snap); err != nil {
			t.Fatal(err)
		}
	}
}

// populated returns a fixture whose ledger holds genesis + 7 updates, with
// its store closed, and the raw entries and snapshot.
func populated(t *testing.T, kind string) (*fixture, []hostapi.LogEntry, *hostapi.Snapshot) {
	t.Helper()
	f := newFixture(t, kind)
	ctx := context.Background()
	s := newStore(kind)
	if err := s.Open(ctx, hostapi.StoreConfig{Dir: f.dir}); err != nil {
		t.Fatal(err)
	}
	l, err := Open(ctx, f.config(s))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := l.Apply(ctx, f.net.Log[0]); err != nil {
		t.Fatal(err)
	}
	f.addNodes(t, l, 7)
	if err := l.Close(ctx); err != nil {
		t.Fatal(err)
	}
	entries, err := s.ReadLog(ctx, 1, 100)
	if err != nil {
		t.Fatal(err)
	}
	snap, err := s.GetSnapshot(ctx)
	if err != nil {
		t.Fatalf("snapshot after 8 entries and Close: %v", err)
	}
	s.Close(ctx)
	return f, entries, &snap
}

// relink decodes entries, passes each update (a private copy) through
// edit (nil drops it), and re-encodes them with correct indexes and hash
// links: a forgery only the membership checks can catch.
func relink(t *testing.T, es []hostapi.LogEntry, edit func(i int, u *membership.SignedUpdate) *membership.SignedUpdate) []hostapi.LogEntry {
	t.Helper()
	var out []hostapi.LogEntry
	var prev membership.Hash
	for i, e := range es {
		de, err := decodeEntry(e.Data, nil)
		if err != nil {
			t.Fatal(err)
		}
		u, err := membership.ParseSignedUpdate(de.Update.Encode(), nil)
		if err != nil {
			t.Fatal(err)
		}
		if u = edit(i, u); u == nil {
			continue
		}
		data := encodeEntry(uint64(len(out)+1), prev, u)
		prev = hashEntry(data)
		out = append(out, hostapi.LogEntry{Index: uint64(len(out) + 1), Data: data})
	}
	return out
}

func flip(b []byte, i int) []byte {
	c := append([]byte(nil), b...)
	c[i] ^= 0x01
	return c
}

func TestTamperDetected(t *testing.T) {
	type attack func(t *testing.T, f *fixture, es []hostapi.LogEntry, snap *hostapi.Snapshot)
	attacks := []struct {
		name string
		do   attack
	}{
		{"flipped byte in a middle entry", func(t *testing.T, f *fixture, es []hostapi.LogEntry, snap *hostapi.Snapshot) {
			es[3].Data = flip(es[3].Data, len(es[3].Data)/2)
			f.rewrite(t, es, snap)
		}},
		{"flipped byte in the snapshot", func(t *testing.T, f *fixture, es []hostapi.LogEntry, snap *hostapi.Snapshot) {
			snap.Data = flip(snap.Data, len(snap.Data)-20)
			f.rewrite(t, es, snap)
		}},
		{"deleted middle entry", func(t *testing.T, f *fixture, es []hostapi.LogEntry, snap *hostapi.Snapshot) {
			f.rewrite(t, append(es[:3:3], es[4:]...), nil)
		}},
		{"reordered entries", func(t *testing.T, f *fixture, es []hostapi.LogEntry, snap *hostapi.Snapshot) {
			es[2], es[3] = es[3], es[2]
			f.rewrite(t, es, nil)
		}},
		{"duplicated entry", func(t *testing.T, f *fixture, es []hostapi.LogEntry, snap *hostapi.Snapshot) {
			f.rewrite(t, append(es[:4:4], es[3:]...), nil)
		}},
		{"truncated last entry", func(t *testing.T, f *fixture, es []hostapi.LogEntry, snap *hostapi.Snapshot) {
			last := len(es) - 1
			es[last].Data = es[last].Data[:len(es[last].Data)/2]
			f.rewrite(t, es, nil)
		}},
		{"last entry dropped (rollback by one)", func(t *testing.T, f *fixture, es []hostapi.LogEntry, snap *hostapi.Snapshot) {
			f.rewrite(t, es[:len(es)-1], nil)
		}},
		{"valid hash links, corrupted signature bytes", func(t *testing.T, f *fixture, es []hostapi.LogEntry, snap *hostapi.Snapshot) {
			// Corrupt one signature of entry 5 and rebuild every index and
			// hash link, so only signature verification can catch it.
			f.rewrite(t, relink(t, es, func(i int, u *membership.SignedUpdate) *membership.SignedUpdate {
				if i == 4 {
					u.Signatures[1].Sig[7] ^= 0x80
				}
				return u
			}), nil)
		}},
		{"valid hash links, entry re-signed by an outsider", func(t *testing.T, f *fixture, es []hostapi.LogEntry, snap *hostapi.Snapshot) {
			f.rewrite(t, relink(t, es, func(i int, u *membership.SignedUpdate) *membership.SignedUpdate {
				if i == 4 {
					u.Signatures = u.Signatures[:1]
					f.net.Sign(t, u, "mallory")
				}
				return u
			}), nil)
		}},
		{"valid hash links, middle update removed", func(t *testing.T, f *fixture, es []hostapi.LogEntry, snap *hostapi.Snapshot) {
			f.rewrite(t, relink(t, es, func(i int, u *membership.SignedUpdate) *membership.SignedUpdate {
				if i == 3 {
					return nil
				}
				return u
			}), nil)
		}},
		{"whole-directory rollback to an older copy", func(t *testing.T, f *fixture, es []hostapi.LogEntry, snap *hostapi.Snapshot) {
			f.rewrite(t, es[:5], nil)
		}},
	}
	for _, kind := range storeKinds {
		for _, a := range attacks {
			t.Run(kind+"/"+a.name, func(t *testing.T) {
				f, es, snap := populated(t, kind)
				a.do(t, f, es, snap)
				withReadBatch(t, 3) // the damage is in the second or a later batch
				l, _ := f.open(t)
				err := l.Restricted()
				if membership.CodeOf(err) != membership.IntegrityFailure {
					t.Fatalf("Restricted() = %v, want INTEGRITY_FAILURE", err)
				}
				t.Logf("reason: %v", err)
				st := l.Status()
				if !st.Restricted || st.Reason == "" {
					t.Errorf("status %+v does not report restricted mode with a reason", st)
				}
				u := f.net.Propose(t, membership.Operation{Type: membership.OpAddNode, Node: membershiptest.Node("late", 999)})
				f.net.Sign(t, u, "alice", "bob")
				if _, err := l.Apply(context.Background(), u); membership.CodeOf(err) != membership.RestrictedMode {
					t.Errorf("apply in restricted mode: got %v, want RESTRICTED_MODE", err)
				}
				if _, err := l.Evaluate(u); membership.CodeOf(err) != membership.RestrictedMode {
					t.Errorf("evaluate in restricted mode: got %v, want RESTRICTED_MODE", err)
				}
			})
		}
	}
}

func TestRestoreRecovers(t *testing.T) {
	for _, kind := range storeKinds {
		t.Run(kind, func(t *testing.T) {
			f, es, _ := populated(t, kind)
			// Back up the verified log, then corrupt the directory.
			l, s := f.open(t)
			backup := mustLog(t, l)
			s.Close(context.Background())
			es[2].Data = flip(es[2].Data, 40)
			f.rewrite(t, es, nil)
			if l, _ := f.open(t); l.Restricted() == nil {
				t.Fatal("tampered directory opened unrestricted")
			}
			ctx := context.Background()

			// An older backup (behind the high-water mark) is refused and
			// writes nothing.
			fresh := filepath.Join(t.TempDir(), "fresh")
			s1 := openStore(t, kind, fresh)
			cfg := f.config(s1)
			cfg.StateDir = fresh
			if _, err := Restore(ctx, cfg, backup[:4]); membership.CodeOf(err) != membership.IntegrityFailure {
				t.Fatalf("restore of a backup behind the high-water mark: got %v, want INTEGRITY_FAILURE", err)
			}
			if h, _ := s1.Head(ctx); h != 0 {
				t.Fatalf("refused restore wrote %d entries", h)
			}

			// The full backup restores and verifies.
			l2, err := Restore(ctx, cfg, backup)
			if err != nil {
				t.Fatalf("Restore: %v", err)
			}
			if err := l2.Restricted(); err != nil {
				t.Fatalf("restored ledger restricted: %v", err)
			}
			if got, want := l2.State().Root(), f.net.Chain.State().Root(); got != want {
				t.Errorf("restored root %s, want %s", got, want)
			}
			if _, err := Restore(ctx, cfg, backup); !errors.Is(err, hostapi.ErrConflict) {
				t.Errorf("restore into a non-empty store: got %v, want CONFLICT", err)
			}
		})
	}
}

func TestPinnedGenesisMismatchIsRestricted(t *testing.T) {
	f, _, _ := populated(t, "file")
	s := openStore(t, "file", f.dir)
	cfg := f.config(s)
	cfg.GenesisRoot[0] ^= 1
	l, err := Open(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if membership.CodeOf(l.Restricted()) != membership.IntegrityFailure {
		t.Fatalf("Restricted() = %v, want INTEGRITY_FAILURE", l.Restricted())
	}
}

func storeConfig(dir string) hostapi.StoreConfig { return hostapi.StoreConfig{Dir: dir} }

func TestBootstrapAcceptsExpiredPinnedGenesisOnly(t *testing.T) {
	f := newFixture(t, "file")
	f.net.Now = f.net.Now.Add(365 * 24 * time.Hour) // the genesis expired long ago
	l, _ := f.open(t)
	if _, err := l.Apply(context.Background(), f.net.Log[0]); membership.CodeOf(err) != membership.Expired {
		t.Fatalf("Apply of an expired genesis: %v, want EXPIRED", err)
	}
	other := membershiptest.NewWith(t, "test", 1, []membershiptest.Approver{membershiptest.NewApprover("mallory", membership.RoleOwner)}, 0)
	if err := l.Bootstrap(context.Background(), other.Log[0]); membership.CodeOf(err) != membership.IntegrityFailure {
		t.Fatalf("Bootstrap with an unpinned genesis: %v, want INTEGRITY_FAILURE", err)
	}
	if err := l.Bootstrap(context.Background(), f.net.Log[0]); err != nil {
		t.Fatalf("Bootstrap with the pinned genesis: %v", err)
	}
	if err := l.Bootstrap(context.Background(), f.net.Log[0]); err != nil {
		t.Fatalf("second Bootstrap: %v", err)
	}
	if st := l.Status(); st.Epoch != 1 || st.Head != 1 {
		t.Errorf("status after bootstrap = %+v, want epoch 1, one entry", st)
	}
}

func TestRestrictedPrefixKeepsEntriesBeforeTheDamage(t *testing.T) {
	for _, kind := range storeKinds {
		for _, size := range readBatchSizes {
			t.Run(fmt.Sprintf("%s/batch=%d", kind, size), func(t *testing.T) {
				f, es, _ := populated(t, kind)
				// Damage entry 6 so the store itself reads it as corrupt
				// (its framing or row checksum), not only the ledger.
				f.rewrite(t, es, nil)
				s := openStore(t, kind, f.dir)
				s.Close(context.Background())
				corruptOnDisk(t, kind, f.dir, es[5].Data)
				withReadBatch(t, size)
				l, _ := f.open(t)
				if l.Restricted() == nil {
					t.Fatal("damaged log opened unrestricted")
				}
				if got := l.Status().Head; got != 5 {
					t.Errorf("verified prefix = %d entries, want the 5 before the damage", got)
				}
			})
		}
	}
}

// corruptOnDisk flips a byte of the entry data wherever the store keeps it
// on disk, found by the entry's random update id.
func corruptOnDisk(t *testing.T, kind, dir string, data []byte) {
	t.Helper()
	e, err := decodeEntry(data, nil)
	if err != nil {
		t.Fatal(err)
	}
	marker := []byte(hex.EncodeToString(e.Update.Body.UpdateID[:]))
	found := false
	filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		if i := bytes.Index(b, marker); i >= 0 {
			b[i] ^= 0x20
			found = true
			return os.WriteFile(p, b, 0o600)
		}
		return nil
	})
	if !found {
		t.Fatalf("%s store: entry bytes not found on disk", kind)
	}
}

func TestHighWaterPathResolvesSymlinks(t *testing.T) {
	t.Setenv("XDG_STATE_HOME", t.TempDir())
	real := t.TempDir()
	link := filepath.Join(t.TempDir(), "link")
	if err := os.Symlink(real, link); err != nil {
		t.Fatal(err)
	}
	a, err := DefaultHighWaterPath(real)
	if err != nil {
		t.Fatal(err)
	}
	b, err := DefaultHighWaterPath(link)
	if err != nil {
		t.Fatal(err)
	}
	if a != b {
		t.Errorf("a directory and a link to it have different marks: %s, %s", a, b)
	}
}
