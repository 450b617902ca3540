// Package netnstest builds throw-away Linux network namespaces for tests:
// named namespaces (New) joined by veth pairs (Connect), commands (Run,
// Start) and Go functions (Namespace.Do) run inside them, echo services
// (EchoTCP, EchoUDP), and copies of the test binary re-executed inside them
// (StartChild, ChildArgs; the test package's TestMain calls Main). It is
// the testing wrapper of internal/netnamespace, which enters namespaces and
// joins them, and which the conformance suite uses without package testing. Everything is removed in t.Cleanup, also
// when the test fails or panics; tests skip, with the reason Available
// gives, only where namespaces cannot be made (not root, no iproute2).
//
// Names carry the test process's pid (UniqueName), so test binaries running
// in parallel never collide, and namespaces left behind by a test process
// that was killed are removed by the next one.
//
// A Go function run with Namespace.Do executes on an OS thread that has
// entered the namespace (and leaves it afterwards); sockets it opens belong
// to the namespace for their whole life, whichever goroutine later uses
// them. Goroutines it starts do not inherit the namespace. Code that opens
// sockets from its own goroutines (wireguard-go does, whenever an interface
// comes up) must run in a child process started inside the namespace
// instead.
//
// Network namespaces exist only on Linux; elsewhere Available reports false.
package netnstest
