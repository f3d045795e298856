// kmipcheck drives a KMIP server with github.com/ovh/kmip-go's kmipclient (the client library
// behind OpenBao's KMIP seal and okms-cli) and prints a JSON report on stdout.
//
// Every call goes through an in-process TLS proxy (internal/wiretap) that records the Protocol
// Version of each request and response header and every field on the wire; the report lists
// them per step. Scenarios:
//
//	negotiate   Discover Versions sent with a 1.1 header, listing 1.4, 1.3, 1.2 (as OpenBao does),
//	            and with kmip-go's default list (1.4 .. 1.0); the client must then use 1.4
//	create      Create AES-256 + Activate; Create Key Pair RSA-2048 and RSA-4096 + Activate both
//	attributes  Get Attributes (Object Type, Cryptographic Algorithm, Cryptographic Usage Mask,
//	            Link) of each key, as OpenBao's seal does at start-up
//	material    Get of the AES key and of the RSA public keys (for the local checks below)
//	gcm         Encrypt/Decrypt AES-GCM (client IV of 12 bytes, tag 16) at each -gcm-versions
//	            version, forced per connection; the ciphertext is checked locally, and a tampered
//	            tag must be refused
//	oaep        RSA-OAEP SHA-256/384/512 with the public key, decrypted with the private key, at
//	            each -oaep-versions version; plus a locally made OAEP ciphertext the server must
//	            decrypt
//	direct      the same negotiation straight to the server (no proxy), over its real TLS
//
// Exit status: 0 when every non-informational step passed, 1 when one failed (the report is
// printed either way), 2 on a usage or set-up error.
package main

import (
	"bytes"
	"context"
	"crypto"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/rsa"
	_ "crypto/sha256"
	_ "crypto/sha512"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/ovh/kmip-go"
	"github.com/ovh/kmip-go/kmipclient"
	"github.com/ovh/kmip-go/ttlv"

	"kube-kmip.invalid/interop-go/internal/report"
	"kube-kmip.invalid/interop-go/internal/wiretap"
)

// The cryptographic parameters OpenBao's KMIP wrapper sends (go-kms-wrapping/wrappers/kmip
// cryptoParamsPreset), copied field for field.
var (
	paramsAESGCM = kmip.CryptographicParameters{
		CryptographicAlgorithm: kmip.CryptographicAlgorithmAES,
		BlockCipherMode:        kmip.BlockCipherModeGCM,
		TagLength:              16,
		IVLength:               12,
	}
	oaepHashes = []struct {
		label string
		kmip  kmip.HashingAlgorithm
		go_   crypto.Hash
	}{
		{"sha256", kmip.HashingAlgorithmSHA_256, crypto.SHA256},
		{"sha384", kmip.HashingAlgorithmSHA_384, crypto.SHA384},
		{"sha512", kmip.HashingAlgorithmSHA_512, crypto.SHA512},
	}
)

func paramsOAEP(h kmip.HashingAlgorithm) kmip.CryptographicParameters {
	return kmip.CryptographicParameters{
		CryptographicAlgorithm:        kmip.CryptographicAlgorithmRSA,
		PaddingMethod:                 kmip.PaddingMethodOAEP,
		HashingAlgorithm:              h,
		MaskGenerator:                 kmip.MaskGeneratorMGF1,
		MaskGeneratorHashingAlgorithm: h,
	}
}

var versionsByName = map[string]kmip.ProtocolVersion{
	"1.0": kmip.V1_0, "1.1": kmip.V1_1, "1.2": kmip.V1_2, "1.3": kmip.V1_3, "1.4": kmip.V1_4,
}

var rsaSizes = []int{2048, 4096}

type keyPair struct{ priv, pub string }

type checker struct {
	server, ca, cert, key, serverName string
	timeout                           time.Duration

	proxy *wiretap.Proxy
	rep   *report.Report
	main  *kmipclient.Client // negotiated like OpenBao; reused by create/attributes/material

	aesID  string
	rsa    map[int]keyPair
	aesKey []byte
	rsaPub map[int]*rsa.PublicKey
}

