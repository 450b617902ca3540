package storefile_test

import (
	"os"
	"path/filepath"
	"testing"
)

// BenchmarkFloor measures the durability primitive an Append is built on,
// with nothing else: write 1 KiB to a temp file, fsync it, rename it, fsync
// the directory. Compare BenchmarkAppend/1KiB with it from the same run.
func BenchmarkFloor(b *testing.B) {
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
