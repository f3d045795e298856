/**
 * Errata: vector files with a plain typo in an expected answer, run with that one value corrected
 * instead of being skipped, so every other step of the file is still checked. Each correction is
 * a textual replacement of exactly one place, located by an anchor that must occur exactly once
 * (or the n-th time); if the file no longer reads that way the run fails loudly rather than
 * silently running something else. The report prints the erratum beside the file's result.
 *
 * Only typos whose intended value the file itself proves (the request names the object, the
 * version the request was sent in) belong here; wrong key material or answers a server could not
 * give stay skipped with their reason (skips.ts).
 */
export interface Erratum {
  /** Substring of the path relative to the vectors directory. */
  path: string;
  /** What is wrong and what the run uses instead. */
  description: string;
  fix: (text: string) => string;
  /** Lines the fix changes, when one typo recurs (default 1). */
  lines?: number;
}

/**
 * Replaces the first `from` after the `nth` (1-based) occurrence of `anchor` with `to`. Throws
 * when the anchor does not occur that often or `from` does not follow it.
 */
export function replaceAfter(text: string, anchor: string, from: string, to: string, nth = 1): string {
  let at = -1;
  for (let i = 0; i < nth; i++) {
    at = text.indexOf(anchor, at + 1);
    if (at < 0) throw new Error(`erratum: anchor ${JSON.stringify(anchor.slice(0, 80))} occurs fewer than ${nth} times`);
  }
  const pos = text.indexOf(from, at + anchor.length);
  if (pos < 0) throw new Error(`erratum: ${JSON.stringify(from.slice(0, 80))} does not follow the anchor`);
  return text.slice(0, pos) + to + text.slice(pos + from.length);
}

const uid = (name: string) => `<UniqueIdentifier type="TextString" value="${name}"/>`;
/** A Get request for `id`, up to the end of its message: what precedes the answer to correct. */
const getOf = (id: string) => `<Operation type="Enumeration" value="Get"/>\n\t\t\t<RequestPayload>\n\t\t\t\t${uid(id)}`;

export const ERRATA: readonly Erratum[] = [
  {
    path: 'v1.2/TC_SJ_2_12_',
    description: 'the Get of split key part $UNIQUE_IDENTIFIER_4 expects $UNIQUE_IDENTIFIER_1 as the answer\'s Unique Identifier; run expecting $UNIQUE_IDENTIFIER_4',
    fix: (t) => replaceAfter(t, getOf('$UNIQUE_IDENTIFIER_4'), uid('$UNIQUE_IDENTIFIER_1'), uid('$UNIQUE_IDENTIFIER_4')),
  },
  {
    path: 'v1.2/TC_SJ_4_12_',
    description: 'the Get of split key part $UNIQUE_IDENTIFIER_4 expects $UNIQUE_IDENTIFIER_1 as the answer\'s Unique Identifier; run expecting $UNIQUE_IDENTIFIER_4',
    fix: (t) => replaceAfter(t, getOf('$UNIQUE_IDENTIFIER_4'), uid('$UNIQUE_IDENTIFIER_1'), uid('$UNIQUE_IDENTIFIER_4')),
  },
  {
    path: 'v1.2/TC_312_12_',
    description: 'the Get of the template $UNIQUE_IDENTIFIER_0 expects the recording server\'s literal identifier 8590e6e9-…; run expecting $UNIQUE_IDENTIFIER_0',
    fix: (t) => replaceAfter(t, getOf('$UNIQUE_IDENTIFIER_0'), uid('8590e6e9-61c1-4b81-98d3-053a3c6a521b'), uid('$UNIQUE_IDENTIFIER_0')),
  },
  {
    path: 'v1.4/OMOS-O-1-14',
    description: 'the last answer\'s header says protocol 1.3 to a 1.4 request (every other answer in the file says 1.4); run expecting 1.4',
    fix: (t) => replaceAfter(t, '<ResponseMessage>', '<ProtocolVersionMinor type="Integer" value="3"/>', '<ProtocolVersionMinor type="Integer" value="4"/>', 2),
  },
  {
    path: 'v1.2/TC_NP_2_12_',
    description:
      'the four server-to-client requests (Put, Notify) state protocol 1.0 in a 1.2 file whose client requests, and whose 1.1 twin\'s server requests, ' +
      'state the file\'s version (and they carry 1.1/1.2 attributes: Fresh, Digest Key Format Type); run expecting 1.2',
    fix: (t) => [1, 2, 3, 4].reduce(
      (text, n) => replaceAfter(text, '# [Server-to-Client]\n\t<RequestMessage>', '<ProtocolVersionMinor type="Integer" value="0"/>', '<ProtocolVersionMinor type="Integer" value="2"/>', n),
      t,
    ),
    lines: 4,
  },
];

/** The erratum for a file, if any. */
export function erratumFor(rel: string, errata: readonly Erratum[] = ERRATA): Erratum | undefined {
  return errata.find((e) => rel.includes(e.path));
}
