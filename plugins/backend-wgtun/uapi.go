package wgtun

import (
	"bufio"
	"encoding/hex"
	"io"
	"log/slog"
	"net"
	"strconv"
	"sync"

	"github.com/rustynet/rustynet/hostapi"
)

// The UAPI socket speaks WireGuard's cross-platform configuration protocol
// (https://www.wireguard.com/xplatform/#configuration-protocol) read-only:
// "get" answers as wireguard-go does, so `wg show` works; "set" is refused
// with EPERM, because peers come only from the core's verified membership
// and a peer added behind the core's back would bypass it.

// errnoPerm is the protocol's errno for a refused set: -EPERM, negative as
// wireguard-go writes errors and as wg expects them.
const errnoPerm = -1

// uapiSource returns what a "get" reports: the private key and the live
// device state.
type uapiSource func() (hostapi.PrivateKey, hostapi.InterfaceState, error)

// uapiServer serves the UAPI socket of one interface.
type uapiServer struct {
	ln  net.Listener
	src uapiSource
	log *slog.Logger
	wg  sync.WaitGroup // the accept loop and every connection handler

	mu     sync.Mutex
	closed bool                  // guarded by mu
	conns  map[net.Conn]struct{} // open connections; guarded by mu
}

// startUAPI opens the interface's UAPI socket (a unix socket under
// /var/run/wireguard, or a named pipe on Windows) and serves it.
func startUAPI(name string, src uapiSource, log *slog.Logger) (*uapiServer, error) {
	ln, err := listenUAPI(name)
	if err != nil {
		return nil, hostapi.Errorf(hostapi.CodeUnavailable, "UAPI socket for %s: %v", name, err)
	}
	s := &uapiServer{ln: ln, src: src, log: log, conns: map[net.Conn]struct{}{}}
	s.wg.Add(1)
	go s.serve()
	return s, nil
}

func (s *uapiServer) serve() {
	defer s.wg.Done()
	for {
		c, err := s.ln.Accept()
		if err != nil {
			return
		}
		if !s.track(c) {
			c.Close()
			return
		}
		go s.handle(c)
	}
}

// track registers c (and its handler in wg) unless the server is closed.
func (s *uapiServer) track(c net.Conn) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return false
	}
	s.conns[c] = struct{}{}
	s.wg.Add(1)
	return true
}

// close stops accepting, closes open connections and waits for every
// handler to end; the socket file is removed.
func (s *uapiServer) close() {
	s.mu.Lock()
	s.closed = true
	for c := range s.conns {
		c.Close()
	}
	s.mu.Unlock()
	s.ln.Close()
	s.wg.Wait()
}

// handle serves requests on c until it closes or errs.
func (s *uapiServer) handle(c net.Conn) {
	defer func() {
		s.mu.Lock()
		delete(s.conns, c)
		s.mu.Unlock()
		c.Close()
		s.wg.Done()
	}()
	r := bufio.NewReader(c)
	w := bufio.NewWriter(c)
	for {
		op, err := r.ReadString('\n')
		if err != nil {
			return
		}
		switch op {
		case "get=1\n":
			if end, err := r.ReadString('\n'); err != nil || end != "\n" {
				return
			}
			if err := s.get(w); err != nil {
				s.log.Error("UAPI get failed", "err", err)
				return
			}
		case "set=1\n":
			if err := skipRequest(r); err != nil {
				return
			}
			s.log.Warn("refused a UAPI set: peers come only from the verified membership")
			writeErrno(w, errnoPerm)
		default:
			return
		}
		if err := w.Flush(); err != nil {
			return
		}
	}
}

// get writes the answer to a "get" request.
func (s *uapiServer) get(w *bufio.Writer) error {
	key, st, err := s.src()
	if err != nil {
		return err
	}
	writeGet(w, key, st)
	writeErrno(w, 0)
	return nil
}

// skipRequest consumes the lines of a request up to its empty line.
func skipRequest(r *bufio.Reader) error {
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return err
		}
		if line == "\n" {
			return nil
		}
	}
}

func writeErrno(w io.Writer, errno int) {
	io.WriteString(w, "errno="+strconv.Itoa(errno)+"\n\n")
}

// writeGet writes the body of a "get" answer in wireguard-go's order.
func writeGet(w *bufio.Writer, key hostapi.PrivateKey, st hostapi.InterfaceState) {
	writeKey(w, "private_key", key)
	if st.ListenPort != 0 {
		writeField(w, "listen_port", strconv.Itoa(int(st.ListenPort)))
	}
	var noPSK [hostapi.KeyLen]byte // wgtun sets no preshared keys
	for _, p := range st.Peers {
		writeKey(w, "public_key", p.PublicKey)
		writeKey(w, "preshared_key", noPSK)
		writeField(w, "protocol_version", "1")
		if p.Endpoint.IsValid() {
			writeField(w, "endpoint", p.Endpoint.String())
		}
		var sec, nsec int64
		if !p.LastHandshake.IsZero() {
			sec, nsec = p.LastHandshake.Unix(), int64(p.LastHandshake.Nanosecond())
		}
		writeField(w, "last_handshake_time_sec", strconv.FormatInt(sec, 10))
		writeField(w, "last_handshake_time_nsec", strconv.FormatInt(nsec, 10))
		writeField(w, "tx_bytes", strconv.FormatUint(p.TxBytes, 10))
		writeField(w, "rx_bytes", strconv.FormatUint(p.RxBytes, 10))
		writeField(w, "persistent_keepalive_interval", strconv.FormatInt(int64(p.PersistentKeepalive.Seconds()), 10))
		for _, a := range p.AllowedIPs {
			writeField(w, "allowed_ip", a.String())
		}
	}
}

func writeKey(w *bufio.Writer, name string, k [hostapi.KeyLen]byte) {
	var buf [2 * hostapi.KeyLen]byte
	hex.Encode(buf[:], k[:])
	writeField(w, name, string(buf[:]))
}

func writeField(w *bufio.Writer, name, value string) {
	w.WriteString(name)
	w.WriteByte('=')
	w.WriteString(value)
	w.WriteByte('\n')
}
