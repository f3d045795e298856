import test from 'ava';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { exampleCredential } from '../../operator/api/examples.ts';
import { hashPassword, verifyPassword } from '../auth/password-hash.ts';
import { FilePolicySource } from './files.ts';
import { parseHeaderCredentials } from './header-credentials.ts';

const FAST = { ln: 10, r: 8, p: 1 };

test('policy from YAML files carries a credential\'s header credentials, hashes parsed, under the credential\'s UID', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'header-creds-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const fred = await hashPassword('password1', FAST);
  await writeFile(join(dir, 'tenancy.yaml'), `
apiVersion: kubekmip.io/v1alpha1
kind: KmipScope
metadata: { name: s, namespace: team-a, uid: scope-a }
---
apiVersion: kubekmip.io/v1alpha1
kind: KmipRole
metadata: { name: r, namespace: team-a, uid: role-a }
spec: { scopeRef: { name: s }, operations: [operation_all] }
---
apiVersion: kubekmip.io/v1alpha1
kind: KmipClientCredential
metadata: { name: app, namespace: team-a, uid: cred-a }
spec:
  scopeRef: { name: s }
  roleRef: { name: r }
  headerCredentials:
    - username: Fred
      passwordHash: "${fred}"
    - device: { serialNumber: serNum123456, deviceIdentifier: devID2233 }
    - username: Barney
      passwordHash: "not-a-hash"
status:
  serialNumber: "0a"
  certificateFingerprints: ["${'ab'.repeat(32)}"]
`);
  const source = await FilePolicySource.open(dir, { watch: false });
  t.teardown(() => source.close());
  const cred = source.current().bySerial.get('0a')!;
  t.is(cred.id, 'cred-a');
  t.deepEqual(cred.headerCredentials.map((c) => c.kind === 'user' ? c.username : c.device), ['Fred', { serialNumber: 'serNum123456', deviceIdentifier: 'devID2233' }]);
  const user = cred.headerCredentials[0]!;
  t.true(user.kind === 'user' && (await verifyPassword('password1', user.passwordHash)));
  // Barney's entry is malformed: reported (without the value) and left out, the others stand.
  const problems = source.problems.map((p) => p.message);
  t.true(problems.some((m) => m.startsWith('spec.headerCredentials[2]: password hash')), problems.join('; '));
  t.false(problems.join().includes('not-a-hash'));
});

test('malformed entries and duplicates grant nothing and are reported; the rest stand', async (t) => {
  const h = await hashPassword('x', FAST);
  const { credentials, problems } = parseHeaderCredentials([
    { username: 'a', passwordHash: h },
    { username: 'b' },
    { username: 'c', device: { deviceIdentifier: 'd' }, passwordHash: h },
    { device: {} },
    { device: { deviceIdentifier: 'd', colour: 'red' } },
    { device: { deviceIdentifier: 'd' } },
    { device: { deviceIdentifier: 'd' }, passwordHash: h },
    { username: '', passwordHash: h },
    'fred:password1',
  ]);
  t.deepEqual(credentials.map((c) => (c.kind === 'user' ? c.username : c.device)), ['a']);
  t.deepEqual(problems.map((p) => p.slice(0, p.indexOf(':'))), [1, 2, 3, 4, 7, 8, 5, 6].map((i) => `spec.headerCredentials[${i}]`));
  t.false(problems.join().includes('password1'));
  t.deepEqual(parseHeaderCredentials(undefined), { credentials: [], problems: [] });
  t.deepEqual(parseHeaderCredentials({}).problems, ['spec.headerCredentials is not a list']);
});

test('the CRD example\'s header credentials are what the server accepts', (t) => {
  const { credentials, problems } = parseHeaderCredentials(exampleCredential('ns').spec.headerCredentials);
  t.deepEqual(problems, []);
  t.is(credentials.length, 2);
});
