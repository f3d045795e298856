import test from 'ava';
import { readFileSync } from 'node:fs';
import { ERRATA, erratumFor, replaceAfter } from './errata.ts';
import { SKIPS, skipReason } from './skips.ts';
import { findVectorsDir, listVectorFiles } from './vectors.ts';

test('replaceAfter changes exactly the first match after the n-th anchor, and refuses when the text differs', (t) => {
  const text = 'A x B x A x';
  t.is(replaceAfter(text, 'A', 'x', 'y'), 'A y B x A x');
  t.is(replaceAfter(text, 'A', 'x', 'y', 2), 'A x B x A y');
  t.throws(() => replaceAfter(text, 'A', 'x', 'y', 3), { message: /fewer than 3 times/ });
  t.throws(() => replaceAfter(text, 'B', 'z', 'y'), { message: /does not follow/ });
});

test('each erratum applies to exactly one file, changes one value (in its places), and the file is not also skipped', (t) => {
  const files = listVectorFiles(findVectorsDir());
  for (const e of ERRATA) {
    const matching = files.filter((f) => f.rel.includes(e.path));
    t.is(matching.length, 1, `${e.path} names one file`);
    const f = matching[0]!;
    t.is(erratumFor(f.rel), e);
    t.is(skipReason(f, SKIPS, { http: true, notify: true }), undefined, `${f.rel} is corrected, not skipped`);
    const before = readFileSync(f.path, 'utf8');
    const after = e.fix(before);
    const a = before.split('\n');
    const b = after.split('\n');
    t.is(a.length, b.length);
    const changed = a.flatMap((line, i) => (line !== b[i] ? [[line, b[i]!] as const] : []));
    t.is(changed.length, e.places ?? 1, `${f.rel}: ${e.places ?? 1} line(s) changed`);
    // One value, the same correction in each place.
    const edits = new Set(changed.map(([x, y]) => {
      let s = 0;
      while (x[s] === y[s]) s++;
      let ex = x.length;
      let ey = y.length;
      while (ex > s && ey > s && x[ex - 1] === y[ey - 1]) { ex--; ey--; }
      return `${x.slice(s, ex)} -> ${y.slice(s, ey)}`;
    }));
    t.is(edits.size, 1, `${f.rel}: ${[...edits].join(', ')}`);
  }
});
