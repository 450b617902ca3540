package storetest

import (
	"context"
	"testing"

	"github.com/rustynet/rustynet/hostapi"
)

func (h *harness) needLock(t *testing.T) {
	if !h.caps.Has(hostapi.StoreCapLock) {
		t.Skip("the store does not advertise StoreCapLock on this platform")
	}
}

func testLockInProcess(t *testing.T, h *harness) {
	h.needLock(t)
	dir := newDir(t)
	first := h.open(t, dir)
	second := h.newStore()
	t.Cleanup(func() { second.Close(context.Background()) })
	err := second.Open(t.Context(), hostapi.StoreConfig{Dir: dir})
	wantCode(t, "second store's Open", err, hostapi.CodeLocked)
	closeStore(t, first)
	// A failed Open leaves the store unopened; it can try again.
	if err := second.Open(t.Context(), hostapi.StoreConfig{Dir: dir}); err != nil {
		t.Fatalf("second store's Open after the first closed: got error %v, want nil", err)
	}
	appendRange(t, second, 1, 1, small)
}

func testLockOtherProcess(t *testing.T, h *harness) {
	h.needLock(t)
	dir := newDir(t)
	s := h.open(t, dir)
	if got := h.runLockChild(t, dir); got != hostapi.CodeLocked.String() {
		t.Errorf("Open in another process while open here: got %s, want %s", got, hostapi.CodeLocked)
	}
	closeStore(t, s)
	if got := h.runLockChild(t, dir); got != hostapi.CodeOK.String() {
		t.Errorf("Open in another process after Close here: got %s, want %s", got, hostapi.CodeOK)
	}
}
