package service

import (
	"encoding/xml"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// Label is the launchd job's label; PlistPath is where Launchd installs it.
const (
	Label     = "net.rustynet.daemon"
	PlistPath = "/Library/LaunchDaemons/" + Label + ".plist"
)

// Plist is the launchd property list for spec: a system daemon run at
// boot, kept alive only after a failure (KeepAlive SuccessfulExit=false:
// a clean stop stays stopped), throttled to one launch per 5 s, given 30 s
// to exit on SIGTERM, its log in spec.LogFile.
func Plist(spec Spec) string {
	var b strings.Builder
	w := func(format string, args ...any) { fmt.Fprintf(&b, format+"\n", args...) }
	str := func(s string) string {
		var e strings.Builder
		_ = xml.EscapeText(&e, []byte(s))
		return "<string>" + e.String() + "</string>"
	}
	w(`<?xml version="1.0" encoding="UTF-8"?>`)
	w(`<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">`)
	w(`<!-- Installed by "rustynet service install"; regenerate rather than edit. -->`)
	w(`<plist version="1.0">`)
	w(`<dict>`)
	w(`	<key>Label</key>%s`, str(Label))
	w(`	<key>ProgramArguments</key>`)
	w(`	<array>`)
	for _, a := range []string{spec.Binary, "daemon", "--config", spec.ConfigFile} {
		w(`		%s`, str(a))
	}
	w(`	</array>`)
	w(`	<key>RunAtLoad</key><true/>`)
	w(`	<key>KeepAlive</key>`)
	w(`	<dict>`)
	w(`		<key>SuccessfulExit</key><false/>`)
	w(`	</dict>`)
	w(`	<key>ThrottleInterval</key><integer>5</integer>`)
	w(`	<key>ExitTimeOut</key><integer>30</integer>`)
	w(`	<key>Umask</key><integer>63</integer>`)
	w(`	<key>StandardErrorPath</key>%s`, str(spec.LogFile))
	w(`	<key>StandardOutPath</key>%s`, str(spec.LogFile))
	w(`</dict>`)
	w(`</plist>`)
	return b.String()
}

// Launchd manages the job with launchctl.
type Launchd struct {
	Root string // the file system's root: "/" (a test's directory in tests)
	Run  Runner
}

var _ Manager = Launchd{}

const launchdTarget = "system/" + Label

func (l Launchd) plistFile() string { return filepath.Join(l.Root, PlistPath) }

// Install writes the property list (0644, as launchd requires of system
// daemons) and bootstraps the job into the system domain; RunAtLoad starts
// it.
func (l Launchd) Install(spec Spec) (string, error) {
	path := l.plistFile()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return "", err
	}
	if err := writeFile(path, []byte(Plist(spec)), 0o644); err != nil {
		return "", err
	}
	if out, err := l.Run("launchctl", "enable", launchdTarget); err != nil {
		return out, err
	}
	if out, err := l.Run("launchctl", "bootstrap", "system", PlistPath); err != nil {
		return out, err
	}
	return fmt.Sprintf("installed %s and loaded it into launchd's system domain", PlistPath), nil
}

// Uninstall boots the job out (stopping it) and removes the property list.
func (l Launchd) Uninstall() (string, error) {
	if _, err := os.Stat(l.plistFile()); os.IsNotExist(err) {
		return "", fmt.Errorf("%s is not installed (no %s)", Label, PlistPath)
	}
	if out, err := l.Run("launchctl", "bootout", launchdTarget); err != nil {
		return out, err
	}
	if err := os.Remove(l.plistFile()); err != nil {
		return "", err
	}
	return fmt.Sprintf("stopped and removed %s; the configuration and the node's state stay", PlistPath), nil
}

func (l Launchd) Start() (string, error) { return l.Run("launchctl", "kickstart", launchdTarget) }
func (l Launchd) Stop() (string, error)  { return l.Run("launchctl", "kill", "SIGTERM", launchdTarget) }
func (l Launchd) Status() (string, error) {
	return l.Run("launchctl", "print", launchdTarget)
}