func main() {
	k := &checker{rsa: map[int]keyPair{}, rsaPub: map[int]*rsa.PublicKey{}}
	flag.StringVar(&k.server, "server", "", "host:port of the KMIP server (required)")
	flag.StringVar(&k.ca, "ca", "", "CA certificate (PEM) of the server (required)")
	flag.StringVar(&k.cert, "cert", "", "client certificate (PEM) (required)")
	flag.StringVar(&k.key, "key", "", "client private key (PEM) (required)")
	flag.StringVar(&k.serverName, "server-name", "localhost", "name to verify in the server's certificate")
	scenarios := flag.String("scenarios", "negotiate,create,attributes,material,gcm,oaep,direct", "comma-separated scenarios to run, in this order")
	gcmVersions := flag.String("gcm-versions", "1.2,1.3,1.4", "versions to force for the AES-GCM scenario")
	oaepVersions := flag.String("oaep-versions", "1.4,1.2", "versions to force for the RSA-OAEP scenario (RSA-4096 runs at 1.4 only)")
	flag.DurationVar(&k.timeout, "timeout", 60*time.Second, "timeout of each KMIP call")
	flag.Parse()
	if k.server == "" || k.ca == "" || k.cert == "" || k.key == "" {
		flag.Usage()
		os.Exit(2)
	}
	gv, err := parseVersions(*gcmVersions)
	if err != nil {
		fatal(err)
	}
	ov, err := parseVersions(*oaepVersions)
	if err != nil {
		fatal(err)
	}

	tmp, err := os.MkdirTemp("", "kmipcheck-")
	if err != nil {
		fatal(err)
	}
	defer os.RemoveAll(tmp)
	k.proxy, err = wiretap.Start(wiretap.Config{Upstream: k.server, CAFile: k.ca, CertFile: k.cert, KeyFile: k.key, ServerName: k.serverName, TempDir: tmp})
	if err != nil {
		fatal(fmt.Errorf("starting the proxy: %w", err))
	}
	k.rep = report.New("kmipcheck", k.server)
	k.rep.Proxy = k.proxy.Addr()

	for _, sc := range strings.Split(*scenarios, ",") {
		switch strings.TrimSpace(sc) {
		case "negotiate":
			k.negotiate()
		case "create":
			k.create()
		case "attributes":
			k.attributes()
		case "material":
			k.material()
		case "gcm":
			for _, v := range gv {
				k.gcm(v)
			}
		case "oaep":
			for _, v := range ov {
				for _, bits := range rsaSizes {
					if bits != 2048 && v != kmip.V1_4 {
						continue
					}
					for _, h := range oaepHashes {
						k.oaep(v, bits, h.label, h.kmip, h.go_)
					}
				}
			}
		case "direct":
			k.direct()
		case "":
		default:
			fatal(fmt.Errorf("unknown scenario %q", sc))
		}
	}
	if k.main != nil {
		k.main.Close()
	}
	k.proxy.Close()
	k.rep.Keys["aes256"] = k.aesID
	for bits, kp := range k.rsa {
		k.rep.Keys[fmt.Sprintf("rsa%d_private", bits)] = kp.priv
		k.rep.Keys[fmt.Sprintf("rsa%d_public", bits)] = kp.pub
	}
	k.rep.Conns = k.proxy.Conns()
	os.Exit(k.rep.Finish())
}

func fatal(err error) {
	fmt.Fprintln(os.Stderr, "kmipcheck:", err)
	os.Exit(2)
}

func parseVersions(s string) ([]kmip.ProtocolVersion, error) {
	var out []kmip.ProtocolVersion
	for _, p := range strings.Split(s, ",") {
		p = strings.TrimSpace(p)
		if p == "" {
			continue
		}
		v, ok := versionsByName[p]
		if !ok {
			return nil, fmt.Errorf("unknown KMIP version %q", p)
		}
		out = append(out, v)
	}
	return out, nil
}

// step runs fn as one report step, collecting the exchanges the proxy saw meanwhile.
type stepRun struct {
	*report.Step
	k    *checker
	mark int
	// Exchanges recorded another way (direct connections, seen by a kmip-go middleware).
	extra []*wiretap.Exchange
}

