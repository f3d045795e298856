/**
 * The custom resources dev mode writes to D/manifests/dev.yaml, for the server's file-based policy
 * source: the `default` KmipScope, the `admin` KmipRole (operation_all) and the `admin`
 * KmipClientCredential whose status carries the live certificate's serial number and fingerprint
 * (canonical forms, see operator/pki/canonical.ts).
 *
 * dev.yaml may hold other documents too (a developer's extra roles); they are kept as they are and
 * in place. The file is rewritten only when the dev documents' content changes.
 */
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import YAML from 'yaml';
import { PUBLIC_MODE, readIfExists, writeFileAtomic } from './fs.ts';

export const API_VERSION = 'kubekmip.io/v1alpha1';
export const DEV_NAMESPACE = 'default';
export const DEV_SCOPE = 'default';
export const DEV_ROLE = 'admin';
export const DEV_CREDENTIAL = 'admin';
export const DEV_SECRET = 'admin-kmip';

export type Manifest = {
  apiVersion?: unknown;
  kind?: unknown;
  metadata?: { name?: unknown; namespace?: unknown; uid?: unknown; [k: string]: unknown };
  [k: string]: unknown;
};

export interface DevIds {
  scopeId: string;
  roleId: string;
  credentialId: string;
}

export interface CredentialStatus {
  serialNumber: string;
  fingerprint: string;
  notAfter: string;
}

const HEADER =
  '# Written by `kmip-server dev`: the default scope, the admin role and its client credential.\n' +
  '# Other documents in this file are kept. Delete the file to get new scope/role ids.\n';

export function parseManifests(text: string, source: string): Manifest[] {
  const docs = YAML.parseAllDocuments(text);
  const out: Manifest[] = [];
  for (const doc of docs) {
    if (doc.errors.length > 0) throw new Error(`${source}: ${doc.errors[0]!.message}`);
    const value = doc.toJS() as unknown;
    if (value && typeof value === 'object' && !Array.isArray(value)) out.push(value as Manifest);
  }
  return out;
}

/** Every document of every *.yaml / *.yml file in `dir` (sorted by file name). */
export async function readManifestDir(dir: string): Promise<Manifest[]> {
  let names: string[];
  try {
    names = (await readdir(dir)).filter((n) => /\.ya?ml$/.test(n)).sort();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
  const out: Manifest[] = [];
  for (const name of names) {
    const text = await readIfExists(join(dir, name));
    if (text !== undefined) out.push(...parseManifests(text, join(dir, name)));
  }
  return out;
}

function matches(doc: Manifest, kind: string, name: string): boolean {
  const ns = doc.metadata?.namespace;
  return doc.kind === kind && doc.metadata?.name === name && (ns === undefined || ns === DEV_NAMESPACE);
}

/** metadata.uid of the `kind`/`name` resource in namespace default, if the documents have one. */
export function findUid(docs: Manifest[], kind: string, name: string): string | undefined {
  const uid = docs.find((d) => matches(d, kind, name))?.metadata?.uid;
  return typeof uid === 'string' && uid.length > 0 ? uid : undefined;
}

/**
 * spec.headerCredentials of the admin KmipClientCredential in `docs`, if a developer added some:
 * dev mode rewrites that document on every start and keeps them (the header-credential users of
 * the admin certificate, see docs/security.md).
 */
export function adminHeaderCredentials(docs: Manifest[]): unknown[] | undefined {
  const spec = docs.find((d) => matches(d, 'KmipClientCredential', DEV_CREDENTIAL))?.['spec'];
  const hc = spec && typeof spec === 'object' ? (spec as { headerCredentials?: unknown }).headerCredentials : undefined;
  return Array.isArray(hc) ? hc : undefined;
}

/**
 * `headerCredentials`: kept on the admin credential (see adminHeaderCredentials); `notifyEndpoint`: the admin
 * credential's spec.notifications.endpoint (Notify and Put go there).
 */
export function devManifests(
  ids: DevIds,
  status: CredentialStatus,
  extra: { headerCredentials?: unknown[] | undefined; notifyEndpoint?: string | undefined } = {},
): Manifest[] {
  const { headerCredentials, notifyEndpoint } = extra;
  const metadata = (name: string, uid: string) => ({ name, namespace: DEV_NAMESPACE, uid });
  return [
    {
      apiVersion: API_VERSION,
      kind: 'KmipScope',
      metadata: metadata(DEV_SCOPE, ids.scopeId),
      spec: {},
    },
    {
      apiVersion: API_VERSION,
      kind: 'KmipRole',
      metadata: metadata(DEV_ROLE, ids.roleId),
      spec: { scopeRef: { name: DEV_SCOPE }, operations: ['operation_all'] },
    },
    {
      apiVersion: API_VERSION,
      kind: 'KmipClientCredential',
      metadata: metadata(DEV_CREDENTIAL, ids.credentialId),
      spec: {
        scopeRef: { name: DEV_SCOPE }, roleRef: { name: DEV_ROLE }, secretName: DEV_SECRET,
        ...(headerCredentials ? { headerCredentials } : {}),
        ...(notifyEndpoint !== undefined ? { notifications: { endpoint: notifyEndpoint } } : {}),
      },
      status: { serialNumber: status.serialNumber, certificateFingerprints: [status.fingerprint], fingerprint: status.fingerprint, notAfter: status.notAfter },
    },
  ];
}

/**
 * Writes `desired` into the manifest file at `path`, replacing the documents with the same kind
 * and name in place and keeping all others. Does nothing when the file already says the same.
 * Returns whether it wrote.
 */
export async function writeDevManifests(path: string, desired: Manifest[]): Promise<boolean> {
  const text = await readIfExists(path);
  const existing = text === undefined ? [] : parseManifests(text, path);
  const merged = [...existing];
  for (const doc of desired) {
    const kind = doc.kind as string;
    const name = doc.metadata!.name as string;
    const at = merged.findIndex((d) => matches(d, kind, name));
    if (at >= 0) merged[at] = doc;
    else merged.push(doc);
  }
  if (text !== undefined && isDeepStrictEqual(existing, merged)) return false;
  const body = merged.map((d) => YAML.stringify(d)).join('---\n');
  await writeFileAtomic(path, HEADER + body, PUBLIC_MODE);
  return true;
}
