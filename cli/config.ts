/**
 * Validates baton.config.json with ajv (compiled once) and turns it into audit
 * options. Errors name the file and the JSON pointer that failed.
 */
import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import type { AuditOptions, RuleSettings } from '../src/analyze/audit.js';
import { ConfigError } from '../src/model/errors.js';
import type { Severity } from '../src/model/finding.js';
import configSchema from '../src/schemas/baton-config.schema.json' with { type: 'json' };

/** The parsed configuration file. */
export interface BatonConfig {
  readonly failOn?: Severity | 'never';
  readonly idleMs?: number;
  readonly rules?: Readonly<Record<string, 'off' | Record<string, unknown>>>;
}

let validate: ValidateFunction | undefined;

/** Validates a parsed config value; throws ConfigError naming `location` and the failing path. */
export function parseConfig(value: unknown, location: string): BatonConfig {
  validate ??= new Ajv2020({ allErrors: false, strict: false }).compile(configSchema);
  if (!validate(value)) {
    const error = validate.errors?.[0];
    const path = error?.instancePath || '/';
    const extra =
      error?.keyword === 'additionalProperties'
        ? ` "${(error.params as { additionalProperty: string }).additionalProperty}"`
        : error?.keyword === 'enum' || error?.keyword === 'const'
          ? ` (${JSON.stringify((error.params as { allowedValues?: unknown }).allowedValues ?? error.params)})`
          : '';
    throw new ConfigError(location, `${path} ${error?.message ?? 'is invalid'}${extra}`);
  }
  return value as BatonConfig;
}

/** Audit options from a config (rule settings and idle time). */
export function auditOptionsFromConfig(config: BatonConfig): Pick<AuditOptions, 'rules' | 'idleMs'> {
  const rules: Record<string, unknown> = {};
  for (const [id, setting] of Object.entries(config.rules ?? {})) rules[id] = setting === 'off' ? false : setting;
  return { rules: rules as RuleSettings, ...(config.idleMs !== undefined ? { idleMs: config.idleMs } : {}) };
}
