import type { OperationHandler } from './context.ts';
import { macOperation } from './mac.ts';

/**
 * MAC Verify (1.4 §4.34, 2.1 §6.1.33): recomputes the MAC and answers Validity Indicator Valid or Invalid. Allowed
 * on Active, Deactivated and Compromised keys. Shares its code with MAC.
 */
export const macVerify: OperationHandler = (payload, ctx) => macOperation('mac-verify', payload, ctx);
