package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/rustynet/rustynet/core/audit"
	"github.com/rustynet/rustynet/core/config"
	"github.com/rustynet/rustynet/core/membership"
	"github.com/rustynet/rustynet/core/paths"
)

// auditCommand is the "audit" group: reading and verifying a node's audit
// trail (core/audit).
func auditCommand() *command {
	return &command{
		name:    "audit",
		summary: "show and verify the node's audit trail (accepts, rejects, trust changes, plugin crashes)",
		help: "The audit trail is kept beside the state directory, in <state_dir>.audit\n" +
			"(see core/audit). Name it with --dir, or with the node's --state-dir or\n" +
			"--config; without any, the default configuration's node is used. Both\n" +
			"commands only read: they work on a running node, a stopped one, or a copy.",
		subs: []*command{
			{
				name:    "show",
				args:    "[--config FILE | --state-dir DIR | --dir DIR] [--since DURATION|TIME] [--kind PREFIX] [--json]",
				summary: "print the audit records, oldest first",
				help: "--since keeps records newer than a duration ago (1h, 30m) or an\n" +
					"RFC 3339 time; --kind keeps kinds starting with PREFIX (update,\n" +
					"update.rejected, trust, plugin, audit). The whole log is verified\n" +
					"too: if it does not verify, the records are still printed and the\n" +
					"command exits 1 with INTEGRITY_FAILURE (details: audit verify).",
				run: runAuditShow,
			},
			{
				name:    "verify",
				args:    "[--config FILE | --state-dir DIR | --dir DIR] [--expect SEQ:HASH] [--json]",
				summary: "verify the audit chain: edits, records removed or reordered",
				help: "Prints `ok: records A to B, head HASH` or exits 1 with\n" +
					"INTEGRITY_FAILURE and every problem found. A cut-off tail leaves a\n" +
					"shorter valid chain: keep the head an earlier verify printed and pass\n" +
					"it as --expect SEQ:HASH to require that record to be still there.",
				run: runAuditVerify,
			},
		},
	}
}

// auditDirFlags are the flags that name an audit directory.
type auditDirFlags struct{ config, stateDir, dir string }

func addAuditDirFlags(fs *flag.FlagSet) *auditDirFlags {
	f := &auditDirFlags{}
	fs.StringVar(&f.config, "config", "", "the node's configuration `FILE` (its state_dir)")
	fs.StringVar(&f.stateDir, "state-dir", "", "the node's state `DIR` (the audit trail is DIR.audit)")
	fs.StringVar(&f.dir, "dir", "", "the audit `DIR` itself")
	return f
}

// resolve returns the audit directory the flags name, or the default
// node's: the state directory of the default configuration of this
// process's layout, else of the layout itself.
func (f *auditDirFlags) resolve() (string, error) {
	n := 0
	for _, s := range []string{f.config, f.stateDir, f.dir} {
		if s != "" {
			n++
		}
	}
	if n > 1 {
		return "", usageErrorf("give one of --config, --state-dir and --dir")
	}
	switch {
	case f.dir != "":
		return f.dir, nil
	case f.stateDir != "":
		return audit.DirFor(f.stateDir), nil
	case f.config != "":
		cfg, err := config.Load(f.config)
		if err != nil {
			return "", usageErrorf("%v", err)
		}
		return audit.DirFor(cfg.Node.StateDir), nil
	}
	l, _ := paths.Current()
	if l.ConfigFile != "" {
		cfg, err := config.Load(l.ConfigFile)
		switch {
		case err == nil:
			return audit.DirFor(cfg.Node.StateDir), nil
		case !errors.Is(err, fs.ErrNotExist):
			return "", usageErrorf("%v", err)
		}
	}
	if l.StateDir == "" {
		return "", usageErrorf("no default state directory here: give --config, --state-dir or --dir")
	}
	return audit.DirFor(l.StateDir), nil
}

// verifyAudit reads and verifies dir.
func verifyAudit(dir string) ([]*audit.Record, *audit.Report, error) {
	if info, err := os.Stat(dir); err != nil || !info.IsDir() {
		if err == nil || errors.Is(err, fs.ErrNotExist) {
			return nil, nil, usageErrorf("no audit trail at %s (is it the node's state directory, and has its daemon run?)", dir)
		}
		return nil, nil, ioErrorf("%v", unwrapPath(err))
	}
	recs, rep, err := audit.Verify(dir)
	if err != nil {
		return nil, nil, ioErrorf("reading the audit trail %s: %v", dir, unwrapPath(err))
	}
	return recs, rep, nil
}

// auditIntegrity is the error of a log that does not verify.
func auditIntegrity(rep *audit.Report) error {
	return &cliError{code: string(membership.IntegrityFailure), exit: exitRejected, msg: rep.Error().Error(),
		hint: hintPrefix + "`rustynet audit verify` lists every problem"}
}

// auditShowOutput is what audit show prints with --json.
type auditShowOutput struct {
	Dir     string          `json:"dir"`
	OK      bool            `json:"ok"`
	Records []*audit.Record `json:"records"`
}

