// Package wiretap is a TLS-terminating proxy that sits between a KMIP client (kmip-go, OpenBao's
// seal wrapper) and the server under test, and records every TTLV message that crosses it: the
// Protocol Version of each request and response header, the operation, the result, and every
// field that was on the wire.
//
// The client trusts a throw-away CA made here (CAFile); the proxy dials the real server with the
// real client certificate, one upstream connection per client connection, so connection
// patterns (OpenBao opens a new TLS connection per Encrypt/Decrypt) reach the server unchanged.
package wiretap

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/binary"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/ovh/kmip-go"
)

// Exchange is one request and its response on one connection.
type Exchange struct {
	Conn            int      `json:"conn"`
	Operation       string   `json:"operation"`
	RequestVersion  string   `json:"request_version"`
	ResponseVersion string   `json:"response_version"`
	RequestBatch    int      `json:"request_batch_count"`
	ResultStatus    string   `json:"result_status"`
	ResultReason    string   `json:"result_reason,omitempty"`
	ResultMessage   string   `json:"result_message,omitempty"`
	RequestFields   []string `json:"request_fields"`
	ResponseFields  []string `json:"response_fields"`
	// Set when the message could not be decoded, or the connection ended before a response.
	Error string `json:"error,omitempty"`

	reqRoot, respRoot *Node
	done              bool
}

// Request / Response give the decoded messages, for content checks by the caller.
func (e *Exchange) Request() *Node  { return e.reqRoot }
func (e *Exchange) Response() *Node { return e.respRoot }

// RequestPayload / ResponsePayload return the first batch item's payload.
func (e *Exchange) RequestPayload() *Node {
	return e.reqRoot.Child(kmip.TagBatchItem).Child(kmip.TagRequestPayload)
}
func (e *Exchange) ResponsePayload() *Node {
	return e.respRoot.Child(kmip.TagBatchItem).Child(kmip.TagResponsePayload)
}

// ConnInfo describes one client connection through the proxy.
type ConnInfo struct {
	ID                  int    `json:"id"`
	ClientCertPresented bool   `json:"client_cert_presented"`
	ClientTLSVersion    string `json:"client_tls_version"`
	UpstreamTLSVersion  string `json:"upstream_tls_version,omitempty"`
	UpstreamCipher      string `json:"upstream_cipher,omitempty"`
	UpstreamError       string `json:"upstream_error,omitempty"`
}

type Config struct {
	Upstream   string // host:port of the server under test
	CAFile     string // CA that signed the server's certificate
	CertFile   string // client certificate presented upstream
	KeyFile    string
	ServerName string // expected name in the server's certificate
	TempDir    string // where CAFile for the client is written
}

type Proxy struct {
	cfg      Config
	ln       net.Listener
	upstream *tls.Config
	// CAFile is the PEM file the client must trust to talk to the proxy.
	CAFile string

	mu        sync.Mutex
	exchanges []*Exchange
	conns     []*ConnInfo
	open      map[net.Conn]struct{} // client connections still being served
	wg        sync.WaitGroup
}

// Start listens on 127.0.0.1:0.
func Start(cfg Config) (*Proxy, error) {
	caPEM, err := os.ReadFile(cfg.CAFile)
	if err != nil {
		return nil, err
	}
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM(caPEM) {
		return nil, fmt.Errorf("no certificate in %s", cfg.CAFile)
	}
	clientCert, err := tls.LoadX509KeyPair(cfg.CertFile, cfg.KeyFile)
	if err != nil {
		return nil, err
	}
	serverCert, proxyCAPEM, err := selfSigned()
	if err != nil {
		return nil, err
	}
	caFile := filepath.Join(cfg.TempDir, "wiretap-ca.pem")
	if err := os.WriteFile(caFile, proxyCAPEM, 0o600); err != nil {
		return nil, err
	}
	ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{
		Certificates: []tls.Certificate{serverCert},
		ClientAuth:   tls.RequestClientCert,
		MinVersion:   tls.VersionTLS12,
	})
	if err != nil {
		return nil, err
	}
	p := &Proxy{
		cfg: cfg,
		ln:  ln,
		upstream: &tls.Config{
			RootCAs:      roots,
			Certificates: []tls.Certificate{clientCert},
			ServerName:   cfg.ServerName,
			MinVersion:   tls.VersionTLS12,
		},
		CAFile: caFile,
		open:   map[net.Conn]struct{}{},
	}
	go p.accept()
	return p, nil
}