// exchange returns the last exchange of this operation recorded so far in the step.
func (r *stepRun) exchange(op string) *wiretap.Exchange {
	ex := r.k.proxy.Since(r.mark)
	for i := len(ex) - 1; i >= 0; i-- {
		if ex[i].Operation == op {
			return ex[i]
		}
	}
	return nil
}

func (k *checker) step(name string, fn func(r *stepRun) error) *report.Step {
	s := k.rep.Begin(name)
	r := &stepRun{Step: s, k: k, mark: k.proxy.Mark()}
	err := func() (err error) {
		defer func() {
			if p := recover(); p != nil {
				err = fmt.Errorf("panic: %v", p)
			}
		}()
		return fn(r)
	}()
	s.Exchanges = append(k.proxy.Since(r.mark), r.extra...)
	if err != nil {
		s.Fail("%v", err)
	}
	return s
}

func (k *checker) ctx() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), k.timeout)
}

// dial connects through the proxy.
func (k *checker) dial(opts ...kmipclient.Option) (*kmipclient.Client, error) {
	ctx, cancel := k.ctx()
	defer cancel()
	base := []kmipclient.Option{
		kmipclient.WithRootCAFile(k.proxy.CAFile),
		kmipclient.WithClientCertFiles(k.cert, k.key),
		kmipclient.WithServerName(k.serverName),
	}
	return kmipclient.DialContext(ctx, k.proxy.Addr(), append(base, opts...)...)
}

// openbaoVersions is what OpenBao's wrapper passes to kmipclient.WithKmipVersions.
var openbaoVersions = kmipclient.WithKmipVersions(kmip.V1_2, kmip.V1_3, kmip.V1_4)

func (k *checker) mainClient() (*kmipclient.Client, error) {
	if k.main != nil {
		return k.main, nil
	}
	c, err := k.dial(openbaoVersions)
	if err != nil {
		return nil, fmt.Errorf("dial (negotiating 1.4/1.3/1.2): %w", err)
	}
	k.main = c
	return c, nil
}

func versionStrings(vs []kmip.ProtocolVersion) []string {
	out := make([]string, len(vs))
	for i, v := range vs {
		out[i] = v.String()
	}
	return out
}

// ---------------------------------------------------------------------------------------------
// negotiate

func (k *checker) negotiate() {
	k.step("negotiate-openbao", func(r *stepRun) error {
		c, err := k.mainClient()
		if err != nil {
			return err
		}
		ex := r.exchange("DiscoverVersions")
		if !r.Check("discover-sent", ex != nil, "a Discover Versions request went out") {
			return nil
		}
		offered := wiretap.Versions(ex.RequestPayload())
		answered := wiretap.Versions(ex.ResponsePayload())
		r.Details["offered"] = offered
		r.Details["answered"] = answered
		r.Details["client_version"] = c.Version().String()
		r.Check("offered", slices.Equal(offered, []string{"1.4", "1.3", "1.2"}), "kmip-go offered %v", offered)
		r.Check("answered-intersection", slices.Equal(answered, []string{"1.4", "1.3", "1.2"}), "server answered %v, want the intersection newest first [1.4 1.3 1.2]", answered)
		r.Check("client-uses-1.4", c.Version() == kmip.V1_4, "client settled on %s", c.Version())
		return nil
	})
	k.step("negotiate-default", func(r *stepRun) error {
		c, err := k.dial()
		if err != nil {
			return fmt.Errorf("dial (kmip-go default versions): %w", err)
		}
		defer c.Close()
		ex := r.exchange("DiscoverVersions")
		if !r.Check("discover-sent", ex != nil, "a Discover Versions request went out") {
			return nil
		}
		offered := wiretap.Versions(ex.RequestPayload())
		answered := wiretap.Versions(ex.ResponsePayload())
		r.Details["offered"] = offered
		r.Details["answered"] = answered
		r.Details["client_version"] = c.Version().String()
		want := []string{"1.4", "1.3", "1.2", "1.1", "1.0"}
		r.Check("offered", slices.Equal(offered, want), "kmip-go offered %v", offered)
		r.Check("answered-intersection", slices.Equal(answered, want), "server answered %v, want %v", answered, want)
		r.Check("client-uses-1.4", c.Version() == kmip.V1_4, "client settled on %s", c.Version())
		// One more call on the negotiated connection: it must carry 1.4.
		ctx, cancel := k.ctx()
		defer cancel()
		if _, err := c.Query().Operations().ExecContext(ctx); err != nil {
			return fmt.Errorf("query after negotiation: %w", err)
		}
		return nil
	})
}

