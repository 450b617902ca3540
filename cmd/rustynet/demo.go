package main

import (
	"context"
	"errors"
	"os"

	"github.com/rustynet/rustynet/cmd/rustynet/internal/demo"
	"github.com/rustynet/rustynet/core/controlapi"
)

func demoCommand() *command {
	return &command{
		name:    "demo",
		args:    "[--keep]",
		summary: "run a local rootless mesh of real nodes and show what governance does",
		help: "Creates approver and node keys and a 2-of-3 genesis in a temporary\n" +
			"directory, starts three node daemons (netstack backend, file store,\n" +
			"each plugin a separate process) on 127.0.0.1, sends HTTP across the\n" +
			"mesh, adds a fourth node by a signed update, shows a forged update\n" +
			"refused, revokes a node and shows its traffic refused. It needs no root\n" +
			"and no configuration, leaves nothing behind (unless --keep), and exits\n" +
			"0 only if every step did what it should.\n\n" +
			"--keep keeps the directory as a network to govern by hand: the approvers'\n" +
			"keys, every signed update, the log, each node's configuration and state,\n" +
			"and governance.sh, the steps as CLI commands.",
		noJSON: "the demo narrates its steps for a person; its exit status is the verdict",
		run:    runDemo,
	}
}

func runDemo(ctx context.Context, e *env, args []string) error {
	fs := e.flagSet()
	keep := fs.Bool("keep", false, "keep the temporary directory: keys, updates, the log, configurations, logs and the steps as CLI commands")
	if _, err := e.parse(fs, args, 0); err != nil {
		return err
	}
	exe, err := os.Executable()
	if err != nil {
		return internalErrorf("locating this executable: %v", err)
	}
	return demo.Run(ctx, demo.Options{
		Executable:  exe,
		Stdout:      e.stdout,
		Keep:        *keep,
		PrintStatus: func(st controlapi.Status) { printStatus(e, st) },
		MapError:    demoError,
	})
}

// demoError gives an error of the demo the code the CLI gives the same
// failure elsewhere: the temporary directory is IO, what the trust engine
// refused keeps the engine's code, a daemon's answer is reported as
// daemonError reports it, and the demo's own failures are INTERNAL.
func demoError(err error) error {
	var de *demo.Error
	if !errors.As(err, &de) {
		return err
	}
	switch de.Kind {
	case demo.TempDir:
		return ioErrorf("%v", de.Err)
	case demo.Refused:
		return rejected(de.What, de.Err)
	case demo.Daemon:
		return daemonError(de.What, de.Err)
	}
	return err
}
