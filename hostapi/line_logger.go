package hostapi

import (
	"bytes"
	"context"
	"log/slog"
	"sync"
)

// maxLogLine is the longest partial line lineLogger buffers before logging
// it anyway.
const maxLogLine = 64 << 10

// lineLogger is an io.Writer that logs every line written to it as one
// record: msg, with the line under "line".
type lineLogger struct {
	log   *slog.Logger
	level slog.Level
	msg   string

	mu  sync.Mutex // guards buf
	buf []byte
}

func (w *lineLogger) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf = append(w.buf, p...)
	for {
		i := bytes.IndexByte(w.buf, '\n')
		if i < 0 {
			break
		}
		w.emit(w.buf[:i])
		w.buf = w.buf[i+1:]
	}
	if len(w.buf) >= maxLogLine {
		w.emit(w.buf)
		w.buf = nil
	}
	return len(p), nil
}

func (w *lineLogger) emit(line []byte) {
	w.log.Log(context.Background(), w.level, w.msg, "line", string(bytes.TrimRight(line, "\r")))
}
