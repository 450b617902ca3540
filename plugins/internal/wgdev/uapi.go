package wgdev

import (
	"encoding/hex"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/rustynet/rustynet/hostapi"
)

// The UAPI text written here follows wireguard-go's device/uapi.go: a
// public_key line selects (and, without update_only, creates) a peer;
// update_only=true keeps an existing peer's session and never creates one;
// replace_allowed_ips=true drops the peer's allowed IPs before the following
// allowed_ip lines; replace_peers is never written, so peers the change does
// not name are not touched.

func writeHexLine(b *strings.Builder, name string, k [32]byte) {
	b.WriteString(name)
	b.WriteByte('=')
	var buf [64]byte
	hex.Encode(buf[:], k[:])
	b.Write(buf[:])
	b.WriteByte('\n')
}

func writeLine(b *strings.Builder, name, value string) {
	b.WriteString(name)
	b.WriteByte('=')
	b.WriteString(value)
	b.WriteByte('\n')
}

func writeAllowedIPs(b *strings.Builder, prefixes []netip.Prefix) {
	writeLine(b, "replace_allowed_ips", "true")
	for _, p := range prefixes {
		writeLine(b, "allowed_ip", p.String())
	}
}

func keepaliveSeconds(d time.Duration) string {
	return strconv.FormatInt(int64(d/time.Second), 10)
}

// writeUpsert writes the lines that create u.Peer or bring it in place,
// touching only what changed so its session and roamed endpoint survive. It
// writes nothing for an update that changes nothing.
func writeUpsert(b *strings.Builder, u hostapi.PeerUpsert) {
	cfg := u.Peer
	if u.Old == nil {
		writeHexLine(b, "public_key", cfg.PublicKey)
		if cfg.Endpoint.IsValid() {
			writeLine(b, "endpoint", cfg.Endpoint.String())
		}
		writeAllowedIPs(b, cfg.AllowedIPs)
		if cfg.PersistentKeepalive != 0 {
			writeLine(b, "persistent_keepalive_interval", keepaliveSeconds(cfg.PersistentKeepalive))
		}
		return
	}
	old := u.Old
	newEndpoint := cfg.Endpoint.IsValid() && cfg.Endpoint != old.Endpoint
	newIPs := !samePrefixes(cfg.AllowedIPs, old.AllowedIPs)
	newKeepalive := cfg.PersistentKeepalive != old.PersistentKeepalive
	if !newEndpoint && !newIPs && !newKeepalive {
		return
	}
	writeHexLine(b, "public_key", cfg.PublicKey)
	writeLine(b, "update_only", "true")
	if newEndpoint {
		writeLine(b, "endpoint", cfg.Endpoint.String())
	}
	if newIPs {
		writeAllowedIPs(b, cfg.AllowedIPs)
	}
	if newKeepalive {
		writeLine(b, "persistent_keepalive_interval", keepaliveSeconds(cfg.PersistentKeepalive))
	}
}

// writeRestore writes the lines that put back old, a peer as it was before a
// failed change, creating it again if the change had removed it.
func writeRestore(b *strings.Builder, old hostapi.PeerConfig) {
	writeHexLine(b, "public_key", old.PublicKey)
	if old.Endpoint.IsValid() {
		writeLine(b, "endpoint", old.Endpoint.String())
	}
	writeAllowedIPs(b, old.AllowedIPs)
	writeLine(b, "persistent_keepalive_interval", keepaliveSeconds(old.PersistentKeepalive))
}

// writeRemove writes the lines that remove k's peer.
func writeRemove(b *strings.Builder, k hostapi.Key) {
	writeHexLine(b, "public_key", k)
	writeLine(b, "remove", "true")
}

// samePrefixes reports whether a and b hold the same prefixes, in any order.
// Both are free of repeats (hostapi.CheckPeer guarantees it).
func samePrefixes(a, b []netip.Prefix) bool {
	if len(a) != len(b) {
		return false
	}
	if len(a) == 1 {
		return a[0] == b[0]
	}
	in := make(map[netip.Prefix]bool, len(a))
	for _, p := range a {
		in[p] = true
	}
	for _, p := range b {
		if !in[p] {
			return false
		}
	}
	return true
}
