// Command report runs Rustynet's benchmark suite and writes a report of
// it: go run ./benchmarks/report [-quick] [-only REGEXP] [-out DIR].
//
// It runs each group of benchmarks (see groups.go, listed by -h) with `go
// test -bench`, shows their progress on stderr, and writes to DIR (by
// default benchmarks/results/<date>/ in the module):
//
//   - results.json: the machine (CPU, cores, memory, kernel, Go, git
//     commit, load average at start and end), how each group ran and
//     with which command, every benchmark result as printed, every figure
//     (name, unit, median, p95/p99/max/mean where the benchmark reports
//     them, samples, runs, command) and the comparison table;
//   - report.md: each figure beside its floor or peer measured in the
//     same run and its target (issue 17, SPEC §10), met or not met; a
//     figure that could not be measured (no root, no namespaces, no
//     benchmark) says why instead;
//   - *.svg: apply latency per store × member count, cold start against
//     log length, throughput per backend, memory against peer count;
//   - raw/GROUP.txt: the benchmark output each figure was parsed from.
//
// -add runs the groups -only selects and adds them to the report in -out
// (measured later, each group records its commit and load average).
// -quick runs tiny sizes and few iterations (the CI smoke run); its
// figures test the pipeline, not the code. -render DIR runs nothing and
// writes the report of DIR/results.json again, from the results it holds.
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"sync"
	"time"
)

