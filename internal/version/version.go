// Package version says which build of Rustynet is running: the module
// version, the VCS revision and the build date from the binary's build
// information (runtime/debug.ReadBuildInfo), which a release build may
// stamp with -ldflags (see scripts/release.sh), and the Go version. The
// rustynet binary and every plugin built from this module report the same
// Info: `rustynet version`, the plugins' Info, `rustynet status`.
package version

import (
	"fmt"
	"runtime"
	"runtime/debug"
	"strings"
	"sync"
	"time"
)

// Stamped by a release build with
// -ldflags "-X github.com/rustynet/rustynet/internal/version.stampedVersion=v1.2.3 -X ...stampedDate=2025-01-02T03:04:05Z";
// each one overrides what the build information says.
var (
	stampedVersion  string
	stampedRevision string
	stampedDate     string // RFC 3339
)

// Info identifies a build.
type Info struct {
	// Version is the module version: a release tag, a pseudo-version for
	// a build from a VCS checkout, or "(devel)".
	Version string `json:"version"`
	// Revision is the VCS commit the binary was built from; empty if not
	// known. Modified is true when the checkout had uncommitted changes.
	Revision string `json:"revision,omitempty"`
	Modified bool   `json:"modified,omitempty"`
	// Date is the build date: the stamped date of a release, else the
	// commit's time (reproducible: the same source gives the same date);
	// zero if not known.
	Date time.Time `json:"date,omitzero"`
	// GoVersion is the Go toolchain that built the binary.
	GoVersion string `json:"go_version"`
}

// Get returns this binary's build information.
func Get() Info { return get() }

var get = sync.OnceValue(func() Info {
	bi, _ := debug.ReadBuildInfo()
	return fromBuildInfo(bi, stampedVersion, stampedRevision, stampedDate)
})

// fromBuildInfo builds an Info from build information (nil when the
// binary has none) and the stamped values, which win when set.
func fromBuildInfo(bi *debug.BuildInfo, version, revision, date string) Info {
	in := Info{Version: "(devel)", GoVersion: runtime.Version()}
	if bi != nil {
		in.GoVersion = bi.GoVersion
		if bi.Main.Version != "" {
			in.Version = bi.Main.Version
		}
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				in.Revision = s.Value
			case "vcs.modified":
				in.Modified = s.Value == "true"
			case "vcs.time":
				if t, err := time.Parse(time.RFC3339, s.Value); err == nil {
					in.Date = t.UTC()
				}
			}
		}
	}
	if version != "" {
		in.Version = version
	}
	if revision != "" {
		in.Revision, in.Modified = revision, false
	}
	if t, err := time.Parse(time.RFC3339, date); err == nil {
		in.Date = t.UTC()
	}
	return in
}

// String is the one-line form plugins report as their Info version and
// status shows: "v1.2.3 (rev 0123456789ab+dirty, 2025-01-02T03:04:05Z, go1.26.0)",
// leaving out what is not known.
func (in Info) String() string {
	var parts []string
	if in.Revision != "" {
		rev := in.Revision
		if len(rev) > 12 {
			rev = rev[:12]
		}
		if in.Modified {
			rev += "+dirty"
		}
		parts = append(parts, "rev "+rev)
	}
	if !in.Date.IsZero() {
		parts = append(parts, in.Date.Format(time.RFC3339))
	}
	parts = append(parts, in.GoVersion)
	return fmt.Sprintf("%s (%s)", in.Version, strings.Join(parts, ", "))
}
