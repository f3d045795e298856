/**
 * Writes controllers make: status through the status subresource by server-side apply, and
 * finalizers. Each helper says whether it changed anything, so a reconcile can tell a no-op from
 * progress (and tests can check that a second reconcile writes nothing).
 */
import { isConflict, type KubeClient, type KubeObject, type ResourceType } from './client.ts';

/** JSON with object keys sorted, for comparing desired and observed state. */
export function stableJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(stableJson).join(',')}]`;
  if (v && typeof v === 'object') {
    const entries = Object.entries(v as Record<string, unknown>).filter(([, x]) => x !== undefined).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, x]) => `${JSON.stringify(k)}:${stableJson(x)}`).join(',')}}`;
  }
  return JSON.stringify(v);
}

/**
 * Server-side applies `status` to the object's status subresource, unless it already equals the
 * observed status. The applied status is the whole of what the operator owns: fields left out are
 * removed (that is how a credential's serial numbers are withdrawn). Returns the object as written
 * (a write bumps its resourceVersion, which a following finalizer patch needs), or undefined when
 * nothing changed.
 */
export async function applyStatus<T extends KubeObject & { status?: unknown }>(
  client: KubeClient, type: ResourceType, obj: T, status: NonNullable<T['status']>,
): Promise<T | undefined> {
  if (stableJson(obj.status ?? {}) === stableJson(status)) return undefined;
  const { name, namespace } = obj.metadata;
  try {
    return await client.apply<T>(type, { metadata: { name, ...(namespace ? { namespace } : {}) }, status } as KubeObject, { subresource: 'status' });
  } catch (err) {
    throw new Error(`failed to apply status of ${type.kind} ${namespace}/${name}: ${(err as Error).message}`, { cause: err });
  }
}

export function hasFinalizer(obj: KubeObject, finalizer: string): boolean {
  return obj.metadata.finalizers?.includes(finalizer) ?? false;
}

/**
 * Adds `finalizer` unless present. A merge patch carrying the observed resourceVersion, so it fails
 * with a conflict (and the reconcile retries) instead of overwriting finalizers someone else just
 * changed. Returns whether it changed the object.
 */
export async function addFinalizer(client: KubeClient, type: ResourceType, obj: KubeObject, finalizer: string): Promise<boolean> {
  if (hasFinalizer(obj, finalizer)) return false;
  await patchFinalizers(client, type, obj, [...(obj.metadata.finalizers ?? []), finalizer]);
  return true;
}

/** Removes `finalizer` if present (see addFinalizer). Returns whether it changed the object. */
export async function removeFinalizer(client: KubeClient, type: ResourceType, obj: KubeObject, finalizer: string): Promise<boolean> {
  if (!hasFinalizer(obj, finalizer)) return false;
  await patchFinalizers(client, type, obj, (obj.metadata.finalizers ?? []).filter((f) => f !== finalizer));
  return true;
}

async function patchFinalizers(client: KubeClient, type: ResourceType, obj: KubeObject, finalizers: string[]): Promise<void> {
  const { name, namespace, resourceVersion } = obj.metadata;
  if (!name) throw new Error(`${type.kind} without a name`);
  try {
    await client.mergePatch(type, namespace, name, { metadata: { resourceVersion, finalizers } });
  } catch (err) {
    const why = isConflict(err) ? 'it changed meanwhile' : (err as Error).message;
    throw new Error(`failed to update finalizers of ${type.kind} ${namespace}/${name}: ${why}`, { cause: err });
  }
}
