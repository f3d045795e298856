// The ObjectStore contract as ava tests, shared by every backend's suite (memory and SQLite in
// store.test.ts, ConfigMaps against a real API server in test/envtest/server-store.test.ts).
import test from 'ava';
import { StoreUidInUseError } from './common.ts';
import { StoreConflictError, type ObjectRecord, type ObjectStore } from './types.ts';

export const enc = new TextEncoder();
export const bytes = (s: string): Uint8Array => enc.encode(s);
export const SYMMETRIC_KEY = 2;
export const SECRET_DATA = 7;
export const PRE_ACTIVE = 1;
export const ACTIVE = 2;
export const DESTROYED = 5;

export function rec(uid: string, over: Partial<ObjectRecord> = {}): ObjectRecord {
  return {
    uid,
    scope: 'tenant-a',
    objectType: SYMMETRIC_KEY,
    state: PRE_ACTIVE,
    names: [],
    attributes: bytes(`attrs:${uid}`),
    material: bytes(`material:${uid}`),
    revision: 0,
    ...over,
  };
}

export interface Backend {
  name: string;
  make(): Promise<ObjectStore>;
}

/** Registers the contract tests for one backend. */
export function storeContract(b: Backend): void {
  const t = (title: string, fn: (t: import('ava').ExecutionContext, s: ObjectStore) => Promise<void>) =>
    test(`${b.name}: ${title}`, async (tt) => {
      const s = await b.make();
      try {
        await fn(tt, s);
      } finally {
        await s.close();
      }
    });

  t('put then get returns an equal record with revision 1', async (t, s) => {
    const r = rec('k1', { names: ['alpha', 'beta'] });
    await s.write([{ kind: 'put', record: r }]);
    t.is(r.revision, 1, 'the written record is given its stored revision');
    const got = await s.get('tenant-a', 'k1');
    t.deepEqual(got, { ...rec('k1', { names: ['alpha', 'beta'] }), revision: 1 });
    t.is(await s.get('tenant-a', 'missing'), undefined);
  });

  t('owner is kept with the record: in get and list, and through updates that carry it or clear it', async (t, s) => {
    await s.write([{ kind: 'put', record: rec('owned', { owner: 'cred-1/user:Fred' }) }, { kind: 'put', record: rec('free') }]);
    t.is((await s.get('tenant-a', 'owned'))!.owner, 'cred-1/user:Fred');
    t.false('owner' in (await s.get('tenant-a', 'free'))!, 'no owner: the field is absent, not empty');
    t.deepEqual((await s.list('tenant-a')).map((r) => [r.uid, r.owner]), [['owned', 'cred-1/user:Fred'], ['free', undefined]]);
    const shared = await s.getShared?.('tenant-a', 'owned');
    if (shared) t.is(shared.owner, 'cred-1/user:Fred');
    await s.write([{ kind: 'put', record: rec('owned', { owner: 'cred-1/user:Fred', state: ACTIVE }), expectRevision: 1 }]);
    t.is((await s.get('tenant-a', 'owned'))!.owner, 'cred-1/user:Fred');
    await s.write([{ kind: 'put', record: rec('owned', { state: ACTIVE }), expectRevision: 2 }]);
    t.false('owner' in (await s.get('tenant-a', 'owned'))!);
    await t.throwsAsync(s.write([{ kind: 'put', record: rec('bad', { owner: '' }) }]), { instanceOf: TypeError });
  });

  t('buffers are copied: mutating inputs or outputs does not change the store', async (t, s) => {
    const r = rec('k1');
    await s.write([{ kind: 'put', record: r }]);
    r.attributes[0] = 0;
    r.material![0] = 0;
    r.names.push('late');
    const got = (await s.get('tenant-a', 'k1'))!;
    t.deepEqual(got.attributes, bytes('attrs:k1'));
    t.deepEqual(got.material, bytes('material:k1'));
    t.deepEqual(got.names, []);
    got.attributes[0] = 0;
    got.material![0] = 0;
    const again = (await s.get('tenant-a', 'k1'))!;
    t.deepEqual(again.attributes, bytes('attrs:k1'));
    t.deepEqual(again.material, bytes('material:k1'));
  });

  t('list filters by object type, state and name, in creation order', async (t, s) => {
    await s.write([{ kind: 'put', record: rec('c', { names: ['n1'] }) }]);
    await s.write([{ kind: 'put', record: rec('a', { objectType: SECRET_DATA, names: ['n1', 'n2'] }) }]);
    await s.write([{ kind: 'put', record: rec('b', { state: ACTIVE }) }]);
    await s.write([{ kind: 'put', record: rec('d', { scope: 'tenant-b', names: ['n1'] }) }]);
    // Updating an object keeps its place in creation order.
    await s.write([{ kind: 'put', record: rec('c', { state: ACTIVE, names: ['n3'] }) }]);
    const uids = async (f?: Parameters<ObjectStore['list']>[1]) => (await s.list('tenant-a', f)).map((r) => r.uid);
    t.deepEqual(await uids(), ['c', 'a', 'b']);
    t.deepEqual(await uids({}), ['c', 'a', 'b']);
    t.deepEqual(await uids({ objectType: SYMMETRIC_KEY }), ['c', 'b']);
    t.deepEqual(await uids({ state: ACTIVE }), ['c', 'b']);
    t.deepEqual(await uids({ state: ACTIVE, objectType: SECRET_DATA }), []);
    t.deepEqual(await uids({ name: 'n1' }), ['a']); // c was renamed, d is another scope
    t.deepEqual(await uids({ name: 'n3' }), ['c']);
    t.deepEqual(await uids({ name: 'n2', objectType: SECRET_DATA, state: PRE_ACTIVE }), ['a']);
    t.deepEqual(await uids({ name: 'nope' }), []);
    const full = await s.list('tenant-a', { name: 'n2' });
    t.deepEqual(full, [{ ...rec('a', { objectType: SECRET_DATA, names: ['n1', 'n2'] }), revision: 1 }]);
    t.is(await s.count('tenant-a'), 3);
    t.is(await s.count('tenant-b'), 1);
    t.is(await s.count('tenant-c'), 0);
  });

  t('a re-created uid moves to the end of creation order', async (t, s) => {
    await s.write([{ kind: 'put', record: rec('x') }, { kind: 'put', record: rec('y') }]);
    await s.write([{ kind: 'delete', scope: 'tenant-a', uid: 'x' }, { kind: 'put', record: rec('x') }]);
    t.deepEqual((await s.list('tenant-a')).map((r) => [r.uid, r.revision]), [['y', 1], ['x', 1]]);
  });

  t('scopes are isolated', async (t, s) => {
    await s.write([{ kind: 'put', record: rec('k1', { names: ['shared'] }) }]);
    t.is(await s.get('tenant-b', 'k1'), undefined);
    t.deepEqual(await s.list('tenant-b'), []);
    t.deepEqual(await s.list('tenant-b', { name: 'shared' }), []);
    // A delete from another scope does nothing.
    await s.write([{ kind: 'delete', scope: 'tenant-b', uid: 'k1' }]);
    t.truthy(await s.get('tenant-a', 'k1'));
    // A put from another scope cannot take over the uid.
    const err = await t.throwsAsync(s.write([{ kind: 'put', record: rec('k1', { scope: 'tenant-b' }) }]));
    t.true(err instanceof StoreUidInUseError);
    t.deepEqual((await s.get('tenant-a', 'k1'))!.attributes, bytes('attrs:k1'));
    t.is(await s.count('tenant-b'), 0);
  });

  t('revisions increase and expectRevision detects conflicts', async (t, s) => {
    await s.write([{ kind: 'put', record: rec('k1'), expectRevision: 0 }]);
    const err0 = await t.throwsAsync(s.write([{ kind: 'put', record: rec('k1'), expectRevision: 0 }]));
    t.true(err0 instanceof StoreConflictError);
    t.is((err0 as StoreConflictError).code, 'STORE_CONFLICT');
    t.is((err0 as StoreConflictError).uid, 'k1');
    await s.write([{ kind: 'put', record: rec('k1', { state: ACTIVE }), expectRevision: 1 }]);
    await s.write([{ kind: 'put', record: rec('k1', { state: ACTIVE }) }]); // unconditional
    t.is((await s.get('tenant-a', 'k1'))!.revision, 3);
    const err = await t.throwsAsync(s.write([{ kind: 'put', record: rec('k1'), expectRevision: 2 }]), {
      instanceOf: StoreConflictError,
    });
    t.regex(err!.message, /expected revision 2, found 3/);
    t.is((await s.get('tenant-a', 'k1'))!.state, ACTIVE);
    // Expecting a revision of an absent object is a conflict too.
    await t.throwsAsync(s.write([{ kind: 'put', record: rec('k9'), expectRevision: 1 }]), {
      instanceOf: StoreConflictError,
    });
    t.is(await s.get('tenant-a', 'k9'), undefined);
    // Ops in one batch see each other.
    await s.write([
      { kind: 'put', record: rec('k2'), expectRevision: 0 },
      { kind: 'put', record: rec('k2', { state: ACTIVE }), expectRevision: 1 },
    ]);
    t.is((await s.get('tenant-a', 'k2'))!.revision, 2);
  });

  t('a failing op rolls back the whole batch', async (t, s) => {
    await s.write([{ kind: 'put', record: rec('k1') }, { kind: 'put', record: rec('k2', { names: ['old'] }) }]);
    const batch = [
      { kind: 'put' as const, record: rec('new', { names: ['fresh'] }) },
      { kind: 'put' as const, record: rec('k2', { state: ACTIVE, names: ['renamed'] }), expectRevision: 1 },
      { kind: 'delete' as const, scope: 'tenant-a', uid: 'k1' },
      { kind: 'put' as const, record: rec('k1'), expectRevision: 5 }, // conflicts
    ];
    await t.throwsAsync(s.write(batch), { instanceOf: StoreConflictError });
    t.is(batch[0]!.record!.revision, 0, 'records of a failed batch are left untouched');
    t.is(await s.get('tenant-a', 'new'), undefined);
    const k2 = (await s.get('tenant-a', 'k2'))!;
    t.is(k2.state, PRE_ACTIVE);
    t.is(k2.revision, 1);
    t.deepEqual(k2.names, ['old']);
    t.deepEqual((await s.list('tenant-a', { name: 'old' })).map((r) => r.uid), ['k2']);
    t.deepEqual(await s.list('tenant-a', { name: 'renamed' }), []);
    t.deepEqual(await s.list('tenant-a', { name: 'fresh' }), []);
    t.truthy(await s.get('tenant-a', 'k1'));
    t.is(await s.count('tenant-a'), 2);
    // The store still works after a rollback.
    await s.write([{ kind: 'put', record: rec('new') }]);
    t.is(await s.count('tenant-a'), 3);
  });

  t('concurrent writes: each batch is atomic on its own', async (t, s) => {
    await s.write([{ kind: 'put', record: rec('base') }]);
    const results = await Promise.allSettled([
      s.write([{ kind: 'put', record: rec('w1') }]),
      s.write([
        { kind: 'put', record: rec('w2') },
        { kind: 'put', record: rec('base'), expectRevision: 7 }, // conflicts: w2 must not land
      ]),
      s.write([{ kind: 'put', record: rec('w3') }, { kind: 'delete', scope: 'tenant-a', uid: 'base' }]),
      // Two creators race for one uid: exactly one wins.
      s.write([{ kind: 'put', record: rec('race', { state: ACTIVE }), expectRevision: 0 }]),
      s.write([{ kind: 'put', record: rec('race'), expectRevision: 0 }]),
    ]);
    t.deepEqual(
      results.map((r) => r.status),
      ['fulfilled', 'rejected', 'fulfilled', 'fulfilled', 'rejected'],
    );
    t.true((results[1] as PromiseRejectedResult).reason instanceof StoreConflictError);
    t.true((results[4] as PromiseRejectedResult).reason instanceof StoreConflictError);
    t.deepEqual((await s.list('tenant-a')).map((r) => r.uid), ['w1', 'w3', 'race']);
    t.is((await s.get('tenant-a', 'race'))!.state, ACTIVE);
  });

  t('delete removes the object and its names; deleting a missing uid is a no-op', async (t, s) => {
    await s.write([{ kind: 'put', record: rec('k1', { names: ['n'] }) }]);
    await s.write([{ kind: 'delete', scope: 'tenant-a', uid: 'k1' }]);
    t.is(await s.get('tenant-a', 'k1'), undefined);
    t.deepEqual(await s.list('tenant-a', { name: 'n' }), []);
    t.is(await s.count('tenant-a'), 0);
    await s.write([{ kind: 'delete', scope: 'tenant-a', uid: 'k1' }]);
    // A re-created uid starts over at revision 1.
    await s.write([{ kind: 'put', record: rec('k1'), expectRevision: 0 }]);
    t.is((await s.get('tenant-a', 'k1'))!.revision, 1);
  });

  t('material is null after a destroy put', async (t, s) => {
    await s.write([{ kind: 'put', record: rec('k1', { state: ACTIVE }) }]);
    await s.write([{ kind: 'put', record: rec('k1', { state: DESTROYED, material: null }), expectRevision: 1 }]);
    const got = (await s.get('tenant-a', 'k1'))!;
    t.is(got.material, null);
    t.is(got.state, DESTROYED);
    t.deepEqual(got.attributes, bytes('attrs:k1'));
    t.is((await s.list('tenant-a', { state: DESTROYED }))[0]!.material, null);
  });

  t('countByScope counts the objects that still hold material, per scope', async (t, s) => {
    t.deepEqual(await s.countByScope(), new Map());
    await s.write([{ kind: 'put', record: rec('a1') }, { kind: 'put', record: rec('a2') }, { kind: 'put', record: rec('b1', { scope: 'tenant-b' }) }]);
    await s.write([{ kind: 'put', record: rec('a3', { state: DESTROYED, material: null }) }]);
    await s.write([{ kind: 'put', record: rec('c1', { scope: 'tenant-c', state: DESTROYED, material: null }) }]);
    t.deepEqual(await s.countByScope(), new Map([['tenant-a', 2], ['tenant-b', 1]]), 'destroyed objects are not counted');
    await s.write([{ kind: 'delete', scope: 'tenant-b', uid: 'b1' }]);
    await s.write([{ kind: 'put', record: rec('a1', { state: DESTROYED, material: null }) }]);
    t.deepEqual(await s.countByScope(), new Map([['tenant-a', 1]]), 'a scope left empty is left out');
  });

  t('deleteScope removes every object of the scope and nothing else; the scope starts afresh', async (t, s) => {
    await s.write([
      { kind: 'put', record: rec('a1', { names: ['shared'] }) },
      { kind: 'put', record: rec('a2', { material: null, state: DESTROYED }) },
      { kind: 'put', record: rec('b1', { scope: 'tenant-b', names: ['shared'] }) },
    ]);
    t.is(await s.deleteScope('tenant-a'), 2);
    t.is(await s.get('tenant-a', 'a1'), undefined);
    t.deepEqual(await s.list('tenant-a'), []);
    t.deepEqual(await s.list('tenant-a', { name: 'shared' }), []);
    t.is(await s.count('tenant-a'), 0);
    t.deepEqual(await s.countByScope(), new Map([['tenant-b', 1]]));
    t.deepEqual((await s.get('tenant-b', 'b1'))!.material, bytes('material:b1'), 'another scope keeps its objects and can open them');
    t.is(await s.deleteScope('tenant-a'), 0, 'deleting an empty scope is no error');
    // The scope can hold objects again (under a new data key where the backend keeps one), and the
    // deleted uids start over at revision 1.
    await s.write([{ kind: 'put', record: rec('a1'), expectRevision: 0 }]);
    const again = (await s.get('tenant-a', 'a1'))!;
    t.is(again.revision, 1);
    t.deepEqual(again.material, bytes('material:a1'));
    await t.throwsAsync(s.deleteScope(''), { instanceOf: TypeError });
  });

  t('empty batch and malformed input', async (t, s) => {
    await s.write([]);
    await t.throwsAsync(s.write([{ kind: 'put', record: rec('') }]), { instanceOf: TypeError });
    await t.throwsAsync(
      s.write([{ kind: 'put', record: rec('k1') }, { kind: 'put', record: rec('k2', { attributes: 'x' as never }) }]),
      { instanceOf: TypeError },
    );
    t.is(await s.get('tenant-a', 'k1'), undefined, 'validation happens before anything is applied');
  });

  t('closed store rejects calls', async (t, s) => {
    await s.close();
    await t.throwsAsync(s.get('tenant-a', 'k1'), { message: /closed/ });
  });
}
