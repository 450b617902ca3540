package storetest

import (
	"bytes"
	"testing"

	"github.com/rustynet/rustynet/hostapi"
)

// checkSnapshot fails unless s's snapshot is want.
func checkSnapshot(t testing.TB, s hostapi.Store, want hostapi.Snapshot) {
	t.Helper()
	got, err := s.GetSnapshot(t.Context())
	if err != nil {
		t.Fatalf("GetSnapshot: got error %v, want nil", err)
	}
	if got.Index != want.Index || !bytes.Equal(got.Data, want.Data) {
		t.Fatalf("GetSnapshot: got index %d, %d bytes %.16x…; want index %d, %d bytes %.16x…",
			got.Index, len(got.Data), got.Data, want.Index, len(want.Data), want.Data)
	}
}

func testSnapshot(t *testing.T, h *harness) {
	s := h.open(t, newDir(t))
	_, err := s.GetSnapshot(t.Context())
	wantCode(t, "GetSnapshot before any Put", err, hostapi.CodeNotFound)
	for _, want := range []hostapi.Snapshot{
		{Index: 3, Data: []byte("first")},
		{Index: 7, Data: []byte("second, longer than the first")},
		{Index: 2, Data: []byte("an older index is stored as given")},
		{Index: 0, Data: []byte("zero")},
		{Index: 1<<63 + 5, Data: []byte("high bit set")},
		{Index: 8, Data: []byte("s")},
	} {
		if err := s.PutSnapshot(t.Context(), want); err != nil {
			t.Fatalf("PutSnapshot(%d): got error %v, want nil", want.Index, err)
		}
		checkSnapshot(t, s, want)
	}
}

func testSnapshotData(t *testing.T, h *harness) {
	s := h.open(t, newDir(t))
	want := hostapi.Snapshot{Index: 1, Data: []byte("kept")}
	if err := s.PutSnapshot(t.Context(), want); err != nil {
		t.Fatalf("PutSnapshot: got error %v, want nil", err)
	}
	for _, tc := range []struct {
		name string
		data []byte
	}{
		{"nil", nil},
		{"empty", []byte{}},
		{"one byte over the limit", make([]byte, hostapi.MaxSnapshotBytes+1)},
	} {
		err := s.PutSnapshot(t.Context(), hostapi.Snapshot{Index: 2, Data: tc.data})
		wantCode(t, tc.name, err, hostapi.CodeInvalidArgument)
	}
	checkSnapshot(t, s, want)
}

// testLarge writes entries and snapshots of a few MiB and of exactly the
// size limits, and reads them back after a reopen.
func testLarge(t *testing.T, h *harness) {
	dir := newDir(t)
	s := h.open(t, dir)
	data := map[uint64][]byte{1: sized(1, 3<<20), 2: sized(2, 1), 3: sized(3, hostapi.MaxEntryBytes), 4: sized(4, 5<<20+7)}
	gen := func(i uint64) []byte { return data[i] }
	appendRange(t, s, 1, 4, gen)
	checkLog(t, s, 1, 4, gen)
	last := hostapi.Snapshot{Index: 2, Data: sized(101, hostapi.MaxSnapshotBytes)}
	for _, snap := range []hostapi.Snapshot{{Index: 1, Data: sized(100, 4<<20)}, last} {
		if err := s.PutSnapshot(t.Context(), snap); err != nil {
			t.Fatalf("PutSnapshot(%d bytes): got error %v, want nil", len(snap.Data), err)
		}
		checkSnapshot(t, s, snap)
	}
	closeStore(t, s)
	s = h.open(t, dir)
	checkLog(t, s, 1, 4, gen)
	checkSnapshot(t, s, last)
}
