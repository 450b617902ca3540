package wgdev

import (
	"os"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// TestSetFirewallMark sets, keeps across a new listen port, and clears the
// mark on the device's real UDP sockets, reading it back from the sockets'
// owner (wireguard-go's UAPI get) and from the kernel (SO_MARK).
func TestSetFirewallMark(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("setting SO_MARK needs CAP_NET_ADMIN (run as root)")
	}
	n := newNode(t, "10.9.0.1")
	steps := []struct {
		name string
		do   func() error
		want uint32
	}{
		{"set", func() error { return n.dev.SetFirewallMark(0x52000007) }, 0x52000007},
		{"set again", func() error { return n.dev.SetFirewallMark(0x52000007) }, 0x52000007},
		{"new listen port keeps it", func() error {
			cfg := n.dev.cfg
			cfg.ListenPort = n.port + 1
			return n.dev.Configure(cfg)
		}, 0x52000007},
		{"clear", func() error { return n.dev.SetFirewallMark(0) }, 0},
	}
	for _, s := range steps {
		if err := s.do(); err != nil {
			t.Fatalf("%s: %v", s.name, err)
		}
		if got := uapiMark(t, n.dev); got != s.want {
			t.Errorf("%s: wireguard-go reports fwmark %#x, want %#x", s.name, got, s.want)
		}
		if got := socketMark(t, n.dev); got != s.want {
			t.Errorf("%s: SO_MARK of the IPv4 socket is %#x, want %#x", s.name, got, s.want)
		}
	}
}

// uapiMark reads the fwmark line of wireguard-go's UAPI get (absent: 0).
func uapiMark(t *testing.T, d *Device) uint32 {
	t.Helper()
	text, err := d.dev.IpcGet()
	if err != nil {
		t.Fatal(err)
	}
	for line := range strings.Lines(text) {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), "fwmark="); ok {
			m, err := strconv.ParseUint(v, 10, 32)
			if err != nil {
				t.Fatalf("fwmark line %q: %v", line, err)
			}
			return uint32(m)
		}
	}
	return 0
}

// socketMark reads SO_MARK of the UDP socket the device listens on: the
// socket in this process bound to its listen port.
func socketMark(t *testing.T, d *Device) uint32 {
	t.Helper()
	fd := socketOfPort(t, d.port)
	m, err := unix.GetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_MARK)
	if err != nil {
		t.Fatal(err)
	}
	return uint32(m)
}

// socketOfPort returns a file descriptor of this process that is a UDP
// socket bound to port.
func socketOfPort(t *testing.T, port uint16) int {
	t.Helper()
	entries, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		fd, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		sa, err := unix.Getsockname(fd)
		if err != nil {
			continue
		}
		if in4, ok := sa.(*unix.SockaddrInet4); ok && in4.Port == int(port) {
			if typ, err := unix.GetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_TYPE); err == nil && typ == unix.SOCK_DGRAM {
				return fd
			}
		}
	}
	t.Fatalf("no UDP socket of this process is bound to port %d", port)
	return -1
}
