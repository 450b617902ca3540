// Command rustynet is the Rustynet node agent and operator CLI (SPEC §8):
// the daemon, the offline commands (key generation, quorum-signed
// membership governance over portable log files and node state
// directories, the access policy), the running node's status, a local
// demo, the plugin conformance suite, and the plugin mode that serves the
// built-in plugins.
//
//	rustynet [--json] key generate --kind approver|node --out FILE [--force]
//	rustynet [--json] key public FILE
//	rustynet [--json] membership init | propose-* | sign-update | unsign |
//	                  verify-update | apply-update | status | export |
//	                  verify-log | backup | restore ...
//	rustynet [--json] policy check | test | show ...
//	rustynet daemon [--config FILE]
//	rustynet [--json] status [--socket PATH | --config FILE] [--check]
//	rustynet service install [--config FILE] [--binary PATH] | uninstall | start | stop | status
//	rustynet [--json] version        (also: rustynet --version)
//	rustynet completion bash|zsh|fish|powershell
//	rustynet demo [--keep]
//	rustynet [--json] conformance --plugin PATH ... (see package conformance)
//
// Run `rustynet help` or `rustynet COMMAND -h` for every command's flags.
// Flags may come before or after positional arguments; `--` ends flags.
// Repeatable flags (--approver, --node, --address, --endpoint, --tag,
// --route) are given once per value.
//
// # Access policy
//
// The network's access policy is part of its signed membership (schema 2,
// docs/membership-encoding.md §13). `membership init` always writes one
// into the genesis (--policy FILE, or allow-members by default);
// `membership propose-set-policy --policy FILE` proposes a new one, and
// verify-update reviews it rule by rule. Policy files are TOML
// (docs/policy.md); `policy check` validates one and, with --from, finds
// what in it selects nothing; `policy test` says whether a connection is
// allowed and by which rule; `policy show` prints the signed policy as a
// file. A policy file's problems of form (syntax, unknown keys, types) are
// USAGE errors, values the engine refuses carry the engine's code; both
// name file:line.
//
// # Logs and state directories
//
// --from names a portable log file (a JSON array of signed updates) or a
// node state directory. A state directory is only ever reached through its
// store plugin, launched as a separate process exactly as the daemon
// launches it: the built-in store chosen by --store file|sqlite (default
// file), served by this binary in plugin mode, or an external plugin binary
// given by --store-plugin PATH and pinned by --store-plugin-sha256 HEX. The
// CLI process never opens a store's files or holds its lock. The trusted
// chain in the directory is verified by core/ledger on every open; its
// high-water mark lives outside the directory (--high-water FILE, default
// in the layout's high-water directory, core/paths: /var/lib/rustynet/highwater
// for root on Linux, else under $XDG_STATE_HOME/rustynet or
// ~/.local/state/rustynet) and detects a
// rollback of the whole directory. A directory that fails verification is in
// restricted-safe mode (docs/restricted-mode.md): verify-log and status
// report INTEGRITY_FAILURE, every other command refuses with
// RESTRICTED_MODE, and `membership restore` is the way out.
//
// # Output
//
// Results go to stdout: text for people, or one JSON object with --json
// (accepted before the command or as a flag of any command). A command
// without a result to print as JSON (daemon, demo, completion, the
// service commands, plugin mode) says why in its command.noJSON and
// refuses --json as a usage error; no command ignores it. Notes (for
// example that the genesis root was not pinned), then what plugins and the
// ledger logged at warning level or above, go to stderr, after any error
// line.
//
// `rustynet completion SHELL` prints a completion script for bash, zsh,
// fish or PowerShell, made from the command tree: commandInfos walks it
// and learns each leaf's flags by running it with env.describe set, so a
// new command or flag completes without further work.
//
// # Approvers
//
// A proposal (propose-*) is for the next epoch of the log's head and
// expires after --expires-in: 24h by default, day units allowed (7d,
// 1d12h), at most membership.DefaultLimits().MaxValidity (90d; longer is
// a usage error). `sign-update --from LOG|DIR` checks the signer against
// the update's approvers at the log's head before writing anything and
// then lists the signatures still missing; `unsign` removes a signature
// added by mistake. An update whose epoch another update took is
// STALE_EPOCH everywhere: it is proposed again and signed again.
//
// # Exit status and error codes
//
//	0  success
//	1  rejected: the trust engine refused the input, or the policy did
//	   (policy test denies, policy check has findings), or the daemon
//	   refused this user (FORBIDDEN: the message names whom it admits —
//	   root, the daemon's own user and the [control] group)
//	2  usage or input error
//	3  I/O or internal error; UNAVAILABLE (with a hint to retry) when the
//	   daemon or a plugin cannot serve the request now: a plugin is
//	   restarting or broken (its crash-loop breaker open), or the daemon
//	   is busy or ran out of time. It is transient: the same command may
//	   succeed a moment later; `rustynet status` says what the node is
//	   waiting for.
//
// On failure the first line on stderr is `error: CODE: message`, where the
// message puts what the command was doing (a file, a request) before the
// reason, joined by ": " (joinContext); a common failure has a second
// line, `hint: ` and the next step (LOCKED, STALE_EPOCH, a daemon that
// does not answer, UNAVAILABLE). With --json the error is instead one JSON
// object on one line of stderr, {"code", "message", "hint", "notes"}: the
// hint without its `hint: ` and the notes that would follow it. The rule
// that decides the code: whatever the trust engine judged carries the
// engine's stable code (membership.CodeOf) and exits 1 — including record
// files that are malformed or not canonical (NON_CANONICAL, UNKNOWN_SCHEMA,
// LIMIT_EXCEEDED), operations the engine refuses to propose
// (ILLEGAL_OPERATION, BAD_THRESHOLD, ...), a state directory that fails
// verification (INTEGRITY_FAILURE, also when its store finds its own files
// unreadable) and commands refused because of that (RESTRICTED_MODE).
// Errors of a store plugin carry the plugin contract's stable code
// (hostapi.Code): INVALID_ARGUMENT, NOT_FOUND, PERMISSION and UNSUPPORTED
// exit 2 (the plugin or state directory is unusable as named: e.g. a
// missing plugin binary, a SHA-256 pin mismatch, a directory open to other
// users), the others exit 3 (e.g. LOCKED: a running node holds the
// directory; UNAVAILABLE: the plugin died). Everything else carries a CLI
// code: POLICY_FINDINGS (exit 1: policy check found what selects nothing),
// POLICY_DENIED (exit 1: policy test's connection is denied),
// WRONG_PASSPHRASE (exit 2: the passphrase does not open an encrypted
// approver key, or the key file was altered), USAGE (exit
// 2: unknown flag or command, missing or malformed flag value or argument,
// an input file or state directory that does not exist or cannot be read,
// an input file that is not a regular file (/dev/zero, a FIFO) or is
// larger than such an input may be (every input file is read through
// internal/inputfile: bounded, and refused at once), an output file that
// already exists without --force, a private key file that group or
// others may access, an address the configuration has the daemon listen
// on that another program holds — named by its key, e.g. proxy.socks5,
// backend.listen_port, metrics.listen, control.socket), IO (exit 3: writing
// failed, or a file changed under us) or INTERNAL (exit 3).
//
// # Nothing changes on error
//
// Every file is written atomically (temp file in the same directory, fsync,
// rename or link, fsync of the directory) and only after all verification
// passed, so a failed or interrupted command leaves every file as it was.
// Files rewritten in place (sign-update, apply-update) are re-read just
// before the rename and left alone if they changed meanwhile. A state
// directory changes only through the ledger, which appends an update
// durably only once it verified; a directory that apply-update created for
// an update it then refused is removed again; restore moves the old
// directory aside (never deletes it) only after the new one is complete.
// Private key material is never printed or logged.
//
// # Plugin mode
//
// `rustynet plugin NAME` (hidden from the listings) serves the built-in
// plugin NAME (store-file, store-sqlite, ...) over the plugin handshake.
// The daemon and the CLI launch this binary that way whenever a built-in
// plugin is chosen, so built-in plugins always run as separate processes;
// run by hand, it exits 2 with an explanation. Its lifetime belongs to its
// host (see hostapi.ServeStore). Built-in plugins are listed in
// builtinPlugins in commands.go.
//
// # Adding commands
//
// The command tree is rootCommand in commands.go; a group lists its
// subcommands, a leaf has a run function that builds its own flag.FlagSet
// with env.flagSet and parses it with env.parse before it does anything
// else (completion relies on that). A leaf either prints its result as
// JSON under --json, with a case in TestEveryCommandJSON, or sets noJSON.
// Long-running modes (the daemon) must return when their ctx is
// cancelled: main cancels it on SIGINT and SIGTERM.
package main
