package storefile

import (
	"os"

	"github.com/rustynet/rustynet/internal/atomicfile"
	"github.com/rustynet/rustynet/plugins/internal/statedir"
)

// writeFrame writes one frame to tmp, syncs it and renames it over final.
// The caller syncs the directory to make the rename durable. On error the
// temp file is removed and final is untouched.
func writeFrame(tmp, final string, magic [4]byte, index uint64, data []byte) error {
	hdr := encodeHeader(magic, index, data)
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return statedir.PathError("create", tmp, err)
	}
	if err := writeSyncClose(f, hdr[:], data); err != nil {
		os.Remove(tmp)
		return statedir.PathError("write", tmp, err)
	}
	if err := atomicfile.Rename(tmp, final); err != nil {
		os.Remove(tmp)
		return statedir.PathError("rename", tmp, err)
	}
	return nil
}

// writeSyncClose writes hdr and data to f, syncs and closes it; f is closed
// whatever happens.
func writeSyncClose(f *os.File, hdr, data []byte) error {
	_, err := f.Write(hdr)
	if err == nil {
		_, err = f.Write(data)
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}
