// Command rustynet-store-file is the file-backed Rustynet store plugin (see
// package storefile). The Rustynet daemon launches it; run by hand it
// explains that and exits.
package main

import (
	"github.com/rustynet/rustynet/hostapi"
	storefile "github.com/rustynet/rustynet/plugins/store-file"
)

func main() {
	hostapi.ServeStoreFunc(func() hostapi.Store { return storefile.New(hostapi.PluginLogger()) })
}
