package ledger

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/rustynet/rustynet/internal/atomicfile"
)

// BenchmarkMarkWrite measures the high-water mark's durable write, the
// second synced write of every apply (the store's append is the first):
// mark writes the ledger's own mark of a head into one of its two slots
// in place as a ledger does (keptMark: through the file it keeps open
// after its first write; JSON, slot, write, fdatasync); floor=datasync writes the same slot's bytes in place into
// an open file and fdatasyncs it, the least a durable in-place write
// costs on the same file system. Both run in the benchmark's temporary
// directory: run with TMPDIR on the disk the state lives on. Metrics:
// p50/p95/p99-µs per write.
func BenchmarkMarkWrite(b *testing.B) {
	dir := b.TempDir()
	hw := &highWater{Dir: filepath.Join(dir, "state"), Index: 1, StateRoot: strings.Repeat("0", 64), EntryHash: strings.Repeat("0", 64)}
	b.Run("mark", func(b *testing.B) {
		path := filepath.Join(dir, "mark", "highwater.json")
		var k keptMark // as a ledger writes: the file kept open after the first write
		defer k.close()
		if err := k.writeHighWater(path, hw); err != nil { // the file of two slots
			b.Fatal(err)
		}
		lat := make([]time.Duration, 0, b.N)
		b.ResetTimer()
		for i := range b.N {
			hw.Index = uint64(i) + 2
			start := time.Now()
			if err := k.writeHighWater(path, hw); err != nil {
				b.Fatal(err)
			}
			lat = append(lat, time.Since(start))
		}
		b.StopTimer()
		reportLatencies(b, lat)
	})
	b.Run("floor=datasync", func(b *testing.B) {
		f, err := os.OpenFile(filepath.Join(dir, "floor"), os.O_RDWR|os.O_CREATE, 0o600)
		if err != nil {
			b.Fatal(err)
		}
		defer f.Close()
		slot := make([]byte, markSlotSize)
		if _, err := f.WriteAt(make([]byte, 2*markSlotSize), 0); err != nil {
			b.Fatal(err)
		}
		if err := atomicfile.Datasync(f); err != nil {
			b.Fatal(err)
		}
		lat := make([]time.Duration, 0, b.N)
		b.ResetTimer()
		for i := range b.N {
			slot[0] = byte(i)
			start := time.Now()
			if _, err := f.WriteAt(slot, int64(i%2)*markSlotSize); err != nil {
				b.Fatal(err)
			}
			if err := atomicfile.Datasync(f); err != nil {
				b.Fatal(err)
			}
			lat = append(lat, time.Since(start))
		}
		b.StopTimer()
		reportLatencies(b, lat)
	})
}

// reportLatencies reports the p50, p95 and p99 of lat (nearest rank) in
// µs.
func reportLatencies(b *testing.B, lat []time.Duration) {
	if len(lat) == 0 {
		return
	}
	slices.Sort(lat)
	for _, p := range []struct {
		q    float64
		unit string
	}{{0.50, "p50-µs"}, {0.95, "p95-µs"}, {0.99, "p99-µs"}} {
		i := int(p.q*float64(len(lat))+0.999999) - 1
		b.ReportMetric(float64(lat[max(i, 0)].Nanoseconds())/1e3, p.unit)
	}
}
