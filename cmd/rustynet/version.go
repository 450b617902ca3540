package main

import (
	"context"
	"fmt"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/rustynet/rustynet/core/controlapi"
	"github.com/rustynet/rustynet/hostapi"
	"github.com/rustynet/rustynet/internal/version"
)

func versionCommand() *command {
	return &command{
		name:    "version",
		args:    "",
		summary: "print this binary's version (also: rustynet --version)",
		help: "Prints the module version, the VCS revision and build date, the Go\n" +
			"version, the platform and the plugin protocol versions this binary\n" +
			"speaks. Built-in and standalone plugins built from the same source\n" +
			"report the same version in their Info, which `rustynet status` shows.",
		run: runVersion,
	}
}

// versionReport is `rustynet version --json`.
type versionReport struct {
	version.Info
	Platform  string `json:"platform"`
	Protocols []int  `json:"plugin_protocols"`
}

func runVersion(_ context.Context, e *env, args []string) error {
	fs := e.flagSet()
	if _, err := e.parse(fs, args, 0); err != nil {
		return err
	}
	return e.printVersion()
}

// printVersion prints this binary's version, as text or JSON.
func (e *env) printVersion() error {
	r := versionReport{Info: version.Get(), Platform: runtime.GOOS + "/" + runtime.GOARCH, Protocols: []int{hostapi.ProtocolVersion}}
	if e.json {
		return e.printJSON(r)
	}
	w := e.stdout
	fmt.Fprintf(w, "rustynet %s\n", r.Version)
	if r.Revision != "" {
		mod := ""
		if r.Modified {
			mod = " (modified)"
		}
		fmt.Fprintf(w, "revision  %s%s\n", r.Revision, mod)
	}
	if !r.Date.IsZero() {
		fmt.Fprintf(w, "built     %s\n", r.Date.Format(time.RFC3339))
	}
	fmt.Fprintf(w, "go        %s %s\n", r.GoVersion, r.Platform)
	fmt.Fprintf(w, "plugins   protocol %s\n", joinInts(r.Protocols))
	return nil
}

// buildLine is the daemon's build in one line, for status.
func buildLine(b controlapi.BuildStatus) string {
	in := version.Info{Version: b.Version, Revision: b.Revision, Modified: b.Modified, Date: b.Date, GoVersion: b.GoVersion}
	return fmt.Sprintf("%s, plugin protocol %s", in, joinInts(b.Protocols))
}

func joinInts(xs []int) string {
	s := make([]string, len(xs))
	for i, x := range xs {
		s[i] = strconv.Itoa(x)
	}
	return strings.Join(s, ", ")
}
