import { Operation } from '../ttlv/enums.ts';
import type { OperationHandler } from './context.ts';
import { activate } from './activate.ts';
import { create } from './create.ts';
import { destroy } from './destroy.ts';
import { discoverVersions } from './discover-versions.ts';
import { get } from './get.ts';
import { getAttributeList, getAttributes } from './get-attributes.ts';
import { register } from './register.ts';
import { revoke } from './revoke.ts';

/** Operation → handler. A new operation is a new file plus one line here. */
export const HANDLERS: ReadonlyMap<number, OperationHandler> = new Map<number, OperationHandler>([
  [Operation.Activate, activate],
  [Operation.Create, create],
  [Operation.Destroy, destroy],
  [Operation.DiscoverVersions, discoverVersions],
  [Operation.Get, get],
  [Operation.GetAttributeList, getAttributeList],
  [Operation.GetAttributes, getAttributes],
  [Operation.Register, register],
  [Operation.Revoke, revoke],
]);
