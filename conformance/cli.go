package conformance

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"regexp"
	"strings"
	"time"

	"github.com/rustynet/rustynet/hostapi"
)

// Exit statuses of Main.
const (
	ExitConforms     = 0 // every MUST case that ran passed
	ExitMustFailed   = 1 // a MUST case failed
	ExitCannotLaunch = 2 // the plugin cannot be launched, or the command line is wrong
)

const usageText = `usage: rustynet conformance --plugin PATH [flags]
       rustynet conformance --reattach CONFIG [flags]

Runs the conformance suite against a plugin binary, launched exactly as the
daemon launches it, or against a plugin already running in reattach mode
(started with RUSTYNET_PLUGIN_REATTACH=1, e.g. under a debugger; CONFIG is
the line it printed), and reports every case.

Exit status: 0 when every MUST case passes, 1 when a MUST case fails, 2 when
the plugin cannot be launched or the command line is wrong.

Flags:
`

// cliConfig is a parsed command line.
type cliConfig struct {
	plugin, args, kind, run, level, format, out string
	reattach                                    string
	reference, referenceArgs, sha256            string
	netns, list, verbose, json                  bool
	timeout                                     time.Duration
}

// UsageError is an error of Run's command line: a flag or argument that
// is wrong, rather than a plugin that cannot be launched (LaunchError) or
// a report that cannot be written.
type UsageError struct{ Err error }

// Error returns the command line's problem.
func (e *UsageError) Error() string { return e.Err.Error() }

// Unwrap returns the problem.
func (e *UsageError) Unwrap() error { return e.Err }

// Main is the conformance command line:
//
//	rustynet conformance (--plugin PATH [--args "ARGS"] | --reattach CONFIG) [--kind store|backend]
//	    [--run REGEX] [--level must|should] [--format text|json|junit | --json] [--out FILE]
//	    [--netns] [--reference PATH [--reference-args "ARGS"]] [--sha256 HEX]
//	    [--timeout DURATION] [--list] [-v]
//
// args are the arguments after the command's name. The report goes to out
// (or --out), progress and errors to errOut. It returns ExitConforms,
// ExitMustFailed or ExitCannotLaunch. ctx ends the run early (the cases not
// yet run are left out of the report). The text report on out is written
// as the run goes: its header once the plugin has answered, each case's
// line as the case ends, the summary last.
func Main(ctx context.Context, args []string, out, errOut io.Writer) int {
	code, err := Run(ctx, args, out, errOut)
	if err != nil {
		fmt.Fprintf(errOut, "error: %v\n", err)
	}
	return code
}

// Run is Main for a host that prints errors its own way: instead of
// printing why it returns ExitCannotLaunch, it returns that error too — a
// *UsageError for the command line, a *LaunchError for a plugin that
// cannot be launched, any other error for a report that cannot be
// written. A run that completed returns a nil error; its exit status is
// the verdict. Help (-h) goes to errOut and returns ExitConforms.
func Run(ctx context.Context, args []string, out, errOut io.Writer) (int, error) {
	cfg, err := parseArgs(args, errOut)
	if errors.Is(err, flag.ErrHelp) {
		return ExitConforms, nil
	}
	if err != nil {
		return ExitCannotLaunch, &UsageError{Err: err}
	}
	if cfg.list {
		return listCases(cfg, out), nil
	}
	opts := Options{CaseTimeout: cfg.timeout, MustOnly: cfg.level == "must"}
	if cfg.run != "" {
		re, err := regexp.Compile(cfg.run)
		if err != nil {
			return ExitCannotLaunch, &UsageError{Err: fmt.Errorf("--run: %w", err)}
		}
		opts.Match = re.MatchString
	}
	// The text report streams to standard output; any other report is
	// written at the end, so progress goes to errOut meanwhile.
	var stream *TextStream
	if cfg.format == "text" && cfg.out == "" {
		stream = NewTextStream(out, cfg.verbose)
		opts.Started, opts.Progress = stream.Header, stream.Case
	} else {
		opts.Progress = func(r Result) {
			fmt.Fprintf(errOut, "%-4s %-6s %s (%s)\n", strings.ToUpper(string(r.Status)), r.Level, r.ID, r.Duration.Round(time.Millisecond))
		}
	}
	opts.Logger = slog.New(slog.NewTextHandler(errOut, nil))

	launch := hostapi.LaunchConfig{Path: cfg.plugin, Args: splitArgs(cfg.args), SHA256: cfg.sha256}
	var reattach *hostapi.ReattachConfig
	kind := Kind(cfg.kind)
	if cfg.reattach != "" {
		rc, err := hostapi.ParseReattachConfig(cfg.reattach)
		if err != nil {
			return ExitCannotLaunch, &UsageError{Err: fmt.Errorf("--reattach: %w", err)}
		}
		if kind != "" && string(kind) != rc.Kind {
			return ExitCannotLaunch, &UsageError{Err: fmt.Errorf("--kind %s, but the reattached plugin serves a %s", kind, rc.Kind)}
		}
		reattach, kind = &rc, Kind(rc.Kind)
	}
	if kind == "" {
		if kind, err = detectKind(ctx, launch); err != nil {
			return ExitCannotLaunch, err
		}
	}
	var rep *Report
	switch kind {
	case KindStore:
		target := StoreTarget{Binary: launch}
		if reattach != nil {
			target = StoreTarget{Reattach: reattach}
		}
		rep, err = RunStoreSuite(ctx, target, opts)
	case KindBackend:
		target := BackendTarget{Binary: launch}
		if reattach != nil {
			target = BackendTarget{Reattach: reattach}
		}
		if cfg.netns {
			target.Topology = Namespaces()
		}
		if cfg.reference != "" {
			target.Reference = &BackendTarget{Binary: hostapi.LaunchConfig{Path: cfg.reference, Args: splitArgs(cfg.referenceArgs)}}
		}
		rep, err = RunBackendSuite(ctx, target, opts)
	}
	if err != nil {
		return ExitCannotLaunch, err
	}
	if stream != nil {
		err = stream.Summary(rep)
	} else {
		err = writeReport(rep, cfg, out)
	}
	if err != nil {
		return ExitCannotLaunch, fmt.Errorf("writing the report: %w", err)
	}
	if stream == nil {
		s := rep.Summary()
		fmt.Fprintf(errOut, "%s: %d passed, %d failed (%d MUST), %d skipped\n", rep.Plugin, s.Pass, s.Fail, s.MustFail, s.Skip)
	}
	if !rep.Conforms() {
		return ExitMustFailed, nil
	}
	return ExitConforms, nil
}

