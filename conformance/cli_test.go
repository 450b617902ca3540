package conformance_test

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/rustynet/rustynet/conformance"
	"github.com/rustynet/rustynet/hostapi"
)

// runMain runs the command line and returns its exit status and output.
func runMain(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code := conformance.Main(t.Context(), args, &out, &errOut)
	return code, out.String(), errOut.String()
}

func TestMainUsageErrors(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want string // in stderr
	}{
		{"no plugin", nil, "--plugin is required"},
		{"bad kind", []string{"--plugin", "x", "--kind", "router"}, `--kind "router"`},
		{"bad level", []string{"--plugin", "x", "--level", "may"}, `--level "may"`},
		{"bad format", []string{"--plugin", "x", "--format", "yaml"}, `--format "yaml"`},
		{"stray argument", []string{"--plugin", "x", "extra"}, "unexpected arguments"},
		{"reference for a store", []string{"--plugin", "x", "--kind", "store", "--reference", "y"}, "backends only"},
		{"bad regexp", []string{"--plugin", "x", "--kind", "store", "--run", "("}, "--run"},
		{"unknown flag", []string{"--plugin", "x", "--colour"}, "colour"},
		{"plugin and reattach", []string{"--plugin", "x", "--reattach", "{}"}, "exclude each other"},
		{"reattach with args", []string{"--reattach", "{}", "--args", "plugin store-file"}, "not to --reattach"},
		{"reattach with netns", []string{"--reattach", "{}", "--netns"}, "not to --reattach"},
		{"reattach not JSON", []string{"--reattach", "pid 7"}, "--reattach"},
		{"reattach kind mismatch", []string{"--kind", "backend", "--reattach", `{"kind":"store","protocol_version":1,"network":"unix","address":"/x","pid":1}`}, "serves a store"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, _, stderr := runMain(t, tt.args...)
			if code != conformance.ExitCannotLaunch {
				t.Errorf("exit status: got %d, want %d", code, conformance.ExitCannotLaunch)
			}
			if !strings.Contains(stderr, tt.want) {
				t.Errorf("stderr: got %q, want it to mention %q", stderr, tt.want)
			}
		})
	}
}

func TestMainCannotLaunch(t *testing.T) {
	notPlugin, err := exec.LookPath("true")
	if err != nil {
		t.Skip("no `true` command on this system to stand for a binary that is not a plugin")
	}
	tests := []struct {
		name string
		args []string
	}{
		{"missing binary", []string{"--plugin", filepath.Join(t.TempDir(), "missing")}},
		{"not a plugin", []string{"--plugin", notPlugin}},
		{"not a plugin, kind given", []string{"--plugin", notPlugin, "--kind", "backend"}},
		{"pin mismatch", []string{"--plugin", pluginPath(t, "rustynet-store-files"), "--kind", "store", "--sha256", strings.Repeat("00", 32)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if code, _, stderr := runMain(t, tt.args...); code != conformance.ExitCannotLaunch {
				t.Errorf("exit status: got %d, want %d; stderr:\n%s", code, conformance.ExitCannotLaunch, stderr)
			}
		})
	}
}

// jsonReport is the JSON report as a consumer reads it.
type jsonReport struct {
	Plugin          string   `json:"plugin"`
	SHA256          string   `json:"sha256"`
	Args            []string `json:"args"`
	Kind            string   `json:"kind"`
	ProtocolVersion int      `json:"protocol_version"`
	Info            struct {
		Name         string   `json:"name"`
		Capabilities []string `json:"capabilities"`
	} `json:"info"`
	Started    string `json:"started"`
	DurationMS *int64 `json:"duration_ms"`
	Conforms   bool   `json:"conforms"`
	Summary    struct {
		Total, Pass, Fail, Skip int
		MustFail                int `json:"must_fail"`
		ShouldFail              int `json:"should_fail"`
	} `json:"summary"`
	Cases []struct {
		ID         string `json:"id"`
		Level      string `json:"level"`
		Status     string `json:"status"`
		Message    string `json:"message"`
		DurationMS *int64 `json:"duration_ms"`
	} `json:"cases"`
}

// readJSONReport reads the JSON report the CLI wrote at path.
func readJSONReport(t *testing.T, path string) jsonReport {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var rep jsonReport
	if err := json.Unmarshal(b, &rep); err != nil {
		t.Fatalf("report is not JSON: %v\n%s", err, b)
	}
	return rep
}

