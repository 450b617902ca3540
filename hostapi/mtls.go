package hostapi

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"os"
	"sync"
	"time"
)

// Mutual TLS between a host and the plugins it launches.
//
// go-plugin's AutoMTLS generates a P-521 key and certificate on both sides
// for every launch, and P-521 makes that and every handshake slow (about
// 19 ms of a 43 ms launch here). hostapi instead supplies the TLS
// configuration on both sides, with P-256 keys, through the same two
// channels AutoMTLS uses, so that a host or plugin built on go-plugin's
// AutoMTLS still interoperates with one built on this file:
//
//   - The host's certificate reaches the plugin in envClientCert (PEM), as
//     AutoMTLS sends it. The plugin requires every client to present exactly
//     that certificate.
//   - The plugin generates a fresh key and certificate of its own and
//     returns the certificate in the sixth field of its handshake line
//     (base64 DER), where AutoMTLS puts it; go-plugin prints that field only
//     for its own AutoMTLS, so the plugin's stdout router fills it in
//     (routeHandshake). The host requires the plugin to present exactly that
//     certificate, and refuses a plugin whose line carries none: no gRPC
//     ever runs in plaintext between a host and a launched plugin.
//
// The host generates its key once per process (hostIdentity), not once per
// launch. That is safe because the private key never leaves the host's
// memory: a plugin receives only the certificate, which lets it recognise
// the host but not act as it. Each plugin process still generates a fresh
// key of its own, which the host pins for that launch alone, so one plugin
// cannot pose as another; and every connection is TLS 1.3 with ephemeral
// key exchange, so reusing the host's signing key links no two sessions'
// traffic keys. What one key per process gives up is only this: a plugin
// that keeps the host's certificate could recognise the same host in a
// later launch, which it could tell from its environment anyway.

// envClientCert is go-plugin's variable carrying the host's certificate
// (PEM) to a plugin.
const envClientCert = "PLUGIN_CLIENT_CERT"

// tlsServerName is the name in every certificate and the name the host
// checks; it is AutoMTLS's, for interoperability.
const tlsServerName = "localhost"

// newCertificate generates a P-256 key and a self-signed certificate for
// it, usable by either end of a connection and shaped as AutoMTLS's (a CA
// certificate for tlsServerName), because a peer on AutoMTLS verifies it as
// its only root.
func newCertificate() (tls.Certificate, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, err
	}
	sn, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 128))
	if err != nil {
		return tls.Certificate{}, err
	}
	now := time.Now()
	template := &x509.Certificate{
		SerialNumber:          sn,
		Subject:               pkix.Name{CommonName: tlsServerName, Organization: []string{"Rustynet plugin"}},
		DNSNames:              []string{tlsServerName},
		NotBefore:             now.Add(-time.Minute),
		NotAfter:              now.Add(30 * 365 * 24 * time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth, x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, template, template, key.Public(), key)
	if err != nil {
		return tls.Certificate{}, err
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		return tls.Certificate{}, err
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, nil
}

// hostIdentity returns this process's TLS certificate as a host, generated
// on first use and presented to every plugin the process launches.
var hostIdentity = sync.OnceValues(func() (tls.Certificate, error) {
	return newCertificate()
})

// hostCertPEM returns the PEM encoding of cert's leaf.
func hostCertPEM(cert tls.Certificate) string {
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert.Certificate[0]}))
}

// hostTLSConfig returns the TLS configuration of one launch: it presents
// cert and trusts nothing until go-plugin, reading the plugin's handshake
// line, replaces RootCAs with a pool of the plugin's certificate (which it
// does on the configuration itself, so each launch needs its own). Until
// then RootCAs is none, an empty pool: a launch that still finds none
// there after the handshake line knows the line carried no certificate.
// traced is called when a TLS handshake has been verified.
func hostTLSConfig(cert tls.Certificate, none *x509.CertPool, traced func()) *tls.Config {
	return &tls.Config{
		Certificates:     []tls.Certificate{cert},
		RootCAs:          none,
		ServerName:       tlsServerName,
		MinVersion:       tls.VersionTLS13,
		VerifyConnection: pinnedConnection(traced),
	}
}

// pinnedConnection returns a tls.Config.VerifyConnection for the host. The
// chain check has already passed against the one certificate the plugin
// announced; this also requires the plugin to present that very
// certificate (a verified chain of length one) rather than one issued by
// it, which AutoMTLS would accept.
func pinnedConnection(traced func()) func(tls.ConnectionState) error {
	return func(cs tls.ConnectionState) error {
		if len(cs.VerifiedChains) == 0 {
			return errors.New("plugin presented no verified certificate")
		}
		for _, chain := range cs.VerifiedChains {
			if len(chain) != 1 {
				return errors.New("plugin presented a certificate other than the one its handshake announced")
			}
		}
		traced()
		return nil
	}
}

// pluginTLS prepares the plugin side of a launch: when the host sent its
// certificate (envClientCert), it generates the plugin's key and
// certificate and returns the server configuration, which accepts only a
// client presenting the host's certificate, and the handshake line's
// certificate field. With no host certificate it returns nil and "": the
// host asked for no TLS, as go-plugin's own serving would conclude. A host
// certificate that does not parse is an error.
func pluginTLS() (*tls.Config, string, error) {
	hostPEM := os.Getenv(envClientCert)
	if hostPEM == "" {
		return nil, "", nil
	}
	block, _ := pem.Decode([]byte(hostPEM))
	if block == nil || block.Type != "CERTIFICATE" {
		return nil, "", fmt.Errorf("%s holds no PEM certificate", envClientCert)
	}
	host, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		return nil, "", fmt.Errorf("%s: %v", envClientCert, err)
	}
	cert, err := newCertificate()
	if err != nil {
		return nil, "", fmt.Errorf("generating the plugin's TLS certificate: %v", err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(host)
	cfg := &tls.Config{
		Certificates: []tls.Certificate{cert},
		ClientAuth:   tls.RequireAndVerifyClientCert,
		ClientCAs:    pool,
		MinVersion:   tls.VersionTLS13,
		VerifyConnection: func(cs tls.ConnectionState) error {
			if len(cs.PeerCertificates) == 0 || !cs.PeerCertificates[0].Equal(host) {
				return errors.New("client presented a certificate other than its host's")
			}
			return nil
		},
	}
	return cfg, base64.RawStdEncoding.EncodeToString(cert.Certificate[0]), nil
}
