// Command rustynet-backend-wgtun is the wgtun backend plugin: wireguard-go on
// a TUN device of the operating system. The Rustynet daemon launches it; run
// by hand it explains that and exits.
package main

import (
	"github.com/rustynet/rustynet/hostapi"
	wgtun "github.com/rustynet/rustynet/plugins/backend-wgtun"
)

func main() {
	hostapi.ServeBackendFunc(func() hostapi.Backend { return wgtun.New(hostapi.PluginLogger()) })
}
