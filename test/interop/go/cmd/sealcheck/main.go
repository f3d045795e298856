// sealcheck drives a KMIP server with OpenBao's KMIP seal wrapper
// (github.com/openbao/go-kms-wrapping/wrappers/kmip/v2, the code behind `seal "kmip"`), configured
// the way OpenBao configures it (a config map), and prints a JSON report on stdout.
//
// For each key and algorithm: SetConfig (Discover Versions + Get Attributes of the key, and of its
// linked public key for RSA), Encrypt, Decrypt; the plaintext must come back. The wrapper talks
// through the same recording TLS proxy as kmipcheck, so the report shows the protocol version of
// every request and response, and every field the wrapper sent.
//
// Keys are made beforehand (kmipcheck's create scenario):
//
//	sealcheck -server H:P -ca ca.pem -cert cert.pem -key key.pem \
//	  -aes aes256=ID -rsa rsa2048=PRIVATE:PUBLIC -rsa rsa4096=PRIVATE:PUBLIC
//
// Exit status: 0 when every non-informational step passed, 1 when one failed, 2 on a usage error.
package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"flag"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	wrapping "github.com/openbao/go-kms-wrapping/v2"
	kmipwrapper "github.com/openbao/go-kms-wrapping/wrappers/kmip/v2"
	"github.com/ovh/kmip-go"

	"kube-kmip.invalid/interop-go/internal/report"
	"kube-kmip.invalid/interop-go/internal/wiretap"
)

// The wrapper's mechanism IDs: the index of the algorithm in its `mechanisms` list.
var mechanisms = []string{"AES_GCM", "RSA_OAEP_SHA256", "RSA_OAEP_SHA384", "RSA_OAEP_SHA512"}

type keySpec struct {
	label     string
	id        string // the key configured as kms_key_id (symmetric key, or RSA private key)
	pub       string // RSA: the public key it links to
	bits      int
	algorithm []string
}

type multi []string

func (m *multi) String() string     { return strings.Join(*m, ",") }
func (m *multi) Set(s string) error { *m = append(*m, s); return nil }

type checker struct {
	server, ca, cert, key, serverName string
	timeout                           time.Duration
	proxy                             *wiretap.Proxy
	rep                               *report.Report
	blobs                             map[string]*wrapping.BlobInfo // by step name
	plaintexts                        map[string][]byte
}

func main() {
	k := &checker{blobs: map[string]*wrapping.BlobInfo{}, plaintexts: map[string][]byte{}}
	var aesKeys, rsaKeys multi
	flag.StringVar(&k.server, "server", "", "host:port of the KMIP server (required)")
	flag.StringVar(&k.ca, "ca", "", "CA certificate (PEM) of the server (required)")
	flag.StringVar(&k.cert, "cert", "", "client certificate (PEM) (required)")
	flag.StringVar(&k.key, "key", "", "client private key (PEM) (required)")
	flag.StringVar(&k.serverName, "server-name", "localhost", "server_name given to the wrapper")
	flag.Var(&aesKeys, "aes", "LABEL=ID of an active AES-256 key (Encrypt|Decrypt); repeatable")
	flag.Var(&rsaKeys, "rsa", "LABEL=PRIVATE_ID:PUBLIC_ID of an active RSA key pair; repeatable")
	flag.DurationVar(&k.timeout, "timeout", 60*time.Second, "timeout of each wrapper call")
	flag.Parse()
	if k.server == "" || k.ca == "" || k.cert == "" || k.key == "" || len(aesKeys)+len(rsaKeys) == 0 {
		flag.Usage()
		os.Exit(2)
	}
	var specs []keySpec
	for _, a := range aesKeys {
		label, id, ok := strings.Cut(a, "=")
		if !ok || id == "" {
			fatal(fmt.Errorf("-aes %q: want LABEL=ID", a))
		}
		specs = append(specs, keySpec{label: label, id: id, algorithm: []string{"AES_GCM"}})
	}
	for _, a := range rsaKeys {
		label, ids, ok := strings.Cut(a, "=")
		priv, pub, ok2 := strings.Cut(ids, ":")
		if !ok || !ok2 || priv == "" || pub == "" {
			fatal(fmt.Errorf("-rsa %q: want LABEL=PRIVATE_ID:PUBLIC_ID", a))
		}
		bits, _ := strconv.Atoi(strings.TrimLeft(label, "rsa"))
		specs = append(specs, keySpec{label: label, id: priv, pub: pub, bits: bits,
			algorithm: []string{"RSA_OAEP_SHA256", "RSA_OAEP_SHA384", "RSA_OAEP_SHA512"}})
	}

	tmp, err := os.MkdirTemp("", "sealcheck-")
	if err != nil {
		fatal(err)
	}
	defer os.RemoveAll(tmp)
	k.proxy, err = wiretap.Start(wiretap.Config{Upstream: k.server, CAFile: k.ca, CertFile: k.cert, KeyFile: k.key, ServerName: k.serverName, TempDir: tmp})
	if err != nil {
		fatal(fmt.Errorf("starting the proxy: %w", err))
	}
	k.rep = report.New("sealcheck", k.server)
	k.rep.Proxy = k.proxy.Addr()

	var firstAES, firstRSA *keySpec
	for i := range specs {
		sp := &specs[i]
		for _, alg := range sp.algorithm {
			k.roundTrip(sp, alg)
		}
		if sp.pub == "" && firstAES == nil {
			firstAES = sp
		}
		if sp.pub != "" && firstRSA == nil {
			firstRSA = sp
		}
	}
	if firstAES != nil && firstRSA != nil {
		k.mechanismSwitch(firstAES, firstRSA)
	}
	k.proxy.Close()
	k.rep.Conns = k.proxy.Conns()
	os.Exit(k.rep.Finish())
}

