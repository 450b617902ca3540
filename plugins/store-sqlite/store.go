package storesqlite

import (
	"context"
	"database/sql"
	"errors"
	"io/fs"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"

	_ "modernc.org/sqlite" // registers the "sqlite" database/sql driver

	"github.com/rustynet/rustynet/hostapi"
	"github.com/rustynet/rustynet/internal/atomicfile"
	"github.com/rustynet/rustynet/internal/storelayout"
	"github.com/rustynet/rustynet/internal/version"
	"github.com/rustynet/rustynet/plugins/internal/statedir"
	"github.com/rustynet/rustynet/plugins/internal/storerules"
)

// Version is the plugin's version, reported by Info: the build's
// (internal/version), as `rustynet version` prints it.
var Version = version.Get().String()

// dbName is the database file inside the state directory.
const dbName = "store.db"

// busyTimeoutMillis bounds how long SQLite waits for a lock held by another
// connection (an offline tool reading the database) before failing with
// SQLITE_BUSY, which maps to hostapi.ErrUnavailable.
const busyTimeoutMillis = "5000"

// Interface guards.
var _ hostapi.Store = (*Store)(nil)

// Store is the SQLite-backed hostapi.Store. Create it with New; the zero
// value is not usable.
type Store struct {
	logger *slog.Logger

	// gate is the lifecycle: every method runs inside it (see
	// storerules.Gate), so Close waits for calls in flight. It serialises
	// Appends, and PutSnapshots, and runs a Truncate alone.
	gate storerules.Gate

	// Set by Open, read-only until Close; guarded by gate.
	dir *statedir.Dir

	// connMu guards db and stmts, which makeWritable replaces (a
	// read-first store's read-only connection, or none, by a writable
	// one): every call using them holds it shared. db is nil while a
	// read-first store's database does not exist.
	connMu sync.RWMutex
	db     *sql.DB
	stmts  statements

	// upgradeMu serialises makeWritable; writable is set once the store
	// holds its directory for writing; broken, once makeWritable failed,
	// is what every later call returns.
	upgradeMu sync.Mutex
	writable  atomic.Bool
	broken    atomic.Pointer[error]

	// head is written only by an Append or a Truncate, which the gate
	// serialises, once its transaction has committed, so that it follows
	// the database; it is read anywhere.
	head atomic.Uint64
}

type statements struct {
	append, readLog, putSnapshot, getSnapshot *sql.Stmt
}

// New returns an unopened SQLite store that logs to logger (nil discards).
func New(logger *slog.Logger) *Store {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	info := hostapi.StoreInfo{Name: storelayout.SQLite, Version: Version, Capabilities: statedir.Capabilities | hostapi.StoreCapTruncate}
	return &Store{logger: logger, gate: storerules.Gate{Info: info}}
}

// Info describes the plugin. It may be called before Open; after Close it
// returns hostapi.ErrClosed.
func (s *Store) Info(ctx context.Context) (hostapi.StoreInfo, error) { return s.gate.StoreInfo() }

// Open opens (creating if needed) the store at cfg.Dir, as hostapi.Store
// specifies. A database that is not SQLite fails with hostapi.ErrCorrupt. A
// failed Open leaves the Store unopened, so Open may be retried; Open after
// Close returns hostapi.ErrClosed.
func (s *Store) Open(ctx context.Context, cfg hostapi.StoreConfig) error {
	return s.gate.Open(ctx, cfg, func(d *statedir.Dir) error {
		var db *sql.DB
		var err error
		if d.Writable() {
			db, err = s.openDB(ctx, d.Root())
			s.writable.Store(err == nil)
		} else {
			db, err = s.openToRead(ctx, d.Root())
		}
		if err != nil {
			return err
		}
		s.dir, s.db = d, db
		s.logger.Info("sqlite store opened", "dir", d.Path(), "head", s.head.Load(), "writable", s.writable.Load())
		return nil
	})
}

// openDB opens and checks the database in the locked directory root,
// creating it first if there is none, prepares the statements and loads the
// head.
func (s *Store) openDB(ctx context.Context, root *atomicfile.Dir) (*sql.DB, error) {
	if err := createDB(ctx, root); err != nil {
		return nil, err
	}
	db, err := openSQL(ctx, filepath.Join(root.Path(), dbName), false)
	if err != nil {
		return nil, err
	}
	if err := s.initDB(ctx, db, true); err != nil {
		s.stmts.close()
		db.Close()
		return nil, err
	}
	return db, nil
}

