/**
 * Reads and validates baton.config.json (ajv, compiled once) and turns it into
 * audit options. Every error is one line naming the file, the line:column and
 * the JSON pointer of the option that failed, with the file's own text escaped
 * (a key may hold a newline or a terminal escape).
 *
 * Each rule's setting is `"off"` or an object of options (a `oneOf`). Ajv then
 * reports the failure of *both* branches, and the first one ("must be equal to
 * constant") names neither the option nor what is wrong with it; so a branch
 * that fails on the setting's own type is set aside, and what remains is the
 * branch the user meant, down to the option inside it.
 */
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { Ajv2020, type ErrorObject, type ValidateFunction } from 'ajv/dist/2020.js';
import type { AuditOptions, RuleSettings } from '../src/analyze/audit.js';
import { jsonErrorOffset, positionOf } from '../src/ingest/json-error-position.js';
import { BatonError } from 'baton-sdk/errors';
import type { Severity } from '../src/model/finding.js';
import { printable } from '../src/report/format.js';
import configSchema from '../src/schemas/baton-config.schema.json' with { type: 'json' };
import type { CliIo } from './io.js';
import { didYouMean } from './suggest.js';

/** A configuration file or option that does not validate. */
export class ConfigError extends BatonError {
  readonly code = 'BATON_CONFIG';
  constructor(
    readonly location: string,
    readonly reason: string,
  ) {
    super(`${location}: ${reason}`);
  }
}

/** The parsed configuration file. */
export interface BatonConfig {
  readonly failOn?: Severity | 'never';
  readonly idleMs?: number;
  readonly rules?: Readonly<Record<string, 'off' | Record<string, unknown>>>;
}

/** The file looked for in the working directory when --config is not given. */
export const DEFAULT_CONFIG_FILE = 'baton.config.json';

let validate: ValidateFunction | undefined;

/**
 * Validates a parsed config value; throws ConfigError naming `location`, the
 * option's JSON pointer and what is wrong with it. `text`, the file's text,
 * adds the option's line and column to the location.
 */
export function parseConfig(value: unknown, location: string, text?: string): BatonConfig {
  const nonFinite = findNonFinite(value, '');
  if (nonFinite !== undefined) {
    // JSON.parse turns 1e400 into Infinity, which every "type": "number" accepts.
    throw new ConfigError(at(location, text, nonFinite), `${showPointer(nonFinite)} must be a finite number (this one overflows to Infinity)`);
  }
  validate ??= new Ajv2020({ allErrors: true, strict: false, verbose: true }).compile(configSchema);
  if (validate(value)) return value as BatonConfig;
  const error = mostSpecificError(validate.errors ?? []);
  let pointer = error?.instancePath ?? '';
  // An unknown key is found at the key itself, not at the object holding it.
  if (error?.keyword === 'additionalProperties') pointer += `/${escapePointer((error.params as { additionalProperty: string }).additionalProperty)}`;
  throw new ConfigError(at(location, text, pointer), error ? describeError(error) : `${showPointer('')} is invalid`);
}

/** Loads --config (relative to the working directory, or absolute), or ./baton.config.json when present; undefined when neither. */
export async function loadConfig(path: string | undefined, io: CliIo): Promise<BatonConfig | undefined> {
  const shown = printable(path ?? DEFAULT_CONFIG_FILE);
  // resolve, not join: an absolute --config is used as given.
  const file = resolve(io.cwd, path ?? DEFAULT_CONFIG_FILE);
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (path === undefined && code === 'ENOENT') return undefined;
    const reason = code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'is a directory' : (code ?? (error as Error).message);
    throw new ConfigError(shown, `cannot read: ${reason}`);
  }
  // Editors on Windows save UTF-8 with a byte order mark; JSON.parse refuses it, people do not expect that.
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    const offset = jsonErrorOffset(text, error as Error);
    const where = offset === undefined ? shown : `${shown}:${positionText(text, offset)}`;
    throw new ConfigError(where, `not JSON: ${printable(syntaxReason(error as Error))}`);
  }
  return parseConfig(value, shown, text);
}

