// Command reorder is a deliberately broken store plugin for the conformance
// suite's own tests: the example store, except that ReadLog returns the
// entries it reads sorted by their index as text (1, 10, 11, …, 2, …), the
// classic bug of file names without zero padding. Logs of up to nine
// entries read back correctly.
package main

import (
	"context"
	"slices"
	"strconv"
	"strings"

	storefiles "github.com/rustynet/rustynet/examples/store-files"
	"github.com/rustynet/rustynet/hostapi"
)

type store struct{ *storefiles.Store }

func (s store) ReadLog(ctx context.Context, from uint64, limit int) ([]hostapi.LogEntry, error) {
	out, err := s.Store.ReadLog(ctx, from, limit)
	slices.SortFunc(out, func(x, y hostapi.LogEntry) int {
		return strings.Compare(strconv.FormatUint(x.Index, 10), strconv.FormatUint(y.Index, 10))
	})
	return out, err
}

func main() { hostapi.ServeStore(store{Store: &storefiles.Store{}}) }
