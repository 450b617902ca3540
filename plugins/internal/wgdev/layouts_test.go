//lint:file-ignore U1000 the fields of these layouts are looked up only by reflection (peerFields)

package wgdev

import (
	"net/netip"
	"sync"
	"sync/atomic"

	"golang.zx2c4.com/wireguard/conn"
)

// Layouts of device.Peer for TestPeerFieldsRefusesAnotherLayout: the
// expected one, and others a wireguard-go upgrade could bring.
type (
	endpoint struct {
		sync.Mutex
		val conn.Endpoint
	}
	expected struct {
		txBytes, rxBytes            atomic.Uint64
		lastHandshakeNano           atomic.Int64
		persistentKeepaliveInterval atomic.Uint32
		endpoint                    endpoint
	}
	noRx struct {
		txBytes                     atomic.Uint64
		lastHandshakeNano           atomic.Int64
		persistentKeepaliveInterval atomic.Uint32
		endpoint                    endpoint
	}
	plainCounter struct {
		txBytes                     uint64
		rxBytes                     atomic.Uint64
		lastHandshakeNano           atomic.Int64
		persistentKeepaliveInterval atomic.Uint32
		endpoint                    endpoint
	}
	otherEndpoint struct {
		txBytes, rxBytes            atomic.Uint64
		lastHandshakeNano           atomic.Int64
		persistentKeepaliveInterval atomic.Uint32
		endpoint                    struct {
			sync.Mutex
			val netip.AddrPort
		}
	}
	unlockedEndpoint struct {
		txBytes, rxBytes            atomic.Uint64
		lastHandshakeNano           atomic.Int64
		persistentKeepaliveInterval atomic.Uint32
		endpoint                    struct{ val conn.Endpoint }
	}
)
