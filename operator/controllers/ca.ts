/**
 * The kube-kmip CA, kept in a Secret in the operator's namespace and created on first start: a
 * root, and an intermediate (path length 0) that signs every client certificate. EC P-256 unless
 * configured otherwise (see ARCHITECTURE.md: P-521 makes each mutual-TLS handshake far slower).
 *
 * The Secret is `kubernetes.io/tls`, laid out as cert-manager's CA issuer expects, so it could
 * serve one too:
 *   tls.crt   the intermediate, then the root (the chain the signer presents)
 *   tls.key   the intermediate's key
 *   ca.crt    the root (the trust anchor)
 *   root.key  the root's key (kept to re-issue the intermediate)
 * The KMIP server must trust tls.crt (both certificates): it recognises certificates issued here by
 * their direct issuer.
 */
import type { Logger } from 'pino';
import { isAlreadyExists, type KubeClient, type KubeObject } from '../runtime/client.ts';
import { Secrets } from '../runtime/resources.ts';
import {
  DEFAULT_KEY_SPEC, createIntermediateCa, createRootCa, loadCertificateAuthority, pemCertificates, certificatePem,
  type CertificateAuthority, type KeySpec,
} from '../pki/index.ts';
import { MANAGED_BY_LABELS } from './labels.ts';

export const DEFAULT_CA_SECRET = 'kube-kmip-ca';

export interface CaSecretOptions {
  namespace: string;
  name?: string;
  keySpec?: KeySpec;
}

interface Secret extends KubeObject {
  type?: string;
  data?: Record<string, string>;
}

const b64 = (s: string) => Buffer.from(s).toString('base64');
const text = (secret: Secret, key: string) => {
  const v = secret.data?.[key];
  return v === undefined ? undefined : Buffer.from(v, 'base64').toString('utf8');
};

/** Loads the CA from its Secret; creates the Secret first when there is none. */
export async function loadOrCreateCa(client: KubeClient, opts: CaSecretOptions, log: Logger): Promise<CertificateAuthority> {
  const name = opts.name ?? DEFAULT_CA_SECRET;
  const where = `Secret ${opts.namespace}/${name}`;
  let secret = await client.get<Secret>(Secrets, opts.namespace, name);
  if (!secret) {
    const keySpec = opts.keySpec ?? DEFAULT_KEY_SPEC;
    const root = await createRootCa({ commonName: 'kube-kmip root CA', organization: 'kube-kmip', keySpec });
    const intermediate = await createIntermediateCa(root, { commonName: 'kube-kmip client CA', organization: 'kube-kmip', keySpec });
    const manifest: Secret = {
      metadata: {
        name, namespace: opts.namespace,
        labels: { ...MANAGED_BY_LABELS, 'app.kubernetes.io/component': 'ca' },
      },
      type: 'kubernetes.io/tls',
      data: {
        'tls.crt': b64(intermediate.chainPem),
        'tls.key': b64(intermediate.privateKeyPem),
        'ca.crt': b64(root.certificatePem),
        'root.key': b64(root.privateKeyPem),
      },
    };
    try {
      // Create, not apply: two operators starting together must not both write a CA.
      secret = await client.create<Secret>(Secrets, manifest);
      log.info({ secret: `${opts.namespace}/${name}`, serialNumber: intermediate.serialNumber, notAfter: intermediate.notAfter }, 'created the CA');
    } catch (err) {
      if (!isAlreadyExists(err)) throw new Error(`failed to create the CA ${where}: ${(err as Error).message}`, { cause: err });
      secret = await client.get<Secret>(Secrets, opts.namespace, name);
      if (!secret) throw new Error(`the CA ${where} was created by someone else and then vanished`);
    }
  }
  const chain = text(secret, 'tls.crt');
  const key = text(secret, 'tls.key');
  if (!chain || !key) throw new Error(`the CA ${where} lacks tls.crt or tls.key`);
  try {
    return await loadCertificateAuthority({ certificatePem: chain, privateKeyPem: key, chainPem: chain });
  } catch (err) {
    throw new Error(`the CA ${where} cannot be used: ${(err as Error).message}`, { cause: err });
  }
}

/** The CA certificates credentials trust, issuing CA first, root last (PEM). */
export function caBundlePem(ca: CertificateAuthority): string {
  return ca.chainPem;
}

/** The CA certificates between a leaf and the root (everything but the last one), PEM. */
export function intermediatesPem(ca: CertificateAuthority): string {
  const certs = pemCertificates(ca.chainPem);
  return certs.slice(0, -1).map((c) => certificatePem(c)).join('');
}
