package vmtest

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

func TestConsoleParsing(t *testing.T) {
	console := []byte("SeaBIOS\r\n[    2.309779] @@RUSTYNET-VM-BEGIN@@\r\n[    2.93] @@RUSTYNET-VM-END status=3@@\r\n[    2.96] reboot: Power down\r\n")
	if got := markerUptime(console); got != 2309779*time.Microsecond {
		t.Errorf("markerUptime: got %v, want 2.309779s", got)
	}
	if got, ok := between(console, endMarker, markerClose); !ok || got != "3" {
		t.Errorf("exit status: got %q, %v; want \"3\"", got, ok)
	}
	if _, ok := between(console, failMarker, markerClose); ok {
		t.Error("found a setup failure in a console without one")
	}
	if got := markerUptime([]byte("no marker")); got != 0 {
		t.Errorf("markerUptime without a marker: got %v, want 0", got)
	}
}

func TestCheckStatic(t *testing.T) {
	if err := checkStatic("/bin/sh"); err == nil {
		t.Error("checkStatic(/bin/sh): got nil, want an error (it is dynamically linked)")
	}
	text := filepath.Join(t.TempDir(), "text")
	if err := os.WriteFile(text, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := checkStatic(text); err == nil {
		t.Error("checkStatic(a script): got nil, want an error (not an ELF file)")
	}
	if bb, err := findBusybox(); err == nil {
		if err := checkStatic(bb); err != nil {
			t.Errorf("checkStatic(%s): %v", bb, err)
		}
	}
}
