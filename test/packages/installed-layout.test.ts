/**
 * The two packages as a user installs them: both built (`npm run build`), packed
 * (`npm pack`, what `npm publish` uploads), unpacked into a fresh project's
 * node_modules beside the dependencies they declare, and loaded by Node's own
 * resolution. In that layout the SDK's classes exist once: an error the SDK
 * throws is an instance of the BatonError baton-cli exports, an error the
 * analyzer throws is an instance of baton-sdk's, and the `baton` bin reports
 * it as one of its own (one line, exit 2).
 */
import { execFile, spawn } from 'node:child_process';
import { mkdir, mkdtemp, readdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL('../..', import.meta.url));
/** Build, pack and unpack: tsc of both packages takes a minute on a busy machine. */
const SETUP_TIMEOUT_MS = 600_000;

let work: string;
let app: string;
let cliFiles: string[];
let sdkFiles: string[];

/** Packs the package in `cwd` (a workspace with `-w`) into `work`, unpacks it as node_modules/<name>, returns its files. */
async function packInto(name: string, workspace: string[]): Promise<string[]> {
  const { stdout } = await run('npm', ['pack', ...workspace, '--ignore-scripts', '--json', '--pack-destination', work], {
    cwd: ROOT,
    maxBuffer: 64 * 1024 * 1024,
  });
  const [packed] = JSON.parse(stdout) as { filename: string; files: { path: string }[] }[];
  const dir = join(app, 'node_modules', name);
  await mkdir(dir, { recursive: true });
  await run('tar', ['-xzf', join(work, packed!.filename), '--strip-components=1', '-C', dir]);
  return packed!.files.map((f) => f.path);
}

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'baton-installed-'));
  app = join(work, 'app');
  await mkdir(join(app, 'node_modules'), { recursive: true });
  await run('npm', ['run', 'build'], { cwd: ROOT, maxBuffer: 64 * 1024 * 1024 });
  sdkFiles = await packInto('baton-sdk', ['-w', 'baton-sdk']);
  cliFiles = await packInto('baton-cli', []);
  // Every other package the two depend on, as npm would have installed it: linked from this checkout.
  for (const entry of await readdir(join(ROOT, 'node_modules'))) {
    if (entry === 'baton-sdk' || entry === 'baton-cli' || entry.startsWith('.')) continue;
    await symlink(join(ROOT, 'node_modules', entry), join(app, 'node_modules', entry));
  }
  await writeFile(join(app, 'package.json'), JSON.stringify({ name: 'host-app', private: true, type: 'module' }));
  await writeFile(join(app, 'bad.json'), '{"resourceSpans": [');
}, SETUP_TIMEOUT_MS);

afterAll(async () => {
  if (work) await rm(work, { recursive: true, force: true });
});

/** Runs an ES module in the host app and returns what it printed as JSON. */
async function inApp(source: string): Promise<Record<string, unknown>> {
  await writeFile(join(app, 'check.mjs'), source);
  const { stdout } = await run(process.execPath, ['check.mjs'], { cwd: app, env: { ...process.env, OTEL_METRICS_EXPORTER: 'none' } });
  return JSON.parse(stdout) as Record<string, unknown>;
}

