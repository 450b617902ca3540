package evidence

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/rustynet/rustynet/core/audit"
)

// AuditIntegrity writes membership_audit_integrity.log to w: the audit
// chain one drill kept (the drill named prefer if it kept one, else the
// first that did), verified with core/audit, each record on an index=
// line, and a tamper check — an edited copy of the chain must fail to
// verify. drillsDir is where the drills' evidence (and the kept chains)
// lie. It reports whether everything held.
func AuditIntegrity(w io.Writer, drillsDir string, drills []*Drill, prefer string) bool {
	var chosen *Drill
	for _, d := range drills {
		if len(d.Audit) > 0 && (chosen == nil || d.Name == prefer) {
			chosen = d
		}
	}
	fmt.Fprintln(w, "# membership audit integrity: an audit trail kept by a drill, verified with core/audit")
	if chosen == nil {
		fmt.Fprintln(w, "error: no drill kept an audit trail")
		fmt.Fprintln(w, "status: fail")
		return false
	}
	ok := true
	for _, c := range chosen.Audit {
		dir := filepath.Join(drillsDir, c.Dir)
		fmt.Fprintf(w, "\n# drill %s (%s), node %s: %s\n", chosen.Name, chosen.Status, c.Node, filepath.ToSlash(dir))
		recs, rep, err := audit.Verify(dir)
		if err != nil {
			fmt.Fprintf(w, "error: %v\n", err)
			ok = false
			continue
		}
		for _, r := range recs {
			fmt.Fprintf(w, "index=%d time=%s kind=%s%s prev=%s hash=%s\n", r.Seq, r.Time, r.Kind, recordFields(r), r.Prev, r.Hash)
		}
		if rep.OK && rep.Records > 0 {
			fmt.Fprintf(w, "verify: ok records=%d first=%d last=%d head=%s\n", rep.Records, rep.FirstSeq, rep.LastSeq, rep.Head)
		} else {
			ok = false
			fmt.Fprintf(w, "verify: FAILED records=%d problems=%d\n", rep.Records, len(rep.Problems))
			for _, p := range rep.Problems {
				fmt.Fprintf(w, "problem: %s\n", p)
			}
			continue
		}
		detected, what, err := tamperCheck(dir)
		switch {
		case err != nil:
			ok = false
			fmt.Fprintf(w, "tamper-check: error: %v\n", err)
		case !detected:
			ok = false
			fmt.Fprintf(w, "tamper-check: NOT DETECTED (%s)\n", what)
		default:
			fmt.Fprintf(w, "tamper-check: an edited copy was refused: %s\n", what)
		}
	}
	fmt.Fprintf(w, "\nstatus: %s\n", statusOf(ok))
	return ok
}

// recordFields are a record's event fields as key=value pairs.
func recordFields(r *audit.Record) string {
	var b strings.Builder
	kv := func(k, v string) {
		if v != "" && v != "0" {
			fmt.Fprintf(&b, " %s=%s", k, strings.ReplaceAll(v, " ", "_"))
		}
	}
	kv("source", string(r.Source))
	kv("epoch", fmt.Sprint(r.Epoch))
	kv("root", r.Root)
	kv("op", r.Op)
	kv("target", r.Target)
	kv("signers", strings.Join(r.Signers, ","))
	kv("code", r.Code)
	kv("plugin", r.Plugin)
	return b.String()
}

// tamperCheck copies the chain in dir, changes one field of its middle
// record in the copy (without fixing any hash) and reports whether Verify
// refuses the copy.
func tamperCheck(dir string) (detected bool, what string, err error) {
	tmp, err := os.MkdirTemp("", "audit-tamper-")
	if err != nil {
		return false, "", err
	}
	defer os.RemoveAll(tmp)
	entries, err := os.ReadDir(dir)
	if err != nil {
		return false, "", err
	}
	var first string
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			return false, "", err
		}
		if first == "" && strings.HasSuffix(e.Name(), ".jsonl") {
			first = e.Name()
			lines := bytes.SplitAfter(b, []byte("\n"))
			i := len(lines) / 2
			if len(lines) > 1 && len(lines[len(lines)-1]) == 0 {
				i = (len(lines) - 1) / 2
			}
			edited := bytes.Replace(lines[i], []byte(`"time":"2`), []byte(`"time":"1`), 1)
			if bytes.Equal(edited, lines[i]) {
				return false, "", fmt.Errorf("no record to edit in %s", e.Name())
			}
			lines[i] = edited
			b = bytes.Join(lines, nil)
			what = fmt.Sprintf("line %d of %s, its time changed", i+1, e.Name())
		}
		if err := os.WriteFile(filepath.Join(tmp, e.Name()), b, 0o600); err != nil {
			return false, "", err
		}
	}
	_, rep, err := audit.Verify(tmp)
	if err != nil {
		return false, what, err
	}
	if rep.OK {
		return false, what, nil
	}
	return true, what + " -> " + rep.Problems[0].What, nil
}
