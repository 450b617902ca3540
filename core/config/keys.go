package config

import "fmt"

// This file is the one list of the configuration's tables and keys. The
// decoder rejects every key of a file that is not here (checkUnknown) and
// reports the required ones missing; schema.go, which reads and checks the
// values, may ask for no other key (the decoder panics on one, so any test
// that reaches the code finds it); and docs/configuration.md documents
// exactly these tables and keys, these required, with types and defaults
// the decoder agrees with (reference_test.go).

// tableSpec is a table of the configuration and the values it may hold.
type tableSpec struct {
	name     string   // dotted, e.g. "proxy.forward"; its parent is declared too
	array    bool     // an array of tables, [[name]]: zero or more elements
	keys     []string // the keys holding values
	required []string // those of keys the table (each element) must set
}

// tableSpecs are the configuration's tables.
var tableSpecs = []tableSpec{
	{name: "node", keys: []string{"id", "private_key_file", "state_dir", "high_water_file"},
		required: []string{"id", "private_key_file"}},
	{name: "membership", keys: []string{"genesis_file", "genesis_root", "feed", "feed_mirrors", "feed_interval", "max_clock_skew", "max_update_age",
		"sync_port", "sync_interval"},
		required: []string{"genesis_root"}},
	{name: "store", keys: []string{"kind", "plugin", "plugin_sha256"}},
	{name: "backend", keys: []string{"kind", "plugin", "plugin_sha256", "interface", "listen_port", "mtu", "persistent_keepalive", "uapi"}},
	{name: "proxy", keys: []string{"socks5", "http", "dns", "allow_non_loopback", "username", "password_file"}},
	{name: "proxy.forward", array: true, keys: []string{"proto", "listen", "target"},
		required: []string{"listen", "target"}},
	{name: "proxy.expose", array: true, keys: []string{"proto", "port", "target"},
		required: []string{"port", "target"}},
	{name: "routing", keys: []string{"accept_routes", "exit_node", "serve", "masquerade"}},
	{name: "control", keys: []string{"socket", "group"}},
	{name: "daemon", keys: []string{"exit_on_broken_plugin"}},
	{name: "log", keys: []string{"level", "format"}},
	{name: "metrics", keys: []string{"listen", "allow_non_loopback"}},
}

// The dotted keys of tableSpecs, for the decoder.
var (
	tablesByName = map[string]*tableSpec{} // every table
	valueKeys    = map[string]bool{}       // every key holding a value
	knownKeys    = map[string]bool{}       // both: every key a file may hold
)

func init() {
	for i := range tableSpecs {
		t := &tableSpecs[i]
		tablesByName[t.name], knownKeys[t.name] = t, true
		for _, k := range t.keys {
			valueKeys[t.name+"."+k], knownKeys[t.name+"."+k] = true, true
		}
	}
}

// tableSpecFor returns the table at key, which schema.go reads as an array
// of tables or not. Asking for a table that is not declared so is a bug of
// this package.
func tableSpecFor(key string, array bool) *tableSpec {
	t := tablesByName[key]
	if t == nil || t.array != array {
		panic(fmt.Sprintf("config: schema.go reads table %s (array: %v), which keys.go does not declare", key, array))
	}
	return t
}

// mustBeValueKey panics unless key is declared as holding a value.
func mustBeValueKey(key string) {
	if !valueKeys[key] {
		panic(fmt.Sprintf("config: schema.go reads key %s, which keys.go does not declare", key))
	}
}
