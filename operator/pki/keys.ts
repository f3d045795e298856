/**
 * Key specifications, key-pair generation, and PKCS#8 PEM export/import.
 *
 * Keys live as WebCrypto CryptoKeys (what @peculiar/x509 signs with) and are persisted as
 * unencrypted PKCS#8 PEM ("-----BEGIN PRIVATE KEY-----"); callers protect the files/Secrets.
 * RSA keys are RSASSA-PKCS1-v1_5 with SHA-256; EC keys sign with the hash matching the curve.
 */
import { createPrivateKey, createPublicKey, type KeyObject } from 'node:crypto';
import { subtle, type CryptoKey } from './provider.ts';
import { pemEncode } from './pem.ts';

export type EcCurve = 'P-256' | 'P-384' | 'P-521';
export type RsaBits = 2048 | 3072 | 4096;
export type KeySpec = { type: 'ec'; curve: EcCurve } | { type: 'rsa'; bits: RsaBits };

export const DEFAULT_KEY_SPEC: KeySpec = Object.freeze({ type: 'ec', curve: 'P-256' });
export const EC_CURVES: readonly EcCurve[] = ['P-256', 'P-384', 'P-521'];
export const RSA_BITS: readonly RsaBits[] = [2048, 3072, 4096];
export const ALL_KEY_SPECS: readonly KeySpec[] = [
  ...EC_CURVES.map((curve): KeySpec => ({ type: 'ec', curve })),
  ...RSA_BITS.map((bits): KeySpec => ({ type: 'rsa', bits })),
];

export interface KeyPair {
  keySpec: KeySpec;
  privateKey: CryptoKey;
  publicKey: CryptoKey;
}

/** "EC P-256", "RSA 2048". */
export function describeKeySpec(spec: KeySpec): string {
  return spec.type === 'ec' ? `EC ${spec.curve}` : `RSA ${spec.bits}`;
}

export function keySpecEquals(a: KeySpec, b: KeySpec): boolean {
  return a.type === 'ec' ? b.type === 'ec' && a.curve === b.curve : b.type === 'rsa' && a.bits === b.bits;
}

/** Validates an untrusted value (e.g. from a custom resource) as a KeySpec; throws when it is not one. */
export function assertKeySpec(value: unknown): KeySpec {
  const v = value as { type?: unknown; curve?: unknown; bits?: unknown } | null;
  if (v && v.type === 'ec' && EC_CURVES.includes(v.curve as EcCurve)) return { type: 'ec', curve: v.curve as EcCurve };
  if (v && v.type === 'rsa' && RSA_BITS.includes(v.bits as RsaBits)) return { type: 'rsa', bits: v.bits as RsaBits };
  throw new Error(
    `unsupported key spec ${JSON.stringify(value)}; supported: ${ALL_KEY_SPECS.map(describeKeySpec).join(', ')}`,
  );
}

/**
 * Parses a textual key spec: "EC P-256", "ec-p256", "ecdsa-p384", "P-521", "RSA 2048", "rsa-3072"
 * (case, spaces, dashes and underscores are ignored).
 */
export function parseKeySpec(text: string): KeySpec {
  const t = text.toLowerCase().replace(/[\s_-]+/g, '');
  const ec = /^(?:ec|ecdsa)?p(256|384|521)$/.exec(t);
  if (ec) return { type: 'ec', curve: `P-${ec[1]}` as EcCurve };
  const rsa = /^rsa(2048|3072|4096)$/.exec(t);
  if (rsa) return { type: 'rsa', bits: Number(rsa[1]) as RsaBits };
  throw new Error(`unsupported key spec "${text}"; supported: ${ALL_KEY_SPECS.map(describeKeySpec).join(', ')}`);
}

