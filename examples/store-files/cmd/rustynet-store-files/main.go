// Command rustynet-store-files serves the example store (package
// storefiles) as a Rustynet store plugin. A Rustynet host launches it; run
// by hand, it explains that and exits.
package main

import (
	storefiles "github.com/rustynet/rustynet/examples/store-files"
	"github.com/rustynet/rustynet/hostapi"
)

func main() {
	hostapi.ServeStoreFunc(func() hostapi.Store { return &storefiles.Store{} })
}
