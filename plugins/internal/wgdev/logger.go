package wgdev

import (
	"context"
	"fmt"
	"log/slog"

	"golang.zx2c4.com/wireguard/device"
)

// deviceLogger adapts l to wireguard-go's printf-style logger: its verbose
// lines become Debug records (formatted only when Debug is enabled), its
// errors Error records. wireguard-go never puts key material in log lines.
func deviceLogger(l *slog.Logger) *device.Logger {
	return &device.Logger{
		Verbosef: func(format string, args ...any) {
			if l.Enabled(context.Background(), slog.LevelDebug) {
				l.Debug(fmt.Sprintf(format, args...))
			}
		},
		Errorf: func(format string, args ...any) {
			l.Error(fmt.Sprintf(format, args...))
		},
	}
}
