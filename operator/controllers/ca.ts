/**
 * The kube-kmip CA, kept in a Secret in the operator's namespace and created on first start: a
 * root, and an intermediate (path length 0) that signs every client and server certificate. EC
 * P-256 unless configured otherwise (see ARCHITECTURE.md: P-521 makes each mutual-TLS handshake far
 * slower).
 *
 * The Secret is `kubernetes.io/tls`, laid out as cert-manager's CA issuer expects, so it could
 * serve one too:
 *   tls.crt        the signing intermediate, then its root (the chain the signer presents)
 *   tls.key        the intermediate's key
 *   ca.crt         the signing root
 *   root.key       the root's key
 *   bundle.crt     every CA certificate trusted now (what credential Secrets get as ca.crt and the
 *                  KMIP server trusts for client certificates); tls.crt alone outside a rotation
 * and during a CA rotation (ca-rotation.ts) also
 *   next.crt       the staged intermediate and its new root (trusted, not signing yet)
 *   next.key       its key
 *   next-root.key  the new root's key
 *   previous.crt   the intermediate and root a rotation replaced (trusted until it completes)
 * The KMIP server must trust whole chains (intermediates too): it recognises certificates issued
 * here by their direct issuer.
 */
import type { Logger } from 'pino';
import { isAlreadyExists, type KubeClient, type KubeObject } from '../runtime/client.ts';
import { Secrets } from '../runtime/resources.ts';
import {
  DEFAULT_KEY_SPEC, createIntermediateCa, createRootCa, loadCertificateAuthority, pemCertificates, certificatePem, fingerprintSha256,
  type CertificateAuthority, type KeySpec,
} from '../pki/index.ts';
import { MANAGED_BY_LABELS } from './labels.ts';

export const DEFAULT_CA_SECRET = 'kube-kmip-ca';

/** Keys of the CA Secret (see above). */
export const CA_KEYS = {
  chain: 'tls.crt', key: 'tls.key', root: 'ca.crt', rootKey: 'root.key', bundle: 'bundle.crt',
  nextChain: 'next.crt', nextKey: 'next.key', nextRootKey: 'next-root.key', previousChain: 'previous.crt',
} as const;

export interface CaSecretOptions {
  namespace: string;
  name?: string;
  keySpec?: KeySpec;
}

export interface Secret extends KubeObject {
  type?: string;
  data?: Record<string, string>;
}

/** A CA certificate that is trusted but no longer signs (the one a rotation replaced). */
export interface RetiredCa {
  /** The intermediate. */
  certificatePem: string;
  /** The intermediate, then its root. */
  chainPem: string;
  fingerprintSha256: string;
}

/** Everything the CA Secret holds, read. */
export interface CaState {
  /** Signs every certificate issued now. */
  signing: CertificateAuthority;
  /** The signing root's key (absent when the Secret was written without it). */
  rootKeyPem?: string;
  /** Staged by a rotation: trusted already, signing once the rotation switches. */
  next?: { ca: CertificateAuthority; rootKeyPem: string };
  /** Replaced by a rotation: trusted until the rotation completes. */
  previous?: RetiredCa;
}

const b64 = (s: string) => Buffer.from(s).toString('base64');
const text = (secret: Secret, key: string) => {
  const v = secret.data?.[key];
  return v === undefined ? undefined : Buffer.from(v, 'base64').toString('utf8');
};

/** A new root and an intermediate under it. */
export async function createCaPair(keySpec: KeySpec): Promise<{ ca: CertificateAuthority; rootKeyPem: string }> {
  const root = await createRootCa({ commonName: 'kube-kmip root CA', organization: 'kube-kmip', keySpec });
  const intermediate = await createIntermediateCa(root, { commonName: 'kube-kmip client CA', organization: 'kube-kmip', keySpec });
  return { ca: intermediate, rootKeyPem: root.privateKeyPem };
}

/** Loads the CA from its Secret; creates the Secret first when there is none. */
export async function loadOrCreateCa(client: KubeClient, opts: CaSecretOptions, log: Logger): Promise<CaState> {
  const name = opts.name ?? DEFAULT_CA_SECRET;
  const where = `Secret ${opts.namespace}/${name}`;
  let secret = await client.get<Secret>(Secrets, opts.namespace, name);
  if (!secret) {
    const pair = await createCaPair(opts.keySpec ?? DEFAULT_KEY_SPEC);
    const manifest: Secret = {
      metadata: { name, namespace: opts.namespace, labels: caSecretLabels() },
      type: 'kubernetes.io/tls',
      data: caSecretData({ signing: pair.ca, rootKeyPem: pair.rootKeyPem }),
    };
    try {
      // Create, not apply: two operators starting together must not both write a CA.
      secret = await client.create<Secret>(Secrets, manifest);
      log.info({ secret: `${opts.namespace}/${name}`, serialNumber: pair.ca.serialNumber, notAfter: pair.ca.notAfter }, 'created the CA');
    } catch (err) {
      if (!isAlreadyExists(err)) throw new Error(`failed to create the CA ${where}: ${(err as Error).message}`, { cause: err });
      secret = await client.get<Secret>(Secrets, opts.namespace, name);
      if (!secret) throw new Error(`the CA ${where} was created by someone else and then vanished`);
    }
  }
  return caStateFromSecret(secret, where);
}