// ---------------------------------------------------------------------------------------------
// create

func randName(prefix string) string {
	b := make([]byte, 4)
	rand.Read(b)
	return prefix + "-" + hex.EncodeToString(b)
}

func (k *checker) create() {
	k.step("create-aes256", func(r *stepRun) error {
		c, err := k.mainClient()
		if err != nil {
			return err
		}
		ctx, cancel := k.ctx()
		defer cancel()
		resp, err := c.Create().AES(256, kmip.CryptographicUsageEncrypt|kmip.CryptographicUsageDecrypt).
			WithName(randName("kmipcheck-aes256")).ExecContext(ctx)
		if err != nil {
			return fmt.Errorf("create: %w", err)
		}
		r.Details["id"] = resp.UniqueIdentifier
		r.Check("object-type", resp.ObjectType == kmip.ObjectTypeSymmetricKey, "created %s", ttlv.EnumStr(resp.ObjectType))
		if _, err := c.Activate(resp.UniqueIdentifier).ExecContext(ctx); err != nil {
			return fmt.Errorf("activate: %w", err)
		}
		k.aesID = resp.UniqueIdentifier
		return nil
	})
	for _, bits := range rsaSizes {
		k.step(fmt.Sprintf("create-rsa%d", bits), func(r *stepRun) error {
			c, err := k.mainClient()
			if err != nil {
				return err
			}
			ctx, cancel := k.ctx()
			defer cancel()
			name := randName(fmt.Sprintf("kmipcheck-rsa%d", bits))
			resp, err := c.CreateKeyPair().
				RSA(bits, kmip.CryptographicUsageDecrypt, kmip.CryptographicUsageEncrypt).
				PrivateKey().WithName(name + "-private").
				PublicKey().WithName(name + "-public").
				ExecContext(ctx)
			if err != nil {
				return fmt.Errorf("create key pair: %w", err)
			}
			r.Details["private_id"] = resp.PrivateKeyUniqueIdentifier
			r.Details["public_id"] = resp.PublicKeyUniqueIdentifier
			if !r.Check("ids", resp.PrivateKeyUniqueIdentifier != "" && resp.PublicKeyUniqueIdentifier != "" &&
				resp.PrivateKeyUniqueIdentifier != resp.PublicKeyUniqueIdentifier, "private %q, public %q", resp.PrivateKeyUniqueIdentifier, resp.PublicKeyUniqueIdentifier) {
				return nil
			}
			if _, err := c.Activate(resp.PrivateKeyUniqueIdentifier).ExecContext(ctx); err != nil {
				return fmt.Errorf("activate private key: %w", err)
			}
			if _, err := c.Activate(resp.PublicKeyUniqueIdentifier).ExecContext(ctx); err != nil {
				return fmt.Errorf("activate public key: %w", err)
			}
			k.rsa[bits] = keyPair{priv: resp.PrivateKeyUniqueIdentifier, pub: resp.PublicKeyUniqueIdentifier}
			return nil
		})
	}
}

// ---------------------------------------------------------------------------------------------
// attributes

