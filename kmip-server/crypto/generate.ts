/** Asymmetric key generation (node's generateKeyPair, off the event loop). */
import { generateKeyPair as nodeGenerateKeyPair, type KeyObject } from 'node:crypto';
import type { CurveInfo } from './curves.ts';

export type KeyPairSpec =
  | { family: 'rsa'; bits: number; publicExponent: number }
  | { family: 'ec'; curve: CurveInfo }
  | { family: 'ed25519' }
  | { family: 'ed448' };

export interface GeneratedKeyPair {
  privateKey: KeyObject;
  publicKey: KeyObject;
}

export function generateKeyPair(spec: KeyPairSpec): Promise<GeneratedKeyPair> {
  return new Promise((resolve, reject) => {
    const done = (err: Error | null, publicKey: KeyObject, privateKey: KeyObject): void => {
      if (err) reject(err);
      else resolve({ privateKey, publicKey });
    };
    switch (spec.family) {
      case 'rsa':
        nodeGenerateKeyPair('rsa', { modulusLength: spec.bits, publicExponent: spec.publicExponent }, done);
        break;
      case 'ec':
        nodeGenerateKeyPair('ec', { namedCurve: spec.curve.openssl }, done);
        break;
      case 'ed25519':
        nodeGenerateKeyPair('ed25519', {}, done);
        break;
      case 'ed448':
        nodeGenerateKeyPair('ed448', {}, done);
        break;
    }
  });
}
