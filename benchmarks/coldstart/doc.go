// Package coldstart holds the cold-start benchmark (in its test files): a
// node starting up re-verifies its whole log through its store plugin. It
// is a package of its own because one operation takes seconds, so it is
// run with its own -benchtime (see ../README.md), apart from the apply
// benchmarks that need hundreds of iterations.
package coldstart