func (k *checker) attributes() {
	type target struct {
		label    string
		id       string
		otype    kmip.ObjectType
		alg      kmip.CryptographicAlgorithm
		mustMask kmip.CryptographicUsageMask
		linkType kmip.LinkType
		linkTo   string
	}
	targets := []target{{"aes256", k.aesID, kmip.ObjectTypeSymmetricKey, kmip.CryptographicAlgorithmAES,
		kmip.CryptographicUsageEncrypt | kmip.CryptographicUsageDecrypt, 0, ""}}
	for _, bits := range rsaSizes {
		kp := k.rsa[bits]
		targets = append(targets,
			target{fmt.Sprintf("rsa%d-private", bits), kp.priv, kmip.ObjectTypePrivateKey, kmip.CryptographicAlgorithmRSA,
				kmip.CryptographicUsageDecrypt, kmip.LinkTypePublicKeyLink, kp.pub},
			target{fmt.Sprintf("rsa%d-public", bits), kp.pub, kmip.ObjectTypePublicKey, kmip.CryptographicAlgorithmRSA,
				kmip.CryptographicUsageEncrypt, kmip.LinkTypePrivateKeyLink, kp.priv})
	}
	for _, tg := range targets {
		k.step("get-attributes-"+tg.label, func(r *stepRun) error {
			if tg.id == "" {
				return errors.New("no key: the create scenario did not make it")
			}
			c, err := k.mainClient()
			if err != nil {
				return err
			}
			ctx, cancel := k.ctx()
			defer cancel()
			// Exactly OpenBao's call (verifyKeyAttributes).
			resp, err := c.GetAttributes(tg.id,
				kmip.AttributeNameObjectType,
				kmip.AttributeNameCryptographicAlgorithm,
				kmip.AttributeNameCryptographicUsageMask,
				kmip.AttributeNameLink,
			).ExecContext(ctx)
			if err != nil {
				return fmt.Errorf("get attributes: %w", err)
			}
			var (
				gotType  *kmip.ObjectType
				gotAlg   *kmip.CryptographicAlgorithm
				gotMask  *kmip.CryptographicUsageMask
				links    []kmip.Link
				attrSeen []string
			)
			for _, a := range resp.Attribute {
				attrSeen = append(attrSeen, string(a.AttributeName))
				switch v := a.AttributeValue.(type) {
				case kmip.ObjectType:
					gotType = &v
				case kmip.CryptographicAlgorithm:
					gotAlg = &v
				case kmip.CryptographicUsageMask:
					gotMask = &v
				case kmip.Link:
					links = append(links, v)
				}
			}
			r.Details["attributes"] = attrSeen
			linkStrs := []string{}
			for _, l := range links {
				linkStrs = append(linkStrs, ttlv.EnumStr(l.LinkType)+"->"+l.LinkedObjectIdentifier)
			}
			r.Details["links"] = linkStrs
			r.Check("unique-identifier", resp.UniqueIdentifier == tg.id, "response for %q", resp.UniqueIdentifier)
			r.Check("object-type", gotType != nil && *gotType == tg.otype, "got %v, want %s", enumPtr(gotType), ttlv.EnumStr(tg.otype))
			r.Check("algorithm", gotAlg != nil && *gotAlg == tg.alg, "got %v, want %s", enumPtr(gotAlg), ttlv.EnumStr(tg.alg))
			if gotMask != nil {
				r.Details["usage_mask"] = ttlv.BitmaskStr(*gotMask, "|")
			}
			r.Check("usage-mask", gotMask != nil && *gotMask&tg.mustMask == tg.mustMask, "got %v, must include %s",
				r.Details["usage_mask"], ttlv.BitmaskStr(tg.mustMask, "|"))
			if tg.linkTo != "" {
				ok := slices.ContainsFunc(links, func(l kmip.Link) bool { return l.LinkType == tg.linkType && l.LinkedObjectIdentifier == tg.linkTo })
				r.Check("link", ok, "links %v, want %s->%s", linkStrs, ttlv.EnumStr(tg.linkType), tg.linkTo)
			}
			return nil
		})
	}
}

func enumPtr[T ~uint32](p *T) string {
	if p == nil {
		return "none"
	}
	return ttlv.EnumStr(*p)
}

// ---------------------------------------------------------------------------------------------
// material

