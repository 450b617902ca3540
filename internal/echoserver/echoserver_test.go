package echoserver

import (
	"io"
	"net"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestTCP(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	seen := make(chan net.Addr, 1)
	s := ServeTCP(ln, func(c net.Conn) { seen <- c.RemoteAddr() })
	defer s.Close()
	c, err := net.Dial("tcp", s.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	if got := <-seen; got.String() != c.LocalAddr().String() {
		t.Errorf("onAccept saw %v, want %v", got, c.LocalAddr())
	}
	const msg = "hello, echo"
	if _, err := io.WriteString(c, msg); err != nil {
		t.Fatal(err)
	}
	// Ending our stream ends the server's once it has echoed everything.
	if err := c.(*net.TCPConn).CloseWrite(); err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(c)
	if err != nil {
		t.Fatalf("reading the echo to its end: %v", err)
	}
	if string(got) != msg {
		t.Errorf("echo: got %q, want %q", got, msg)
	}
	if n := s.Accepted(); n != 1 {
		t.Errorf("Accepted: got %d, want 1", n)
	}
}

// TestTCPCloseEndsConnections checks that Close ends the connections it
// still echoes.
func TestTCPCloseEndsConnections(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	accepted := make(chan struct{})
	s := ServeTCP(ln, func(net.Conn) { close(accepted) })
	c, err := net.Dial("tcp", s.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	<-accepted
	if err := s.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, err := c.Read(make([]byte, 1)); err != io.EOF {
		t.Errorf("read after Close: got %v, want EOF", err)
	}
}

func TestUDP(t *testing.T) {
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	u := ServeUDP(pc)
	defer u.Close()
	c, err := net.Dial("udp", u.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	const msg = "a datagram"
	if _, err := io.WriteString(c, msg); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 100)
	n, err := c.Read(buf)
	if err != nil || string(buf[:n]) != msg {
		t.Errorf("echo: got %q, %v; want %q", buf[:n], err, msg)
	}
}
