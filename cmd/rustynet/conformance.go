package main

import (
	"context"

	"github.com/rustynet/rustynet/conformance"
)

func conformanceCommand() *command {
	return &command{
		name:    "conformance",
		args:    "(--plugin PATH [--args ARGS] | --reattach LINE) [--kind store|backend] [--run REGEX] [--level must|should] [--format text|json|junit] [--out FILE]",
		summary: "certify a plugin binary against the shared conformance suite",
		help: "Launches the plugin exactly as the daemon does and runs every case that\n" +
			"applies to it (see --list). Exit 0 when every MUST case passes, 1 on a\n" +
			"MUST failure, 2 when the plugin cannot be launched. docs/plugin-authors.md\n" +
			"explains the cases and the report.",
		run: func(ctx context.Context, e *env, args []string) error {
			if code := conformance.Main(ctx, args, e.stdout, e.stderr); code != 0 {
				return exitStatus(code)
			}
			return nil
		},
	}
}
