import type { OperationHandler } from './context.ts';
import { cipherOperation } from './encrypt.ts';

/**
 * Decrypt (1.4 §4.30, 2.1 §6.1.11): the inverse of Encrypt, through the same code (operations/encrypt.ts). Allowed on
 * Active, Deactivated and Compromised keys (processing protected data, crypto/key-use.ts); Usage Limits are not
 * charged. An authentication failure, a bad padding or a malformed RSA ciphertext is Cryptographic Failure.
 */
export const decrypt: OperationHandler = (payload, ctx) => cipherOperation('decrypt', payload, ctx);
