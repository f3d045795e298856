/**
 * The request side of cryptographic operations done by parts (1.4 §2.1.15-2.1.17, 2.1 §2.1.15-2.1.17): Init
 * Indicator starts a stream and the response carries a Correlation Value; later requests send it back; Final
 * Indicator ends the stream. A request with neither indicator nor Correlation Value is single-part, and so is one
 * with Init and Final together. The streams live in one process-wide StreamStore (crypto/streams.ts).
 */
import { Tag } from '../ttlv/tag.ts';
import { ResultReason } from '../ttlv/enums.ts';
import type { StructureItem } from '../ttlv/types.ts';
import { KmipError } from '../messages/errors.ts';
import { optBool, optBytes } from '../messages/tree.ts';
import { atLeast, type ProtocolVersion } from '../messages/version.ts';
import { StreamStore } from './streams.ts';

export type Parts =
  | { kind: 'single' }
  | { kind: 'init' }
  | { kind: 'continue'; correlation: Uint8Array; final: boolean };

export function partsOf(payload: StructureItem, version: ProtocolVersion): Parts {
  // Streaming came with 1.3: an older message has no such fields, and its answer could not carry a Correlation Value.
  if (!atLeast(version, 1, 3) && payload.value.some((i) => i.tag === Tag.InitIndicator || i.tag === Tag.FinalIndicator || i.tag === Tag.CorrelationValue)) {
    throw new KmipError(ResultReason.InvalidField, `operations by parts (Init Indicator, Final Indicator, Correlation Value) begin with KMIP 1.3, not ${version.major}.${version.minor}`);
  }
  const init = optBool(payload, Tag.InitIndicator) === true;
  const final = optBool(payload, Tag.FinalIndicator) === true;
  const correlation = optBytes(payload, Tag.CorrelationValue);
  if (correlation !== undefined) {
    if (init) throw new KmipError(ResultReason.InvalidMessage, 'Init Indicator and Correlation Value together: a stream starts without one');
    return { kind: 'continue', correlation, final };
  }
  if (init && !final) return { kind: 'init' };
  return { kind: 'single' };
}

/** Every stream of every cryptographic operation, by Correlation Value. */
export const STREAMS = new StreamStore<unknown>();

/** 2.x Invalid Correlation Value; 1.x Item Not Found ("no outstanding operation with the specified Correlation Value", 1.4 §11.30). */
export function unknownCorrelation(version: ProtocolVersion): KmipError {
  return new KmipError(
    atLeast(version, 2, 0) ? ResultReason.InvalidCorrelationValue : ResultReason.ItemNotFound,
    'no operation in progress has this Correlation Value (it ended, expired, or belongs to another object or caller)',
  );
}
