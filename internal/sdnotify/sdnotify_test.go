//go:build linux

package sdnotify

import (
	"net"
	"path/filepath"
	"testing"
)

// listen returns a notification socket like systemd's and its name.
func listen(t *testing.T, name string) (*net.UnixConn, string) {
	t.Helper()
	addr := name
	if name[0] == '@' {
		addr = "\x00" + name[1:]
	}
	c, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: addr, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c, name
}

func TestNotify(t *testing.T) {
	for _, name := range []string{filepath.Join(t.TempDir(), "notify"), "@rustynet-sdnotify-test-" + filepath.Base(t.TempDir())} {
		t.Run(name, func(t *testing.T) {
			c, addr := listen(t, name)
			t.Setenv(EnvSocket, addr)
			sent, err := Notify(Ready, Status("serving\non 127.0.0.1"))
			if err != nil || !sent {
				t.Fatalf("Notify: sent %v, err %v", sent, err)
			}
			buf := make([]byte, 512)
			n, err := c.Read(buf)
			if err != nil {
				t.Fatal(err)
			}
			if got, want := string(buf[:n]), "READY=1\nSTATUS=serving on 127.0.0.1\n"; got != want {
				t.Errorf("got datagram %q, want %q", got, want)
			}
		})
	}
}

func TestNotifyWithoutSystemd(t *testing.T) {
	t.Setenv(EnvSocket, "")
	if sent, err := Notify(Ready); sent || err != nil {
		t.Errorf("got sent %v, err %v; want nothing sent and no error", sent, err)
	}
	if _, err := NotifySocket("relative", Ready); err == nil {
		t.Error("a relative socket name was accepted")
	}
}
