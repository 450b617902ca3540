// Command rustynet-conformance runs the Rustynet plugin conformance suite
// against a plugin binary, as `rustynet conformance` does:
//
//	rustynet-conformance --plugin ./my-store [--format json --out report.json]
//
// Run with -h for every flag. It exits 0 when every MUST case passes, 1 when
// one fails, and 2 when the plugin cannot be launched or the command line is
// wrong.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/rustynet/rustynet/conformance"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := conformance.Main(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
