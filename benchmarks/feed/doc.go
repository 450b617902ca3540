// Package feed holds the feed benchmarks (in its test files): what a node
// following a static feed (core/feed, docs/feed.md) costs the network and
// its origin — bytes and requests per poll at the head and per update
// caught up, origin requests of a simulated fleet with and without a
// caching proxy, and a fresh node catching up a long log. It is a package
// of its own because its logs take a minute to generate and a fleet run
// takes seconds, so it is run with its own -benchtime (see ../README.md).
package feed
