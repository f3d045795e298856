import { Tag } from '../ttlv/tag.ts';
import { Operation, ValidityIndicator } from '../ttlv/enums.ts';
import { bytes, enumeration, text, type StructureItem, type TtlvItem } from '../ttlv/types.ts';
import { missingData } from '../messages/errors.ts';
import { optBytes, optText } from '../messages/tree.ts';
import type { ManagedObject } from '../objects/managed-object.ts';
import { STREAMS, partsOf, unknownCorrelation } from '../crypto/by-parts.ts';
import { chargeUsage, checkUse, keyAlgorithm, kmipErrors, paramsFor, secretMaterial, type KeyUse } from '../crypto/key-use.ts';
import { macEquals, macSpec, openMac, type MacStream } from '../crypto/mac.ts';
import type { OperationContext, OperationHandler } from './context.ts';
import { loadObject, targetUid, touch } from './common.ts';

/**
 * MAC (1.4 §4.33, 2.1 §6.1.32) and, through the same code, MAC Verify (1.4 §4.34, 2.1 §6.1.33): HMAC with SHA-1,
 * SHA-2, SHA-3 or MD5, or CMAC with AES or Triple DES (crypto/mac.ts), with a Symmetric Key or Secret Data, single-
 * part or by parts. MAC Verify compares in constant time; a MAC of another length is Invalid. Usage Limits are
 * charged by MAC only.
 */
export const mac: OperationHandler = (payload, ctx) => macOperation('mac', payload, ctx);

type MacUse = Extract<KeyUse, 'mac' | 'mac-verify'>;

interface MacState {
  uid: string;
  mac: MacStream;
  /** MAC Verify: a MAC Data given before the final part. */
  expected?: Uint8Array;
}

async function usable(ctx: OperationContext, uid: string, use: KeyUse): Promise<ManagedObject> {
  const obj = await loadObject(ctx, uid);
  checkUse(obj, use, ctx.version, ctx.now);
  return obj;
}

function charge(ctx: OperationContext, obj: ManagedObject, use: KeyUse, n: number, first: boolean): void {
  if (use === 'mac' && chargeUsage(obj, n, first)) {
    touch(obj, ctx);
    ctx.uow.save(obj);
  }
}

function result(use: MacUse, uid: string, m: MacStream, expected: Uint8Array | undefined): TtlvItem[] {
  const id = text(Tag.UniqueIdentifier, uid);
  if (use === 'mac') return [id, bytes(Tag.MACData, m.digest())];
  if (expected === undefined) throw missingData('MAC Verify needs MAC Data');
  return [id, enumeration(Tag.ValidityIndicator, macEquals(m.digest(), expected) ? ValidityIndicator.Valid : ValidityIndicator.Invalid)];
}

export async function macOperation(use: MacUse, payload: StructureItem, ctx: OperationContext): Promise<TtlvItem[]> {
  const operation = use === 'mac' ? Operation.MAC : Operation.MACVerify;
  const parts = partsOf(payload, ctx.version);
  const data = optBytes(payload, Tag.Data);
  const expected = use === 'mac-verify' ? optBytes(payload, Tag.MACData) : undefined;

  return kmipErrors(ctx.version, async () => {
    if (parts.kind === 'continue') {
      const st = STREAMS.get(parts.correlation, { scope: ctx.uow.scope, operation, uid: optText(payload, Tag.UniqueIdentifier) }) as MacState | undefined;
      if (!st) throw unknownCorrelation(ctx.version);
      try {
        const obj = await usable(ctx, st.uid, use);
        charge(ctx, obj, use, data?.length ?? 0, false);
        if (data) st.mac.update(data);
        if (expected !== undefined) st.expected = expected;
        if (!parts.final) return [text(Tag.UniqueIdentifier, st.uid), bytes(Tag.CorrelationValue, parts.correlation)];
        STREAMS.close(parts.correlation);
        return result(use, st.uid, st.mac, st.expected);
      } catch (err) {
        STREAMS.close(parts.correlation);
        throw err;
      }
    }

    const obj = await usable(ctx, targetUid(payload, ctx), use);
    const spec = macSpec(keyAlgorithm(obj), paramsFor(payload, obj));
    if (parts.kind === 'single' && data === undefined) throw missingData(`${use === 'mac' ? 'MAC' : 'MAC Verify'} needs Data`);
    charge(ctx, obj, use, data?.length ?? 0, true);
    const m = openMac(spec, secretMaterial(obj));
    if (data) m.update(data);
    if (parts.kind === 'init') {
      const st: MacState = { uid: obj.uid, mac: m, ...(expected !== undefined ? { expected } : {}) };
      const correlation = STREAMS.open({ scope: ctx.uow.scope, operation, uid: obj.uid }, st);
      return [text(Tag.UniqueIdentifier, obj.uid), bytes(Tag.CorrelationValue, correlation)];
    }
    return result(use, obj.uid, m, expected);
  });
}
