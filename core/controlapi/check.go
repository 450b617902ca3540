package controlapi

import (
	"fmt"
	"strings"
)

// CheckLevel is the verdict of a health check, ordered from best to worst.
// Its value is the exit status of `rustynet status --check`.
type CheckLevel int

// Check levels.
const (
	CheckHealthy     CheckLevel = 0 // the node does all its work
	CheckDegraded    CheckLevel = 1 // it runs but cannot do all its work: a plugin restarting or broken, a stalled feed, a lagging high-water mark
	CheckRestricted  CheckLevel = 2 // restricted-safe mode (its trusted state failed verification; it admits no peer) or forked (its data plane follows only a fork's floor)
	CheckUnreachable CheckLevel = 3 // the daemon did not answer (set by the caller; Check never returns it)
)

func (l CheckLevel) String() string {
	switch l {
	case CheckHealthy:
		return "healthy"
	case CheckDegraded:
		return "degraded"
	case CheckRestricted:
		return "restricted"
	case CheckUnreachable:
		return "unreachable"
	}
	return fmt.Sprintf("CheckLevel(%d)", int(l))
}

// CheckResult is a health check's verdict and, in one line, why.
type CheckResult struct {
	Level  CheckLevel `json:"level"`
	State  string     `json:"state"` // Level's name
	Reason string     `json:"reason"`
}

// Line is the one line a check prints: "healthy: …", "degraded: …".
func (r CheckResult) Line() string { return r.State + ": " + r.Reason }

// Check is the one rule for judging a node's health, which `rustynet
// status --check` and the /healthz endpoint both apply: restricted-safe
// mode and a fork (the data plane only shrinks) are worst, then anything that makes Health degraded, else healthy.
func (s Status) Check() CheckResult {
	switch {
	case s.Trust.Restricted:
		return checkResult(CheckRestricted, "restricted-safe mode: "+s.Trust.Reason)
	case s.Trust.Forked != nil:
		return checkResult(CheckRestricted, "forked: "+s.Trust.Forked.Summary)
	case s.Health.State != HealthOK:
		why := strings.Join(s.Health.Reasons, "; ")
		if why == "" {
			why = "health " + s.Health.State
		}
		return checkResult(CheckDegraded, why)
	}
	peers := len(s.Peers)
	if s.PeerSummary != nil {
		peers = s.PeerSummary.Peers
	}
	return checkResult(CheckHealthy, fmt.Sprintf("node %s at epoch %d, backend %s, %d peers", s.Node.ID, s.Trust.Epoch, s.Backend.Name, peers))
}

func checkResult(l CheckLevel, why string) CheckResult {
	return CheckResult{Level: l, State: l.String(), Reason: strings.ReplaceAll(why, "\n", " ")}
}