func (k *checker) material() {
	k.step("get-aes256", func(r *stepRun) error {
		if k.aesID == "" {
			return errors.New("no key: the create scenario did not make it")
		}
		c, err := k.mainClient()
		if err != nil {
			return err
		}
		ctx, cancel := k.ctx()
		defer cancel()
		resp, err := c.Get(k.aesID).ExecContext(ctx)
		if err != nil {
			return fmt.Errorf("get: %w", err)
		}
		sk, ok := resp.Object.(*kmip.SymmetricKey)
		if !r.Check("object", ok, "got %T", resp.Object) {
			return nil
		}
		r.Details["key_format"] = ttlv.EnumStr(sk.KeyBlock.KeyFormatType)
		key, err := sk.KeyMaterial()
		if err != nil {
			return fmt.Errorf("key material: %w", err)
		}
		if r.Check("length", len(key) == 32, "%d bytes", len(key)) {
			k.aesKey = key
		}
		return nil
	})
	for _, bits := range rsaSizes {
		k.step(fmt.Sprintf("get-rsa%d-public", bits), func(r *stepRun) error {
			id := k.rsa[bits].pub
			if id == "" {
				return errors.New("no key: the create scenario did not make it")
			}
			c, err := k.mainClient()
			if err != nil {
				return err
			}
			ctx, cancel := k.ctx()
			defer cancel()
			resp, err := c.Get(id).ExecContext(ctx)
			if err != nil {
				return fmt.Errorf("get: %w", err)
			}
			pk, ok := resp.Object.(*kmip.PublicKey)
			if !r.Check("object", ok, "got %T", resp.Object) {
				return nil
			}
			r.Details["key_format"] = ttlv.EnumStr(pk.KeyBlock.KeyFormatType)
			pub, err := pk.RSA()
			if err != nil {
				return fmt.Errorf("parse public key: %w", err)
			}
			if r.Check("modulus", pub.N.BitLen() == bits, "%d bits", pub.N.BitLen()) {
				k.rsaPub[bits] = pub
			}
			return nil
		})
	}
}

// ---------------------------------------------------------------------------------------------
// AES-GCM

func (k *checker) gcm(v kmip.ProtocolVersion) {
	s := k.step("aes-gcm@"+v.String(), func(r *stepRun) error {
		if k.aesID == "" {
			return errors.New("no key: the create scenario did not make it")
		}
		c, err := k.dial(kmipclient.EnforceVersion(v))
		if err != nil {
			return fmt.Errorf("dial at %s: %w", v, err)
		}
		defer c.Close()
		ctx, cancel := k.ctx()
		defer cancel()
		iv := make([]byte, 12)
		rand.Read(iv)
		pt := make([]byte, 45) // not a multiple of the block size
		rand.Read(pt)
		r.Details["iv"] = hex.EncodeToString(iv)
		r.Details["plaintext_len"] = len(pt)
		at14 := ttlv.CompareVersions(v, kmip.V1_4) >= 0

		enc, err := c.Encrypt(k.aesID).WithIvCounterNonce(iv).WithCryptographicParameters(paramsAESGCM).Data(pt).ExecContext(ctx)
		if err != nil {
			return fmt.Errorf("encrypt: %w", err)
		}
		r.Details["encrypt_data_len"] = len(enc.Data)
		r.Details["encrypt_tag_len"] = len(enc.AuthenticatedEncryptionTag)
		exEnc := r.exchange("Encrypt")
		tagOnWire := exEnc != nil && wiretap.HasPath(exEnc.ResponseFields, "ResponseMessage/BatchItem/ResponsePayload/AuthenticatedEncryptionTag")
		r.Details["encrypt_response_has_tag_field"] = tagOnWire
		var ct, tag []byte
		if at14 {
			r.Check("tag-field", tagOnWire && len(enc.AuthenticatedEncryptionTag) == 16,
				"at %s the 16-byte tag travels in Authenticated Encryption Tag (field on the wire: %t, %d bytes)", v, tagOnWire, len(enc.AuthenticatedEncryptionTag))
			r.Check("data-length", len(enc.Data) == len(pt), "Data is %d bytes for %d of plaintext (the tag must not be appended too)", len(enc.Data), len(pt))
			ct, tag = enc.Data, enc.AuthenticatedEncryptionTag
		} else {
			r.Check("no-tag-field", !tagOnWire, "Authenticated Encryption Tag does not exist before 1.4 and must not be sent at %s", v)
			r.Check("data-length", len(enc.Data) == len(pt)+16, "Data is %d bytes for %d of plaintext (want plaintext + 16-byte tag)", len(enc.Data), len(pt))
			if len(enc.Data) >= 16 {
				ct, tag = enc.Data[:len(enc.Data)-16], enc.Data[len(enc.Data)-16:]
			}
		}
		if len(enc.IVCounterNonce) > 0 {
			r.Check("iv-echo", bytes.Equal(enc.IVCounterNonce, iv), "the response's IV/Counter/Nonce %x is not the client's", enc.IVCounterNonce)
		}
		if k.aesKey != nil && ct != nil {
			block, _ := aes.NewCipher(k.aesKey)
			g, _ := cipher.NewGCM(block)
			want := g.Seal(nil, iv, pt, nil)
			got := append(append([]byte{}, ct...), tag...)
			r.Check("local-gcm", bytes.Equal(got, want), "ciphertext||tag matches AES-256-GCM(key, client IV, no AAD) computed locally")
		}
		if !r.OK {
			return nil
		}

		// Decrypt on a new connection, as OpenBao does (Clone skips negotiation).
		d, err := c.CloneCtx(ctx)
		if err != nil {
			return fmt.Errorf("second connection: %w", err)
		}
		defer d.Close()
		req := d.Decrypt(k.aesID).WithIvCounterNonce(iv).WithCryptographicParameters(paramsAESGCM)
		var data []byte
		if at14 {
			req = req.WithAuthTag(tag)
			data = ct
		} else {
			data = append(append([]byte{}, ct...), tag...)
		}
		dec, err := req.Data(data).ExecContext(ctx)
		if err != nil {
			return fmt.Errorf("decrypt: %w", err)
		}
		r.Check("round-trip", bytes.Equal(dec.Data, pt), "decrypted %d bytes, equal to the plaintext: %t", len(dec.Data), bytes.Equal(dec.Data, pt))

		// A tampered tag must be refused.
		bad := append([]byte{}, tag...)
		bad[len(bad)-1] ^= 0x01
		req = d.Decrypt(k.aesID).WithIvCounterNonce(iv).WithCryptographicParameters(paramsAESGCM)
		if at14 {
			req = req.WithAuthTag(bad)
			data = ct
		} else {
			data = append(append([]byte{}, ct...), bad...)
		}
		_, err = req.Data(data).ExecContext(ctx)
		ex := r.exchange("Decrypt")
		reason := ""
		if ex != nil {
			reason = ex.ResultStatus + "/" + ex.ResultReason
		}
		r.Details["tampered_result"] = reason
		r.Check("tampered-tag-refused", err != nil && ex != nil && ex.ResultStatus == "OperationFailed",
			"Decrypt with a flipped tag bit answered %s", reason)
		return nil
	})
	s.ForcedVersion = v.String()
}