func runAuditShow(_ context.Context, e *env, args []string) error {
	fs := e.flagSet()
	df := addAuditDirFlags(fs)
	since := fs.String("since", "", "only records newer than `DURATION` ago or an RFC 3339 time")
	kind := fs.String("kind", "", "only records whose kind starts with `PREFIX`")
	if _, err := e.parse(fs, args, 0); err != nil {
		return err
	}
	var after time.Time
	if *since != "" {
		if d, err := time.ParseDuration(*since); err == nil {
			after = e.now().Add(-d)
		} else if t, err := time.Parse(time.RFC3339, *since); err == nil {
			after = t
		} else {
			return e.usagef("--since: want a duration (1h) or an RFC 3339 time, got %q", *since)
		}
	}
	dir, err := df.resolve()
	if err != nil {
		return err
	}
	recs, rep, err := verifyAudit(dir)
	if err != nil {
		return err
	}
	out := auditShowOutput{Dir: dir, OK: rep.OK, Records: []*audit.Record{}}
	for _, r := range recs {
		if *kind != "" && !strings.HasPrefix(string(r.Kind), *kind) {
			continue
		}
		if !after.IsZero() {
			if t, err := time.Parse(time.RFC3339Nano, r.Time); err != nil || !t.After(after) {
				continue
			}
		}
		out.Records = append(out.Records, r)
	}
	if e.json {
		if err := e.printJSON(out); err != nil {
			return err
		}
	} else {
		tw := newTable(e.stdout)
		fmt.Fprintln(tw, "SEQ\tTIME\tKIND\tSOURCE\tEPOCH\tDETAIL")
		for _, r := range out.Records {
			fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\n", r.Seq, r.Time, r.Kind, orDash(string(r.Source)), epochCell(r), detail(r))
		}
		tw.Flush()
	}
	if !rep.OK {
		return auditIntegrity(rep)
	}
	return nil
}

// epochCell shows the head a record states: "a->b" for a change.
func epochCell(r *audit.Record) string {
	switch {
	case r.Epoch == 0 && r.PrevEpoch == 0:
		return "-"
	case r.PrevRoot != "" && r.PrevRoot != r.Root:
		return fmt.Sprintf("%d->%d", r.PrevEpoch, r.Epoch)
	}
	return strconv.FormatUint(r.Epoch, 10)
}

// detail is the rest of a record in one cell.
func detail(r *audit.Record) string {
	var parts []string
	add := func(k, v string) {
		if v != "" {
			parts = append(parts, k+v)
		}
	}
	add("", r.Code)
	if r.Op != "" {
		add("", strings.TrimSpace(r.Op+" "+r.Target))
	}
	if len(r.Signers) > 0 {
		add("signed by ", strings.Join(r.Signers, ","))
	}
	add("plugin ", r.Plugin)
	if r.Restarts > 0 {
		add("restarts ", strconv.Itoa(r.Restarts))
	}
	if r.Lost > 0 {
		add("lost ", strconv.FormatUint(r.Lost, 10))
	}
	add("segment ", r.Segment)
	add("", r.Reason)
	if len(parts) == 0 {
		return "-"
	}
	return strings.Join(parts, "; ")
}

func runAuditVerify(_ context.Context, e *env, args []string) error {
	fs := e.flagSet()
	df := addAuditDirFlags(fs)
	expect := fs.String("expect", "", "require record `SEQ:HASH` (a head printed earlier) to be in the chain")
	if _, err := e.parse(fs, args, 0); err != nil {
		return err
	}
	var wantSeq uint64
	var wantHash string
	if *expect != "" {
		s, h, ok := strings.Cut(*expect, ":")
		n, err := strconv.ParseUint(s, 10, 64)
		if !ok || err != nil || len(h) != 64 {
			return e.usagef("--expect: want SEQ:HASH (a record number and its 64-digit hash), got %q", *expect)
		}
		wantSeq, wantHash = n, h
	}
	dir, err := df.resolve()
	if err != nil {
		return err
	}
	recs, rep, err := verifyAudit(dir)
	if err != nil {
		return err
	}
	if wantSeq != 0 {
		found := false
		for _, r := range recs {
			if r.Seq == wantSeq {
				found = r.Hash == wantHash
				break
			}
		}
		if !found {
			what := fmt.Sprintf("record %d with hash %s is not in the chain", wantSeq, wantHash)
			if rep.LastSeq < wantSeq {
				what += fmt.Sprintf(": the log ends at record %d (its tail was cut off)", rep.LastSeq)
			}
			rep.Problems = append(rep.Problems, audit.Problem{What: what})
			rep.OK = false
		}
	}
	if e.json {
		if err := e.printJSON(rep); err != nil {
			return err
		}
	} else if rep.OK {
		from := fmt.Sprintf("records %d to %d", rep.FirstSeq, rep.LastSeq)
		if rep.RotatedOutBefore != 0 {
			from += " (older ones rotated out)"
		}
		fmt.Fprintf(e.stdout, "ok: %s, head %d:%s\n", from, rep.LastSeq, orNone(rep.Head))
	} else {
		for _, p := range rep.Problems {
			fmt.Fprintln(e.stdout, p.String())
		}
	}
	if !rep.OK {
		return auditIntegrity(rep)
	}
	return nil
}
