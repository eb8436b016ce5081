/**
 * The registry of envelope schemas: each id@version compiled by ajv exactly once,
 * at registration, and reused for every validation (ajv's own advice: compiling
 * costs milliseconds, validating a compiled schema microseconds).
 *
 * Every schema is compiled twice, once to answer valid-or-not as fast as ajv can
 * (stopping at the first failure) and once with `allErrors`, run only on an
 * envelope the first found invalid, so `issues` lists every failure (bounded)
 * without slowing the envelopes that pass.
 *
 * One registry is shared by every Baton made without a `schemas` option
 * ({@link SchemaRegistry.shared}), so a schema registered once is known to all of
 * them; registering the same schema again under the same id@version is a no-op.
 *
 * @see https://ajv.js.org/guide/managing-schemas.html
 */
import { _, Ajv2020, str, type CodeKeywordDefinition, type ErrorObject, type KeywordCxt, type ValidateFunction } from 'ajv/dist/2020.js';
import ucs2lengthModule from 'ajv/dist/runtime/ucs2length.js';
import addFormatsModule from 'ajv-formats';
import { ENVELOPE_SCHEMA_ID, type SchemaRef } from '../model/envelope.js';
import { SchemaRegistrationError, SchemaUnknownError, type SchemaIssue } from '../model/errors.js';
import envelopeV1 from './handoff-envelope.v1.json' with { type: 'json' };
import envelopeV2 from './handoff-envelope.v2.json' with { type: 'json' };

// ajv-formats is CommonJS with a default export; under NodeNext it arrives as the module object.
const addFormats = ((addFormatsModule as unknown as { default?: unknown }).default ?? addFormatsModule) as unknown as (
  ajv: Ajv2020,
) => Ajv2020;

// The same CommonJS default-export shape: ajv's own code-point counter, so lengths count exactly as ajv counts them.
const ucs2length = ((ucs2lengthModule as unknown as { default?: unknown }).default ?? ucs2lengthModule) as (text: string) => number;

/** Most issues kept per validation; `issueCount` says how many there were. */
export const MAX_SCHEMA_ISSUES = 32;

/** Outcome of validating one value. */
export interface SchemaCheck {
  readonly valid: boolean;
  /** Empty when valid; every failure otherwise, at most MAX_SCHEMA_ISSUES of them. */
  readonly issues: readonly SchemaIssue[];
  /** How many failures there were, also those past MAX_SCHEMA_ISSUES. */
  readonly issueCount: number;
}

const VALID: SchemaCheck = Object.freeze({ valid: true, issues: Object.freeze([]) as readonly SchemaIssue[], issueCount: 0 });

/** Parses `id@version` (the version is after the last `@`) or passes an object through. */
export function parseSchemaRef(ref: SchemaRef): { id: string; version: string } {
  if (typeof ref !== 'string') return { id: ref.id, version: ref.version };
  const at = ref.lastIndexOf('@');
  if (at <= 0 || at === ref.length - 1) return { id: ENVELOPE_SCHEMA_ID, version: ref };
  return { id: ref.slice(0, at), version: ref.slice(at + 1) };
}

