package conformance

import (
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
	"os/exec"
	"strings"
	"time"
)

// jsonReport is the JSON form of a Report.
type jsonReport struct {
	Plugin          string     `json:"plugin"`
	SHA256          string     `json:"sha256"`
	Args            []string   `json:"args"`
	Kind            Kind       `json:"kind"`
	ProtocolVersion int        `json:"protocol_version"`
	Info            PluginInfo `json:"info"`
	Started         string     `json:"started"`
	DurationMS      int64      `json:"duration_ms"`
	Conforms        bool       `json:"conforms"`
	Summary         Summary    `json:"summary"`
	Cases           []jsonCase `json:"cases"`
}

type jsonCase struct {
	ID         string   `json:"id"`
	Level      string   `json:"level"`
	Rule       string   `json:"rule"`
	Status     Status   `json:"status"`
	Message    string   `json:"message"`
	DurationMS int64    `json:"duration_ms"`
	Log        []string `json:"log,omitempty"`
}

// WriteJSON writes the report as one indented JSON object:
//
//	{"plugin", "sha256", "args", "kind", "protocol_version",
//	 "info": {"name", "version", "capabilities", "privileges"},
//	 "started" (RFC 3339), "duration_ms", "conforms",
//	 "summary": {"total", "pass", "fail", "skip", "must_fail", "should_fail"},
//	 "cases": [{"id", "level" ("must"|"should"), "rule",
//	            "status" ("pass"|"fail"|"skip"), "message", "duration_ms", "log"}]}
func (r *Report) WriteJSON(w io.Writer) error {
	out := jsonReport{
		Plugin:          r.Plugin,
		SHA256:          r.SHA256,
		Args:            r.Args,
		Kind:            r.Kind,
		ProtocolVersion: r.ProtocolVersion,
		Info:            r.Info,
		Started:         r.Started.UTC().Format(time.RFC3339Nano),
		DurationMS:      r.Duration.Milliseconds(),
		Conforms:        r.Conforms(),
		Summary:         r.Summary(),
		Cases:           []jsonCase{},
	}
	if out.Args == nil {
		out.Args = []string{}
	}
	for _, res := range r.Results {
		c := jsonCase{
			ID:         res.ID,
			Level:      strings.ToLower(res.Level.String()),
			Rule:       res.Rule,
			Status:     res.Status,
			Message:    res.Message,
			DurationMS: res.Duration.Milliseconds(),
		}
		if res.Status == StatusFail {
			c.Log = res.Log
		}
		out.Cases = append(out.Cases, c)
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(out)
}

// JUnit XML, as CI systems read it.
type junitSuites struct {
	XMLName xml.Name     `xml:"testsuites"`
	Suites  []junitSuite `xml:"testsuite"`
}

type junitSuite struct {
	Name       string          `xml:"name,attr"`
	Tests      int             `xml:"tests,attr"`
	Failures   int             `xml:"failures,attr"`
	Skipped    int             `xml:"skipped,attr"`
	Time       string          `xml:"time,attr"`
	Timestamp  string          `xml:"timestamp,attr"`
	Properties []junitProperty `xml:"properties>property"`
	Cases      []junitCase     `xml:"testcase"`
}

type junitProperty struct {
	Name  string `xml:"name,attr"`
	Value string `xml:"value,attr"`
}

type junitCase struct {
	Name      string        `xml:"name,attr"`
	Classname string        `xml:"classname,attr"`
	Time      string        `xml:"time,attr"`
	Failure   *junitMessage `xml:"failure,omitempty"`
	Skipped   *junitMessage `xml:"skipped,omitempty"`
	SystemOut string        `xml:"system-out,omitempty"`
}

type junitMessage struct {
	Message string `xml:"message,attr"`
	Type    string `xml:"type,attr,omitempty"`
	Text    string `xml:",chardata"`
}

// WriteJUnit writes the report as JUnit XML: one testsuite named
// "conformance.KIND" with one testcase per case (classname
// "conformance.KIND.GROUP", name the case ID). A failed MUST case is a
// <failure type="MUST">; a failed SHOULD case is reported as <skipped> with
// its message, so that it shows without failing the build.
func (r *Report) WriteJUnit(w io.Writer) error {
	sum := r.Summary()
	suite := junitSuite{
		Name:      "conformance." + string(r.Kind),
		Tests:     sum.Total,
		Failures:  sum.MustFail,
		Skipped:   sum.Skip + sum.ShouldFail,
		Time:      seconds(r.Duration),
		Timestamp: r.Started.UTC().Format("2006-01-02T15:04:05"),
		Properties: []junitProperty{
			{"plugin", r.Plugin},
			{"sha256", r.SHA256},
			{"protocol_version", fmt.Sprint(r.ProtocolVersion)},
			{"plugin_name", r.Info.Name},
			{"plugin_version", r.Info.Version},
			{"capabilities", strings.Join(r.Info.Capabilities, ",")},
		},
	}
	for _, res := range r.Results {
		group, _, _ := strings.Cut(res.ID, ".")
		c := junitCase{Name: res.ID, Classname: "conformance." + string(r.Kind) + "." + group, Time: seconds(res.Duration)}
		switch {
		case res.Status == StatusFail && res.Level == Must:
			c.Failure = &junitMessage{Message: firstLine(res.Message), Type: "MUST", Text: res.Rule + "\n\n" + res.Message}
			c.SystemOut = strings.Join(res.Log, "\n")
		case res.Status == StatusFail:
			c.Skipped = &junitMessage{Message: "SHOULD not met: " + firstLine(res.Message), Text: res.Message}
		case res.Status == StatusSkip:
			c.Skipped = &junitMessage{Message: res.Message}
		}
		suite.Cases = append(suite.Cases, c)
	}
	if _, err := io.WriteString(w, xml.Header); err != nil {
		return err
	}
	enc := xml.NewEncoder(w)
	enc.Indent("", "  ")
	if err := enc.Encode(junitSuites{Suites: []junitSuite{suite}}); err != nil {
		return err
	}
	_, err := io.WriteString(w, "\n")
	return err
}

// WriteText writes the report for a terminal: a header, one line per case
// (status, level, ID, duration) with the message under failures and skips,
// and a summary line. verbose adds the log of failed cases. It writes what
// a TextStream writes over the run.
func (r *Report) WriteText(w io.Writer, verbose bool) error {
	var b strings.Builder
	ts := NewTextStream(&b, verbose)
	ts.Header(r)
	for _, res := range r.Results {
		ts.Case(res)
	}
	if err := ts.Summary(r); err != nil {
		return err
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// TextStream writes the text report of WriteText while the suite runs, so
// a terminal shows each case as it ends: Header once the plugin has
// answered (Options.Started), Case after each case (Options.Progress),
// Summary once the run is over. A TextStream is not safe for concurrent
// use; the engine calls Started and Progress from one goroutine.
type TextStream struct {
	w       io.Writer
	verbose bool
	err     error // the first write error, reported by Summary
}

// NewTextStream returns a TextStream writing to w; verbose adds the log
// of failed cases, as in WriteText.
func NewTextStream(w io.Writer, verbose bool) *TextStream {
	return &TextStream{w: w, verbose: verbose}
}

// Header writes the report's header: the plugin, its digest and Info.
func (ts *TextStream) Header(r *Report) {
	var b strings.Builder
	fmt.Fprintf(&b, "conformance: %s plugin %s\n", r.Kind, r.Plugin)
	if r.SHA256 != "" {
		fmt.Fprintf(&b, "  sha256 %s\n", r.SHA256)
	}
	fmt.Fprintf(&b, "  %s %s, protocol version %d, capabilities [%s]\n\n",
		r.Info.Name, r.Info.Version, r.ProtocolVersion, strings.Join(r.Info.Capabilities, " "))
	ts.write(b.String())
}

// Case writes one case's line, with its message and (verbose, failed)
// its log under it.
func (ts *TextStream) Case(res Result) {
	var b strings.Builder
	fmt.Fprintf(&b, "%-4s %-6s %-48s %s\n", strings.ToUpper(string(res.Status)), res.Level, res.ID, res.Duration.Round(time.Millisecond))
	if res.Message != "" {
		fmt.Fprintf(&b, "%s\n", indent(res.Message))
	}
	if ts.verbose && res.Status == StatusFail {
		for _, line := range res.Log {
			fmt.Fprintf(&b, "      | %s\n", line)
		}
	}
	ts.write(b.String())
}

// Summary writes the verdict and the counts of the finished report r and
// returns the first error met writing any part of the stream.
func (ts *TextStream) Summary(r *Report) error {
	s := r.Summary()
	verdict := "CONFORMS"
	if !r.Conforms() {
		verdict = "DOES NOT CONFORM"
	}
	ts.write(fmt.Sprintf("\n%s: %d cases, %d passed, %d failed (%d MUST, %d SHOULD), %d skipped in %s\n",
		verdict, s.Total, s.Pass, s.Fail, s.MustFail, s.ShouldFail, s.Skip, r.Duration.Round(time.Millisecond)))
	return ts.err
}

// write writes text unless an earlier write failed.
func (ts *TextStream) write(text string) {
	if ts.err == nil {
		_, ts.err = io.WriteString(ts.w, text)
	}
}

func seconds(d time.Duration) string { return fmt.Sprintf("%.3f", d.Seconds()) }

func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}

// lookPath resolves a command name as the launcher does, or returns it
// unchanged.
func lookPath(path string) string {
	if full, err := exec.LookPath(path); err == nil {
		return full
	}
	return path
}
