package conformance

import (
	"time"

	"github.com/rustynet/rustynet/hostapi"
)

// Report is the outcome of one run of the suite against one plugin.
type Report struct {
	// Plugin is the plugin's path (or the target's name for an in-process
	// or reattached target); SHA256 the hex SHA-256 of the binary, empty in
	// process and, where the system does not show a process's executable,
	// for a reattached plugin.
	Plugin string
	SHA256 string
	Args   []string
	Kind   Kind
	// ProtocolVersion is the protocol version negotiated with the plugin.
	ProtocolVersion int
	// Info is what the plugin's Info returned.
	Info    PluginInfo
	Started time.Time
	// Duration is the wall time of the whole run.
	Duration time.Duration
	Results  []Result
}

// PluginInfo is the plugin's Info as a report shows it.
type PluginInfo struct {
	Name         string              `json:"name"`
	Version      string              `json:"version"`
	Capabilities []string            `json:"capabilities"`
	Privileges   *hostapi.Privileges `json:"privileges,omitempty"`
}

// Summary counts results.
type Summary struct {
	Total int `json:"total"`
	Pass  int `json:"pass"`
	Fail  int `json:"fail"`
	Skip  int `json:"skip"`
	// MustFail and ShouldFail split Fail by level: MustFail > 0 means the
	// plugin does not conform.
	MustFail   int `json:"must_fail"`
	ShouldFail int `json:"should_fail"`
}

// newReport starts the report of s's run.
func (s *session) newReport() *Report {
	r := &Report{
		Plugin:          s.target.name,
		Args:            s.target.binary.Args,
		Kind:            s.kind,
		ProtocolVersion: s.protocolVersion,
		Started:         time.Now(),
	}
	switch {
	case s.target.launched():
		r.Plugin = s.target.binary.Path
		r.SHA256 = binarySHA256(s.target.binary.Path)
	case s.target.reattach != nil:
		r.SHA256 = processSHA256(s.target.reattach.Pid)
	}
	switch s.kind {
	case KindStore:
		r.Info = PluginInfo{Name: s.storeInfo.Name, Version: s.storeInfo.Version, Capabilities: StoreCapNames(s.storeInfo.Capabilities)}
	case KindBackend:
		p := s.backendInfo.Privileges
		r.Info = PluginInfo{Name: s.backendInfo.Name, Version: s.backendInfo.Version, Capabilities: BackendCapNames(s.backendInfo.Capabilities), Privileges: &p}
	}
	if r.Info.Capabilities == nil {
		r.Info.Capabilities = []string{}
	}
	return r
}

func (r *Report) add(res Result) { r.Results = append(r.Results, res) }

func (r *Report) finish() { r.Duration = time.Since(r.Started) }

// Summary counts the report's results.
func (r *Report) Summary() Summary {
	var s Summary
	for _, res := range r.Results {
		s.Total++
		switch res.Status {
		case StatusPass:
			s.Pass++
		case StatusSkip:
			s.Skip++
		case StatusFail:
			s.Fail++
			if res.Level == Must {
				s.MustFail++
			} else {
				s.ShouldFail++
			}
		}
	}
	return s
}

// Conforms reports whether every MUST case that ran passed.
func (r *Report) Conforms() bool { return r.Summary().MustFail == 0 }

// Failed returns the IDs of the failed cases, in run order.
func (r *Report) Failed() []string {
	var ids []string
	for _, res := range r.Results {
		if res.Status == StatusFail {
			ids = append(ids, res.ID)
		}
	}
	return ids
}

// binarySHA256 hashes the executable at path (looked up in PATH), or
// returns "" if it cannot be read.
func binarySHA256(path string) string {
	sum, err := hostapi.FileSHA256(lookPath(path))
	if err != nil {
		return ""
	}
	return sum
}
