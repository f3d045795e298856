/**
 * Schema pieces shared by several kinds: object references, metav1.Condition, durations, client
 * key parameters, and the printer columns every kind shows.
 */
import { array, dateTime, integer, integerEnum, object, required, string, stringEnum, type Infer, type Schema, type ValidationRule } from './schema.ts';

export const API_GROUP = 'kubekmip.io';
export const API_VERSION = 'v1alpha1';
export const API_GROUP_VERSION = `${API_GROUP}/${API_VERSION}`;

/** The summary condition every kind reports. */
export const READY_CONDITION = 'Ready';

/** A DNS-1123 subdomain: what Kubernetes accepts as the name of most objects (Secrets included). */
export const DNS_SUBDOMAIN_PATTERN = '^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$';

/** The name of an object of `kind` in the same namespace. Atomic: apply replaces it whole. */
export function localRef(kind: string, description: string): Schema<{ name: string }> {
  return object(
    { name: required(string({ description: `Name of the ${kind} in this namespace.`, minLength: 1, maxLength: 253 })) },
    { description, mapType: 'atomic' },
  );
}

/** Makes a field unchangeable once set (a CEL transition rule), with the reason in the message. */
export function immutable(field: string, why: string): ValidationRule {
  return { rule: 'self == oldSelf', message: `${field} is immutable: ${why}` };
}

/** metav1.Condition, with the validation apimachinery's own CRDs use. */
export const condition = object({
  type: required(string({
    description: 'Type of condition in CamelCase, e.g. Ready.',
    maxLength: 316,
    pattern: '^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])$',
  })),
  status: required(stringEnum(['True', 'False', 'Unknown'], { description: 'Status of the condition.' })),
  observedGeneration: integer({
    description: 'The .metadata.generation the condition was set from.',
    format: 'int64',
    minimum: 0,
  }),
  lastTransitionTime: required(dateTime({ description: 'When the condition last changed status.' })),
  reason: required(string({
    description: 'Machine-readable CamelCase reason for the last transition.',
    minLength: 1,
    maxLength: 1024,
    pattern: '^[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?$',
  })),
  message: required(string({ description: 'Human-readable details about the transition.', maxLength: 32768 })),
});
export type Condition = Infer<typeof condition>;

export const conditions = array(condition, {
  description: `Current state of the resource. ${READY_CONDITION} summarises whether it is in effect.`,
  listType: 'map',
  mapKeys: ['type'],
  maxItems: 16,
});

export const observedGeneration = integer({
  description: 'The .metadata.generation the controller last acted on.',
  format: 'int64',
  minimum: 0,
});

/** `s` as a CEL string literal (regular expressions need their backslashes doubled). */
export function celString(s: string): string {
  return `'${s.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
}

// Units a certificate lifetime is sensibly written in; CEL's duration() parses them (Go syntax).
const DURATION_PATTERN = celString('^([0-9]+(\\.[0-9]+)?(h|m|s))+$');

/** A Go-syntax duration string ("720h", "1h30m") of at least `min`, checked by CEL. */
export function duration(o: { description: string; min: string; default?: string }): Schema<string> {
  return string({
    description: o.description,
    maxLength: 32,
    ...(o.default !== undefined ? { default: o.default } : {}),
    rules: [
      { rule: `self.matches(${DURATION_PATTERN})`, message: 'must be a duration in hours, minutes or seconds, such as 720h, 90m or 1h30m' },
      { rule: `!self.matches(${DURATION_PATTERN}) || duration(self) >= duration(${celString(o.min)})`, message: `must be at least ${o.min}` },
    ],
  });
}

export const KEY_TYPES = ['ec', 'rsa'] as const;
export type KeyType = (typeof KEY_TYPES)[number];
/** Bits per key type: the curve size for EC (P-256/384/521), the modulus for RSA. */
export const KEY_BITS = { ec: [256, 384, 521], rsa: [2048, 3072, 4096] } as const;
/** What the operator uses when tlsClientKeyBits is absent (a schema default cannot depend on the type). */
export const DEFAULT_KEY_BITS: { readonly [T in KeyType]: (typeof KEY_BITS)[T][number] } = { ec: 256, rsa: 2048 };

export function keyType(o: { description: string; default?: KeyType }): Schema<KeyType> {
  return stringEnum(KEY_TYPES, { ...o, maxLength: 8 });
}

export function keyBits(description: string): Schema<(typeof KEY_BITS)[KeyType][number]> {
  return integerEnum([...KEY_BITS.ec, ...KEY_BITS.rsa], { description });
}

const list = (xs: readonly number[]) => `[${xs.join(', ')}]`;

/**
 * Ties tlsClientKeyBits to tlsClientKeyType, on the object holding both. Where the type has no
 * default, bits alone are refused too: they would silently combine with the role's type.
 */
export function keyBitsMatchType(typeHasDefault: boolean): ValidationRule[] {
  const fits = (type: KeyType, what: string): ValidationRule => ({
    rule: `!has(self.tlsClientKeyBits) || !has(self.tlsClientKeyType) || self.tlsClientKeyType != '${type}' || self.tlsClientKeyBits in ${list(KEY_BITS[type])}`,
    message: `tlsClientKeyBits does not fit tlsClientKeyType ${type}: ${type} takes ${KEY_BITS[type].join(', ')}${what}`,
    fieldPath: '.tlsClientKeyBits',
  });
  const rules = [fits('ec', ' (the curve: P-256, P-384, P-521)'), fits('rsa', ' (the modulus)')];
  if (!typeHasDefault) {
    rules.push({
      rule: '!has(self.tlsClientKeyBits) || has(self.tlsClientKeyType)',
      message: 'tlsClientKeyBits needs tlsClientKeyType next to it (ec or rsa)',
      fieldPath: '.tlsClientKeyBits',
    });
  }
  return rules;
}

export interface PrinterColumn {
  name: string;
  type: 'string' | 'integer' | 'number' | 'boolean' | 'date';
  jsonPath: string;
  description?: string;
  /** 1: only `kubectl get -o wide` shows it (set by KindDefinition.wideColumns). */
  priority?: 1;
}

export const readyColumn: PrinterColumn = {
  name: 'Ready', type: 'string', jsonPath: `.status.conditions[?(@.type=="${READY_CONDITION}")].status`,
  description: `Status of the ${READY_CONDITION} condition`,
};
export const reasonColumn: PrinterColumn = {
  name: 'Reason', type: 'string', jsonPath: `.status.conditions[?(@.type=="${READY_CONDITION}")].reason`,
  description: `Reason of the ${READY_CONDITION} condition`,
};
export const ageColumn: PrinterColumn = {
  name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp', description: 'Time since creation',
};
