/**
 * Vector files the conformance run does not send, each with the reason printed in the report. A skipped file is
 * never counted as passed. An entry names a family (exactly, see vectors.ts familyOf) or a substring of the
 * file's path relative to the vectors directory (e.g. "v1.2/TC_32_").
 *
 * Keep reasons factual: what the file needs that this run (or this server) does not provide.
 */
export interface SkipRule {
  family?: string;
  /** Substring of the relative path ("v1.4/TC-NP-1-14.xml"). */
  path?: string;
  /** Skip only when the run lacks this: 'http' (the server's HTTPS binding). */
  unless?: 'http';
  reason: string;
}

export const SKIPS: readonly SkipRule[] = [
  {
    family: 'MSGENC',
    unless: 'http',
    reason: 'HTTPS / JSON / XML message encodings: needs the server\'s HTTPS binding (POST /kmip), which this run does not have',
  },
  {
    family: 'TC_NP',
    reason: 'Notify and Put are server-to-client operations: the vector has the server send requests',
  },
  {
    family: 'TC-NP',
    reason: 'Notify and Put are server-to-client operations: the vector has the server send requests',
  },
  {
    path: '_101_',
    reason: 'asynchronous processing (Asynchronous Indicator -> Operation Pending, then Poll / Cancel) is optional and not offered: the server answers synchronously',
  },
  {
    path: '_32_',
    reason: 'asynchronous processing (Asynchronous Indicator -> Operation Pending, then Poll / Cancel) is optional and not offered: the server answers synchronously',
  },
];

/** The reason a file is skipped, or undefined when it runs. */
export function skipReason(
  file: { rel: string; family: string },
  rules: readonly SkipRule[] = SKIPS,
  have: { http?: boolean } = {},
): string | undefined {
  for (const r of rules) {
    if (r.unless === 'http' && have.http) continue;
    if (r.family !== undefined && r.family === file.family) return r.reason;
    if (r.path !== undefined && file.rel.includes(r.path)) return r.reason;
  }
  return undefined;
}
