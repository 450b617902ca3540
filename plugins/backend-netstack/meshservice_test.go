package netstack

import (
	"bufio"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rustynet/rustynet/hostapi"
)

// TestMeshService: the agent's service is reached across the mesh through
// the two Unix sockets — a's agent dials b's mesh address through a's
// dial socket, b's backend relays the connection to b's accept socket —
// and the dial socket refuses what is not a mesh address.
func TestMeshService(t *testing.T) {
	dir, err := os.MkdirTemp("", "rn-ms-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	service := func(name string) *hostapi.MeshService {
		return &hostapi.MeshService{Port: 7946, Accept: filepath.Join(dir, name+"-accept.sock"), Dial: filepath.Join(dir, name+"-dial.sock")}
	}
	as, bs := service("a"), service("b")
	// A stale socket file from an earlier run is replaced.
	if stale, err := net.Listen("unix", as.Dial); err == nil {
		stale.(*net.UnixListener).SetUnlinkOnClose(false)
		stale.Close()
	}
	ln, err := net.Listen("unix", bs.Accept)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() { defer c.Close(); io.Copy(c, c) }()
		}
	}()
	a := newTestNode(t, "100.64.0.1", &hostapi.ProxyConfig{MeshService: as})
	b := newTestNode(t, "100.64.0.2", &hostapi.ProxyConfig{MeshService: bs})
	connect(t, a, b)
	if fi, err := os.Stat(as.Dial); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("dial socket: %v %v", err, fi)
	}

	ask := func(line string) (string, net.Conn) {
		c, err := net.Dial("unix", as.Dial)
		if err != nil {
			t.Fatal(err)
		}
		c.SetDeadline(time.Now().Add(20 * time.Second))
		if _, err := c.Write([]byte(line)); err != nil {
			t.Fatal(err)
		}
		r := bufio.NewReader(c)
		answer, _ := r.ReadString('\n')
		return answer, &bufConn{c, r}
	}
	answer, c := ask("100.64.0.2\n")
	if answer != "ok\n" {
		t.Fatalf("dial answered %q", answer)
	}
	if _, err := c.Write([]byte("hello\n")); err != nil {
		t.Fatal(err)
	}
	got, err := bufio.NewReader(c).ReadString('\n')
	if err != nil || got != "hello\n" {
		t.Fatalf("echo through the mesh: %q, %v", got, err)
	}
	c.Close()
	for _, bad := range []string{"not an address\n", "0.0.0.0\n", strings.Repeat("1", 100) + "\n"} {
		if answer, c := ask(bad); !strings.HasPrefix(answer, "error: ") {
			t.Errorf("%q: answered %q", bad, answer)
		} else {
			c.Close()
		}
	}
}

type bufConn struct {
	net.Conn
	r *bufio.Reader
}

func (c *bufConn) Read(p []byte) (int, error) { return c.r.Read(p) }

func TestValidateMeshService(t *testing.T) {
	for _, tc := range []struct {
		name string
		ms   hostapi.MeshService
		exp  []hostapi.Expose
		ok   bool
	}{
		{"fine", hostapi.MeshService{Port: 1, Accept: "/a", Dial: "/b"}, nil, true},
		{"port 0", hostapi.MeshService{Accept: "/a", Dial: "/b"}, nil, false},
		{"relative", hostapi.MeshService{Port: 1, Accept: "a", Dial: "/b"}, nil, false},
		{"exposed too", hostapi.MeshService{Port: 22, Accept: "/a", Dial: "/b"}, []hostapi.Expose{{Proto: hostapi.ProtoTCP, MeshPort: 22}}, false},
	} {
		if err := validateMeshService(&tc.ms, tc.exp); (err == nil) != tc.ok {
			t.Errorf("%s: %v", tc.name, err)
		}
	}
}
