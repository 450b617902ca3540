package service

import (
	"encoding/xml"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// plistDict decodes the top-level dict of a property list into key → raw
// element text (arrays as their strings joined by "|", booleans as
// "true"/"false", nested dicts as "dict").
func plistDict(t *testing.T, data string) map[string]string {
	t.Helper()
	d := xml.NewDecoder(strings.NewReader(data))
	d.Strict = true
	out := map[string]string{}
	var key string
	depth := 0
	var arr []string
	for {
		tok, err := d.Token()
		if err != nil {
			break
		}
		switch el := tok.(type) {
		case xml.StartElement:
			depth++
			switch {
			case el.Name.Local == "key" && depth == 3:
				var k string
				if err := d.DecodeElement(&k, &el); err != nil {
					t.Fatal(err)
				}
				key, depth = k, depth-1
			case depth == 3 && (el.Name.Local == "string" || el.Name.Local == "integer"):
				var v string
				if err := d.DecodeElement(&v, &el); err != nil {
					t.Fatal(err)
				}
				out[key], depth = v, depth-1
			case depth == 3 && (el.Name.Local == "true" || el.Name.Local == "false"):
				out[key] = el.Name.Local
			case depth == 3 && el.Name.Local == "dict":
				out[key] = "dict"
			case depth == 3 && el.Name.Local == "array":
				arr = nil
			case depth == 4 && el.Name.Local == "string":
				var v string
				if err := d.DecodeElement(&v, &el); err != nil {
					t.Fatal(err)
				}
				arr, depth = append(arr, v), depth-1
			}
		case xml.EndElement:
			if depth == 3 && el.Name.Local == "array" {
				out[key] = strings.Join(arr, "|")
			}
			depth--
		}
	}
	return out
}

func TestPlist(t *testing.T) {
	spec := netstackSpec
	spec.ConfigFile = "/Library/Application Support/rustynet/rustynet.toml"
	spec.LogFile = "/Library/Application Support/rustynet/rustynet.log"
	got := plistDict(t, Plist(spec))
	want := map[string]string{
		"Label":             "net.rustynet.daemon",
		"ProgramArguments":  "/usr/local/bin/rustynet|daemon|--config|/Library/Application Support/rustynet/rustynet.toml",
		"RunAtLoad":         "true",
		"KeepAlive":         "dict",
		"ThrottleInterval":  "5",
		"ExitTimeOut":       "30",
		"Umask":             "63",
		"StandardErrorPath": "/Library/Application Support/rustynet/rustynet.log",
		"StandardOutPath":   "/Library/Application Support/rustynet/rustynet.log",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("plist (-want +got):\n%s\n%s", diff, Plist(spec))
	}
	if !strings.Contains(Plist(spec), "<key>SuccessfulExit</key><false/>") {
		t.Error("KeepAlive does not restart only after a failure (SuccessfulExit false)")
	}
}

func TestLaunchdInstallUninstall(t *testing.T) {
	root := t.TempDir()
	r := &recorder{}
	m := Launchd{Root: root, Run: r.run}
	if _, err := m.Install(netstackSpec); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(root, "Library/LaunchDaemons/net.rustynet.daemon.plist")
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o644 {
		t.Errorf("plist mode %v, want 0644", fi.Mode().Perm())
	}
	for _, c := range []func() (string, error){m.Start, m.Stop, m.Status, m.Uninstall} {
		if _, err := c(); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Errorf("the plist is still there after Uninstall: %v", err)
	}
	want := []string{
		"launchctl enable system/net.rustynet.daemon", "launchctl bootstrap system /Library/LaunchDaemons/net.rustynet.daemon.plist",
		"launchctl kickstart system/net.rustynet.daemon", "launchctl kill SIGTERM system/net.rustynet.daemon",
		"launchctl print system/net.rustynet.daemon", "launchctl bootout system/net.rustynet.daemon",
	}
	if diff := cmp.Diff(want, r.cmds); diff != "" {
		t.Errorf("commands (-want +got):\n%s", diff)
	}
}
