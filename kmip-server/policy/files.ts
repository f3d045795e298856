import { EventEmitter } from 'node:events';
import { readdir, readFile } from 'node:fs/promises';
import { watch, type FSWatcher } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import type { PolicySnapshot, PolicySource } from './model.ts';
import { policyFromResources, type KubeResource, type PolicyProblem } from './resources.ts';

/**
 * Policy from YAML files holding the same custom resources a cluster would (`--manifests DIR`):
 * the tenancy model without Kubernetes. The directory is re-read when a file changes.
 */
export class FilePolicySource extends EventEmitter implements PolicySource {
  readonly #dir: string;
  #snapshot!: PolicySnapshot;
  #watcher: FSWatcher | undefined;
  #timer: NodeJS.Timeout | undefined;
  problems: PolicyProblem[] = [];

  private constructor(dir: string) {
    super();
    this.#dir = dir;
  }

  static async open(dir: string, opts: { watch?: boolean } = {}): Promise<FilePolicySource> {
    const s = new FilePolicySource(dir);
    await s.reload();
    if (opts.watch !== false) {
      s.#watcher = watch(dir, () => {
        clearTimeout(s.#timer);
        s.#timer = setTimeout(() => void s.reload().catch((err) => s.emit('error', err)), 100);
      });
      s.#watcher.unref();
    }
    return s;
  }

  async reload(): Promise<void> {
    const resources: KubeResource[] = [];
    const files = (await readdir(this.#dir)).filter((f) => /\.ya?ml$/.test(f)).sort();
    for (const f of files) {
      const text = await readFile(join(this.#dir, f), 'utf8');
      for (const doc of parseAllDocuments(text)) {
        if (doc.errors.length > 0) throw new Error(`${f}: ${doc.errors[0]!.message}`);
        const r = doc.toJS() as KubeResource | null;
        if (r && typeof r === 'object' && typeof r.kind === 'string') resources.push(r);
      }
    }
    const { snapshot, problems } = policyFromResources(resources);
    this.#snapshot = snapshot;
    this.problems = problems;
    this.emit('change');
  }

  current(): PolicySnapshot {
    return this.#snapshot;
  }

  async close(): Promise<void> {
    clearTimeout(this.#timer);
    this.#watcher?.close();
  }
}