func (p *Proxy) Addr() string { return p.ln.Addr().String() }

// Close stops listening, closes the connections a client left open, and waits for them.
func (p *Proxy) Close() {
	p.ln.Close()
	p.mu.Lock()
	for c := range p.open {
		c.Close()
	}
	p.mu.Unlock()
	p.wg.Wait()
}

// Mark returns a position in the exchange log; Since(mark) returns what came after it.
func (p *Proxy) Mark() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.exchanges)
}

// Since waits (briefly) for pending responses, then returns the exchanges recorded after mark.
func (p *Proxy) Since(mark int) []*Exchange {
	deadline := time.Now().Add(2 * time.Second)
	for {
		p.mu.Lock()
		pending := false
		for _, e := range p.exchanges[mark:] {
			if !e.done {
				pending = true
			}
		}
		if !pending || time.Now().After(deadline) {
			out := append([]*Exchange(nil), p.exchanges[mark:]...)
			p.mu.Unlock()
			return out
		}
		p.mu.Unlock()
		time.Sleep(10 * time.Millisecond)
	}
}

// Conns returns the connections seen so far.
func (p *Proxy) Conns() []ConnInfo {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make([]ConnInfo, len(p.conns))
	for i, c := range p.conns {
		out[i] = *c
	}
	return out
}

func (p *Proxy) accept() {
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.mu.Lock()
		p.open[c] = struct{}{}
		p.mu.Unlock()
		p.wg.Add(1)
		go func() {
			defer p.wg.Done()
			defer func() {
				p.mu.Lock()
				delete(p.open, c)
				p.mu.Unlock()
			}()
			p.serve(c.(*tls.Conn))
		}()
	}
}

func (p *Proxy) serve(client *tls.Conn) {
	defer client.Close()
	p.mu.Lock()
	info := &ConnInfo{ID: len(p.conns) + 1}
	p.conns = append(p.conns, info)
	p.mu.Unlock()

	if err := client.Handshake(); err != nil {
		p.setConn(info, func(i *ConnInfo) { i.UpstreamError = "client handshake: " + err.Error() })
		return
	}
	cs := client.ConnectionState()
	p.setConn(info, func(i *ConnInfo) {
		i.ClientCertPresented = len(cs.PeerCertificates) > 0
		i.ClientTLSVersion = tls.VersionName(cs.Version)
	})

	dialer := &net.Dialer{Timeout: 10 * time.Second}
	server, err := tls.DialWithDialer(dialer, "tcp", p.cfg.Upstream, p.upstream.Clone())
	if err != nil {
		p.setConn(info, func(i *ConnInfo) { i.UpstreamError = err.Error() })
		return
	}
	defer server.Close()
	ss := server.ConnectionState()
	p.setConn(info, func(i *ConnInfo) {
		i.UpstreamTLSVersion = tls.VersionName(ss.Version)
		i.UpstreamCipher = tls.CipherSuiteName(ss.CipherSuite)
	})

	var queue []*Exchange // requests on this connection still waiting for a response
	var qmu sync.Mutex
	done := make(chan struct{}, 2)

	// client -> server
	go func() {
		defer func() { done <- struct{}{} }()
		for {
			frame, err := readFrame(client)
			if err != nil {
				server.CloseWrite()
				return
			}
			ex := &Exchange{Conn: info.ID}
			ex.decodeRequest(frame)
			p.mu.Lock()
			p.exchanges = append(p.exchanges, ex)
			p.mu.Unlock()
			qmu.Lock()
			queue = append(queue, ex)
			qmu.Unlock()
			if _, err := server.Write(frame); err != nil {
				p.finish(ex, "upstream write: "+err.Error())
				return
			}
		}
	}()
	// server -> client
	go func() {
		defer func() { done <- struct{}{} }()
		for {
			frame, err := readFrame(server)
			if err != nil {
				client.CloseWrite()
				return
			}
			qmu.Lock()
			var ex *Exchange
			if len(queue) > 0 {
				ex, queue = queue[0], queue[1:]
			}
			qmu.Unlock()
			if ex == nil {
				ex = &Exchange{Conn: info.ID, Error: "response with no pending request"}
				p.mu.Lock()
				p.exchanges = append(p.exchanges, ex)
				p.mu.Unlock()
			}
			p.mu.Lock()
			ex.decodeResponse(frame)
			ex.done = true
			p.mu.Unlock()
			if _, err := client.Write(frame); err != nil {
				return
			}
		}
	}()
	<-done
	// One side ended: give the other a moment to finish its last frame, then close both.
	select {
	case <-done:
	case <-time.After(2 * time.Second):
	}
	server.Close()
	client.Close()
	qmu.Lock()
	for _, ex := range queue {
		p.finish(ex, "connection closed before a response")
	}
	qmu.Unlock()
}

