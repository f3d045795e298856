/**
 * Go-syntax durations ("720h", "1h30m", "90m", "1.5h", "15s"): what the CRDs accept for lifetimes
 * and what kube tooling users type for flags.
 */
const UNIT_MS = { h: 3_600_000, m: 60_000, s: 1000, ms: 1 } as const;

/** A duration in hours, minutes, seconds or milliseconds, in milliseconds. */
export function parseDuration(text: string): number {
  const re = /([0-9]+(?:\.[0-9]+)?)(ms|h|m|s)/gy;
  let ms = 0;
  let end = 0;
  for (let m; (m = re.exec(text)); end = re.lastIndex) ms += Number(m[1]) * UNIT_MS[m[2] as keyof typeof UNIT_MS];
  if (end !== text.length || text.length === 0) throw new Error(`not a duration: "${text}" (use h, m, s or ms, e.g. 720h, 1h30m or 15s)`);
  return ms;
}
