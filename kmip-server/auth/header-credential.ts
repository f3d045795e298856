import { createHmac, randomBytes } from 'node:crypto';
import { Tag } from '../ttlv/tag.ts';
import { CredentialType, ResultReason } from '../ttlv/enums.ts';
import type { StructureItem } from '../ttlv/types.ts';
import { KmipError } from '../messages/errors.ts';
import { findAll, isStruct, optEnum, optStruct, optText } from '../messages/tree.ts';
import { headerCredentialKey } from '../policy/header-credentials.ts';
import type { DeviceIdentity, HeaderCredentialPolicy } from '../policy/model.ts';
import { decoyHash, verifyPassword, type ParsedHash } from './password-hash.ts';
import type { Identity } from './identity.ts';
import { OneAtATime } from './one-at-a-time.ts';

/** The Device Credential's fields, by the names the policy uses. */
const DEVICE_TAGS: ReadonlyArray<readonly [keyof DeviceIdentity, number]> = [
  ['serialNumber', Tag.DeviceSerialNumber],
  ['deviceIdentifier', Tag.DeviceIdentifier],
  ['networkIdentifier', Tag.NetworkIdentifier],
  ['machineIdentifier', Tag.MachineIdentifier],
  ['mediaIdentifier', Tag.MediaIdentifier],
];

/** One message, one answer: the same words for an unknown name and a wrong password. */
const refused = () => new KmipError(ResultReason.AuthenticationNotSuccessful, 'the Credential in the request header is not accepted');

/**
 * Applies the request header's Authentication to the certificate's identity. The certificate
 * stays the authentication; a header credential names a sub-identity that narrows what the
 * message may reach (objects it makes are owned by it, objects others own are out of reach):
 *
 * - no Authentication, or a credential that declares no headerCredentials: the identity as it is
 *   (header credentials are informational there, as before);
 * - otherwise exactly one Credential, of type Username and Password or Device, matching a declared
 *   entry with the right password; anything else fails the whole message with Authentication Not
 *   Successful.
 *
 * Called once per message by the dispatcher, before any batch item runs.
 */
export async function applyHeaderCredential(header: StructureItem, identity: Identity): Promise<Identity> {
  const auth = optStruct(header, Tag.Authentication);
  const declared = identity.headerCredentials ?? [];
  if (!auth || declared.length === 0 || identity.credentialId === undefined) return identity;
  const creds = findAll(auth, Tag.Credential);
  const cred = creds[0];
  if (creds.length !== 1 || !isStruct(cred)) throw refused();
  const value = optStruct(cred, Tag.CredentialValue);
  if (!value) throw refused();
  const type = optEnum(cred, Tag.CredentialType);
  let match: HeaderCredentialPolicy | undefined;
  let password: string | undefined;
  if (type === CredentialType.UsernameAndPassword) {
    const username = optText(value, Tag.Username);
    password = optText(value, Tag.Password);
    match = declared.find((d) => d.kind === 'user' && d.username === username);
  } else if (type === CredentialType.Device) {
    const device: DeviceIdentity = {};
    for (const [field, tag] of DEVICE_TAGS) {
      const v = optText(value, tag);
      if (v !== undefined) device[field] = v;
    }
    password = optText(value, Tag.Password);
    match = declared.find((d) => d.kind === 'device' && sameDevice(d.device, device));
  } else {
    throw refused();
  }
  if (!match) {
    // An unknown name costs what a wrong password costs.
    if (password !== undefined) await slowChecks.run(identity.credentialId, () => verifyPassword(password!, DECOY));
    throw refused();
  }
  if (match.passwordHash) {
    if (password === undefined || !(await passwordMatches(password, match.passwordHash, identity.credentialId))) throw refused();
  } else if (password !== undefined) {
    // A device declared without a password: a password here would be checked by nothing.
    throw refused();
  }
  const key = headerCredentialKey(match);
  return { ...identity, owner: `${identity.credentialId}/${key}`, headerIdentity: key };
}

function sameDevice(a: DeviceIdentity, b: DeviceIdentity): boolean {
  return DEVICE_TAGS.every(([f]) => a[f] === b[f]);
}

const DECOY: ParsedHash = decoyHash();

/** scrypt runs one at a time per KmipClientCredential (one-at-a-time.ts): wrong passwords cannot take every core. */
const slowChecks = new OneAtATime();

/**
 * Passwords already verified, per parsed hash, as keyed HMACs (the key lives only in this
 * process): scrypt is deliberately slow, and a client sends its credential in every message. A
 * policy reload parses hashes anew, which empties this; so does a changed hash. At most
 * VERIFIED_PER_HASH entries per declared credential.
 */
const verified = new WeakMap<ParsedHash, string[]>();
const VERIFIED_PER_HASH = 4;
const cacheKey = randomBytes(32);

async function passwordMatches(password: string, hash: ParsedHash, credentialId: string): Promise<boolean> {
  const mac = createHmac('sha256', cacheKey).update(password, 'utf8').digest('base64');
  const seen = verified.get(hash);
  if (seen?.includes(mac)) return true;
  if (!(await slowChecks.run(credentialId, () => verifyPassword(password, hash)))) return false;
  const list = seen ?? [];
  list.push(mac);
  if (list.length > VERIFIED_PER_HASH) list.shift();
  verified.set(hash, list);
  return true;
}
