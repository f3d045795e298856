import test from 'ava';
import { StreamStore } from './streams.ts';

test('a stream is found by its Correlation Value only for its scope, operation and object', (t) => {
  const s = new StreamStore<string>();
  const key = { scope: 'a', operation: 31, uid: 'k1' };
  const cv = s.open(key, 'state');
  t.is(cv.length, 16);
  t.is(s.get(cv, key), 'state');
  t.is(s.get(cv, { ...key, uid: undefined }), 'state', 'an omitted identifier matches');
  t.is(s.get(cv, { ...key, scope: 'b' }), undefined);
  t.is(s.get(cv, { ...key, operation: 32 }), undefined);
  t.is(s.get(cv, { ...key, uid: 'k2' }), undefined);
  s.close(cv);
  t.is(s.get(cv, key), undefined);
});

test('idle streams expire; the store and each scope are bounded (oldest idle dropped)', (t) => {
  let now = 0;
  const s = new StreamStore<number>({ maxStreams: 4, maxPerScope: 2, idleMs: 1000, now: () => now });
  const a1 = s.open({ scope: 'a', operation: 1, uid: undefined }, 1);
  now = 10;
  const a2 = s.open({ scope: 'a', operation: 1, uid: undefined }, 2);
  now = 20;
  const a3 = s.open({ scope: 'a', operation: 1, uid: undefined }, 3);
  const k = { scope: 'a', operation: 1, uid: undefined };
  t.is(s.get(a1, k), undefined, 'dropped for the scope bound');
  t.is(s.get(a2, k), 2);
  t.is(s.get(a3, k), 3);
  for (let i = 0; i < 3; i++) s.open({ scope: `s${i}`, operation: 1, uid: undefined }, 10 + i);
  t.is(s.size, 4);
  now = 2000;
  t.is(s.get(a3, k), undefined, 'expired');
  t.is(s.size, 0);
});
