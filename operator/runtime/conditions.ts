/**
 * metav1.Condition bookkeeping: a condition's lastTransitionTime moves only when its status
 * changes, and every condition says which generation of the object it was computed from.
 */
import type { Condition } from '../api/index.ts';

export type ConditionStatus = Condition['status'];

export interface ConditionInput {
  type: string;
  status: ConditionStatus;
  reason: string;
  message: string;
}

/**
 * The condition list with `c` set, keeping the other conditions and, when the status is unchanged,
 * the old lastTransitionTime.
 */
export function setCondition(existing: readonly Condition[] | undefined, c: ConditionInput, generation: number | undefined, now = new Date()): Condition[] {
  const list = [...(existing ?? [])];
  const i = list.findIndex((x) => x.type === c.type);
  const prev = i >= 0 ? list[i] : undefined;
  const next: Condition = {
    type: c.type,
    status: c.status,
    reason: c.reason,
    // The CRD caps messages at 32 KiB; an error message from a library could be longer.
    message: c.message.length > 32_000 ? `${c.message.slice(0, 32_000)}…` : c.message,
    lastTransitionTime: prev && prev.status === c.status ? prev.lastTransitionTime : rfc3339(now),
    ...(generation !== undefined ? { observedGeneration: generation } : {}),
  };
  if (i >= 0) list[i] = next;
  else list.push(next);
  return list;
}

export function findCondition(list: readonly Condition[] | undefined, type: string): Condition | undefined {
  return list?.find((c) => c.type === type);
}

/** RFC 3339 with whole seconds, as metav1.Time serialises. */
export function rfc3339(d: Date): string {
  return d.toISOString().replace(/\.\d{3}Z$/, 'Z');
}
