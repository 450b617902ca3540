// Command rustynet-backend-netstack is the rootless netstack backend plugin:
// the Rustynet daemon launches it and speaks to it over go-plugin (gRPC).
// It writes nothing to stdout, which carries the plugin handshake; its logs
// go to stderr and reach the daemon's log.
package main

import (
	"github.com/rustynet/rustynet/hostapi"
	netstack "github.com/rustynet/rustynet/plugins/backend-netstack"
)

func main() {
	hostapi.ServeBackendFunc(func() hostapi.Backend { return netstack.New(hostapi.PluginLogger()) })
}
