// Package controlapi is the local control API between the rustynet CLI and
// the daemon: HTTP/1.1 with JSON bodies over a Unix socket, or a named pipe
// on Windows.
//
// Endpoints:
//
//	GET  /v1/status[?peers=all|summary|none] → Status: every peer (all), their
//	                                        sum (PeerSummary) or neither; with
//	                                        summary or none, the host routes
//	                                        counted (InterfaceStatus.HostRoutes),
//	                                        not listed; the reply's Server-Timing
//	                                        header (gather;dur=…, encode;dur=…,
//	                                        milliseconds) says what it cost the
//	                                        daemon
//	POST /v1/apply-update[?dry_run=true]  signed update (its JSON file, as is) → ApplyResult
//	GET  /v1/log?from=N                   → LogPage: the head, and the trusted entries of
//	                                        epochs N, N+1, … (at most MaxLogEntries, and
//	                                        MaxLogPageBytes past the first)
//
// The log is served for the CLI to read membership from the local node
// (`rustynet membership status` with no --from): the CLI verifies it from
// its genesis, against the genesis root it pins itself, exactly as it
// verifies a log file — the daemon is not trusted more than a file.
//
// Failures are {"code": CODE, "message": "…"} with HTTP status 422 and the
// membership error code (THRESHOLD_NOT_MET, RESTRICTED_MODE, …) for a
// verification rejection, else 400 USAGE, 403 FORBIDDEN, 413 USAGE (body over
// MaxUpdateBytes), 503 UNAVAILABLE or 500 INTERNAL. Client turns them back
// into *membership.Error and *Error.
//
// UNAVAILABLE (503, with Retry-After) means "not now, retry": a plugin is
// restarting, broken (its crash-loop breaker open) or closing — a
// hostapi UNAVAILABLE or CLOSED error from the daemon, however wrapped —
// the server is at one of its Limits, or the request's deadline passed.
// The request did not take effect unless its deadline passed mid-apply;
// an update retried after that is refused as REPLAYED_UPDATE if it had.
//
// Bounds (Limits): at most MaxConns connections are held — at the limit
// the one waiting longest without a request in progress (idle, or still
// sending its header: slowloris) is evicted with a 503, and if every one
// has a request in progress the newcomer gets the 503; headers are read
// within HeaderTimeout and at most 64 KiB (431 beyond); at most
// MaxBodyBytes of update bodies are held at once across requests, a body
// that does not fit being refused before it is read; the daemon's work on
// a request is cut at RequestTimeout. A refusal or failure is logged at
// most once per LogInterval, with the count of its repeats.
//
// Who may connect is decided from the kernel's peer credentials of each
// connection (SO_PEERCRED on Linux, LOCAL_PEERCRED on macOS), not only from
// the socket's file mode: root, the daemon's own user and, if configured,
// members of one group (see NewAuthorizer); a refusal names exactly these.
// On Windows the pipe's security descriptor admits only SYSTEM,
// Administrators and the daemon's own user.
package controlapi
