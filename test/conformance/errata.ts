/**
 * Errata: vector files with a plain typo in an expected answer, run with that one value corrected
 * instead of being skipped, so every other step of the file is still checked. Each correction is
 * a textual replacement of one wrong value, located by an anchor that must occur exactly once
 * (or the n-th time), in one place (or in each place the file repeats the value: `places`); if
 * the file no longer reads that way the run fails loudly rather than silently running something
 * else. The report prints the erratum beside the file's result.
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
  /** Lines the correction changes: 1, or more where the file repeats the wrong value (a later request sends it back). */
  places?: number;
  fix: (text: string) => string;
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
const op = (name: string) => `<Operation type="Enumeration" value="${name}"/>`;
const bytes = (hex: string) => `<Data type="ByteString" value="${hex}"/>`;
/** AES-128-ECB under 0123456789abcdef0123456789abcdef of 01020304050607080910111213141516 (FIPS 197 AES). */
const KNOWN_KEY_ECB = 'd9bcce11b0b437b90239552df3a360c9';
/** The ciphertext CS-BC-M-1 recorded for the same plaintext under a key the server generated. */
const BC_M_1_ECB = 'fd912d102dbb482f6f6e91bd57119095';

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
    // The file registers the known key 0123456789abcdef0123456789abcdef and encrypts 0102...16 with ECB, which
    // is deterministic: the answer is AES-128-ECB(key, data) = d9bcce11..., as the twin file
    // v1.3/CS-BC-M-6-13_Encrypt_and_Decrypt_with_Known_Symmetric_Key.xml and 1.4/2.1's CS-BC-M-6 record. The
    // file instead carries fd912d10..., CS-BC-M-1's ciphertext under a server-generated key (under this key it
    // decrypts to 259d82f3...), in the Encrypt answer and again in the Decrypt request that sends it back.
    path: 'v1.3/CS-BC-M-6-13.xml',
    description: `the Encrypt answer, and the Decrypt request that sends it back, carry CS-BC-M-1's ciphertext ${BC_M_1_ECB.slice(0, 8)}… (of another key) instead of the AES-128-ECB of the file's data under the file's key; run with ${KNOWN_KEY_ECB.slice(0, 8)}… (as the 1.3 twin file and 1.4/2.1 record)`,
    places: 2,
    fix: (t) => replaceAfter(
      replaceAfter(t, op('Encrypt'), bytes(BC_M_1_ECB), bytes(KNOWN_KEY_ECB), 2),
      op('Decrypt'), bytes(BC_M_1_ECB), bytes(KNOWN_KEY_ECB),
    ),
  },
  {
    path: 'v1.0/TC_32_10_',
    description: 'the Cancel answer expects the recording server\'s literal correlation value 4d6bbfc35fe57fba where it echoes the request\'s $ASYNCHRONOUS_CORRELATION_VALUE (as in TC_32_11 and TC_32_12); run expecting $ASYNCHRONOUS_CORRELATION_VALUE',
    fix: (t) => replaceAfter(t, '<Operation type="Enumeration" value="Cancel"/>', 'value="4d6bbfc35fe57fba"', 'value="$ASYNCHRONOUS_CORRELATION_VALUE"', 2),
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
    places: 4,
  },
];

/** The erratum for a file, if any. */
export function erratumFor(rel: string, errata: readonly Erratum[] = ERRATA): Erratum | undefined {
  return errata.find((e) => rel.includes(e.path));
}
