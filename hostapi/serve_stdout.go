package hostapi

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"regexp"
	"strings"

	plugin "github.com/hashicorp/go-plugin"
)

// handshakeOut is the process's original stdout, set aside when the process
// starts as a plugin; nil otherwise. Only the go-plugin handshake line is
// ever written to it.
var handshakeOut *os.File

// init protects stdout before any code of the plugin's own packages runs
// (their init functions run after this package's): when a host launched this
// process as a plugin, the original stdout is set aside for the handshake and
// file descriptor 1 (or the Windows standard output handle) is pointed at
// stderr, so anything written to stdout lands in the host's log instead of
// corrupting the protocol.
func init() {
	if os.Getenv(Handshake.MagicCookieKey) != Handshake.MagicCookieValue {
		return
	}
	out, err := redirectStdout()
	if err != nil {
		fmt.Fprintf(pluginStderr, "rustynet plugin: cannot set stdout aside: %v\n", err)
		return
	}
	handshakeOut = out
}

// handshakeLine finds go-plugin's handshake line ("CORE|APP|NET|ADDR|PROTO|
// CERT[|MUX]") in a line of stdout output, even if plugin code wrote a
// partial line just before it.
var handshakeLine = regexp.MustCompile(fmt.Sprintf(`%d\|\d+\|(?:unix|tcp)\|[^|\s]+\|(?:grpc|netrpc)\|[^|\s]*(?:\|(?:true|false))?\r?\n?$`, plugin.CoreProtocolVersion))

// handshakeRouted reports whether routeHandshake can reach the handshake
// line: the process runs as a plugin and stdout was set aside.
func handshakeRouted() bool { return handshakeOut != nil }

// routeHandshake points os.Stdout at a pipe for go-plugin's Serve to print
// its handshake to. The handshake line is forwarded to the original stdout,
// which is then closed: nothing else can ever reach the host that way. Any
// other output that reaches the pipe (plugin code racing with Serve) goes to
// stderr. If cert is not empty, it fills the line's empty certificate field
// (see mtls.go). The returned function closes the pipe once serving is
// over.
func routeHandshake(cert string) (restore func()) {
	if handshakeOut == nil {
		return func() {}
	}
	r, w, err := os.Pipe()
	if err != nil {
		fmt.Fprintf(pluginStderr, "rustynet plugin: cannot create handshake pipe: %v\n", err)
		os.Stdout = handshakeOut
		return func() {}
	}
	os.Stdout = w
	done := make(chan struct{})
	go func() {
		defer close(done)
		forwardHandshake(r, handshakeOut, pluginStderr, cert)
		_ = r.Close()
	}()
	return func() {
		_ = w.Close()
		<-done
	}
}

// forwardHandshake copies r line by line to spill, except the first
// handshake line, which goes to out (closed right after), its certificate
// field filled with cert if it is empty.
func forwardHandshake(r io.Reader, out io.WriteCloser, spill io.Writer, cert string) {
	br := bufio.NewReader(r)
	forwarded := false
	for {
		line, err := br.ReadString('\n')
		if line != "" {
			if loc := handshakeLine.FindStringIndex(line); !forwarded && loc != nil {
				_, _ = io.WriteString(spill, line[:loc[0]])
				_, _ = io.WriteString(out, withCertificate(line[loc[0]:], cert))
				_ = out.Close()
				forwarded = true
			} else {
				_, _ = io.WriteString(spill, line)
			}
		}
		if err != nil {
			return
		}
	}
}

// withCertificate returns the handshake line hs with cert in its sixth
// field (the server certificate) if that field is empty and cert is not;
// otherwise hs unchanged.
func withCertificate(hs, cert string) string {
	body := strings.TrimRight(hs, "\r\n")
	parts := strings.Split(body, "|")
	if cert == "" || len(parts) < 6 || parts[5] != "" {
		return hs
	}
	parts[5] = cert
	return strings.Join(parts, "|") + hs[len(body):]
}
