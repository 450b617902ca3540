package service

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// fakeSCM records what WindowsSCM asks of the Service Control Manager.
type fakeSCM struct {
	services map[string]WindowsService
	running  map[string]bool
}

func newFakeSCM() *fakeSCM {
	return &fakeSCM{services: map[string]WindowsService{}, running: map[string]bool{}}
}

func (f *fakeSCM) Exists(name string) (bool, error) { _, ok := f.services[name]; return ok, nil }
func (f *fakeSCM) Create(ws WindowsService) error   { f.services[ws.Name] = ws; return nil }
func (f *fakeSCM) Delete(name string) error {
	delete(f.services, name)
	delete(f.running, name)
	return nil
}
func (f *fakeSCM) Start(name string) error { f.running[name] = true; return nil }
func (f *fakeSCM) Stop(name string) error  { f.running[name] = false; return nil }
func (f *fakeSCM) Query(name string) (string, error) {
	if f.running[name] {
		return "running", nil
	}
	return "stopped", nil
}

func TestWindowsSCM(t *testing.T) {
	spec := Spec{Binary: `C:\Program Files\rustynet\rustynet.exe`, ConfigFile: `C:\ProgramData\rustynet\rustynet.toml`, LogFile: `C:\ProgramData\rustynet\rustynet.log`}
	scm := newFakeSCM()
	m := WindowsSCM{SCM: scm}
	if _, err := m.Install(spec); err != nil {
		t.Fatal(err)
	}
	want := WindowsService{
		Name: "rustynet", DisplayName: "Rustynet mesh node", Description: WindowsConfig(spec).Description,
		BinaryPath: `C:\Program Files\rustynet\rustynet.exe`, Args: []string{"daemon", "--config", `C:\ProgramData\rustynet\rustynet.toml`},
		AutoStart: true, RestartDelays: []time.Duration{5 * time.Second, 5 * time.Second, 30 * time.Second}, ResetPeriod: 24 * time.Hour,
		FailureOnNonCrash: true, LogFile: `C:\ProgramData\rustynet\rustynet.log`,
	}
	if diff := cmp.Diff(want, scm.services["rustynet"]); diff != "" {
		t.Errorf("created service (-want +got):\n%s", diff)
	}
	if _, err := m.Install(spec); err == nil || !strings.Contains(err.Error(), "already installed") {
		t.Errorf("second Install: got %v, want an error saying it is installed", err)
	}
	m.Start()
	if st, _ := m.Status(); st != `service "rustynet": running` {
		t.Errorf("Status: got %q", st)
	}
	if _, err := m.Uninstall(); err != nil {
		t.Fatal(err)
	}
	if len(scm.services) != 0 {
		t.Errorf("services left after Uninstall: %v", scm.services)
	}
	if _, err := m.Uninstall(); err == nil {
		t.Error("Uninstall of a service that is not installed succeeded")
	}
}
