package pluginhost

import (
	"context"
	"errors"
	"testing"
	"time"
)

// TestFailureAndRelaunchHooks: an instance that dies is reported to
// OnFailure (with why), its successor to OnRelaunch once it serves, and a
// relaunch that fails to OnFailure again.
func TestFailureAndRelaunchHooks(t *testing.T) {
	l := newLauncher()
	type event struct {
		hook string
		st   Status
	}
	events := make(chan event, 100)
	cfg := l.config()
	cfg.OnFailure = func(st Status) { events <- event{"failure", st} }
	cfg.OnRelaunch = func(st Status) { events <- event{"relaunch", st} }
	s, err := Start(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	recv(t, l.setups, "first setup")

	next := func(what string) event {
		t.Helper()
		select {
		case e := <-events:
			return e
		case <-time.After(10 * time.Second):
			t.Fatalf("timed out waiting for %s", what)
			return event{}
		}
	}
	l.mu.Lock()
	l.failAfter, l.failErr = 2, errors.New("no such binary") // the second relaunch fails
	l.mu.Unlock()
	l.fake(1).die()
	if e := next("the failure"); e.hook != "failure" || e.st.LastError != "process exited" || e.st.Restarts != 1 {
		t.Errorf("first event: got %s %+v, want failure, process exited, 1 restart", e.hook, e.st)
	}
	if e := next("the relaunch"); e.hook != "relaunch" || e.st.State != StateRunning {
		t.Errorf("second event: got %s %+v, want relaunch, running", e.hook, e.st)
	}
	l.fake(2).die()
	next("the second failure")
	if e := next("the failed relaunch"); e.hook != "failure" || e.st.LastError == "process exited" {
		t.Errorf("after a failed relaunch: got %s %+v, want failure with the launch error", e.hook, e.st)
	}
}
