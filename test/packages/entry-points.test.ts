/**
 * The packages' public surface and weight, checked on the sources they are
 * built from: each entry point of baton-sdk and baton-cli exports exactly the
 * names listed here (a new export is a decision, made by editing this list),
 * index files name every export (no `export *`, no default export), and every
 * package an SDK entry point loads at run time is declared in
 * packages/sdk/package.json, the main entry loading only @opentelemetry/api
 * and ajv, so a host app never installs the analyzer's dependencies.
 */
import { existsSync, readFileSync } from 'node:fs';
import { basename, dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const SDK_DIR = join(ROOT, 'packages/sdk');

interface Manifest {
  name: string;
  exports: Record<string, string | { types: string; default: string }>;
  dependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
  peerDependenciesMeta?: Record<string, { optional?: boolean }>;
}

const readJson = <T>(path: string): T => JSON.parse(readFileSync(path, 'utf8')) as T;
const sdkManifest = readJson<Manifest>(join(SDK_DIR, 'package.json'));
const cliManifest = readJson<Manifest>(join(ROOT, 'package.json'));

/** The source file an exports entry is built from: baton-sdk compiles src/ into dist/, baton-cli compiles . into dist/. */
function sourceOf(manifest: Manifest, entry: string): string {
  const target = manifest.exports[entry]!;
  const built = typeof target === 'string' ? target : target.default;
  const fromDist = built.replace(/^\.\/dist\//, '').replace(/\.js$/, '.ts');
  return manifest === sdkManifest ? join(ROOT, 'src', fromDist) : join(ROOT, fromDist);
}

/** Code entry points (not package.json or schema files). */
function codeEntries(manifest: Manifest): string[] {
  return Object.keys(manifest.exports).filter((entry) => typeof manifest.exports[entry] !== 'string');
}

const EXPECTED: Record<string, Record<string, readonly string[]>> = {
  'baton-sdk': {
    '.': [
      'AgentOutcome',
      'Baton',
      'BatonError',
      'BatonOperation',
      'CONVENTIONS_VERSION',
      'ENVELOPE_SCHEMA_DEFAULT_VERSION',
      'ENVELOPE_SCHEMA_ID',
      'EnvelopeInvalidError',
      'EnvelopeTooLargeError',
      'ExportFileError',
      'InMemoryStateStore',
      'InstrumentationFaultError',
      'SchemaRegistrationError',
      'SchemaRegistry',
      'SchemaUnknownError',
      'StateConflictError',
      'ValidationResult',
      'instrumentStore',
      'parseSchemaRef',
    ],
    './errors': [
      'BatonError',
      'EnvelopeInvalidError',
      'EnvelopeTooLargeError',
      'ExportFileError',
      'InstrumentationFaultError',
      'PlanCycleError',
      'PlanInvalidError',
      'SchemaRegistrationError',
      'SchemaUnknownError',
      'StaleEpochWriteError',
      'StateConflictError',
    ],
    './export': ['ExportFileError', 'OtlpJsonFileSpanExporter'],
    './plan': ['PlanCycleError', 'PlanInvalidError', 'findPlanCycle', 'validatePlan'],
    './openai-agents': ['AgentsIdGenerator', 'BatonAgentsTracingProcessor', 'OPENAI_AGENTS_SCOPE'],
    './redis': ['RedisStateStore', 'RedisStreamBus', 'StaleEpochWriteError', 'StateConflictError', 'instrumentRedis', 'redisInstrumentationStats', 'untraced', 'withStateAccess'],
    './node-redis': ['instrumentNodeRedis', 'nodeRedisInstrumentationStats', 'untraced', 'withStateAccess'],
    './pg': ['PgNotifyBus', 'PgOutboxRelay', 'PgStateStore', 'StaleEpochWriteError', 'StateConflictError', 'instrumentPg', 'pgInstrumentationStats', 'untraced', 'withStateAccess'],
  },
  'baton-cli': {
    './analyze': [
      'AUDIT_REPORT_VERSION',
      'Auditor',
      'DETECTORS',
      'DIALECTS',
      'DIALECT_IDS',
      'RULE_IDS',
      'auditSpans',
      'buildHandoffGraph',
      'buildHandoffModel',
      'hasFindingsAtOrAbove',
      'isRuleId',
    ],
    './ingest': [
      'BatonError',
      'TRACE_FILE_PATTERN',
      'TraceInputError',
      'decodeOtlpProtobuf',
      'parseOtlpJsonRequest',
      'readTraceFile',
      'readTraceInputs',
      'readTraceStream',
    ],
    './report': ['GRAPH_FORMATS', 'REPORT_FORMATS', 'renderExplainText', 'renderGraph', 'renderJson', 'renderJunit', 'renderMarkdown', 'renderText'],
  },
};

describe.each([sdkManifest, cliManifest])('the entry points of $name', (manifest) => {
  it.each(codeEntries(manifest))('%s exports exactly the names a user needs', async (entry) => {
    const module = (await import(sourceOf(manifest, entry))) as Record<string, unknown>;
    expect(Object.keys(module).sort()).toEqual([...EXPECTED[manifest.name]![entry]!].sort());
  });

  it.each(codeEntries(manifest))('%s names every export: no export *, no default export', (entry) => {
    const text = readFileSync(sourceOf(manifest, entry), 'utf8');
    expect(text).not.toMatch(/export \*/);
    expect(text).not.toMatch(/export default/);
  });

  it('has a listed surface for every entry point and an entry point for every listed one', () => {
    expect(codeEntries(manifest).sort()).toEqual(Object.keys(EXPECTED[manifest.name]!).sort());
  });
});

/** Bare module names (`ajv`, `@opentelemetry/api`) that `file` and the files it imports load at run time. */
function runtimeImports(file: string, seen = new Set<string>(), found = new Set<string>()): Set<string> {
  if (seen.has(file)) return found;
  seen.add(file);
  const text = readFileSync(file, 'utf8');
  // Static imports and re-exports that are not type-only, and dynamic import() calls.
  const pattern = /(?:^|\n)\s*(?:import|export)(?!\s+type\b)[^'";]*?from\s*'([^']+)'|(?:^|\n)\s*import\s*'([^']+)'|import\(\s*'([^']+)'\s*\)/g;
  for (const match of text.matchAll(pattern)) {
    const specifier = match[1] ?? match[2] ?? match[3]!;
    if (specifier.startsWith('.')) {
      const target = resolve(dirname(file), specifier.replace(/\.js$/, '.ts'));
      if (target.endsWith('.ts')) runtimeImports(target, seen, found);
    } else if (!specifier.startsWith('node:')) {
      found.add(specifier.startsWith('@') ? specifier.split('/').slice(0, 2).join('/') : specifier.split('/')[0]!);
    }
  }
  return found;
}

describe('baton-sdk weight', () => {
  it('its main entry loads only @opentelemetry/api and the validator', () => {
    expect([...runtimeImports(sourceOf(sdkManifest, '.'))].sort()).toEqual(['@opentelemetry/api', 'ajv', 'ajv-formats']);
  });

  it.each(codeEntries(sdkManifest))('%s loads only packages baton-sdk declares; beyond the main entry, as optional peers', (entry) => {
    const main = runtimeImports(sourceOf(sdkManifest, '.'));
    for (const name of runtimeImports(sourceOf(sdkManifest, entry))) {
      const declared = sdkManifest.dependencies?.[name] ?? sdkManifest.peerDependencies?.[name];
      expect(declared, `${entry} imports ${name}`).toBeDefined();
      if (!main.has(name)) expect(sdkManifest.peerDependenciesMeta?.[name]?.optional, `${name} (for ${entry}) is an optional peer`).toBe(true);
    }
  });

  it('builds every entry point it exports, and nothing else (packages/sdk/tsconfig.json files)', () => {
    const tsconfig = readFileSync(join(SDK_DIR, 'tsconfig.json'), 'utf8').replace(/^\s*\/\/.*$/gm, '');
    const files = (JSON.parse(tsconfig) as { files: string[] }).files.map((f) => relative(ROOT, resolve(SDK_DIR, f)));
    expect(files.sort()).toEqual(codeEntries(sdkManifest).map((entry) => relative(ROOT, sourceOf(sdkManifest, entry))).sort());
  });

  it('its README (the npm page) names every entry point and every optional peer it needs', () => {
    const readme = readFileSync(join(SDK_DIR, 'README.md'), 'utf8');
    const rows = readme.split('\n').filter((line) => line.startsWith('| `baton-sdk'));
    const entryOf = (row: string) => /^\| `(baton-sdk[^`]*)`/.exec(row)![1]!;
    expect(rows.map(entryOf).sort()).toEqual(codeEntries(sdkManifest).map((entry) => `baton-sdk${entry.slice(1)}`).sort());
    const optional = Object.keys(sdkManifest.peerDependenciesMeta ?? {}).filter((name) => sdkManifest.peerDependenciesMeta![name]!.optional);
    for (const name of optional) expect(rows.some((row) => row.split('|')[2]!.includes(`\`${name}\``)), `${name} in the README's table`).toBe(true);
  });

  it("the README's install advice names the major of each Redis driver its peer range accepts", () => {
    // npm's latest ioredis and redis are past the range: an unpinned install conflicts with baton-sdk's peers.
    const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
    for (const name of ['ioredis', 'redis']) {
      const major = /^\^(\d+)\.\d+\.\d+$/.exec(sdkManifest.peerDependencies![name]!)?.[1];
      expect(major, `${name}'s peer range is one major`).toBeDefined();
      expect(readme).toContain(`npm install ${name}@${major}`);
    }
  });

  it('peer-depends on @opentelemetry/api, never bundles it', () => {
    expect(sdkManifest.peerDependencies?.['@opentelemetry/api']).toBeDefined();
    expect(sdkManifest.dependencies?.['@opentelemetry/api']).toBeUndefined();
    expect(sdkManifest.peerDependenciesMeta?.['@opentelemetry/api']?.optional).not.toBe(true);
  });
});

