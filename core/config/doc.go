// Package config reads a node's TOML configuration. Every table and key,
// its type, default and meaning, is in docs/configuration.md; keys.go is
// the one list of them, which the decoder accepts and nothing else, and a
// test checks that the reference documents exactly those, with their
// types and defaults. Defaults make a rootless node work with only these
// keys set:
//
//	[node]
//	id = "n1"                      # the node's id in the membership
//	private_key_file = "n1.key"    # WireGuard private key (wg genkey), mode 0600
//
//	[membership]
//	genesis_file = "genesis.json"  # the signed genesis
//	genesis_root = "<64 hex>"      # the pinned genesis root
//
// Without --config, `rustynet daemon` reads the layout's configuration
// file: /etc/rustynet/rustynet.toml for root on Linux (see core/paths for
// every platform), else $XDG_CONFIG_HOME/rustynet/rustynet.toml.
//
// # Problems
//
// Decoding is strict: an unknown key (keys are compared exactly, case
// included), a value of the wrong type or out of range, a malformed
// duration, address, hash or enum value, or a missing required key is an
// *Error naming the file, the line and the key. Decoding does not stop at
// the first: Parse and Load return an ErrorList of every problem in the
// text, in the order of the file, and only a syntax error, which ends
// parsing, comes alone. Relative paths are resolved against the directory
// of the configuration file.
//
// Parse and Load look at nothing but the configuration text; Validate checks
// the files the configuration names (existence, the private key's mode, the
// control group), and Check does both at once, for `rustynet config check`.
// Load reads only a regular file of at most MaxFileBytes, and
// ReadPrivateKey one of at most MaxKeyFileBytes (internal/inputfile):
// `--config /dev/zero` or a FIFO is refused at once, naming the file.
//
// # Lines
//
// The TOML parser in use, github.com/BurntSushi/toml, knows every key's
// position but reports it only in the error of a value that fails to
// decode, so position.go finds a key's line by decoding the text once more
// into a type built to fail at that key. github.com/pelletier/go-toml/v2
// (v2.4.3) was weighed instead. Its strict mode reports every unknown key
// with its line, arrays of tables included, but helps with nothing else
// here: it matches keys to struct fields case-insensitively, as the parser
// in use does (ID = "x" sets id without a word), so the exact comparison
// stays; decoding stops at the first value of a wrong type, with a message
// naming Go struct types; and the problems of values (ranges, enums,
// required keys, checks between keys) get no position at all. Positions
// for those would come from its unstable parser package, whose API is
// exempt from semantic versioning, and the syntax errors' texts would
// change. core/policy would keep the present parser, so the binary would
// carry two. So the present parser and the re-decoding stay: they give
// every message with its line, at the cost of one file.
package config
