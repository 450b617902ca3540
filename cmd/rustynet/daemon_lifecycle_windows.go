package main

import (
	"context"
	"os"
	"path/filepath"

	"golang.org/x/sys/windows/svc"

	"github.com/rustynet/rustynet/core/paths"
	"github.com/rustynet/rustynet/internal/service"
)

// underServiceManager runs the node. Started by the Service Control
// Manager, it is the Windows service: it reports StartPending, Running
// once the node serves, StopPending when asked to stop (Stop or Shutdown
// cancel the node's context), and exits with the daemon's exit status,
// which the service's recovery actions restart on when it is not 0. A
// service has no console, so the log goes to rustynet.log beside the state
// directory. Run from a console, it just runs the node.
func underServiceManager(ctx context.Context, e *env, run func(context.Context, lifecycle) error) error {
	isService, err := svc.IsWindowsService()
	if err != nil || !isService {
		return run(ctx, lifecycle{ready: func(string) error { return nil }, stopping: func() error { return nil }})
	}
	if l, _ := paths.Current(); l.StateDir != "" {
		logPath := filepath.Join(filepath.Dir(l.StateDir), "rustynet.log")
		if err := os.MkdirAll(filepath.Dir(logPath), 0o700); err == nil {
			if f, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600); err == nil {
				defer f.Close()
				e.stderr = f
			}
		}
	}
	h := &windowsService{ctx: ctx, e: e, run: run}
	if err := svc.Run(service.Name, h); err != nil {
		return ioErrorf("running as the Windows service %q: %v", service.Name, err)
	}
	return exitStatus(h.exit)
}

// windowsService is the svc.Handler of the node.
type windowsService struct {
	ctx  context.Context
	e    *env
	run  func(context.Context, lifecycle) error
	exit int
}

const accepted = svc.AcceptStop | svc.AcceptShutdown

// Execute runs the node as the SCM asks.
func (w *windowsService) Execute(_ []string, reqs <-chan svc.ChangeRequest, status chan<- svc.Status) (bool, uint32) {
	status <- svc.Status{State: svc.StartPending}
	ctx, cancel := context.WithCancel(w.ctx)
	defer cancel()
	done := make(chan error, 1)
	go func() {
		done <- w.run(ctx, lifecycle{
			ready:    func(string) error { status <- svc.Status{State: svc.Running, Accepts: accepted}; return nil },
			stopping: func() error { status <- svc.Status{State: svc.StopPending}; return nil },
		})
	}()
	for {
		select {
		case err := <-done:
			w.exit = w.e.finish(err) // logs the error, as a console run prints it
			return w.exit != 0, uint32(w.exit)
		case r := <-reqs:
			switch r.Cmd {
			case svc.Interrogate:
				status <- r.CurrentStatus
			case svc.Stop, svc.Shutdown:
				status <- svc.Status{State: svc.StopPending}
				cancel()
			}
		}
	}
}
