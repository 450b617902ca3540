package wgdev

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"golang.zx2c4.com/wireguard/device"

	"github.com/rustynet/rustynet/hostapi"
	"github.com/rustynet/rustynet/internal/poll/polltest"
)

// uapiText is a get operation's text as wireguard-go writes it: two
// peers, out of order, one with two allowed IPs out of order.
const uapiText = `private_key=` + hex64a + `
listen_port=51820
fwmark=7
public_key=` + hex64b + `
preshared_key=0000000000000000000000000000000000000000000000000000000000000000
protocol_version=1
endpoint=[2001:db8::1]:51821
last_handshake_time_sec=1700000000
last_handshake_time_nsec=5
tx_bytes=18446744073709551615
rx_bytes=42
persistent_keepalive_interval=25
allowed_ip=fd00::2/128
allowed_ip=10.0.0.0/24
public_key=` + hex64a + `
preshared_key=0000000000000000000000000000000000000000000000000000000000000000
protocol_version=1
last_handshake_time_sec=0
last_handshake_time_nsec=0
tx_bytes=0
rx_bytes=0
persistent_keepalive_interval=0
allowed_ip=10.0.0.1/32
`

const (
	hex64a = "0101010101010101010101010101010101010101010101010101010101010101"
	hex64b = "0202020202020202020202020202020202020202020202020202020202020202"
)

func wantUAPIState() hostapi.InterfaceState {
	return hostapi.InterfaceState{
		ListenPort: 51820,
		Peers: []hostapi.PeerState{
			{PublicKey: hostapi.Key{1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1},
				AllowedIPs: []netip.Prefix{netip.MustParsePrefix("10.0.0.1/32")}},
			{PublicKey: hostapi.Key{2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2},
				Endpoint:            netip.MustParseAddrPort("[2001:db8::1]:51821"),
				AllowedIPs:          []netip.Prefix{netip.MustParsePrefix("10.0.0.0/24"), netip.MustParsePrefix("fd00::2/128")},
				PersistentKeepalive: 25 * time.Second, LastHandshake: time.Unix(1700000000, 5),
				TxBytes: 1<<64 - 1, RxBytes: 42},
		},
	}
}

var stateCmp = cmp.Options{
	cmp.Comparer(func(x, y netip.Prefix) bool { return x == y }),
	cmp.Comparer(func(x, y netip.AddrPort) bool { return x == y }),
}

// TestStateParserChunks feeds the text in two Writes split at every
// offset: a line cut by a Write is carried over whole.
func TestStateParserChunks(t *testing.T) {
	want := wantUAPIState()
	for i := 0; i <= len(uapiText); i++ {
		p := newStateParser(0)
		for _, chunk := range []string{uapiText[:i], uapiText[i:]} {
			if n, err := p.Write([]byte(chunk)); n != len(chunk) || err != nil {
				t.Fatalf("split at %d: Write = %d, %v; want %d, nil", i, n, err, len(chunk))
			}
		}
		got, err := p.finish()
		if err != nil {
			t.Fatalf("split at %d: %v", i, err)
		}
		if diff := cmp.Diff(want, got, stateCmp); diff != "" {
			t.Fatalf("split at %d (-want +got):\n%s", i, diff)
		}
	}
}

func TestStateParserErrors(t *testing.T) {
	for _, tc := range []struct {
		name, text, want string
	}{
		{"no equals sign", "listen_port\n", "malformed line"},
		{"peer line first", "endpoint=1.2.3.4:5\n", "before any public_key"},
		{"short key", "public_key=0102\n", "hex digits"},
		{"bad hex", "public_key=" + strings.Repeat("zz", 32) + "\n", "invalid byte"},
		{"port too big", "listen_port=65536\n", "out of range"},
		{"negative counter", "public_key=" + hex64a + "\nrx_bytes=-1\n", "not a decimal"},
		{"counter overflow", "public_key=" + hex64a + "\ntx_bytes=18446744073709551616\n", "out of range"},
		{"empty number", "public_key=" + hex64a + "\ntx_bytes=\n", "empty number"},
		{"bad allowed IP", "public_key=" + hex64a + "\nallowed_ip=10.0.0.300/32\n", "10.0.0.300/32"},
		{"cut line", "listen_port=5", "ends inside"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := parseState([]byte(tc.text))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("got error %v, want one containing %q", err, tc.want)
			}
		})
	}
}

