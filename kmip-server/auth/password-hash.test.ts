import test from 'ava';
import { DEFAULT_PARAMS, MalformedHashError, decoyHash, hashPassword, parsePasswordHash, verifyPassword } from './password-hash.ts';

const FAST = { ln: 10, r: 8, p: 1 };

test('hashPassword writes a PHC $scrypt$ string with the default parameters and a fresh salt', async (t) => {
  const a = await hashPassword('password1');
  const b = await hashPassword('password1');
  t.regex(a, /^\$scrypt\$ln=15,r=8,p=1\$[A-Za-z0-9+/]{22}\$[A-Za-z0-9+/]{43}$/);
  t.not(a, b, 'two hashes of one password differ (random salt)');
  t.false(a.includes('password1'));
  const parsed = parsePasswordHash(a);
  t.like(parsed, DEFAULT_PARAMS);
  t.is(parsed.salt.length, 16);
  t.is(parsed.hash.length, 32);
});

test('verifyPassword accepts the password and refuses any other', async (t) => {
  const h = parsePasswordHash(await hashPassword('password1', FAST));
  t.true(await verifyPassword('password1', h));
  t.false(await verifyPassword('password2', h));
  t.false(await verifyPassword('', h));
  t.false(await verifyPassword('password1 ', h));
});

test('a composed and a decomposed spelling of one password are the same password (NFC)', async (t) => {
  const h = parsePasswordHash(await hashPassword('caf\u00e9', FAST));
  t.true(await verifyPassword('cafe\u0301', h));
});

test('a hash made elsewhere with the same parameters verifies (the format is the interchange)', async (t) => {
  // scrypt("secret", salt "saltsaltsaltsalt", N=1024, r=8, p=1, 32 bytes), computed once with node:crypto.
  const { scryptSync } = await import('node:crypto');
  const hash = scryptSync('secret', 'saltsaltsaltsalt', 32, { N: 1024, r: 8, p: 1 }).toString('base64').replace(/=+$/, '');
  const phc = `$scrypt$ln=10,r=8,p=1$${Buffer.from('saltsaltsaltsalt').toString('base64').replace(/=+$/, '')}$${hash}`;
  t.true(await verifyPassword('secret', parsePasswordHash(phc)));
});

test('malformed hashes are refused with a message that does not quote them', (t) => {
  const good = '$scrypt$ln=10,r=8,p=1$c2FsdHNhbHRzYWx0c2FsdA$' + 'A'.repeat(43);
  t.notThrows(() => parsePasswordHash(good));
  const bad = [
    'password1',
    '',
    '$2b$10$abcdefghijklmnopqrstuv', // bcrypt
    '$scrypt$ln=15,r=8$c2FsdHNhbHRzYWx0c2FsdA$' + 'A'.repeat(43), // no p
    '$scrypt$ln=15,r=8,p=1$c2FsdHNhbHRzYWx0c2FsdA==$' + 'A'.repeat(43), // padded
    '$scrypt$ln=15,r=8,p=1$c2FsdA$' + 'A'.repeat(43), // salt too short
    '$scrypt$ln=15,r=8,p=1$c2FsdHNhbHRzYWx0c2FsdA$AAAA', // hash too short
    '$scrypt$ln=4,r=8,p=1$c2FsdHNhbHRzYWx0c2FsdA$' + 'A'.repeat(43), // too cheap
    '$scrypt$ln=30,r=8,p=1$c2FsdHNhbHRzYWx0c2FsdA$' + 'A'.repeat(43), // too much memory
    '$scrypt$ln=20,r=32,p=16$c2FsdHNhbHRzYWx0c2FsdA$' + 'A'.repeat(43), // 128 N r p over 256 MiB
    '$scrypt$ln=15,r=0,p=1$c2FsdHNhbHRzYWx0c2FsdA$' + 'A'.repeat(43),
  ];
  for (const b of bad) {
    const err = t.throws(() => parsePasswordHash(b), { instanceOf: MalformedHashError }, b);
    if (b.length > 12) t.false(err!.message.includes(b.slice(-12)), 'the message never quotes the hash');
  }
});

test('the decoy hash matches no password', async (t) => {
  t.false(await verifyPassword('', decoyHash(FAST)));
  t.false(await verifyPassword('password1', decoyHash(FAST)));
});
