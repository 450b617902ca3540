package hostapi

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"math/big"
	"net"
	"strings"
	"testing"
	"time"
)

func TestWithCertificate(t *testing.T) {
	tests := []struct {
		name, hs, cert, want string
	}{
		{"empty field filled", "1|1|unix|/tmp/p|grpc|\n", "CERT", "1|1|unix|/tmp/p|grpc|CERT\n"},
		{"multiplexing flag kept", "1|1|unix|/tmp/p|grpc||true\n", "CERT", "1|1|unix|/tmp/p|grpc|CERT|true\n"},
		{"windows line end kept", "1|1|tcp|127.0.0.1:1|grpc|\r\n", "CERT", "1|1|tcp|127.0.0.1:1|grpc|CERT\r\n"},
		{"no line end", "1|1|unix|/tmp/p|grpc|", "CERT", "1|1|unix|/tmp/p|grpc|CERT"},
		{"certificate already there", "1|1|unix|/tmp/p|grpc|OTHER\n", "CERT", "1|1|unix|/tmp/p|grpc|OTHER\n"},
		{"no certificate to add", "1|1|unix|/tmp/p|grpc|\n", "", "1|1|unix|/tmp/p|grpc|\n"},
		{"too few fields", "1|1|unix|/tmp/p\n", "CERT", "1|1|unix|/tmp/p\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := withCertificate(tt.hs, tt.cert); got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestForwardHandshakeFillsCertificate(t *testing.T) {
	var out closeRecorder
	var spill closeRecorder
	forwardHandshake(strings.NewReader("noise\n1|1|unix|/tmp/p|grpc|\n"), &out, &spill, "CERT")
	if got, want := out.String(), "1|1|unix|/tmp/p|grpc|CERT\n"; got != want {
		t.Errorf("got out %q, want %q", got, want)
	}
	if got, want := spill.String(), "noise\n"; got != want {
		t.Errorf("got spill %q, want %q", got, want)
	}
}

// mustCertificate is newCertificate for tests.
func mustCertificate(t *testing.T) tls.Certificate {
	t.Helper()
	c, err := newCertificate()
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// issued returns a certificate for tlsServerName signed by parent: one that
// verifies against parent as a root, but is not parent.
func issued(t *testing.T, parent tls.Certificate) tls.Certificate {
	t.Helper()
	own := mustCertificate(t)
	tmpl := *own.Leaf
	tmpl.SerialNumber = big.NewInt(2)
	tmpl.IsCA = false
	der, err := x509.CreateCertificate(rand.Reader, &tmpl, parent.Leaf, own.Leaf.PublicKey, parent.PrivateKey)
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: own.PrivateKey, Leaf: leaf}
}

func poolOf(certs ...tls.Certificate) *x509.CertPool {
	p := x509.NewCertPool()
	for _, c := range certs {
		p.AddCert(c.Leaf)
	}
	return p
}

func pemOf(c tls.Certificate) string {
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Certificate[0]}))
}

// handshake runs a TLS handshake over loopback TCP and returns each side's
// error.
func handshake(t *testing.T, server, client *tls.Config) (serverErr, clientErr error) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	done := make(chan error, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			done <- err
			return
		}
		defer c.Close()
		_ = c.SetDeadline(time.Now().Add(testDeadline))
		done <- tls.Server(c, server).Handshake()
	}()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(testDeadline))
	clientErr = tls.Client(c, client).Handshake()
	if clientErr != nil {
		c.Close() // the server waits no longer
	}
	return <-done, clientErr
}

const testDeadline = 10 * time.Second

// TestPluginTLSAcceptsOnlyItsHost: the plugin's configuration serves its
// own fresh certificate, announced in the handshake field, and accepts only
// a client presenting the host's certificate itself.
func TestPluginTLSAcceptsOnlyItsHost(t *testing.T) {
	host := mustCertificate(t)
	t.Setenv(envClientCert, pemOf(host))
	cfg, field, err := pluginTLS()
	if err != nil {
		t.Fatal(err)
	}
	der, err := base64.RawStdEncoding.DecodeString(field)
	if err != nil {
		t.Fatal(err)
	}
	plugin, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	wantP256(t, plugin)
	pluginCert := tls.Certificate{Certificate: [][]byte{der}, Leaf: plugin}
	for _, tt := range []struct {
		name   string
		client tls.Certificate
		ok     bool
	}{
		{"the host", host, true},
		{"a stranger", mustCertificate(t), false},
		{"a certificate the host's key issued", issued(t, host), false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			client := hostTLSConfig(tt.client, poolOf(pluginCert), func() {})
			serverErr, clientErr := handshake(t, cfg, client)
			if clientErr != nil {
				t.Fatalf("client: %v", clientErr)
			}
			if got := serverErr == nil; got != tt.ok {
				t.Errorf("plugin accepted = %v (%v), want %v", got, serverErr, tt.ok)
			}
		})
	}
}

// TestHostTLSPinsThePluginCertificate: the host accepts only the very
// certificate the plugin announced, and none while none was announced.
func TestHostTLSPinsThePluginCertificate(t *testing.T) {
	host := mustCertificate(t)
	announced := mustCertificate(t)
	for _, tt := range []struct {
		name   string
		roots  *x509.CertPool
		server tls.Certificate
		ok     bool
	}{
		{"the announced certificate", poolOf(announced), announced, true},
		{"nothing announced", x509.NewCertPool(), announced, false},
		{"a stranger", poolOf(announced), mustCertificate(t), false},
		{"a certificate the announced key issued", poolOf(announced), issued(t, announced), false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			traced := false
			client := hostTLSConfig(host, tt.roots, func() { traced = true })
			server := &tls.Config{
				Certificates: []tls.Certificate{tt.server},
				ClientAuth:   tls.RequireAndVerifyClientCert,
				ClientCAs:    poolOf(host),
				MinVersion:   tls.VersionTLS13,
			}
			_, clientErr := handshake(t, server, client)
			if got := clientErr == nil; got != tt.ok {
				t.Errorf("host accepted = %v (%v), want %v", got, clientErr, tt.ok)
			}
			if traced != tt.ok {
				t.Errorf("trace called = %v, want %v", traced, tt.ok)
			}
		})
	}
}

func TestPluginTLSWithoutHostCertificate(t *testing.T) {
	t.Setenv(envClientCert, "")
	cfg, field, err := pluginTLS()
	if cfg != nil || field != "" || err != nil {
		t.Errorf("got %v, %q, %v; want nil, \"\", nil (the host asked for no TLS)", cfg, field, err)
	}
	for _, bad := range []string{"not PEM", string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: []byte("junk")}))} {
		t.Setenv(envClientCert, bad)
		if cfg, _, err := pluginTLS(); err == nil || cfg != nil {
			t.Errorf("host certificate %q: got %v, %v; want an error", bad, cfg, err)
		}
	}
}

func TestHostIdentityIsOnePerProcess(t *testing.T) {
	a, err := hostIdentity()
	if err != nil {
		t.Fatal(err)
	}
	b, _ := hostIdentity()
	if !a.Leaf.Equal(b.Leaf) {
		t.Error("two host certificates in one process")
	}
	wantP256(t, a.Leaf)
}

func wantP256(t *testing.T, c *x509.Certificate) {
	t.Helper()
	if k, ok := c.PublicKey.(*ecdsa.PublicKey); !ok || k.Curve != elliptic.P256() {
		t.Errorf("certificate key %T, want an ECDSA P-256 key", c.PublicKey)
	}
}
