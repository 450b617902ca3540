package controlapi

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/rustynet/rustynet/core/membership"
	"github.com/rustynet/rustynet/core/membership/membershiptest"
	"github.com/rustynet/rustynet/hostapi"
)

// testLog returns a trusted log of n entries: a genesis and n-1 nodes
// added after it.
func testLog(t *testing.T, n int) []*membership.SignedUpdate {
	t.Helper()
	net := membershiptest.New(t, 1)
	for i := 1; i < n; i++ {
		u := net.Propose(t, membership.Operation{Type: membership.OpAddNode, Node: membershiptest.Node(membershiptest.NodeID(i), i)})
		net.MustApply(t, net.Sign(t, u, "alice", "bob"))
	}
	return net.Log
}

// encoded is the portable log of entries, for comparing logs by bytes.
func encoded(entries []*membership.SignedUpdate) string { return string(membership.EncodeLog(entries)) }

func TestLogIsServedInBoundedPages(t *testing.T) {
	log := testLog(t, MaxLogEntries+44)
	h := &fakeHandler{log: log, logHead: LogHead{NetworkID: "test", GenesisRoot: log[0].Body.NewStateRoot.String()}}
	c := dialClient(t, startServer(t, h, allowAll, nil))
	tests := []struct {
		name      string
		from      uint64
		wantFirst uint64 // epoch of the first entry; 0 for none
		wantN     int
	}{
		{"first page is full", 1, 1, MaxLogEntries},
		{"a page from the middle", 20, 20, MaxLogEntries},
		{"a page ending at the head", 200, 200, MaxLogEntries + 44 - 199},
		{"the last page", MaxLogEntries + 1, MaxLogEntries + 1, 44},
		{"the head alone", uint64(len(log)), uint64(len(log)), 1},
		{"past the head", uint64(len(log)) + 1, 0, 0},
		{"far past the head", 1 << 62, 0, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			head, entries, err := c.LogPage(ctxT(t), tt.from)
			if err != nil {
				t.Fatal(err)
			}
			if head.Head != uint64(len(log)) || head.NetworkID != "test" || head.GenesisRoot != log[0].Body.NewStateRoot.String() {
				t.Errorf("got head %+v, want head %d of network test with its genesis root", head, len(log))
			}
			if len(entries) != tt.wantN {
				t.Fatalf("got %d entries, want %d", len(entries), tt.wantN)
			}
			if tt.wantN > 0 {
				if got, want := encoded(entries), encoded(log[tt.wantFirst-1:tt.wantFirst-1+uint64(tt.wantN)]); got != want {
					t.Errorf("got entries of epochs %d…, want the log's from epoch %d", entries[0].Body.Epoch, tt.wantFirst)
				}
			}
			if h.gotMax != MaxLogEntries || h.gotFrom != tt.from {
				t.Errorf("handler asked for %d from %d, want %d from %d", h.gotMax, h.gotFrom, MaxLogEntries, tt.from)
			}
		})
	}
	t.Run("the whole log", func(t *testing.T) {
		head, entries, err := c.Log(ctxT(t))
		if err != nil {
			t.Fatal(err)
		}
		if head.Head != uint64(len(log)) || encoded(entries) != encoded(log) {
			t.Errorf("got %d entries to head %d, want the log's %d", len(entries), head.Head, len(log))
		}
	})
}

func TestLogOfANodeWithoutMembership(t *testing.T) {
	c := dialClient(t, startServer(t, &fakeHandler{}, allowAll, nil))
	head, entries, err := c.Log(ctxT(t))
	if err != nil || head.Head != 0 || len(entries) != 0 {
		t.Errorf("got head %d, %d entries, %v; want an empty log", head.Head, len(entries), err)
	}
}

func TestLogPageIsBoundedInBytes(t *testing.T) {
	log := testLog(t, 6)
	size := func(i int) int { return len(log[i].Encode()) + 2 }
	tests := []struct {
		name  string
		limit int
		want  int
	}{
		{"all fit", 1 << 20, 6},
		{"two fit", size(0) + size(1) + size(2)/2, 2},
		{"one entry larger than the limit still goes", 1, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := membership.ParseLog(encodePage(log, tt.limit), nil)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != tt.want || encoded(got) != encoded(log[:tt.want]) {
				t.Errorf("got %d entries, want the first %d", len(got), tt.want)
			}
		})
	}
}

