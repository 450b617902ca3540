// Command rustynet-store-sqlite is the SQLite-backed Rustynet store plugin
// (see package storesqlite). The Rustynet daemon launches it; run by hand it
// explains that and exits.
package main

import (
	"github.com/rustynet/rustynet/hostapi"
	storesqlite "github.com/rustynet/rustynet/plugins/store-sqlite"
)

func main() {
	hostapi.ServeStoreFunc(func() hostapi.Store { return storesqlite.New(hostapi.PluginLogger()) })
}
