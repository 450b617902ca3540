//go:build !linux

package conformance

import "context"

func (namespaces) Nodes(context.Context, *Env, int) ([]*Node, error) {
	return nil, Skip("network namespaces exist only on Linux")
}
