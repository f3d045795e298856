import { Tag } from '../ttlv/tag.ts';
import { AsynchronousIndicator, Operation } from '../ttlv/enums.ts';
import { ItemType, type StructureItem } from '../ttlv/types.ts';
import { find } from '../messages/tree.ts';

/**
 * What a Request Header's Asynchronous Indicator asks for. 1.x: a Boolean, true meaning the client can take an
 * asynchronous answer (the server decides, like 2.x Optional). 2.x: an Enumeration, Mandatory / Optional /
 * Prohibited. Absent, false or Prohibited: undefined (everything synchronously).
 */
export function asyncIndicator(header: StructureItem): 'optional' | 'mandatory' | undefined {
  const item = find(header, Tag.AsynchronousIndicator);
  if (item?.type === ItemType.Boolean) return item.value ? 'optional' : undefined;
  if (item?.type === ItemType.Enumeration) {
    if (item.value === AsynchronousIndicator.Mandatory) return 'mandatory';
    if (item.value === AsynchronousIndicator.Optional) return 'optional';
  }
  return undefined;
}

/**
 * Whether an operation may be answered Operation Pending. Never Poll or Cancel (their responses "SHALL NOT be
 * asynchronous"), nor the 2.x operations about asynchronous requests themselves. Discover Versions and Query only
 * when asynchrony is mandatory: a client needs their answers to begin, and they cost nothing.
 */
export function mayRunAsynchronously(operation: number, mode: 'optional' | 'mandatory'): boolean {
  switch (operation) {
    case Operation.Poll:
    case Operation.Cancel:
    case Operation.Process:
    case Operation.QueryAsynchronousRequests:
      return false;
    case Operation.DiscoverVersions:
    case Operation.Query:
      return mode === 'mandatory';
    default:
      return true;
  }
}
