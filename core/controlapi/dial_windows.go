package controlapi

import (
	"context"
	"net"

	"github.com/Microsoft/go-winio"
)

// dial connects to the control pipe at path.
func dial(ctx context.Context, path string) (net.Conn, error) {
	return winio.DialPipeContext(ctx, path)
}
