package main

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"sync"
)

// logNotes collects what plugins and the ledger log at Warn or above while
// a command runs, so that the command's own error stays first on stderr:
// finish prints each collected line as a note after it. Plugins log from
// other goroutines, hence the lock.
type logNotes struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

// Write implements io.Writer for the log handler.
func (l *logNotes) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

// lines returns the collected log lines.
func (l *logNotes) lines() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	s := strings.TrimRight(l.buf.String(), "\n")
	if s == "" {
		return nil
	}
	return strings.Split(s, "\n")
}

// logger returns the logger handed to plugins and the ledger. Its level,
// Warn, is also the lowest level a plugin launched with it logs at.
func (e *env) logger() *slog.Logger {
	return slog.New(slog.NewTextHandler(&e.logs, &slog.HandlerOptions{
		Level: slog.LevelWarn,
		ReplaceAttr: func(groups []string, a slog.Attr) slog.Attr {
			if len(groups) == 0 && a.Key == slog.TimeKey {
				return slog.Attr{}
			}
			return a
		},
	}))
}

// ledgerLogger returns the logger handed to the ledger: e.logger without
// the ledger's announcement of restricted-safe mode, which every command
// reports itself, as its error, first on stderr.
func (e *env) ledgerLogger() *slog.Logger {
	return slog.New(dropMessage{Handler: e.logger().Handler(), msg: "membership ledger is in restricted-safe mode"})
}

// dropMessage is a handler that drops the records whose message is msg.
type dropMessage struct {
	slog.Handler
	msg string
}

// Handle implements slog.Handler.
func (d dropMessage) Handle(ctx context.Context, r slog.Record) error {
	if r.Message == d.msg {
		return nil
	}
	return d.Handler.Handle(ctx, r)
}

// WithAttrs implements slog.Handler.
func (d dropMessage) WithAttrs(as []slog.Attr) slog.Handler {
	return dropMessage{Handler: d.Handler.WithAttrs(as), msg: d.msg}
}

// WithGroup implements slog.Handler.
func (d dropMessage) WithGroup(name string) slog.Handler {
	return dropMessage{Handler: d.Handler.WithGroup(name), msg: d.msg}
}
