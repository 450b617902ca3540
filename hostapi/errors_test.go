package hostapi_test

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"testing"
	"time"

	"github.com/rustynet/rustynet/hostapi"
	"github.com/rustynet/rustynet/hostapi/hostapitest"
)

// errorCase is an error a plugin returns and what the host must see.
type errorCase struct {
	name     string
	err      error
	wantCode hostapi.Code
	wantMsg  string
	sentinel error // errors.Is must hold for it
}

func errorCases() []errorCase {
	sentinels := map[hostapi.Code]error{
		hostapi.CodeInvalidArgument: hostapi.ErrInvalidArgument,
		hostapi.CodeNotFound:        hostapi.ErrNotFound,
		hostapi.CodeConflict:        hostapi.ErrConflict,
		hostapi.CodeLocked:          hostapi.ErrLocked,
		hostapi.CodePermission:      hostapi.ErrPermission,
		hostapi.CodeUnsupported:     hostapi.ErrUnsupported,
		hostapi.CodeUnavailable:     hostapi.ErrUnavailable,
		hostapi.CodeCorrupt:         hostapi.ErrCorrupt,
		hostapi.CodeClosed:          hostapi.ErrClosed,
		hostapi.CodeInternal:        hostapi.ErrInternal,
	}
	var cases []errorCase
	for code := hostapi.CodeInvalidArgument; code <= hostapi.CodeInternal; code++ {
		msg := fmt.Sprintf("detail for %s: ünïcode ✓", code)
		cases = append(cases, errorCase{code.String(), hostapi.Errorf(code, "%s", msg), code, msg, sentinels[code]})
	}
	return append(cases,
		errorCase{"sentinel without message", hostapi.ErrNotFound, hostapi.CodeNotFound, "", hostapi.ErrNotFound},
		errorCase{"wrapped", fmt.Errorf("reading index 7: %w", hostapi.Errorf(hostapi.CodeCorrupt, "bad checksum")),
			hostapi.CodeCorrupt, "reading index 7: bad checksum", hostapi.ErrCorrupt},
		errorCase{"wrapped sentinel", fmt.Errorf("open /x: %w", hostapi.ErrLocked), hostapi.CodeLocked, "open /x", hostapi.ErrLocked},
		errorCase{"without a code", errors.New("disk on fire"), hostapi.CodeInternal, "disk on fire", hostapi.ErrInternal},
		errorCase{"code newer than the host", &hostapi.Error{Code: 99, Msg: "future"}, 99, "future", &hostapi.Error{Code: 99}},
	)
}

// checkCrossed checks that err is what the host must see for tc.
func checkCrossed(t *testing.T, tc errorCase, err error) {
	t.Helper()
	var e *hostapi.Error
	if !errors.As(err, &e) {
		t.Fatalf("got %T %v, want *hostapi.Error", err, err)
	}
	if e.Code != tc.wantCode || e.Msg != tc.wantMsg {
		t.Errorf("got %s %q, want %s %q", e.Code, e.Msg, tc.wantCode, tc.wantMsg)
	}
	if !errors.Is(err, tc.sentinel) {
		t.Errorf("errors.Is(%v, %v) = false", err, tc.sentinel)
	}
}

func TestStoreErrorsCrossTheBoundary(t *testing.T) {
	impl := &scriptedStore{}
	c := serveStore(t, impl)
	calls := map[string]func(context.Context) error{
		"Info":        func(ctx context.Context) error { _, err := c.Info(ctx); return err },
		"Open":        func(ctx context.Context) error { return c.Open(ctx, hostapi.StoreConfig{Dir: "/d"}) },
		"Append":      func(ctx context.Context) error { return c.Append(ctx, hostapi.LogEntry{Index: 1, Data: []byte{1}}) },
		"Head":        func(ctx context.Context) error { _, err := c.Head(ctx); return err },
		"ReadLog":     func(ctx context.Context) error { _, err := c.ReadLog(ctx, 1, 1); return err },
		"PutSnapshot": func(ctx context.Context) error { return c.PutSnapshot(ctx, hostapi.Snapshot{Data: []byte{1}}) },
		"GetSnapshot": func(ctx context.Context) error { _, err := c.GetSnapshot(ctx); return err },
		"Close":       func(ctx context.Context) error { return c.Close(ctx) },
	}
	for _, tc := range errorCases() {
		for method, call := range calls {
			t.Run(tc.name+"/"+method, func(t *testing.T) {
				impl.setErr(tc.err)
				checkCrossed(t, tc, call(t.Context()))
			})
		}
	}
}

