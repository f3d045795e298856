/** A KMIP protocol version, compared as (major, minor). */
export interface ProtocolVersion {
  major: number;
  minor: number;
}

/** What this server speaks, in preference order (newest first), as Discover Versions answers. */
export const SUPPORTED_VERSIONS: readonly ProtocolVersion[] = [
  { major: 2, minor: 1 },
  { major: 2, minor: 0 },
  { major: 1, minor: 4 },
  { major: 1, minor: 3 },
  { major: 1, minor: 2 },
  { major: 1, minor: 1 },
  { major: 1, minor: 0 },
];

export const compareVersions = (a: ProtocolVersion, b: ProtocolVersion): number =>
  a.major !== b.major ? a.major - b.major : a.minor - b.minor;

/** True when `v` is at least `major.minor`. */
export const atLeast = (v: ProtocolVersion, major: number, minor: number): boolean =>
  compareVersions(v, { major, minor }) >= 0;

export const isSupported = (v: ProtocolVersion): boolean =>
  SUPPORTED_VERSIONS.some((s) => s.major === v.major && s.minor === v.minor);

export const versionString = (v: ProtocolVersion): string => `${v.major}.${v.minor}`;

/**
 * The version to answer in. A request in a version we do not know is answered in the newest
 * version we have that is not newer than it (so an unknown 1.5 gets 1.4), never something newer.
 */
export function responseVersion(v: ProtocolVersion): ProtocolVersion {
  for (const s of SUPPORTED_VERSIONS) if (compareVersions(s, v) <= 0) return s;
  return SUPPORTED_VERSIONS[SUPPORTED_VERSIONS.length - 1]!;
}
