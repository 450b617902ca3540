//go:build !linux

package netnstest

// Available reports whether this host can create network namespaces. They
// exist only on Linux.
func Available() (reason string, ok bool) {
	return "network namespaces exist only on Linux", false
}
