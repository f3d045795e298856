import { RecommendedCurve } from '../ttlv/enums.ts';

/** A named elliptic curve: its KMIP Recommended Curve, OID, OpenSSL name (what node calls it) and size. */
export interface CurveInfo {
  curve: number;
  oid: string;
  /** OpenSSL's name: what node's `namedCurve`, `createECDH` and key details use. */
  openssl: string;
  bits: number;
}

/** The curves this server can import, export and (the first five) generate. */
export const CURVES: readonly CurveInfo[] = [
  { curve: RecommendedCurve.P_256, oid: '1.2.840.10045.3.1.7', openssl: 'prime256v1', bits: 256 },
  { curve: RecommendedCurve.P_384, oid: '1.3.132.0.34', openssl: 'secp384r1', bits: 384 },
  { curve: RecommendedCurve.P_521, oid: '1.3.132.0.35', openssl: 'secp521r1', bits: 521 },
  { curve: RecommendedCurve.P_224, oid: '1.3.132.0.33', openssl: 'secp224r1', bits: 224 },
  { curve: RecommendedCurve.P_192, oid: '1.2.840.10045.3.1.1', openssl: 'prime192v1', bits: 192 },
  { curve: RecommendedCurve.SECP256K1, oid: '1.3.132.0.10', openssl: 'secp256k1', bits: 256 },
  { curve: RecommendedCurve.BRAINPOOLP256R1, oid: '1.3.36.3.3.2.8.1.1.7', openssl: 'brainpoolP256r1', bits: 256 },
  { curve: RecommendedCurve.BRAINPOOLP384R1, oid: '1.3.36.3.3.2.8.1.1.11', openssl: 'brainpoolP384r1', bits: 384 },
  { curve: RecommendedCurve.BRAINPOOLP512R1, oid: '1.3.36.3.3.2.8.1.1.13', openssl: 'brainpoolP512r1', bits: 512 },
];

/** Curves Create Key Pair generates (NIST prime curves). */
export const GENERATED_CURVES: ReadonlySet<number> = new Set([
  RecommendedCurve.P_256, RecommendedCurve.P_384, RecommendedCurve.P_521, RecommendedCurve.P_224, RecommendedCurve.P_192,
]);

export const curveByEnum = (c: number): CurveInfo | undefined => CURVES.find((x) => x.curve === c);
export const curveByOpenssl = (name: string): CurveInfo | undefined => CURVES.find((x) => x.openssl === name);
export const curveByOid = (oid: string): CurveInfo | undefined => CURVES.find((x) => x.oid === oid);

/** The NIST curve of a key size, for requests that give only a Cryptographic Length. */
export function nistCurveForLength(bits: number): CurveInfo | undefined {
  return CURVES.find((x) => GENERATED_CURVES.has(x.curve) && x.bits === bits);
}

/** Bytes of a field element (private scalar) of the curve. */
export const fieldBytes = (c: CurveInfo): number => Math.ceil(c.bits / 8);
