// Package feed fetches a network's portable signed log from an untrusted
// source: a directory (its log.json) or an http(s) URL. It only transports
// bytes; the ledger verifies every entry and refuses forks and rollbacks.
package feed

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
)

// MaxLogBytes bounds what one fetch may return.
const MaxLogBytes = 64 << 20

// Source fetches the current log.
type Source interface {
	// Fetch returns the log's bytes (a portable log file).
	Fetch(ctx context.Context) ([]byte, error)
	// String names the source for status and logs.
	String() string
}

// New returns the source for loc: an http:// or https:// URL, or a
// directory path whose log.json is read.
func New(loc string, client *http.Client) (Source, error) {
	switch {
	case strings.HasPrefix(loc, "http://"), strings.HasPrefix(loc, "https://"):
		if client == nil {
			client = http.DefaultClient
		}
		return &httpSource{url: loc, client: client}, nil
	case loc == "":
		return nil, errors.New("feed: empty location")
	}
	fi, err := os.Stat(loc)
	if err != nil {
		return nil, fmt.Errorf("feed: %w", err)
	}
	if !fi.IsDir() {
		return nil, fmt.Errorf("feed: %s is not a directory or an http(s) URL", loc)
	}
	return dirSource(loc), nil
}

type dirSource string

func (d dirSource) String() string { return string(d) }

func (d dirSource) Fetch(ctx context.Context) ([]byte, error) {
	f, err := os.Open(filepath.Join(string(d), "log.json"))
	if err != nil {
		return nil, fmt.Errorf("feed: %w", err)
	}
	defer f.Close()
	return readLimited(f)
}

type httpSource struct {
	url    string
	client *http.Client
}

func (h *httpSource) String() string { return h.url }

func (h *httpSource) Fetch(ctx context.Context) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, h.url, nil)
	if err != nil {
		return nil, fmt.Errorf("feed: %w", err)
	}
	resp, err := h.client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("feed: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("feed: %s answered %s", h.url, resp.Status)
	}
	return readLimited(resp.Body)
}

func readLimited(r io.Reader) ([]byte, error) {
	data, err := io.ReadAll(io.LimitReader(r, MaxLogBytes+1))
	if err != nil {
		return nil, fmt.Errorf("feed: %w", err)
	}
	if len(data) > MaxLogBytes {
		return nil, fmt.Errorf("feed: the log is larger than %d bytes", MaxLogBytes)
	}
	return data, nil
}
