//go:build !unix

package statedir

import "github.com/rustynet/rustynet/hostapi"

// Permission bits carry no access control here (Windows keeps it in ACLs),
// so only entry types are checked and the capability is not advertised.
const permCapability hostapi.StoreCapabilities = 0
