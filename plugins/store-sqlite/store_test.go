package storesqlite_test

import (
	"testing"

	"go.uber.org/goleak"

	"github.com/rustynet/rustynet/hostapi"
	"github.com/rustynet/rustynet/plugins/internal/storetest"
	storesqlite "github.com/rustynet/rustynet/plugins/store-sqlite"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func newStore() hostapi.Store { return storesqlite.New(nil) }

func TestContract(t *testing.T) { storetest.Run(t, newStore) }

func BenchmarkAppend(b *testing.B) { storetest.BenchAppend(b, newStore) }

func BenchmarkPutSnapshot(b *testing.B) { storetest.BenchPutSnapshot(b, newStore) }