export const caSecretLabels = (): Record<string, string> => ({ ...MANAGED_BY_LABELS, 'app.kubernetes.io/component': 'ca' });

/** Reads the CA Secret; throws (naming `where`, never key material) when it cannot be used. */
export async function caStateFromSecret(secret: Secret, where: string): Promise<CaState> {
  const chain = text(secret, CA_KEYS.chain);
  const key = text(secret, CA_KEYS.key);
  if (!chain || !key) throw new Error(`the CA ${where} lacks ${CA_KEYS.chain} or ${CA_KEYS.key}`);
  const load = async (what: string, chainPem: string, privateKeyPem: string) => {
    try {
      return await loadCertificateAuthority({ certificatePem: chainPem, privateKeyPem, chainPem });
    } catch (err) {
      throw new Error(`the CA ${where} cannot be used (${what}): ${(err as Error).message}`, { cause: err });
    }
  };
  const state: CaState = { signing: await load(CA_KEYS.chain, chain, key) };
  const rootKey = text(secret, CA_KEYS.rootKey);
  if (rootKey) state.rootKeyPem = rootKey;
  const nextChain = text(secret, CA_KEYS.nextChain);
  const nextKey = text(secret, CA_KEYS.nextKey);
  const nextRootKey = text(secret, CA_KEYS.nextRootKey);
  if (nextChain && nextKey && nextRootKey) state.next = { ca: await load(CA_KEYS.nextChain, nextChain, nextKey), rootKeyPem: nextRootKey };
  const previousChain = text(secret, CA_KEYS.previousChain);
  if (previousChain) state.previous = retiredCa(previousChain);
  return state;
}

/** The CA a rotation replaced, from its chain PEM (intermediate first). */
export function retiredCa(chainPem: string): RetiredCa {
  const certs = pemCertificates(chainPem);
  const first = certs[0];
  if (!first) throw new Error('the previous CA chain holds no certificate');
  return { certificatePem: certificatePem(first), chainPem: certs.map((c) => certificatePem(c)).join(''), fingerprintSha256: fingerprintSha256(first) };
}

/** The data of the CA Secret for `state` (base64, as Secret.data holds it). */
export function caSecretData(state: CaState): Record<string, string> {
  const data: Record<string, string> = {
    [CA_KEYS.chain]: b64(state.signing.chainPem),
    [CA_KEYS.key]: b64(state.signing.privateKeyPem),
    [CA_KEYS.root]: b64(rootPem(state.signing.chainPem)),
    [CA_KEYS.bundle]: b64(trustBundlePem(state)),
  };
  if (state.rootKeyPem) data[CA_KEYS.rootKey] = b64(state.rootKeyPem);
  if (state.next) {
    data[CA_KEYS.nextChain] = b64(state.next.ca.chainPem);
    data[CA_KEYS.nextKey] = b64(state.next.ca.privateKeyPem);
    data[CA_KEYS.nextRootKey] = b64(state.next.rootKeyPem);
  }
  if (state.previous) data[CA_KEYS.previousChain] = b64(state.previous.chainPem);
  return data;
}

/**
 * Every CA certificate trusted now, PEM: the signing chain, then the staged one (clients learn the
 * new root before anything is signed by it) or the replaced one (certificates it signed keep
 * working until they are re-issued). Each certificate once.
 */
export function trustBundlePem(state: CaState): string {
  const seen = new Set<string>();
  let out = '';
  for (const chain of [state.signing.chainPem, state.next?.ca.chainPem, state.previous?.chainPem]) {
    for (const der of pemCertificates(chain ?? '')) {
      const fp = fingerprintSha256(der);
      if (seen.has(fp)) continue;
      seen.add(fp);
      out += certificatePem(der);
    }
  }
  return out;
}

/** The CA certificates credentials trust for a CA outside a rotation: issuing CA first, root last (PEM). */
export function caBundlePem(ca: CertificateAuthority): string {
  return ca.chainPem;
}

/** The CA certificates between a leaf and the root (everything but the last one), PEM. */
export function intermediatesPem(ca: CertificateAuthority): string {
  const certs = pemCertificates(ca.chainPem);
  return certs.slice(0, -1).map((c) => certificatePem(c)).join('');
}

/** The last certificate of a chain (its root), PEM. */
export function rootPem(chainPem: string): string {
  const certs = pemCertificates(chainPem);
  const last = certs[certs.length - 1];
  if (!last) throw new Error('a CA chain without certificates');
  return certificatePem(last);
}