// Flags returns a flag set with the flags of Main defined, not parsed:
// for help and shell completion.
func Flags() *flag.FlagSet {
	fs := newFlagSet(new(cliConfig))
	fs.SetOutput(io.Discard)
	return fs
}

func parseArgs(args []string, errOut io.Writer) (cliConfig, error) {
	var cfg cliConfig
	fs := newFlagSet(&cfg)
	fs.SetOutput(errOut)
	fs.Usage = func() {
		fmt.Fprint(errOut, usageText)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return cfg, err
	}
	if cfg.json {
		given := false
		fs.Visit(func(f *flag.Flag) { given = given || f.Name == "format" })
		if given && cfg.format != "json" {
			return cfg, fmt.Errorf("--json and --format %s exclude each other", cfg.format)
		}
		cfg.format = "json"
	}
	switch {
	case fs.NArg() > 0:
		return cfg, fmt.Errorf("unexpected arguments %q", fs.Args())
	case cfg.plugin == "" && cfg.reattach == "" && !cfg.list:
		return cfg, errors.New("--plugin is required")
	case cfg.plugin != "" && cfg.reattach != "":
		return cfg, errors.New("--plugin and --reattach exclude each other")
	case cfg.reattach != "" && (cfg.args != "" || cfg.sha256 != "" || cfg.netns):
		return cfg, errors.New("--args, --sha256 and --netns apply to a launched plugin, not to --reattach")
	case cfg.kind != "" && cfg.kind != string(KindStore) && cfg.kind != string(KindBackend):
		return cfg, fmt.Errorf("--kind %q: want store or backend", cfg.kind)
	case cfg.level != "must" && cfg.level != "should":
		return cfg, fmt.Errorf("--level %q: want must or should", cfg.level)
	case cfg.format != "text" && cfg.format != "json" && cfg.format != "junit":
		return cfg, fmt.Errorf("--format %q: want text, json or junit", cfg.format)
	case cfg.reference != "" && cfg.kind == string(KindStore):
		return cfg, errors.New("--reference applies to backends only")
	case cfg.timeout <= 0:
		return cfg, fmt.Errorf("--timeout %s: want a positive duration", cfg.timeout)
	}
	return cfg, nil
}

