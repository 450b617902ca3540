//go:build !linux

package main

import "testing"

// makeReadOnly does nothing here: the test checks that nothing is created.
func makeReadOnly(t *testing.T, root string) {}
