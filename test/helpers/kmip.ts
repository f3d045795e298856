/**
 * Client-side helpers for suites that talk to a dev server: connecting with a credential, building
 * messages, waiting for policy files to take effect, and writing manifests.
 */
import { rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import tls from 'node:tls';
import YAML from 'yaml';
import { KmipClient, KmipResultError, V1_4, requestMessage, type ClientOptions, type ParsedResponse } from '../../kmip-server/client/client.ts';
import { KmipConnection } from '../../kmip-server/client/connection.ts';
import { KeyFormatType, ResultReason, ResultStatus, RevocationReasonCode, SecretDataType } from '../../kmip-server/ttlv/enums.ts';
import { Tag } from '../../kmip-server/ttlv/tag.ts';
import { ItemType, bytes, enumeration, struct, text, type StructureItem, type TtlvItem } from '../../kmip-server/ttlv/types.ts';
import type { CredentialFiles, DevServer, Teardown } from './dev-server.ts';

export { ResultReason, ResultStatus };

/** Name of a Result Reason value, for assertion messages. */
export function reasonName(reason: number | undefined): string {
  if (reason === undefined) return 'none';
  return Object.entries(ResultReason).find(([, v]) => v === reason)?.[0] ?? `0x${reason.toString(16)}`;
}

export interface ConnectAsOptions extends Partial<ClientOptions> {
  /** Close at teardown (default when a Teardown is given). */
  t?: Teardown;
}

/** A KmipClient over mutual TLS with `cred` (default: the server's admin credential). */
export async function connectAs(server: Pick<DevServer, 'host' | 'port' | 'credentials'>, cred: CredentialFiles = server.credentials, opts: ConnectAsOptions = {}): Promise<KmipClient> {
  const { t, ...rest } = opts;
  const client = await KmipClient.connect({
    host: server.host,
    port: server.port,
    ca: server.credentials.caPem,
    cert: cred.certPem,
    key: cred.keyPem,
    timeoutMs: 10_000,
    ...rest,
  });
  t?.teardown(() => client.close().catch(() => undefined));
  return client;
}

/** A raw KmipConnection (whole frames in and out) with the admin credential. */
export async function rawConnection(server: Pick<DevServer, 'host' | 'port' | 'credentials'>, t?: Teardown, timeoutMs = 10_000): Promise<KmipConnection> {
  const c = await KmipConnection.connect({
    host: server.host,
    port: server.port,
    ca: server.credentials.caPem,
    cert: server.credentials.certPem,
    key: server.credentials.keyPem,
    timeoutMs,
  });
  t?.teardown(() => c.close().catch(() => undefined));
  return c;
}

/** Runs one operation and returns its batch result (success or not), without throwing for a KMIP failure. */
export async function attempt(client: KmipClient, operation: string, payload: TtlvItem[]): Promise<ParsedResponse['items'][number]> {
  const res = await client.batch([{ operation, payload }]);
  const item = res.items[0];
  if (!item) throw new Error(`${operation}: response without a batch item`);
  return item;
}

/** What a KMIP call ended with: success, a KMIP failure with a reason, or a transport failure. */
export type Outcome = { kind: 'success' } | { kind: 'failed'; reason: number | undefined; message: string | undefined } | { kind: 'transport'; error: Error };

export async function outcome(p: Promise<unknown>): Promise<Outcome> {
  try {
    await p;
    return { kind: 'success' };
  } catch (err) {
    if (err instanceof KmipResultError) return { kind: 'failed', reason: err.result.reason, message: err.result.message };
    return { kind: 'transport', error: err as Error };
  }
}

export function describeOutcome(o: Outcome): string {
  if (o.kind === 'success') return 'success';
  if (o.kind === 'failed') return `failed: ${reasonName(o.reason)}${o.message ? ` (${o.message})` : ''}`;
  return `transport error: ${o.error.message}`;
}

/** Polls `check` until it returns true; resolves with the time it took, rejects after `timeoutMs`. */
export async function waitFor(what: string, check: () => Promise<boolean> | boolean, timeoutMs = 5000, intervalMs = 50): Promise<number> {
  const start = Date.now();
  for (;;) {
    if (await check()) return Date.now() - start;
    if (Date.now() - start > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(intervalMs);
  }
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Writes YAML documents to D/manifests/<file> atomically (the server re-reads the directory on change). */
export async function writeManifest(dataDir: string, file: string, docs: unknown[]): Promise<void> {
  const path = join(dataDir, 'manifests', file);
  const tmp = `${path}.${process.pid}.${Date.now()}.tmp`;
  await writeFile(tmp, docs.map((d) => YAML.stringify(d)).join('---\n'));
  await rename(tmp, path);
}

const API_VERSION = 'kubekmip.io/v1alpha1';

export const scopeDoc = (name: string, uid: string) => ({ apiVersion: API_VERSION, kind: 'KmipScope', metadata: { name, namespace: 'default', uid }, spec: {} });

export const roleDoc = (name: string, uid: string, scope: string, operations: string[]) => ({
  apiVersion: API_VERSION,
  kind: 'KmipRole',
  metadata: { name, namespace: 'default', uid },
  spec: { scopeRef: { name: scope }, operations },
});

export const credentialDoc = (name: string, scope: string, role: string, serialNumber: string) => ({
  apiVersion: API_VERSION,
  kind: 'KmipClientCredential',
  metadata: { name, namespace: 'default', uid: `cred-${name}` },
  spec: { scopeRef: { name: scope }, roleRef: { name: role }, secretName: `${name}-kmip` },
  status: { serialNumber },
});

/** A 1.x custom attribute (`x-...`) as an Attribute structure. */
export const customAttribute1x = (name: string, value: string): StructureItem =>
  struct(Tag.Attribute, [text(Tag.AttributeName, name), text(Tag.AttributeValue, value)]);

/** The 1.x Attribute structures of a Get Attributes response payload, by name (all instances). */
export function attributes1x(payload: StructureItem): Map<string, TtlvItem[]> {
  const out = new Map<string, TtlvItem[]>();
  for (const a of payload.value) {
    if (a.tag !== Tag.Attribute || a.type !== ItemType.Structure) continue;
    const name = a.value.find((c) => c.tag === Tag.AttributeName);
    const value = a.value.find((c) => c.tag === Tag.AttributeValue);
    if (name?.type !== ItemType.TextString || !value) continue;
    out.set(name.value, [...(out.get(name.value) ?? []), value]);
  }
  return out;
}

/** The Name Value of a Name attribute value (a structure). */
export function nameValue(v: TtlvItem | undefined): string | undefined {
  if (v?.type !== ItemType.Structure) return undefined;
  const n = v.value.find((c) => c.tag === Tag.NameValue);
  return n?.type === ItemType.TextString ? n.value : undefined;
}

/**
 * Tries a Discover Versions with `client`'s certificate (or none). 'handshake': the TLS handshake
 * failed; 'request': the handshake completed from the client's side but the server closed the
 * connection without answering (with TLS 1.3 a client learns of a refused certificate only after
 * its own handshake finished); 'answered': the server answered (the certificate was accepted).
 */
export async function tryRequest(
  server: Pick<DevServer, 'host' | 'port' | 'credentials'>,
  client: { certPem?: string; keyPem?: string },
  opts: { maxVersion?: tls.SecureVersion; timeoutMs?: number } = {},
): Promise<{ stage: 'handshake' | 'request' | 'answered'; error?: string }> {
  let conn: KmipConnection;
  try {
    conn = await KmipConnection.connect({
      host: server.host,
      port: server.port,
      ca: server.credentials.caPem,
      ...(client.certPem ? { cert: client.certPem } : {}),
      ...(client.keyPem ? { key: client.keyPem } : {}),
      ...(opts.maxVersion ? { maxVersion: opts.maxVersion } : {}),
      timeoutMs: opts.timeoutMs ?? 5000,
    });
  } catch (err) {
    return { stage: 'handshake', error: (err as Error).message };
  }
  try {
    await conn.send(requestMessage(V1_4, [{ operation: 'Discover Versions', payload: [] }]));
    return { stage: 'answered' };
  } catch (err) {
    return { stage: 'request', error: (err as Error).message };
  } finally {
    await conn.close().catch(() => undefined);
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Payload pieces

export const uidItem = (uid: string): TtlvItem => text(Tag.UniqueIdentifier, uid);

/** Revoke payload: Unique Identifier and Revocation Reason (default Cessation of Operation). */
export const revokePayload = (uid: string, code: number = RevocationReasonCode.CessationOfOperation): TtlvItem[] => [
  uidItem(uid),
  struct(Tag.RevocationReason, [enumeration(Tag.RevocationReasonCode, code)]),
];

/** A Secret Data object (Password) holding `value`, for Register. */
export const secretDataObject = (value: Uint8Array): StructureItem =>
  struct(Tag.SecretData, [
    enumeration(Tag.SecretDataType, SecretDataType.Password),
    struct(Tag.KeyBlock, [enumeration(Tag.KeyFormatType, KeyFormatType.Opaque), struct(Tag.KeyValue, [bytes(Tag.KeyMaterial, value)])]),
  ]);