func fatal(err error) {
	fmt.Fprintln(os.Stderr, "sealcheck:", err)
	os.Exit(2)
}

// newWrapper configures a wrapper as OpenBao's `seal "kmip" { ... }` stanza does: every setting
// in the config map. Environment variables are not consulted (WithDisallowEnvVars).
func (k *checker) newWrapper(ctx context.Context, keyID, alg string) (*kmipwrapper.Wrapper, *wrapping.WrapperConfig, error) {
	w := kmipwrapper.NewWrapper()
	cfg, err := w.SetConfig(ctx,
		wrapping.WithDisallowEnvVars(true),
		wrapping.WithConfigMap(map[string]string{
			"kms_key_id":  keyID,
			"endpoint":    k.proxy.Addr(),
			"ca_cert":     k.proxy.CAFile,
			"client_cert": k.cert,
			"client_key":  k.key,
			"server_name": k.serverName,
			"encrypt_alg": alg,
			"timeout":     strconv.Itoa(int(k.timeout / time.Second)),
		}))
	return w, cfg, err
}

type phase struct {
	Name  string `json:"name"`
	First int    `json:"first"` // index of the phase's first exchange in the step
	Count int    `json:"count"`
}

func (k *checker) roundTrip(sp *keySpec, alg string) {
	name := fmt.Sprintf("seal-%s-%s", alg, sp.label)
	s := k.rep.Begin(name)
	mark := k.proxy.Mark()
	var phases []phase
	begin := func(n string) {
		if len(phases) > 0 {
			phases[len(phases)-1].Count = k.proxy.Mark() - mark - phases[len(phases)-1].First
		}
		if n != "" {
			phases = append(phases, phase{Name: n, First: k.proxy.Mark() - mark})
		}
	}
	err := func() error {
		ctx, cancel := context.WithTimeout(context.Background(), 3*k.timeout)
		defer cancel()
		begin("set_config")
		w, cfg, err := k.newWrapper(ctx, sp.id, alg)
		if err != nil {
			return fmt.Errorf("SetConfig: %w", err)
		}
		s.Details["metadata"] = cfg.Metadata
		s.Check("kmip-version", cfg.Metadata["kmip_version"] == "1.4", "the wrapper negotiated %q", cfg.Metadata["kmip_version"])
		if sp.pub != "" {
			s.Check("public-key-link", cfg.Metadata["kms_public_key_id"] == sp.pub,
				"the wrapper found public key %q through the Link attribute, want %q", cfg.Metadata["kms_public_key_id"], sp.pub)
		}

		pt := make([]byte, 32)
		rand.Read(pt)
		begin("encrypt")
		blob, err := w.Encrypt(ctx, pt)
		if err != nil {
			return fmt.Errorf("Encrypt: %w", err)
		}
		k.blobs[name] = blob
		k.plaintexts[name] = pt
		s.Details["ciphertext_len"] = len(blob.Ciphertext)
		s.Details["iv_len"] = len(blob.Iv)
		mech := slices.Index(mechanisms, alg)
		s.Check("blob-key", blob.KeyInfo != nil && blob.KeyInfo.KeyId == sp.id && blob.KeyInfo.Mechanism == uint64(mech),
			"blob key info %+v, want key %q mechanism %d", blob.KeyInfo, sp.id, mech)
		if sp.pub == "" {
			s.Check("blob-iv", len(blob.Iv) == 12, "IV of %d bytes", len(blob.Iv))
			s.Check("blob-ciphertext", len(blob.Ciphertext) == len(pt)+16, "ciphertext of %d bytes for %d of plaintext (want Data || 16-byte tag)", len(blob.Ciphertext), len(pt))
		} else {
			s.Check("blob-iv", len(blob.Iv) == 0, "IV of %d bytes", len(blob.Iv))
			if sp.bits > 0 {
				s.Check("blob-ciphertext", len(blob.Ciphertext) == sp.bits/8, "ciphertext of %d bytes, want %d", len(blob.Ciphertext), sp.bits/8)
			}
		}

		begin("decrypt")
		got, err := w.Decrypt(ctx, blob)
		if err != nil {
			return fmt.Errorf("Decrypt: %w", err)
		}
		s.Check("round-trip", bytes.Equal(got, pt), "decrypted %d bytes, equal to the plaintext: %t", len(got), bytes.Equal(got, pt))
		return nil
	}()
	begin("")
	s.Exchanges = k.proxy.Since(mark)
	s.Details["phases"] = phases
	if err != nil {
		s.Fail("%v", err)
	}
	if s.OK {
		k.checkConnections(s, sp, phases)
	}
}

