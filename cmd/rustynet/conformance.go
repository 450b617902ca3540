package main

import (
	"context"
	"errors"

	"github.com/rustynet/rustynet/conformance"
	"github.com/rustynet/rustynet/hostapi"
)

func conformanceCommand() *command {
	return &command{
		name:    "conformance",
		args:    "(--plugin PATH [--args ARGS] | --reattach LINE) [--kind store|backend] [--run REGEX] [--level must|should] [--format text|json|junit | --json] [--out FILE]",
		summary: "certify a plugin binary against the shared conformance suite",
		help: "Launches the plugin exactly as the daemon does and runs every case that\n" +
			"applies to it (see --list). The text report shows each case as it ends;\n" +
			"--json (or --format json) prints the JSON report at the end. Exit 0 when\n" +
			"every MUST case passes, 1 on a MUST failure, 2 when the plugin cannot be\n" +
			"launched. docs/plugin-authors.md explains the cases and the report.",
		run: runConformance,
	}
}

// runConformance runs the conformance command line (conformance.Run),
// with the CLI's --json and its way of reporting errors.
func runConformance(ctx context.Context, e *env, args []string) error {
	if e.describe != nil {
		e.describe(conformance.Flags())
		return errHelpShown
	}
	if e.json {
		args = append([]string{"--json"}, args...)
	}
	code, err := conformance.Run(ctx, args, e.stdout, e.stderr)
	if err != nil {
		return conformanceError(e, code, err)
	}
	if code != 0 {
		return exitStatus(code)
	}
	return nil
}

// conformanceError reports an error of conformance.Run with its exit
// status: the command line is USAGE; a plugin that cannot be launched
// (conformance.LaunchError) carries the plugin contract's code when it
// has one, and that and a report that cannot be written are IO otherwise.
func conformanceError(e *env, exit int, err error) error {
	var ue *conformance.UsageError
	if errors.As(err, &ue) {
		ce := asCLIError(e.usagef("%v", ue.Err))
		ce.exit = exit
		return ce
	}
	var he *hostapi.Error
	if errors.As(err, &he) {
		return &cliError{code: he.Code.String(), exit: exit, msg: withoutCode(err, he.Code)}
	}
	return &cliError{code: codeIO, exit: exit, msg: err.Error()}
}
