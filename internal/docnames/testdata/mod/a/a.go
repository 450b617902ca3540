// Package a names b.Exists, b.Missing, b.T.M and b.T.Gone; T.Field and
// T.Nope; realName, goneName and TestHelper; view.go and WireGuard, which
// are no identifiers. Code blocks are not read:
//
//	a.Whatever(codeOnly)
package a

// T is a type.
type T struct{ Field int }

var realName int
