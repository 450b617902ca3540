// Command stdout-writer is a deliberately broken store plugin for the
// conformance suite's own tests: the example store, except that Info
// prints to stdout while the plugin serves. hostapi keeps such output out
// of the protocol, but a plugin must not write it.
package main

import (
	"context"
	"fmt"

	storefiles "github.com/rustynet/rustynet/examples/store-files"
	"github.com/rustynet/rustynet/hostapi"
)

type store struct{ *storefiles.Store }

func (s store) Info(ctx context.Context) (hostapi.StoreInfo, error) {
	fmt.Println("stray output from Info")
	return s.Store.Info(ctx)
}

func main() { hostapi.ServeStore(store{Store: &storefiles.Store{}}) }
