package storelayout

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

func TestDetect(t *testing.T) {
	tests := []struct {
		name    string
		entries []string // directories end in /
		want    string
		mixed   bool
	}{
		{"missing", nil, "", false},
		{"empty", []string{}, "", false},
		{"only a lock file", []string{"LOCK"}, "", false},
		{"file store", []string{"LOCK", "log/", "snapshot"}, File, false},
		{"file store without snapshot", []string{"log/"}, File, false},
		{"sqlite store", []string{"LOCK", "store.db"}, SQLite, false},
		{"both", []string{"log/", "store.db"}, "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "state")
			if tt.entries != nil {
				must(t, os.Mkdir(dir, 0o700))
			}
			for _, e := range tt.entries {
				p := filepath.Join(dir, e)
				if e[len(e)-1] == '/' {
					must(t, os.Mkdir(p, 0o700))
				} else {
					must(t, os.WriteFile(p, nil, 0o600))
				}
			}
			got, err := Detect(dir)
			if tt.mixed {
				if !errors.Is(err, ErrMixed) {
					t.Fatalf("got %q, %v, want ErrMixed", got, err)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("got %q, %v, want %q", got, err, tt.want)
			}
			for _, kind := range Kinds() {
				err := Mismatch(dir, kind)
				if wantErr := tt.want != "" && tt.want != kind; (err != nil) != wantErr {
					t.Errorf("Mismatch(%s): got %v, want an error: %v", kind, err, wantErr)
				}
			}
		})
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
