import { Tag } from '../ttlv/tag.ts';
import { DestroyAction, QueryFunction, RNGAlgorithm, RNGMode, ShreddingAlgorithm, UnwrapMode } from '../ttlv/enums.ts';
import { ItemType, bool, enumeration, int, struct, text, type TtlvItem } from '../ttlv/types.ts';
import { enumValueDef, tagByValue, type Version } from '../ttlv/spec/names.ts';
import { atLeast, versionString, type ProtocolVersion } from '../messages/version.ts';
import type { OperationContext, OperationHandler } from './context.ts';
import { OBJECT_TAG } from './common.ts';
import { CLAIMED_PROFILES } from './profiles.ts';

const specVersion = (v: ProtocolVersion): Version => versionString(v) as Version;

/** True when the request's version has this enumeration value (never list a 2.x operation to a 1.0 client). */
function enumIn(enumName: string, value: number, v: ProtocolVersion): boolean {
  return enumValueDef(enumName, value, specVersion(v)) !== undefined;
}

/** True when the request's version has this tag. */
const tagIn = (tag: number, v: ProtocolVersion): boolean => tagByValue(tag, specVersion(v)) !== undefined;

/** Keeps the items of a structure the version knows. */
const known = (items: TtlvItem[], v: ProtocolVersion): TtlvItem[] => items.filter((i) => tagIn(i.tag, v));

/**
 * Query (1.4 §4.25, 2.1 §6.1.40): what this server offers, answered in the request's version (operations, object
 * types, tags and enumeration values newer than the request are left out). Per function:
 * - Operations: the operations this server implements that the caller's role allows (ctx.allowedOperations,
 *   from the handler registry).
 * - Objects: the object types Register accepts.
 * - Server Information: Vendor Identification, and a Server Information structure (2.x: Product Name).
 * - Capabilities (1.3+): asynchronous operations when the server takes them (ctx.pending, async/pending.ts); no
 *   streaming, no attestation; batch Undo and Continue.
 * - RNGs (1.3+): one RNG, Unspecified.
 * - Profiles (1.3+): a Profile Information per profile of profiles.ts (each proven by a conformance vector family)
 *   whose Profile Name exists at the request's version; 2.x adds its Profile Version.
 * - Storage Protection Masks (2.0+): an empty list (the server does not offer protection storage choices).
 * - Application Namespaces, Extension List / Map, Attestation Types, Validations, Client Registration
 *   Methods, Defaults Information: this server has none to declare, so they add nothing.
 * The response lists items in the order of the spec's response table, whatever the order of the functions.
 */
export const query: OperationHandler = async (payload, ctx) => {
  const v = ctx.version;
  const asked = new Set(payload.value.filter((i) => i.tag === Tag.QueryFunction && i.type === ItemType.Enumeration).map((i) => i.value as number));
  const out: TtlvItem[] = [];

  if (asked.has(QueryFunction.QueryOperations)) {
    for (const op of [...ctx.allowedOperations()].sort((a, b) => a - b)) {
      if (enumIn('Operation', op, v)) out.push(enumeration(Tag.Operation, op));
    }
  }
  if (asked.has(QueryFunction.QueryObjects)) {
    for (const type of Object.keys(OBJECT_TAG).map(Number).sort((a, b) => a - b)) {
      if (enumIn('Object Type', type, v)) out.push(enumeration(Tag.ObjectType, type));
    }
  }
  if (asked.has(QueryFunction.QueryServerInformation)) {
    out.push(text(Tag.VendorIdentification, ctx.server.vendorIdentification));
    out.push(struct(Tag.ServerInformation, serverInformation(ctx)));
  }
  if (asked.has(QueryFunction.QueryRNGs) && tagIn(Tag.RNGParameters, v)) {
    out.push(struct(Tag.RNGParameters, [enumeration(Tag.RNGAlgorithm, RNGAlgorithm.Unspecified)]));
  }
  if (asked.has(QueryFunction.QueryProfiles) && tagIn(Tag.ProfileInformation, v)) {
    for (const p of CLAIMED_PROFILES) {
      if (!enumIn('Profile Name', p.name, v)) continue;
      const version = p.version ? [struct(Tag.ProfileVersion, [int(Tag.ProfileVersionMajor, p.version.major), int(Tag.ProfileVersionMinor, p.version.minor)])] : [];
      out.push(struct(Tag.ProfileInformation, known([enumeration(Tag.ProfileName, p.name), ...version], v)));
    }
  }
  if (asked.has(QueryFunction.QueryCapabilities) && tagIn(Tag.CapabilityInformation, v)) {
    out.push(struct(Tag.CapabilityInformation, known([
      bool(Tag.StreamingCapability, false),
      bool(Tag.AsynchronousCapability, ctx.pending !== undefined),
      bool(Tag.AttestationCapability, false),
      bool(Tag.BatchUndoCapability, true),
      bool(Tag.BatchContinueCapability, true),
      enumeration(Tag.UnwrapMode, UnwrapMode.Unspecified),
      enumeration(Tag.DestroyAction, DestroyAction.Unspecified),
      enumeration(Tag.ShreddingAlgorithm, ShreddingAlgorithm.Unspecified),
      enumeration(Tag.RNGMode, RNGMode.Unspecified),
      bool(Tag.QuantumSafeCapability, false),
    ], v)));
  }
  if (asked.has(QueryFunction.QueryStorageProtectionMasks) && tagIn(Tag.ProtectionStorageMasks, v)) {
    out.push(struct(Tag.ProtectionStorageMasks, []));
  }
  return out;
};

/** 1.x leaves the structure to the vendor (we put nothing in it); 2.x defines fields, of which Product Name fits. */
function serverInformation(ctx: OperationContext): TtlvItem[] {
  if (!atLeast(ctx.version, 2, 0)) return [];
  return [text(Tag.ProductName, ctx.server.serverInformation)];
}