// TestStateParserAllowedIPsApart checks that the peers' allowed IPs, which
// share one array, cannot grow into each other.
func TestStateParserAllowedIPsApart(t *testing.T) {
	st, err := parseState([]byte(uapiText))
	if err != nil {
		t.Fatal(err)
	}
	first := st.Peers[0].AllowedIPs
	if cap(first) != len(first) {
		t.Fatalf("got capacity %d for %d allowed IPs, want no room to append into the next peer's", cap(first), len(first))
	}
	_ = append(first, netip.MustParsePrefix("192.0.2.0/24"))
	if diff := cmp.Diff(wantUAPIState(), st, stateCmp); diff != "" {
		t.Errorf("after appending to one peer's allowed IPs (-want +got):\n%s", diff)
	}
}

// TestStateParserAllocs checks that parsing allocates nothing per peer
// beyond the result, which a sized parser allocates up front.
func TestStateParserAllocs(t *testing.T) {
	text := func(peers int) []byte {
		var b strings.Builder
		b.WriteString("listen_port=51820\n")
		for i := range peers {
			fmt.Fprintf(&b, "public_key=%064x\nprotocol_version=1\nendpoint=192.0.2.%d:51820\n", i+1, i%250+1)
			fmt.Fprintf(&b, "last_handshake_time_sec=1700000000\nlast_handshake_time_nsec=1\ntx_bytes=%d\nrx_bytes=7\n", i)
			fmt.Fprintf(&b, "persistent_keepalive_interval=25\nallowed_ip=10.%d.%d.0/24\n", i>>8, i&255)
		}
		return []byte(b.String())
	}
	allocs := func(peers int) float64 {
		in := text(peers)
		return testing.AllocsPerRun(5, func() {
			p := newStateParser(peers)
			p.Write(in)
			if _, err := p.finish(); err != nil {
				t.Fatal(err)
			}
		})
	}
	small, large := allocs(10), allocs(2000)
	if large != small {
		t.Errorf("got %v allocations for 2000 peers and %v for 10, want the same", large, small)
	}
}