func TestLogRequestsOutOfBounds(t *testing.T) {
	h := &fakeHandler{log: testLog(t, 2)}
	hc := rawClient(t, startServer(t, h, allowAll, nil))
	tests := []struct {
		name, method, path string
		status             int
	}{
		{"epoch 0", "GET", "/v1/log?from=0", http.StatusBadRequest},
		{"no epoch", "GET", "/v1/log", http.StatusBadRequest},
		{"not a number", "GET", "/v1/log?from=one", http.StatusBadRequest},
		{"negative", "GET", "/v1/log?from=-1", http.StatusBadRequest},
		{"overflows", "GET", "/v1/log?from=18446744073709551616", http.StatusBadRequest},
		{"twice", "GET", "/v1/log?from=1&from=2", http.StatusBadRequest},
		{"another parameter", "GET", "/v1/log?from=1&max=100000", http.StatusBadRequest},
		{"POST", "POST", "/v1/log?from=1", http.StatusMethodNotAllowed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := h.callCount()
			req, _ := http.NewRequestWithContext(ctxT(t), tt.method, "http://x"+tt.path, nil)
			resp, err := hc.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			body, _ := io.ReadAll(resp.Body)
			var w wireError
			if resp.StatusCode != tt.status || json.Unmarshal(body, &w) != nil || w.Code != CodeUsage {
				t.Errorf("got %d %s, want %d with code USAGE", resp.StatusCode, body, tt.status)
			}
			if h.callCount() != before {
				t.Errorf("the handler was called for a refused request")
			}
		})
	}
}

func TestLogFailuresKeepTheirCodes(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want error
	}{
		{"store restarting", hostapi.Errorf(hostapi.CodeUnavailable, "plugin store-file is restarting"), ErrUnavailable},
		{"internal", errors.New("disk on fire"), ErrInternal},
		{"usage", Errorf(CodeUsage, "no"), ErrUsage},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := dialClient(t, startServer(t, &fakeHandler{logErr: tt.err}, allowAll, nil))
			if _, _, err := c.Log(ctxT(t)); !errors.Is(err, tt.want) {
				t.Errorf("got %v, want %v", err, tt.want)
			}
		})
	}
}

// lyingHandler serves a log as a daemon that breaks the contract would.
type lyingHandler struct {
	fakeHandler
	serve func(from uint64, max int) (LogHead, []*membership.SignedUpdate)
}

func (l *lyingHandler) Log(ctx context.Context, from uint64, max int) (LogHead, []*membership.SignedUpdate, error) {
	h, e := l.serve(from, max)
	return h, e, nil
}

func TestLogClientRefusesPagesOutOfOrder(t *testing.T) {
	log := testLog(t, 4)
	tests := []struct {
		name  string
		serve func(from uint64, max int) (LogHead, []*membership.SignedUpdate)
		want  string
	}{
		{"always from the genesis", func(from uint64, max int) (LogHead, []*membership.SignedUpdate) {
			return LogHead{Head: 8}, log
		}, "want 5"},
		{"an epoch missing", func(from uint64, max int) (LogHead, []*membership.SignedUpdate) {
			return LogHead{Head: 4}, []*membership.SignedUpdate{log[0], log[2]}
		}, "want 2"},
		{"entries past its head", func(from uint64, max int) (LogHead, []*membership.SignedUpdate) {
			return LogHead{Head: 2}, log
		}, "head 2"},
		{"a head it never serves", func(from uint64, max int) (LogHead, []*membership.SignedUpdate) {
			if from > 4 {
				return LogHead{Head: 9}, nil
			}
			return LogHead{Head: 9}, log
		}, "no entry of epoch 5"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := dialClient(t, startServer(t, &lyingHandler{serve: tt.serve}, allowAll, nil))
			_, _, err := c.Log(ctxT(t))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("got %v, want an error saying %q", err, tt.want)
			}
		})
	}
}

func TestLogPageIsAPortableLog(t *testing.T) {
	log := testLog(t, 3)
	hc := rawClient(t, startServer(t, &fakeHandler{log: log}, allowAll, nil))
	resp, err := hc.Get("http://x/v1/log?from=2")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var p LogPage
	if err := json.NewDecoder(resp.Body).Decode(&p); err != nil {
		t.Fatal(err)
	}
	entries, err := membership.ParseLog(p.Entries, nil)
	if err != nil {
		t.Fatalf("the entries are not a portable log: %v", err)
	}
	if p.From != 2 || p.Head != 3 || encoded(entries) != encoded(log[1:]) {
		t.Errorf("got page from %d, head %d, %d entries; want the portable log of epochs 2 and 3", p.From, p.Head, len(entries))
	}
}
