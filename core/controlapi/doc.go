// Package controlapi is the local control API between the rustynet CLI and
// the daemon: HTTP/1.1 with JSON bodies over a Unix socket, or a named pipe
// on Windows.
//
// Endpoints:
//
//	GET  /v1/status                       → Status
//	POST /v1/apply-update[?dry_run=true]  signed update (its JSON file, as is) → ApplyResult
//
// Failures are {"code": CODE, "message": "…"} with HTTP status 422 and the
// membership error code (THRESHOLD_NOT_MET, RESTRICTED_MODE, …) for a
// verification rejection, else 400 USAGE, 403 FORBIDDEN, 413 USAGE (body over
// MaxUpdateBytes), 503 UNAVAILABLE or 500 INTERNAL. Client turns them back
// into *membership.Error and *Error.
//
// Who may connect is decided from the kernel's peer credentials of each
// connection (SO_PEERCRED on Linux, LOCAL_PEERCRED on macOS), not only from
// the socket's file mode: root, the daemon's own user and, if configured,
// members of one group (see NewAuthorizer). On Windows the pipe's security
// descriptor admits only SYSTEM, Administrators and the daemon's own user.
package controlapi
