/**
 * Get's Key Format Type conversions for Private and Public Keys: PKCS#1 ↔ PKCS#8 ↔ Transparent RSA,
 * SEC1 (EC Private Key) ↔ PKCS#8 ↔ Transparent EC, and public keys PKCS#1 ↔ X.509 (SPKI) ↔
 * Transparent RSA / EC. The stored key is read into a node KeyObject and written out again.
 * Registered with the converter list in crypto/formats.ts.
 */
import { ObjectType } from '../ttlv/enums.ts';
import type { StructureItem } from '../ttlv/types.ts';
import { formatOf, isWrapped, materialOf, withMaterial } from './key-block.ts';
import { KeyMaterialError, privateKeyFrom, privateKeyMaterial, publicKeyFrom, publicKeyMaterial } from './keys.ts';

export function convertAsymmetric(objectType: number, block: StructureItem, to: number): StructureItem | undefined {
  if (objectType !== ObjectType.PrivateKey && objectType !== ObjectType.PublicKey) return undefined;
  const from = formatOf(block);
  const material = materialOf(block);
  if (from === undefined || !material || isWrapped(block)) return undefined;
  try {
    if (objectType === ObjectType.PrivateKey) {
      const out = privateKeyMaterial(privateKeyFrom(from, material), to);
      return out && withMaterial(block, to, out);
    }
    const out = publicKeyMaterial(publicKeyFrom(from, material), to);
    return out && withMaterial(block, to, out);
  } catch (err) {
    // A stored key this server cannot read (an encrypted PKCS#8, a DSA key) has no other format.
    if (err instanceof KeyMaterialError) return undefined;
    throw err;
  }
}
