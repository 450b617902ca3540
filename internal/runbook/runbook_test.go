package runbook

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestParse(t *testing.T) {
	md := "# Emergency revocation\n\nSome prose.\n\n## 1. Propose\n\n```sh on=coordinator id=propose\n" +
		"rustynet membership propose-revoke-node --from log.json --node-id \"$TARGET\" --out revoke.json\n```\n\n" +
		"Example output:\n\n```text\nwrote revoke.json\n```\n\n## 2. Sign\n\n" +
		"1. Each approver:\n\n   ```sh on=approver\n   rustynet membership sign-update --key \"$APPROVER_KEY\" revoke.json\n   ```\n\n" +
		"## 3. Stop\n\n```sh on=node service=stop\nrustynet service stop\n```\n\n```sh on=peers expect=fail\nfalse\n```\n" +
		"```sh on=coordinator expect=UNKNOWN_SIGNER\nrustynet membership verify-update probe.json\n```\n"
	rb, err := Parse([]byte(md))
	if err != nil {
		t.Fatal(err)
	}
	want := &Runbook{Title: "Emergency revocation", Blocks: []Block{
		{Section: "1. Propose", Where: "coordinator", ID: "propose", Line: 7,
			Script: "rustynet membership propose-revoke-node --from log.json --node-id \"$TARGET\" --out revoke.json\n"},
		{Section: "2. Sign", Where: "approver", Line: 21, Script: "rustynet membership sign-update --key \"$APPROVER_KEY\" revoke.json\n"},
		{Section: "3. Stop", Where: "node", Service: "stop", Line: 27, Script: "rustynet service stop\n"},
		{Section: "3. Stop", Where: "peers", ExpectFail: true, Line: 31, Script: "false\n"},
		{Section: "3. Stop", Where: "coordinator", ExpectFail: true, ExpectCode: "UNKNOWN_SIGNER", Line: 34, Script: "rustynet membership verify-update probe.json\n"},
	}}
	if diff := cmp.Diff(want, rb); diff != "" {
		t.Errorf("Parse (-want +got):\n%s", diff)
	}
}

func TestParseErrors(t *testing.T) {
	for _, tt := range []struct{ md, want string }{
		{"```sh\nls\n```\n", "must say where it runs"},
		{"```sh on=moon\nls\n```\n", "on=moon"},
		{"```sh on=node colour=red\nls\n```\n", "unknown attribute"},
		{"```sh on=node expect=pass\nls\n```\n", "expect=pass"},
		{"```sh on=node expect=\nls\n```\n", "expect="},
		{"```sh on=approver service=stop\nls\n```\n", "runs on a node"},
		{"```sh on=node id=a\nls\n```\n```sh on=node id=a\nls\n```\n", "id=a used twice"},
		{"```sh on=node\nls\n", "not closed"},
	} {
		if _, err := Parse([]byte(tt.md)); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("Parse(%q): got %v, want an error containing %q", tt.md, err, tt.want)
		}
	}
}

// TestEveryRunbookParses holds docs/operations to the format, and to a
// drill script per runbook (scripts/drills/NAME.sh) and no script without
// a runbook.
func TestEveryRunbookParses(t *testing.T) {
	root := filepath.Join("..", "..")
	paths, err := filepath.Glob(filepath.Join(root, "docs", "operations", "*.md"))
	if err != nil {
		t.Fatal(err)
	}
	names := map[string]bool{}
	for _, p := range paths {
		name := strings.TrimSuffix(filepath.Base(p), ".md")
		if name == "README" {
			continue
		}
		names[name] = true
		md, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		rb, err := Parse(md)
		if err != nil {
			t.Errorf("%s: %v", p, err)
			continue
		}
		if rb.Title == "" || len(rb.Blocks) == 0 {
			t.Errorf("%s: got title %q and %d command blocks, want a title and commands", p, rb.Title, len(rb.Blocks))
		}
		if _, err := os.Stat(filepath.Join(root, "scripts", "drills", name+".sh")); err != nil {
			t.Errorf("%s has no drill: %v", p, err)
		}
	}
	scripts, err := filepath.Glob(filepath.Join(root, "scripts", "drills", "*.sh"))
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range scripts {
		name := strings.TrimSuffix(filepath.Base(s), ".sh")
		if name != "run" && !names[name] {
			t.Errorf("%s drills no runbook (docs/operations/%s.md)", s, name)
		}
	}
}