// openToRead opens a read-first directory's database read-only, creating
// nothing; a missing directory or database reads as empty (nil).
func (s *Store) openToRead(ctx context.Context, root *atomicfile.Dir) (*sql.DB, error) {
	if root == nil {
		return nil, nil
	}
	path := filepath.Join(root.Path(), dbName)
	switch _, err := os.Lstat(path); {
	case errors.Is(err, fs.ErrNotExist):
		return nil, nil
	case err != nil:
		return nil, statedir.PathError("stat", path, err)
	}
	db, err := openSQL(ctx, path, true)
	if err != nil {
		return nil, err
	}
	if err := s.initDB(ctx, db, false); err != nil {
		s.stmts.close()
		db.Close()
		return nil, err
	}
	return db, nil
}

// makeWritable takes a read-first store's directory for writing before its
// first write (see storelayout.ReadFirstEnv): the exclusive lock, the
// database created if missing, a writable connection; and refuses with
// hostapi.ErrConflict if the log changed since Open read it. A failure is
// final: every later call returns it.
func (s *Store) makeWritable(ctx context.Context) error {
	if s.writable.Load() {
		return nil
	}
	s.upgradeMu.Lock()
	defer s.upgradeMu.Unlock()
	if s.writable.Load() {
		return nil
	}
	if err := s.brokenErr(); err != nil {
		return err
	}
	if err := s.dir.MakeWritable(); err != nil {
		return err
	}
	s.connMu.Lock()
	defer s.connMu.Unlock()
	read := s.head.Load()
	if s.db != nil {
		s.stmts.close()
		s.db.Close()
		s.db = nil
	}
	db, err := s.openDB(ctx, s.dir.Root())
	if err == nil && s.head.Load() != read {
		err = hostapi.Errorf(hostapi.CodeConflict, "%s changed since it was opened (its log ended at %d, now at %d); reopen it", s.dir.Path(), read, s.head.Load())
	}
	s.db = db
	if err != nil {
		s.broken.Store(&err)
		return err
	}
	s.writable.Store(true)
	return nil
}

// brokenErr returns the failure of makeWritable, if any.
func (s *Store) brokenErr() error {
	if p := s.broken.Load(); p != nil {
		return *p
	}
	return nil
}

// initDB checks and prepares the opened database; writable says whether
// the connection may write (its pragmas are checked then).
func (s *Store) initDB(ctx context.Context, db *sql.DB, writable bool) error {
	if writable {
		if err := checkPragmas(ctx, db); err != nil {
			return err
		}
	}
	if err := checkSchema(ctx, db); err != nil {
		return err
	}
	if err := s.stmts.prepare(ctx, db); err != nil {
		return err
	}
	var head int64
	if err := db.QueryRowContext(ctx, headSQL).Scan(&head); err != nil {
		return dbError("read head", err)
	}
	s.head.Store(uint64(head))
	return nil
}

// openSQL opens the database at path with one connection, so that the
// per-connection pragmas always apply and calls are serialised without
// SQLITE_BUSY between our own connections. A readOnly connection writes
// nothing (see dsn).
func openSQL(ctx context.Context, path string, readOnly bool) (*sql.DB, error) {
	db, err := sql.Open("sqlite", dsn(path, readOnly))
	if err != nil {
		return nil, dbError("open "+path, err)
	}
	db.SetMaxOpenConns(1)
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, dbError("open "+path, err)
	}
	return db, nil
}

// createDB creates the database in root with its schema if there is none.
// It builds the database under a temporary name and renames it into place,
// so a database file exists only with its schema: an empty or schema-less
// store.db is damage, never a creation cut short. The temporary file is
// created with mode 0600 before SQLite opens it, never through a symbolic
// link, and SQLite gives its -wal and -shm files the mode of the database,
// so nothing is ever created with the process umask.
func createDB(ctx context.Context, root *atomicfile.Dir) error {
	path := filepath.Join(root.Path(), dbName)
	switch _, err := os.Lstat(path); {
	case err == nil:
		return nil
	case !errors.Is(err, fs.ErrNotExist):
		return statedir.PathError("stat", path, err)
	}
	tmp := dbName + ".new"
	for _, p := range []string{tmp, tmp + "-wal", tmp + "-shm", tmp + "-journal"} {
		if err := root.Remove(p); err != nil {
			return statedir.PathError("remove", filepath.Join(root.Path(), p), err)
		}
	}
	f, err := root.OpenFile(tmp, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return statedir.PathError("create", filepath.Join(root.Path(), tmp), err)
	}
	f.Close()
	tmpPath := filepath.Join(root.Path(), tmp)
	db, err := openSQL(ctx, tmpPath, false)
	if err != nil {
		return err
	}
	if err = checkPragmas(ctx, db); err == nil {
		err = createSchema(ctx, db)
	}
	// Closing the last connection checkpoints the WAL into tmp (synced, as
	// synchronous=FULL) and removes it.
	if cerr := db.Close(); err == nil && cerr != nil {
		err = dbError("close "+tmpPath, cerr)
	}
	if err != nil {
		return err
	}
	if err := syncFile(root, tmp); err != nil {
		return err
	}
	if err := root.Rename(tmp, dbName); err != nil {
		return statedir.PathError("rename", tmpPath, err)
	}
	return root.Sync()
}

