package daemonbench

import (
	"fmt"
	"testing"
	"time"

	"github.com/rustynet/rustynet/benchmarks"
	"github.com/rustynet/rustynet/core/membership"
	"github.com/rustynet/rustynet/core/membership/membershiptest"
	"github.com/rustynet/rustynet/core/policy"
	"github.com/rustynet/rustynet/e2e"
)

// BenchmarkSetPolicy measures a policy change end to end, as
// BenchmarkApply does a member change: a signed set_policy (3 signatures)
// submitted over the control API to a running daemon — verified, persisted,
// compiled for the node against its N-member state and pushed to the
// netstack backend plugin's packet filter — until apply-update returns.
// Iterations alternate between two policies of the given number of rules
// that differ in one port, so each one changes the filter.
//
// Metrics: api-p50/p95/p99-µs the apply-update round trip; daemon-p95-µs
// the daemon's own figure; filter-rules the rules of the compiled filter;
// floor-p50/p95/p99-µs its floor, the work no node avoids, measured after
// the daemon's run in this process on the same updates: each update parsed
// from its bytes, verified against the state before it (membership.Evaluate:
// signatures, state root) and its policy compiled for the node
// (policy.Compiler, as the daemon compiles), without store, plugin or API.
func BenchmarkSetPolicy(b *testing.B) {
	for _, members := range memberCounts {
		for _, rules := range []int{3, 1000} {
			b.Run(fmt.Sprintf("store=file/members=%d/rules=%d", members, rules), func(b *testing.B) {
				benchSetPolicy(b, members, rules)
			})
		}
	}
}

func benchSetPolicy(b *testing.B, members, rules int) {
	c, n1 := startNode(b, "file", members)
	updates := make([][]byte, b.N)
	pres := make([]*membership.State, b.N)
	for i := range updates {
		u := c.Sign(c.Propose(membership.Operation{Type: membership.OpSetPolicy, Policy: manyRules(rules, i%2)}), signers...)
		pres[i] = c.State()
		c.Commit(u)
		updates[i] = u.Encode()
	}
	api := make(benchmarks.Latencies, 0, b.N)
	daemon := make(benchmarks.Latencies, 0, b.N)
	b.ResetTimer()
	for i := range b.N {
		applyTimed(b, n1, "set_policy", i, updates[i], &api, &daemon)
	}
	b.StopTimer()
	report(b, "api-", api)
	b.ReportMetric(us(daemon.Percentile(0.95)), "daemon-p95-µs")
	st := n1.Status()
	if st.Trust.StateRoot != c.State().Root().String() || st.Trust.FilterRules < 1 {
		b.Fatalf("n1: root %s (want %s), %d filter rules", st.Trust.StateRoot, c.State().Root(), st.Trust.FilterRules)
	}
	b.ReportMetric(float64(st.Trust.FilterRules), "filter-rules")
	report(b, "floor-", policyFloor(b, updates, pres))
}

// policyFloor returns, for each update i, the time this process takes to
// parse it, verify it against pres[i] and compile the policy it sets for
// node n1.
func policyFloor(b *testing.B, updates [][]byte, pres []*membership.State) benchmarks.Latencies {
	var pc policy.Compiler
	floor := make(benchmarks.Latencies, 0, len(updates))
	for i, data := range updates {
		start := time.Now()
		u, err := membership.ParseSignedUpdate(data, nil)
		if err != nil {
			b.Fatal(err)
		}
		res, err := membership.Evaluate(pres[i], u, membership.Options{Now: time.Now()})
		if err != nil {
			b.Fatal(err)
		}
		if f := pc.Compile(res.Post.Policy(), res.Post, "n1", policy.Options{Serve: true}); len(f.Rules) == 0 {
			b.Fatalf("update %d: n1's filter is empty", i)
		}
		floor.Since(start)
	}
	return floor
}

// manyRules returns a policy of n mesh rules: rule i lets the extra member
// i (a member of every benchmark network) reach every member on TCP port
// 1000+i, the last rule's port shifted by variant.
func manyRules(n, variant int) *membership.Policy {
	return membershiptest.MeshRules(n, variant, e2e.ExtraMemberID)
}