func (p *Proxy) finish(ex *Exchange, why string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !ex.done {
		ex.Error = why
		ex.done = true
	}
}

func (p *Proxy) setConn(i *ConnInfo, f func(*ConnInfo)) {
	p.mu.Lock()
	defer p.mu.Unlock()
	f(i)
}

// readFrame reads one whole top-level TTLV item (8-byte header + value).
func readFrame(r io.Reader) ([]byte, error) {
	head := make([]byte, 8)
	if _, err := io.ReadFull(r, head); err != nil {
		return nil, err
	}
	n := binary.BigEndian.Uint32(head[4:8])
	if n > 64<<20 {
		return nil, errors.New("frame too large")
	}
	frame := make([]byte, 8+int(n))
	copy(frame, head)
	if _, err := io.ReadFull(r, frame[8:]); err != nil {
		return nil, err
	}
	return frame, nil
}

func (e *Exchange) decodeRequest(frame []byte) {
	root, err := ParseFrame(frame)
	if err != nil {
		e.Error = "request: " + err.Error()
		return
	}
	e.reqRoot = root
	e.RequestFields = Fields(root)
	h := root.Child(kmip.TagRequestHeader)
	e.RequestVersion = version(h)
	if bc, ok := h.Child(kmip.TagBatchCount).Uint32(); ok {
		e.RequestBatch = int(bc)
	}
	e.Operation = enumName(root.Child(kmip.TagBatchItem).Child(kmip.TagOperation))
}

func (e *Exchange) decodeResponse(frame []byte) {
	root, err := ParseFrame(frame)
	if err != nil {
		e.Error = "response: " + err.Error()
		return
	}
	e.respRoot = root
	e.ResponseFields = Fields(root)
	e.ResponseVersion = version(root.Child(kmip.TagResponseHeader))
	bi := root.Child(kmip.TagBatchItem)
	e.ResultStatus = enumName(bi.Child(kmip.TagResultStatus))
	e.ResultReason = enumName(bi.Child(kmip.TagResultReason))
	e.ResultMessage = bi.Child(kmip.TagResultMessage).Text()
}

// selfSigned makes a one-off CA and a leaf for localhost / 127.0.0.1 signed by it.
func selfSigned() (tls.Certificate, []byte, error) {
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, nil, err
	}
	now := time.Now()
	caTmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "kube-kmip interop wiretap CA"},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(24 * time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		return tls.Certificate{}, nil, err
	}
	caCert, _ := x509.ParseCertificate(caDER)
	leafKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, nil, err
	}
	leafTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(2),
		Subject:      pkix.Name{CommonName: "localhost"},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		DNSNames:     []string{"localhost"},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
	}
	leafDER, err := x509.CreateCertificate(rand.Reader, leafTmpl, caCert, &leafKey.PublicKey, caKey)
	if err != nil {
		return tls.Certificate{}, nil, err
	}
	cert := tls.Certificate{Certificate: [][]byte{leafDER}, PrivateKey: leafKey}
	return cert, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER}), nil
}