const isDigit = (code: number): boolean => code >= 48 && code <= 57;
const twoDigits = (text: string, at: number): number => (text.charCodeAt(at) - 48) * 10 + (text.charCodeAt(at + 1) - 48);
const DAYS_IN_MONTH = [0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
const WHITESPACE = /\s/;
const DIGIT_POSITIONS = [0, 1, 2, 3, 5, 6, 8, 9, 11, 12, 14, 15, 17, 18];

/**
 * RFC 3339 `date-time`, accepting exactly what ajv-formats' full `date-time`
 * accepts (a `t` or whitespace separator, a required time zone, a leap second
 * only at 23:59 UTC) without its three regular expressions and a split: it was
 * 7% of an instrumented handoff. test/schemas/date-time.test.ts checks the two
 * agree on generated strings.
 */
export function isRfc3339DateTime(text: string): boolean {
  const length = text.length;
  if (length < 20) return false;
  for (let i = 0; i < DIGIT_POSITIONS.length; i++) if (!isDigit(text.charCodeAt(DIGIT_POSITIONS[i]!))) return false;
  if (text.charCodeAt(4) !== 45 || text.charCodeAt(7) !== 45 || text.charCodeAt(13) !== 58 || text.charCodeAt(16) !== 58)
    return false;
  const separator = text.charCodeAt(10);
  if (separator !== 84 && separator !== 116 && !WHITESPACE.test(text[10]!)) return false;
  const year = twoDigits(text, 0) * 100 + twoDigits(text, 2);
  const month = twoDigits(text, 5);
  const day = twoDigits(text, 8);
  if (month < 1 || month > 12 || day < 1) return false;
  const leap = year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0);
  if (day > (month === 2 && leap ? 29 : DAYS_IN_MONTH[month]!)) return false;
  const hour = twoDigits(text, 11);
  const minute = twoDigits(text, 14);
  const second = twoDigits(text, 17);
  let at = 19;
  if (text.charCodeAt(at) === 46) {
    at++;
    const digitsFrom = at;
    while (at < length && isDigit(text.charCodeAt(at))) at++;
    if (at === digitsFrom) return false;
  }
  if (at >= length) return false; // the time zone is required
  const zone = text.charCodeAt(at);
  let tzSign = 1;
  let tzHour = 0;
  let tzMinute = 0;
  if (zone === 90 || zone === 122) {
    if (at + 1 !== length) return false;
  } else if (zone === 43 || zone === 45) {
    tzSign = zone === 45 ? -1 : 1;
    if (at + 3 > length || !isDigit(text.charCodeAt(at + 1)) || !isDigit(text.charCodeAt(at + 2))) return false;
    tzHour = twoDigits(text, at + 1);
    at += 3;
    if (at < length) {
      if (text.charCodeAt(at) === 58) at++;
      if (at + 2 !== length || !isDigit(text.charCodeAt(at)) || !isDigit(text.charCodeAt(at + 1))) return false;
      tzMinute = twoDigits(text, at);
    }
  } else {
    return false;
  }
  if (tzHour > 23 || tzMinute > 59) return false;
  if (hour <= 23 && minute <= 59 && second < 60) return true;
  // A leap second: 23:59:60 in UTC.
  const utcMinute = minute - tzMinute * tzSign;
  const utcHour = hour - tzHour * tzSign - (utcMinute < 0 ? 1 : 0);
  return (utcHour === 23 || utcHour === -1) && (utcMinute === 59 || utcMinute === -1) && second < 61;
}

