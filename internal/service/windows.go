package service

import (
	"fmt"
	"time"
)

// WindowsService is what the Service Control Manager records for the
// node's service.
type WindowsService struct {
	Name        string
	DisplayName string
	Description string
	// BinaryPath and Args are the command line: rustynet.exe daemon
	// --config FILE. The service runs as LocalSystem.
	BinaryPath string
	Args       []string
	// AutoStart starts the service at boot (delayed, after the network).
	AutoStart bool
	// RestartDelays are the recovery actions: restart after each delay,
	// for the first, second and later failures; ResetPeriod is when the
	// failure count starts over. FailureOnNonCrash counts an exit with a
	// non-zero status as a failure too, not only a crash.
	RestartDelays     []time.Duration
	ResetPeriod       time.Duration
	FailureOnNonCrash bool
	// LogFile is where the daemon logs when the SCM runs it (a service
	// has no console).
	LogFile string
}

// WindowsConfig is the Windows service for spec.
func WindowsConfig(spec Spec) WindowsService {
	return WindowsService{
		Name:              Name,
		DisplayName:       "Rustynet mesh node",
		Description:       "Rustynet mesh node agent: keeps the WireGuard data plane equal to the quorum-signed membership.",
		BinaryPath:        spec.Binary,
		Args:              []string{"daemon", "--config", spec.ConfigFile},
		AutoStart:         true,
		RestartDelays:     []time.Duration{5 * time.Second, 5 * time.Second, 30 * time.Second},
		ResetPeriod:       24 * time.Hour,
		FailureOnNonCrash: true,
		LogFile:           spec.LogFile,
	}
}

// SCM is the part of the Service Control Manager WindowsSCM uses; the real
// one is in scm_windows.go.
type SCM interface {
	// Exists reports whether a service called name is installed.
	Exists(name string) (bool, error)
	// Create installs ws, recovery actions included.
	Create(ws WindowsService) error
	// Delete stops the service if it runs and deletes it.
	Delete(name string) error
	// Start starts the service; Stop asks it to stop and waits until it has.
	Start(name string) error
	Stop(name string) error
	// Query describes the service's state ("running", "stopped", ...).
	Query(name string) (string, error)
}

// WindowsSCM manages the service through an SCM.
type WindowsSCM struct{ SCM SCM }

var _ Manager = WindowsSCM{}

// Install creates the service (automatic start, restart on failure).
func (w WindowsSCM) Install(spec Spec) (string, error) {
	exists, err := w.SCM.Exists(Name)
	if err != nil {
		return "", err
	}
	if exists {
		return "", fmt.Errorf("the service %q is already installed (run `rustynet service uninstall` first)", Name)
	}
	if err := w.SCM.Create(WindowsConfig(spec)); err != nil {
		return "", err
	}
	return fmt.Sprintf("installed the service %q (automatic start; start it now with `rustynet service start`)", Name), nil
}

// Uninstall stops and deletes the service.
func (w WindowsSCM) Uninstall() (string, error) {
	exists, err := w.SCM.Exists(Name)
	if err != nil {
		return "", err
	}
	if !exists {
		return "", fmt.Errorf("the service %q is not installed", Name)
	}
	if err := w.SCM.Delete(Name); err != nil {
		return "", err
	}
	return fmt.Sprintf("stopped and deleted the service %q; the configuration and the node's state stay", Name), nil
}

func (w WindowsSCM) Start() (string, error) { return "", w.SCM.Start(Name) }
func (w WindowsSCM) Stop() (string, error)  { return "", w.SCM.Stop(Name) }
func (w WindowsSCM) Status() (string, error) {
	st, err := w.SCM.Query(Name)
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("service %q: %s", Name, st), nil
}
