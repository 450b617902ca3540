//go:build unix

package controlapi

import (
	"context"
	"net"
)

// dial connects to the control socket at path.
func dial(ctx context.Context, path string) (net.Conn, error) {
	var d net.Dialer
	return d.DialContext(ctx, "unix", path)
}
