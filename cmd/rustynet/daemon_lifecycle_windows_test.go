package main

import (
	"bytes"
	"context"
	"testing"

	"golang.org/x/sys/windows/svc"
)

// TestWindowsServiceHandler drives the service handler as the SCM does:
// StartPending, Running once the node is ready, StopPending on Stop, and
// the daemon's exit status as the service's.
func TestWindowsServiceHandler(t *testing.T) {
	var stderr bytes.Buffer
	e := &env{stdout: &bytes.Buffer{}, stderr: &stderr, now: clock}
	ran := make(chan struct{})
	h := &windowsService{ctx: context.Background(), e: e, run: func(ctx context.Context, lc lifecycle) error {
		close(ran)
		lc.ready("serving")
		<-ctx.Done()
		lc.stopping()
		return nil
	}}
	reqs := make(chan svc.ChangeRequest)
	status := make(chan svc.Status, 10)
	done := make(chan [2]any, 1)
	go func() {
		ssec, code := h.Execute(nil, reqs, status)
		done <- [2]any{ssec, code}
	}()
	if s := <-status; s.State != svc.StartPending {
		t.Fatalf("first status %v, want StartPending", s.State)
	}
	<-ran
	if s := <-status; s.State != svc.Running || s.Accepts&svc.AcceptStop == 0 {
		t.Fatalf("status %+v, want Running accepting Stop", s)
	}
	reqs <- svc.ChangeRequest{Cmd: svc.Stop}
	if s := <-status; s.State != svc.StopPending {
		t.Fatalf("status %v after Stop, want StopPending", s.State)
	}
	if got := <-done; got != [2]any{false, uint32(0)} {
		t.Errorf("Execute returned %v, want a clean exit (false, 0)", got)
	}
}
