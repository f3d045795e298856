import test from 'ava';
import { setCondition } from './conditions.ts';
import { parseDuration } from './duration.ts';

test('lastTransitionTime moves only when the status changes; observedGeneration always follows', (t) => {
  const t0 = new Date('2026-01-01T00:00:00.123Z');
  const t1 = new Date('2026-01-02T00:00:00Z');
  const a = setCondition(undefined, { type: 'Ready', status: 'False', reason: 'Pending', message: 'm' }, 1, t0);
  t.deepEqual(a, [{ type: 'Ready', status: 'False', reason: 'Pending', message: 'm', lastTransitionTime: '2026-01-01T00:00:00Z', observedGeneration: 1 }]);
  const b = setCondition(a, { type: 'Ready', status: 'False', reason: 'Other', message: 'n' }, 2, t1);
  t.is(b[0]!.lastTransitionTime, '2026-01-01T00:00:00Z');
  t.is(b[0]!.observedGeneration, 2);
  t.is(b[0]!.reason, 'Other');
  const c = setCondition(b, { type: 'Ready', status: 'True', reason: 'Ok', message: '' }, 2, t1);
  t.is(c[0]!.lastTransitionTime, '2026-01-02T00:00:00Z');
  const d = setCondition(c, { type: 'Other', status: 'True', reason: 'X', message: '' }, 2, t1);
  t.is(d.length, 2, 'other condition types are kept');
});

test('Go-syntax durations', (t) => {
  t.is(parseDuration('720h'), 720 * 3_600_000);
  t.is(parseDuration('1h30m'), 90 * 60_000);
  t.is(parseDuration('1.5h'), 90 * 60_000);
  t.is(parseDuration('15s'), 15_000);
  t.is(parseDuration('250ms'), 250);
  for (const bad of ['', '10', 'h', '1d', '1h 30m', '-1h']) t.throws(() => parseDuration(bad), undefined, bad);
});
