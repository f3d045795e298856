import type { OperationHandler } from './context.ts';
import { signatureOperation } from './sign.ts';

/**
 * Signature Verify (1.4 §4.32, 2.1 §6.1.56): answers Validity Indicator Valid or Invalid (a malformed signature is
 * Invalid, not an error). Allowed on Active, Deactivated and Compromised keys. Shares its code with Sign.
 */
export const signatureVerify: OperationHandler = (payload, ctx) => signatureOperation('verify', payload, ctx);
