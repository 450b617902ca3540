// Command rustynet-backend-wgkernel is the wgkernel backend plugin: Linux
// kernel WireGuard, configured over netlink. The Rustynet daemon launches
// it; run by hand it explains that and exits. On other systems it serves a
// backend that reports kernel WireGuard as unsupported.
package main

import (
	"github.com/rustynet/rustynet/hostapi"
	wgkernel "github.com/rustynet/rustynet/plugins/backend-wgkernel"
)

func main() {
	hostapi.ServeBackendFunc(func() hostapi.Backend { return wgkernel.New(hostapi.PluginLogger()) })
}
