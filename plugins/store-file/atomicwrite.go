package storefile

import (
	"github.com/rustynet/rustynet/internal/atomicfile"
	"github.com/rustynet/rustynet/plugins/internal/statedir"
)

// writeFrame writes one frame to the temp file tmp in dir, syncs it and
// renames it over final, never through a symbolic link (see
// atomicfile.Dir). The caller syncs the directory to make the rename
// durable. On error the temp file is removed and final is untouched.
func writeFrame(dir *atomicfile.Dir, tmp, final string, magic [4]byte, index uint64, data []byte) error {
	hdr := encodeHeader(magic, index, data)
	if err := dir.Replace(tmp, final, 0o600, hdr[:], data); err != nil {
		return statedir.PathError("write", dir.Path(), err)
	}
	return nil
}