// ---------------------------------------------------------------------------------------------
// RSA-OAEP

func (k *checker) oaep(v kmip.ProtocolVersion, bits int, label string, h kmip.HashingAlgorithm, gh crypto.Hash) {
	s := k.step(fmt.Sprintf("rsa%d-oaep-%s@%s", bits, label, v), func(r *stepRun) error {
		kp := k.rsa[bits]
		if kp.priv == "" {
			return errors.New("no key: the create scenario did not make it")
		}
		c, err := k.dial(kmipclient.EnforceVersion(v))
		if err != nil {
			return fmt.Errorf("dial at %s: %w", v, err)
		}
		defer c.Close()
		ctx, cancel := k.ctx()
		defer cancel()
		params := paramsOAEP(h)
		pt := make([]byte, 32)
		rand.Read(pt)

		enc, err := c.Encrypt(kp.pub).WithCryptographicParameters(params).Data(pt).ExecContext(ctx)
		if err != nil {
			return fmt.Errorf("encrypt with the public key: %w", err)
		}
		exEnc := r.exchange("Encrypt")
		if exEnc != nil {
			r.Details["request_has_mgf1"] = wiretap.HasPath(exEnc.RequestFields, "RequestMessage/BatchItem/RequestPayload/CryptographicParameters/MaskGenerator")
		}
		r.Details["ciphertext_len"] = len(enc.Data)
		r.Check("ciphertext-length", len(enc.Data) == bits/8, "%d bytes, want the modulus size %d", len(enc.Data), bits/8)
		r.Check("no-tag", len(enc.AuthenticatedEncryptionTag) == 0, "an RSA response carries no Authenticated Encryption Tag (%d bytes)", len(enc.AuthenticatedEncryptionTag))

		d, err := c.CloneCtx(ctx)
		if err != nil {
			return fmt.Errorf("second connection: %w", err)
		}
		defer d.Close()
		dec, err := d.Decrypt(kp.priv).WithCryptographicParameters(params).Data(enc.Data).ExecContext(ctx)
		if err != nil {
			return fmt.Errorf("decrypt with the private key: %w", err)
		}
		r.Check("round-trip", bytes.Equal(dec.Data, pt), "decrypted %d bytes, equal to the plaintext: %t", len(dec.Data), bytes.Equal(dec.Data, pt))

		// A ciphertext made here with OAEP(hash H, MGF1 with H): the server must decrypt it. At
		// 1.4 the request names MGF1-H explicitly; before 1.4 the MGF1 fields do not exist, and
		// what the server assumes is recorded only.
		if pub := k.rsaPub[bits]; pub != nil {
			pt2 := make([]byte, 32)
			rand.Read(pt2)
			lct, err := rsa.EncryptOAEP(gh.New(), rand.Reader, pub, pt2, nil)
			if err != nil {
				return fmt.Errorf("local OAEP encrypt: %w", err)
			}
			dec2, err := d.Decrypt(kp.priv).WithCryptographicParameters(params).Data(lct).ExecContext(ctx)
			accepted := err == nil && bytes.Equal(dec2.Data, pt2)
			r.Details["local_oaep_mgf1_same_hash_decrypts"] = accepted
			if err != nil {
				r.Details["local_oaep_error"] = err.Error()
			}
			if ttlv.CompareVersions(v, kmip.V1_4) >= 0 {
				errStr := ""
				if err != nil {
					errStr = err.Error()
				}
				r.Check("local-oaep", accepted, "the server decrypts OAEP(%s, MGF1-%s) made locally %s", label, label, errStr)
			}
		}
		return nil
	})
	s.ForcedVersion = v.String()
}

