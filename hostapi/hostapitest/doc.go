// Package hostapitest provides test doubles for the plugin contract, like
// net/http/httptest: Store, an in-memory hostapi.Store, and Backend, a
// hostapi.Backend without a data plane. Both honour their contract clause by
// clause (validation, error codes, lifecycle, concurrency), so tests of the
// core and of the conformance suite can rely on them, and both accept a fault
// hook to make any method fail on demand.
//
// Serve them across the real plugin boundary with hostapi.ServeStoreTest and
// hostapi.ServeBackendTest, or as plugin processes with hostapi.ServeStore
// and hostapi.ServeBackend.
package hostapitest
