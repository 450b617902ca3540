//go:build unix

package statedir

import "github.com/rustynet/rustynet/hostapi"

// Unix permission bits and ownership are enforced (see fileperm).
const permCapability = hostapi.StoreCapPermissions
