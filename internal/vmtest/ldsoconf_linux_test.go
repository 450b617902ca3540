package vmtest

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestReadLdSoConf(t *testing.T) {
	tests := []struct {
		name    string
		files   map[string]string // relative to a temporary directory; "ld.so.conf" is read
		want    []string
		wantErr string
	}{
		{
			name: "Debian layout",
			files: map[string]string{
				"ld.so.conf":                     "include ld.so.conf.d/*.conf\n",
				"ld.so.conf.d/libc.conf":         "# libc default configuration\n/usr/local/lib\n",
				"ld.so.conf.d/x86_64-linux.conf": "# Multiarch support\n/usr/local/lib/x86_64-linux-gnu\n/lib/x86_64-linux-gnu\n/usr/lib/x86_64-linux-gnu\n",
				"ld.so.conf.d/README":            "/not/a/conf/file\n",
			},
			want: []string{"/usr/local/lib", "/usr/local/lib/x86_64-linux-gnu", "/lib/x86_64-linux-gnu", "/usr/lib/x86_64-linux-gnu"},
		},
		{
			name: "comments, blanks, hwcap, duplicates, trailing slashes",
			files: map[string]string{
				"ld.so.conf": "  /opt/a/  # trailing comment\n\n# /opt/commented\nhwcap 0 nosegneg\n/opt/b\n/opt/a\n",
			},
			want: []string{"/opt/a", "/opt/b"},
		},
		{
			name: "absolute include and one that matches nothing",
			files: map[string]string{
				"ld.so.conf":   "include ABS/other/*.conf\ninclude none/*.conf\n/opt/last\n",
				"other/1.conf": "/opt/first\n",
			},
			want: []string{"/opt/first", "/opt/last"},
		},
		{
			name:  "no file",
			files: map[string]string{},
			want:  nil,
		},
		{
			name:    "include loop",
			files:   map[string]string{"ld.so.conf": "/opt/a\ninclude ld.so.conf\n"},
			wantErr: "nested deeper",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			for name, body := range tt.files {
				p := filepath.Join(dir, name)
				if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(p, []byte(strings.ReplaceAll(body, "ABS", dir)), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			got, err := readLdSoConf(filepath.Join(dir, "ld.so.conf"))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("got error %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("directories (-want +got):\n%s", diff)
			}
		})
	}
}
