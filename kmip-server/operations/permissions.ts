import { Operation } from '../ttlv/enums.ts';

/**
 * Vault KMIP engine's role operation names, by KMIP Operation. `operation_all` grants every one;
 * `operation_none` grants nothing. Names follow the KMIP operation in snake case, as Vault's do.
 */
export const OPERATION_PERMISSION: Readonly<Record<number, string>> = Object.fromEntries(
  Object.entries(Operation).map(([name, code]) => [code, 'operation_' + snake(name)]),
);

function snake(name: string): string {
  const special: Record<string, string> = {
    ReKey: 'rekey', ReKeyKeyPair: 'rekey_key_pair', MAC: 'mac', MACVerify: 'mac_verify',
    RNGRetrieve: 'rng_retrieve', RNGSeed: 'rng_seed', ReCertify: 'recertify', PKCS_11: 'pkcs11', ReProvision: 'reprovision',
  };
  return special[name] ?? name.replace(/([a-z])([A-Z])/g, '$1_$2').toLowerCase();
}

export const ALL_PERMISSIONS: readonly string[] = Object.values(OPERATION_PERMISSION);
export const OPERATION_ALL = 'operation_all';
export const OPERATION_NONE = 'operation_none';

/** Expands a role's list into the set it grants; unknown names are an error the caller reports. */
export function expandOperations(list: readonly string[]): { granted: Set<string>; unknown: string[] } {
  const granted = new Set<string>();
  const unknown: string[] = [];
  for (const op of list) {
    if (op === OPERATION_ALL) for (const p of ALL_PERMISSIONS) granted.add(p);
    else if (op === OPERATION_NONE) continue;
    else if (ALL_PERMISSIONS.includes(op)) granted.add(op);
    else unknown.push(op);
  }
  if (list.includes(OPERATION_NONE)) granted.clear();
  return { granted, unknown };
}
