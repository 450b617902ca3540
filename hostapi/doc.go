// Package hostapi is the versioned contract between the Rustynet core and its
// plugins: the Store and Backend interfaces, the values they exchange, the
// stable error codes that cross the process boundary, and the helpers a plugin
// author calls to serve a plugin over hashicorp/go-plugin (gRPC only, mutual
// TLS with P-256 certificates that each side pins; see mtls.go).
//
// The contract is versioned as a whole by ProtocolVersion. A plugin and a host
// negotiate the highest version both speak during the go-plugin handshake; a
// change that an older peer could misread bumps the version.
//
// Plugin lifecycle, for both kinds:
//
//  1. The host launches the plugin binary; the plugin calls ServeStore or
//     ServeBackend, which takes over stdout for the handshake before any user
//     code can write to it.
//  2. The host calls Info, then Open (stores) or Configure (backends).
//  3. The host calls the other methods, possibly concurrently; every method
//     takes ctx first and returns promptly when ctx is done.
//  4. The host calls Close. After Close every other method returns ErrClosed.
//     A plugin whose host dies exits on its own.
//
// Hosts reach plugins three ways, all across the same gRPC services:
// LaunchStore/LaunchBackend start the binary as the daemon does;
// ServeStoreTest/ServeBackendTest serve an implementation inside the
// calling process (tests, the conformance suite's in-process targets); and
// ReattachStore/ReattachBackend connect to a plugin a person started in
// reattach mode (EnvReattach), for example under a debugger.
//
// hostapi imports nothing that speaks WireGuard, gVisor or netlink, so a
// plugin author (and the core) can depend on it without pulling a transport.
package hostapi

// ProtocolVersion is the version of this contract that this package speaks.
const ProtocolVersion = 1
