/**
 * A minimal stand-in for the `reflect-metadata` polyfill, which @peculiar/x509's dependency
 * tsyringe insists on at load time (it throws unless `Reflect.getMetadata` exists). x509 only
 * needs the handful of functions below; they are installed only when no real polyfill is present.
 * Import this module before '@peculiar/x509' (provider.ts does).
 */
type Key = string | symbol | undefined;
const store = new WeakMap<object, Map<Key, Map<unknown, unknown>>>();

function ownMap(target: object, propertyKey: Key, create: boolean): Map<unknown, unknown> | undefined {
  let byProperty = store.get(target);
  if (!byProperty) {
    if (!create) return undefined;
    byProperty = new Map();
    store.set(target, byProperty);
  }
  let map = byProperty.get(propertyKey);
  if (!map && create) {
    map = new Map();
    byProperty.set(propertyKey, map);
  }
  return map;
}

function getOwnMetadata(metadataKey: unknown, target: object, propertyKey?: Key): unknown {
  return ownMap(target, propertyKey, false)?.get(metadataKey);
}

function hasOwnMetadata(metadataKey: unknown, target: object, propertyKey?: Key): boolean {
  return ownMap(target, propertyKey, false)?.has(metadataKey) ?? false;
}

function getMetadata(metadataKey: unknown, target: object, propertyKey?: Key): unknown {
  for (let o: object | null = target; o !== null; o = Object.getPrototypeOf(o) as object | null) {
    if (hasOwnMetadata(metadataKey, o, propertyKey)) return getOwnMetadata(metadataKey, o, propertyKey);
  }
  return undefined;
}

function hasMetadata(metadataKey: unknown, target: object, propertyKey?: Key): boolean {
  for (let o: object | null = target; o !== null; o = Object.getPrototypeOf(o) as object | null) {
    if (hasOwnMetadata(metadataKey, o, propertyKey)) return true;
  }
  return false;
}

function defineMetadata(metadataKey: unknown, value: unknown, target: object, propertyKey?: Key): void {
  ownMap(target, propertyKey, true)!.set(metadataKey, value);
}

function metadata(metadataKey: unknown, value: unknown) {
  return (target: object, propertyKey?: Key): void => defineMetadata(metadataKey, value, target, propertyKey);
}

const reflect = Reflect as unknown as Record<string, unknown>;
if (typeof reflect['getMetadata'] !== 'function') {
  Object.assign(reflect, { getMetadata, getOwnMetadata, hasMetadata, hasOwnMetadata, defineMetadata, metadata });
}
