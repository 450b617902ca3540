// Command rustynet is the Rustynet operator CLI (SPEC §8). This build holds
// the offline commands: key generation and quorum-signed membership
// governance over portable log files.
//
//	rustynet [--json] key generate --kind approver|node --out FILE [--force]
//	rustynet [--json] key public FILE
//	rustynet [--json] membership init | propose-* | sign-update |
//	                  verify-update | apply-update | status | export ...
//
// Run `rustynet help` or `rustynet COMMAND -h` for every command's flags.
// Flags may come before or after positional arguments; `--` ends flags.
// Repeatable flags (--approver, --node, --address, --endpoint, --tag,
// --route) are given once per value.
//
// # Output
//
// Results go to stdout: text for people, or one JSON object with --json
// (accepted before the command or as a flag of any command). Notes (for
// example that the genesis root was not pinned) go to stderr, after any
// error line.
//
// # Exit status and error codes
//
//	0  success
//	1  rejected: the trust engine refused the input
//	2  usage or input error
//	3  I/O or internal error
//
// On failure the first line on stderr is `error: CODE: message`. The rule
// that decides the code: whatever the trust engine judged carries the
// engine's stable code (membership.CodeOf) and exits 1 — including record
// files that are malformed or not canonical (NON_CANONICAL, UNKNOWN_SCHEMA,
// LIMIT_EXCEEDED), and operations the engine refuses to propose
// (ILLEGAL_OPERATION, BAD_THRESHOLD, ...). Everything the engine never got to
// judge carries a CLI code: USAGE (exit 2: unknown flag or command, missing
// or malformed flag value or argument, an input file that does not exist or
// cannot be read, an output file that already exists without --force, a
// private key file that group or others may access), IO (exit 3: writing
// failed, or a file changed under us) or INTERNAL (exit 3).
//
// # Nothing changes on error
//
// Every file is written atomically (temp file in the same directory, fsync,
// rename or link, fsync of the directory) and only after all verification
// passed, so a failed or interrupted command leaves every file as it was.
// Files rewritten in place (sign-update, apply-update) are re-read just
// before the rename and left alone if they changed meanwhile. Private key
// material is never printed or logged.
//
// # Adding commands
//
// The command tree is rootCommand in commands.go; a group lists its
// subcommands, a leaf has a run function that builds its own flag.FlagSet
// with env.flagSet and parses it with env.parse. Long-running modes (the
// daemon, plugin serving) must return when their ctx is cancelled: main
// cancels it on SIGINT and SIGTERM.
package main
