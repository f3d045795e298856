import { Tag } from '../ttlv/tag.ts';
import { AdjustmentType, ResultReason } from '../ttlv/enums.ts';
import { ItemType, text, type TtlvItem } from '../ttlv/types.ts';
import { KmipError, invalidField, missingData, operationNotSupported } from '../messages/errors.ts';
import { ruleByName } from '../messages/attribute-rules.ts';
import { find, reqEnum } from '../messages/tree.ts';
import { TAG_TYPES } from '../ttlv/spec/tables.ts';
import type { OperationHandler } from './context.ts';
import { assertNotArchived, loadObject, targetUid, touch } from './common.ts';
import { requestedNames } from './get-attributes.ts';
import { checkWritable, is2x, replaceInstance, settle } from './attribute-write.ts';

const INT32_MIN = -(2 ** 31);
const INT32_MAX = 2 ** 31 - 1;
const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

/** Item types Adjust Attribute can work on, by the spec's type names. */
const ADJUSTABLE: Readonly<Record<string, number>> = {
  'Integer': ItemType.Integer,
  'Long Integer': ItemType.LongInteger,
  'Big Integer': ItemType.BigInteger,
  'Interval': ItemType.Interval,
  'Date-Time': ItemType.DateTime,
  'Boolean': ItemType.Boolean,
};

const invalidType = (message: string) => new KmipError(ResultReason.InvalidDataType, message);
const range = (message: string) => new KmipError(ResultReason.NumericRange, message);

/** The zero value an absent attribute starts from (2.1 §6.1.3: 0 for numbers and intervals, false for Boolean). */
function zero(type: number): TtlvItem {
  switch (type) {
    case ItemType.LongInteger:
    case ItemType.BigInteger:
      return { tag: Tag.AttributeValue, type, value: 0n } as TtlvItem;
    case ItemType.Boolean:
      return { tag: Tag.AttributeValue, type: ItemType.Boolean, value: false };
    default:
      return { tag: Tag.AttributeValue, type, value: 0 } as TtlvItem;
  }
}

function adjust(current: TtlvItem, how: number, by: TtlvItem | undefined): TtlvItem {
  const intervalOnDate = current.type === ItemType.DateTime && by?.type === ItemType.Interval;
  if (by !== undefined && by.type !== current.type && !intervalOnDate) throw invalidType('Adjustment Value does not have the attribute\'s type');
  if (current.type === ItemType.Boolean) {
    if (how !== AdjustmentType.Negate) throw invalidType('a Boolean can only be negated');
    return { ...current, value: !current.value };
  }
  if (current.type === ItemType.LongInteger || current.type === ItemType.BigInteger) {
    const step = by === undefined ? 1n : (by.value as bigint);
    const v = how === AdjustmentType.Increment ? current.value + step : how === AdjustmentType.Decrement ? current.value - step : -current.value;
    if (current.type === ItemType.LongInteger && (v < INT64_MIN || v > INT64_MAX)) throw range('the result does not fit a Long Integer');
    return { ...current, value: v };
  }
  if (current.type === ItemType.Integer || current.type === ItemType.Interval || current.type === ItemType.DateTime) {
    const step = by === undefined ? 1 : (by.value as number);
    const v = how === AdjustmentType.Increment ? current.value + step : how === AdjustmentType.Decrement ? current.value - step : -current.value;
    const [min, max] = current.type === ItemType.Integer ? [INT32_MIN, INT32_MAX] : current.type === ItemType.Interval ? [0, 2 ** 32 - 1] : [0, Number.MAX_SAFE_INTEGER];
    if (!Number.isSafeInteger(v) || v < min || v > max) throw range('the result is out of range for the attribute');
    return { ...current, value: v } as TtlvItem;
  }
  throw invalidType('the attribute is not numeric or Boolean');
}

/**
 * Adjust Attribute (2.1 §6.1.3, KMIP 2.0+): Increment / Decrement (by the Adjustment Value, default 1) or Negate
 * a numeric, interval, date or Boolean attribute. An absent attribute starts from 0 / false; one with several
 * instances is refused (Multi Valued Attribute).
 */
export const adjustAttribute: OperationHandler = async (payload, ctx) => {
  if (!is2x(ctx)) throw operationNotSupported('Adjust Attribute is a KMIP 2.0 operation');
  const obj = await loadObject(ctx, targetUid(payload, ctx));
  assertNotArchived(obj);
  const names = requestedNames(payload.value);
  if (names.length === 0) throw missingData('Adjust Attribute needs an Attribute Reference');
  if (names.length > 1) throw invalidField('Adjust Attribute names more than one attribute');
  const name = names[0]!;
  const how = reqEnum(payload, Tag.AdjustmentType);
  if (how !== AdjustmentType.Increment && how !== AdjustmentType.Decrement && how !== AdjustmentType.Negate) throw invalidField('unknown Adjustment Type');
  const by = find(payload, Tag.AdjustmentValue);
  const instances = obj.all(name);
  if (instances.length > 1) throw new KmipError(ResultReason.MultiValuedAttribute, `attribute ${name} has several instances`);
  checkWritable(ctx, 'adjust', name, obj, instances.length === 1);
  let current = instances[0];
  if (current === undefined) {
    const rule = ruleByName(name);
    const type = rule ? ADJUSTABLE[TAG_TYPES[rule.name] ?? ''] : by?.type;
    if (type === undefined) throw invalidType(`attribute ${name} is absent and its type is not numeric or Boolean`);
    current = zero(type);
  }
  const value = adjust(current, how, by);
  if (instances.length === 1) replaceInstance(obj, name, 0, value);
  else obj.add(name, value);
  settle(obj, ctx, name);
  touch(obj, ctx);
  ctx.uow.save(obj);
  return [text(Tag.UniqueIdentifier, obj.uid)];
};
