import test from 'ava';
import { randomBytes } from 'node:crypto';
import { decode } from './reader.ts';
import { encode, bigIntegerBytes } from './writer.ts';
import { Framer } from './framer.ts';
import { Tag } from './tag.ts';
import {
  DEFAULT_LIMITS, TtlvError, bigInt, bool, bytes, dateTime, dateTimeExtended, enumeration, int, interval, long, struct, text,
  type TtlvItem,
} from './types.ts';

const sample = (): TtlvItem =>
  struct(Tag.RequestMessage, [
    struct(Tag.RequestHeader, [
      struct(Tag.ProtocolVersion, [int(Tag.ProtocolVersionMajor, 1), int(Tag.ProtocolVersionMinor, 4)]),
      int(Tag.BatchCount, 1),
    ]),
    struct(Tag.BatchItem, [
      enumeration(Tag.Operation, 0x0a),
      struct(Tag.RequestPayload, [
        text(Tag.UniqueIdentifier, 'ключ-1'),
        bytes(Tag.KeyMaterial, Buffer.from([1, 2, 3])),
        long(Tag.UsageLimitsTotal, -5n),
        bigInt(Tag.D, -(1n << 70n)),
        bool(Tag.Fresh, true),
        dateTime(Tag.ActivationDate, 1_700_000_000),
        interval(Tag.LeaseTime, 3600),
        dateTimeExtended(Tag.TimeStamp, 1_700_000_000_123_456n),
        int(Tag.CryptographicLength, -1),
      ]),
    ]),
  ]);

test('every item type round-trips through encode and decode', (t) => {
  const item = sample();
  t.deepEqual(decode(encode(item)), item);
});

test('encoding matches the KMIP specification examples byte for byte', (t) => {
  // KMIP 1.4 §9.1.2 examples.
  t.is(encode(int(0x420020, 8)).toString('hex'), '42002002000000040000000800000000');
  t.is(encode(long(0x420020, 123456789000000000n)).toString('hex'), '420020030000000801b69b4ba5749200');
  t.is(encode(bigInt(0x420020, 1234567890000000000000000000n)).toString('hex'), '42002004000000100000000003fd35eb6bc2df4618080000');
  t.is(encode(enumeration(0x420020, 255)).toString('hex'), '42002005000000040000ff0000000000'.replace('0000ff00', '000000ff'));
  t.is(encode(bool(0x420020, true)).toString('hex'), '42002006000000080000000000000001');
  t.is(encode(text(0x420020, 'Hello World')).toString('hex'), '420020070000000b48656c6c6f20576f726c640000000000');
  t.is(encode(bytes(0x420020, Uint8Array.from([1, 2, 3]))).toString('hex'), '42002008000000030102030000000000');
  t.is(encode(dateTime(0x420020, 0x47da67f8)).toString('hex'), '42002009000000080000000047da67f8');
  t.is(encode(interval(0x420020, 864000)).toString('hex'), '4200200a00000004000d2f0000000000');
  t.is(
    encode(struct(0x420020, [enumeration(0x420004, 254), int(0x420005, 255)])).toString('hex'),
    '42002001000000204200040500000004000000fe000000004200050200000004000000ff00000000',
  );
});

test('big integers are sign-extended to a multiple of eight bytes', (t) => {
  t.is(Buffer.from(bigIntegerBytes(-1n)).toString('hex'), 'ffffffffffffffff');
  t.is(Buffer.from(bigIntegerBytes(1n << 63n)).toString('hex'), '00000000000000008000000000000000');
  t.is(decode(encode(bigInt(Tag.D, (1n << 63n) - 1n))).value, (1n << 63n) - 1n);
});

test('decode refuses truncation, bad types, bad lengths, depth and item count', (t) => {
  const good = encode(sample());
  for (let cut = 1; cut < good.length; cut += 7) {
    const err = t.throws(() => decode(good.subarray(0, cut)), { instanceOf: TtlvError });
    t.true(['TRUNCATED', 'BAD_LENGTH'].includes(err!.code));
  }
  const badType = Buffer.from(good);
  badType[3] = 0x0c;
  t.is(t.throws(() => decode(badType), { instanceOf: TtlvError })!.code, 'BAD_TYPE');
  const badIntLength = Buffer.from('42002002000000050000000800000000', 'hex');
  t.is(t.throws(() => decode(badIntLength), { instanceOf: TtlvError })!.code, 'BAD_LENGTH');
  let deep: TtlvItem = int(Tag.BatchCount, 1);
  for (let i = 0; i < 100; i++) deep = struct(Tag.RequestPayload, [deep]);
  t.is(t.throws(() => decode(encode(deep)), { instanceOf: TtlvError })!.code, 'TOO_DEEP');
  const many = struct(Tag.RequestPayload, Array.from({ length: 50 }, () => int(Tag.BatchCount, 1)));
  t.is(t.throws(() => decode(encode(many), { ...DEFAULT_LIMITS, maxItems: 10 }), { instanceOf: TtlvError })!.code, 'TOO_MANY_ITEMS');
  t.is(t.throws(() => decode(good, { ...DEFAULT_LIMITS, maxMessageBytes: 16 }), { instanceOf: TtlvError })!.code, 'TOO_LARGE');
});

test('random bytes never crash the decoder: it returns an item or throws TtlvError', (t) => {
  for (let i = 0; i < 2000; i++) {
    const buf = randomBytes(4 + (i % 200));
    if (i % 3 === 0) buf.writeUInt32BE(0x42007801, 0);
    try {
      decode(buf);
    } catch (err) {
      if (!(err instanceof TtlvError)) t.fail(`non-TTLV error: ${(err as Error).message}`);
    }
  }
  t.pass();
});

test('the framer reassembles a message split at every byte boundary', (t) => {
  const msg = encode(sample());
  for (let cut = 0; cut <= msg.length; cut++) {
    const f = new Framer(1 << 20);
    const frames = [...f.push(msg.subarray(0, cut)), ...f.push(msg.subarray(cut))];
    t.is(frames.length, 1);
    t.true(frames[0]!.equals(msg));
    t.is(f.pending, 0);
  }
});

test('the framer returns several messages from one chunk, keeping the partial tail', (t) => {
  const msg = encode(sample());
  const f = new Framer(1 << 20);
  const frames = f.push(Buffer.concat([msg, msg, msg.subarray(0, 10)]));
  t.is(frames.length, 2);
  t.is(f.pending, 10);
  t.is(f.push(msg.subarray(10)).length, 1);
});

test('the framer refuses an oversized declared length before buffering it', (t) => {
  const f = new Framer(1024);
  const head = Buffer.from('4200780100000000', 'hex');
  head.writeUInt32BE(0xfffffff0, 4);
  t.is(t.throws(() => f.push(head), { instanceOf: TtlvError })!.code, 'TOO_LARGE');
  const g = new Framer(1024);
  t.is(t.throws(() => g.push(Buffer.from('4200780200000004', 'hex')), { instanceOf: TtlvError })!.code, 'BAD_TYPE');
});
