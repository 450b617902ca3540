package wgdev

import (
	"bufio"
	"bytes"
	"encoding/hex"
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/rustynet/rustynet/hostapi"
)

// parseState reads the text of a UAPI get operation (wireguard-go's
// IpcGet): listen_port and every peer with its endpoint, last handshake,
// byte counters, keepalive and allowed IPs. Lines it does not use (the
// private key, preshared keys, fwmark, protocol_version) are skipped. Peers
// come back sorted by public key, each peer's allowed IPs sorted.
func parseState(text string) (hostapi.InterfaceState, error) {
	var st hostapi.InterfaceState
	var peer *hostapi.PeerState
	var hsSec, hsNsec int64
	flush := func() {
		if peer == nil {
			return
		}
		if hsSec != 0 || hsNsec != 0 {
			peer.LastHandshake = time.Unix(hsSec, hsNsec)
		}
		slices.SortFunc(peer.AllowedIPs, comparePrefix)
		st.Peers = append(st.Peers, *peer)
		peer, hsSec, hsNsec = nil, 0, 0
	}

	sc := bufio.NewScanner(strings.NewReader(text))
	for sc.Scan() {
		line := sc.Text()
		if line == "" {
			continue
		}
		key, value, ok := strings.Cut(line, "=")
		if !ok {
			return st, fmt.Errorf("malformed line %q", line)
		}
		var err error
		switch key {
		case "listen_port":
			var port uint64
			port, err = strconv.ParseUint(value, 10, 16)
			st.ListenPort = uint16(port)
		case "public_key":
			flush()
			peer = new(hostapi.PeerState)
			err = decodeHexKey(value, &peer.PublicKey)
		case "endpoint", "last_handshake_time_sec", "last_handshake_time_nsec",
			"tx_bytes", "rx_bytes", "persistent_keepalive_interval", "allowed_ip":
			if peer == nil {
				return st, fmt.Errorf("%s before any public_key", key)
			}
			err = parsePeerLine(peer, key, value, &hsSec, &hsNsec)
		}
		if err != nil {
			return st, fmt.Errorf("line %q: %w", line, err)
		}
	}
	flush()
	slices.SortFunc(st.Peers, func(a, b hostapi.PeerState) int {
		return bytes.Compare(a.PublicKey[:], b.PublicKey[:])
	})
	return st, sc.Err()
}

func parsePeerLine(peer *hostapi.PeerState, key, value string, hsSec, hsNsec *int64) error {
	var err error
	switch key {
	case "endpoint":
		// A bind whose endpoints are not IP:port leaves the endpoint unknown.
		if ep, perr := netip.ParseAddrPort(value); perr == nil {
			peer.Endpoint = ep
		}
	case "last_handshake_time_sec":
		*hsSec, err = strconv.ParseInt(value, 10, 64)
	case "last_handshake_time_nsec":
		*hsNsec, err = strconv.ParseInt(value, 10, 64)
	case "tx_bytes":
		peer.TxBytes, err = strconv.ParseUint(value, 10, 64)
	case "rx_bytes":
		peer.RxBytes, err = strconv.ParseUint(value, 10, 64)
	case "persistent_keepalive_interval":
		var secs uint64
		secs, err = strconv.ParseUint(value, 10, 16)
		peer.PersistentKeepalive = time.Duration(secs) * time.Second
	case "allowed_ip":
		var p netip.Prefix
		p, err = netip.ParsePrefix(value)
		peer.AllowedIPs = append(peer.AllowedIPs, p)
	}
	return err
}

func decodeHexKey(s string, k *hostapi.Key) error {
	if hex.DecodedLen(len(s)) != len(k) {
		return fmt.Errorf("key is %d hex digits, want %d", len(s), 2*len(k))
	}
	_, err := hex.Decode(k[:], []byte(s))
	return err
}

// comparePrefix orders prefixes by address, then length.
func comparePrefix(a, b netip.Prefix) int {
	if c := a.Addr().Compare(b.Addr()); c != 0 {
		return c
	}
	return a.Bits() - b.Bits()
}