/** The source files `file` reaches through relative imports (static, re-exports, dynamic), itself included. */
function sourceClosure(file: string, seen = new Set<string>()): Set<string> {
  if (seen.has(file)) return seen;
  seen.add(file);
  const text = readFileSync(file, 'utf8');
  const pattern = /(?:^|\n)\s*(?:import|export)[^'";]*?from\s*'(\.[^']+)'|(?:^|\n)\s*import\s*'(\.[^']+)'|import\(\s*'(\.[^']+)'\s*\)/g;
  for (const match of text.matchAll(pattern)) {
    const specifier = resolve(dirname(file), match[1] ?? match[2] ?? match[3]!);
    // `./App.js` is App.tsx or App.ts; JSON files are data.
    const candidates = [specifier.replace(/\.js$/, '.ts'), specifier.replace(/\.js$/, '.tsx')];
    const target = candidates.find((candidate) => /\.tsx?$/.test(candidate) && existsSync(candidate));
    if (target) sourceClosure(target, seen);
  }
  return seen;
}

/** What baton-cli's build compiles: its bin and entry points, and everything they import by relative path. */
function cliSources(): Set<string> {
  const build = JSON.parse(readFileSync(join(ROOT, 'tsconfig.build.json'), 'utf8').replace(/^\s*\/\/.*$/gm, '')) as { files: string[] };
  const files = new Set<string>();
  for (const entry of build.files) sourceClosure(join(ROOT, entry.replace(/\.js$/, '.ts')), files);
  return files;
}

describe('one copy of the SDK', () => {
  it('baton-cli builds its bin and every entry point it exports', () => {
    const build = JSON.parse(readFileSync(join(ROOT, 'tsconfig.build.json'), 'utf8').replace(/^\s*\/\/.*$/gm, '')) as { files: string[] };
    const entries = codeEntries(cliManifest).map((entry) => relative(ROOT, sourceOf(cliManifest, entry)));
    // The analysis worker is a module of its own, loaded by file path in a worker thread (baton watch).
    const threadModules = ['dashboards/analysis-worker.ts'];
    for (const module of threadModules) expect(readFileSync(join(ROOT, 'dashboards/threaded-session.ts'), 'utf8')).toContain(basename(module, '.ts'));
    expect([...build.files].sort()).toEqual(['cli/bin.ts', ...threadModules, ...entries].sort());
  });

  it('no class is compiled into both packages: the CLI reaches the SDK’s classes only through baton-sdk', () => {
    const sdk = new Set<string>();
    for (const entry of codeEntries(sdkManifest)) sourceClosure(sourceOf(sdkManifest, entry), sdk);
    const shared = [...cliSources()].filter((file) => sdk.has(file));
    // The shared model (attribute names, types, pure functions) may be compiled into both; nothing with an identity may.
    expect(shared.length).toBeGreaterThan(0);
    for (const file of shared) expect(readFileSync(file, 'utf8'), relative(ROOT, file)).not.toMatch(/^\s*(?:export\s+)?(?:abstract\s+)?class\s/m);
    for (const file of ['src/model/errors.ts', 'src/sdk/baton.ts', 'src/schemas/validators.ts', 'src/export/otlp-json-file-exporter.ts', 'src/plan/validate-plan.ts'])
      expect(cliSources().has(join(ROOT, file)), file).toBe(false);
  });

  it('baton-cli depends on baton-sdk at its exact version, and the sources resolve baton-sdk to the SDK’s own entry points', () => {
    expect(cliManifest.dependencies?.['baton-sdk']).toBe((readJson<{ version: string }>(join(SDK_DIR, 'package.json'))).version);
    const paths = (readJson<{ compilerOptions: { paths: Record<string, string[]> } }>(join(ROOT, 'tsconfig.json'))).compilerOptions.paths;
    const expected: Record<string, string[]> = {};
    for (const entry of codeEntries(sdkManifest)) expected[entry === '.' ? 'baton-sdk' : `baton-sdk/${entry.slice(2)}`] = [`./${relative(ROOT, sourceOf(sdkManifest, entry))}`];
    expect(paths).toEqual(expected);
  });
});


describe('baton-sdk/errors', () => {
  it('holds every error class an SDK entry point exports, as the same class', async () => {
    const errors = (await import(sourceOf(sdkManifest, './errors'))) as Record<string, unknown>;
    const BatonError = errors.BatonError as new (...args: never[]) => Error;
    const exportedElsewhere = new Map<string, unknown>();
    for (const entry of codeEntries(sdkManifest)) {
      if (entry === './errors') continue;
      const module = (await import(sourceOf(sdkManifest, entry))) as Record<string, unknown>;
      for (const [name, value] of Object.entries(module))
        if (typeof value === 'function' && value.prototype instanceof BatonError) exportedElsewhere.set(name, value);
    }
    // The stores' errors are among them: a user catching StateConflictError finds it where the README says.
    expect([...exportedElsewhere.keys()]).toEqual(expect.arrayContaining(['StateConflictError', 'StaleEpochWriteError']));
    for (const [name, value] of exportedElsewhere) expect(errors[name], name).toBe(value);
  });
});
