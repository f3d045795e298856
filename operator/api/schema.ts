/**
 * A small OpenAPI schema builder whose values are two things at once: the structural schema the
 * CRD YAML carries (`.openAPI`), and, through a phantom type parameter, the TypeScript type of the
 * values that schema accepts (`Infer<typeof x>`). The CRD and the TypeScript types therefore come
 * from one source and cannot drift.
 *
 *   const spec = object({ name: required(string({ maxLength: 63 })), size: integer({ default: 1 }) });
 *   type Spec = Infer<typeof spec>;   // { name: string; size?: number }
 *
 * Properties are optional unless wrapped in `required()`. A defaulted property stays optional in
 * the type: the type describes what a person may write, and readers of objects that never went
 * through the API server (YAML files, tests) must cope with the field's absence.
 *
 * Only what apiextensions.k8s.io/v1 accepts in a structural schema is offered; every CEL rule must
 * carry a message a person can act on.
 */

/** The subset of apiextensions.k8s.io/v1 JSONSchemaProps this project emits, in emission order. */
export interface JSONSchemaProps {
  description?: string;
  type?: 'object' | 'array' | 'string' | 'integer' | 'number' | 'boolean';
  format?: string;
  enum?: readonly (string | number)[];
  default?: unknown;
  minimum?: number;
  maximum?: number;
  minLength?: number;
  maxLength?: number;
  pattern?: string;
  minItems?: number;
  maxItems?: number;
  maxProperties?: number;
  items?: JSONSchemaProps;
  properties?: Record<string, JSONSchemaProps>;
  required?: string[];
  additionalProperties?: JSONSchemaProps;
  'x-kubernetes-list-type'?: 'atomic' | 'set' | 'map';
  'x-kubernetes-list-map-keys'?: string[];
  'x-kubernetes-map-type'?: 'atomic' | 'granular';
  'x-kubernetes-validations'?: ValidationRule[];
}

/** A CEL rule (`x-kubernetes-validations` entry). A message is mandatory here, unlike in Kubernetes. */
export type ValidationRule = {
  rule: string;
  /** Field the error is reported on, relative to the schema the rule sits on (e.g. `.tlsClientKeyBits`). */
  fieldPath?: string;
  reason?: 'FieldValueInvalid' | 'FieldValueForbidden' | 'FieldValueRequired' | 'FieldValueDuplicate';
} & ({ message: string; messageExpression?: string } | { message?: string; messageExpression: string });

declare const INFER: unique symbol;

/** A schema accepting values of type T. */
export interface Schema<T> {
  readonly openAPI: JSONSchemaProps;
  /** Phantom: carries T for `Infer`; never present at run time. */
  readonly [INFER]?: T;
}

/** A property that must be present in its object (listed in the object's `required`). */
export interface RequiredSchema<T> extends Schema<T> {
  readonly required: true;
}

export type Infer<S> = S extends Schema<infer T> ? T : never;

interface Common<T> {
  description?: string;
  default?: T;
  rules?: readonly ValidationRule[];
}

function base<T>(type: JSONSchemaProps['type'], o: Common<T>, rest: JSONSchemaProps = {}): JSONSchemaProps {
  const out: JSONSchemaProps = {};
  if (o.description !== undefined) out.description = o.description;
  out.type = type;
  Object.assign(out, rest);
  if (o.default !== undefined) out.default = o.default;
  if (o.rules && o.rules.length > 0) out['x-kubernetes-validations'] = o.rules.map((r) => ({ ...r }));
  return out;
}

function defined<T extends object>(o: T): T {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
}

export interface StringOptions extends Common<string> {
  format?: 'date-time' | 'byte' | 'uri' | 'hostname';
  minLength?: number;
  maxLength?: number;
  pattern?: string;
}

export function string(o: StringOptions = {}): Schema<string> {
  return { openAPI: base('string', o, defined({ format: o.format, minLength: o.minLength, maxLength: o.maxLength, pattern: o.pattern })) };
}

/** An RFC 3339 timestamp, as metav1.Time serialises. */
export function dateTime(o: Common<string> = {}): Schema<string> {
  return string({ ...o, format: 'date-time' });
}

