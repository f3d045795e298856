/**
 * Child process for the crash-durability test in store.test.ts (not a test itself).
 * Usage: node crash-writer.fixture.ts <db path>   with KUBE_KMIP_TEST_KEK=<base64 KEK>
 * Writes records forever, printing each uid on stdout only after its `write` has resolved.
 */
import { writeSync } from 'node:fs';
import { kekFromEnv } from './kek.ts';
import { SqliteStore } from './sqlite.ts';

const path = process.argv[2];
if (!path) throw new Error('usage: crash-writer.fixture.ts <db path>');
const store = await SqliteStore.open({ path, kek: kekFromEnv('KUBE_KMIP_TEST_KEK') });
for (let i = 0; ; i++) {
  const uid = `crash-${i}`;
  await store.write([
    {
      kind: 'put',
      record: {
        uid,
        scope: 'crash',
        objectType: 2,
        state: 1,
        names: [`name-${i}`],
        attributes: new TextEncoder().encode(`attributes of ${uid}`),
        material: new Uint8Array(32).fill(i & 0xff),
        revision: 0,
      },
      expectRevision: 0,
    },
  ]);
  writeSync(1, `${uid}\n`); // synchronous: the parent sees it before we write the next record
}
