//go:build !unix

package statedir

import (
	"io/fs"

	"github.com/rustynet/rustynet/hostapi"
)

// Permission bits carry no access control here (Windows keeps it in ACLs),
// so nothing is enforced and the capability is not advertised.
const permCapability hostapi.StoreCapabilities = 0

func checkMode(string, fs.FileInfo) error { return nil }
