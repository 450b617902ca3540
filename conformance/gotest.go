package conformance

import (
	"context"
	"errors"
	"strings"
)

// TB is the part of *testing.T that RunStore and RunBackend use:
// *testing.T satisfies TB[*testing.T]. The package names no type of package
// testing, so that a binary built on it (the conformance CLI) does not link
// package testing.
type TB[T any] interface {
	Helper()
	Run(name string, f func(T)) bool
	Context() context.Context
	TempDir() string
	Log(args ...any)
	Error(args ...any)
	Fatal(args ...any)
	Skip(args ...any)
}

// RunStore runs the store suite against target with one subtest per case,
// named by the case's ID, so that `go test -run 'TestX/store.append'`
// selects cases. A case whose needs the target does not meet is skipped with
// the reason; a failing MUST case fails its subtest; a failing SHOULD case
// is skipped with "SHOULD not met" and its message, since recommendations
// never fail a plugin (unless opts asks for Strict). Call it from a
// plugin's own tests:
//
//	func TestConformance(t *testing.T) {
//		conformance.RunStore(t, conformance.StoreTarget{New: func() hostapi.Store { return mystore.New(nil) }})
//	}
//
// opts, at most one, adjusts the run as Options says; its TempDir and
// Progress belong to the front end and are ignored.
func RunStore[T TB[T]](t T, target StoreTarget, opts ...Options) {
	t.Helper()
	l, err := storeLauncher(target)
	if err != nil {
		t.Fatal(err)
	}
	o := goTestOptions(t, opts)
	s, err := newSession(t.Context(), KindStore, l, nil, nil, o)
	if err != nil {
		t.Fatal(err)
	}
	runSubtests(t, s)
}

// RunBackend runs the backend suite against target, as RunStore does for a
// store. Traffic cases run on target.Topology (Loopback when nil): give a
// backend with an OS interface isolated nodes (Namespaces) so that two
// instances can carry traffic; where that is impossible they skip, saying
// why.
func RunBackend[T TB[T]](t T, target BackendTarget, opts ...Options) {
	t.Helper()
	s, err := backendSession(t.Context(), target, goTestOptions(t, opts))
	if err != nil {
		t.Fatal(err)
	}
	runSubtests(t, s)
}

// goTestOptions returns the options of a go test front end: the caller's,
// if any, with the test's own temporary directory.
func goTestOptions[T TB[T]](t T, opts []Options) Options {
	t.Helper()
	var o Options
	switch len(opts) {
	case 0:
	case 1:
		o = opts[0]
	default:
		t.Fatal("conformance: more than one Options")
	}
	o.TempDir, o.Progress = t.TempDir(), nil
	return o
}

func runSubtests[T TB[T]](t T, s *session) {
	t.Helper()
	defer s.close()
	for _, c := range s.cases() {
		t.Run(c.ID, func(t T) {
			r := s.runCase(t.Context(), c)
			for _, line := range r.Log {
				t.Log(line)
			}
			switch {
			case r.Status == StatusSkip:
				t.Skip(r.Message)
			case r.Status == StatusFail && (r.Level == Must || s.opts.Strict):
				t.Error(errors.New(r.Level.String() + " " + c.ID + ": " + c.Rule + "\n" + indent(r.Message)))
			case r.Status == StatusFail:
				t.Skip("SHOULD not met (" + c.Rule + "): " + r.Message)
			}
		})
	}
}

func indent(s string) string { return "    " + strings.ReplaceAll(s, "\n", "\n    ") }