// checkConnections: Encrypt and Decrypt each open a new TLS connection (the wrapper clones its
// cached client), and Encrypt with RSA goes to the linked public key.
func (k *checker) checkConnections(s *report.Step, sp *keySpec, phases []phase) {
	conns := map[string]int{}
	for _, p := range phases {
		if p.Count > 0 {
			conns[p.Name] = s.Exchanges[p.First].Conn
		}
	}
	s.Check("new-connection-per-call", conns["set_config"] != conns["encrypt"] && conns["encrypt"] != conns["decrypt"] && conns["encrypt"] != 0,
		"connections: set_config %d, encrypt %d, decrypt %d", conns["set_config"], conns["encrypt"], conns["decrypt"])
	for _, ex := range s.Exchanges {
		if ex.Operation != "Encrypt" && ex.Operation != "Decrypt" {
			continue
		}
		want := sp.id
		if ex.Operation == "Encrypt" && sp.pub != "" {
			want = sp.pub
		}
		got := ex.RequestPayload().Child(kmip.TagUniqueIdentifier).Text()
		s.Check(strings.ToLower(ex.Operation)+"-key", got == want, "%s sent to %q, want %q", ex.Operation, got, want)
	}
}

// mechanismSwitch: OpenBao keeps blobs made under an earlier seal configuration; after switching
// encrypt_alg from AES_GCM to RSA_OAEP_SHA256 the wrapper must still decrypt an AES_GCM blob with
// the old key. The wrapper takes the tag length from its *current* algorithm (0 for RSA), so even
// at 1.4 it sends Data = ciphertext || tag and no Authenticated Encryption Tag: the server has to
// take the tag from the end of Data (Tag Length 16 is in the Cryptographic Parameters).
func (k *checker) mechanismSwitch(aesSpec, rsaSpec *keySpec) {
	s := k.rep.Begin("seal-mechanism-switch")
	mark := k.proxy.Mark()
	err := func() error {
		src := fmt.Sprintf("seal-AES_GCM-%s", aesSpec.label)
		blob := k.blobs[src]
		if blob == nil {
			return errors.New("no AES_GCM blob (its step failed)")
		}
		ctx, cancel := context.WithTimeout(context.Background(), 2*k.timeout)
		defer cancel()
		w, _, err := k.newWrapper(ctx, rsaSpec.id, "RSA_OAEP_SHA256")
		if err != nil {
			return fmt.Errorf("SetConfig: %w", err)
		}
		got, err := w.Decrypt(ctx, blob)
		if err != nil {
			return fmt.Errorf("Decrypt of the AES_GCM blob by a wrapper now set to RSA_OAEP_SHA256: %w", err)
		}
		s.Check("round-trip", bytes.Equal(got, k.plaintexts[src]), "decrypted %d bytes", len(got))
		return nil
	}()
	s.Exchanges = k.proxy.Since(mark)
	if err != nil {
		s.Fail("%v", err)
	}
}
