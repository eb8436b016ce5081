/**
 * The registry of envelope schemas: each id@version compiled by ajv exactly once,
 * at registration, and reused for every validation (ajv's own advice: compiling
 * costs milliseconds, validating a compiled schema microseconds).
 *
 * @see https://ajv.js.org/guide/managing-schemas.html
 */
import { Ajv2020, type ErrorObject, type ValidateFunction } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import { ENVELOPE_SCHEMA_ID, type SchemaRef } from '../model/envelope.js';
import { SchemaRegistrationError, SchemaUnknownError, type SchemaIssue } from '../model/errors.js';
import envelopeV1 from './handoff-envelope.v1.json' with { type: 'json' };
import envelopeV2 from './handoff-envelope.v2.json' with { type: 'json' };

// ajv-formats is CommonJS with a default export; under NodeNext it arrives as the module object.
const addFormats = ((addFormatsModule as unknown as { default?: unknown }).default ??
  addFormatsModule) as unknown as (ajv: Ajv2020) => Ajv2020;

/** Outcome of validating one value. */
export interface SchemaCheck {
  readonly valid: boolean;
  /** Empty when valid. */
  readonly issues: readonly SchemaIssue[];
}

const VALID: SchemaCheck = Object.freeze({ valid: true, issues: Object.freeze([]) as readonly SchemaIssue[] });

/** Parses `id@version` (the version is after the last `@`) or passes an object through. */
export function parseSchemaRef(ref: SchemaRef): { id: string; version: string } {
  if (typeof ref !== 'string') return { id: ref.id, version: ref.version };
  const at = ref.lastIndexOf('@');
  if (at <= 0 || at === ref.length - 1) return { id: ENVELOPE_SCHEMA_ID, version: ref };
  return { id: ref.slice(0, at), version: ref.slice(at + 1) };
}

function toIssues(errors: readonly ErrorObject[] | null | undefined): SchemaIssue[] {
  if (!errors || errors.length === 0) return [{ instancePath: '', keyword: 'unknown', message: 'is invalid' }];
  const issues = new Array<SchemaIssue>(errors.length);
  for (let i = 0; i < errors.length; i++) {
    const e = errors[i]!;
    issues[i] = { instancePath: e.instancePath, keyword: e.keyword, message: e.message ?? 'is invalid' };
  }
  return issues;
}

/**
 * Envelope schemas by id and version. Baton's own envelope is registered as
 * `baton.handoff-envelope` versions 1 and 2; users add their own with `register`.
 * Schemas may `$ref` Baton's by its `$id`, e.g. to extend the envelope.
 */
export class SchemaRegistry {
  readonly #ajv: Ajv2020;
  readonly #validators = new Map<string, ValidateFunction>();

  constructor() {
    // allErrors off: the first failing path is what spans record, and stopping there is faster.
    this.#ajv = new Ajv2020({ allErrors: false, strict: false, validateFormats: true });
    addFormats(this.#ajv);
    this.register(ENVELOPE_SCHEMA_ID, '1', envelopeV1);
    this.register(ENVELOPE_SCHEMA_ID, '2', envelopeV2);
  }

  /** Compiles and stores a schema under id@version. Throws SchemaRegistrationError if taken or not compilable. */
  register(id: string, version: string, schema: object): void {
    const key = `${id}@${version}`;
    if (this.#validators.has(key)) throw new SchemaRegistrationError(id, version, 'already registered');
    let validate: ValidateFunction;
    try {
      validate = this.#ajv.compile(schema);
    } catch (error) {
      throw new SchemaRegistrationError(id, version, error instanceof Error ? error.message : String(error), {
        cause: error,
      });
    }
    this.#validators.set(key, validate);
  }

  /** True when id@version is registered. */
  has(id: string, version: string): boolean {
    return this.#validators.has(`${id}@${version}`);
  }

  /** The versions registered for an id, in registration order. */
  versions(id: string): string[] {
    const prefix = `${id}@`;
    const out: string[] = [];
    for (const key of this.#validators.keys()) if (key.startsWith(prefix)) out.push(key.slice(prefix.length));
    return out;
  }

  /** Validates a value against id@version. Throws SchemaUnknownError if it is not registered. */
  validate(id: string, version: string, value: unknown): SchemaCheck {
    const validate = this.#validators.get(`${id}@${version}`);
    if (!validate) throw new SchemaUnknownError(id, version);
    if (validate(value)) return VALID;
    return { valid: false, issues: toIssues(validate.errors) };
  }
}
