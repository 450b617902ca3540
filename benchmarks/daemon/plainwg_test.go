package daemonbench

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"net/netip"
	"os"
	"strconv"
	"strings"

	"golang.zx2c4.com/wireguard/conn"
	"golang.zx2c4.com/wireguard/device"
	"golang.zx2c4.com/wireguard/tun/netstack"
)

// plainPeersEnv, when set to P, makes this test binary a plain
// wireguard-go process instead of running tests: see runPlainWireGuardGo.
const plainPeersEnv = "RUSTYNET_BENCH_PLAIN_WIREGUARD_GO_PEERS"

// runPlainWireGuardGo is the whole of a plain wireguard-go process: one
// device on upstream's gVisor netstack (golang.zx2c4.com/wireguard/tun/
// netstack, the same MTU as the netstack backend) holding peers peers,
// each as the backend holds a member (a key and one /32, no endpoint),
// set through the UAPI. It writes "ready" to stdout and waits until stdin
// closes, so that its parent can read its resident memory.
func runPlainWireGuardGo(peers int) error {
	tun, _, err := netstack.CreateNetTUN([]netip.Addr{netip.MustParseAddr("100.64.0.1")}, nil, 1420)
	if err != nil {
		return err
	}
	dev := device.NewDevice(tun, conn.NewDefaultBind(), device.NewLogger(device.LogLevelSilent, ""))
	defer dev.Close()
	var key [32]byte
	if _, err := rand.Read(key[:]); err != nil {
		return err
	}
	var uapi strings.Builder
	fmt.Fprintf(&uapi, "private_key=%s\nlisten_port=0\n", hex.EncodeToString(key[:]))
	for i := range peers {
		if _, err := rand.Read(key[:]); err != nil {
			return err
		}
		j := i + 2
		fmt.Fprintf(&uapi, "public_key=%s\nallowed_ip=100.%d.%d.%d/32\n", hex.EncodeToString(key[:]), 64+byte(j>>16), byte(j>>8), byte(j))
	}
	if err := dev.IpcSet(uapi.String()); err != nil {
		return err
	}
	if err := dev.Up(); err != nil {
		return err
	}
	fmt.Println("ready")
	_, err = io.Copy(io.Discard, os.Stdin)
	return err
}

// plainMain runs runPlainWireGuardGo with the peer count p and returns
// the process's exit code.
func plainMain(p string) int {
	peers, err := strconv.Atoi(p)
	if err == nil {
		err = runPlainWireGuardGo(peers)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "plain wireguard-go:", err)
		return 1
	}
	return 0
}