func TestBackendErrorsCrossTheBoundary(t *testing.T) {
	impl := &scriptedBackend{}
	c := serveBackend(t, impl)
	calls := map[string]func(context.Context) error{
		"Info":        func(ctx context.Context) error { _, err := c.Info(ctx); return err },
		"Probe":       c.Probe,
		"Configure":   func(ctx context.Context) error { return c.Configure(ctx, hostapi.InterfaceConfig{}) },
		"ApplyPeers":  func(ctx context.Context) error { return c.ApplyPeers(ctx, hostapi.PeerChanges{}) },
		"RemovePeers": func(ctx context.Context) error { return c.RemovePeers(ctx, []hostapi.Key{{1}}) },
		"State":       func(ctx context.Context) error { _, err := c.State(ctx); return err },
		"ApplyRoutes": func(ctx context.Context) error { return c.ApplyRoutes(ctx, hostapi.RouteChanges{}) },
		"SetFilter":   func(ctx context.Context) error { return c.SetFilter(ctx, hostapi.Filter{}) },
		"Close":       c.Close,
	}
	for _, tc := range errorCases() {
		for method, call := range calls {
			t.Run(tc.name+"/"+method, func(t *testing.T) {
				impl.setErr(tc.err)
				checkCrossed(t, tc, call(t.Context()))
			})
		}
	}
}

// blockUntilDone returns a fault hook that blocks op until its ctx ends and
// reports what the plugin saw: whether ctx had the host's deadline, and
// ctx's error.
func blockUntilDone(op string, entered chan<- struct{}, seen chan<- error) func(context.Context, string) error {
	return func(ctx context.Context, got string) error {
		if got != op {
			return nil
		}
		if _, ok := ctx.Deadline(); !ok {
			seen <- errors.New("plugin ctx has no deadline")
			return nil
		}
		close(entered)
		<-ctx.Done()
		seen <- ctx.Err()
		return ctx.Err()
	}
}

// checkCanceled runs call with a ctx (carrying a deadline) that is canceled
// once the plugin is inside op, and checks that the cancellation reached
// the plugin and that the host sees context.Canceled.
func checkCanceled(t *testing.T, setFault func(func(context.Context, string) error), op string, call func(context.Context) error) {
	t.Helper()
	entered, seen := make(chan struct{}), make(chan error, 1)
	setFault(blockUntilDone(op, entered, seen))
	defer setFault(nil)
	ctx, cancel := context.WithTimeout(t.Context(), time.Hour)
	defer cancel()
	result := make(chan error, 1)
	go func() { result <- call(ctx) }()
	select {
	case <-entered:
	case err := <-seen:
		t.Fatalf("%s: %v", op, err)
	case err := <-result:
		t.Fatalf("%s returned %v before reaching the plugin", op, err)
	}
	cancel()
	if err := <-result; !errors.Is(err, context.Canceled) {
		t.Errorf("host got %v, want context.Canceled", err)
	}
	if err := <-seen; !errors.Is(err, context.Canceled) {
		t.Errorf("plugin ctx ended with %v, want context.Canceled", err)
	}
}

func TestStoreContextCrossesTheBoundary(t *testing.T) {
	impl := hostapitest.NewStore()
	c := serveStore(t, impl)
	calls := map[string]func(context.Context) error{
		"Info":        func(ctx context.Context) error { _, err := c.Info(ctx); return err },
		"Open":        func(ctx context.Context) error { return c.Open(ctx, hostapi.StoreConfig{Dir: "/d"}) },
		"Append":      func(ctx context.Context) error { return c.Append(ctx, hostapi.LogEntry{Index: 1, Data: []byte{1}}) },
		"Head":        func(ctx context.Context) error { _, err := c.Head(ctx); return err },
		"ReadLog":     func(ctx context.Context) error { _, err := c.ReadLog(ctx, 1, 1); return err },
		"PutSnapshot": func(ctx context.Context) error { return c.PutSnapshot(ctx, hostapi.Snapshot{Data: []byte{1}}) },
		"GetSnapshot": func(ctx context.Context) error { _, err := c.GetSnapshot(ctx); return err },
		"Close":       func(ctx context.Context) error { return c.Close(ctx) },
	}
	for method, call := range calls {
		t.Run(method, func(t *testing.T) { checkCanceled(t, impl.SetFault, method, call) })
	}
}

func TestBackendContextCrossesTheBoundary(t *testing.T) {
	impl := hostapitest.NewBackend(allBackendCaps)
	c := serveBackend(t, impl)
	calls := map[string]func(context.Context) error{
		"Info":        func(ctx context.Context) error { _, err := c.Info(ctx); return err },
		"Probe":       c.Probe,
		"Configure":   func(ctx context.Context) error { return c.Configure(ctx, hostapi.InterfaceConfig{}) },
		"ApplyPeers":  func(ctx context.Context) error { return c.ApplyPeers(ctx, hostapi.PeerChanges{}) },
		"RemovePeers": func(ctx context.Context) error { return c.RemovePeers(ctx, nil) },
		"State":       func(ctx context.Context) error { _, err := c.State(ctx); return err },
		"ApplyRoutes": func(ctx context.Context) error {
			return c.ApplyRoutes(ctx, hostapi.RouteChanges{Add: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}})
		},
		"SetFilter": func(ctx context.Context) error { return c.SetFilter(ctx, hostapi.Filter{}) },
		"Close":     c.Close,
	}
	for method, call := range calls {
		t.Run(method, func(t *testing.T) { checkCanceled(t, impl.SetFault, method, call) })
	}
}
