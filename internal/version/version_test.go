package version

import (
	"runtime/debug"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestFromBuildInfo(t *testing.T) {
	vcs := &debug.BuildInfo{GoVersion: "go1.26.0", Main: debug.Module{Path: "github.com/rustynet/rustynet", Version: "v0.0.0-20251201223600-0123456789ab+dirty"},
		Settings: []debug.BuildSetting{{Key: "vcs.revision", Value: "0123456789abcdef0123"}, {Key: "vcs.time", Value: "2025-12-01T22:36:00Z"}, {Key: "vcs.modified", Value: "true"}}}
	when := time.Date(2025, 12, 1, 22, 36, 0, 0, time.UTC)
	tests := []struct {
		name                    string
		bi                      *debug.BuildInfo
		version, revision, date string
		want                    Info
		wantString              string
	}{
		{
			name:       "from a VCS checkout",
			bi:         vcs,
			want:       Info{Version: "v0.0.0-20251201223600-0123456789ab+dirty", Revision: "0123456789abcdef0123", Modified: true, Date: when, GoVersion: "go1.26.0"},
			wantString: "v0.0.0-20251201223600-0123456789ab+dirty (rev 0123456789ab+dirty, 2025-12-01T22:36:00Z, go1.26.0)",
		},
		{
			name: "stamped by a release build", bi: vcs, version: "v1.2.3", revision: "fedcba9876543210", date: "2026-01-02T03:04:05Z",
			want:       Info{Version: "v1.2.3", Revision: "fedcba9876543210", Date: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC), GoVersion: "go1.26.0"},
			wantString: "v1.2.3 (rev fedcba987654, 2026-01-02T03:04:05Z, go1.26.0)",
		},
		{
			name:       "no VCS information (go run, tests)",
			bi:         &debug.BuildInfo{GoVersion: "go1.26.0", Main: debug.Module{Path: "github.com/rustynet/rustynet", Version: "(devel)"}},
			want:       Info{Version: "(devel)", GoVersion: "go1.26.0"},
			wantString: "(devel) (go1.26.0)",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := fromBuildInfo(tt.bi, tt.version, tt.revision, tt.date)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("got … want (-want +got):\n%s", diff)
			}
			if s := got.String(); s != tt.wantString {
				t.Errorf("String: got %q, want %q", s, tt.wantString)
			}
		})
	}
}

func TestGetKnowsTheToolchain(t *testing.T) {
	if in := Get(); in.GoVersion == "" || in.Version == "" {
		t.Errorf("got %+v, want a version and a Go version", in)
	}
}