/** WebCrypto algorithm used to generate/import a key of `spec`. */
export function keyAlgorithm(spec: KeySpec): { name: string; namedCurve?: string; hash?: string } {
  return spec.type === 'ec'
    ? { name: 'ECDSA', namedCurve: spec.curve }
    : { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' };
}

/** The signature algorithm a key of `spec` signs certificates with. */
export function signingAlgorithm(spec: KeySpec): { name: string; hash: string } {
  if (spec.type === 'rsa') return { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' };
  const hash = spec.curve === 'P-256' ? 'SHA-256' : spec.curve === 'P-384' ? 'SHA-384' : 'SHA-512';
  return { name: 'ECDSA', hash };
}

export async function generateKeyPair(spec: KeySpec = DEFAULT_KEY_SPEC): Promise<KeyPair> {
  const keySpec = assertKeySpec(spec);
  const algorithm =
    keySpec.type === 'ec'
      ? { name: 'ECDSA', namedCurve: keySpec.curve }
      : {
          name: 'RSASSA-PKCS1-v1_5',
          modulusLength: keySpec.bits,
          publicExponent: new Uint8Array([1, 0, 1]),
          hash: 'SHA-256',
        };
  const pair = (await subtle.generateKey(algorithm, true, ['sign', 'verify'])) as {
    privateKey: CryptoKey;
    publicKey: CryptoKey;
  };
  return { keySpec, privateKey: pair.privateKey, publicKey: pair.publicKey };
}

/** PKCS#8 PEM ("PRIVATE KEY") of an extractable private key. */
export async function exportPrivateKeyPem(privateKey: CryptoKey): Promise<string> {
  return pemEncode('PRIVATE KEY', await subtle.exportKey('pkcs8', privateKey));
}

/** DER SubjectPublicKeyInfo of a public key. */
export async function exportPublicKeySpki(publicKey: CryptoKey): Promise<Uint8Array> {
  return new Uint8Array(await subtle.exportKey('spki', publicKey));
}

const CURVE_BY_OPENSSL_NAME: Record<string, EcCurve> = {
  prime256v1: 'P-256',
  secp384r1: 'P-384',
  secp521r1: 'P-521',
};

/**
 * The key spec of a Node KeyObject (public or private), or undefined when it is not one we support,
 * together with a human description either way ("EC P-256", "RSA 1024", "ED25519").
 */
export function describeKeyObject(key: KeyObject): { keySpec: KeySpec | undefined; description: string } {
  const type = key.asymmetricKeyType;
  const details = key.asymmetricKeyDetails ?? {};
  if (type === 'ec') {
    const curveName = details.namedCurve ?? 'unknown curve';
    const curve = CURVE_BY_OPENSSL_NAME[curveName];
    return curve
      ? { keySpec: { type: 'ec', curve }, description: `EC ${curve}` }
      : { keySpec: undefined, description: `EC ${curveName}` };
  }
  if (type === 'rsa') {
    const bits = details.modulusLength ?? 0;
    return {
      keySpec: RSA_BITS.includes(bits as RsaBits) ? { type: 'rsa', bits: bits as RsaBits } : undefined,
      description: `RSA ${bits}`,
    };
  }
  if (type === 'rsa-pss') return { keySpec: undefined, description: `RSA-PSS ${details.modulusLength ?? 0}` };
  return { keySpec: undefined, description: (type ?? 'unknown').toUpperCase() };
}

/** Key spec of a DER SubjectPublicKeyInfo (see describeKeyObject). */
export function describePublicKeySpki(spki: Uint8Array): { keySpec: KeySpec | undefined; description: string } {
  return describeKeyObject(createPublicKey({ key: Buffer.from(spki), format: 'der', type: 'spki' }));
}

/**
 * Imports a private key PEM (PKCS#8 "PRIVATE KEY"; SEC1 "EC PRIVATE KEY" and PKCS#1
 * "RSA PRIVATE KEY" are accepted too) as an extractable CryptoKey pair. Throws for encrypted keys
 * and for key types/sizes outside the supported specs.
 */
export async function importPrivateKeyPem(pem: string): Promise<KeyPair> {
  let keyObject: KeyObject;
  try {
    keyObject = createPrivateKey({ key: pem, format: 'pem' });
  } catch (err) {
    throw new Error(`cannot read private key PEM: ${(err as Error).message}`);
  }
  const { keySpec, description } = describeKeyObject(keyObject);
  if (!keySpec) {
    throw new Error(`unsupported private key ${description}; supported: ${ALL_KEY_SPECS.map(describeKeySpec).join(', ')}`);
  }
  const algorithm = keyAlgorithm(keySpec) as Parameters<KeyObject['toCryptoKey']>[0];
  return {
    keySpec,
    privateKey: keyObject.toCryptoKey(algorithm, true, ['sign']),
    publicKey: createPublicKey(keyObject).toCryptoKey(algorithm, true, ['verify']),
  };
}
