/**
 * The custom resource kinds of kubekmip.io/v1alpha1: their TypeScript types and the definitions
 * the CRD YAML in crds/ is generated from (`npm run gen:crds`). Import from here.
 */
import { kmipClientCredential } from './credential.ts';
import { kmsKey } from './kmskey.ts';
import { kmsProvider } from './kmsprovider.ts';
import { kmipRole } from './role.ts';
import { kmipScope } from './scope.ts';

export { API_GROUP, API_GROUP_VERSION, API_VERSION, DEFAULT_KEY_BITS, KEY_BITS, KEY_TYPES, READY_CONDITION, type Condition, type KeyType } from './common.ts';
export { crdName, customResourceDefinition, type KindDefinition, type ObjectMeta, type Resource } from './kind.ts';
export { DELETION_POLICIES, kmipScope, type DeletionPolicy, type KmipScope, type KmipScopeSpec, type KmipScopeStatus } from './scope.ts';
export { DEFAULT_TLS_CLIENT_TTL, ROLE_OPERATIONS, kmipRole, type KmipRole, type KmipRoleSpec, type KmipRoleStatus } from './role.ts';
export {
  ROLLOUT_KINDS, SECRET_FORMATS, kmipClientCredential,
  type KmipClientCredential, type KmipClientCredentialSpec, type KmipClientCredentialStatus, type SecretFormat,
} from './credential.ts';
export { PROVIDER_TYPES, kmsProvider, type KmsProvider, type KmsProviderSpec, type KmsProviderStatus, type ProviderType } from './kmsprovider.ts';
export {
  KEY_ALGORITHMS, KEY_PURPOSES, PROTECTIONS, kmsKey, type KeyAlgorithm, type KeyPurpose, type KmsKey, type KmsKeySpec, type KmsKeyStatus,
} from './kmskey.ts';

/** Every kind, in the order a person meets them. */
export const KINDS = [kmipScope, kmipRole, kmipClientCredential, kmsProvider, kmsKey] as const;