function escapePointerToken(token: string): string {
  return token.replace(/~/g, '~0').replace(/\//g, '~1');
}

/**
 * A property name an envelope's author wrote as a field (`priority`, `due_at`), not data used as a key (an
 * email address, a customer id in a map): only such a name is quoted in an issue, since issues are recorded
 * on spans and bodies never are.
 */
const NAME_LIKE = /^[A-Za-z_][A-Za-z0-9_]{0,63}$/;

/**
 * ajv's errors as issues. A `required` failure points at the missing property
 * itself (`/handoff/id`, not `/handoff`), so a span's `error_path` and the
 * audit's finding name it; its message says which property is missing. An
 * `additionalProperties` failure points at the property that is not allowed,
 * when its name looks like a field's (NAME_LIKE).
 */
function toIssues(errors: readonly ErrorObject[] | null | undefined): { issues: SchemaIssue[]; count: number } {
  if (!errors || errors.length === 0)
    return { issues: [{ instancePath: '', keyword: 'unknown', message: 'is invalid' }], count: 1 };
  const kept = Math.min(errors.length, MAX_SCHEMA_ISSUES);
  const issues = new Array<SchemaIssue>(kept);
  for (let i = 0; i < kept; i++) {
    const e = errors[i]!;
    const missing = e.keyword === 'required' ? (e.params as { missingProperty?: unknown }).missingProperty : undefined;
    const extra = e.keyword === 'additionalProperties' ? (e.params as { additionalProperty?: unknown }).additionalProperty : undefined;
    issues[i] =
      typeof missing === 'string'
        ? {
            instancePath: `${e.instancePath}/${escapePointerToken(missing)}`,
            keyword: 'required',
            message: `is required (${e.message ?? 'missing'})`,
          }
        : typeof extra === 'string' && NAME_LIKE.test(extra)
          ? {
              instancePath: `${e.instancePath}/${escapePointerToken(extra)}`,
              keyword: 'additionalProperties',
              message: `is not allowed (${e.message ?? 'must NOT have additional properties'})`,
            }
          : { instancePath: e.instancePath, keyword: e.keyword, message: e.message ?? 'is invalid' };
  }
  return { issues, count: errors.length };
}

/** One registered schema: a fast verdict, the full error list on demand, and its source for re-registration. */
interface CompiledSchema {
  readonly isValid: ValidateFunction;
  readonly allIssues: ValidateFunction;
  readonly source: string;
}

/**
 * `maxLength` and `minLength` as JSON Schema defines them (code points, not UTF-16 units) and as
 * ajv reports them, counting code points only when the string's length leaves the answer open:
 * a string of n UTF-16 units has between n/2 and n code points, so `length <= max` passes
 * maxLength and `length >= 2 * min` passes minLength without reading a character. ajv's own
 * keywords run its counting loop over every string, twice for a string with both limits: that
 * was about two thirds of validating Baton's envelope (1.3 → 0.4 µs CPU, bench/sdk.ts envelope).
 * test/schemas/length-keywords.test.ts checks both agree with ajv's.
 */
function lengthKeyword(keyword: 'maxLength' | 'minLength'): CodeKeywordDefinition {
  const comparison = keyword === 'maxLength' ? 'more' : 'fewer';
  return {
    keyword,
    type: 'string',
    schemaType: 'number',
    $data: true,
    // ajv's own message and params, so issues read as before.
    error: {
      message: ({ schemaCode }) => str`must NOT have ${comparison} than ${schemaCode} characters`,
      params: ({ schemaCode }) => _`{limit: ${schemaCode}}`,
    },
    code(cxt: KeywordCxt) {
      const { data, schemaCode } = cxt;
      const count = cxt.gen.scopeValue('func', { ref: ucs2length, code: _`require("ajv/dist/runtime/ucs2length").default` });
      cxt.fail$data(
        keyword === 'maxLength'
          ? _`${data}.length > ${schemaCode} && ${count}(${data}) > ${schemaCode}`
          : _`${data}.length < ${schemaCode} || (${data}.length < 2 * ${schemaCode} && ${count}(${data}) < ${schemaCode})`,
      );
    },
  };
}

function newAjv(allErrors: boolean): Ajv2020 {
  const ajv = new Ajv2020({ allErrors, strict: false, validateFormats: true });
  addFormats(ajv);
  ajv.addFormat('date-time', { type: 'string', validate: isRfc3339DateTime });
  ajv.removeKeyword('maxLength');
  ajv.removeKeyword('minLength');
  ajv.addKeyword(lengthKeyword('maxLength'));
  ajv.addKeyword(lengthKeyword('minLength'));
  return ajv;
}

let shared: SchemaRegistry | undefined;

/**
 * Envelope schemas by id and version. Baton's own envelope is registered as
 * `baton.handoff-envelope` versions 1 and 2; users add their own with `register`.
 * Schemas may `$ref` Baton's by its `$id`, e.g. to extend the envelope.
 */
export class SchemaRegistry {
  readonly #fast = newAjv(false);
  readonly #full = newAjv(true);
  /** id → version → compiled: two lookups and no string building per validation. */
  readonly #schemas = new Map<string, Map<string, CompiledSchema>>();

  /** The registry every Baton without a `schemas` option uses: one per process (per copy of Baton). */
  static shared(): SchemaRegistry {
    shared ??= new SchemaRegistry();
    return shared;
  }

  constructor() {
    this.register(ENVELOPE_SCHEMA_ID, '1', envelopeV1);
    this.register(ENVELOPE_SCHEMA_ID, '2', envelopeV2);
  }

  /**
   * Compiles and stores a schema under id@version. Registering the same schema
   * again is a no-op; a different one under a taken id@version, or one that does
   * not compile, throws SchemaRegistrationError.
   */
  register(id: string, version: string, schema: object): void {
    let source: string;
    try {
      source = JSON.stringify(schema);
    } catch (error) {
      throw new SchemaRegistrationError(id, version, 'is not JSON (circular or BigInt)', { cause: error });
    }
    const existing = this.#schemas.get(id)?.get(version);
    if (existing) {
      if (existing.source === source) return;
      throw new SchemaRegistrationError(id, version, 'already registered with a different schema');
    }
    let compiled: CompiledSchema;
    try {
      // Compiled from a copy each: ajv keeps the schema object, and $id must be unique per ajv instance.
      compiled = { isValid: this.#fast.compile(JSON.parse(source)), allIssues: this.#full.compile(JSON.parse(source)), source };
    } catch (error) {
      throw new SchemaRegistrationError(id, version, error instanceof Error ? error.message : String(error), {
        cause: error,
      });
    }
    let versions = this.#schemas.get(id);
    if (!versions) this.#schemas.set(id, (versions = new Map()));
    versions.set(version, compiled);
  }

  /** True when id@version is registered. */
  has(id: string, version: string): boolean {
    return this.#schemas.get(id)?.has(version) ?? false;
  }

  /** The versions registered for an id, in registration order. */
  versions(id: string): string[] {
    const versions = this.#schemas.get(id);
    return versions ? [...versions.keys()] : [];
  }

  /** Validates a value against id@version. Throws SchemaUnknownError if it is not registered. */
  validate(id: string, version: string, value: unknown): SchemaCheck {
    const compiled = this.#schemas.get(id)?.get(version);
    if (!compiled) throw new SchemaUnknownError(id, version);
    if (compiled.isValid(value)) return VALID;
    compiled.allIssues(value);
    const { issues, count } = toIssues(compiled.allIssues.errors ?? compiled.isValid.errors);
    return { valid: false, issues, issueCount: count };
  }
}
