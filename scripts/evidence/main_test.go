package main

import (
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// A synthetic `go test -json` stream of one package: TestThreat fails
// (a forged update was accepted), TestOther passes.
const failingStream = `{"Action":"run","Package":"github.com/rustynet/rustynet/core/membership","Test":"TestThreatMatrix/1_forged_signature"}
{"Action":"output","Package":"github.com/rustynet/rustynet/core/membership","Test":"TestThreatMatrix/1_forged_signature","Output":"    helpers_test.go:12: rustynet-case: {\"expected\":\"BAD_SIGNATURE\",\"observed\":\"\"}\n"}
{"Action":"output","Package":"github.com/rustynet/rustynet/core/membership","Test":"TestThreatMatrix/1_forged_signature","Output":"    helpers_test.go:14: got code \"\", want BAD_SIGNATURE\n"}
{"Action":"fail","Package":"github.com/rustynet/rustynet/core/membership","Test":"TestThreatMatrix/1_forged_signature","Elapsed":0.01}
{"Action":"run","Package":"github.com/rustynet/rustynet/core/membership","Test":"TestGolden"}
{"Action":"pass","Package":"github.com/rustynet/rustynet/core/membership","Test":"TestGolden","Elapsed":0.01}
{"Action":"output","Package":"github.com/rustynet/rustynet/core/membership","Output":"FAIL\tgithub.com/rustynet/rustynet/core/membership\t0.1s\n"}
{"Action":"fail","Package":"github.com/rustynet/rustynet/core/membership","Elapsed":0.1}
`

func TestStreamKeepsEverythingAndFails(t *testing.T) {
	path := filepath.Join(t.TempDir(), "core.jsonl")
	var out bytes.Buffer
	if code := stream(strings.NewReader(failingStream), &out, path); code != 1 {
		t.Errorf("exit %d, want 1 for a failing stream", code)
	}
	kept, err := os.ReadFile(path)
	if err != nil || string(kept) != failingStream {
		t.Errorf("the file holds %q (%v), want the stream as it came", kept, err)
	}
	for _, want := range []string{"--- FAIL: TestThreatMatrix/1_forged_signature", "want BAD_SIGNATURE", "FAIL\tgithub.com/rustynet/rustynet/core/membership"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("summary: want %q in\n%s", want, out.String())
		}
	}
}

func TestMembershipFailsOnAFailingStream(t *testing.T) {
	dir := t.TempDir()
	tests := filepath.Join(dir, "core.jsonl")
	if err := os.WriteFile(tests, []byte(failingStream), 0o644); err != nil {
		t.Fatal(err)
	}
	var stdout, stderr bytes.Buffer
	code := membership([]string{"-tests", tests, "-drills", filepath.Join(dir, "drills"), "-runbooks", filepath.Join(dir, "runbooks"),
		"-out", filepath.Join(dir, "out")}, &stdout, &stderr)
	if code != 1 {
		t.Fatalf("exit %d, want 1\n%s%s", code, stdout.String(), stderr.String())
	}
	for _, want := range []string{"membership_negative_tests_report.json", "membership_conformance_report.json"} {
		if !regexp.MustCompile(regexp.QuoteMeta(want) + `\s+fail `).MatchString(stdout.String()) {
			t.Errorf("want %q in\n%s", want, stdout.String())
		}
	}
	neg, err := os.ReadFile(filepath.Join(dir, "out", "membership_negative_tests_report.json"))
	if err != nil || !strings.Contains(string(neg), `"status": "fail"`) {
		t.Errorf("negative report: %v\n%s", err, neg)
	}
}
