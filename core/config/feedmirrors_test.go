package config

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestFeedMirrors reads membership.feed_mirrors: locations in the form of
// feed, relative directories resolved as feed's are, and only beside a
// feed.
func TestFeedMirrors(t *testing.T) {
	c := mustParse(t, `membership.feed = "https://a.example/feed/"`, `membership.feed_mirrors = ["https://b.example/feed/head.json", "mirror"]`)
	var got []string
	for _, f := range c.Membership.FeedMirrors {
		got = append(got, f.String())
	}
	if want := []string{"https://b.example/feed/head.json", "/etc/rn/mirror"}; strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("mirrors %q, want %q", got, want)
	}
	tests := []struct {
		name  string
		lines []string
		want  string
	}{
		{"without a feed", []string{`membership.feed_mirrors = ["https://b.example/"]`}, "set feed too"},
		{"not a URL scheme we fetch", []string{`membership.feed = "/f"`, `membership.feed_mirrors = ["ftp://b.example/"]`}, "only http:// and https://"},
		{"not a list", []string{`membership.feed = "/f"`, `membership.feed_mirrors = "https://b.example/"`}, "array of strings"},
	}
	for _, tt := range tests {
		_, err := parse(t, tt.lines...)
		var list ErrorList
		if !errors.As(err, &list) || len(list) != 1 || list[0].Key != "membership.feed_mirrors" || !strings.Contains(list[0].Msg, tt.want) {
			t.Errorf("%s: got %v; want one membership.feed_mirrors problem saying %q", tt.name, err, tt.want)
		}
	}
}

// TestFeedMirrorDirectoriesAreValidated: a directory mirror must be a
// directory, as the feed must.
func TestFeedMirrorDirectoriesAreValidated(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "file")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	c := mustParse(t, `membership.feed = "`+filepath.ToSlash(dir)+`"`, `membership.feed_mirrors = ["`+filepath.ToSlash(file)+`"]`)
	var list ErrorList
	if err := c.Validate(); !errors.As(err, &list) || !strings.Contains(err.Error(), "membership.feed_mirrors") || !strings.Contains(err.Error(), "is not a directory") {
		t.Errorf("Validate = %v; want membership.feed_mirrors: … is not a directory", err)
	}
}
