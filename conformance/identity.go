package conformance

import (
	"crypto/rand"
	"net/netip"
	"os"
	"strconv"
	"sync/atomic"

	"golang.org/x/crypto/curve25519"

	"github.com/rustynet/rustynet/hostapi"
)

// identity is one WireGuard node the suite plays or configures: a key pair,
// a mesh address and an interface name.
type identity struct {
	priv hostapi.PrivateKey
	pub  hostapi.Key
	addr netip.Addr // mesh address
	bits int        // prefix length of the interface address; 0: a host prefix
	name string     // interface name, unique on this host
}

var ifaceCounter atomic.Uint64

// newIdentity returns a fresh identity with mesh address addr.
func newIdentity(addr netip.Addr) *identity {
	id := &identity{addr: addr, name: uniqueName("rnc")}
	if _, err := rand.Read(id.priv[:]); err != nil {
		panic("conformance: no randomness: " + err.Error())
	}
	// Clamp as `wg genkey` does.
	id.priv[0] &= 248
	id.priv[31] = id.priv[31]&127 | 64
	pub, err := curve25519.X25519(id.priv[:], curve25519.Basepoint)
	if err != nil {
		panic("conformance: deriving a public key: " + err.Error())
	}
	copy(id.pub[:], pub)
	return id
}

// uniqueName returns prefix, this process's pid, "x" and a counter in base
// 36: unique among the processes on this host, and with a prefix of 3
// bytes short enough for an interface name (15 bytes).
func uniqueName(prefix string) string {
	return prefix + strconv.Itoa(os.Getpid()) + "x" + strconv.FormatUint(ifaceCounter.Add(1), 36)
}

// prefix is the identity's mesh address as a host prefix: what peers
// route to it.
func (id *identity) prefix() netip.Prefix {
	return netip.PrefixFrom(id.addr, id.addr.BitLen())
}

// ifacePrefix is the identity's address as its interface carries it.
func (id *identity) ifacePrefix() netip.Prefix {
	if id.bits == 0 {
		return id.prefix()
	}
	return netip.PrefixFrom(id.addr, id.bits)
}

// config is the interface configuration of the identity, listening on a
// port the backend chooses.
func (id *identity) config() hostapi.InterfaceConfig {
	return hostapi.InterfaceConfig{
		Name:       id.name,
		PrivateKey: id.priv,
		Addresses:  []netip.Prefix{id.ifacePrefix()},
	}
}

// peer is the identity as a peer of another node, reachable at endpoint
// (the zero value: unknown).
func (id *identity) peer(endpoint netip.AddrPort) hostapi.PeerConfig {
	return hostapi.PeerConfig{
		PublicKey:  id.pub,
		Endpoint:   endpoint,
		AllowedIPs: []netip.Prefix{id.prefix()},
	}
}
