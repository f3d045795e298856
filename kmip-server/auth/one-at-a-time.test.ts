import test from 'ava';
import { OneAtATime } from './one-at-a-time.ts';

const tick = () => new Promise<void>((r) => setImmediate(r));

test('tasks of one key never overlap and run in order; other keys run alongside; a failure does not stop the queue', async (t) => {
  const q = new OneAtATime();
  let running = 0;
  let most = 0;
  const order: string[] = [];
  const task = (name: string, fail = false) => async () => {
    running++;
    most = Math.max(most, running);
    for (let i = 0; i < 3; i++) await tick();
    order.push(name);
    running--;
    if (fail) throw new Error(name);
    return name;
  };
  const a = [q.run('a', task('a1')), q.run('a', task('a2', true)), q.run('a', task('a3'))];
  t.is(q.size, 1);
  const results = await Promise.allSettled(a);
  t.is(most, 1);
  t.deepEqual(order, ['a1', 'a2', 'a3']);
  t.deepEqual(results.map((r) => r.status), ['fulfilled', 'rejected', 'fulfilled']);
  await tick();
  t.is(q.size, 0, 'an empty queue is forgotten');

  running = 0;
  most = 0;
  await Promise.all([q.run('x', task('x')), q.run('y', task('y'))]);
  t.is(most, 2, 'different keys run side by side');
});
