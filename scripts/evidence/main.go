// Command evidence is what scripts/test.sh uses to keep real test results
// and turn them into the membership artifacts (internal/evidence):
//
//	go test -json PKGS | go run ./scripts/evidence stream FILE
//	go run ./scripts/evidence membership [-tests FILE,...] [-drills DIR] [-runbooks DIR] [-out DIR]
//
// stream copies a `go test -json` stream to FILE and prints it for people
// as it goes: one line per package, and the output of every test that
// fails. It exits 1 if a test or package failed (and 2 on an I/O error).
//
// membership writes membership_conformance_report.json,
// membership_negative_tests_report.json, membership_recovery_report.json
// and membership_audit_integrity.log to DIR (default artifacts/membership),
// prints each one's status, and exits 1 if any says fail.
package main

import (
	"bufio"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/rustynet/rustynet/internal/evidence"
)

func main() {
	if len(os.Args) < 2 {
		usage()
	}
	switch os.Args[1] {
	case "stream":
		if len(os.Args) != 3 {
			usage()
		}
		os.Exit(stream(os.Stdin, os.Stdout, os.Args[2]))
	case "membership":
		os.Exit(membership(os.Args[2:], os.Stdout, os.Stderr))
	}
	usage()
}

func usage() {
	fmt.Fprintln(os.Stderr, "usage: evidence stream FILE < go-test-json\n       evidence membership [-tests FILE,...] [-drills DIR] [-runbooks DIR] [-out DIR]")
	os.Exit(2)
}

// stream copies in to the file path and summarises it on out.
func stream(in io.Reader, out io.Writer, path string) int {
	f, err := os.Create(path)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	defer f.Close()
	w := bufio.NewWriter(f)
	defer w.Flush()
	failed := false
	pending := map[[2]string][]string{} // output of running tests, printed if they fail
	sc := bufio.NewScanner(in)
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	for sc.Scan() {
		line := sc.Bytes()
		w.Write(line)
		w.WriteByte('\n')
		var e evidence.Event
		if len(line) == 0 || line[0] != '{' || json.Unmarshal(line, &e) != nil {
			fmt.Fprintf(out, "%s\n", line) // go's own output (a build error)
			continue
		}
		k := [2]string{e.Package, e.Test}
		switch {
		case e.Action == "build-output":
			fmt.Fprint(out, e.Output)
		case e.Test != "" && e.Action == "output":
			if len(pending[k]) < 500 {
				pending[k] = append(pending[k], e.Output)
			}
		case e.Test != "" && e.Action == "fail":
			failed = true
			fmt.Fprintf(out, "--- FAIL: %s (%s)\n%s", e.Test, e.Package, strings.Join(pending[k], ""))
			delete(pending, k)
		case e.Test != "" && (e.Action == "pass" || e.Action == "skip"):
			delete(pending, k)
		case e.Test == "" && e.Action == "output":
			if s := strings.TrimSpace(e.Output); strings.HasPrefix(s, "ok ") || strings.HasPrefix(s, "FAIL") ||
				strings.HasPrefix(s, "panic:") || strings.HasPrefix(s, "?") {
				fmt.Fprint(out, e.Output)
			}
			if strings.HasPrefix(e.Output, "FAIL") {
				failed = true
			}
		case e.Test == "" && e.Action == "fail":
			failed = true
		}
	}
	if err := sc.Err(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	if failed {
		return 1
	}
	return 0
}

// membership writes the membership artifacts.
func membership(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("evidence membership", flag.ContinueOnError)
	fs.SetOutput(stderr)
	tests := fs.String("tests", "artifacts/test/core.jsonl,artifacts/test/other.jsonl", "`go test -json` streams, comma-separated")
	drills := fs.String("drills", "artifacts/drills", "the drills' evidence `DIR`")
	runbooks := fs.String("runbooks", "docs/operations", "the runbooks `DIR`")
	out := fs.String("out", "artifacts/membership", "write the artifacts to `DIR`")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	sums, err := evidence.WriteMembership(evidence.Inputs{GoTest: strings.Split(*tests, ","), DrillsDir: *drills, RunbooksDir: *runbooks}, *out)
	if err != nil {
		fmt.Fprintln(stderr, "evidence:", err)
		return 2
	}
	code := 0
	for _, s := range sums {
		fmt.Fprintf(stdout, "%-40s %s (%s)\n", s.File, s.Status, s.Counts)
		if s.Status != evidence.Pass {
			code = 1
		}
	}
	return code
}
