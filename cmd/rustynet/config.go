package main

import (
	"context"
	"errors"
	"fmt"

	"github.com/rustynet/rustynet/core/config"
)

func configCommand() *command {
	return &command{
		name:    "config",
		summary: "check a node's configuration file",
		subs:    []*command{configCheckCommand()},
	}
}

func configCheckCommand() *command {
	return &command{
		name:    "check",
		args:    "FILE",
		summary: "report every problem of a configuration file at once",
		help: "Reads FILE as `rustynet daemon --config FILE` does and checks the files it\n" +
			"names (they exist, the private key is readable by its owner only, the\n" +
			"control group exists). Prints every problem, one line each in the order\n" +
			"of the file, as file:line: key: message, and exits 2; with none, prints\n" +
			"`ok: FILE` and the paths the node will use, and exits 0. Every key is\n" +
			"described in docs/configuration.md.",
		run: runConfigCheck,
	}
}

// configCheckOutput is `rustynet config check --json`.
type configCheckOutput struct {
	File     string          `json:"file"`
	OK       bool            `json:"ok"`
	Problems []configProblem `json:"problems"`
	// Paths are the paths the node will use, defaults included; only when
	// OK.
	Paths *configPaths `json:"paths,omitempty"`
}

type configProblem struct {
	Line    int    `json:"line"` // 0 if unknown
	Key     string `json:"key"`  // "" for a syntax error without one
	Message string `json:"message"`
}

// configPaths are the settings a node derives from its layout when the
// file leaves them out.
type configPaths struct {
	StateDir      string `json:"state_dir"`
	HighWaterFile string `json:"high_water_file"`
	ControlSocket string `json:"control_socket"`
}

func runConfigCheck(_ context.Context, e *env, args []string) error {
	fs := e.flagSet()
	pos, err := e.parse(fs, args, 1)
	if err != nil {
		return err
	}
	file := pos[0]
	o := configCheckOutput{File: file, Problems: []configProblem{}}
	cfg, err := config.Check(file)
	var list config.ErrorList
	switch {
	case errors.As(err, &list):
		for _, p := range list {
			o.Problems = append(o.Problems, configProblem{Line: p.Line, Key: p.Key, Message: p.Msg})
		}
	case err != nil:
		return usageErrorf("%v", err) // the file itself cannot be read
	default:
		o.OK = true
		o.Paths = &configPaths{StateDir: cfg.Node.StateDir, HighWaterFile: cfg.Node.HighWaterFile, ControlSocket: cfg.Control.Socket}
	}
	if e.json {
		if err := e.printJSON(o); err != nil {
			return err
		}
	} else {
		printConfigCheck(e, o, list)
	}
	if !o.OK {
		return usageErrorf("%s: %d problem(s)", file, len(o.Problems))
	}
	return nil
}

// printConfigCheck prints a check for people: each problem as
// config.Error prints it, or ok and the paths.
func printConfigCheck(e *env, o configCheckOutput, list config.ErrorList) {
	for _, p := range list {
		fmt.Fprintln(e.stdout, p)
	}
	if !o.OK {
		return
	}
	fmt.Fprintf(e.stdout, "ok: %s\n", o.File)
	tw := newTable(e.stdout)
	fmt.Fprintf(tw, "node.state_dir\t%s\n", o.Paths.StateDir)
	fmt.Fprintf(tw, "node.high_water_file\t%s\n", o.Paths.HighWaterFile)
	fmt.Fprintf(tw, "control.socket\t%s\n", o.Paths.ControlSocket)
	tw.Flush()
}
