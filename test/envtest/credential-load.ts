/**
 * Many credentials at once against a real API server, for the operator restart test and the
 * operator benchmark: applies a scope, a role and N credentials, and records every certificate
 * serial each credential's Secret ever carried (from a watch), so a duplicate issuance shows.
 */
import { pino } from 'pino';
import { KubeClient, type KubeObject } from '../../operator/runtime/client.ts';
import { Informer } from '../../operator/runtime/informer.ts';
import { KmipClientCredentials, KmipRoles, KmipScopes, Secrets } from '../../operator/runtime/resources.ts';
import { CREDENTIAL_ANNOTATION, SERIAL_ANNOTATION } from '../../operator/controllers/labels.ts';

interface Credential extends KubeObject {
  status?: { conditions?: Array<{ type: string; status: string; observedGeneration?: number }>; serialNumber?: string };
}

export interface CredentialLoad {
  /** Every serial seen on each credential's Secret, by credential name. */
  serials: Map<string, Set<string>>;
  /** How many credentials are Ready=True for their current generation. */
  ready(): number;
  credentials(): Credential[];
  stop(): Promise<void>;
}

/** Applies scope `load`, role `load` and `count` credentials `c-0`..; starts watching Secrets and credentials. */
export async function applyCredentials(client: KubeClient, namespace: string, count: number, opts: { parallel?: number } = {}): Promise<CredentialLoad> {
  const logger = pino({ level: 'silent' });
  const secrets = new Informer<KubeObject>(client, Secrets, { namespace, metadataOnly: true, logger });
  const creds = new Informer<Credential>(client, KmipClientCredentials, { namespace, logger });
  const serials = new Map<string, Set<string>>();
  secrets.on((_e, s) => {
    const owner = s.metadata.annotations?.[CREDENTIAL_ANNOTATION];
    const serial = s.metadata.annotations?.[SERIAL_ANNOTATION];
    if (!owner || !serial) return;
    const name = owner.split('/')[1]!;
    let set = serials.get(name);
    if (!set) serials.set(name, (set = new Set()));
    set.add(serial);
  });
  secrets.start();
  creds.start();
  await Promise.all([secrets.waitForSync(), creds.waitForSync()]);

  const apply = (t: typeof KmipScopes, obj: Record<string, unknown>) => client.apply(t, obj as unknown as KubeObject);
  await apply(KmipScopes, { metadata: { name: 'load', namespace }, spec: {} });
  await apply(KmipRoles, { metadata: { name: 'load', namespace }, spec: { scopeRef: { name: 'load' }, operations: ['operation_get'] } });
  const parallel = opts.parallel ?? 10;
  let next = 0;
  await Promise.all(Array.from({ length: parallel }, async () => {
    for (let i = next++; i < count; i = next++) {
      await apply(KmipClientCredentials, {
        metadata: { name: `c-${i}`, namespace },
        spec: { scopeRef: { name: 'load' }, roleRef: { name: 'load' }, secretName: `c-${i}-kmip` },
      });
    }
  }));
  const isReady = (c: Credential) => c.status?.conditions?.some((x) => x.type === 'Ready' && x.status === 'True' && x.observedGeneration === c.metadata.generation) ?? false;
  return {
    serials,
    ready: () => creds.list(namespace).filter(isReady).length,
    credentials: () => creds.list(namespace),
    stop: async () => {
      await secrets.stop();
      await creds.stop();
    },
  };
}