describe('baton-sdk and baton-cli, packed and installed', () => {
  it('baton-cli ships no compiled copy of the SDK: no SDK module, no class of the SDK’s in its files', async () => {
    expect(cliFiles.length).toBeGreaterThan(0);
    for (const file of ['dist/src/sdk/baton.js', 'dist/src/model/errors.js', 'dist/src/schemas/validators.js', 'dist/src/export/index.js', 'dist/src/plan/index.js'])
      expect(cliFiles, file).not.toContain(file);
    // The modules compiled into both (the shared model) define no class.
    const sdkModules = new Set(sdkFiles.filter((f) => f.endsWith('.js')).map((f) => f.replace(/^dist\//, '')));
    const shared = cliFiles.filter((f) => f.endsWith('.js') && sdkModules.has(f.replace(/^dist\/src\//, '')));
    expect(shared.length).toBeGreaterThan(0);
    for (const file of shared) expect(await readFile(join(app, 'node_modules/baton-cli', file), 'utf8'), file).not.toMatch(/^\s*(?:export\s+)?class\s/m);
    const manifest = JSON.parse(await readFile(join(app, 'node_modules/baton-cli/package.json'), 'utf8')) as { dependencies: Record<string, string> };
    const sdkManifest = JSON.parse(await readFile(join(app, 'node_modules/baton-sdk/package.json'), 'utf8')) as { version: string };
    expect(manifest.dependencies['baton-sdk']).toBe(sdkManifest.version);
  });

  it('an error the SDK throws is an instance of the BatonError baton-cli exports, and the other way round', async () => {
    const result = await inApp(`
      import { Baton, BatonError, EnvelopeInvalidError } from 'baton-sdk';
      import { BatonError as CliBatonError, readTraceFile, TraceInputError } from 'baton-cli/ingest';
      const out = { sameClass: BatonError === CliBatonError };
      try {
        new Baton({ mode: 'strict' }).send({ source_agent: 'writer', target_agent: 'reviewer' });
      } catch (error) {
        out.sdk = { code: error.code, invalid: error instanceof EnvelopeInvalidError, cli: error instanceof CliBatonError };
      }
      const report = (error) => {
        out.analyzer = { code: error.code, input: error instanceof TraceInputError, sdk: error instanceof BatonError };
      };
      for await (const batch of readTraceFile('bad.json', 'bad.json', {}, report)) void batch;
      console.log(JSON.stringify(out));
    `);
    expect(result).toEqual({
      sameClass: true,
      sdk: { code: 'BATON_ENVELOPE_INVALID', invalid: true, cli: true },
      analyzer: { code: 'BATON_TRACE_INPUT', input: true, sdk: true },
    });
  });

  it('the installed bin reports a bad settings file as its own error (a BatonError of baton-sdk’s): one line, exit 2', async () => {
    const bin = join(app, 'node_modules/baton-cli/dist/cli/bin.js');
    const version = await run(process.execPath, [bin, '--version'], { cwd: app });
    expect(version.stdout.trim()).toBe((JSON.parse(await readFile(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version);
    // cli/config.ts throws a ConfigError (extends baton-sdk's BatonError); main() tells its own errors from internal ones by instanceof.
    await writeFile(join(app, 'baton.config.json'), '{"idleMs": "soon"}');
    await writeFile(join(app, 'empty.json'), '{"resourceSpans": []}');
    const failed = await run(process.execPath, [bin, 'audit', '--config', 'baton.config.json', 'empty.json'], { cwd: app }).then(
      () => ({ code: 0, stderr: '' }),
      (error: { code: number; stderr: string }) => ({ code: error.code, stderr: error.stderr }),
    );
    expect(failed).toEqual({ code: 2, stderr: 'baton: baton.config.json:1:2: /idleMs must be integer, not "soon"\n' });
  });

  it('the installed `baton watch` starts its analysis thread from dist/: a real export is counted, a bad body gets 400, SIGTERM exits 0', async () => {
    const bin = join(app, 'node_modules/baton-cli/dist/cli/bin.js');
    // A directory of its own: no baton.config.json of the other tests is read.
    const cwd = join(app, 'watch');
    await mkdir(cwd, { recursive: true });
    const child = spawn(process.execPath, [bin, 'watch', '--plain', '--port', '0', '--no-grpc', '--settle-ms', '100'], { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    try {
      let url: string | undefined;
      for (let i = 0; i < 600 && url === undefined && child.exitCode === null; i++) {
        url = /OTLP (http:\/\/[\d.:]+)/.exec(err)?.[1];
        if (url === undefined) await new Promise((r) => setTimeout(r, 50));
      }
      expect(url, err).toBeDefined();
      const { ProtobufTraceSerializer } = await import('@opentelemetry/otlp-transformer');
      const { makeSpans } = await import('../helpers/receiver.js');
      const spans = await makeSpans(5, 'installed');
      const ok = await fetch(`${url}/v1/traces`, { method: 'POST', headers: { 'content-type': 'application/x-protobuf' }, body: ProtobufTraceSerializer.serializeRequest(spans)! });
      expect(ok.status).toBe(200);
      const bad = await fetch(`${url}/v1/traces`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"resourceSpans": 3}' });
      expect(bad.status).toBe(400);
      expect(await bad.json()).toMatchObject({ code: 3 });
      child.kill('SIGTERM');
      expect(await exited).toBe(0);
      expect(out).toContain('baton watch: 5 spans accepted, 0 rejected');
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  });
});
