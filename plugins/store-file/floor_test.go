package storefile

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/rustynet/rustynet/internal/atomicfile"
)

// BenchmarkFloor measures the durability primitive an Append that fits in
// its segment is built on, with nothing else: write 1 KiB over zeros
// already written and synced in a preallocated file, then fdatasync it.
// Compare BenchmarkAppend/1KiB with it from the same run.
func BenchmarkFloor(b *testing.B) {
	const size = 4 << 20
	data := make([]byte, 1<<10)
	path := filepath.Join(b.TempDir(), "segment")
	newFile := func() *os.File {
		f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o600)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := f.Write(make([]byte, size)); err != nil {
			b.Fatal(err)
		}
		if err := f.Sync(); err != nil {
			b.Fatal(err)
		}
		return f
	}
	f := newFile()
	defer func() { f.Close() }()
	b.SetBytes(int64(len(data)))
	off := int64(0)
	for b.Loop() {
		if off+int64(len(data)) > size {
			b.StopTimer()
			f.Close()
			f, off = newFile(), 0
			b.StartTimer()
		}
		if _, err := f.WriteAt(data, off); err != nil {
			b.Fatal(err)
		}
		if err := atomicfile.Datasync(f); err != nil {
			b.Fatal(err)
		}
		off += int64(len(data))
	}
}

// BenchmarkFloorRename measures the primitive the layout before segments
// built every append on, and that still starts a segment: write 1 KiB to a
// temp file, fsync it, rename it, fsync the directory.
func BenchmarkFloorRename(b *testing.B) {
	dir := b.TempDir()
	d, err := os.Open(dir)
	if err != nil {
		b.Fatal(err)
	}
	defer d.Close()
	data := make([]byte, 1<<10)
	tmp := filepath.Join(dir, "tmp")
	b.SetBytes(int64(len(data)))
	for i := 0; b.Loop(); i++ {
		f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := f.Write(data); err != nil {
			b.Fatal(err)
		}
		if err := f.Sync(); err != nil {
			b.Fatal(err)
		}
		f.Close()
		if err := os.Rename(tmp, filepath.Join(dir, string(rune('a'+i%26)))); err != nil {
			b.Fatal(err)
		}
		if err := d.Sync(); err != nil {
			b.Fatal(err)
		}
	}
}
