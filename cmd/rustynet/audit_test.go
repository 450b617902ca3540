package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rustynet/rustynet/core/audit"
)

// writeAudit writes an audit trail beside state (a state directory path)
// with records at the given times, and returns the trail's directory.
func writeAudit(t *testing.T, state string, times ...time.Time) string {
	t.Helper()
	dir := audit.DirFor(state)
	l, err := audit.Open(audit.Config{Dir: dir, Node: "n1"})
	if err != nil {
		t.Fatal(err)
	}
	for i, at := range times {
		l.Record(audit.Record{Time: at.UTC().Format(time.RFC3339Nano), Kind: audit.KindUpdateAccepted, Source: audit.SourceAPI,
			Epoch: uint64(i + 2), PrevEpoch: uint64(i + 1), Root: strings.Repeat("b", 64), PrevRoot: strings.Repeat("a", 64),
			Op: "revoke_node", Target: fmt.Sprintf("n%d", i), Signers: []string{"a1", "a2"}})
	}
	l.Record(audit.Record{Time: times[len(times)-1].UTC().Format(time.RFC3339Nano), Kind: audit.KindUpdateRejected,
		Source: audit.SourceFeed, Code: "STALE_EPOCH", Reason: "rollback"})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := l.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	l.Close()
	return dir
}

func TestAuditShowAndVerify(t *testing.T) {
	now := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	setClock(t, now)
	state := filepath.Join(t.TempDir(), "state")
	dir := writeAudit(t, state, now.Add(-3*time.Hour), now.Add(-2*time.Hour), now.Add(-time.Minute))

	r := mustRun(t, "audit", "show", "--state-dir", state)
	for _, want := range []string{"SEQ", "update.accepted", "revoke_node n0", "signed by a1,a2", "1->2", "STALE_EPOCH; rollback"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("audit show: want %q in\n%s", want, r.stdout)
		}
	}
	r = mustRun(t, "--json", "audit", "show", "--dir", dir, "--since", "90m", "--kind", "update.accepted")
	var out auditShowOutput
	if err := json.Unmarshal([]byte(r.stdout), &out); err != nil {
		t.Fatal(err)
	}
	if !out.OK || len(out.Records) != 1 || out.Records[0].Target != "n2" {
		t.Errorf("show --since 90m --kind update.accepted: got ok=%v %d records %+v, want the last accept only", out.OK, len(out.Records), out.Records)
	}
	if r := mustRun(t, "audit", "show", "--dir", dir, "--since", now.Add(-150*time.Minute).Format(time.RFC3339)); strings.Count(r.stdout, "\n") != 4 {
		t.Errorf("show --since TIME: want a header and 3 records, got\n%s", r.stdout)
	}

	r = mustRun(t, "audit", "verify", "--dir", dir)
	if !strings.HasPrefix(r.stdout, "ok: records 1 to 4, head 4:") {
		t.Errorf("verify: got %q", r.stdout)
	}
	head := strings.TrimSpace(strings.TrimPrefix(r.stdout, "ok: records 1 to 4, head "))
	mustRun(t, "audit", "verify", "--dir", dir, "--expect", head)

	// The tail cut off: the chain is valid, the expected head is gone.
	seg := filepath.Join(dir, "audit-00000001.jsonl")
	data, err := os.ReadFile(seg)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.SplitAfter(string(data), "\n")
	if err := os.WriteFile(seg, []byte(strings.Join(lines[:3], "")), 0o600); err != nil {
		t.Fatal(err)
	}
	mustRun(t, "audit", "verify", "--dir", dir)
	r = runCLI(t, "audit", "verify", "--dir", dir, "--expect", head)
	if r.exit != exitRejected || !strings.HasPrefix(r.stderr, "error: INTEGRITY_FAILURE:") || !strings.Contains(r.stdout, "its tail was cut off") {
		t.Errorf("verify --expect after the tail was cut: exit %d\nstdout %s\nstderr %s", r.exit, r.stdout, r.stderr)
	}

	// An edit in the middle.
	lines[1] = strings.Replace(lines[1], `"target":"n1"`, `"target":"n9"`, 1)
	if err := os.WriteFile(seg, []byte(strings.Join(lines, "")), 0o600); err != nil {
		t.Fatal(err)
	}
	r = runCLI(t, "audit", "verify", "--dir", dir)
	if r.exit != exitRejected || !strings.Contains(r.stdout, "record 2 does not match its hash") {
		t.Errorf("verify after an edit: exit %d\nstdout %s\nstderr %s", r.exit, r.stdout, r.stderr)
	}
	r = runCLI(t, "audit", "show", "--dir", dir)
	if r.exit != exitRejected || !strings.Contains(r.stdout, "n9") || !strings.Contains(r.stderr, "INTEGRITY_FAILURE") {
		t.Errorf("show after an edit: want the records and exit 1 INTEGRITY_FAILURE; exit %d\nstdout %s\nstderr %s", r.exit, r.stdout, r.stderr)
	}
	r = runCLI(t, "--json", "audit", "verify", "--dir", dir)
	var rep audit.Report
	if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil || rep.OK || len(rep.Problems) == 0 {
		t.Errorf("verify --json after an edit: %v %+v", err, rep)
	}
}

func TestAuditUsageErrors(t *testing.T) {
	dir := t.TempDir()
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"audit", "show", "--dir", dir, "--state-dir", dir}, "give one of"},
		{[]string{"audit", "show", "--dir", filepath.Join(dir, "none")}, "no audit trail at"},
		{[]string{"audit", "show", "--dir", dir, "--since", "yesterday"}, "--since"},
		{[]string{"audit", "verify", "--dir", dir, "--expect", "12"}, "--expect"},
		{[]string{"audit", "verify", "--config", filepath.Join(dir, "none.toml")}, ""},
	} {
		r := runCLI(t, tt.args...)
		if r.exit != exitUsage || !strings.Contains(r.stderr, tt.want) {
			t.Errorf("rustynet %s: exit %d stderr %q, want exit 2 mentioning %q", strings.Join(tt.args, " "), r.exit, r.stderr, tt.want)
		}
	}
}