/**
 * Audit options from a config (rule settings and idle time). A rule named on the command line
 * (`--rule`) runs even when the config turns it off, as a command-line setting overrides the
 * config in ESLint and the OpenTelemetry Collector; options the config gives it still apply.
 */
export function auditOptionsFromConfig(config: BatonConfig, namedOnCommandLine: readonly string[] = []): Pick<AuditOptions, 'rules' | 'idleMs'> {
  const rules: Record<string, unknown> = {};
  for (const [id, setting] of Object.entries(config.rules ?? {})) {
    if (setting === 'off' && namedOnCommandLine.includes(id)) continue;
    rules[id] = setting === 'off' ? false : setting;
  }
  return { rules: rules as RuleSettings, ...(config.idleMs !== undefined ? { idleMs: config.idleMs } : {}) };
}

/** V8's message without its position (the location says it) or the quoted excerpt of the file. */
function syntaxReason(error: Error): string {
  return error.message
    .replace(/ in JSON at position \d+.*$/s, '')
    .replace(/\s*\(line \d+ column \d+\)$/, '')
    .replace(/, ".*" is not valid JSON$/s, '');
}

/** The pointer of the first number in `value` that is not finite, or undefined. */
function findNonFinite(value: unknown, pointer: string): string | undefined {
  if (typeof value === 'number') return Number.isFinite(value) ? undefined : pointer;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const found = findNonFinite(value[i], `${pointer}/${i}`);
      if (found !== undefined) return found;
    }
  } else if (value !== null && typeof value === 'object') {
    for (const key of Object.keys(value)) {
      const found = findNonFinite((value as Record<string, unknown>)[key], `${pointer}/${escapePointer(key)}`);
      if (found !== undefined) return found;
    }
  }
  return undefined;
}

/**
 * The error to report: ajv's errors without the `oneOf` summaries and without
 * the branches that failed on the setting's own type or constant (the user
 * wrote an object, so "must be equal to constant" is not what they meant);
 * then the deepest, so the option inside a rule wins over the rule.
 */
function mostSpecificError(errors: readonly ErrorObject[]): ErrorObject | undefined {
  const mismatched = new Set<string>();
  for (const error of errors) {
    const branch = /^(.*\/oneOf\/\d+)\/(?:type|const|enum)$/.exec(error.schemaPath)?.[1];
    if (branch !== undefined) mismatched.add(branch);
  }
  const inBranch = (error: ErrorObject) => {
    for (const branch of mismatched) if (error.schemaPath.startsWith(`${branch}/`)) return true;
    return false;
  };
  const meant = errors.filter((e) => e.keyword !== 'oneOf' && !inBranch(e));
  if (meant.length === 0) {
    // Every branch failed on the type: the setting is neither "off" nor an object.
    const oneOf = errors.find((e) => e.keyword === 'oneOf');
    if (oneOf) return { ...oneOf, keyword: 'settings', message: 'must be "off" or an object of options' };
    return errors[0];
  }
  let best = meant[0]!;
  for (const error of meant) if (depth(error.instancePath) > depth(best.instancePath)) best = error;
  return best;
}

function depth(pointer: string): number {
  return pointer === '' ? 0 : pointer.split('/').length - 1;
}

