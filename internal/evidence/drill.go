package evidence

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"time"
)

// Drill is the evidence one drill writes (artifacts/drills/NAME.json): the
// runbook it performed, each step as run, the trusted heads before and
// after, what it measured, and its verdict.
type Drill struct {
	Name    string    `json:"name"`
	Runbook string    `json:"runbook"` // docs/operations/NAME.md
	Status  string    `json:"status"`  // Pass or Fail
	Error   string    `json:"error,omitempty"`
	Started time.Time `json:"started"`
	// DurationMS is the whole drill, setup of its nodes included.
	DurationMS float64 `json:"duration_ms"`
	Steps      []Step  `json:"steps"`
	Before     []Head  `json:"before"`
	After      []Head  `json:"after"`
	// Measurements are named timings and counts (for emergency revocation:
	// revoke_to_refused_ms, from the signed revoke to the revoked node's
	// traffic refused on every peer).
	Measurements map[string]float64 `json:"measurements,omitempty"`
	// Audit lists the nodes' audit trails the drill kept (a copy beside
	// the evidence file) and their verification.
	Audit []AuditCopy `json:"audit,omitempty"`
}

// Step is one runbook command block as the drill ran it, or one check the
// drill made between blocks.
type Step struct {
	Title      string  `json:"title"`
	Where      string  `json:"where"` // the runbook's on= (approvers, node NAME, ...) or "check"
	Command    string  `json:"command"`
	ExitCode   int     `json:"exit_code"`
	Expect     string  `json:"expect,omitempty"` // what the runbook says must happen
	DurationMS float64 `json:"duration_ms"`
	Output     string  `json:"output,omitempty"` // the tail of stdout and stderr
	Status     string  `json:"status"`
}

// Head is a node's trusted head at a moment.
type Head struct {
	Node       string `json:"node"`
	Epoch      uint64 `json:"epoch"`
	StateRoot  string `json:"state_root"`
	Restricted bool   `json:"restricted,omitempty"`
}

// AuditCopy is one node's audit trail as a drill kept it.
type AuditCopy struct {
	Node     string `json:"node"`
	Dir      string `json:"dir"` // relative to the evidence file
	OK       bool   `json:"ok"`
	Records  int    `json:"records"`
	Head     string `json:"head"`
	Problems int    `json:"problems"`
}

// WriteDrill writes d to dir/NAME.json.
func WriteDrill(dir string, d *Drill) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	b, err := json.MarshalIndent(d, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, d.Name+".json"), append(b, '\n'), 0o644)
}

// ReadDrills reads every NAME.json in dir, sorted by name.
func ReadDrills(dir string) ([]*Drill, error) {
	paths, err := filepath.Glob(filepath.Join(dir, "*.json"))
	if err != nil {
		return nil, err
	}
	slices.Sort(paths)
	var out []*Drill
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			return nil, err
		}
		var d Drill
		if err := json.Unmarshal(b, &d); err != nil {
			return nil, fmt.Errorf("%s: %w", p, err)
		}
		out = append(out, &d)
	}
	return out, nil
}