// TestStateDoesNotDelayChanges checks that a State waiting for the device
// read does not hold the Device's lock: a change goes through meanwhile.
func TestStateDoesNotDelayChanges(t *testing.T) {
	n := newNode(t, "10.9.0.1")
	release := n.dev.reads.Hold() // a read is running
	done := make(chan error, 1)
	go func() {
		_, err := n.dev.State()
		done <- err
	}()
	_, pub := newKey(t)
	peer := hostapi.PeerConfig{PublicKey: pub, AllowedIPs: []netip.Prefix{netip.MustParsePrefix("10.9.0.2/32")}}
	applied := make(chan error, 1)
	go func() { applied <- n.dev.ApplyPeers(hostapi.PeerChanges{Upsert: []hostapi.PeerConfig{peer}}) }()
	select {
	case err := <-applied:
		if err != nil {
			t.Fatalf("ApplyPeers: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("ApplyPeers waited for a State's device read")
	}
	release()
	if err := <-done; err != nil {
		t.Fatalf("State: %v", err)
	}
	if _, ok := peerState(t, n, pub); !ok {
		t.Error("State after the change: the added peer is missing")
	}
}

// TestSortByKey checks orderByKey and permute against a stable sort of the same peers,
// each peer moved whole (its fields travel with its key): empty, one,
// sorted, reversed, random orders of distinct keys, and repeated keys.
func TestSortByKey(t *testing.T) {
	key := func(b byte, c byte) hostapi.Key { return hostapi.Key{0: b, 31: c} }
	random := make([]hostapi.Key, 300)
	for i := range random {
		random[i] = key(byte(i*7919%251), byte(i))
	}
	cases := map[string][]hostapi.Key{
		"empty":    {},
		"one":      {key(1, 0)},
		"sorted":   {key(1, 0), key(2, 0), key(3, 0)},
		"reversed": {key(9, 0), key(5, 0), key(3, 0), key(1, 0)},
		"random":   random,
		"repeated": {key(4, 0), key(2, 0), key(4, 0), key(1, 0), key(2, 0)},
	}
	for name, keys := range cases {
		t.Run(name, func(t *testing.T) {
			peers := make([]hostapi.PeerState, len(keys))
			for i, k := range keys {
				peers[i] = hostapi.PeerState{PublicKey: k, RxBytes: uint64(k[0]), TxBytes: uint64(k[0]) * 3}
			}
			want := slices.Clone(peers)
			slices.SortStableFunc(want, func(a, b hostapi.PeerState) int { return bytes.Compare(a.PublicKey[:], b.PublicKey[:]) })
			permute(peers, orderByKey(peers, nil), nil)
			for i := range peers {
				if peers[i].PublicKey != want[i].PublicKey || peers[i].RxBytes != want[i].RxBytes || peers[i].TxBytes != want[i].TxBytes {
					t.Fatalf("peer %d = %v, want %v", i, peers[i], want[i])
				}
			}
		})
	}
}

// TestRecycleState: a State result handed back by every caller it went to
// is the memory the next State fills (and that State is right: a removed
// peer is gone, a new one there); a result not handed back, one handed
// back by only one of the two callers that shared it, or one handed back
// twice by the same caller after a newer read, is never reused.
func TestRecycleState(t *testing.T) {
	n := newNode(t, "10.9.0.1")
	peers := benchPeers(t, 50, 1)
	if err := n.dev.ApplyPeers(hostapi.PeerChanges{Upsert: peers}); err != nil {
		t.Fatal(err)
	}
	read := func() hostapi.InterfaceState {
		t.Helper()
		st, err := n.dev.State()
		if err != nil {
			t.Fatal(err)
		}
		return st
	}
	same := func(a, b hostapi.InterfaceState) bool { return &a.Peers[:1][0] == &b.Peers[:1][0] }

	first := read()
	if second := read(); same(first, second) {
		t.Fatal("a result not handed back was reused")
	}
	st := read()
	n.dev.RecycleState(st.Peers)
	if err := n.dev.ApplyPeers(hostapi.PeerChanges{Remove: []hostapi.Key{peers[0].PublicKey}, Upsert: benchPeers(t, 1, 100)}); err != nil {
		t.Fatal(err)
	}
	again := read()
	if !same(st, again) {
		t.Error("a result every caller handed back was not reused")
	}
	if len(again.Peers) != 50 || slices.ContainsFunc(again.Peers, func(p hostapi.PeerState) bool { return p.PublicKey == peers[0].PublicKey }) {
		t.Errorf("the reused read holds %d peers (want 50), with the removed one: %v", len(again.Peers),
			slices.ContainsFunc(again.Peers, func(p hostapi.PeerState) bool { return p.PublicKey == peers[0].PublicKey }))
	}

	// Two callers share one read: one handing it back is not enough.
	release := n.dev.reads.Hold()
	shared := make(chan hostapi.InterfaceState, 2)
	for range 2 {
		go func() {
			st, err := n.dev.State()
			if err != nil {
				t.Error(err)
			}
			shared <- st
		}()
	}
	polltest.Until(t, "both callers waiting", 10*time.Second, time.Millisecond, func() bool { return n.dev.reads.Waiting() == 2 })
	release()
	a, b := <-shared, <-shared
	if !same(a, b) {
		t.Fatal("the two callers did not share one read")
	}
	n.dev.RecycleState(a.Peers)
	if next := read(); same(a, next) {
		t.Fatal("a shared result was reused while a caller still held it")
	}
	n.dev.RecycleState(b.Peers) // a read came since: this result is no longer tracked
	n.dev.RecycleState(b.Peers)
	if next := read(); same(b, next) {
		t.Error("a result handed back after a newer read was reused")
	}
}

// TestKeyOrderFollowsTheSet sorts the peers of a changing peer set as
// State reads them (in All's order) through one keyOrder: reads of an
// unchanged set reuse the order, and every change (adds, removals, which
// move peers within the set's list) makes it sort afresh; each result must
// be the set's peers sorted by key.
func TestKeyOrderFollowsTheSet(t *testing.T) {
	set := hostapi.NewPeerSet()
	var k keyOrder
	read := func(step string) {
		t.Helper()
		var peers []hostapi.PeerState
		for p := range set.All() {
			peers = append(peers, hostapi.PeerState{PublicKey: p.PublicKey})
		}
		k.sort(peers, set, set.Generation(), 0, func(hostapi.Key) *device.Peer { return nil })
		if len(peers) != set.Len() || !slices.IsSortedFunc(peers, func(a, b hostapi.PeerState) int { return bytes.Compare(a.PublicKey[:], b.PublicKey[:]) }) {
			t.Fatalf("%s: %d peers, sorted %v", step, len(peers), slices.IsSortedFunc(peers, func(a, b hostapi.PeerState) int { return bytes.Compare(a.PublicKey[:], b.PublicKey[:]) }))
		}
		for _, p := range peers {
			if _, ok := set.Peer(p.PublicKey); !ok {
				t.Fatalf("%s: peer %v is not in the set", step, p.PublicKey)
			}
		}
	}
	r := rand.New(rand.NewPCG(9, 10))
	for round := range 200 {
		var c hostapi.PeerChanges
		for range r.IntN(4) {
			c.Remove = append(c.Remove, hostapi.Key{byte(r.IntN(40)), 1})
		}
		for i := range r.IntN(4) {
			key := hostapi.Key{byte(r.IntN(40)), 1}
			c.Upsert = append(c.Upsert, hostapi.PeerConfig{PublicKey: key, AllowedIPs: []netip.Prefix{netip.PrefixFrom(netip.AddrFrom4([4]byte{10, byte(round), byte(i), key[0]}), 32)}})
		}
		if p, err := set.Plan(c, hostapi.PeerLimits{}); err == nil {
			set.Commit(p)
		}
		read(fmt.Sprintf("round %d", round))
		read(fmt.Sprintf("round %d, again", round)) // the order reused
	}
}

// TestKeyOrderLooksUpOncePerChange: keyOrder looks the device's peers up
// again when the set, its generation or the count of device changes
// moves, and only then; a result it returned is never modified.
func TestKeyOrderLooksUpOncePerChange(t *testing.T) {
	set := hostapi.NewPeerSet(hostapi.PeerConfig{PublicKey: hostapi.Key{2}}, hostapi.PeerConfig{PublicKey: hostapi.Key{1}})
	objects := map[hostapi.Key]*device.Peer{{1}: new(device.Peer), {2}: new(device.Peer)}
	lookups := 0
	lookup := func(k hostapi.Key) *device.Peer { lookups++; return objects[k] }
	var k keyOrder
	read := func(set *hostapi.PeerSet, changes uint64) []*device.Peer {
		var peers []hostapi.PeerState
		for p := range set.All() {
			peers = append(peers, hostapi.PeerState{PublicKey: p.PublicKey})
		}
		wg := k.sort(peers, set, set.Generation(), changes, lookup)
		for i, p := range peers {
			if wg[i] != objects[p.PublicKey] {
				t.Fatalf("peer %v: got the device's peer %p, want %p", p.PublicKey, wg[i], objects[p.PublicKey])
			}
		}
		return wg
	}
	first := read(set, 0)
	kept := slices.Clone(first)
	for _, step := range []struct {
		name    string
		do      func() []*device.Peer
		lookups int
	}{
		{"the same set, generation and changes", func() []*device.Peer { return read(set, 0) }, 0},
		{"a device change (a failed one: the set as it was)", func() []*device.Peer {
			objects[hostapi.Key{1}] = new(device.Peer) // rolled back: a new object for the key
			return read(set, 1)
		}, 2},
		{"the same again", func() []*device.Peer { return read(set, 1) }, 0},
		{"a set change", func() []*device.Peer {
			set.Commit(hostapi.PeerPlan{Remove: []hostapi.Key{{2}}})
			return read(set, 1)
		}, 1},
		{"another set", func() []*device.Peer {
			return read(hostapi.NewPeerSet(hostapi.PeerConfig{PublicKey: hostapi.Key{1}}), 1)
		}, 1},
	} {
		lookups = 0
		step.do()
		if lookups != step.lookups {
			t.Errorf("%s: %d lookups, want %d", step.name, lookups, step.lookups)
		}
	}
	if !slices.Equal(first, kept) {
		t.Error("a result returned earlier was modified")
	}
}

// TestDeviceChangesCounted: every call that may change the device's
// peers counts as a change, whether it succeeds or not, so that State
// looks the peers up again after it.
func TestDeviceChangesCounted(t *testing.T) {
	n := newNode(t, "10.0.0.9")
	priv, pub := newKey(t)
	for _, tc := range []struct {
		name string
		call func() error
	}{
		{"ApplyPeers", func() error {
			return n.dev.ApplyPeers(hostapi.PeerChanges{Upsert: []hostapi.PeerConfig{{PublicKey: pub, AllowedIPs: prefixes("10.0.0.3/32")}}})
		}},
		{"a refused ApplyPeers", func() error {
			return n.dev.ApplyPeers(hostapi.PeerChanges{Upsert: []hostapi.PeerConfig{{PublicKey: pub, AllowedIPs: prefixes("10.0.0.0/8", "10.0.0.0/8")}}})
		}},
		{"a refused Configure", func() error { return n.dev.Configure(hostapi.InterfaceConfig{PrivateKey: priv}) }},
		{"RemovePeers", func() error { return n.dev.RemovePeers([]hostapi.Key{pub}) }},
		{"Close", n.dev.Close},
	} {
		n.dev.lock.lock(false)
		before := n.dev.changes
		n.dev.lock.unlock()
		tc.call()
		n.dev.lock.lock(false)
		after := n.dev.changes
		n.dev.lock.unlock()
		if after != before+1 {
			t.Errorf("%s: changes %d → %d, want one more", tc.name, before, after)
		}
	}
}
