/**
 * Every TypeScript example in the README runs as written: each ```ts block is
 * saved as a module inside the checkout (so `baton-sdk`, `ioredis`, `ai` …
 * resolve as they do in an app that installed them), run in a fresh working
 * directory, and must exit 0 with nothing on stderr. A block that names what it
 * prints (`// prints: …` lines) must print it. Blocks that talk to Redis or
 * PostgreSQL read REDIS_URL / DATABASE_URL, which point at private servers here.
 *
 * `baton-sdk` resolves to packages/sdk/dist: `npm install` builds it (prepare),
 * and so does `npm run build` after changing src/.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { shouldSkipStoreTests, startPostgres, startRedis, type RunningPostgres, type RunningServer } from '../helpers/servers.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const TSX_LOADER = new URL('../../node_modules/tsx/dist/loader.mjs', import.meta.url).href;
const TS_LANGUAGES = new Set(['ts', 'typescript', 'js', 'javascript', 'mjs']);

interface CodeBlock {
  language: string;
  code: string;
  /** 1-based line of the opening fence, for the test's name. */
  line: number;
}

/** Fenced code blocks of a Markdown document (``` fences, as GitHub renders them). */
export function codeBlocksOf(markdown: string): CodeBlock[] {
  const blocks: CodeBlock[] = [];
  const lines = markdown.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const open = /^```(\S*)\s*$/.exec(lines[i]!);
    if (!open) continue;
    const start = i;
    const body: string[] = [];
    for (i++; i < lines.length && !/^```\s*$/.test(lines[i]!); i++) body.push(lines[i]!);
    blocks.push({ language: open[1]!, code: body.join('\n'), line: start + 1 });
  }
  return blocks;
}

/** The text a block says it prints: each `// prints: <text>` comment. */
function expectedOutputOf(code: string): string[] {
  return [...code.matchAll(/\/\/ prints: (.+)$/gm)].map((match) => match[1]!.trim());
}

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function runModule(file: string, cwd: string, env: NodeJS.ProcessEnv): Promise<Run> {
  return runCommand(process.execPath, ['--import', TSX_LOADER, file], cwd, {
    ...env,
    TSX_TSCONFIG_PATH: join(ROOT, 'tsconfig.json'),
    OTEL_METRICS_EXPORTER: 'none',
    NO_COLOR: '1',
  });
}

function runCommand(command: string, args: string[], cwd: string, env: NodeJS.ProcessEnv = {}): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.once('error', reject);
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

const readme = await readFile(join(ROOT, 'README.md'), 'utf8');
const examples = codeBlocksOf(readme).filter((block) => TS_LANGUAGES.has(block.language));
const needsStores = examples.some((block) => /REDIS_URL|DATABASE_URL/.test(block.code));
const skipStores = needsStores && shouldSkipStoreTests();

describe('the README', () => {
  it('has TypeScript examples, and the parser finds fences', () => {
    expect(codeBlocksOf('a\n```ts\nconst x = 1;\n```\n```\nplain\n```\n')).toEqual([
      { language: 'ts', code: 'const x = 1;', line: 2 },
      { language: '', code: 'plain', line: 5 },
    ]);
    expect(examples.length).toBeGreaterThanOrEqual(5);
  });
});

describe.skipIf(skipStores)('every TypeScript example in the README runs as written', () => {
  let moduleDir: string;
  let redis: RunningServer | undefined;
  let postgres: RunningPostgres | undefined;

  beforeAll(async () => {
    // Inside the checkout, so bare imports resolve through its node_modules as in an app.
    moduleDir = await mkdtemp(join(ROOT, '.readme-examples-'));
    for (const block of examples) await writeFile(join(moduleDir, `example-${block.line}.mts`), block.code);
    if (examples.some((block) => block.code.includes('REDIS_URL'))) redis = await startRedis();
    if (examples.some((block) => block.code.includes('DATABASE_URL'))) postgres = await startPostgres();
  }, 60_000);

  afterAll(async () => {
    await rm(moduleDir, { recursive: true, force: true });
    await redis?.stop();
    await postgres?.stop();
  });

  it('type-checks under the project\'s strict compiler options, as an app in TypeScript would', async () => {
    await writeFile(
      join(moduleDir, 'tsconfig.json'),
      JSON.stringify({ extends: '../tsconfig.json', compilerOptions: { rootDir: '..', noEmit: true }, include: ['*.mts'] }),
    );
    const tsc = await runCommand(process.execPath, [join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', moduleDir], ROOT);
    expect(tsc.stdout + tsc.stderr).toBe('');
    expect(tsc.code).toBe(0);
  }, 120_000);

  it.each(examples.map((block) => [`README.md:${block.line}`, block] as const))('%s', async (_name, block) => {
    const file = join(moduleDir, `example-${block.line}.mts`);
    const cwd = await mkdtemp(join(tmpdir(), 'baton-readme-'));
    try {
      const env: NodeJS.ProcessEnv = {};
      if (redis) env.REDIS_URL = `redis://${redis.host}:${redis.port}`;
      if (postgres) {
        const { host, port, user, database } = postgres.connection;
        env.DATABASE_URL = `postgres://${user}@${host}:${port}/${database}`;
      }
      const run = await runModule(file, cwd, env);
      expect(run.stderr, `stderr of the example at README.md:${block.line}`).toBe('');
      expect(run.code, `exit status of the example at README.md:${block.line}`).toBe(0);
      for (const text of expectedOutputOf(block.code)) expect(run.stdout).toContain(text);
    } finally {
      await rm(cwd, { recursive: true, force: true });
    }
  }, 90_000);
});

describe('what the README quotes the SDK saying', () => {
  it('quotes the PlanCycleError validatePlan throws for the cycle it names', async () => {
    const { validatePlan } = await import('../../src/plan/index.js');
    const quoted = /`(PlanCycleError: [^`]+)`/.exec(readme)?.[1];
    expect(quoted, 'README names a PlanCycleError').toBeDefined();
    // The cycle the README names, as a plan: each agent waits on the next one on the path.
    const path = quoted!.slice(quoted!.lastIndexOf(': ') + 2).split(' → ');
    const plan = Object.fromEntries(path.slice(0, -1).map((agent, i) => [agent, [path[i + 1]!]]));
    let thrown: unknown;
    try {
      validatePlan(plan);
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(Error);
    expect(`${(thrown as Error).name}: ${(thrown as Error).message}`).toBe(quoted);
  });
});