// ---------------------------------------------------------------------------------------------
// direct

// direct negotiates and reads attributes straight from the server, without the proxy, so the
// server's own TLS (certificate names, client-certificate check) meets kmip-go's. The versions
// come from kmip-go's decoded headers (a middleware).
func (k *checker) direct() {
	k.step("direct-tls", func(r *stepRun) error {
		record := func(next kmipclient.Next, ctx context.Context, msg *kmip.RequestMessage) (*kmip.ResponseMessage, error) {
			ex := &wiretap.Exchange{RequestVersion: msg.Header.ProtocolVersion.String(), RequestBatch: int(msg.Header.BatchCount)}
			if len(msg.BatchItem) > 0 {
				ex.Operation = ttlv.EnumStr(msg.BatchItem[0].Operation)
			}
			r.extra = append(r.extra, ex)
			resp, err := next(ctx, msg)
			if err != nil {
				ex.Error = err.Error()
				return resp, err
			}
			ex.ResponseVersion = resp.Header.ProtocolVersion.String()
			if len(resp.BatchItem) > 0 {
				ex.ResultStatus = ttlv.EnumStr(resp.BatchItem[0].ResultStatus)
				if resp.BatchItem[0].ResultReason != 0 {
					ex.ResultReason = ttlv.EnumStr(resp.BatchItem[0].ResultReason)
				}
				ex.ResultMessage = resp.BatchItem[0].ResultMessage
			}
			return resp, nil
		}
		ctx, cancel := k.ctx()
		defer cancel()
		c, err := kmipclient.DialContext(ctx, k.server,
			kmipclient.WithRootCAFile(k.ca),
			kmipclient.WithClientCertFiles(k.cert, k.key),
			kmipclient.WithServerName(k.serverName),
			openbaoVersions,
			kmipclient.WithMiddlewares(record),
		)
		if err != nil {
			return fmt.Errorf("dial %s directly: %w", k.server, err)
		}
		defer c.Close()
		r.Details["client_version"] = c.Version().String()
		r.Check("client-uses-1.4", c.Version() == kmip.V1_4, "client settled on %s", c.Version())
		if k.aesID != "" {
			if _, err := c.GetAttributes(k.aesID, kmip.AttributeNameObjectType, kmip.AttributeNameCryptographicAlgorithm).ExecContext(ctx); err != nil {
				return fmt.Errorf("get attributes: %w", err)
			}
		} else if _, err := c.Query().Operations().ExecContext(ctx); err != nil {
			return fmt.Errorf("query: %w", err)
		}
		return nil
	})
}