// syncFile flushes the file name in root to stable storage.
func syncFile(root *atomicfile.Dir, name string) error {
	path := filepath.Join(root.Path(), name)
	f, err := root.OpenFile(name, os.O_RDWR, 0)
	if err != nil {
		return statedir.PathError("open", path, err)
	}
	defer f.Close()
	if err := f.Sync(); err != nil {
		return statedir.PathError("sync", path, err)
	}
	return nil
}

// dsn returns the modernc.org/sqlite data source name for the database at
// path: a file: URI, so that no character of the path can be taken for the
// query, with the pragmas every connection needs. A readOnly connection
// (mode=ro) sets no pragma that writes; without a write-ahead log beside
// the database (a clean close leaves none) it is also immutable, so SQLite
// creates no -shm file and takes no lock, and a read-only copy can be read.
// With a log it must read the log, which needs the -shm file.
func dsn(path string, readOnly bool) string {
	p := filepath.ToSlash(path)
	if !strings.HasPrefix(p, "/") { // a Windows volume: file:///C:/...
		p = "/" + p
	}
	q := url.Values{"_busy_timeout": {busyTimeoutMillis}}
	if readOnly {
		q.Set("mode", "ro")
		if _, err := os.Lstat(path + "-wal"); errors.Is(err, fs.ErrNotExist) {
			q.Set("immutable", "1")
		}
	} else {
		q.Set("_journal_mode", "WAL")
		q.Set("_synchronous", "FULL")
	}
	u := url.URL{Scheme: "file", Path: p, RawQuery: q.Encode()}
	return u.String()
}

// checkPragmas verifies that the connection really runs in WAL mode with
// synchronous=FULL; SQLite silently keeps another journal mode in some
// situations, and durability depends on both.
func checkPragmas(ctx context.Context, db *sql.DB) error {
	var mode string
	if err := db.QueryRowContext(ctx, `PRAGMA journal_mode`).Scan(&mode); err != nil {
		return dbError("read journal_mode", err)
	}
	var sync int
	if err := db.QueryRowContext(ctx, `PRAGMA synchronous`).Scan(&sync); err != nil {
		return dbError("read synchronous", err)
	}
	if !strings.EqualFold(mode, "wal") || sync != 2 {
		return hostapi.Errorf(hostapi.CodeInternal, "database runs with journal_mode=%s synchronous=%d, want wal and 2 (FULL)", mode, sync)
	}
	return nil
}

func (st *statements) prepare(ctx context.Context, db *sql.DB) error {
	for _, p := range []struct {
		stmt **sql.Stmt
		sql  string
	}{
		{&st.append, appendSQL},
		{&st.readLog, readLogSQL},
		{&st.putSnapshot, putSnapshotSQL},
		{&st.getSnapshot, getSnapshotSQL},
	} {
		stmt, err := db.PrepareContext(ctx, p.sql)
		if err != nil {
			// A database with our user_version but another schema.
			return hostapi.Errorf(hostapi.CodeCorrupt, "prepare %q: %v", p.sql, err)
		}
		*p.stmt = stmt
	}
	return nil
}

func (st *statements) close() {
	for _, stmt := range []*sql.Stmt{st.append, st.readLog, st.putSnapshot, st.getSnapshot} {
		if stmt != nil {
			stmt.Close()
		}
	}
	*st = statements{}
}

// Close checkpoints and closes the database and releases the lock. It is
// idempotent; after it every method returns hostapi.ErrClosed.
func (s *Store) Close(ctx context.Context) error {
	return s.gate.Close(func() error {
		s.stmts.close()
		var err error
		if s.db != nil {
			if cerr := s.db.Close(); cerr != nil {
				err = dbError("close database", cerr)
			}
		}
		s.logger.Info("sqlite store closed", "dir", s.dir.Path())
		s.db, s.dir = nil, nil // the gate releases the directory
		return err
	})
}

// enter admits a read of an open store (storerules.Gate.Enter) whose
// makeWritable has not failed; the caller must call s.gate.Leave when it
// returns nil.
func (s *Store) enter() error {
	if err := s.gate.Enter(); err != nil {
		return err
	}
	if err := s.brokenErr(); err != nil {
		s.gate.Leave()
		return err
	}
	return nil
}
