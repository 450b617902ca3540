//go:build !windows

package main

import (
	"context"

	"github.com/rustynet/rustynet/internal/sdnotify"
)

// underServiceManager runs the node, telling systemd when it is ready and
// when it stops (sd_notify over $NOTIFY_SOCKET; nothing when it is unset,
// as under launchd or a shell).
func underServiceManager(ctx context.Context, _ *env, run func(context.Context, lifecycle) error) error {
	return run(ctx, lifecycle{
		ready: func(status string) error {
			_, err := sdnotify.Notify(sdnotify.Ready, sdnotify.Status(status))
			return err
		},
		stopping: func() error {
			_, err := sdnotify.Notify(sdnotify.Stopping, sdnotify.Status("stopping"))
			return err
		},
	})
}
