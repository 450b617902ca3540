package statedir

import "golang.org/x/sys/windows"

// Rename atomically replaces newpath with oldpath and does not return until
// the rename is on disk (MOVEFILE_WRITE_THROUGH), since Windows cannot sync a
// directory.
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
