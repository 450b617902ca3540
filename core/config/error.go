package config

import "strconv"

// Error is a problem with a configuration: where it is and what is wrong.
// Every error Parse, Load, Validate and ReadPrivateKey return for a bad
// configuration is an *Error.
type Error struct {
	File string // the configuration file's name as given to Load or Parse
	Line int    // 1-based line of the key's value; 0 if unknown
	Key  string // dotted TOML key, e.g. "proxy.forward.listen"; empty for syntax errors without one
	Msg  string
}

// Error returns "file:line: key: msg", leaving out ":line" when the line is
// unknown and "key: " when there is no key.
func (e *Error) Error() string {
	s := e.File
	if e.Line > 0 {
		s += ":" + strconv.Itoa(e.Line)
	}
	s += ": "
	if e.Key != "" {
		s += e.Key + ": "
	}
	return s + e.Msg
}