func main() {
	quick := flag.Bool("quick", false, "tiny sizes and few iterations: a smoke run of the whole pipeline (under ~2 minutes)")
	only := flag.String("only", "", "run only the groups whose name matches this regexp")
	out := flag.String("out", "", "write the report to this directory (default: benchmarks/results/<date> in the module)")
	add := flag.Bool("add", false, "add the selected groups to the report already in -out (their results replace those it holds; the others are kept)")
	render := flag.String("render", "", "run nothing: write the report of DIR/results.json again into DIR (after a change to the table or the plots)")
	flag.Usage = func() {
		w := flag.CommandLine.Output()
		fmt.Fprintf(w, "usage: go run ./benchmarks/report [-quick] [-only REGEXP [-add]] [-out DIR]\n       go run ./benchmarks/report -render DIR\n\nflags:\n")
		flag.PrintDefaults()
		fmt.Fprintf(w, "\ngroups:\n")
		for _, g := range groups {
			fmt.Fprintf(w, "  %-20s %s\n", g.Name, g.About)
		}
	}
	flag.Parse()
	if flag.NArg() > 0 {
		fmt.Fprintf(os.Stderr, "report: unexpected arguments %q\n", flag.Args())
		flag.Usage()
		os.Exit(2)
	}
	sel, err := regexp.Compile(*only)
	if err != nil {
		fmt.Fprintf(os.Stderr, "report: -only: %v\n", err)
		os.Exit(2)
	}
	if *render != "" {
		if err := rerender(*render, os.Stderr); err != nil {
			fmt.Fprintf(os.Stderr, "report: %v\n", err)
			os.Exit(1)
		}
		return
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if *add && *out == "" {
		fmt.Fprintln(os.Stderr, "report: -add needs -out: the report to add to")
		os.Exit(2)
	}
	if err := run(ctx, *quick, sel, *out, *add, os.Stderr); err != nil {
		fmt.Fprintf(os.Stderr, "report: %v\n", err)
		os.Exit(1)
	}
}

// run runs the selected groups and writes the report to out.
func run(ctx context.Context, quick bool, sel *regexp.Regexp, out string, add bool, progress io.Writer) error {
	root, err := moduleRoot(ctx)
	if err != nil {
		return err
	}
	res := &Results{Machine: machineFacts(ctx, root), Quick: quick}
	commit := res.Machine.GitCommit
	var kept map[string]GroupResult // with -add: the groups of the report in out
	if add {
		old, err := readResults(out)
		if err != nil {
			return fmt.Errorf("-add: %w", err)
		}
		if old.Quick != quick {
			return fmt.Errorf("-add: the report in %s is quick=%v, this run quick=%v", out, old.Quick, quick)
		}
		kept = map[string]GroupResult{}
		for _, g := range old.Groups {
			kept[g.Name] = g
		}
		// The report keeps the machine and commit of its first run; each
		// group records its own commit and load.
		res.Machine = old.Machine
	}
	if out == "" {
		out = filepath.Join(root, "benchmarks", "results", res.Machine.Started.Format("2006-01-02"))
	}
	if err := os.MkdirAll(filepath.Join(out, "raw"), 0o755); err != nil {
		return err
	}
	fmt.Fprintf(progress, "report: %s, %d cores, load %s; writing %s\n", res.Machine.CPU, res.Machine.Cores, loadAverage(), out)
	var todo []Group
	for _, g := range groups {
		switch {
		case !sel.MatchString(g.Name) && kept != nil:
			gr, ok := kept[g.Name]
			if !ok {
				gr = GroupResult{Name: g.Name, Package: g.Package, Status: "not run: not selected by -only"}
			}
			res.Groups = append(res.Groups, gr)
			res.Figures = append(res.Figures, Figures(gr.Name, gr.Command, gr.Runs)...)
		case !sel.MatchString(g.Name):
			res.Groups = append(res.Groups, GroupResult{Name: g.Name, Package: g.Package, Status: "not run: not selected by -only"})
		case quick && g.Quick == nil:
			res.Groups = append(res.Groups, GroupResult{Name: g.Name, Package: g.Package, Status: "not run: no quick variant (-quick)"})
		default:
			todo = append(todo, g)
			res.Groups = append(res.Groups, GroupResult{Name: g.Name, Package: g.Package, Status: stoppedBefore})
		}
	}
	if len(todo) == 0 {
		return errors.New("no group selected (see -h for the groups)")
	}
	for i, g := range todo {
		if err := ctx.Err(); err != nil {
			return err
		}
		v := g.Full
		if quick {
			v = *g.Quick
		}
		fmt.Fprintf(progress, "\n==> [%d/%d] %s: %s\n", i+1, len(todo), g.Name, g.Command(v))
		load := loadAverage()
		gr, err := runGroup(ctx, root, g, v, filepath.Join(out, "raw", g.Name+".txt"), progress)
		if err != nil {
			return err
		}
		gr.Commit, gr.Load = commit, load+" → "+loadAverage()
		for j := range res.Groups {
			if res.Groups[j].Name == g.Name {
				res.Groups[j] = gr
			}
		}
		res.Figures = append(res.Figures, Figures(g.Name, gr.Command, gr.Runs)...)
		fmt.Fprintf(progress, "    %s: %s in %.0f s, %d results, %d skipped, %d failed\n", g.Name, gr.Status, gr.Seconds, len(gr.Runs), len(gr.Skipped), len(gr.Failed))
		// The report so far is written after every group: a run stopped
		// later keeps what it measured.
		res.Machine.Finished = time.Now().UTC().Truncate(time.Second)
		res.Machine.LoadEnd = loadAverage()
		if err := write(res, out, io.Discard); err != nil {
			return err
		}
	}
	return write(res, out, progress)
}

// readResults reads dir/results.json.
func readResults(dir string) (*Results, error) {
	data, err := os.ReadFile(filepath.Join(dir, "results.json"))
	if err != nil {
		return nil, err
	}
	var res Results
	if err := json.Unmarshal(data, &res); err != nil {
		return nil, fmt.Errorf("%s: %w", filepath.Join(dir, "results.json"), err)
	}
	return &res, nil
}

// rerender reads dir/results.json and writes the report again from the
// benchmark results it holds: figures, table and plots are computed anew.
func rerender(dir string, progress io.Writer) error {
	r, err := readResults(dir)
	if err != nil {
		return err
	}
	res := *r
	res.Figures = nil
	for i, g := range res.Groups {
		if g.Status == stoppedBefore {
			// The run was stopped while this group ran: what it printed
			// before is in its raw output.
			if gr, ok, err := stoppedGroup(g, filepath.Join(dir, "raw", g.Name+".txt"), res.Machine.Started); err != nil {
				return err
			} else if ok {
				res.Groups[i], g = gr, gr
			}
		}
		res.Figures = append(res.Figures, Figures(g.Name, g.Command, g.Runs)...)
	}
	return write(&res, dir, progress)
}

// stoppedBefore is the status of a group the run did not finish.
const stoppedBefore = "not run: the report was stopped before it"

// stoppedGroup reads the raw output of a group the run was stopped in, if
// there is one written since the run started: its results up to the stop,
// status "stopped: …".
func stoppedGroup(g GroupResult, rawPath string, started time.Time) (GroupResult, bool, error) {
	fi, err := os.Stat(rawPath)
	if errors.Is(err, os.ErrNotExist) || err == nil && fi.ModTime().Before(started) {
		return g, false, nil // never started, or a file of an earlier run
	} else if err != nil {
		return g, false, err
	}
	data, err := os.ReadFile(rawPath)
	if err != nil {
		return g, false, err
	}
	parsed, err := Parse(strings.NewReader(string(data)), runtime.GOMAXPROCS(0))
	if err != nil {
		return g, false, fmt.Errorf("parsing %s: %w", rawPath, err)
	}
	if first, _, _ := strings.Cut(string(data), "\n"); strings.HasPrefix(first, "$ ") {
		g.Command = strings.TrimPrefix(first, "$ ")
	}
	g.Status = "stopped: the report was stopped while the group ran; results up to then (raw/" + filepath.Base(rawPath) + ")"
	g.Runs, g.Skipped, g.Failed = parsed.Runs, parsed.Skipped, parsed.Failed
	return g, true, nil
}

// write writes results.json, report.md and the plots into out.
func write(res *Results, out string, progress io.Writer) error {
	res.computeRows(res.coldLengths())
	plots := res.Plots()
	for _, p := range plots {
		if err := writeFile(filepath.Join(out, p.File), p.WriteSVG); err != nil {
			return err
		}
	}
	if err := writeFile(filepath.Join(out, "report.md"), func(w io.Writer) error { return res.WriteMarkdown(w, plots) }); err != nil {
		return err
	}
	if err := writeFile(filepath.Join(out, "results.json"), func(w io.Writer) error {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(res)
	}); err != nil {
		return err
	}
	fmt.Fprintf(progress, "\nreport: wrote %s (results.json, report.md, %d plots); load %s at the end\n", out, len(plots), res.Machine.LoadEnd)
	return nil
}

func writeFile(path string, write func(io.Writer) error) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := write(f); err != nil {
		f.Close()
		return fmt.Errorf("%s: %w", path, err)
	}
	return f.Close()
}

