package controlapi

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"

	"github.com/rustynet/rustynet/core/membership"
)

// Bounds of a GET /v1/log answer. The entries of a page are the epochs
// from the one asked for on, at most MaxLogEntries of them and, past the
// first entry, at most MaxLogPageBytes of encoded log: a page always
// holds at least one entry when the log has the epoch asked for, so a
// client makes progress whatever the size of an entry.
const (
	MaxLogEntries   = 256
	MaxLogPageBytes = 8 << 20
)

// LogHead is what the daemon says about its trusted log beside a page of
// it. None of it is trusted by the client: it verifies the entries itself,
// from the genesis, as it verifies a log file.
type LogHead struct {
	NetworkID string `json:"network_id"` // "" while the node holds no membership
	// GenesisRoot is the genesis root the daemon pins (hex); "" if its
	// configuration pins none.
	GenesisRoot string `json:"genesis_root,omitempty"`
	// Head is the epoch of the newest trusted entry; 0 while the node
	// holds no membership.
	Head uint64 `json:"head"`
	// Restricted says why the daemon is in restricted-safe mode, while it
	// is; its log then ends at the longest verified prefix.
	Restricted string `json:"restricted,omitempty"`
}

// LogPage is the answer to GET /v1/log?from=N: the head, and the trusted
// entries of epochs N, N+1, … as a portable log (membership.EncodeLog),
// an empty array past the head.
type LogPage struct {
	LogHead
	From    uint64          `json:"from"`
	Entries json.RawMessage `json:"entries"`
}

// logPage answers GET /v1/log?from=N (N ≥ 1, the only parameter).
func (s *server) logPage(w http.ResponseWriter, r *http.Request) {
	if !s.method(w, r, http.MethodGet) {
		return
	}
	q := r.URL.Query()
	from, err := strconv.ParseUint(q.Get("from"), 10, 64)
	if err != nil || from == 0 || len(q) != 1 || len(q["from"]) != 1 {
		s.fail(w, r, Errorf(CodeUsage, "want ?from=EPOCH (1 or more) and no other parameter"))
		return
	}
	head, entries, err := s.h.Log(r.Context(), from, MaxLogEntries)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if len(entries) > MaxLogEntries {
		entries = entries[:MaxLogEntries] // a handler that ignored max
	}
	s.reply(w, LogPage{LogHead: head, From: from, Entries: encodePage(entries, MaxLogPageBytes)})
}

// encodePage encodes the longest prefix of entries within limit bytes
// (MaxLogPageBytes), but at least one entry.
func encodePage(entries []*membership.SignedUpdate, limit int) []byte {
	size := 0
	for i, u := range entries {
		size += len(u.Encode()) + 2
		if i > 0 && size > limit {
			entries = entries[:i]
			break
		}
	}
	return membership.EncodeLog(entries)
}

// maxLogPageResponse bounds what the client reads of one page: the
// entries' bound, one entry of the largest size, and the head.
const maxLogPageResponse = MaxLogPageBytes + MaxUpdateBytes + 64<<10

// LogPage fetches the page of the daemon's log that starts at epoch from
// (1 or more). It checks the page's form: a portable log of at most
// MaxLogEntries entries, of the epochs from, from+1, … in order, none past
// the head the page names. Verifying the entries is the caller's work.
func (c *Client) LogPage(ctx context.Context, from uint64) (LogHead, []*membership.SignedUpdate, error) {
	var p LogPage
	if err := c.doLimit(ctx, http.MethodGet, "/v1/log?from="+strconv.FormatUint(from, 10), nil, &p, maxLogPageResponse); err != nil {
		return LogHead{}, nil, err
	}
	if p.From != from {
		return LogHead{}, nil, fmt.Errorf("control API at %s: /v1/log: a page from epoch %d, want %d", c.path, p.From, from)
	}
	entries, err := membership.ParseLog(p.Entries, nil)
	if err != nil {
		return LogHead{}, nil, fmt.Errorf("control API at %s: /v1/log: %w", c.path, err)
	}
	if len(entries) > MaxLogEntries {
		return LogHead{}, nil, fmt.Errorf("control API at %s: /v1/log: %d entries, more than %d", c.path, len(entries), MaxLogEntries)
	}
	for i, u := range entries {
		if u.Body.Epoch != from+uint64(i) || u.Body.Epoch > p.Head {
			return LogHead{}, nil, fmt.Errorf("control API at %s: /v1/log: entry %d is of epoch %d, want %d (head %d)", c.path, i, u.Body.Epoch, from+uint64(i), p.Head)
		}
	}
	return p.LogHead, entries, nil
}

// Log reads the daemon's whole trusted log, page by page, and returns it
// with the head the last page named (entries the daemon trusted after the
// read began may be included). It checks form and order only, and stops
// at membership's limit on the entries of a log: verifying the entries
// against a pinned genesis is the caller's work.
func (c *Client) Log(ctx context.Context) (LogHead, []*membership.SignedUpdate, error) {
	maxEntries := membership.DefaultLimits().MaxLogEntries
	var log []*membership.SignedUpdate
	for {
		from := uint64(len(log)) + 1
		head, page, err := c.LogPage(ctx, from)
		if err != nil {
			return LogHead{}, nil, err
		}
		log = append(log, page...)
		switch {
		case uint64(len(log)) >= head.Head:
			return head, log, nil
		case len(page) == 0:
			return LogHead{}, nil, fmt.Errorf("control API at %s: /v1/log: the head is epoch %d but no entry of epoch %d came", c.path, head.Head, from)
		case len(log) > maxEntries:
			return LogHead{}, nil, fmt.Errorf("control API at %s: /v1/log: more than %d entries", c.path, maxEntries)
		}
	}
}
