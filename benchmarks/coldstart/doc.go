// Package coldstart holds the cold-start benchmark (in its test files): a
// node starting up re-verifies its whole log through its store plugin. It
// is a package of its own because one operation re-verifies a whole log,
// far longer than an apply, so it is run with its own -benchtime (see
// ../README.md), apart from the apply benchmarks that need hundreds of
// iterations.
//
// Its figures are in the benchmark report (go run ./benchmarks/report,
// group coldstart): the cold-start rows, one per store and log length,
// each beside the floor, membership.Replay of the same log in process, and
// the plot of both against the log's length. No figure is kept here.
//
// Besides wall times, each benchmark reports cpu-ms: the CPU time of the
// benchmark's own process per op (not the store plugin's). On a machine
// that others load, wall time varies with the load from run to run, CPU
// time far less, so cpu-ms is the figure to compare between runs.
// -logcache DIR keeps the generated log between runs.
//
// # Comparing commits
//
// Build the benchmark of each commit from its own tree (exported with git
// archive, so that no uncommitted work is in it), then run the commits in
// turn, several rounds, and compare medians and cpu-ms round by round,
// with the load average at the start of each:
//
//	go test -c -o cs.test ./benchmarks/coldstart/
//	cd benchmarks/coldstart && ../../cs.test -test.run '^$' -test.bench ColdStart -test.benchtime 3x -logcache /tmp/cold-logcache
//
// The same -logcache directory serves every commit, so the log is
// generated once and every commit verifies the same log.
//
// # Where the time goes
//
// Both the cold start and its floor verify the signatures of runs of 64
// consecutive updates as one batch (membership.PrecheckBatch), on every
// core, ahead of the reducer: a batch costs less per signature than an
// update's 3 verified alone (BenchmarkEd25519Rule in core/membership
// measures by how much), with the same verdicts. The reducer then applies
// the updates in log order, on one core: per update, copying the
// 1,000-node set and hashing its leaves for the state root (encoding doc
// §5). A CPU profile of the floor (-cpuprofile) divides its time between
// the batch verification, the reducer and GC.
//
// The cold start adds what the floor leaves out: launching the store
// plugin (launch-ms), reading every entry back over gRPC and decoding it,
// and checking the hash links, the snapshot and the high-water mark
// (verify-ms holds all but the launch). The store is read and decoded
// ahead of the signature checks, which run ahead of the reducer, so the
// gap between a cold-start row and its floor is what this pipeline does
// not hide.
package coldstart