// moduleRoot returns the directory of the main module (go env GOMOD).
func moduleRoot(ctx context.Context) (string, error) {
	out, err := exec.CommandContext(ctx, "go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMOD: %v", err)
	}
	gomod := strings.TrimSpace(string(out))
	if gomod == "" || gomod == os.DevNull {
		return "", errors.New("not inside the rustynet module: run it from the repository")
	}
	return filepath.Dir(gomod), nil
}

// heartbeat is how often a long group says it is still running.
const heartbeat = 30 * time.Second

// runGroup runs one group's `go test`, its output saved to rawPath and its
// results, skips and failures echoed to progress as they come, and parses
// the output. A go test that exits non-zero gives a group whose status is
// "failed: …" (its results so far are kept); only an error of the report
// itself (files, parsing) is returned.
func runGroup(ctx context.Context, root string, g Group, v Variant, rawPath string, progress io.Writer) (GroupResult, error) {
	gr := GroupResult{Name: g.Name, Package: g.Package, Command: g.Command(v)}
	raw, err := os.Create(rawPath)
	if err != nil {
		return gr, err
	}
	defer raw.Close()
	fmt.Fprintf(raw, "$ %s\n", gr.Command)
	cmd := exec.CommandContext(ctx, "go", g.Args(v)...)
	cmd.Dir = root
	if len(v.Env) > 0 {
		cmd.Env = append(os.Environ(), v.Env...)
	}
	pr, pw := io.Pipe()
	cmd.Stdout, cmd.Stderr = pw, pw
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return gr, err
	}
	var wg sync.WaitGroup
	done := make(chan struct{})
	wg.Go(func() {
		tick := time.NewTicker(heartbeat)
		defer tick.Stop()
		for {
			select {
			case <-done:
				return
			case <-tick.C:
				fmt.Fprintf(progress, "    … %s running for %s\n", g.Name, time.Since(start).Round(time.Second))
			}
		}
	})
	wg.Go(func() {
		s := bufio.NewScanner(pr)
		s.Buffer(make([]byte, 1<<20), 1<<20)
		for s.Scan() {
			line := s.Text()
			fmt.Fprintln(raw, line)
			if t := strings.TrimSpace(line); strings.HasPrefix(t, "Benchmark") || strings.HasPrefix(t, "--- ") || strings.HasPrefix(t, "FAIL") || strings.HasPrefix(t, "ok ") {
				fmt.Fprintf(progress, "    %s\n", line)
			}
		}
		io.Copy(io.Discard, pr) // a line over the buffer: keep draining
	})
	waitErr := cmd.Wait()
	pw.Close()
	close(done)
	wg.Wait()
	gr.Seconds = time.Since(start).Seconds()
	gr.Status = "ran"
	if waitErr != nil {
		gr.Status = fmt.Sprintf("failed: go test: %v (see raw/%s)", waitErr, filepath.Base(rawPath))
	}
	if err := raw.Sync(); err != nil {
		return gr, err
	}
	data, err := os.ReadFile(rawPath)
	if err != nil {
		return gr, err
	}
	parsed, err := Parse(strings.NewReader(string(data)), runtime.GOMAXPROCS(0))
	if err != nil {
		return gr, fmt.Errorf("parsing %s: %w", rawPath, err)
	}
	gr.Runs, gr.Skipped, gr.Failed = parsed.Runs, parsed.Skipped, parsed.Failed
	if gr.Status == "ran" && len(gr.Runs)+len(gr.Skipped)+len(gr.Failed) == 0 {
		gr.Status = "not run: no benchmark of " + g.Package + " matches -bench " + v.Bench
	}
	return gr, nil
}
