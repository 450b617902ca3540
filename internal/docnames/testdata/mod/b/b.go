// Package b declares what package a's doc names.
package b

// Exists exists.
func Exists() {}

// T is a type.
type T struct{}

// M is a method.
func (T) M() {}
