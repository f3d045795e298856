import { Tag } from '../ttlv/tag.ts';
import { ItemType, int, struct, type TtlvItem } from '../ttlv/types.ts';
import { SUPPORTED_VERSIONS, compareVersions, type ProtocolVersion } from '../messages/version.ts';
import type { OperationHandler } from './context.ts';

const versionItem = (v: ProtocolVersion): TtlvItem =>
  struct(Tag.ProtocolVersion, [int(Tag.ProtocolVersionMajor, v.major), int(Tag.ProtocolVersionMinor, v.minor)]);

/**
 * Discover Versions: the client's list intersected with ours, in our order (newest first), or all
 * of ours when the client lists none. Clients such as OpenBao's seal take the first entry.
 * Versions newer than the request's own are included: the answer is about what the client may use next.
 */
export const discoverVersions: OperationHandler = async (payload) => {
  const offered: ProtocolVersion[] = [];
  for (const i of payload.value) {
    if (i.tag !== Tag.ProtocolVersion || i.type !== ItemType.Structure) continue;
    const major = i.value.find((c) => c.tag === Tag.ProtocolVersionMajor);
    const minor = i.value.find((c) => c.tag === Tag.ProtocolVersionMinor);
    if (major?.type === ItemType.Integer && minor?.type === ItemType.Integer) offered.push({ major: major.value, minor: minor.value });
  }
  const answer = offered.length === 0
    ? SUPPORTED_VERSIONS
    : SUPPORTED_VERSIONS.filter((s) => offered.some((o) => compareVersions(o, s) === 0));
  return answer.map(versionItem);
};
