package atomicfile

import "golang.org/x/sys/windows"

// SyncDir does nothing: Windows cannot sync a directory, so Rename
// asks for write-through instead.
func SyncDir(string) error { return nil }

// Rename atomically replaces newpath with oldpath and returns only
// when the rename is on disk (MOVEFILE_WRITE_THROUGH): Windows cannot
// sync a directory.
func Rename(oldpath, newpath string) error {
	from, err := windows.UTF16PtrFromString(oldpath)
	if err != nil {
		return err
	}
	to, err := windows.UTF16PtrFromString(newpath)
	if err != nil {
		return err
	}
	return windows.MoveFileEx(from, to, windows.MOVEFILE_REPLACE_EXISTING|windows.MOVEFILE_WRITE_THROUGH)
}