/** One of `values`. maxLength only bounds CEL's cost estimate for rules that read the value. */
export function stringEnum<const V extends readonly string[]>(values: V, o: Common<NoInfer<V[number]>> & { maxLength?: number } = {}): Schema<V[number]> {
  return { openAPI: base('string', o, defined({ enum: [...values], maxLength: o.maxLength })) };
}

export interface IntegerOptions extends Common<number> {
  format?: 'int32' | 'int64';
  minimum?: number;
  maximum?: number;
}

export function integer(o: IntegerOptions = {}): Schema<number> {
  return { openAPI: base('integer', o, defined({ format: o.format, minimum: o.minimum, maximum: o.maximum })) };
}

export function integerEnum<const V extends readonly number[]>(values: V, o: Common<NoInfer<V[number]>> = {}): Schema<V[number]> {
  return { openAPI: base('integer', o, { enum: [...values] }) };
}

export function boolean(o: Common<boolean> = {}): Schema<boolean> {
  return { openAPI: base('boolean', o) };
}

export type ArrayOptions<T> = Common<T[]> & { minItems?: number; maxItems?: number } & (
  | { listType?: 'atomic' | 'set' }
  | { listType: 'map'; mapKeys: readonly (T extends object ? keyof T & string : never)[] }
);

export function array<T>(items: Schema<T>, o: ArrayOptions<NoInfer<T>> = {}): Schema<T[]> {
  const rest: JSONSchemaProps = defined({ minItems: o.minItems, maxItems: o.maxItems });
  rest.items = items.openAPI;
  if (o.listType) rest['x-kubernetes-list-type'] = o.listType;
  if (o.listType === 'map') {
    // Kubernetes refuses a map key that may be absent.
    for (const k of o.mapKeys) {
      if (!items.openAPI.required?.includes(k) && items.openAPI.properties?.[k]?.default === undefined) {
        throw new Error(`list map key ${k} must be a required or defaulted property of the items`);
      }
    }
    rest['x-kubernetes-list-map-keys'] = [...o.mapKeys];
  }
  return { openAPI: base('array', o, rest) };
}

type Props = { readonly [name: string]: Schema<unknown> };
type RequiredKeys<P extends Props> = { [K in keyof P]: P[K] extends RequiredSchema<unknown> ? K : never }[keyof P];
type Simplify<T> = { [K in keyof T]: T[K] } & {};
export type InferObject<P extends Props> = Simplify<
  { [K in RequiredKeys<P>]: Infer<P[K]> } & { [K in Exclude<keyof P, RequiredKeys<P>>]?: Infer<P[K]> }
>;

export interface ObjectOptions<T> extends Common<T> {
  /** `atomic`: the object is replaced as a whole by server-side apply (references). */
  mapType?: 'atomic' | 'granular';
}

export function object<const P extends Props>(properties: P, o: ObjectOptions<InferObject<P>> = {}): Schema<InferObject<P>> {
  const props: Record<string, JSONSchemaProps> = {};
  const req: string[] = [];
  for (const [name, s] of Object.entries(properties)) {
    props[name] = s.openAPI;
    if ((s as Partial<RequiredSchema<unknown>>).required === true) req.push(name);
  }
  const rest: JSONSchemaProps = {};
  if (Object.keys(props).length > 0) rest.properties = props;
  if (req.length > 0) rest.required = req;
  if (o.mapType) rest['x-kubernetes-map-type'] = o.mapType;
  return { openAPI: base('object', o, rest) };
}

/** An object that takes no fields, used as a flag that is present or absent (`generate: {}`). */
export function emptyObject(o: Common<Record<string, never>> = {}): Schema<Record<string, never>> {
  return { openAPI: base('object', o, { maxProperties: 0 }) };
}

/** Marks a property as required in its parent object. */
export function required<T>(s: Schema<T>): RequiredSchema<T> {
  return { openAPI: s.openAPI, required: true };
}

/** The same schema with another description and/or more rules (for shared pieces). */
export function refine<T>(s: Schema<T>, o: { description?: string; rules?: readonly ValidationRule[] }): Schema<T> {
  const { description, ...rest } = s.openAPI;
  // `description` stays the first key, so the YAML reads top-down.
  const openAPI: JSONSchemaProps = defined({ description: o.description ?? description, ...rest });
  if (o.rules?.length) openAPI['x-kubernetes-validations'] = [...(rest['x-kubernetes-validations'] ?? []), ...o.rules];
  return { openAPI };
}
