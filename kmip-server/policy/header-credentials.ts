import { MalformedHashError, parsePasswordHash, type ParsedHash } from '../auth/password-hash.ts';
import { DEVICE_FIELDS, type DeviceIdentity, type HeaderCredentialPolicy } from './model.ts';

/** As many as the CRD allows (operator/api/credential.ts). */
export const MAX_HEADER_CREDENTIALS = 64;
export const MAX_IDENTIFIER_LENGTH = 256;

/** The key two entries clash on: one user name, or one whole device tuple. */
export function headerCredentialKey(c: { kind: 'user'; username: string } | { kind: 'device'; device: DeviceIdentity }): string {
  return c.kind === 'user' ? `user:${c.username}` : `device:${JSON.stringify(DEVICE_FIELDS.map((f) => c.device[f] ?? null))}`;
}

const isText = (v: unknown): v is string => typeof v === 'string' && v.length > 0 && v.length <= MAX_IDENTIFIER_LENGTH;

/**
 * Reads `spec.headerCredentials` of a KmipClientCredential. An entry that is malformed (no name,
 * a bad hash) or declared twice grants nothing and is reported; the others stand. Problems name
 * the entry by its index and never quote a hash.
 */
export function parseHeaderCredentials(value: unknown): { credentials: HeaderCredentialPolicy[]; problems: string[] } {
  const problems: string[] = [];
  if (value === undefined || value === null) return { credentials: [], problems };
  if (!Array.isArray(value)) return { credentials: [], problems: ['spec.headerCredentials is not a list'] };
  if (value.length > MAX_HEADER_CREDENTIALS) {
    return { credentials: [], problems: [`spec.headerCredentials has more than ${MAX_HEADER_CREDENTIALS} entries`] };
  }
  const parsed: Array<HeaderCredentialPolicy | undefined> = value.map((entry: unknown, i) => {
    const where = `spec.headerCredentials[${i}]`;
    const fail = (why: string) => (problems.push(`${where}: ${why}`), undefined);
    if (!entry || typeof entry !== 'object' || Array.isArray(entry)) return fail('is not an object');
    const e = entry as Record<string, unknown>;
    if ((e.username === undefined) === (e.device === undefined)) return fail('set exactly one of username and device');
    let hash: ParsedHash | undefined;
    if (e.passwordHash !== undefined) {
      if (typeof e.passwordHash !== 'string') return fail('passwordHash is not a string');
      try {
        hash = parsePasswordHash(e.passwordHash);
      } catch (err) {
        if (err instanceof MalformedHashError) return fail(err.message);
        throw err;
      }
    }
    if (e.username !== undefined) {
      if (!isText(e.username)) return fail(`username must be 1..${MAX_IDENTIFIER_LENGTH} characters`);
      if (!hash) return fail('a username needs a passwordHash');
      return { kind: 'user', username: e.username, passwordHash: hash };
    }
    if (!e.device || typeof e.device !== 'object' || Array.isArray(e.device)) return fail('device is not an object');
    const d = e.device as Record<string, unknown>;
    const device: DeviceIdentity = {};
    for (const f of DEVICE_FIELDS) {
      if (d[f] === undefined) continue;
      if (!isText(d[f])) return fail(`device.${f} must be 1..${MAX_IDENTIFIER_LENGTH} characters`);
      device[f] = d[f];
    }
    const unknown = Object.keys(d).filter((k) => !(DEVICE_FIELDS as readonly string[]).includes(k));
    if (unknown.length > 0) return fail(`device has unknown fields: ${unknown.join(', ')}`);
    if (Object.keys(device).length === 0) return fail(`device needs at least one of ${DEVICE_FIELDS.join(', ')}`);
    return hash ? { kind: 'device', device, passwordHash: hash } : { kind: 'device', device };
  });
  // A name declared twice could stand for either entry: neither counts.
  const counts = new Map<string, number>();
  for (const c of parsed) if (c) counts.set(headerCredentialKey(c), (counts.get(headerCredentialKey(c)) ?? 0) + 1);
  const credentials: HeaderCredentialPolicy[] = [];
  parsed.forEach((c, i) => {
    if (!c) return;
    if (counts.get(headerCredentialKey(c))! > 1) problems.push(`spec.headerCredentials[${i}]: declared more than once`);
    else credentials.push(c);
  });
  return { credentials, problems };
}
