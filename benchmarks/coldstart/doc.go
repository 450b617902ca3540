// Package coldstart holds the cold-start benchmark (in its test files): a
// node starting up re-verifies its whole log through its store plugin. It
// is a package of its own because one operation takes seconds, so it is
// run with its own -benchtime (see ../README.md), apart from the apply
// benchmarks that need hundreds of iterations.
//
// Besides wall times, each benchmark reports cpu-ms: the CPU time of the
// benchmark's own process per op (not the store plugin's). On a machine
// that others load, wall time changes 2–5× from run to run, CPU time far
// less. -logcache DIR keeps the generated log between runs, so runs of
// two commits can be interleaved without generating it each time.
//
// # Figures: issue 17 item 2 (cold start)
//
// 10,000 updates, medians of 3 rounds, each round running every commit
// once in turn (3 ops each), on the 2-core machine of ../README.md
// shared with other work: load average 8.6, 5.4 and 2.4 at the starts of
// the three rounds. Per commit, from its tree:
//
//	go test -c -o cs.test ./benchmarks/coldstart/
//	cd benchmarks/coldstart && ../../cs.test -test.run '^$' -test.bench ColdStart -test.benchtime 3x -logcache /tmp/cold-logcache
//
// The test files of the newest commit were used for all of them (they
// only add cpu-ms and -logcache).
//
//	                                        cold start p50, ms    cpu-ms           floor (Replay)
//	commit                                  file    SQLite        file    SQLite   p50 ms  cpu-ms
//	2f1a387 before                          2,590   1,692         2,510   2,609    1,142   1,848
//	64bbf71 body decoded once               1,373   1,260         2,435   2,298      887   1,771
//	5fc7074 ZIP-215, batch verification     1,133   1,140         1,962   2,090      679   1,239
//	136a2aa envelope keys in one pass       1,071   1,062         1,846   1,858      628   1,124
//
// The third round, the quietest (load 2.2–2.4 throughout), alone:
// before 1,268 ms (file), 1,225 ms (SQLite), floor 853 ms; after
// (136a2aa) 1,071 ms, 974 ms, floor 606 ms. The wall-time medians of the
// first rows are inflated by the first round's load (8.6); cpu-ms is the
// figure to compare: −26 % (file), −29 % (SQLite), −39 % (floor).
//
// The floor gains most because Replay verifies the signatures of 64
// updates as one batch (membership.PrecheckBatch): 192 signatures in a
// batch cost several times less each than 3 (BenchmarkEd25519Rule in
// core/membership). ledger.Open still prechecks each entry alone (a batch
// of its 3 signatures) in its read-ahead decoders; prechecking runs of 64
// decoded entries with membership.PrecheckBatch there instead, tried
// outside the tree, took cpu-ms from 1,912 to 1,619 (file) and from 1,958
// to 1,859 (SQLite) in 3 further interleaved rounds (load 2.3–7.1).
//
// Where the floor's CPU goes now (-cpuprofile, 136a2aa, load 2.8: 713 ms,
// 1,263 cpu-ms per op): batch signature verification a little over half
// (about 24 µs a signature), spread over both cores; the reducer about a
// third, on one core in log order — per update, copying the 1,000-node set
// and hashing its 32 KB of leaves for the state root (encoding doc §5);
// the rest GC.
package coldstart
