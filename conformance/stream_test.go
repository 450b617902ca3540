package conformance_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/rustynet/rustynet/conformance"
	"github.com/rustynet/rustynet/hostapi"
	"github.com/rustynet/rustynet/hostapi/hostapitest"
)

// TestTextStream runs two cases with a TextStream on Options.Started and
// Options.Progress: when the second case runs, the header and the first
// case's line are already written, and not its own; at the end the stream
// holds exactly what WriteText writes for the finished report.
func TestTextStream(t *testing.T) {
	var out strings.Builder // written by the engine's goroutine between cases, read by a case
	ts := conformance.NewTextStream(&out, false)
	var during string
	cases := []conformance.Case{
		{ID: "stream.first", Level: conformance.Must, Rule: "passes",
			Run: func(context.Context, *conformance.Env) error { return nil }},
		{ID: "stream.second", Level: conformance.Should, Rule: "fails, having seen the report so far",
			Run: func(context.Context, *conformance.Env) error { during = out.String(); return errors.New("as it must") }},
	}
	disk := hostapitest.NewDisk()
	rep, err := conformance.RunStoreSuite(t.Context(), conformance.StoreTarget{Name: "double", New: func() hostapi.Store { return disk.NewStore() }},
		conformance.Options{Cases: cases, Started: ts.Header, Progress: ts.Case, TempDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	if err := ts.Summary(rep); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(during, "conformance: store plugin double\n") || !strings.Contains(during, "PASS MUST   stream.first ") ||
		strings.Contains(during, "stream.second") {
		t.Errorf("while the second case ran, the stream held:\n%s\nwant the header and the first case's line only", during)
	}
	var whole strings.Builder
	if err := rep.WriteText(&whole, false); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(whole.String(), out.String()); diff != "" {
		t.Errorf("the stream differs from WriteText (-WriteText +stream):\n%s", diff)
	}
}
