/**
 * Validity windows. Certificates carry whole seconds, so every computed date is truncated to a
 * whole second and the dates reported to callers equal the ones in the certificate.
 */

/** How far notBefore is backdated by default, to tolerate clock skew between peers. */
export const BACKDATE_MS = 5 * 60 * 1000;
const DAY_MS = 24 * 60 * 60 * 1000;

export interface ValidityOptions {
  /** Lifetime in days (fractions allowed). */
  ttlDays?: number;
  /** Start of validity; default now minus BACKDATE_MS. */
  notBefore?: Date;
  /**
   * End of validity, overriding ttlDays; may be in the past (tests issue expired certificates
   * this way; notBefore then defaults to notAfter minus ttlDays).
   */
  notAfter?: Date;
}

export interface Validity {
  notBefore: Date;
  notAfter: Date;
}

function wholeSeconds(ms: number): Date {
  return new Date(Math.floor(ms / 1000) * 1000);
}

/**
 * Resolves the validity window. Without an explicit notAfter the certificate lasts ttlDays from
 * now (or from an explicit notBefore). `issuerNotAfter` caps notAfter: a certificate never
 * outlives the CA that signed it.
 */
export function resolveValidity(options: ValidityOptions, defaultTtlDays: number, issuerNotAfter?: Date): Validity {
  const ttlDays = options.ttlDays ?? defaultTtlDays;
  if (!Number.isFinite(ttlDays) || ttlDays <= 0) throw new Error(`ttlDays must be a positive number, got ${ttlDays}`);
  for (const [name, d] of [['notBefore', options.notBefore], ['notAfter', options.notAfter]] as const) {
    if (d !== undefined && !(d instanceof Date && Number.isFinite(d.getTime()))) throw new Error(`${name} is not a valid Date`);
  }
  const now = Date.now();
  const ttlMs = ttlDays * DAY_MS;
  let notBeforeMs: number;
  let notAfterMs: number;
  if (options.notAfter) {
    notAfterMs = options.notAfter.getTime();
    notBeforeMs = options.notBefore?.getTime() ?? (notAfterMs <= now ? notAfterMs - ttlMs : now - BACKDATE_MS);
  } else {
    notBeforeMs = options.notBefore?.getTime() ?? now - BACKDATE_MS;
    notAfterMs = (options.notBefore?.getTime() ?? now) + ttlMs;
  }
  if (issuerNotAfter && notAfterMs > issuerNotAfter.getTime()) notAfterMs = issuerNotAfter.getTime();
  const validity = { notBefore: wholeSeconds(notBeforeMs), notAfter: wholeSeconds(notAfterMs) };
  if (validity.notAfter.getTime() <= validity.notBefore.getTime()) {
    throw new Error(
      `empty validity window: notBefore ${validity.notBefore.toISOString()} is not before notAfter ${validity.notAfter.toISOString()}` +
        (issuerNotAfter ? ` (the issuing CA expires ${issuerNotAfter.toISOString()})` : ''),
    );
  }
  return validity;
}