// newFlagSet returns the command line's flags, bound to cfg.
func newFlagSet(cfg *cliConfig) *flag.FlagSet {
	fs := flag.NewFlagSet("conformance", flag.ContinueOnError)
	fs.StringVar(&cfg.plugin, "plugin", "", "the plugin `executable` (required, except with --reattach or --list)")
	fs.StringVar(&cfg.reattach, "reattach", "", "reach a plugin running in reattach mode: the `line` (or JSON) it printed")
	fs.StringVar(&cfg.args, "args", "", "the plugin's `arguments`, split at spaces (quotes group), e.g. \"plugin store-file\"")
	fs.StringVar(&cfg.kind, "kind", "", "the plugin kind, store or backend; empty: ask the plugin")
	fs.StringVar(&cfg.run, "run", "", "run only cases whose ID matches this `regexp`")
	fs.StringVar(&cfg.level, "level", "should", "run MUST cases only (must) or every case (should)")
	fs.StringVar(&cfg.format, "format", "text", "report format: text, json or junit")
	fs.StringVar(&cfg.out, "out", "", "write the report to this `file` instead of standard output")
	fs.BoolVar(&cfg.netns, "netns", false, "run backend instances in network namespaces of their own (Linux, root)")
	fs.StringVar(&cfg.reference, "reference", "", "a reference backend `executable` for the interop cases")
	fs.StringVar(&cfg.referenceArgs, "reference-args", "", "the reference backend's `arguments`")
	fs.StringVar(&cfg.sha256, "sha256", "", "refuse to launch the plugin unless its SHA-256 is this `hex` digest")
	fs.DurationVar(&cfg.timeout, "timeout", DefaultCaseTimeout, "bound on each case")
	fs.BoolVar(&cfg.list, "list", false, "list the cases (of --kind, or all) and exit")
	fs.BoolVar(&cfg.verbose, "v", false, "text format: show the plugin's log under failed cases")
	fs.BoolVar(&cfg.json, "json", false, "the report as JSON (--format json)")
	return fs
}

// detectKind launches the plugin and asks it for its Info, as a store and
// then as a backend.
func detectKind(ctx context.Context, launch hostapi.LaunchConfig) (Kind, error) {
	s, err := hostapi.LaunchStore(ctx, launch)
	if err != nil {
		return "", &LaunchError{Err: err}
	}
	_, err = s.Info(ctx)
	s.Kill()
	if err == nil {
		return KindStore, nil
	}
	if hostapi.CodeOf(err) != hostapi.CodeUnsupported {
		return "", &LaunchError{Err: fmt.Errorf("Info: %w", err)}
	}
	b, err := hostapi.LaunchBackend(ctx, launch)
	if err != nil {
		return "", &LaunchError{Err: err}
	}
	_, err = b.Info(ctx)
	b.Kill()
	if err != nil {
		return "", &LaunchError{Err: fmt.Errorf("the plugin answers neither as a store nor as a backend: %w", err)}
	}
	return KindBackend, nil
}

func writeReport(rep *Report, cfg cliConfig, stdout io.Writer) (err error) {
	w := stdout
	if cfg.out != "" {
		f, err := os.Create(cfg.out)
		if err != nil {
			return err
		}
		defer func() {
			if cerr := f.Close(); err == nil {
				err = cerr
			}
		}()
		w = f
	}
	switch cfg.format {
	case "json":
		return rep.WriteJSON(w)
	case "junit":
		return rep.WriteJUnit(w)
	}
	return rep.WriteText(w, cfg.verbose)
}

// listCases prints the cases of --kind (or of both kinds): ID, level,
// needs and rule.
func listCases(cfg cliConfig, out io.Writer) int {
	kinds := []Kind{KindStore, KindBackend}
	if cfg.kind != "" {
		kinds = []Kind{Kind(cfg.kind)}
	}
	seen := map[string]bool{}
	for _, k := range kinds {
		for _, c := range casesFor(k) {
			if seen[c.ID] {
				continue
			}
			seen[c.ID] = true
			fmt.Fprintf(out, "%-48s %-6s %s\n", c.ID, c.Level, c.Rule)
		}
	}
	return ExitConforms
}

// splitArgs splits s at unquoted spaces; single or double quotes group
// words, and a backslash outside single quotes escapes the next byte.
func splitArgs(s string) []string {
	var (
		out     []string
		cur     strings.Builder
		inWord  bool
		quote   byte
		escaped bool
	)
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case escaped:
			cur.WriteByte(c)
			escaped = false
		case c == '\\' && quote != '\'':
			escaped, inWord = true, true
		case quote != 0 && c == quote:
			quote = 0
		case quote != 0:
			cur.WriteByte(c)
		case c == '\'' || c == '"':
			quote, inWord = c, true
		case c == ' ' || c == '\t' || c == '\n':
			if inWord {
				out = append(out, cur.String())
				cur.Reset()
				inWord = false
			}
		default:
			cur.WriteByte(c)
			inWord = true
		}
	}
	if inWord {
		out = append(out, cur.String())
	}
	return out
}