func TestMainJSONReport(t *testing.T) {
	bin := pluginPath(t, "rustynet-store-files")
	out := filepath.Join(t.TempDir(), "report.json")
	code, _, stderr := runMain(t, "--plugin", bin, "--run", `^(process\.handshake|store\.(info|log\.order|permissions\.created))$`, "--format", "json", "--out", out)
	if code != conformance.ExitConforms {
		t.Fatalf("exit status: got %d, want %d; stderr:\n%s", code, conformance.ExitConforms, stderr)
	}
	rep := readJSONReport(t, out)
	sum, err := hostapi.FileSHA256(bin)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Plugin != bin || rep.SHA256 != sum || rep.Kind != "store" || rep.ProtocolVersion != 1 || !rep.Conforms {
		t.Errorf("report header: got plugin %q sha256 %q kind %q version %d conforms %v; want %q %q store 1 true",
			rep.Plugin, rep.SHA256, rep.Kind, rep.ProtocolVersion, rep.Conforms, bin, sum)
	}
	if rep.Info.Name != "files-example" || rep.Started == "" || rep.DurationMS == nil {
		t.Errorf("report: got info %+v, started %q, duration %v", rep.Info, rep.Started, rep.DurationMS)
	}
	var ids []string
	for _, c := range rep.Cases {
		ids = append(ids, c.ID)
		if c.Status != "pass" || c.Level != "must" || c.DurationMS == nil {
			t.Errorf("case %s: got status %q level %q duration %v, want pass, must, a duration", c.ID, c.Status, c.Level, c.DurationMS)
		}
	}
	want := []string{"process.handshake", "store.info", "store.log.order", "store.permissions.created"}
	if diff := cmp.Diff(want, ids); diff != "" {
		t.Errorf("cases run (-want +got):\n%s", diff)
	}
	if rep.Summary.Total != 4 || rep.Summary.Pass != 4 || rep.Summary.MustFail != 0 {
		t.Errorf("summary: got %+v, want 4 cases, 4 passed", rep.Summary)
	}
}

// junit is the part of a JUnit report CI systems read.
type junit struct {
	Suites []struct {
		Name     string `xml:"name,attr"`
		Tests    int    `xml:"tests,attr"`
		Failures int    `xml:"failures,attr"`
		Cases    []struct {
			Name    string `xml:"name,attr"`
			Failure *struct {
				Message string `xml:"message,attr"`
			} `xml:"failure"`
			Skipped *struct{} `xml:"skipped"`
		} `xml:"testcase"`
	} `xml:"testsuite"`
}

func TestMainJUnitReportOfABrokenPlugin(t *testing.T) {
	code, stdout, stderr := runMain(t, "--plugin", pluginPath(t, "stdout-writer"), "--kind", "store", "--level", "must",
		"--run", `^process\.(handshake|stdout\.clean|shutdown\..*)$`, "--format", "junit")
	if code != conformance.ExitMustFailed {
		t.Fatalf("exit status: got %d, want %d; stderr:\n%s", code, conformance.ExitMustFailed, stderr)
	}
	var rep junit
	if err := xml.Unmarshal([]byte(stdout), &rep); err != nil {
		t.Fatalf("report is not XML: %v\n%s", err, stdout)
	}
	if len(rep.Suites) != 1 || rep.Suites[0].Name != "conformance.store" {
		t.Fatalf("got suites %+v, want one named conformance.store", rep.Suites)
	}
	s := rep.Suites[0]
	got := map[string]string{}
	for _, c := range s.Cases {
		switch {
		case c.Failure != nil:
			got[c.Name] = "fail"
		case c.Skipped != nil:
			got[c.Name] = "skip"
		default:
			got[c.Name] = "pass"
		}
	}
	// --level must leaves out the SHOULD case process.shutdown.sigterm.
	want := map[string]string{"process.handshake": "pass", "process.stdout.clean": "fail", "process.shutdown.graceful": "pass"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("cases (-want +got):\n%s", diff)
	}
	if s.Tests != 3 || s.Failures != 1 {
		t.Errorf("suite counts: got tests=%d failures=%d, want 3 and 1", s.Tests, s.Failures)
	}
}

func TestMainTextReportDetectsKind(t *testing.T) {
	code, stdout, stderr := runMain(t, "--plugin", pluginPath(t, "leak-on-close"), "--run", `^backend\.(info|close\.releases)$`)
	if code != conformance.ExitMustFailed {
		t.Fatalf("exit status: got %d, want %d; stderr:\n%s", code, conformance.ExitMustFailed, stderr)
	}
	for _, want := range []*regexp.Regexp{
		regexp.MustCompile(`(?m)^conformance: backend plugin `),
		regexp.MustCompile(`(?m)^PASS MUST +backend\.info `),
		regexp.MustCompile(`(?m)^FAIL MUST +backend\.close\.releases `),
		regexp.MustCompile(`(?m)^DOES NOT CONFORM: 2 cases, 1 passed, 1 failed \(1 MUST, 0 SHOULD\), 0 skipped`),
	} {
		if !want.MatchString(stdout) {
			t.Errorf("text report does not match %s:\n%s", want, stdout)
		}
	}
}

func TestMainList(t *testing.T) {
	code, stdout, _ := runMain(t, "--list")
	if code != conformance.ExitConforms {
		t.Fatalf("exit status: got %d, want 0", code)
	}
	for _, cases := range [][]conformance.Case{conformance.StoreCases(), conformance.BackendCases()} {
		for _, c := range cases {
			if !strings.Contains(stdout, c.ID+" ") {
				t.Errorf("--list does not show %s", c.ID)
			}
		}
	}
}
