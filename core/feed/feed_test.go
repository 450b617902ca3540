package feed

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestSources(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "log.json"), []byte("[]"), 0o600); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/big" {
			w.Write([]byte(strings.Repeat("x", MaxLogBytes+1)))
			return
		}
		if r.URL.Path != "/log.json" {
			http.NotFound(w, r)
			return
		}
		w.Write([]byte("[1]"))
	}))
	defer srv.Close()
	tests := []struct {
		loc     string
		want    string
		wantErr bool
	}{
		{dir, "[]", false},
		{srv.URL + "/log.json", "[1]", false},
		{srv.URL + "/missing", "", true},
		{srv.URL + "/big", "", true},
	}
	for _, tt := range tests {
		src, err := New(tt.loc, srv.Client())
		if err != nil {
			t.Fatalf("New(%q): %v", tt.loc, err)
		}
		got, err := src.Fetch(context.Background())
		if (err != nil) != tt.wantErr || string(got) != tt.want {
			t.Errorf("Fetch(%q) = %q, %v; want %q, error %v", tt.loc, got, err, tt.want, tt.wantErr)
		}
	}
	for _, bad := range []string{"", filepath.Join(dir, "log.json"), filepath.Join(dir, "absent")} {
		if _, err := New(bad, nil); err == nil {
			t.Errorf("New(%q) succeeded", bad)
		}
	}
}