/** One sentence: `/rules/context-blowup/maxTokens must be > 0, not -1`; `/rules/context-blowup: unknown option "maxTokenz"; did you mean "maxTokens"?`. */
function describeError(error: ErrorObject): string {
  const where = showPointer(error.instancePath);
  if (error.keyword === 'additionalProperties') {
    const key = (error.params as { additionalProperty: string }).additionalProperty;
    const known = Object.keys((error.parentSchema as { properties?: object } | undefined)?.properties ?? {});
    const what = error.instancePath === '' ? 'setting' : depth(error.instancePath) === 1 ? 'rule' : 'option';
    const hint = didYouMean(key, known);
    return `${where}: unknown ${what} "${printable(key)}"${hint || (known.length > 0 ? `; known: ${known.join(', ')}` : '; this rule takes no options')}`;
  }
  if (error.keyword === 'enum' || error.keyword === 'const') {
    const allowed = (error.params as { allowedValues?: unknown[]; allowedValue?: unknown }).allowedValues ?? [
      (error.params as { allowedValue?: unknown }).allowedValue,
    ];
    return `${where} must be one of ${allowed.map((v) => JSON.stringify(v)).join(', ')}, not ${showValue(error.data)}`;
  }
  return `${where} ${error.message ?? 'is invalid'}, not ${showValue(error.data)}`;
}

/** A JSON pointer for a message: `/` for the whole file, trace-free but escaped anyway (keys come from the file). */
function showPointer(pointer: string): string {
  return pointer === '' ? '/' : printable(pointer);
}

/** A value from the file, as JSON, escaped and cut to a readable length. */
function showValue(value: unknown): string {
  const json = JSON.stringify(value) ?? String(value);
  return printable(json.length > 60 ? `${json.slice(0, 57)}...` : json);
}

function escapePointer(key: string): string {
  return key.replace(/~/g, '~0').replace(/\//g, '~1');
}

/** `file:line:column` of the value at `pointer` when the text is there to find it in, else `file`. */
function at(location: string, text: string | undefined, pointer: string): string {
  if (text === undefined) return location;
  const offset = offsetOfPointer(text, pointer);
  return offset === undefined ? location : `${location}:${positionText(text, offset)}`;
}

function positionText(text: string, offset: number): string {
  const { line, column } = positionOf(text, offset);
  return `${line}:${column}`;
}

/**
 * The offset in valid JSON `text` of the value at `pointer` (for an object
 * member, of its key, which is what an editor should jump to). A small scanner
 * over the text that skips what the pointer does not enter; undefined if the
 * pointer is not there.
 */
export function offsetOfPointer(text: string, pointer: string): number | undefined {
  const segments = pointer === '' ? [] : pointer.slice(1).split('/').map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
  let i = 0;
  const skipSpace = () => {
    while (i < text.length && /\s/.test(text[i]!)) i++;
  };
  const readString = (): string => {
    const start = i;
    i++;
    while (i < text.length && text[i] !== '"') i += text[i] === '\\' ? 2 : 1;
    i++;
    return JSON.parse(text.slice(start, i)) as string;
  };
  const skipValue = (): void => {
    skipSpace();
    const c = text[i];
    if (c === '"') {
      readString();
      return;
    }
    if (c === '{' || c === '[') {
      let level = 0;
      while (i < text.length) {
        const d = text[i];
        if (d === '"') {
          readString();
          continue;
        }
        if (d === '{' || d === '[') level++;
        else if (d === '}' || d === ']') level--;
        i++;
        if (level === 0) return;
      }
      return;
    }
    while (i < text.length && !/[\s,\]}]/.test(text[i]!)) i++;
  };
  skipSpace();
  let at = i;
  for (const segment of segments) {
    skipSpace();
    if (text[i] === '{') {
      i++;
      let found = false;
      for (;;) {
        skipSpace();
        if (text[i] !== '"') return undefined;
        const keyAt = i;
        const key = readString();
        skipSpace();
        i++; // ':'
        if (key === segment) {
          at = keyAt;
          found = true;
          break;
        }
        skipValue();
        skipSpace();
        if (text[i] !== ',') return undefined;
        i++;
      }
      if (!found) return undefined;
    } else if (text[i] === '[') {
      i++;
      const index = Number(segment);
      for (let n = 0; n < index; n++) {
        skipValue();
        skipSpace();
        if (text[i] !== ',') return undefined;
        i++;
      }
      skipSpace();
      at = i;
    } else return undefined;
  }
  return at;
}
