//go:build !linux

package atomicfile

import "os"

// Datasync makes f's data durable: f.Sync (on macOS F_FULLFSYNC), there
// being no cheaper call that is as durable.
func Datasync(f *os.File) error { return f.Sync() }
